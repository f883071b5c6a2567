package ingest

import (
	"image"
	"math"
)

// greyFull is a grey copy of an RGB page, for pages too small to halve.
func greyFull(img *image.RGBA) *plane {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	p := newPlane(w, h)
	for y := 0; y < h; y++ {
		r := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			p.p[y*w+x] = (299*float32(r[4*x]) + 587*float32(r[4*x+1]) + 114*float32(r[4*x+2])) / 1000
		}
	}
	return p
}

// greyHalf is a 2×2 box-averaged grey copy of an RGB page, used by the text
// orientation and sharpness measures: at ~100 dpi text lines are still
// resolved while the work is a quarter of the page.
func greyHalf(img *image.RGBA) *plane {
	w, h := img.Rect.Dx()/2, img.Rect.Dy()/2
	p := newPlane(max(w, 1), max(h, 1))
	for y := 0; y < h; y++ {
		r0 := img.Pix[2*y*img.Stride:]
		r1 := img.Pix[(2*y+1)*img.Stride:]
		out := p.p[y*p.w : y*p.w+w]
		for x := range out {
			a := r0[8*x : 8*x+8 : 8*x+8]
			b := r1[8*x : 8*x+8 : 8*x+8]
			r := int(a[0]) + int(a[4]) + int(b[0]) + int(b[4])
			g := int(a[1]) + int(a[5]) + int(b[1]) + int(b[5])
			bl := int(a[2]) + int(a[6]) + int(b[2]) + int(b[6])
			out[x] = float32(299*r+587*g+114*bl) / 4000
		}
	}
	return p
}

// inkOf marks pixels clearly darker than their surroundings: at least
// delta levels under a 31-pixel local mean. Local rather than global so
// that shadows and photos on the page are not taken for text.
func inkOf(p *plane, delta float32) ([]bool, float64) {
	bg := p.boxBlur(15)
	ink := make([]bool, len(p.p))
	n := 0
	for i, v := range p.p {
		if v < bg.p[i]-delta {
			ink[i] = true
			n++
		}
	}
	return ink, float64(n) / float64(len(p.p))
}

// Text is assumed present when ink covers between minInk and maxInk of the
// page; outside that range orientation decisions are not attempted.
const (
	minInk = 0.003
	maxInk = 0.35
)

// skewAngle finds the small rotation (±maxSkew) that makes ink rows line
// up, by maximising the sum of squared row projections (sharp peaks for text
// lines, flat profile when tilted). It returns ok=false when there is no
// text or the gain over no rotation is under 5 %: photos and drawings have
// no lines to align.
func skewAngle(p *plane) (float64, bool) {
	ink, frac := inkOf(p, 40)
	if frac < minInk || frac > maxInk {
		return 0, false
	}
	var xs, ys []float32
	for i, v := range ink {
		if v {
			xs = append(xs, float32(i%p.w)-float32(p.w)/2)
			ys = append(ys, float32(i/p.w)-float32(p.h)/2)
		}
	}
	diag := int(math.Hypot(float64(p.w), float64(p.h))) + 2
	bins := make([]float64, diag)
	score := func(a float64) float64 {
		clear(bins)
		s, c := math.Sincos(a)
		fs, fc := float32(s), float32(c)
		for i := range xs {
			// y coordinate after rotating by -a
			y := -xs[i]*fs + ys[i]*fc + float32(diag)/2
			if k := int(y); k >= 0 && k < diag {
				bins[k]++
			}
		}
		var t float64
		for _, b := range bins {
			t += b * b
		}
		return t
	}
	const maxSkew = 15.0
	base := score(0)
	best, ba := base, 0.0
	for d := -maxSkew; d <= maxSkew; d += 0.5 {
		if s := score(d * math.Pi / 180); s > best {
			best, ba = s, d
		}
	}
	for d := ba - 0.4; d <= ba+0.4; d += 0.1 {
		if s := score(d * math.Pi / 180); s > best {
			best, ba = s, d
		}
	}
	if best < 1.05*base || math.Abs(ba) < 0.2 {
		return 0, false
	}
	return ba * math.Pi / 180, true
}

// orientStats are the measures behind textOrientation, for calibration.
type orientStats struct {
	inkFrac, hRun, vRun, up, down float64
	lines                         int
}

