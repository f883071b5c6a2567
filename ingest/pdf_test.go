package ingest

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// scanPDF builds an n-page PDF whose pages are each one JPEG scan, as a
// multifunction printer makes them.
func scanPDF(t testing.TB, n int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 5))
	pages := make([]pdfImage, n)
	for i := range pages {
		doc := renderDoc(rng, 620, 877)
		scan := warp(doc, scaleMat(620.0/1240, 877.0/1754), 1240, 1754)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, scan, &jpeg.Options{Quality: 75}); err != nil {
			t.Fatal(err)
		}
		pages[i] = pdfImage{data: buf.Bytes(), w: 1240, h: 1754, bits: 8, filter: "DCTDecode"}
	}
	var out bytes.Buffer
	if _, err := writePDF(&out, pages); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func encryptedPDF(t testing.TB) []byte {
	t.Helper()
	conf := pdfConfig(&Options{MaxBytes: DefaultMaxBytes, MaxPixels: DefaultMaxPixels})
	conf.UserPW, conf.OwnerPW = "secret", "owner"
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(scanPDF(t, 1)), &out, conf); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// rawPDF assembles a PDF from object bodies, computing the xref table.
func rawPDF(objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

// activePDF is a text PDF carrying every kind of active content we strip.
func activePDF() []byte {
	content := "BT /F1 24 Tf 72 700 Td (Attestation CAF) Tj ET"
	return rawPDF(
		`<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R /AA << /WC 6 0 R >> /Names << /JavaScript << /Names [(x) 6 0 R] >> /EmbeddedFiles << /Names [(evil.exe) 8 0 R] >> >> /AcroForm << /Fields [] /XFA 10 0 R >> >>`,
		`<< /Type /Pages /Kids [3 0 R] /Count 1 >>`,
		`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R /AA << /O 6 0 R >> /Annots [7 0 R 9 0 R 11 0 R] >>`,
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content)+1, content),
		`<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>`,
		`<< /Type /Action /S /JavaScript /JS (app.alert\('pwned'\)) >>`,
		`<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] /A << /S /Launch /F (cmd.exe) >> >>`,
		`<< /Type /Filespec /F (evil.exe) /EF << /F 12 0 R >> >>`,
		`<< /Type /Annot /Subtype /FileAttachment /Rect [72 500 90 520] /FS 8 0 R >>`,
		"<< /Length 8 >>\nstream\n<xdp/>  \nendstream",
		`<< /Type /Annot /Subtype /Link /Rect [72 400 300 420] /A << /S /URI /URI (https://www.caf.fr/) >> >>`,
		"<< /Type /EmbeddedFile /Length 4 >>\nstream\nMZ..\nendstream",
	)
}

func TestSanitizePDF(t *testing.T) {
	in := activePDF()
	res, out, th, err := process(t, Options{}, in)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("removed %v", res.Removed)
	if res.PageCount != 1 || res.MediaType != PDF {
		t.Errorf("result %+v", res)
	}
	for _, want := range []string{"JavaScript", "Launch", "OpenAction", "AA", "EmbeddedFiles", "FileAttachment"} {
		found := false
		for _, r := range res.Removed {
			found = found || r == want
		}
		if !found {
			t.Errorf("removed %v lacks %s", res.Removed, want)
		}
	}
	if err := api.Validate(bytes.NewReader(out), pdfConfig(&Options{MaxBytes: DefaultMaxBytes, MaxPixels: DefaultMaxPixels})); err != nil {
		t.Fatalf("sanitised PDF does not validate: %v", err)
	}
	// Sanitising the output again must find nothing left to remove.
	ctx, err := pdfcpu.Read(bytes.NewReader(out), pdfConfig(&Options{MaxBytes: DefaultMaxBytes, MaxPixels: DefaultMaxPixels, MaxPages: 10}))
	if err != nil {
		t.Fatal(err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		t.Fatal(err)
	}
	if left := sanitize(ctx.XRefTable); len(left) != 0 {
		t.Errorf("active content left after sanitising: %v", left)
	}
	for _, s := range []string{"app.alert", "cmd.exe", "MZ.."} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("output still contains %q", s)
		}
	}
	// The text layer and the safe link are kept.
	if !bytes.Contains(out, []byte("Attestation CAF")) && !strings.Contains(pageText(t, ctx), "Attestation CAF") {
		t.Error("text layer lost")
	}
	if !res.ThumbGeneric || len(th) == 0 {
		t.Errorf("text PDF: generic thumbnail %v, %d bytes", res.ThumbGeneric, len(th))
	}
}

// pageText returns the decoded content stream of page 1.
func pageText(t *testing.T, ctx *model.Context) string {
	t.Helper()
	d, _, _, err := ctx.PageDict(1, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ctx.PageContent(d, 1)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestScanPDFThumbnail(t *testing.T) {
	in := scanPDF(t, 3)
	res, out, th, err := process(t, Options{}, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.PageCount != 3 || res.ThumbGeneric {
		t.Errorf("pages %d, generic thumbnail %v", res.PageCount, res.ThumbGeneric)
	}
	checkPDF(t, out, 3)
	img, err := jpeg.Decode(bytes.NewReader(th))
	if err != nil {
		t.Fatal(err)
	}
	// The thumbnail must show the scan (text lines), not the generic page.
	if c := correlate(grey64(img), grey64(genericThumb())); c > 0.8 {
		t.Errorf("scan thumbnail looks generic (correlation %.2f)", c)
	}
}

// TestOwnerPasswordPDF: a PDF protected only by an owner password (opens
// without one, common for payslips) is accepted and stored unprotected.
func TestOwnerPasswordPDF(t *testing.T) {
	conf := pdfConfig(&Options{MaxBytes: DefaultMaxBytes, MaxPixels: DefaultMaxPixels})
	conf.UserPW, conf.OwnerPW = "", "owner"
	var in bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(scanPDF(t, 1)), &in, conf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(in.Bytes(), []byte("/Encrypt")) {
		t.Fatal("test input is not encrypted")
	}
	_, out, _, err := process(t, Options{}, in.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("/Encrypt")) {
		t.Error("output is still encrypted")
	}
	checkPDF(t, out, 1)
}
