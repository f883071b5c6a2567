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

func maxFilter(p *plane, r int) *plane {
	tmp, out := newPlane(p.w, p.h), newPlane(p.w, p.h)
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			m := float32(0)
			for k := -r; k <= r; k++ {
				m = max(m, p.at(x+k, y))
			}
			tmp.p[y*p.w+x] = m
		}
	}
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			m := float32(0)
			for k := -r; k <= r; k++ {
				m = max(m, tmp.at(x, y+k))
			}
			out.p[y*p.w+x] = m
		}
	}
	return out
}

// enhance divides every pixel by the estimated background (removing
// shadows, uneven light and colour casts in one step: the paper becomes
// white while stamps and logos keep their hue), then applies the levels
// curve. It works in place.
//
// The gain 255/background is computed at the background grid points of
// each row and interpolated along the row in 8.8 fixed point, so the inner
// loop is integer multiply, shift and table lookup.
func enhance(img *image.RGBA) {
	bw, bh, bg := background(img)
	var lut [256]uint8
	for i := range lut {
		t := (float64(i) - blackPoint) / (whitePoint - blackPoint)
		t = math.Min(math.Max(t, 0), 1)
		lut[i] = uint8(math.Round(255 * math.Pow(t, gammaInk)))
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	// Horizontal interpolation positions depend on x only.
	ix0 := make([]int32, w)
	tx := make([]int32, w)
	for x := 0; x < w; x++ {
		fx := (float64(x)+0.5)/bgFactor - 0.5
		i := math.Floor(fx)
		ix0[x] = int32(min(max(int(i), 0), bw-1))
		tx[x] = int32((fx - i) * 256)
		if i < 0 {
			tx[x] = 0
		}
	}
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
			for x := 0; x < w; x++ {
				i := 3 * int(ix0[x])
				g := gain[i : i+6 : i+6]
				t := tx[x]
				it := 256 - t
				p := row[4*x : 4*x+3 : 4*x+3]
				// A uint8 index into a [256] table needs no bounds check.
				p[0] = lut[uint8(min((int32(p[0])*((g[0]*it+g[3]*t)>>8))>>8, 255))]
				p[1] = lut[uint8(min((int32(p[1])*((g[1]*it+g[4]*t)>>8))>>8, 255))]
				p[2] = lut[uint8(min((int32(p[2])*((g[2]*it+g[5]*t)>>8))>>8, 255))]
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
