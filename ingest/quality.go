package ingest

import (
	"image"
	"math"
)

// WarningCode identifies a quality problem; codes are stable and may be
// stored or used to pick a pictogram.
type WarningCode string

// Warning codes. Thresholds are documented on the constants below.
const (
	WarnBlurry  WarningCode = "blurry"
	WarnDark    WarningCode = "dark"
	WarnGlare   WarningCode = "glare"
	WarnCutOff  WarningCode = "cut_off"
	WarnLowRes  WarningCode = "low_resolution"
	WarnNoSheet WarningCode = "no_sheet"
)

// Warning is a quality problem found on one page. Score and Threshold are in
// the unit of the measure (see the threshold constants); Message is a plain
// French sentence saying what is wrong and what to do.
type Warning struct {
	Page      int // 0-based page index in the output document
	Code      WarningCode
	Score     float64
	Threshold float64
	Message   string
}

// Quality thresholds, calibrated on the generated evaluation set
// (TestBlurDetection, TestQualityWarnings; figures in the package report):
//
//   - blurThreshold: sharpness is the mean |Laplacian| over the mean Sobel
//     magnitude on the 2 % strongest edges of a window of the sheet, at the
//     photo's own resolution. It does not depend on contrast or on how much
//     text there is; it falls as edges widen, like 1/(σ√2π) for a
//     Gaussian blur of σ pixels. When the photo has more pixels across the
//     sheet than the 200 dpi output, the score is multiplied by that ratio,
//     since the output shrinks the blur by as much. On the generated set
//     (1600×1200 photos) sharp pages (σ ≤ 0.6 px) score 0.227–0.244 and
//     blurred ones (σ 2–4 px) 0.119–0.175; 0.20 separates them. Below
//     blurThreshold the page is blurry.
//   - darkThreshold: the 90th percentile of luma on the sheet, i.e. the
//     brightness of the paper itself, 0–255. Under it the photo was taken in
//     poor light and text contrast collapses with noise.
//   - glareThreshold: share of the sheet whose pixels are clipped white
//     (every channel ≥ 250) while the paper's median stays under 235, so
//     the clipping is a hot spot and not merely bright paper. Above it a
//     reflection probably hides text.
//   - cutOffThreshold: share of the photo border covered by the paper. A
//     sheet entirely in the frame does not touch the border.
//   - lowResThreshold: pixels across the short side of the sheet in the
//     photo. 550 px over 21 cm is ~66 dpi: 10-point print is then about 9 px
//     tall, the least at which letters stay distinguishable after JPEG
//     compression. A 2 MP photo of an A4 sheet filling the frame passes, a
//     VGA one does not.
//
// web/static/precheck.js repeats these measures on the phone, before a photo is sent:
// a change here goes there too, and web's TestPrecheckAgrees checks that both agree.
const (
	blurThreshold   = 0.20
	darkThreshold   = 85
	glareThreshold  = 0.02
	cutOffThreshold = 0.03
	lowResThreshold = 550
)

// message is the French sentence for a warning code.
func message(c WarningCode) string {
	switch c {
	case WarnBlurry:
		return "La photo est floue. Reprenez-la en tenant le téléphone immobile."
	case WarnDark:
		return "La photo est trop sombre. Reprenez-la près d'une fenêtre ou avec plus de lumière."
	case WarnGlare:
		return "Un reflet cache une partie de la feuille. Reprenez la photo sans flash, en inclinant un peu le téléphone."
	case WarnCutOff:
		return "La feuille est coupée au bord de la photo. Reprenez-la avec toute la feuille visible."
	case WarnLowRes:
		return "La photo est trop petite pour que le texte soit lisible. Rapprochez le téléphone de la feuille."
	case WarnNoSheet:
		return "La feuille n'a pas été trouvée sur la photo\u00a0: elle est gardée entière. Posez la feuille sur une table sombre et reprenez la photo."
	}
	return ""
}

func newWarning(page int, c WarningCode, score, threshold float64) Warning {
	return Warning{Page: page, Code: c, Score: math.Round(score*1000) / 1000, Threshold: threshold, Message: message(c)}
}

