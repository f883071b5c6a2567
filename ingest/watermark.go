package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/disintegration/imaging"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/font"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// ErrWatermarkText reports a watermark text that is empty, too long or
// made of control characters.
var ErrWatermarkText = errors.New("unusable watermark text")

// MaxWatermarkText bounds the watermark text, in characters: two lines
// across the diagonal of an A4 page at a size a phone can read.
const MaxWatermarkText = 160

// The look of the watermark: mid grey at 35 % over the page, so that
// black print stays black and white paper turns light grey; 24 pt bold,
// which a phone showing the whole page width (360 px for 595 pt) draws
// with letters about 10 px high.
const (
	wmGrey    = 128
	wmOpacity = 0.35
	wmPoints  = 24.0
)

// WatermarkResult describes a watermarked copy.
type WatermarkResult struct {
	// Pages is the number of pages written.
	Pages int
	// Burned is true when the text was burned into the page images (every
	// page was a picture: photos, scans); false when it was stamped over
	// pages that carry text (see Watermark).
	Burned bool
	// Bytes is the size written.
	Bytes int64
}

// WatermarkText formats the usual watermark: « Transmis à l'agence Dupont
// le 3 mars 2026 pour un dossier de location ». purpose may be empty.
func WatermarkText(recipient, purpose string, on time.Time) string {
	months := [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
		"août", "septembre", "octobre", "novembre", "décembre"}
	day := fmt.Sprintf("%d %s %d", on.Day(), months[on.Month()-1], on.Year())
	if on.Day() == 1 {
		day = "1er" + day[1:]
	}
	s := fmt.Sprintf("Transmis à %s le %s", strings.TrimSpace(recipient), day)
	if p := strings.TrimSpace(purpose); p != "" {
		s += " pour " + p
	}
	return s
}

