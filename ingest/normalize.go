package ingest

import (
	"bytes"
	"compress/zlib"
	"context"
	"image"
	"math"
	"time"

	"github.com/disintegration/imaging"
)

// Output raster for an A4 page at 200 dpi: enough for 8-point print and
// stamps, and about the resolution téléservices ask for.
const (
	a4PxW = 1654
	a4PxH = 2339
	// detectLong is the long side of the copy on which the sheet is looked
	// for: big enough to place edges within 1/640 of the frame before
	// sub-pixel refinement, small enough to cost a few milliseconds.
	detectLong = 640
	// a4Tolerance: a detected sheet whose side ratio is within 12 % of √2 is
	// taken to be A4 (or US Letter, 8 % off) and stretched to exactly A4,
	// which also undoes the foreshortening a perspective estimate leaves.
	a4Tolerance = 0.12
)

// JPEG qualities, best first, with the size of a page at that quality
// relative to quality 80 (measured on generated pages; the ratios vary by a
// few percent between pages). 85 keeps small print crisp; 60 is the floor
// below which ringing around letters hurts legibility.
type jpegQuality struct {
	q     int
	ratio float64
}

func jpegQualities() []jpegQuality {
	return []jpegQuality{{85, 1.12}, {80, 1}, {75, 0.92}, {70, 0.86}, {65, 0.81}, {60, 0.77}}
}

// maxPageBytes bounds a colour page; téléservices commonly cap uploads at
// a few MB per document, and a 10-page document must fit.
const maxPageBytes = 400 << 10

// StageTimes is the wall-clock time spent in each stage, summed over pages:
// decoding (PDF reading and rewriting included), sheet detection and
// quality measures, the perspective warp, enhancement (text orientation
// included), and encoding (JPEG pages and thumbnail). It exists for
// benchmarks and monitoring; it is not part of the result's meaning.
type StageTimes struct {
	Decode, Detect, Warp, Enhance, Encode time.Duration
}

// page is one rendered output page.
type page struct {
	img      image.Image // *image.RGBA, or *image.Gray in scan mode
	pdf      pdfImage
	info     PageInfo
	warnings []Warning
}