// sharpness implements the blur measure described at blurThreshold. It
// returns NaN when the window has no edges to judge (blank paper).
func sharpness(p *plane) float64 {
	w, h := p.w, p.h
	if w < 8 || h < 8 {
		return math.NaN()
	}
	// Histograms give the percentiles without sorting a million values.
	const bins = 1024
	const gmax = 1500 // Sobel magnitude cannot exceed 4·255·√2 ≈ 1443
	var gh [bins]int
	var lh [256]int
	n := 0
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			a, b, c := p.p[i-w-1], p.p[i-w], p.p[i-w+1]
			d, f := p.p[i-1], p.p[i+1]
			g, hh, ii := p.p[i+w-1], p.p[i+w], p.p[i+w+1]
			gx := (c + 2*f + ii) - (a + 2*d + g)
			gy := (g + 2*hh + ii) - (a + 2*b + c)
			m := math.Sqrt(float64(gx*gx + gy*gy))
			gh[min(int(m*bins/gmax), bins-1)]++
			lh[min(max(int(p.p[i]), 0), 255)]++
			n++
		}
	}
	pct := func(hist []int, q float64) int {
		acc, lim := 0, int(q*float64(n))
		for i, c := range hist {
			acc += c
			if acc > lim {
				return i
			}
		}
		return len(hist) - 1
	}
	g98 := float64(pct(gh[:], 0.98)) * gmax / bins
	contrast := float64(pct(lh[:], 0.99) - pct(lh[:], 0.01))
	if contrast < 40 { // blank paper or a uniform table: nothing to judge
		return math.NaN()
	}
	// A Sobel response to a step of height Δ blurred by σ peaks near
	// 8Δ/(σ√(2π)): dividing by 8·contrast leaves a contrast-free 1/(σ√(2π)),
	// capped near 0.5 for a perfectly sharp edge.
	return g98 / (8 * contrast)
}

// sourceWindow copies, as grey, a square of at most size pixels of the
// stored source around c (stored coordinates). Sharpness is judged there,
// at the camera's own resolution: resampling to the output raster would
// blur sharp photos or sharpen blurred ones depending on the sheet's size.
func sourceWindow(src image.Image, c point, size int) *plane {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	size = min(size, w, h)
	x0 := min(max(int(c.X)-size/2, 0), w-size)
	y0 := min(max(int(c.Y)-size/2, 0), h-size)
	p := newPlane(size, size)
	for y := 0; y < size; y++ {
		row := p.p[y*size : (y+1)*size]
		switch m := src.(type) {
		case *image.YCbCr:
			for x, v := range m.Y[(y0+y)*m.YStride+x0 : (y0+y)*m.YStride+x0+size] {
				row[x] = float32(v)
			}
		case *image.Gray:
			for x, v := range m.Pix[(y0+y)*m.Stride+x0 : (y0+y)*m.Stride+x0+size] {
				row[x] = float32(v)
			}
		default:
			var pix []uint8
			var stride int
			if n, ok := m.(*image.NRGBA); ok {
				pix, stride = n.Pix, n.Stride
			} else {
				r := m.(*image.RGBA)
				pix, stride = r.Pix, r.Stride
			}
			for x := 0; x < size; x++ {
				q := pix[(y0+y)*stride+4*(x0+x):]
				row[x] = 0.299*float32(q[0]) + 0.587*float32(q[1]) + 0.114*float32(q[2])
			}
		}
	}
	return p
}

// sheetStats measures brightness and glare on the sheet region of the small
// detection image (whole image when no sheet was found).
func sheetStats(small *image.NRGBA, mask []bool) (p90, clipped float64) {
	var hist [256]int
	var n int
	for i := 0; i < len(small.Pix)/4; i++ {
		if mask != nil && !mask[i] {
			continue
		}
		r, g, b := small.Pix[4*i], small.Pix[4*i+1], small.Pix[4*i+2]
		hist[(299*int(r)+587*int(g)+114*int(b))/1000]++
		n++
	}
	if n == 0 {
		return 255, 0
	}
	acc := 0
	median := -1
	for i, c := range hist {
		acc += c
		if median < 0 && acc >= n/2 {
			median = i
		}
		if acc >= n*9/10 {
			p90 = float64(i)
			break
		}
	}
	// Glare is clipped white standing out from the paper around it; paper
	// that is merely well exposed (median near white) is not glare.
	if median >= 235 {
		return p90, 0
	}
	var clip int
	for i := 0; i < len(small.Pix)/4; i++ {
		if mask != nil && !mask[i] {
			continue
		}
		if small.Pix[4*i] >= 250 && small.Pix[4*i+1] >= 250 && small.Pix[4*i+2] >= 250 {
			clip++
		}
	}
	return p90, float64(clip) / float64(n)
}
