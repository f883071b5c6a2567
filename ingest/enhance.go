package ingest

import (
	"image"
	"math"
)

// Levels applied after flattening the background: paper at or above
// whitePoint becomes pure white (which also makes JPEG pages smaller),
// strokes are darkened by gammaInk so thin print survives printing and
// re-compression.
const (
	blackPoint = 24
	whitePoint = 240
	gammaInk   = 1.2
	bgFactor   = 8 // background estimate grid, in output pixels
)

// background estimates the paper colour everywhere: box-average bgFactor×bgFactor
// cells, take the brightest cell in a 5×5 neighbourhood (text is darker than
// paper, so this removes it), then smooth. The result is a low-resolution
// RGB image of the illumination and the paper tint.
func background(img *image.RGBA) (bw, bh int, bg [3][]float32) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	bw, bh = (w+bgFactor-1)/bgFactor, (h+bgFactor-1)/bgFactor
	var sum [3]*plane
	for c := range sum {
		sum[c] = newPlane(bw, bh)
	}
	cnt := make([]float32, bw*bh)
	var acc [3][]int32
	for c := range acc {
		acc[c] = make([]int32, bw)
	}
	for by := 0; by < bh; by++ {
		for c := range acc {
			clear(acc[c])
		}
		ys, ye := by*bgFactor, min(by*bgFactor+bgFactor, h)
		for y := ys; y < ye; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+4*w]
			for x := 0; x < w; x += bgFactor {
				xe := min(x+bgFactor, w)
				var r, g, b int32
				px := row[4*x : 4*xe]
				for i := 0; i+3 < len(px); i += 4 {
					r += int32(px[i])
					g += int32(px[i+1])
					b += int32(px[i+2])
				}
				i := x / bgFactor
				acc[0][i] += r
				acc[1][i] += g
				acc[2][i] += b
			}
		}
		for i := 0; i < bw; i++ {
			n := float32((ye - ys) * (min(i*bgFactor+bgFactor, w) - i*bgFactor))
			cnt[by*bw+i] = n
			for c := range acc {
				sum[c].p[by*bw+i] = float32(acc[c][i])
			}
		}
	}
	for c := range sum {
		for i := range cnt {
			sum[c].p[i] /= cnt[i]
		}
		m := maxFilter(maxFilter(sum[c], 2), 2)
		bg[c] = m.boxBlur(2).boxBlur(2).p
	}
	return bw, bh, bg
}

// maxFilter is the maximum over a (2r+1)² square, the border replicated,
// done as a horizontal then a vertical pass.
func maxFilter(p *plane, r int) *plane {
	w, h := p.w, p.h
	tmp, out := newPlane(w, h), newPlane(w, h)
	for y := 0; y < h; y++ {
		src, dst := p.p[y*w:(y+1)*w], tmp.p[y*w:(y+1)*w]
		for x := range dst {
			m := src[max(x-r, 0)]
			for _, v := range src[max(x-r, 0)+1 : min(x+r+1, w)] {
				m = max(m, v)
			}
			dst[x] = m
		}
	}
	for y := 0; y < h; y++ {
		dst := out.p[y*w : (y+1)*w]
		copy(dst, tmp.p[max(y-r, 0)*w:])
		for k := max(y-r, 0) + 1; k <= min(y+r, h-1); k++ {
			for x, v := range tmp.p[k*w : (k+1)*w] {
				dst[x] = max(dst[x], v)
			}
		}
	}
	return out
}