// Watermark writes to out a copy of a PDF made by this package (the clean
// rendition) with text written diagonally across every page, repeated,
// in semi-transparent mid grey. The input is only read.
//
// When every page is one picture (photos and scans: the PDFs Process
// makes from images, and scanner PDFs), the text is burned into the
// pixels: each page image is decoded, marked, re-encoded and written to a
// new PDF, one page at a time, so memory holds one decoded page whatever
// the page count. Nothing of the original picture survives unmarked.
//
// Other PDFs (text, as downloaded from a public service) are stamped:
// the same text pattern is added over the content of every page, with
// pdfcpu's stamps in the standard Helvetica font. There is no pure-Go PDF
// renderer to rasterise such pages, and rasterising would lose their
// text; a stamp can be removed by someone who edits PDF files, which a
// burned mark cannot, so identity papers — photos and scans — always get
// the burned mark.
//
// Characters the PDF fonts cannot show are replaced by their unaccented
// letter, or "?". Errors wrap the package's sentinels (ErrWatermarkText,
// ErrUnsupportedType, ErrEncrypted, ErrCorrupt, ErrTooLarge,
// ErrTooManyPages, ErrTooManyPixels, ErrTimeout, ErrCanceled). The input
// is checked before anything is written, but the output is streamed: if
// an error occurs part-way through a burned copy, what was written must
// be discarded.
func Watermark(ctx context.Context, pdf io.Reader, text string, opts Options, out io.Writer) (*WatermarkResult, error) {
	opts = opts.withDefaults()
	text, err := cleanWatermarkText(text)
	if err != nil {
		return nil, fmt.Errorf("ingest: watermark: %w", err)
	}
	b, err := readAll(pdf, opts.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("ingest: watermark: %w", err)
	}
	if mt, err := sniff(b[:min(len(b), SniffLen)]); err != nil || mt != PDF {
		return nil, fmt.Errorf("ingest: watermark: %w", ErrUnsupportedType)
	}
	var pctx *model.Context
	var scans []bool
	err = bounded(ctx, nil, func() error {
		var e error
		if pctx, e = pdfcpu.ReadWithContext(ctx, bytes.NewReader(b), pdfConfig(&opts)); e != nil {
			return classifyPDFError(e)
		}
		if pctx.Encrypt != nil && pctx.E != nil {
			pctx.Cmd = model.DECRYPT
		}
		if e := api.ValidateContext(pctx); e != nil {
			return fmt.Errorf("%w: validate: %v", ErrCorrupt, e)
		}
		if pctx.PageCount < 1 {
			return fmt.Errorf("%w: no pages", ErrCorrupt)
		}
		if pctx.PageCount > opts.MaxPages {
			return fmt.Errorf("%w: %d pages", ErrTooManyPages, pctx.PageCount)
		}
		if e := api.OptimizeContext(pctx); e != nil {
			return fmt.Errorf("%w: optimize: %v", ErrCorrupt, e)
		}
		scans = make([]bool, pctx.PageCount)
		for i := range scans {
			scans[i] = isScanPage(pctx, i+1)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: watermark: %w", err)
	}
	all := true
	for _, s := range scans {
		all = all && s
	}
	if all {
		return burnPDF(ctx, pctx, text, &opts, out)
	}
	return stampPDF(ctx, pctx, text, out)
}

// cleanWatermarkText collapses white space, refuses control characters
// and lengths outside 1..MaxWatermarkText, and replaces what the
// Windows-1252 encoding of the PDF standard fonts cannot show: letters by
// their base letter (ő → o), the rest by "?".
func cleanWatermarkText(s string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	n := 0
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", fmt.Errorf("%w: control character", ErrWatermarkText)
		}
		n++
		if _, ok := charmap.Windows1252.EncodeRune(r); ok {
			b.WriteRune(r)
			continue
		}
		base := '?'
		switch r { // letters with a stroke do not decompose
		case 'Ł', 'Đ', 'Ħ':
			base = map[rune]rune{'Ł': 'L', 'Đ': 'D', 'Ħ': 'H'}[r]
		case 'ł', 'đ', 'ħ', 'ı':
			base = map[rune]rune{'ł': 'l', 'đ': 'd', 'ħ': 'h', 'ı': 'i'}[r]
		}
		for _, d := range norm.NFD.String(string(r)) {
			if _, ok := charmap.Windows1252.EncodeRune(d); ok && unicode.IsLetter(d) && base == '?' {
				base = d
				break
			}
		}
		b.WriteRune(base)
	}
	if n == 0 || n > MaxWatermarkText {
		return "", fmt.Errorf("%w: %d characters", ErrWatermarkText, n)
	}
	return b.String(), nil
}

// wmLines splits text into at most two lines, at the space nearest the
// middle, when it is longer than fits one line across the diagonal.
func wmLines(text string) []string {
	const oneLine = 55 // characters of 24 pt Helvetica Bold across an A4 diagonal, with margins
	if len([]rune(text)) <= oneLine {
		return []string{text}
	}
	mid := len(text) / 2
	best := -1
	for i := 0; i < len(text); i++ {
		if text[i] == ' ' && (best < 0 || abs(i-mid) < abs(best-mid)) {
			best = i
		}
	}
	if best < 0 {
		return []string{text}
	}
	return []string{text[:best], text[best+1:]}
}