// textOrientation returns how many clockwise quarter turns make the text on p
// upright (0..3), or 0 when unsure, and the measures behind the answer.
//
// Sideways: in a line of text, letters are separated by gaps of a pixel or
// two while lines are separated by more. Bridging gaps of up to bridgeGap
// pixels therefore merges letters into words along the lines but not
// across them: the mean ink run is several times longer along the text
// direction. When vertical runs are sideRatio times longer than horizontal
// ones, the page is turned by a quarter.
//
// Upside down: in Latin script ascenders (b d f h k l t, capitals, accents)
// outnumber descenders (g j p q y), so within each text line more ink lies
// above the x-height band than below. The ink is profiled over six strips
// of the page so that a residual tilt does not merge lines; over at least
// minLines line segments, ink below outweighing ink above updownRatio to
// one means the page is upside down. Lines under minLineHeight rows give no
// vote. The bar is set high because turning a correct page over is worse
// than leaving a flipped one: on generated photos no upright page was ever
// turned, clean upside-down pages were, degraded small ones were not.
func textOrientation(p *plane) (int, orientStats) {
	var st orientStats
	// A lower contrast threshold than for deskewing keeps the thin
	// ascender and descender strokes the upside-down test relies on.
	ink, frac := inkOf(p, 25)
	st.inkFrac = frac
	if frac < minInk || frac > maxInk {
		return 0, st
	}
	hr := meanRun(ink, p.w, p.h, 1, p.w)
	vr := meanRun(ink, p.h, p.w, p.w, 1)
	st.hRun, st.vRun = hr, vr
	k := 0
	// Profiles are taken over vertical strips (horizontal ones when
	// sideways) a sixth of the page wide: a residual tilt of half a degree
	// blurs a page-wide profile's lines together, a strip's stays sharp.
	const strips = 6
	n, across := p.h, p.w // profile length, extent across the lines
	if vr > sideRatio*hr {
		// After a clockwise quarter turn, image column x becomes row x
		// counted from the top, so column profiles are the new row
		// profiles as they are.
		k = 1
		n, across = p.w, p.h
	} else if !(hr > sideRatio*vr) {
		return 0, st // no clear text direction
	}
	profiles := make([][]float64, strips)
	for s := range profiles {
		profiles[s] = make([]float64, n)
	}
	for i, v := range ink {
		if !v {
			continue
		}
		x, y := i%p.w, i/p.w
		pos, cross := y, x
		if k == 1 {
			pos, cross = x, y
		}
		profiles[min(cross*strips/across, strips-1)][pos]++
	}
	var up, down float64
	var lines int
	for _, prof := range profiles {
		u, d, l := ascenders(prof)
		up, down, lines = up+u, down+d, lines+l
	}
	st.up, st.down, st.lines = up, down, lines
	switch {
	case k == 1 && down > up:
		// Sideways, the page must be turned one way or the other: the
		// ascender test only has to break the tie.
		k = 3
	case k == 0 && lines >= minLines && down > updownRatio*up:
		// Upright-looking text is turned over only on strong evidence:
		// flipping a correct page is worse than leaving a flipped one.
		k = 2
	}
	return k, st
}

const (
	bridgeGap     = 3
	sideRatio     = 1.5
	updownRatio   = 5.0
	minLineHeight = 8
	minLines      = 12
)

// meanRun is the mean length of ink runs along lines of an n×m mask, where
// step moves along a line and next to the next line, bridging gaps of up to
// bridgeGap pixels.
func meanRun(ink []bool, n, m, step, next int) float64 {
	var total, runs int
	for l := 0; l < m; l++ {
		base := l * next
		run, gap := 0, 0
		for i := 0; i < n; i++ {
			if ink[base+i*step] {
				if run > 0 && gap > 0 {
					run += gap
				}
				run++
				gap = 0
				continue
			}
			if run > 0 {
				gap++
				if gap > bridgeGap {
					total += run
					runs++
					run, gap = 0, 0
				}
			}
		}
		if run > 0 {
			total += run
			runs++
		}
	}
	if runs == 0 {
		return 0
	}
	return float64(total) / float64(runs)
}

// ascenders sums, over text lines found in the row profile, the ink above
// and below each line's core band.
func ascenders(rows []float64) (up, down float64, lines int) {
	var peak float64
	for _, v := range rows {
		peak = max(peak, v)
	}
	th := 0.05 * peak
	for y := 0; y < len(rows); {
		if rows[y] <= th {
			y++
			continue
		}
		a := y
		for y < len(rows) && rows[y] > th {
			y++
		}
		b := y
		// Lines under minLineHeight rows cannot show ascenders apart from
		// the x-height band: they give no vote.
		if b-a < minLineHeight || b-a > 80 {
			continue
		}
		var m float64
		for i := a; i < b; i++ {
			m = max(m, rows[i])
		}
		ct, cb := -1, -1
		for i := a; i < b; i++ {
			if rows[i] >= 0.5*m {
				if ct < 0 {
					ct = i
				}
				cb = i
			}
		}
		for i := a; i < ct; i++ {
			up += rows[i]
		}
		for i := cb + 1; i < b; i++ {
			down += rows[i]
		}
		lines++
	}
	return up, down, lines
}

// turn rotates an RGBA page by k clockwise quarter turns.
func turn(img *image.RGBA, k int) *image.RGBA {
	if k%4 == 0 {
		return img
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	ow, oh := w, h
	if k%2 == 1 {
		ow, oh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	src32 := func(x, y int) []uint8 { return img.Pix[y*img.Stride+4*x : y*img.Stride+4*x+4] }
	parallelRows(oh, func(y0, y1 int) {
		for v := y0; v < y1; v++ {
			row := dst.Pix[v*dst.Stride:]
			for u := 0; u < ow; u++ {
				var x, y int
				switch k % 4 {
				case 1: // clockwise: dst(u,v) = src(v, h-1-u)
					x, y = v, h-1-u
				case 2:
					x, y = w-1-u, h-1-v
				case 3:
					x, y = w-1-v, u
				}
				copy(row[4*u:4*u+4], src32(x, y))
			}
		}
	})
	return dst
}