// photoPage normalises one decoded photo or scan. orient is the EXIF
// orientation; detect asks for sheet detection (photos) rather than keeping
// the whole frame (scans).
func photoPage(ctx context.Context, src image.Image, orient int, detect bool, opts *Options, idx int, st *StageTimes) (*page, error) {
	t0 := time.Now()
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	W, H := orientedSize(orient, sw, sh)
	O := orientMatrix(orient, sw, sh)

	f := max(1, (max(sw, sh)+detectLong-1)/detectLong)
	small := downsample(src, f)
	small = orientSmall(small, orient)
	smW, smH := small.Rect.Dx(), small.Rect.Dy()
	kx, ky := float64(W)/float64(smW), float64(H)/float64(smH)

	pg := &page{info: PageInfo{SourceWidth: W, SourceHeight: H}}
	var det detection
	if detect && !opts.NoCrop {
		det = findSheet(small)
	}

	var M mat3 // output → oriented source
	var ow, oh int
	var mask []bool
	var shortSide float64
	if det.found {
		var q quad
		for i, p := range det.quad {
			q[i] = point{p.X * kx, p.Y * ky}
		}
		wpx := (dist(q[0], q[1]) + dist(q[3], q[2])) / 2
		hpx := (dist(q[0], q[3]) + dist(q[1], q[2])) / 2
		ow, oh = outputSize(wpx, hpx)
		dst := [4]point{{0, 0}, {float64(ow), 0}, {float64(ow), float64(oh)}, {0, float64(oh)}}
		hm, ok := homography(dst, q)
		if !ok {
			det.found = false
		} else {
			M = hm
			pg.info.Cropped = true
			for i, p := range q {
				pg.info.Corners[i] = [2]float64{p.X, p.Y}
			}
			mask = fillQuad(det.quad, smW, smH)
			shortSide = min(wpx, hpx)
		}
	}
	if !det.found {
		angle := 0.0
		if !opts.NoDeskew {
			if a, ok := skewAngle(luma(small)); ok {
				angle = a
			}
		}
		s := math.Min(1, math.Min(float64(a4PxH)/float64(max(W, H)), float64(a4PxW)/float64(min(W, H))))
		ow, oh = max(1, int(math.Round(float64(W)*s))), max(1, int(math.Round(float64(H)*s)))
		c := point{float64(W) / 2, float64(H) / 2}
		M = rotateAbout(angle, c).mul(mat3{1 / s, 0, 0, 0, 1 / s, 0, 0, 0, 1})
		pg.info.Deskew = angle * 180 / math.Pi
		shortSide = float64(min(W, H))
		if detect && !opts.NoCrop && det.borderTouch < 0.5 {
			pg.warnings = append(pg.warnings, newWarning(idx, WarnNoSheet, det.confidence, 0.9))
		}
	}
	p90, clipped := sheetStats(small, mask)
	// Blur is judged on a window at the centre of the sheet (or photo).
	centre := M.apply(point{float64(ow) / 2, float64(oh) / 2})
	win := int(math.Max(256, math.Min(768, 0.6*shortSide)))
	sharp := sharpness(sourceWindow(src, O.apply(centre), win))
	sharp *= math.Max(1, shortSide/float64(min(ow, oh)))
	st.Detect += time.Since(t0)
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}

	t1 := time.Now()
	out := warp(src, O.mul(M), ow, oh)
	st.Warp += time.Since(t1)
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}

	t2 := time.Now()
	// Text orientation needs letters at least ~9 px tall: pages rendered
	// from small photos are examined at full size, large ones halved. Small
	// or large by the short side: a sideways page is wide, and halving it by
	// its width left letters too small to tell top from bottom, so that
	// 49 of 100 real photos taken sideways were turned upside down.
	var grey *plane
	if min(ow, oh) < 1200 {
		grey = greyFull(out)
	} else {
		grey = greyHalf(out)
	}
	if !opts.NoRotate {
		k, ost := textOrientation(grey)
		pg.info.orient = ost
		if k != 0 {
			out = turn(out, k)
			pg.info.QuarterTurns = k
		}
	}
	var final image.Image = out
	switch opts.Mode {
	case ModeColor:
		enhance(out)
	case ModeScan:
		enhance(out)
		final = binarize(out)
	}
	st.Enhance += time.Since(t2)

	// Quality warnings, in the order a person should fix them.
	if detect && det.borderTouch > cutOffThreshold {
		pg.warnings = append(pg.warnings, newWarning(idx, WarnCutOff, det.borderTouch, cutOffThreshold))
	}
	if !math.IsNaN(sharp) && sharp < blurThreshold {
		pg.warnings = append(pg.warnings, newWarning(idx, WarnBlurry, sharp, blurThreshold))
	}
	if p90 < darkThreshold {
		pg.warnings = append(pg.warnings, newWarning(idx, WarnDark, p90, darkThreshold))
	}
	if clipped > glareThreshold {
		pg.warnings = append(pg.warnings, newWarning(idx, WarnGlare, clipped, glareThreshold))
	}
	if shortSide < lowResThreshold {
		pg.warnings = append(pg.warnings, newWarning(idx, WarnLowRes, shortSide, lowResThreshold))
	}
	pg.info.Sharpness = sharp
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}

	t3 := time.Now()
	if err := encodePage(pg, final); err != nil {
		return nil, err
	}
	st.Encode += time.Since(t3)
	return pg, nil
}