// isScanPage reports a page that is one picture: no fonts, no forms, a
// single image at least 64 px on a side whose proportions are the page's
// within 5 %, no rotation.
func isScanPage(ctx *model.Context, nr int) bool {
	d, _, inh, err := ctx.PageDict(nr, false)
	if err != nil || d == nil {
		return false
	}
	if inh != nil && inh.Rotate%360 != 0 {
		return false
	}
	if r, ok := d["Rotate"]; ok {
		if n, err := ctx.DereferenceInteger(r); err != nil || n == nil || *n%360 != 0 {
			return false
		}
	}
	var res types.Dict
	if o, ok := d["Resources"]; ok {
		res, _ = ctx.DereferenceDict(o)
	} else if inh != nil {
		res = inh.Resources
	}
	if res == nil {
		return false
	}
	if f, ok := res["Font"]; ok {
		if fd, _ := ctx.DereferenceDict(f); len(fd) > 0 {
			return false
		}
	}
	xo, err := ctx.DereferenceDict(res["XObject"])
	if err != nil || len(xo) != 1 {
		return false
	}
	for _, o := range xo {
		sd, _, err := ctx.DereferenceStreamDict(o)
		if err != nil || sd == nil {
			return false
		}
		if st := sd.NameEntry("Subtype"); st == nil || *st != "Image" {
			return false
		}
		w, h := sd.IntEntry("Width"), sd.IntEntry("Height")
		if w == nil || h == nil || *w < 64 || *h < 64 {
			return false
		}
		dims, err := ctx.PageDims()
		if err != nil || len(dims) < nr || dims[nr-1].Width <= 0 {
			return false
		}
		pa := dims[nr-1].Height / dims[nr-1].Width
		ia := float64(*h) / float64(*w)
		return math.Abs(ia-pa)/pa <= 0.05
	}
	return false
}

// burnPDF decodes each page image, burns the text into it and writes a
// new image PDF, page by page.
func burnPDF(ctx context.Context, pctx *model.Context, text string, opts *Options, out io.Writer) (*WatermarkResult, error) {
	pw := newPDFStream(out)
	lines := wmLines(text)
	for nr := 1; nr <= pctx.PageCount; nr++ {
		var pi pdfImage
		err := bounded(ctx, nil, func() error {
			img, err := scanPageImage(pctx, nr, opts)
			if err != nil {
				return err
			}
			b := img.Bounds()
			_, _, _, _, iw, _ := pageBox(b.Dx(), b.Dy())
			img = burn(img, lines, float64(b.Dx())/iw)
			pi, err = encodeMarked(img)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("ingest: watermark: page %d: %w", nr, err)
		}
		if err := pw.page(pi); err != nil {
			return nil, fmt.Errorf("ingest: watermark: write: %w", err)
		}
	}
	n, err := pw.close()
	if err != nil {
		return nil, fmt.Errorf("ingest: watermark: write: %w", err)
	}
	return &WatermarkResult{Pages: pctx.PageCount, Burned: true, Bytes: n}, nil
}

// scanPageImage decodes the one image of a page, within the pixel limit.
func scanPageImage(pctx *model.Context, nr int, opts *Options) (image.Image, error) {
	imgs, err := pdfcpu.ExtractPageImages(pctx, nr, false)
	if err != nil {
		return nil, fmt.Errorf("%w: extract image: %v", ErrCorrupt, err)
	}
	for _, im := range imgs {
		if im.Reader == nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(im.Reader, opts.MaxBytes*8))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		mt, err := sniff(data[:min(len(data), SniffLen)])
		if err != nil || mt == PDF {
			return nil, fmt.Errorf("%w: page image of type %s", ErrCorrupt, im.FileType)
		}
		cfg, err := decodeConfig(mt, data)
		if err != nil {
			return nil, err
		}
		if err := checkPixels(cfg, opts.MaxPixels); err != nil {
			return nil, err
		}
		return decodeImage(mt, data)
	}
	return nil, fmt.Errorf("%w: page without image", ErrCorrupt)
}

// encodeMarked compresses a marked page: JPEG, grey or colour as the page.
func encodeMarked(img image.Image) (pdfImage, error) {
	data, err := encodeJPEGPage(img)
	if err != nil {
		return pdfImage{}, err
	}
	b := img.Bounds()
	_, gray := img.(*image.Gray)
	return pdfImage{data: data, w: b.Dx(), h: b.Dy(), gray: gray, bits: 8, filter: "DCTDecode"}, nil
}

// wmMask is the watermark text rendered once, as coverage, and the
// lattice it is repeated on.
type wmMask struct {
	a          *image.Alpha
	cos, sin   float64 // text direction, up and to the right
	period     float64 // along the text, between repeats
	stripe     float64 // across, between rows of text
	cx, cy     float64 // page centre
	halfW      float64
	halfH      float64
	maxOpacity float64
}

