package ingest

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

const testMark = "Transmis à l'agence Élan Immobilier le 3 mars 2026 pour un dossier de location"

func TestWatermarkText(t *testing.T) {
	on := time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)
	if got := WatermarkText("l'agence Élan Immobilier", "un dossier de location", on); got != testMark {
		t.Errorf("WatermarkText = %q", got)
	}
	if got := WatermarkText(" la CAF ", "", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)); got != "Transmis à la CAF le 1er mai 2026" {
		t.Errorf("WatermarkText = %q", got)
	}
	for in, want := range map[string]string{
		"  Transmis   à\tl'agence  ": "Transmis à l'agence",
		"Œuvre « Zoé » — ça":         "Œuvre « Zoé » — ça",
		"Agence Łódź":                "Agence Lódz",
		"Агентство":                  "?????????",
	} {
		got, err := cleanWatermarkText(in)
		if err != nil || got != want {
			t.Errorf("cleanWatermarkText(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "   ", "a\x00b", strings.Repeat("é", MaxWatermarkText+1)} {
		if _, err := cleanWatermarkText(in); !errors.Is(err, ErrWatermarkText) {
			t.Errorf("cleanWatermarkText(%q): err = %v", in, err)
		}
	}
}

// pageImages decodes the one image of every page of an image PDF.
func pageImages(t *testing.T, b []byte) []image.Image {
	t.Helper()
	opts := Options{}.withDefaults()
	ctx, err := pdfcpu.Read(bytes.NewReader(b), pdfConfig(&opts))
	if err != nil {
		t.Fatal(err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := api.OptimizeContext(ctx); err != nil {
		t.Fatal(err)
	}
	var out []image.Image
	for nr := 1; nr <= ctx.PageCount; nr++ {
		img, err := scanPageImage(ctx, nr, &opts)
		if err != nil {
			t.Fatalf("page %d: %v", nr, err)
		}
		out = append(out, img)
	}
	return out
}

func grayOf(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	s := newLumaSampler(img)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			g.Pix[y*g.Stride+x] = uint8(s.at(x, y))
		}
	}
	return g
}

// checkBurned compares a marked page with the original: the mark must
// cover the whole page (every cell of a 3×4 grid has marked pixels), take
// a modest share of it, move pixels towards grey only, and leave dark
// print dark.
func checkBurned(t *testing.T, page int, orig, marked image.Image) {
	t.Helper()
	o, m := grayOf(orig), grayOf(marked)
	if o.Rect != m.Rect {
		t.Fatalf("page %d: size %v, was %v", page, m.Rect, o.Rect)
	}
	w, h := o.Rect.Dx(), o.Rect.Dy()
	var cells [4][3]int
	var changed, darkKept, dark, wrongWay int
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a, b := int(o.Pix[y*o.Stride+x]), int(m.Pix[y*m.Stride+x])
			if a < 60 {
				dark++
				if b < 110 {
					darkKept++
				}
			}
			// Light paper darkened by at least a quarter of the full mark.
			if a > 180 && a-b > int(0.25*wmOpacity*float64(a-wmGrey)) && a-b > 6 {
				changed++
				cells[y*4/h][x*3/w]++
			}
			if a > 200 && b > a+25 {
				wrongWay++
			}
		}
	}
	share := float64(changed) / float64(w*h)
	t.Logf("page %d: %.1f %% of the page marked, %d/%d dark pixels kept dark", page, 100*share, darkKept, dark)
	if share < 0.03 || share > 0.35 {
		t.Errorf("page %d: %.1f %% of the page marked, want 3–35 %%", page, 100*share)
	}
	for r := range cells {
		for c := range cells[r] {
			if cells[r][c] < w*h/12/200 {
				t.Errorf("page %d: cell (%d,%d) of the page has no mark (%d pixels)", page, r, c, cells[r][c])
			}
		}
	}
	if dark > 0 && float64(darkKept) < 0.97*float64(dark) {
		t.Errorf("page %d: print faded: %d of %d dark pixels stay dark", page, darkKept, dark)
	}
	if float64(wrongWay) > 0.002*float64(w*h) {
		t.Errorf("page %d: %d pixels lightened", page, wrongWay)
	}
}

