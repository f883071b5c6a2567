package ingest

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/disintegration/imaging"
)

func TestScoreKinds(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Kind
	}{
		{"tax notice", "DIRECTION GÉNÉRALE DES FINANCES PUBLIQUES\nAVIS D'IMPÔT 2024\nRevenu fiscal de référence", KindTaxNotice},
		{"CAF read badly", "ATTESTATION DE PAIEMENT\nLa Carsse d'alocabons lamdales de Nantes certe que\nnuméro aflocatasre 9748595", KindCAF},
		{"payslip", "BULLETIN DE PAIE\nSalaire de base 151,67 h\nNET À PAYER AVANT IMPÔT", KindPayslip},
		{"France Travail", "France Travail\nATTESTATION D'INSCRIPTION\ndemandeur d'emploi", KindFranceTravail},
		{"rent receipt, not CAF for its loyer", "QUITTANCE DE LOYER\nbailleur, locataire\nLoyer 450,00 €", KindRentReceipt},
		{"invoice", "FACTURE\nDate de facture : 12/03/2025\nMontant TTC 54,20 €", KindInvoice},
		{"bank details", "RELEVÉ D'IDENTITÉ BANCAIRE\nIBAN : FR76 3000 4000 ...\nBIC : BNPAFRPP", KindBankDetails},
		{"spaces lost", "CARTENATIONALED'IDENTITÉ\nNOM / Surname", KindIdentityCard},
		{"residence permit", "RÉPUBLIQUE FRANÇAISE TITRE DE SÉJOUR\nRESIDENCE PERMIT", KindResidencePermit},
		{"passport", "PASSEPORT PASSPORT\nType / Type P Code du pays / Country code FRA", KindPassport},
		{"one weak word is not enough", "le loyer de mai", KindUnknown},
		{"nothing", "", KindUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scores := scoreKinds(normalizeText(tt.text), nil)
			got, conf := pickKind(scores)
			if got != tt.want {
				t.Errorf("kind %q (%.2f), want %q; scores %v", got, conf, tt.want, scores)
			}
			if (got == KindUnknown) != (conf == 0) {
				t.Errorf("kind %q with confidence %.2f", got, conf)
			}
		})
	}
}

// TestScoreKindsZone: a verified zone outweighs the words of another kind
// (a residence permit mentions "carte de séjour" and "identité"); a zone
// whose check digits fail still counts, less.
func TestScoreKindsZone(t *testing.T) {
	text := normalizeText("CARTE D'IDENTITÉ DE L'ÉTRANGER")
	z := &MRZ{Format: MRZTD1, DocumentType: "IR", Country: "FRA", Valid: true}
	if k, _ := pickKind(scoreKinds(text, z)); k != KindResidencePermit {
		t.Errorf("valid IR zone: %q", k)
	}
	bad := &MRZ{Format: MRZTD3, DocumentType: "P", Country: "FRA"}
	if k, _ := pickKind(scoreKinds("", bad)); k != KindPassport {
		t.Errorf("invalid TD3 zone alone: %q", k)
	}
}

// lineAt builds an OCR line of words, each 12 px per character, at y.
func lineAt(y int, x int, text string) ocrLine {
	l := ocrLine{text: text}
	for _, w := range strings.Fields(text) {
		b := image.Rect(x, y, x+12*len([]rune(w)), y+20)
		l.words = append(l.words, ocrWord{box: b, text: w})
		l.box = l.box.Union(b)
		x += 12*len([]rune(w)) + 12
	}
	return l
}