// newWMMask renders lines at wmPoints for a page of w×h pixels drawn at
// pxPerPt pixels per point, along the page's rising diagonal.
func newWMMask(lines []string, w, h int, pxPerPt float64) (*wmMask, error) {
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, err
	}
	size := wmPoints * pxPerPt
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: xfont.HintingNone})
	if err != nil {
		return nil, err
	}
	defer face.Close()
	m := face.Metrics()
	lineH := float64(m.Height.Ceil())
	var maxW float64
	for _, l := range lines {
		maxW = math.Max(maxW, float64(xfont.MeasureString(face, l).Ceil()))
	}
	bw, bh := int(maxW)+4, int(lineH*float64(len(lines)))+4
	a := image.NewAlpha(image.Rect(0, 0, bw, bh))
	d := &xfont.Drawer{Dst: a, Src: image.Opaque, Face: face}
	for i, l := range lines {
		lw := float64(xfont.MeasureString(face, l).Ceil())
		d.Dot = fixed.P(int((float64(bw)-lw)/2), 2+int(float64(i)*lineH)+m.Ascent.Ceil())
		d.DrawString(l)
	}
	ang := math.Atan2(float64(h), float64(w))
	return &wmMask{
		a: a, cos: math.Cos(ang), sin: math.Sin(ang),
		period: float64(bw) + 3*size, stripe: float64(bh) + 4*size,
		cx: float64(w) / 2, cy: float64(h) / 2,
		halfW: float64(bw) / 2, halfH: float64(bh) / 2,
		maxOpacity: wmOpacity,
	}, nil
}

// at returns the watermark's opacity (0..wmOpacity) at pixel centre
// (x, y): the page is cut into stripes along the diagonal, each carrying
// the text repeated, every other stripe shifted by half a period so that
// no column of the page escapes the text.
func (m *wmMask) at(x, y float64) float64 {
	dx, dy := x-m.cx, y-m.cy
	s := dx*m.cos - dy*m.sin // along the text (y points down)
	t := dx*m.sin + dy*m.cos // across
	j := math.Round(t / m.stripe)
	tl := t - j*m.stripe
	if tl < -m.halfH || tl >= m.halfH {
		return 0
	}
	off := 0.0
	if int(j)%2 != 0 {
		off = m.period / 2
	}
	sl := s - off - math.Round((s-off)/m.period)*m.period
	if sl < -m.halfW || sl >= m.halfW {
		return 0
	}
	u, v := sl+m.halfW-0.5, tl+m.halfH-0.5
	x0, y0 := int(math.Floor(u)), int(math.Floor(v))
	fx, fy := u-float64(x0), v-float64(y0)
	get := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= m.a.Rect.Dx() || y >= m.a.Rect.Dy() {
			return 0
		}
		return float64(m.a.Pix[y*m.a.Stride+x])
	}
	c := (get(x0, y0)*(1-fx)+get(x0+1, y0)*fx)*(1-fy) + (get(x0, y0+1)*(1-fx)+get(x0+1, y0+1)*fx)*fy
	return c / 255 * m.maxOpacity
}