// ocrMark reads the copy of the text at the centre of a marked page with
// tesseract, when it is installed (scripts/ocr.sh), turned so that the
// text runs horizontally and stretched in contrast (the mark is light
// grey). It returns "" when tesseract is absent.
func ocrMark(t *testing.T, marked image.Image) string {
	t.Helper()
	bin, err := exec.LookPath("tesseract")
	if err != nil {
		t.Log("tesseract not installed: OCR check skipped")
		return ""
	}
	m := grayOf(marked)
	w, h := m.Rect.Dx(), m.Rect.Dy()
	ang := math.Atan2(float64(h), float64(w))
	cos, sin := math.Cos(ang), math.Sin(ang)
	_, _, _, _, iw, _ := pageBox(w, h)
	mk, err := newWMMask(wmLines(testMark), w, h, float64(w)/iw)
	if err != nil {
		t.Fatal(err)
	}
	W, H := int(2*mk.halfW)+40, int(2*mk.halfH)+40
	ms := newLumaSampler(m)
	g := image.NewGray(image.Rect(0, 0, W, H))
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			s, tt := float64(x-W/2), float64(y-H/2)
			v := float64(ms.sample(float64(w)/2+s*cos+tt*sin, float64(h)/2-s*sin+tt*cos))
			g.Pix[y*g.Stride+x] = uint8(math.Min(255, math.Max(0, (v-200)*5)))
		}
	}
	f := filepath.Join(t.TempDir(), "band.png")
	fh, err := os.Create(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(fh, g); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	out, err := exec.Command(bin, f, "stdout", "-l", "fra", "--psm", "6").Output()
	if err != nil {
		t.Fatalf("tesseract: %v", err)
	}
	return string(out)
}

// blankPDF is one white A4 page at 200 dpi, as an image PDF.
func blankPDF(t testing.TB) []byte {
	t.Helper()
	g := image.NewGray(image.Rect(0, 0, a4PxW, a4PxH))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	data, err := encodeJPEGPage(g)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := writePDF(&out, []pdfImage{{data: data, w: a4PxW, h: a4PxH, gray: true, bits: 8, filter: "DCTDecode"}}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestWatermarkBurned(t *testing.T) {
	t.Parallel() // shares nothing with the other slow tests: they run side by side
	_, photos, _, err := process(t, Options{}, docPhoto(t, 1, 1600, 1200), docPhoto(t, 2, 1200, 1600))
	if err != nil {
		t.Fatal(err)
	}
	_, bw, _, err := process(t, Options{Mode: ModeScan}, docPhoto(t, 3, 1600, 1200))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		pdf   []byte
		pages int
	}{
		{"photos", photos, 2},
		{"black and white", bw, 1},
		{"scanner PDF", scanPDF(t, 3), 3},
		{"blank page", blankPDF(t), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := bytes.Clone(tc.pdf)
			var out bytes.Buffer
			res, err := Watermark(context.Background(), bytes.NewReader(in), testMark, Options{}, &out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, tc.pdf) {
				t.Fatal("the original was modified")
			}
			if !res.Burned || res.Pages != tc.pages || res.Bytes != int64(out.Len()) {
				t.Errorf("result %+v", res)
			}
			checkPDF(t, out.Bytes(), tc.pages)
			origs, marks := pageImages(t, tc.pdf), pageImages(t, out.Bytes())
			for i := range origs {
				checkBurned(t, i+1, origs[i], marks[i])
			}
			if tc.name != "blank page" {
				return
			}
			// Over print, OCR mixes the mark with the page; on a blank page
			// it reads what a person reads.
			if text := ocrMark(t, marks[0]); text != "" {
				t.Logf("OCR: %q", text)
				if got := strings.Join(strings.Fields(text), " "); got != testMark {
					t.Errorf("OCR of the mark = %q, want %q", got, testMark)
				}
			}
		})
	}
}