func TestSuggestDates(t *testing.T) {
	now := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	day := func(s string) time.Time {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name          string
		lines         []ocrLine
		z             *MRZ
		kind          Kind
		issued, exp   string
		expSrc        DateSource
		issConfidence float64
	}{
		{"labels on the line, 08 and 09 are not octal", []ocrLine{
			lineAt(0, 0, "Carte valable jusqu'au : 08.05.2030"),
			lineAt(30, 0, "délivrée le : 09.05.2015 par préfecture"),
		}, nil, KindIdentityCard, "2015-05-09", "2030-05-08", FromText, 0.8},
		{"value under its label", []ocrLine{
			lineAt(0, 100, "Date de délivrance / Date of issue"),
			lineAt(30, 100, "04 05 2018"),
		}, nil, KindPassport, "2018-05-04", "", "", 0.8},
		{"two values under two labels, the future one is the expiry", []ocrLine{
			lineAt(0, 100, "Dane of mn se d'enpey"),
			lineAt(30, 100, "04 05 2018 03 05 2028"),
		}, nil, KindPassport, "2018-05-04", "2028-05-03", FromText, 0.6},
		{"a valid zone wins over the text", []ocrLine{
			lineAt(0, 0, "Date d'expiration : 01/01/2031"),
		}, &MRZ{Valid: true, Expiry: day("2031-02-11")}, KindIdentityCard, "", "2031-02-11", FromMRZ, 0},
		{"a zone that failed gives nothing", []ocrLine{
			lineAt(0, 0, "Née le 13/07/1990"),
		}, &MRZ{Format: MRZTD1}, KindIdentityCard, "", "", "", 0},
		{"birth dates, due dates and periods are not issue dates", []ocrLine{
			lineAt(0, 0, "Né le 12/02/1980"),
			lineAt(30, 0, "Date d'échéance : 29/03/2025"),
			lineAt(60, 0, "Période du 01/05/2025 au 31/05/2025"),
			lineAt(90, 0, "Date de paiement : 31 mai 2025"),
		}, nil, KindPayslip, "2025-05-31", "", "", 0.8},
		{"fait à, le", []ocrLine{
			lineAt(0, 0, "Fait à Montreuil, le 1er avril 2025"),
		}, nil, KindRentReceipt, "2025-04-01", "", "", 0.75},
		{"unlabelled: the latest past date, unsure", []ocrLine{
			lineAt(0, 0, "Montreuil 03/02/2025"),
			lineAt(30, 0, "reçu 12/01/2025 et 05/09/2030"),
		}, nil, KindCAF, "2025-02-03", "", "", 0.35},
		{"impossible date", []ocrLine{
			lineAt(0, 0, "Fait le 31/02/2025"),
		}, nil, KindCAF, "", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, exp := suggestDates(tt.lines, tt.z, tt.kind, now)
			got := func(d DateSuggestion) string {
				if d.Date.IsZero() {
					return ""
				}
				return d.Date.Format("2006-01-02")
			}
			if got(iss) != tt.issued || got(exp) != tt.exp {
				t.Errorf("issued %q expires %q, want %q %q", got(iss), got(exp), tt.issued, tt.exp)
			}
			if exp.Source != tt.expSrc {
				t.Errorf("expiry from %q, want %q", exp.Source, tt.expSrc)
			}
			if iss.Confidence != tt.issConfidence {
				t.Errorf("issue confidence %.2f, want %.2f", iss.Confidence, tt.issConfidence)
			}
		})
	}
}

// fakeTesseract writes a shell script standing in for tesseract.
func fakeTesseract(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tesseract")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func grayPage() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	return g
}

