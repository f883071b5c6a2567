package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var allPapers = flag.Bool("papers.all", false, "evaluate recognition on every paper of testdata/papers/, not only the fixed subset") //nolint:gochecknoglobals // a test flag

// requireTesseract fails — never skips — when tesseract or its French
// data is missing: recognition is part of the product.
func requireTesseract(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("tesseract"); err != nil {
		t.Fatal("tesseract not found: run scripts/ocr.sh (apt-get install tesseract-ocr tesseract-ocr-fra)")
	}
	out, err := exec.Command("tesseract", "--list-langs").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\nfra") {
		t.Fatalf("tesseract has no French data: run scripts/ocr.sh (apt-get install tesseract-ocr-fra): %s", out)
	}
}

func loadPaperTruth(t testing.TB) []paperTruth {
	b, err := os.ReadFile(filepath.Join(papersDir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth []paperTruth
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	return truth
}

// paperSubset is the part of the set evaluated by default: every paper
// with a zone (the tampered ones included) and one of each other kind,
// which keeps the test near half a minute on two cores.
func paperSubset(truth []paperTruth) []paperTruth {
	var out []paperTruth
	seen := map[Kind]int{}
	for _, p := range truth {
		if p.MRZ != "" || seen[p.Kind] < 1 {
			out = append(out, p)
			seen[p.Kind]++
		}
	}
	return out
}

type paperResult struct {
	truth paperTruth
	rec   *Recognition
	err   error
	wall  time.Duration
}

// TestRecognizePapers is the evaluation: it recognises the generated
// photos of testdata/papers/ and checks the targets — the kind right on
// at least 90 % of papers, the expiry date right on at least 95 % of
// papers with a machine-readable zone, and no date ever taken from a zone
// whose check digits were tampered with. -papers.all evaluates every
// paper; -v prints each paper's outcome.
func TestRecognizePapers(t *testing.T) {
	t.Parallel() // shares nothing with the other slow tests: they run side by side
	requireTesseract(t)
	truth := loadPaperTruth(t)
	if len(truth) < 40 {
		t.Fatalf("%d papers in the set, want ≥ 40", len(truth))
	}
	set := truth
	if !*allPapers {
		set = paperSubset(truth)
	}
	results := make([]paperResult, len(set))
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2) // tesseract runs on one thread: one per core
	for i, p := range set {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			b, err := os.ReadFile(filepath.Join(papersDir, p.File))
			if err != nil {
				results[i] = paperResult{truth: p, err: err}
				return
			}
			img, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				results[i] = paperResult{truth: p, err: err}
				return
			}
			t0 := time.Now()
			rec, err := Recognize(context.Background(), img, RecognizeOptions{Now: papersToday})
			results[i] = paperResult{truth: p, rec: rec, err: err, wall: time.Since(t0)}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	var kindOK, mrzPapers, expiryOK, mrzGenuine, mrzAccepted, tampered, falseAccepts, issuedN, issuedOK int
	var ocrTime time.Duration
	var table strings.Builder
	day := func(d DateSuggestion) string {
		if d.Date.IsZero() {
			return "-"
		}
		return d.Date.Format("2006-01-02") + "/" + string(d.Source)
	}
	for _, r := range results {
		p := r.truth
		if r.err != nil {
			t.Errorf("%s: %v", p.File, r.err)
			continue
		}
		rec := r.rec
		ocrTime += rec.OCRTime
		if rec.Kind == p.Kind {
			kindOK++
		}
		if p.MRZ != "" {
			mrzPapers++
			if rec.Expires.Date.Format("2006-01-02") == p.Expires {
				expiryOK++
			}
			if p.MRZTampered {
				tampered++
				if rec.MRZ != nil && rec.MRZ.Valid || p.MRZExpires != "" && rec.Expires.Date.Format("2006-01-02") == p.MRZExpires {
					falseAccepts++
					t.Errorf("%s: date taken from a tampered zone: %+v, expiry %s", p.File, rec.MRZ, day(rec.Expires))
				}
			} else {
				mrzGenuine++
				if rec.MRZ != nil && rec.MRZ.Valid {
					mrzAccepted++
				}
			}
		}
		if rec.Expires.Source == FromMRZ && rec.Expires.Date.Format("2006-01-02") != p.Expires {
			falseAccepts++
			t.Errorf("%s: wrong expiry %s from the zone, want %s", p.File, day(rec.Expires), p.Expires)
		}
		if p.Issued != "" {
			issuedN++
			if rec.Issued.Date.Format("2006-01-02") == p.Issued {
				issuedOK++
			}
		}
		mrz := "-"
		if rec.MRZ != nil {
			mrz = fmt.Sprintf("%s valid=%v corr=%d", rec.MRZ.Format, rec.MRZ.Valid, rec.MRZ.Corrected)
		}
		fmt.Fprintf(&table, "%-34s %-27s %-27s %.2f  exp %-10s %-16s  iss %-10s %-16s  %-24s %5.1fs\n",
			p.File, p.Kind, rec.Kind, rec.Confidence, orDash(p.Expires), day(rec.Expires), orDash(p.Issued), day(rec.Issued), mrz, rec.OCRTime.Seconds())
	}
	t.Logf("per paper: file, kind, suggested, confidence, expiry wanted/suggested, issue wanted/suggested, zone, OCR time\n%s", table.String())
	n := len(results)
	pct := func(a, b int) float64 {
		if b == 0 {
			return 100
		}
		return 100 * float64(a) / float64(b)
	}
	t.Logf("%d papers in %.1fs (2 at a time): OCR %.2fs per paper", n, elapsed.Seconds(), ocrTime.Seconds()/float64(n))
	t.Logf("kind: %d/%d = %.1f %% (target ≥ 90 %%)", kindOK, n, pct(kindOK, n))
	t.Logf("expiry on papers with a zone: %d/%d = %.1f %% (target ≥ 95 %%)", expiryOK, mrzPapers, pct(expiryOK, mrzPapers))
	t.Logf("zones accepted: %d/%d genuine = %.1f %%; tampered zones: %d, false accepts: %d", mrzAccepted, mrzGenuine, pct(mrzAccepted, mrzGenuine), tampered, falseAccepts)
	t.Logf("issue date: %d/%d = %.1f %% (no target)", issuedOK, issuedN, pct(issuedOK, issuedN))
	if pct(kindOK, n) < 90 {
		t.Errorf("kind accuracy %.1f %%, want ≥ 90 %%", pct(kindOK, n))
	}
	if pct(expiryOK, mrzPapers) < 95 {
		t.Errorf("expiry accuracy %.1f %% on papers with a zone, want ≥ 95 %%", pct(expiryOK, mrzPapers))
	}
	if tampered == 0 {
		t.Error("no tampered zone in the evaluated set")
	}
	if falseAccepts > 0 {
		t.Errorf("%d wrong dates accepted from zones", falseAccepts)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