// textPDF is a two-page text PDF, as a public service's site makes them.
func textPDF(t testing.TB) []byte {
	t.Helper()
	p := fpdf.New("P", "pt", "A4", "")
	tr := p.UnicodeTranslatorFromDescriptor("")
	for i := 0; i < 2; i++ {
		p.AddPage()
		p.SetFont("Helvetica", "", 12)
		p.Text(72, 100, tr("Attestation de paiement — Caisse d'allocations familiales"))
		p.Text(72, 130, tr("Montant versé en février : 312,40 €"))
	}
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestWatermarkStamp(t *testing.T) {
	orig := textPDF(t)
	in := bytes.Clone(orig)
	var out bytes.Buffer
	res, err := Watermark(context.Background(), bytes.NewReader(in), testMark, Options{}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, orig) {
		t.Fatal("the original was modified")
	}
	if res.Burned || res.Pages != 2 {
		t.Errorf("result %+v", res)
	}
	checkPDF(t, out.Bytes(), 2)
	// The stamps are form XObjects drawn from each page's content: find
	// them and the text in them (Windows-1252, as the standard fonts are
	// encoded), on every page.
	opts := Options{}.withDefaults()
	ctx, err := pdfcpu.Read(bytes.NewReader(out.Bytes()), pdfConfig(&opts))
	if err != nil {
		t.Fatal(err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		t.Fatal(err)
	}
	for nr := 1; nr <= ctx.PageCount; nr++ {
		content := pageContent(t, ctx, nr)
		if !strings.Contains(content, "Montant vers\xe9") {
			t.Errorf("page %d: original text lost", nr)
		}
		n := 0
		for _, form := range pageForms(t, ctx, nr) {
			if strings.Contains(form, "Transmis \xe0 l'agence \xc9lan") && strings.Contains(form, "location") {
				n++
			}
		}
		if n < 4 {
			t.Errorf("page %d: %d stamps with the text, want the text repeated", nr, n)
		}
	}
}

func pageContent(t *testing.T, ctx *model.Context, nr int) string {
	t.Helper()
	d, _, _, err := ctx.PageDict(nr, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ctx.PageContent(d, nr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pageForms returns the decoded content of the form XObjects that page nr
// draws.
func pageForms(t *testing.T, ctx *model.Context, nr int) []string {
	t.Helper()
	d, _, inh, err := ctx.PageDict(nr, false)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := ctx.DereferenceDict(d["Resources"])
	if res == nil && inh != nil {
		res = inh.Resources
	}
	xo, _ := ctx.DereferenceDict(res["XObject"])
	var out []string
	for _, o := range xo {
		sd, _, err := ctx.DereferenceStreamDict(o)
		if err != nil || sd == nil {
			continue
		}
		if st := sd.NameEntry("Subtype"); st == nil || *st != "Form" {
			continue
		}
		if err := sd.Decode(); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(sd.Content))
	}
	return out
}

func TestWatermarkBadInput(t *testing.T) {
	good := scanPDF(t, 1)
	for _, tc := range []struct {
		name string
		in   []byte
		text string
		want error
	}{
		{"empty text", good, "  ", ErrWatermarkText},
		{"text too long", good, strings.Repeat("a ", MaxWatermarkText), ErrWatermarkText},
		{"control character", good, "Transmis\x07", ErrWatermarkText},
		{"empty file", nil, testMark, ErrEmpty},
		{"not a PDF", docPhoto(t, 1, 400, 300), testMark, ErrUnsupportedType},
		{"password", encryptedPDF(t), testMark, ErrEncrypted},
		{"broken PDF", []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF"), testMark, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Watermark(context.Background(), bytes.NewReader(tc.in), tc.text, Options{}, &out)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("%d bytes written on error", out.Len())
			}
		})
	}
	_, err := Watermark(context.Background(), bytes.NewReader(scanPDF(t, 3)), testMark, Options{MaxPages: 2}, &bytes.Buffer{})
	if !errors.Is(err, ErrTooManyPages) {
		t.Errorf("too many pages: %v", err)
	}
}

// BenchmarkWatermark measures the burned path on A4 pages at 200 dpi (the
// renditions Process makes): time per page, and the peak heap for one page
// and for eight, which shows that memory does not grow with the page count
// (one decoded page at a time). Memory is sampled process-wide, so it is a
// benchmark figure, not a test assertion.
func BenchmarkWatermark(b *testing.B) {
	t := b
	rng := mrand.New(mrand.NewPCG(4, 4))
	a4 := warp(renderDoc(rng, 620, 877), scaleMat(620.0/a4PxW, 877.0/a4PxH), a4PxW, a4PxH)
	data, err := encodeJPEGPage(a4)
	if err != nil {
		t.Fatal(err)
	}
	bounds := a4.Bounds()
	doc := func(n int) []byte {
		pages := make([]pdfImage, n)
		for i := range pages {
			pages[i] = pdfImage{data: data, w: bounds.Dx(), h: bounds.Dy(), bits: 8, filter: "DCTDecode"}
		}
		var out bytes.Buffer
		if _, err := writePDF(&out, pages); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	peak := func(n int) (uint64, time.Duration) {
		in := doc(n)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		var max atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > max.Load() {
					max.Store(m.HeapAlloc)
				}
			}
		}()
		t0 := time.Now()
		if _, err := Watermark(context.Background(), bytes.NewReader(in), testMark, Options{}, io.Discard); err != nil {
			t.Fatal(err)
		}
		d := time.Since(t0)
		close(stop)
		wg.Wait()
		p := max.Load()
		if p < base {
			p = base
		}
		return p - base, d / time.Duration(n)
	}
	for b.Loop() {
		p1, d1 := peak(1)
		p8, d8 := peak(8)
		b.ReportMetric(float64(d1.Milliseconds()), "ms/page")
		b.ReportMetric(float64(d8.Milliseconds()), "ms/page-of-8")
		b.ReportMetric(float64(p1)/(1<<20), "peakMB-1page")
		b.ReportMetric(float64(p8)/(1<<20), "peakMB-8pages")
	}
}