func TestRunOCRBounds(t *testing.T) {
	t.Run("environment, limit and arguments", func(t *testing.T) {
		// The fake prints what tesseract would see, and the size of the
		// image it got on standard input.
		p := fakeTesseract(t, `echo "threads=$OMP_THREAD_LIMIT"; echo "vm=$(ulimit -v)"; echo "args=$*"; echo "stdin=$(wc -c)"; echo "tmp=$TMPDIR"`)
		out, err := runOCR(context.Background(), grayPage(), ocrRequest{path: p, lang: "fra", memory: 512 << 20})
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		for _, want := range []string{"threads=1", "vm=524288", "args=stdin stdout -l fra", "stdin=" + itoa(len(encodePGM(grayPage()))), "tmp=\n"} {
			if !strings.Contains(s+"\n", want) {
				t.Errorf("output %q lacks %q", s, want)
			}
		}
	})
	t.Run("timeout kills the process group", func(t *testing.T) {
		pidFile := filepath.Join(t.TempDir(), "child")
		// A child that would outlive a killed parent unless the whole
		// group is killed.
		p := fakeTesseract(t, `sleep 30 & echo $! > `+pidFile+`; sleep 30`)
		start := time.Now()
		_, err := runOCR(context.Background(), grayPage(), ocrRequest{path: p, lang: "fra", timeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrOCRFailed) {
			t.Fatalf("error %v, want ErrOCRFailed and ErrTimeout", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("returned after %v", d)
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		// Killed at once, but reaped by init when it gets to it.
		for deadline := time.Now().Add(5 * time.Second); syscall.Kill(pid, 0) == nil; {
			if time.Now().After(deadline) {
				t.Fatal("the child of the timed-out process survived")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		p := fakeTesseract(t, `sleep 30`)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(100 * time.Millisecond); cancel() }()
		if _, err := runOCR(ctx, grayPage(), ocrRequest{path: p, lang: "fra"}); !errors.Is(err, ErrCanceled) {
			t.Fatalf("error %v, want ErrCanceled", err)
		}
	})
	t.Run("memory limit", func(t *testing.T) {
		// A 100 MB allocation (perl-base is in every Debian) fits in the
		// default limit, not in 64 MB of address space.
		p := fakeTesseract(t, `exec perl -e '$x = "a" x 100_000_000; print length $x'`)
		out, err := runOCR(context.Background(), grayPage(), ocrRequest{path: p, lang: "fra"})
		if err != nil || string(out) != "100000000" {
			t.Fatalf("default limit: %q, %v", out, err)
		}
		if _, err := runOCR(context.Background(), grayPage(), ocrRequest{path: p, lang: "fra", memory: 64 << 20}); !errors.Is(err, ErrOCRFailed) {
			t.Fatalf("error %v, want ErrOCRFailed", err)
		}
	})
	t.Run("output bounded", func(t *testing.T) {
		p := fakeTesseract(t, `head -c 5000000 /dev/zero`)
		if _, err := runOCR(context.Background(), grayPage(), ocrRequest{path: p, lang: "fra"}); !errors.Is(err, ErrOCRFailed) {
			t.Fatalf("error %v, want ErrOCRFailed", err)
		}
	})
	t.Run("missing language", func(t *testing.T) {
		p := fakeTesseract(t, `echo "Failed loading language 'fra'" >&2; exit 1`)
		_, err := runOCR(context.Background(), grayPage(), ocrRequest{path: p, lang: "fra"})
		if !errors.Is(err, ErrOCRUnavailable) {
			t.Fatalf("error %v, want ErrOCRUnavailable", err)
		}
	})
}

// TestRecognizeWithoutTesseract: a missing tesseract is an error that says
// how to install it, never a silent empty suggestion.
func TestRecognizeWithoutTesseract(t *testing.T) {
	_, err := Recognize(context.Background(), grayPage(), RecognizeOptions{Page: true, Tesseract: filepath.Join(t.TempDir(), "none")})
	if !errors.Is(err, ErrOCRUnavailable) || !strings.Contains(err.Error(), "scripts/ocr.sh") {
		t.Fatalf("error %v, want ErrOCRUnavailable with a hint", err)
	}
	if _, err := Recognize(context.Background(), image.NewGray(image.Rect(0, 0, 0, 0)), RecognizeOptions{}); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty image: %v", err)
	}
}

// TestRecognizeFile reads an uploaded file as the web layer will: a
// photographed passport of the evaluation set, turned sideways with EXIF
// orientation 6 as phones do, is read as the upright one; a PDF is
// refused.
func TestRecognizeFile(t *testing.T) {
	requireTesseract(t)
	b, err := os.ReadFile(filepath.Join(papersDir, "19-passeport.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// Stored turned a quarter counter-clockwise, with the tag saying so.
	sideways := withEXIF(encodeJPEG(t, imaging.Rotate90(img), 85), 6)
	rec, err := RecognizeFile(context.Background(), bytes.NewReader(sideways), RecognizeOptions{Now: papersToday})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Kind != KindPassport || rec.MRZ == nil || !rec.MRZ.Valid || rec.Expires.Source != FromMRZ {
		t.Errorf("recognized %q, zone %+v, expiry %+v", rec.Kind, rec.MRZ, rec.Expires)
	}
	if rec.Text == "" || rec.OCRTime <= 0 {
		t.Errorf("text %d bytes, OCR time %v", len(rec.Text), rec.OCRTime)
	}
	if _, err := RecognizeFile(context.Background(), strings.NewReader("%PDF-1.7\n"), RecognizeOptions{}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("PDF: %v", err)
	}
}

func TestFindAllDates(t *testing.T) {
	for text, want := range map[string][]string{
		"fait a lyon, le 02 052025":           {"2025-05-02"},
		"04 05 2018 03 05 2028":               {"2018-05-04", "2028-05-03"},
		"le 1er mars 2024 et le 3/4/2024":     {"2024-03-01", "2024-04-03"},
		"montant 12 345 2024 et 3 12025":      nil, // month 34? no; a one-digit month never runs into the year
		"siret 12345678901234, 12/13/2024":    nil,
		"ref 112/05/2024":                     nil, // day 112: not a date
		"vers 20/05/20245":                    nil,
		"31.12.1999-01.01.2000":               {"1999-12-31", "2000-01-01"},
		"delivree le : 09.05.2015 par prefet": {"2015-05-09"},
	} {
		var got []string
		for _, m := range findAllDates(text) {
			if d, ok := parseFoundDate(text, m); ok {
				got = append(got, d.Format("2006-01-02"))
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
}

// TestReadMRZGlyphs reads the zones of evaluation papers by glyph matching
// alone, in the lower part of the page — where Recognize looks when
// tesseract saw no line of the zone — without tesseract.
func TestReadMRZGlyphs(t *testing.T) {
	t.Parallel() // shares nothing with the other slow tests: they run side by side
	read, n := 0, 0
	for _, p := range loadPaperTruth(t) {
		if p.MRZ == "" || p.MRZTampered {
			continue
		}
		b, err := os.ReadFile(filepath.Join(papersDir, p.File))
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		flat, err := flatPage(context.Background(), normalize(img), 1, true)
		if err != nil {
			t.Fatal(err)
		}
		page := recognitionPage(flat)
		band := page.SubImage(image.Rect(0, page.Rect.Dy()*3/5, page.Rect.Dx(), page.Rect.Dy())).(*image.Gray)
		lines := readMRZGlyphs(band)
		z, _ := ParseMRZ(strings.Join(lines, "\n"), papersToday)
		n++
		switch {
		case z.Valid && z.Format == MRZFormat(p.MRZ) && (p.Expires == "" || z.Format == MRZFrenchID || z.Expiry.Format("2006-01-02") == p.Expires):
			read++
		case z.Valid:
			t.Errorf("%s: wrong reading trusted: %+v", p.File, z)
		default:
			t.Logf("%s: not read: %q", p.File, lines)
		}
	}
	t.Logf("%d of %d zones read by glyphs alone", read, n)
	if read*10 < n*8 {
		t.Errorf("%d of %d zones read, want ≥ 80 %%", read, n)
	}
}