// burn blends the watermark into img in place when it can (YCbCr, Gray,
// RGBA, NRGBA) and into a copy otherwise, and returns the marked image.
func burn(img image.Image, lines []string, pxPerPt float64) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	m, err := newWMMask(lines, w, h, pxPerPt)
	if err != nil {
		panic(err) // the embedded Go font always parses
	}
	mix := func(v uint8, a float64) uint8 { return uint8(float64(v) + a*(wmGrey-float64(v)) + 0.5) }
	switch p := img.(type) {
	case *image.YCbCr:
		sx, sy := chromaShift(p.SubsampleRatio)
		parallelRows(h, func(y0, y1 int) {
			for y := y0; y < y1; y++ {
				row := p.Y[(y)*p.YStride:]
				for x := 0; x < w; x++ {
					if a := m.at(float64(x)+0.5, float64(y)+0.5); a > 0 {
						row[x] = mix(row[x], a)
					}
				}
			}
		})
		cw, ch := (w+(1<<sx)-1)>>sx, (h+(1<<sy)-1)>>sy
		parallelRows(ch, func(y0, y1 int) {
			for y := y0; y < y1; y++ {
				for x := 0; x < cw; x++ {
					a := m.at((float64(x)+0.5)*float64(int(1)<<sx), (float64(y)+0.5)*float64(int(1)<<sy))
					if a > 0 {
						o := y*p.CStride + x
						p.Cb[o] = mix(p.Cb[o], a)
						p.Cr[o] = mix(p.Cr[o], a)
					}
				}
			}
		})
		return p
	case *image.Gray:
		parallelRows(h, func(y0, y1 int) {
			for y := y0; y < y1; y++ {
				row := p.Pix[y*p.Stride:]
				for x := 0; x < w; x++ {
					if a := m.at(float64(x)+0.5, float64(y)+0.5); a > 0 {
						row[x] = mix(row[x], a)
					}
				}
			}
		})
		return p
	}
	var pix []uint8
	var stride int
	var out image.Image
	switch p := img.(type) {
	case *image.RGBA:
		pix, stride, out = p.Pix, p.Stride, p
	case *image.NRGBA:
		pix, stride, out = flatten(p).Pix, p.Stride, p
	default:
		c := imaging.Clone(img) // CMYK, paletted: rare in a clean rendition
		flatten(c)
		pix, stride, out = c.Pix, c.Stride, c
	}
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := pix[y*stride:]
			for x := 0; x < w; x++ {
				if a := m.at(float64(x)+0.5, float64(y)+0.5); a > 0 {
					for c := 0; c < 3; c++ {
						row[4*x+c] = mix(row[4*x+c], a)
					}
				}
			}
		}
	})
	return out
}

// pdfStream writes an image PDF one page at a time, like writePDF, but
// without holding the pages: each page's objects are written as soon as
// the page is ready; the catalog and page tree (objects 1 and 2) go last.
type pdfStream struct {
	cw   *countWriter
	w    *bufio.Writer
	offs []int64 // by object number; 0 and 1, 2 filled at close
	kids []int
}

func newPDFStream(out io.Writer) *pdfStream {
	cw := &countWriter{w: out}
	p := &pdfStream{cw: cw, w: bufio.NewWriterSize(cw, 64<<10), offs: make([]int64, 3)}
	p.w.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	return p
}

func (p *pdfStream) pos() int64 { return p.cw.n + int64(p.w.Buffered()) }

func (p *pdfStream) obj(body string) int {
	n := len(p.offs)
	p.offs = append(p.offs, p.pos())
	fmt.Fprintf(p.w, "%d 0 obj\n%s\nendobj\n", n, body)
	return n
}

func (p *pdfStream) page(img pdfImage) error {
	im := len(p.offs)
	p.offs = append(p.offs, p.pos())
	cs := "/DeviceRGB"
	if img.gray {
		cs = "/DeviceGray"
	}
	fmt.Fprintf(p.w, "%d 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d /Filter /%s /Length %d >>\nstream\n",
		im, img.w, img.h, cs, img.bits, img.filter, len(img.data))
	p.w.Write(img.data)
	p.w.WriteString("\nendstream\nendobj\n")
	pw, ph, x, y, iw, ih := pageBox(img.w, img.h)
	content := fmt.Sprintf("q %.4f 0 0 %.4f %.4f %.4f cm /Im0 Do Q\n", iw, ih, x, y)
	ct := p.obj(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content))
	pg := p.obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>", pw, ph, im, ct))
	p.kids = append(p.kids, pg)
	// Flush the page: its image need not stay in the buffer.
	return p.w.Flush()
}

