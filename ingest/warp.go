package ingest

import (
	"image"
	"runtime"
	"sync"
)

// parallelRows splits [0, h) into contiguous bands, one per available CPU
// (GOMAXPROCS), and runs fn on each. Bands rather than single rows keep the
// scheduling cost negligible next to the per-pixel work.
func parallelRows(h int, fn func(y0, y1 int)) {
	n := runtime.GOMAXPROCS(0)
	if n > h {
		n = h
	}
	if n <= 1 {
		fn(0, h)
		return
	}
	var wg sync.WaitGroup
	step := (h + n - 1) / n
	for y0 := 0; y0 < h; y0 += step {
		y1 := min(y0+step, h)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(y0, y1)
		}()
	}
	wg.Wait()
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ycc2rgb is image/color's YCbCrToRGB, inlined by hand for the warp loop.
func ycc2rgb(y, cb, cr uint8) (uint8, uint8, uint8) {
	tr, tg, tb := chromaTerms(cb, cr)
	return withLuma(y, tr, tg, tb)
}

// chromaTerms is the part of the conversion that depends on chroma alone,
// which neighbouring pixels of a subsampled image share.
func chromaTerms(cb, cr uint8) (tr, tg, tb int32) {
	b1 := int32(cb) - 128
	r1 := int32(cr) - 128
	return 91881 * r1, -22554*b1 - 46802*r1, 116130 * b1
}

// withLuma finishes the conversion of a pixel of luma y.
func withLuma(y uint8, tr, tg, tb int32) (uint8, uint8, uint8) {
	yy := int32(y) * 0x10101
	return clamp8((yy + tr) >> 16), clamp8((yy + tg) >> 16), clamp8((yy + tb) >> 16)
}

func chromaShift(r image.YCbCrSubsampleRatio) (sx, sy uint) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 1, 0
	case image.YCbCrSubsampleRatio420:
		return 1, 1
	case image.YCbCrSubsampleRatio440:
		return 0, 1
	case image.YCbCrSubsampleRatio411:
		return 2, 0
	case image.YCbCrSubsampleRatio410:
		return 2, 1
	}
	return 0, 0
}

