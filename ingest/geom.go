package ingest

import "math"

// point is a position in continuous image coordinates: pixel (i, j) covers
// [i, i+1)×[j, j+1), so its centre is (i+0.5, j+0.5).
type point struct{ X, Y float64 }

// quad is a sheet outline: top-left, top-right, bottom-right, bottom-left.
type quad [4]point

// mat3 is a row-major 3×3 projective transform.
type mat3 [9]float64

func identity() mat3 { return mat3{1, 0, 0, 0, 1, 0, 0, 0, 1} }

func (m mat3) mul(n mat3) mat3 {
	var r mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[3*i+j] = m[3*i]*n[j] + m[3*i+1]*n[3+j] + m[3*i+2]*n[6+j]
		}
	}
	return r
}

func (m mat3) apply(p point) point {
	w := m[6]*p.X + m[7]*p.Y + m[8]
	return point{(m[0]*p.X + m[1]*p.Y + m[2]) / w, (m[3]*p.X + m[4]*p.Y + m[5]) / w}
}

func (m mat3) inverse() (mat3, bool) {
	a, b, c, d, e, f, g, h, i := m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]
	A, B, C := e*i-f*h, -(d*i - f*g), d*h-e*g
	det := a*A + b*B + c*C
	if math.Abs(det) < 1e-12 {
		return mat3{}, false
	}
	r := mat3{A, -(b*i - c*h), b*f - c*e, B, a*i - c*g, -(a*f - c*d), C, -(a*h - b*g), a*e - b*d}
	for k := range r {
		r[k] /= det
	}
	return r, true
}

func scaleMat(sx, sy float64) mat3 { return mat3{sx, 0, 0, 0, sy, 0, 0, 0, 1} }

// rotateAbout rotates by angle a (radians, counter-clockwise in image space
// where y points down, i.e. clockwise on screen) around c.
func rotateAbout(a float64, c point) mat3 {
	s, co := math.Sincos(a)
	return mat3{co, -s, c.X - co*c.X + s*c.Y, s, co, c.Y - s*c.X - co*c.Y, 0, 0, 1}
}

// homography returns the transform mapping src[k] to dst[k], solving the
// usual 8×8 system by Gaussian elimination with partial pivoting.
func homography(src, dst [4]point) (mat3, bool) {
	var a [8][9]float64
	for k := 0; k < 4; k++ {
		x, y, u, v := src[k].X, src[k].Y, dst[k].X, dst[k].Y
		a[2*k] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*k+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	for c := 0; c < 8; c++ {
		p := c
		for r := c + 1; r < 8; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return mat3{}, false
		}
		a[c], a[p] = a[p], a[c]
		for r := 0; r < 8; r++ {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for k := c; k < 9; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	var m mat3
	for k := 0; k < 8; k++ {
		m[k] = a[k][8] / a[k][k]
	}
	m[8] = 1
	return m, true
}

func dist(a, b point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// area returns the signed area of a polygon (positive when clockwise on
// screen, since y points down).
func polyArea(p []point) float64 {
	s := 0.0
	for i := range p {
		j := (i + 1) % len(p)
		s += p[i].X*p[j].Y - p[j].X*p[i].Y
	}
	return s / 2
}

func cross(o, a, b point) float64 { return (a.X-o.X)*(b.Y-o.Y) - (a.Y-o.Y)*(b.X-o.X) }

// convexHull is Andrew's monotone chain; points must be sorted by X then Y.
func convexHull(p []point) []point {
	if len(p) < 3 {
		return p
	}
	h := make([]point, 0, 2*len(p))
	for _, q := range p {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	lo := len(h) + 1
	for i := len(p) - 2; i >= 0; i-- {
		q := p[i]
		for len(h) >= lo && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	return h[:len(h)-1]
}

// orderQuad puts four corners in top-left, top-right, bottom-right,
// bottom-left order: clockwise on screen starting from the corner nearest
// the top-left of the image.
func orderQuad(q quad) quad {
	c := point{(q[0].X + q[1].X + q[2].X + q[3].X) / 4, (q[0].Y + q[1].Y + q[2].Y + q[3].Y) / 4}
	pts := q
	// sort by angle around centre
	ang := func(p point) float64 { return math.Atan2(p.Y-c.Y, p.X-c.X) }
	for i := 1; i < 4; i++ {
		for j := i; j > 0 && ang(pts[j]) < ang(pts[j-1]); j-- {
			pts[j], pts[j-1] = pts[j-1], pts[j]
		}
	}
	// angle order from -π goes: top-left-ish, top-right, bottom-right, bottom-left
	best, bi := math.Inf(1), 0
	for i, p := range pts {
		if s := p.X + p.Y; s < best {
			best, bi = s, i
		}
	}
	var r quad
	for i := 0; i < 4; i++ {
		r[i] = pts[(bi+i)%4]
	}
	return r
}

// lineFit is a line through P with unit direction D.
type lineFit struct{ P, D point }

func intersect(a, b lineFit) (point, bool) {
	den := a.D.X*b.D.Y - a.D.Y*b.D.X
	if math.Abs(den) < 1e-9 {
		return point{}, false
	}
	t := ((b.P.X-a.P.X)*b.D.Y - (b.P.Y-a.P.Y)*b.D.X) / den
	return point{a.P.X + t*a.D.X, a.P.Y + t*a.D.Y}, true
}

// fitLine is a total-least-squares fit.
func fitLine(p []point) lineFit {
	var mx, my float64
	for _, q := range p {
		mx += q.X
		my += q.Y
	}
	n := float64(len(p))
	mx /= n
	my /= n
	var sxx, sxy, syy float64
	for _, q := range p {
		dx, dy := q.X-mx, q.Y-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	th := 0.5 * math.Atan2(2*sxy, sxx-syy)
	return lineFit{point{mx, my}, point{math.Cos(th), math.Sin(th)}}
}

// quadIoU measures the overlap of two convex quadrilaterals by clipping one
// against the other (Sutherland–Hodgman).
func quadIoU(a, b quad) float64 {
	pa, pb := a[:], b[:]
	if polyArea(pa) < 0 {
		pa = []point{a[3], a[2], a[1], a[0]}
	}
	if polyArea(pb) < 0 {
		pb = []point{b[3], b[2], b[1], b[0]}
	}
	out := append([]point(nil), pa...)
	for i := range pb {
		c0, c1 := pb[i], pb[(i+1)%len(pb)]
		in := out
		out = nil
		for j := range in {
			p, q := in[j], in[(j+1)%len(in)]
			pin, qin := cross(c0, c1, p) >= 0, cross(c0, c1, q) >= 0
			if pin {
				out = append(out, p)
			}
			if pin != qin {
				d1, d2 := cross(c0, c1, p), cross(c0, c1, q)
				t := d1 / (d1 - d2)
				out = append(out, point{p.X + t*(q.X-p.X), p.Y + t*(q.Y-p.Y)})
			}
		}
		if len(out) == 0 {
			return 0
		}
	}
	inter := math.Abs(polyArea(out))
	return inter / (math.Abs(polyArea(pa)) + math.Abs(polyArea(pb)) - inter)
}