// outputSize picks the output raster for a sheet measured wpx×hpx source
// pixels: A4 at 200 dpi for A4-like sheets, otherwise the sheet's own shape
// fitted into that box. It never enlarges beyond the source resolution.
func outputSize(wpx, hpx float64) (int, int) {
	long, short := math.Max(wpx, hpx), math.Min(wpx, hpx)
	landscape := wpx > hpx
	var ol, os float64
	if math.Abs(long/short-math.Sqrt2)/math.Sqrt2 < a4Tolerance {
		ol = math.Min(a4PxH, long)
		os = ol / math.Sqrt2
	} else {
		s := math.Min(1, math.Min(a4PxH/long, a4PxW/short))
		ol, os = long*s, short*s
	}
	w, h := int(math.Round(os)), int(math.Round(ol))
	if landscape {
		w, h = h, w
	}
	return max(w, 1), max(h, 1)
}

// orientSmall applies an EXIF orientation to the small detection copy.
func orientSmall(m *image.NRGBA, o int) *image.NRGBA {
	switch o {
	case 2:
		return imaging.FlipH(m)
	case 3:
		return imaging.Rotate180(m)
	case 4:
		return imaging.FlipV(m)
	case 5:
		return imaging.Transpose(m)
	case 6:
		return imaging.Rotate270(m) // imaging rotates counter-clockwise
	case 7:
		return imaging.Transverse(m)
	case 8:
		return imaging.Rotate90(m)
	}
	return m
}

// fillQuad rasterises a quad into a mask of the small image.
func fillQuad(q quad, w, h int) []bool {
	m := make([]bool, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := point{float64(x) + 0.5, float64(y) + 0.5}
			in := true
			for i := 0; i < 4 && in; i++ {
				in = cross(q[i], q[(i+1)%4], p) >= 0
			}
			m[y*w+x] = in
		}
	}
	return m
}

// encodePage compresses a rendition for the PDF: JPEG for colour, stepping
// the quality down until the page fits maxPageBytes; 1-bit Flate for black
// and white, which is both smaller and sharper than JPEG on text.
func encodePage(pg *page, img image.Image) error {
	pg.img = img
	switch m := img.(type) {
	case *image.Gray:
		w, h := m.Rect.Dx(), m.Rect.Dy()
		stride := (w + 7) / 8
		bits := make([]byte, stride*h)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				if row[x] >= 128 {
					bits[y*stride+x/8] |= 0x80 >> (x % 8)
				}
			}
		}
		var buf bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
		if _, err := zw.Write(bits); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		pg.pdf = pdfImage{data: buf.Bytes(), w: w, h: h, gray: true, bits: 1, filter: "FlateDecode"}
	default:
		data, err := encodeJPEGPage(img)
		if err != nil {
			return err
		}
		b := img.Bounds()
		pg.pdf = pdfImage{data: data, w: b.Dx(), h: b.Dy(), bits: 8, filter: "DCTDecode"}
	}
	pg.info.Width, pg.info.Height = pg.pdf.w, pg.pdf.h
	pg.info.Bytes = len(pg.pdf.data)
	return nil
}

// encodeJPEGPage picks the best quality that keeps the page under
// maxPageBytes. Encoding a 4 MP page takes tens of milliseconds, so rather
// than trying qualities in turn it encodes the central quarter of the page
// at quality 80, extrapolates the page size for each quality from the
// ratios above, and encodes the page once; a miss costs one more encode at
// the next quality down.
func encodeJPEGPage(img image.Image) ([]byte, error) {
	b := img.Bounds()
	qs := jpegQualities()
	start := 0
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok && b.Dx() >= 64 && b.Dy() >= 64 {
		c := image.Rect(b.Dx()/4, b.Dy()/4, 3*b.Dx()/4, 3*b.Dy()/4)
		sample, err := compressJPEG(s.SubImage(c), 80)
		if err != nil {
			return nil, err
		}
		// The centre carries more print than the margins: ×4 overestimates,
		// which errs on the side of one encode.
		est80 := 4 * float64(len(sample))
		for start < len(qs)-1 && est80*qs[start].ratio > 0.97*maxPageBytes {
			start++
		}
	}
	var data []byte
	for _, q := range qs[start:] {
		var err error
		if data, err = compressJPEG(img, q.q); err != nil {
			return nil, err
		}
		if len(data) <= maxPageBytes {
			break
		}
	}
	return data, nil
}