// warp fills dst (w×h) by sampling src at m·(u, v) for every output pixel
// centre, where m maps output coordinates to source coordinates (continuous
// convention). Sampling is bilinear on luma/RGB, nearest on subsampled
// chroma. Points outside the source are painted white, the colour of paper.
// src must be one of the types normalize returns.
func warp(src image.Image, m mat3, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	fw, fh := float64(sw), float64(sh)
	var sx, sy uint
	var cw, ch int
	ycc, _ := src.(*image.YCbCr)
	if ycc != nil {
		sx, sy = chromaShift(ycc.SubsampleRatio)
		cw, ch = (sw+(1<<sx)-1)>>sx, (sh+(1<<sy)-1)>>sy
	}
	// 4-byte pixels (HEIC photos, PNGs) have a fast path too.
	var px []uint8
	var pstride int
	switch s := src.(type) {
	case *image.NRGBA:
		px, pstride = s.Pix, s.Stride
	case *image.RGBA:
		px, pstride = s.Pix, s.Stride
	}
	parallelRows(h, func(y0, y1 int) {
		for v := y0; v < y1; v++ {
			row := dst.Pix[v*dst.Stride : v*dst.Stride+4*w]
			fv := float64(v) + 0.5
			// proj is the exact mapping of output pixel u's centre.
			proj := func(u int) (float64, float64) {
				fu := float64(u) + 0.5
				pw := m[6]*fu + m[7]*fv + m[8]
				return (m[0]*fu+m[1]*fv+m[2])/pw - 0.5, (m[3]*fu+m[4]*fv+m[5])/pw - 0.5
			}
			for u0 := 0; u0 < w; u0 += warpSpan {
				u1 := min(u0+warpSpan, w)
				xa, ya := proj(u0)
				xb, yb := proj(u1)
				n := float64(u1 - u0)
				// Fast path: within a span of 16 pixels a perspective
				// mapping is linear to far under a hundredth of a pixel,
				// so YCbCr sources are sampled with 16.16 fixed-point
				// steps and no division, clamping or type switch.
				xe, ye := xa+(xb-xa)*(n-1)/n, ya+(yb-ya)*(n-1)/n
				if ycc != nil && min(xa, xe) >= 0 && min(ya, ye) >= 0 && max(xa, xe) < fw-1 && max(ya, ye) < fh-1 {
					X, Y := int64(xa*65536), int64(ya*65536)
					dX, dY := int64((xb-xa)/n*65536), int64((yb-ya)/n*65536)
					// Locals, not ycc's fields: the compiler cannot tell
					// that writing row leaves them unchanged, and would
					// load them again for every pixel.
					lum, cb, cr, ys, cs := ycc.Y, ycc.Cb, ycc.Cr, ycc.YStride, ycc.CStride
					lastCi, tr, tg, tb := -1, int32(0), int32(0), int32(0)
					for u := u0; u < u1; u++ {
						x0, y0 := int(X>>16), int(Y>>16)
						wx, wy := int32(X>>8)&255, int32(Y>>8)&255
						i := y0*ys + x0
						a := lum[i : i+2 : i+2]
						c := lum[i+ys : i+ys+2 : i+ys+2]
						top := int32(a[0])*(256-wx) + int32(a[1])*wx
						bot := int32(c[0])*(256-wx) + int32(c[1])*wx
						yv := uint8((top*(256-wy) + bot*wy + 32768) >> 16)
						cx := min(int((X+32768)>>16)>>sx, cw-1)
						cy := min(int((Y+32768)>>16)>>sy, ch-1)
						if ci := cy*cs + cx; ci != lastCi {
							// Chroma is subsampled: neighbours often share it.
							lastCi = ci
							tr, tg, tb = chromaTerms(cb[ci], cr[ci])
						}
						o := row[4*u : 4*u+4 : 4*u+4]
						o[0], o[1], o[2] = withLuma(yv, tr, tg, tb)
						o[3] = 255
						X += dX
						Y += dY
					}
					continue
				}
				if px != nil && min(xa, xe) >= 0 && min(ya, ye) >= 0 && max(xa, xe) < fw-1 && max(ya, ye) < fh-1 {
					X, Y := int64(xa*65536), int64(ya*65536)
					dX, dY := int64((xb-xa)/n*65536), int64((yb-ya)/n*65536)
					for u := u0; u < u1; u++ {
						x0, y0 := int(X>>16), int(Y>>16)
						wx, wy := int32(X>>8)&255, int32(Y>>8)&255
						i := y0*pstride + 4*x0
						a := px[i : i+8 : i+8]
						c := px[i+pstride : i+pstride+8 : i+pstride+8]
						o := row[4*u : 4*u+4 : 4*u+4]
						for k := 0; k < 3; k++ {
							top := int32(a[k])*(256-wx) + int32(a[4+k])*wx
							bot := int32(c[k])*(256-wx) + int32(c[4+k])*wx
							o[k] = uint8((top*(256-wy) + bot*wy + 32768) >> 16)
						}
						o[3] = 255
						X += dX
						Y += dY
					}
					continue
				}
				for u := u0; u < u1; u++ {
					x, y := proj(u)
					o := 4 * u
					if !(x > -1 && y > -1 && x < fw && y < fh) {
						row[o], row[o+1], row[o+2], row[o+3] = 255, 255, 255, 255
						continue
					}
					x0, y0 := int(x+1)-1, int(y+1)-1 // floor for x > -1
					// 8-bit fixed-point weights keep the sampling in integers.
					wx := int32((x - float64(x0)) * 256)
					wy := int32((y - float64(y0)) * 256)
					x1, y1 := x0+1, y0+1
					x0, y0 = max(x0, 0), max(y0, 0)
					x1, y1 = min(x1, sw-1), min(y1, sh-1)
					row[o+3] = 255
					if ycc != nil {
						r0 := ycc.Y[y0*ycc.YStride:]
						r1 := ycc.Y[y1*ycc.YStride:]
						top := int32(r0[x0])*(256-wx) + int32(r0[x1])*wx
						bot := int32(r1[x0])*(256-wx) + int32(r1[x1])*wx
						yv := uint8((top*(256-wy) + bot*wy + 32768) >> 16)
						cx := min(int(x+0.5)>>sx, cw-1)
						cy := min(int(y+0.5)>>sy, ch-1)
						ci := cy*ycc.CStride + cx
						row[o], row[o+1], row[o+2] = ycc2rgb(yv, ycc.Cb[ci], ycc.Cr[ci])
						continue
					}
					switch s := src.(type) {
					case *image.Gray:
						r0 := s.Pix[y0*s.Stride:]
						r1 := s.Pix[y1*s.Stride:]
						top := int32(r0[x0])*(256-wx) + int32(r0[x1])*wx
						bot := int32(r1[x0])*(256-wx) + int32(r1[x1])*wx
						g := uint8((top*(256-wy) + bot*wy + 32768) >> 16)
						row[o], row[o+1], row[o+2] = g, g, g
					case *image.NRGBA:
						bilinear4(row[o:o+3], s.Pix, s.Stride, x0, y0, x1, y1, wx, wy)
					case *image.RGBA:
						bilinear4(row[o:o+3], s.Pix, s.Stride, x0, y0, x1, y1, wx, wy)
					}
				}
			}
		}
	})
	return dst
}

// warpSpan is the run of output pixels sampled by linear steps between two
// exact perspective projections.
const warpSpan = 16

func bilinear4(out, pix []uint8, stride, x0, y0, x1, y1 int, wx, wy int32) {
	a := pix[y0*stride+4*x0:]
	b := pix[y0*stride+4*x1:]
	c := pix[y1*stride+4*x0:]
	d := pix[y1*stride+4*x1:]
	for k := 0; k < 3; k++ {
		top := int32(a[k])*(256-wx) + int32(b[k])*wx
		bot := int32(c[k])*(256-wx) + int32(d[k])*wx
		out[k] = uint8((top*(256-wy) + bot*wy + 32768) >> 16)
	}
}

