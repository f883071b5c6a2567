package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRecognizeRenditions recognises papers the way the safe reads them in the
// background: from the rendition Process made of the photo (RecognizePDF), not
// from the photo. On the default subset (a card, a residence permit, a passport,
// a tampered zone, two papers without a zone) the kind and the zone's expiry must
// be right and no date taken from the tampered zone; -papers.all runs the whole
// set and checks the same targets as TestRecognizePapers.
func TestRecognizeRenditions(t *testing.T) {
	requireTesseract(t)
	truth := loadPaperTruth(t)
	set := truth
	if !*allPapers {
		set = nil
		want := map[string]bool{"01-carte_identite.jpg": true, "11-titre_sejour.jpg": true, "17-passeport.jpg": true,
			"31-bulletin_salaire.jpg": true, "23-avis_imposition.jpg": true}
		tampered := false
		for _, p := range truth {
			if want[p.File] || p.MRZTampered && !tampered {
				set = append(set, p)
				tampered = tampered || p.MRZTampered
			}
		}
	}
	var kindOK, zones, expiryOK int
	var table strings.Builder
	start := time.Now()
	for _, p := range set {
		photo, err := os.ReadFile(filepath.Join(papersDir, p.File))
		if err != nil {
			t.Fatal(err)
		}
		var pdf bytes.Buffer
		if _, err := Process(context.Background(), []io.Reader{bytes.NewReader(photo)}, Options{}, &pdf, nil); err != nil {
			t.Fatalf("%s: %v", p.File, err)
		}
		res, err := NewBudget(1<<30, time.Second).Reserve(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := RecognizePDF(context.Background(), &pdf, Options{Reservation: res}, RecognizeOptions{Now: papersToday})
		res.Release()
		if err != nil {
			t.Errorf("%s: %v", p.File, err)
			continue
		}
		if rec.Kind == p.Kind {
			kindOK++
		} else {
			t.Logf("%s: kind %q, want %q", p.File, rec.Kind, p.Kind)
		}
		got := ""
		if !rec.Expires.Date.IsZero() {
			got = rec.Expires.Date.Format(time.DateOnly)
		}
		if p.MRZ != "" {
			zones++
			if got == p.Expires {
				expiryOK++
			}
		}
		if p.MRZTampered && (rec.MRZ != nil && rec.MRZ.Valid || p.MRZExpires != "" && got == p.MRZExpires) {
			t.Errorf("%s: date taken from a tampered zone: %+v", p.File, rec.MRZ)
		}
		fmt.Fprintf(&table, "%-30s %-27s %-27s exp %-10s %-10s %5.1fs\n", p.File, p.Kind, rec.Kind, orDash(p.Expires), orDash(got), rec.OCRTime.Seconds())
	}
	t.Logf("%d papers in %.1fs\n%s", len(set), time.Since(start).Seconds(), table.String())
	if kindOK*100 < len(set)*90 {
		t.Errorf("kind right on %d/%d renditions, want ≥ 90 %%", kindOK, len(set))
	}
	if expiryOK*100 < zones*95 {
		t.Errorf("expiry right on %d/%d renditions with a zone, want ≥ 95 %%", expiryOK, zones)
	}
}

// A PDF whose first page is text, not a picture, has nothing to read; a file that
// is not a PDF is refused.
func TestRecognizePDFRefuses(t *testing.T) {
	_, err := RecognizePDF(context.Background(), bytes.NewReader(rawPDF(
		`<< /Type /Catalog /Pages 2 0 R >>`,
		`<< /Type /Pages /Kids [3 0 R] /Count 1 >>`,
		`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>`,
		"<< /Length 48 >>\nstream\nBT /F1 24 Tf 72 700 Td (Attestation CAF) Tj ET\nendstream",
		`<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>`,
	)), Options{}, RecognizeOptions{})
	if !errors.Is(err, ErrNoPicture) {
		t.Errorf("text PDF: %v, want ErrNoPicture", err)
	}
	_, err = RecognizePDF(context.Background(), strings.NewReader("\xff\xd8\xff\xe0 not a pdf"), Options{}, RecognizeOptions{})
	if !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("JPEG bytes: %v, want ErrUnsupportedType", err)
	}
}
