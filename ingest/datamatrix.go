package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/disintegration/imaging"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	dmdecoder "github.com/makiuchi-d/gozxing/datamatrix/decoder"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// ErrNoDoc2D reports an image in which no 2D-Doc could be read: no
// DataMatrix, a DataMatrix too damaged or blurred to decode, or one that
// is not a 2D-Doc.
var ErrNoDoc2D = errors.New("no 2D-Doc found")

// CheckDoc2D looks for a 2D-Doc on a page image (a photo of a paper, or a
// page of a PDF rendered as an image), reads it and verifies it against
// the trust list. It returns ErrNoDoc2D when the page has no readable
// 2D-Doc; a code that is read but malformed gives a check with status
// Doc2DMalformed, not an error. now is passed to TrustList.Verify.
func CheckDoc2D(ctx context.Context, img image.Image, tl *TrustList, now time.Time) (*Doc2DCheck, error) {
	texts, err := ReadDoc2D(ctx, img)
	if err != nil {
		return nil, err
	}
	return checkDoc2DTexts(texts, tl, now), nil
}

// CheckDoc2DPDF looks for a 2D-Doc among the pictures of a PDF and
// verifies it, like CheckDoc2D. Public services that send papers as PDFs
// (tax notices, bills) draw the code as a picture, which is read as is;
// there is no PDF renderer here, so a code drawn with vector graphics is
// not found (ErrNoDoc2D). opts bounds the file (MaxBytes, MaxPages,
// MaxPixels per picture, Timeout for the whole search).
func CheckDoc2DPDF(ctx context.Context, pdf io.Reader, tl *TrustList, now time.Time, opts Options) (*Doc2DCheck, error) {
	opts = opts.withDefaults()
	b, err := readAll(pdf, opts.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("ingest: 2d-doc: %w", err)
	}
	if mt, err := sniff(b[:min(len(b), SniffLen)]); err != nil || mt != PDF {
		return nil, fmt.Errorf("ingest: 2d-doc: %w", ErrUnsupportedType)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	var texts []string
	err = bounded(ctx, nil, func() error {
		pctx, e := pdfcpu.ReadWithContext(ctx, bytes.NewReader(b), pdfConfig(&opts))
		if e != nil {
			return classifyPDFError(e)
		}
		if e := api.ValidateContext(pctx); e != nil {
			return fmt.Errorf("%w: validate: %v", ErrCorrupt, e)
		}
		if pctx.PageCount > opts.MaxPages {
			return fmt.Errorf("%w: %d pages", ErrTooManyPages, pctx.PageCount)
		}
		if e := api.OptimizeContext(pctx); e != nil {
			return fmt.Errorf("%w: optimize: %v", ErrCorrupt, e)
		}
		for nr := 1; nr <= pctx.PageCount && ctx.Err() == nil; nr++ {
			imgs, e := pdfcpu.ExtractPageImages(pctx, nr, false)
			if e != nil {
				continue // a picture pdfcpu cannot render is no 2D-Doc
			}
			for _, im := range imgs {
				m := pdfPicture(im, &opts)
				if m == nil {
					continue
				}
				texts = append(texts, findDataMatrix(ctx, m, isDoc2DText)...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: 2d-doc: %w", err)
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("ingest: 2d-doc: %w", ErrNoDoc2D)
	}
	return checkDoc2DTexts(texts, tl, now), nil
}

// pdfPicture decodes a picture extracted from a PDF, or returns nil for
// pictures too small to hold a code, too large, or undecodable. Stencil
// masks come out light on dark and are inverted.
func pdfPicture(im model.Image, opts *Options) image.Image {
	if im.Reader == nil {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(im.Reader, opts.MaxBytes))
	if err != nil {
		return nil
	}
	mt, err := sniff(data[:min(len(data), SniffLen)])
	if err != nil || mt == PDF {
		return nil
	}
	cfg, err := decodeConfig(mt, data)
	if err != nil || cfg.Width < 20 || cfg.Height < 20 || checkPixels(cfg, opts.MaxPixels) != nil {
		return nil
	}
	m, err := decodeImage(mt, data)
	if err != nil {
		return nil
	}
	if im.IsImgMask {
		g := imaging.Invert(m)
		return g
	}
	return m
}

func isDoc2DText(s string) bool { return strings.HasPrefix(s, "DC") }

// checkDoc2DTexts verifies the codes read from one paper. A paper can
// carry several codes (2D-Doc "multi-codes"); the first one that verifies
// wins, otherwise the most telling failure is kept.
func checkDoc2DTexts(texts []string, tl *TrustList, now time.Time) *Doc2DCheck {
	var best *Doc2DCheck
	for _, t := range texts {
		var c *Doc2DCheck
		d, err := ParseDoc2D(t)
		if err != nil {
			c = &Doc2DCheck{Status: Doc2DMalformed, Reason: err.Error()}
		} else {
			c = tl.Verify(d, now)
		}
		if c.Status == Doc2DValid {
			return c
		}
		if best == nil || rankCheck(c.Status) > rankCheck(best.Status) {
			best = c
		}
	}
	return best
}

func rankCheck(s Doc2DStatus) int {
	switch s {
	case Doc2DInvalidSignature:
		return 4
	case Doc2DExpiredCertificate:
		return 3
	case Doc2DUnknownCertificate:
		return 2
	}
	return 1
}

// ReadDoc2D finds the DataMatrix codes on a page image and returns the
// text of each one that starts like a 2D-Doc ("DC"), in reading order of
// discovery, without duplicates. It does not parse or verify them.
//
// A DataMatrix reader (github.com/makiuchi-d/gozxing, a port of ZXing)
// decodes a code once it is centred in a clean image; finding the code on
// a page full of text is done here: dark-light texture is measured in
// small cells, cells textured like a matrix (dense in both directions,
// about half dark) are grouped, and compact square groups are cut out of
// the full-resolution image through their own perspective, surrounded
// with white, and handed to the reader. Two scales cover codes from three
// pixels per module (a phone photo of a whole page) to close-ups. When
// blur defeats the reader's own detector, the crop is sharpened, then the
// module grid is sampled here (see gridDecode) and only the reader's
// Reed-Solomon decoder is used.
func ReadDoc2D(ctx context.Context, img image.Image) ([]string, error) {
	if img == nil || img.Bounds().Empty() {
		return nil, fmt.Errorf("ingest: 2d-doc: %w: empty image", ErrNoDoc2D)
	}
	var texts []string
	err := bounded(ctx, nil, func() error {
		texts = findDataMatrix(ctx, img, isDoc2DText)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: 2d-doc: %w", err)
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("ingest: 2d-doc: %w", ErrNoDoc2D)
	}
	return texts, nil
}

// Limits of the search: how many candidate regions are tried per scale,
// and the working resolutions (long side, pixels).
const (
	dmMaxCandidates = 8
	dmFineLong      = 2400
	dmCell          = 6 // pixels per texture cell at the working scale
)

// findDataMatrix returns the distinct decoded texts accepted by keep.
func findDataMatrix(ctx context.Context, img image.Image, keep func(string) bool) []string {
	var out []string
	add := func(s string) bool {
		if !keep(s) {
			return false
		}
		for _, o := range out {
			if o == s {
				return true
			}
		}
		out = append(out, s)
		return true
	}
	src := newLumaSampler(img)
	b := img.Bounds()
	long := max(b.Dx(), b.Dy())

	// A close-up or a crop: the reader finds a code that dominates the
	// picture by itself.
	if s, ok := decodeRegion(src, quad{{0, 0}, {float64(b.Dx()), 0}, {float64(b.Dx()), float64(b.Dy())}, {0, float64(b.Dy())}}, 0); ok {
		add(s)
	}
	f := max(1, (long+dmFineLong-1)/dmFineLong)
	for _, scale := range []int{f, 3 * f} {
		if ctx.Err() != nil || long/scale < 64 {
			break
		}
		for _, q := range dmCandidates(downsample(img, scale)) {
			if ctx.Err() != nil {
				break
			}
			for i := range q {
				q[i].X *= float64(scale)
				q[i].Y *= float64(scale)
			}
			if s, ok := decodeRegion(src, q, 0.12); ok {
				add(s)
			}
		}
		if len(out) > 0 {
			break
		}
	}
	return out
}

// dmCandidates returns quadrilaterals (in m's pixels) around regions that
// look like a DataMatrix, most convincing first.
func dmCandidates(m *image.NRGBA) []quad {
	p := luma(m)
	w, h := p.w, p.h
	mean := p.boxBlur(8)
	dark := make([]bool, w*h)
	for i, v := range p.p {
		dark[i] = v < mean.p[i]-12
	}
	cw, ch := w/dmCell, h/dmCell
	if cw < 4 || ch < 4 {
		return nil
	}
	code := make([]bool, cw*ch)
	for cy := 0; cy < ch; cy++ {
		for cx := 0; cx < cw; cx++ {
			var n, ht, vt int
			for y := cy * dmCell; y < (cy+1)*dmCell; y++ {
				for x := cx * dmCell; x < (cx+1)*dmCell; x++ {
					d := dark[y*w+x]
					if d {
						n++
					}
					if x+1 < w && dark[y*w+x+1] != d {
						ht++
					}
					if y+1 < h && dark[(y+1)*w+x] != d {
						vt++
					}
				}
			}
			frac := float64(n) / (dmCell * dmCell)
			code[cy*cw+cx] = frac > 0.2 && frac < 0.85 && ht >= 3 && vt >= 3
		}
	}
	// Close small gaps (runs of dark or light modules wider than a cell).
	closed := morph(morph(code, cw, ch, 1, true), cw, ch, 1, false)

	type cand struct {
		q     quad
		score float64
	}
	var cands []cand
	label := make([]int32, cw*ch)
	var stack []int
	next := int32(0)
	for i := range closed {
		if !closed[i] || label[i] != 0 {
			continue
		}
		next++
		label[i] = next
		stack = append(stack[:0], i)
		var pts []point
		n, raw := 0, 0
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			if code[j] {
				raw++
			}
			x, y := j%cw, j/cw
			pts = append(pts, point{float64(x), float64(y)}, point{float64(x + 1), float64(y)},
				point{float64(x), float64(y + 1)}, point{float64(x + 1), float64(y + 1)})
			for _, k := range [4][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
				xx, yy := x+k[0], y+k[1]
				if xx < 0 || yy < 0 || xx >= cw || yy >= ch {
					continue
				}
				if nj := yy*cw + xx; closed[nj] && label[nj] == 0 {
					label[nj] = next
					stack = append(stack, nj)
				}
			}
		}
		// A code is at least 10 modules across, so at least ~4 cells; a
		// region above a third of the page is a picture, not a code.
		if n < 12 || n > cw*ch/9 {
			continue
		}
		sort.Slice(pts, func(a, b int) bool {
			if pts[a].X != pts[b].X {
				return pts[a].X < pts[b].X
			}
			return pts[a].Y < pts[b].Y
		})
		hull := convexHull(pts)
		area := math.Abs(polyArea(hull))
		if area <= 0 {
			continue
		}
		q, ok := maxAreaQuad(hull)
		if !ok {
			continue
		}
		q = orderQuad(q)
		s1 := (dist(q[0], q[1]) + dist(q[3], q[2])) / 2
		s2 := (dist(q[0], q[3]) + dist(q[1], q[2])) / 2
		aspect := max(s1, s2) / max(min(s1, s2), 1e-9)
		fill := float64(n) / area
		if aspect > 1.8 || fill < 0.6 {
			continue // text lines and paragraphs: long, or full of gaps
		}
		for i := range q {
			q[i].X *= dmCell
			q[i].Y *= dmCell
		}
		cands = append(cands, cand{q, float64(raw) / float64(n) * fill / aspect})
	}
	sort.Slice(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	out := make([]quad, 0, min(len(cands), dmMaxCandidates))
	for i := 0; i < len(cands) && i < dmMaxCandidates; i++ {
		out = append(out, cands[i].q)
	}
	return out
}

// decodeRegion resamples the quadrilateral q of the source, grown by
// grow (a share of its size, plus a little) on every side, into an
// upright square framed in white, and asks the reader for a DataMatrix.
// grow = 0 takes q as it is (the whole image).
func decodeRegion(src lumaSampler, q quad, grow float64) (string, bool) {
	c := point{(q[0].X + q[1].X + q[2].X + q[3].X) / 4, (q[0].Y + q[1].Y + q[2].Y + q[3].Y) / 4}
	side := (dist(q[0], q[1]) + dist(q[1], q[2]) + dist(q[2], q[3]) + dist(q[3], q[0])) / 4
	if grow > 0 {
		for i := range q {
			d := dist(q[i], c)
			if d == 0 {
				return "", false
			}
			k := (d*(1+grow) + 2*dmCell) / d
			q[i] = point{c.X + (q[i].X-c.X)*k, c.Y + (q[i].Y-c.Y)*k}
		}
		side *= 1 + grow
	}
	// Enough pixels per module for blurred photos, few enough to stay
	// cheap: 144 modules is the largest square DataMatrix.
	out := int(math.Min(math.Max(side, 360), 900))
	if grow == 0 {
		// The whole image: keep its proportions, at most 1000 px.
		return decodeWhole(src, q, 1000)
	}
	margin := out / 10
	S := out + 2*margin
	dst := [4]point{{float64(margin), float64(margin)}, {float64(margin + out), float64(margin)},
		{float64(margin + out), float64(margin + out)}, {float64(margin), float64(margin + out)}}
	hm, ok := homography(dst, q)
	if !ok {
		return "", false
	}
	g := image.NewGray(image.Rect(0, 0, S, S))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	for y := margin; y < margin+out; y++ {
		for x := margin; x < margin+out; x++ {
			p := hm.apply(point{float64(x) + 0.5, float64(y) + 0.5})
			g.Pix[y*g.Stride+x] = src.sample(p.X, p.Y)
		}
	}
	if s, ok := decodeGray(g); ok {
		return s, true
	}
	// Blur from the camera merges neighbouring modules: sharpen at about
	// the module scale and try again, then sample the grid ourselves.
	r := max(1, out/150)
	for _, v := range [][2]float32{{float32(r), 3}, {float32(r + 1), 3}, {float32(r), 6}} {
		if s, ok := decodeGray(unsharp(g, int(v[0]), v[1])); ok {
			return s, true
		}
	}
	if s, ok := gridDecode(g); ok {
		return s, true
	}
	return gridDecode(unsharp(g, r, 3))
}

// unsharp adds amount times the detail lost to a blur of radius r (two
// box passes, close to a Gaussian).
func unsharp(g *image.Gray, r int, amount float32) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	p := newPlane(w, h)
	for i, v := range g.Pix {
		p.p[i] = float32(v)
	}
	b := p.boxBlur(r).boxBlur(r)
	out := image.NewGray(g.Rect)
	for i := range p.p {
		out.Pix[i] = uint8(min(255, max(0, p.p[i]+amount*(p.p[i]-b.p[i]))))
	}
	return out
}

// decodeWhole hands the whole image to the reader, scaled so that its
// long side is between 400 and maxLong pixels, in a white frame: a
// picture of a code cut from a PDF has no quiet zone of its own.
func decodeWhole(src lumaSampler, q quad, maxLong int) (string, bool) {
	w, h := q[2].X, q[2].Y
	long := math.Max(w, h)
	s := math.Min(1, float64(maxLong)/long)
	if long < 400 {
		s = 400 / long
	}
	W, H := max(1, int(w*s)), max(1, int(h*s))
	m := max(W, H) / 10
	g := image.NewGray(image.Rect(0, 0, W+2*m, H+2*m))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			g.Pix[(y+m)*g.Stride+x+m] = src.sample((float64(x)+0.5)/s, (float64(y)+0.5)/s)
		}
	}
	return decodeGray(g)
}

// decodeGray runs the reader with its two binarizers: the local one
// copes with uneven light, the global one with blur.
func decodeGray(g *image.Gray) (text string, ok bool) {
	_ = guard(func() error {
		ls := gozxing.NewLuminanceSourceFromImage(g)
		r := datamatrix.NewDataMatrixReader()
		hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
		for _, bin := range []gozxing.Binarizer{gozxing.NewHybridBinarizer(ls), gozxing.NewGlobalHistgramBinarizer(ls)} {
			bmp, err := gozxing.NewBinaryBitmap(bin)
			if err != nil {
				continue
			}
			res, err := r.Decode(bmp, hints)
			if err == nil {
				text, ok = res.GetText(), true
				return nil
			}
		}
		return nil
	})
	return text, ok
}

// lumaSampler reads the luma of the source image with bilinear
// interpolation, without converting the whole (possibly 12 MP) image.
type lumaSampler struct {
	w, h int
	at   func(x, y int) float64
}

func newLumaSampler(img image.Image) lumaSampler {
	b := img.Bounds()
	ls := lumaSampler{w: b.Dx(), h: b.Dy()}
	switch m := img.(type) {
	case *image.YCbCr:
		ls.at = func(x, y int) float64 { return float64(m.Y[m.YOffset(b.Min.X+x, b.Min.Y+y)]) }
	case *image.Gray:
		ls.at = func(x, y int) float64 { return float64(m.Pix[m.PixOffset(b.Min.X+x, b.Min.Y+y)]) }
	case *image.RGBA:
		ls.at = func(x, y int) float64 {
			o := m.PixOffset(b.Min.X+x, b.Min.Y+y)
			return 0.299*float64(m.Pix[o]) + 0.587*float64(m.Pix[o+1]) + 0.114*float64(m.Pix[o+2])
		}
	case *image.NRGBA:
		ls.at = func(x, y int) float64 {
			o := m.PixOffset(b.Min.X+x, b.Min.Y+y)
			a := float64(m.Pix[o+3]) / 255
			l := 0.299*float64(m.Pix[o]) + 0.587*float64(m.Pix[o+1]) + 0.114*float64(m.Pix[o+2])
			return l*a + 255*(1-a) // transparent is paper
		}
	default:
		ls.at = func(x, y int) float64 {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			return l + 255*(1-float64(a)/65535)
		}
	}
	return ls
}

// sample returns the bilinear luma at continuous coordinates; outside the
// image it is white, like the paper around a code.
func (s lumaSampler) sample(x, y float64) uint8 {
	x -= 0.5
	y -= 0.5
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	if x0 < 0 || y0 < 0 || x0+1 >= s.w || y0+1 >= s.h {
		if x0 < -1 || y0 < -1 || x0 >= s.w || y0 >= s.h {
			return 255
		}
		cx, cy := min(max(x0, 0), s.w-1), min(max(y0, 0), s.h-1)
		return uint8(s.at(cx, cy))
	}
	fx, fy := x-float64(x0), y-float64(y0)
	v := (s.at(x0, y0)*(1-fx)+s.at(x0+1, y0)*fx)*(1-fy) + (s.at(x0, y0+1)*(1-fx)+s.at(x0+1, y0+1)*fx)*fy
	return uint8(math.Min(255, math.Max(0, v+0.5)))
}

// Square ECC 200 symbol sizes, in modules.
var dmSizes = [...]int{10, 12, 14, 16, 18, 20, 22, 24, 26, 32, 36, 40, 44, 48, 52, 64, 72, 80, 88, 96, 104, 120, 132, 144} //nolint:gochecknoglobals // a constant table

// gridDecode is the fallback for blurred codes, where the reader's own
// detector loses count of the alternating border modules. It takes the
// outline of the dark blob in the middle of g as the symbol's outline,
// and for every square symbol size samples the module centres through
// that outline, keeping the sizes and rotations whose border shows the
// DataMatrix finder (solid left and bottom edges, alternating top and
// right edges); those are handed to the reader's decoder, whose
// Reed-Solomon check rejects wrong guesses.
func gridDecode(g *image.Gray) (string, bool) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	var hist [256]float64
	for _, v := range g.Pix {
		hist[v]++
	}
	t := uint8(otsu(hist[:]))
	dark := make([]bool, w*h)
	for i, v := range g.Pix {
		dark[i] = v < t
	}
	// Join the modules of the code into blobs (gaps inside a code are a
	// few modules wide at most) and keep the big ones: specks of dirt or
	// of neighbouring print would bend the outline.
	r := max(2, w/120)
	blob := bigComponents(morph(morph(dark, w, h, r, true), w, h, r, false), w, h)
	if blob == nil {
		return "", false
	}
	var pts []point
	for y := 0; y < h; y++ {
		first := true
		for x := 0; x < w; x++ {
			i := y*w + x
			if !blob[i] || !dark[i] {
				continue
			}
			if first {
				first = false
				pts = append(pts, point{float64(x), float64(y)}, point{float64(x), float64(y + 1)})
			}
			if x+1 == w || !(blob[i+1] && dark[i+1]) {
				pts = append(pts, point{float64(x + 1), float64(y)}, point{float64(x + 1), float64(y + 1)})
			}
		}
	}
	sort.Slice(pts, func(a, b int) bool {
		if pts[a].X != pts[b].X {
			return pts[a].X < pts[b].X
		}
		return pts[a].Y < pts[b].Y
	})
	hull := convexHull(pts)
	// Blur rounds the symbol's corners: the quadrilateral whose sides lie
	// on the hull's long edges finds them where the edges meet.
	q0, ok := enclosingQuad(hull)
	if !ok {
		if q0, ok = maxAreaQuad(hull); !ok {
			return "", false
		}
	}
	q0 = orderQuad(q0)
	// The corner opposite the finder is light, so the hull cuts it: also
	// try each corner completed as a parallelogram from the other three.
	quads := []quad{q0}
	for i := 0; i < 4; i++ {
		q := q0
		a, b, c := q0[(i+1)%4], q0[(i+2)%4], q0[(i+3)%4]
		q[i] = point{a.X + c.X - b.X, a.Y + c.Y - b.Y}
		quads = append(quads, q)
	}
	type guess struct {
		bits  [][]bool
		score float64
	}
	var guesses []guess
	keep := func(m [][]bool) {
		for rot := 0; rot < 4; rot++ {
			if s := finderScore(m); s >= 0.65 {
				guesses = append(guesses, guess{clone2(m), s})
			}
			m = rotate90(m)
		}
	}
	unit := [4]point{{0, 0}, {1, 0}, {1, 1}, {0, 1}}
	side := (dist(q0[0], q0[1]) + dist(q0[1], q0[2]) + dist(q0[2], q0[3]) + dist(q0[3], q0[0])) / 4
	for _, q := range quads {
		hm, ok := homography(unit, q) // unit square → image
		if !ok {
			continue
		}
		for _, n := range dmSizes {
			if side/float64(n) < 2 {
				break
			}
			// The outline is blurred too: also try the grid half a
			// module tighter and looser.
			for _, e := range []float64{0, -0.5, 0.5} {
				k := 1 + e/float64(n)
				v := make([][]float64, n)
				for y := range v {
					v[y] = make([]float64, n)
					for x := range v[y] {
						u := point{0.5 + ((float64(x)+0.5)/float64(n)-0.5)*k, 0.5 + ((float64(y)+0.5)/float64(n)-0.5)*k}
						p := hm.apply(u)
						xi, yi := int(p.X), int(p.Y)
						if xi < 1 || yi < 1 || xi >= w-1 || yi >= h-1 {
							v[y][x] = 255
							continue
						}
						sum := 0
						for dy := -1; dy <= 1; dy++ {
							o := (yi+dy)*g.Stride + xi
							sum += int(g.Pix[o-1]) + int(g.Pix[o]) + int(g.Pix[o+1])
						}
						v[y][x] = float64(sum) / 9
					}
				}
				// Thresholds: Otsu over the module values, as read and
				// with each module's difference from its neighbours
				// amplified, which undoes some of the blur.
				keep(threshold(v))
				keep(threshold(sharpenModules(v, 0.7)))
			}
		}
	}
	sort.Slice(guesses, func(a, b int) bool { return guesses[a].score > guesses[b].score })
	dec := dmdecoder.NewDecoder()
	for i, gs := range guesses {
		if i == 32 {
			break
		}
		var text string
		err := guard(func() error {
			res, err := dec.DecodeBoolMap(gs.bits)
			if err == nil {
				text = res.GetText()
			}
			return err
		})
		if err == nil {
			return text, true
		}
	}
	return "", false
}

// finderScore is the share of border modules that match an ECC 200
// finder: left column and bottom row dark, top row dark on even columns,
// right column dark on odd rows.
func finderScore(m [][]bool) float64 {
	n := len(m)
	ok := 0
	for i := 0; i < n; i++ {
		if m[i][0] {
			ok++
		}
		if m[n-1][i] {
			ok++
		}
		if m[0][i] == (i%2 == 0) {
			ok++
		}
		if m[i][n-1] == (i%2 == 1) {
			ok++
		}
	}
	return float64(ok) / float64(4*n)
}

func rotate90(m [][]bool) [][]bool {
	n := len(m)
	out := make([][]bool, n)
	for y := range out {
		out[y] = make([]bool, n)
		for x := range out[y] {
			out[y][x] = m[n-1-x][y]
		}
	}
	return out
}

func clone2(m [][]bool) [][]bool {
	out := make([][]bool, len(m))
	for i := range m {
		out[i] = append([]bool(nil), m[i]...)
	}
	return out
}

// bigComponents keeps the 8-connected components of mask that have at
// least a tenth of the largest one's pixels; nil when the largest is
// below 2 % of the image.
func bigComponents(mask []bool, w, h int) []bool {
	label := make([]int32, w*h)
	var sizes []int
	var stack []int
	for i := range mask {
		if !mask[i] || label[i] != 0 {
			continue
		}
		sizes = append(sizes, 0)
		id := int32(len(sizes))
		label[i] = id
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			sizes[id-1]++
			x, y := j%w, j/w
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						continue
					}
					if k := yy*w + xx; mask[k] && label[k] == 0 {
						label[k] = id
						stack = append(stack, k)
					}
				}
			}
		}
	}
	big := 0
	for _, n := range sizes {
		big = max(big, n)
	}
	if big < w*h/50 {
		return nil
	}
	out := make([]bool, w*h)
	for i, l := range label {
		out[i] = l > 0 && sizes[l-1] >= big/10
	}
	return out
}

// threshold splits module values at their Otsu threshold (dark: true).
func threshold(v [][]float64) [][]bool {
	var hist [256]float64
	for _, row := range v {
		for _, x := range row {
			hist[int(math.Min(255, math.Max(0, x)))]++
		}
	}
	t := float64(otsu(hist[:]))
	m := make([][]bool, len(v))
	for y, row := range v {
		m[y] = make([]bool, len(row))
		for x, val := range row {
			m[y][x] = val < t
		}
	}
	return m
}

// sharpenModules adds k times each module's difference from the mean of
// its four neighbours.
func sharpenModules(v [][]float64, k float64) [][]float64 {
	n := len(v)
	out := make([][]float64, n)
	for y := range v {
		out[y] = make([]float64, n)
		for x := range v[y] {
			var s float64
			var c int
			for _, d := range [4][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
				xx, yy := x+d[0], y+d[1]
				if xx >= 0 && yy >= 0 && xx < n && yy < n {
					s += v[yy][xx]
					c++
				}
			}
			out[y][x] = v[y][x] + k*(v[y][x]-s/float64(c))
		}
	}
	return out
}