// enhance divides every pixel by the estimated background (removing
// shadows, uneven light and colour casts in one step: the paper becomes
// white while stamps and logos keep their hue), then applies the levels
// curve. It works in place.
//
// The gain 255/background is interpolated between the background grid
// points in 8.8 fixed point. Along a row, the pixels between two grid
// points sit at 1/16, 3/16 … 15/16 of the way, so the gain moves by the
// same step from one pixel to the next, and the inner loop is an add, a
// multiply, shifts and a table lookup.
func enhance(img *image.RGBA) {
	bw, bh, bg := background(img)
	var lut [256]uint8
	for i := range lut {
		t := (float64(i) - blackPoint) / (whitePoint - blackPoint)
		t = math.Min(math.Max(t, 0), 1)
		lut[i] = uint8(math.Round(255 * math.Pow(t, gammaInk)))
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	const half = bgFactor / 2 // grid point i is the centre of cell i
	step := int32(256 / bgFactor)
	parallelRows(h, func(y0, y1 int) {
		gain := make([]int32, 3*(bw+1))
		for y := y0; y < y1; y++ {
			fy := (float64(y)+0.5)/bgFactor - 0.5
			iy := math.Floor(fy)
			ty := float32(fy - iy)
			iy0 := min(max(int(iy), 0), bh-1)
			iy1 := min(max(int(iy)+1, 0), bh-1)
			for i := 0; i < bw; i++ {
				for c := 0; c < 3; c++ {
					v := bg[c][iy0*bw+i]*(1-ty) + bg[c][iy1*bw+i]*ty
					gain[3*i+c] = int32(255 * 256 / max(v, 8))
				}
			}
			copy(gain[3*bw:], gain[3*(bw-1):3*bw]) // right edge
			row := img.Pix[y*img.Stride : y*img.Stride+4*w]
			// Left of the first grid point, the gain is the first point's.
			for x := 0; x < min(half, w); x++ {
				p := row[4*x : 4*x+3 : 4*x+3]
				p[0] = lut[uint8(min((int32(p[0])*gain[0])>>8, 255))]
				p[1] = lut[uint8(min((int32(p[1])*gain[1])>>8, 255))]
				p[2] = lut[uint8(min((int32(p[2])*gain[2])>>8, 255))]
			}
			for i := 0; i < bw && bgFactor*i+half < w; i++ {
				g := gain[3*i : 3*i+6 : 3*i+6]
				d0, d1, d2 := g[3]-g[0], g[4]-g[1], g[5]-g[2]
				// The gain at t/256 of the way is (g·(256−t) + g'·t)>>8.
				n0, n1, n2 := g[0]*256+d0*step/2, g[1]*256+d1*step/2, g[2]*256+d2*step/2
				d0, d1, d2 = d0*step, d1*step, d2*step
				q := row[4*(bgFactor*i+half) : 4*min(bgFactor*i+half+bgFactor, w)]
				for j := 0; j+3 < len(q); j += 4 {
					p := q[j : j+3 : j+3]
					// A uint8 index into a [256] table needs no bounds check.
					p[0] = lut[uint8(min((int32(p[0])*(n0>>8))>>8, 255))]
					p[1] = lut[uint8(min((int32(p[1])*(n1>>8))>>8, 255))]
					p[2] = lut[uint8(min((int32(p[2])*(n2>>8))>>8, 255))]
					n0, n1, n2 = n0+d0, n1+d1, n2+d2
				}
			}
		}
	})
}

// binarize turns an enhanced page into black and white, for the "scan"
// mode. Since enhance has already flattened the paper to white, one global
// Otsu threshold (clamped to [110, 200] so that an almost blank page does
// not turn its paper grain into ink) is enough.
func binarize(img *image.RGBA) *image.Gray {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	g := image.NewGray(img.Rect)
	var hist [256]float64
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		out := g.Pix[y*g.Stride:]
		for x := 0; x < w; x++ {
			l := (299*int(row[4*x]) + 587*int(row[4*x+1]) + 114*int(row[4*x+2]) + 500) / 1000
			out[x] = uint8(l)
			hist[l]++
		}
	}
	t := otsu(hist[:])
	t = min(max(t, 110), 200)
	for i, v := range g.Pix {
		if int(v) < t {
			g.Pix[i] = 0
		} else {
			g.Pix[i] = 255
		}
	}
	return g
}