// downsample averages f×f boxes of src (stored orientation) into a small
// RGB image. Box averaging, unlike bilinear sampling, suppresses sensor
// noise and table texture before detection.
func downsample(src image.Image, f int) *image.NRGBA {
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	w, h := max(sw/f, 1), max(sh/f, 1)
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	// box[x] is the output column of source column x; the last box takes
	// the remainder.
	box := make([]int32, sw)
	boxW := make([]int32, w)
	for x := range box {
		box[x] = int32(min(x/f, w-1))
		boxW[box[x]]++
	}
	parallelRows(h, func(y0, y1 int) {
		acc := make([]int32, 3*w)
		cnt := make([]int32, w)
		ccnt := make([]int32, w)
		_, isYCC := src.(*image.YCbCr)
		for v := y0; v < y1; v++ {
			clear(acc)
			clear(cnt)
			clear(ccnt)
			ys, ye := v*f, min(v*f+f, sh)
			if v == h-1 {
				ye = sh
			}
			for y := ys; y < ye; y++ {
				switch s := src.(type) {
				case *image.YCbCr:
					// Colour conversion is affine (clamping aside), so the
					// box averages Y, Cb and Cr and converts once per output
					// pixel, not once per source pixel.
					sx, sy := chromaShift(s.SubsampleRatio)
					yr := s.Y[y*s.YStride : y*s.YStride+sw]
					for u := 0; u < w; u++ {
						xs, xe := u*f, u*f+f
						if u == w-1 {
							xe = sw
						}
						var t int32
						for _, v := range yr[xs:xe] {
							t += int32(v)
						}
						acc[3*u] += t
					}
					if (y>>sy)<<sy == y || y == ys {
						cr := (y >> sy) * s.CStride
						cn := (sw + (1 << sx) - 1) >> sx
						cb, crr := s.Cb[cr:cr+cn], s.Cr[cr:cr+cn]
						for c := 0; c < cn; c++ {
							u := box[min(c<<sx, sw-1)]
							acc[3*int(u)+1] += int32(cb[c])
							acc[3*int(u)+2] += int32(crr[c])
							ccnt[u]++
						}
					}
					for u := 0; u < w; u++ {
						cnt[u] += boxW[u]
					}
				case *image.Gray:
					pr := s.Pix[y*s.Stride:]
					for u := 0; u < w; u++ {
						xs, xe := u*f, min(u*f+f, sw)
						if u == w-1 {
							xe = sw
						}
						var t int32
						for x := xs; x < xe; x++ {
							t += int32(pr[x])
						}
						acc[3*u] += t
						acc[3*u+1] += t
						acc[3*u+2] += t
						cnt[u] += int32(xe - xs)
					}
				default:
					var pix []uint8
					var stride int
					if n, ok := s.(*image.NRGBA); ok {
						pix, stride = n.Pix, n.Stride
					} else {
						r := s.(*image.RGBA)
						pix, stride = r.Pix, r.Stride
					}
					pr := pix[y*stride:]
					for u := 0; u < w; u++ {
						xs, xe := u*f, min(u*f+f, sw)
						if u == w-1 {
							xe = sw
						}
						for x := xs; x < xe; x++ {
							acc[3*u] += int32(pr[4*x])
							acc[3*u+1] += int32(pr[4*x+1])
							acc[3*u+2] += int32(pr[4*x+2])
						}
						cnt[u] += int32(xe - xs)
					}
				}
			}
			row := dst.Pix[v*dst.Stride:]
			if isYCC {
				s := src.(*image.YCbCr)
				sx, sy := chromaShift(s.SubsampleRatio)
				for u := 0; u < w; u++ {
					n, cn := cnt[u], ccnt[u]
					if cn == 0 {
						// A box narrower than a chroma sample may own none:
						// it takes the sample its first pixel lies in.
						ci := (ys>>sy)*s.CStride + (u*f)>>sx
						acc[3*u+1], acc[3*u+2], cn = int32(s.Cb[ci]), int32(s.Cr[ci]), 1
					}
					row[4*u], row[4*u+1], row[4*u+2] = ycc2rgb(uint8((acc[3*u]+n/2)/n), uint8((acc[3*u+1]+cn/2)/cn), uint8((acc[3*u+2]+cn/2)/cn))
					row[4*u+3] = 255
				}
				continue
			}
			for u := 0; u < w; u++ {
				n := cnt[u]
				row[4*u] = uint8((acc[3*u] + n/2) / n)
				row[4*u+1] = uint8((acc[3*u+1] + n/2) / n)
				row[4*u+2] = uint8((acc[3*u+2] + n/2) / n)
				row[4*u+3] = 255
			}
		}
	})
	return dst
}
