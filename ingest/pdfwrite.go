package ingest

import (
	"bufio"
	"fmt"
	"io"
	"math"
)

// A4 in PostScript points (1/72 in): 210 × 297 mm.
const (
	a4W = 595.28
	a4H = 841.89
	// marginPt surrounds content that is not A4-shaped (receipts, ID cards,
	// uncropped photos), so printers that cannot print to the edge lose
	// nothing: 10 mm.
	marginPt = 28.35
)

// pdfImage is one page rendition, already compressed.
type pdfImage struct {
	data   []byte
	w, h   int    // pixels
	gray   bool   // DeviceGray instead of DeviceRGB
	bits   int    // 8 for JPEG, 1 for black-and-white
	filter string // DCTDecode or FlateDecode
}

// pageBox returns the page size and where the image goes on it. Pages are A4,
// portrait or landscape as the content; A4-shaped content fills the page
// (so it prints 1:1 at its real size), other content is fitted inside the
// margins and centred.
func pageBox(w, h int) (pw, ph, x, y, iw, ih float64) {
	pw, ph = a4W, a4H
	if w > h {
		pw, ph = a4H, a4W
	}
	ar := float64(max(w, h)) / float64(max(min(w, h), 1))
	if math.Abs(ar-math.Sqrt2)/math.Sqrt2 < 0.01 {
		return pw, ph, 0, 0, pw, ph
	}
	s := math.Min((pw-2*marginPt)/float64(w), (ph-2*marginPt)/float64(h))
	iw, ih = float64(w)*s, float64(h)*s
	return pw, ph, (pw - iw) / 2, (ph - ih) / 2, iw, ih
}

// writePDF writes a minimal PDF 1.4 with one image per page. Writing it by
// hand rather than through pdfcpu keeps a 12 MP photo's path free of a
// second copy of the image and makes the output byte-for-byte predictable:
// no producer, no dates, no metadata, nothing but the pages.
func writePDF(out io.Writer, pages []pdfImage) (int64, error) {
	cw := &countWriter{w: out}
	w := bufio.NewWriterSize(cw, 64<<10)
	n := 2 + 3*len(pages)
	offs := make([]int64, n+1)
	pos := func() int64 { return cw.n + int64(w.Buffered()) }
	obj := func(i int, body string) {
		offs[i] = pos()
		fmt.Fprintf(w, "%d 0 obj\n%s\nendobj\n", i, body)
	}
	w.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := ""
	for i := range pages {
		kids += fmt.Sprintf("%d 0 R ", 3+3*i)
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, len(pages)))
	for i, p := range pages {
		pg, ct, im := 3+3*i, 4+3*i, 5+3*i
		pw, ph, x, y, iw, ih := pageBox(p.w, p.h)
		obj(pg, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>", pw, ph, im, ct))
		content := fmt.Sprintf("q %.4f 0 0 %.4f %.4f %.4f cm /Im0 Do Q\n", iw, ih, x, y)
		obj(ct, fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content))
		cs := "/DeviceRGB"
		if p.gray {
			cs = "/DeviceGray"
		}
		offs[im] = pos()
		fmt.Fprintf(w, "%d 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d /Filter /%s /Length %d >>\nstream\n",
			im, p.w, p.h, cs, p.bits, p.filter, len(p.data))
		w.Write(p.data)
		w.WriteString("\nendstream\nendobj\n")
	}
	xref := pos()
	fmt.Fprintf(w, "xref\n0 %d\n0000000000 65535 f \n", n+1)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "%010d 00000 n \n", offs[i])
	}
	fmt.Fprintf(w, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", n+1, xref)
	if err := w.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