func (p *pdfStream) close() (int64, error) {
	p.offs[1] = p.pos()
	p.w.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	var kids strings.Builder
	for _, k := range p.kids {
		fmt.Fprintf(&kids, "%d 0 R ", k)
	}
	p.offs[2] = p.pos()
	fmt.Fprintf(p.w, "2 0 obj\n<< /Type /Pages /Kids [%s] /Count %d >>\nendobj\n", kids.String(), len(p.kids))
	xref := p.pos()
	fmt.Fprintf(p.w, "xref\n0 %d\n0000000000 65535 f \n", len(p.offs))
	for _, o := range p.offs[1:] {
		fmt.Fprintf(p.w, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(p.w, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(p.offs), xref)
	err := p.w.Flush()
	return p.cw.n, err
}

// stampPDF adds the text pattern over every page of a text PDF.
func stampPDF(ctx context.Context, pctx *model.Context, text string, out io.Writer) (*WatermarkResult, error) {
	lines := wmLines(text)
	const fontName = "Helvetica-Bold"
	var tw float64
	for _, l := range lines {
		w, err := font.TextWidthFloat(l, fontName, wmPoints)
		if err != nil {
			return nil, fmt.Errorf("ingest: watermark: measure text: %w", err)
		}
		tw = math.Max(tw, w)
	}
	bh := wmPoints * 1.2 * float64(len(lines))
	var buf bytes.Buffer
	err := bounded(ctx, nil, func() error {
		dims, err := pctx.PageDims()
		if err != nil || len(dims) != pctx.PageCount {
			return fmt.Errorf("%w: page sizes: %v", ErrCorrupt, err)
		}
		m := map[int][]*model.Watermark{}
		for nr := 1; nr <= pctx.PageCount; nr++ {
			pw, ph := dims[nr-1].Width, dims[nr-1].Height
			ang := math.Atan2(ph, pw)
			cos, sin := math.Cos(ang), math.Sin(ang)
			period, stripe := tw+3*wmPoints, bh+4*wmPoints
			reach := math.Hypot(pw, ph)/2 + tw
			for j := -int(reach/stripe) - 1; j <= int(reach/stripe)+1; j++ {
				off := 0.0
				if j%2 != 0 {
					off = period / 2
				}
				for i := -int(reach/period) - 1; i <= int(reach/period)+1; i++ {
					s, t := float64(i)*period+off, float64(j)*stripe
					// Page coordinates grow upwards: along the text is
					// (cos, sin), across (sin, -cos).
					dx, dy := s*cos+t*sin, s*sin-t*cos
					if math.Abs(dx) > pw/2+tw/2 || math.Abs(dy) > ph/2+tw/2 {
						continue
					}
					wm, err := pdfcpu.ParseTextWatermarkDetails(strings.Join(lines, "\n"), fmt.Sprintf(
						"fontname:%s, points:%d, scalefactor:1 abs, rotation:%.2f, opacity:%.2f, fillcolor:#%02x%02x%02x, position:c, offset:%.1f %.1f",
						fontName, int(wmPoints), ang*180/math.Pi, wmOpacity, wmGrey, wmGrey, wmGrey, dx, dy), true, types.POINTS)
					if err != nil {
						return fmt.Errorf("watermark: %v", err)
					}
					m[nr] = append(m[nr], wm)
				}
			}
		}
		if err := pdfcpu.AddWatermarksSliceMap(pctx, m); err != nil {
			return fmt.Errorf("%w: stamp: %v", ErrCorrupt, err)
		}
		if err := api.WriteContext(pctx, &buf); err != nil {
			return fmt.Errorf("%w: write: %v", ErrCorrupt, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: watermark: %w", err)
	}
	n, err := buf.WriteTo(out)
	if err != nil {
		return nil, fmt.Errorf("ingest: watermark: write: %w", err)
	}
	return &WatermarkResult{Pages: pctx.PageCount, Bytes: n}, nil
}
