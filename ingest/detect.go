package ingest

import (
	"image"
	"math"
	"sort"
)

// plane is a single-channel float image used by detection and measures.
type plane struct {
	w, h int
	p    []float32
}

func newPlane(w, h int) *plane { return &plane{w, h, make([]float32, w*h)} }

func (p *plane) at(x, y int) float32 {
	x = min(max(x, 0), p.w-1)
	y = min(max(y, 0), p.h-1)
	return p.p[y*p.w+x]
}

// sample is bilinear in continuous coordinates.
func (p *plane) sample(x, y float64) float64 {
	x -= 0.5
	y -= 0.5
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	a, b := float64(p.at(x0, y0)), float64(p.at(x0+1, y0))
	c, d := float64(p.at(x0, y0+1)), float64(p.at(x0+1, y0+1))
	return (a*(1-fx)+b*fx)*(1-fy) + (c*(1-fx)+d*fx)*fy
}

// boxBlur is a separable box filter of radius r, replicating the border
// pixels. Both passes keep running sums, the vertical one over whole rows
// so that memory is read in order.
func (p *plane) boxBlur(r int) *plane {
	w, h := p.w, p.h
	tmp := newPlane(w, h)
	inv := 1 / float32(2*r+1)
	for y := 0; y < h; y++ {
		src := p.p[y*w : (y+1)*w]
		dst := tmp.p[y*w : (y+1)*w]
		at := func(x int) float32 { return src[min(max(x, 0), w-1)] }
		var s float32
		for x := -r - 1; x < r; x++ {
			s += at(x)
		}
		for x := 0; x < w; x++ {
			if x-r-1 >= 0 && x+r < w {
				s += src[x+r] - src[x-r-1]
			} else {
				s += at(x+r) - at(x-r-1)
			}
			dst[x] = s * inv
		}
	}
	out := newPlane(w, h)
	sum := make([]float32, w)
	row := func(y int) []float32 {
		y = min(max(y, 0), h-1)
		return tmp.p[y*w : (y+1)*w]
	}
	for y := -r - 1; y < r; y++ {
		for x, v := range row(y) {
			sum[x] += v
		}
	}
	for y := 0; y < h; y++ {
		add, sub := row(y+r), row(y-r-1)
		dst := out.p[y*w : (y+1)*w]
		for x := range sum {
			sum[x] += add[x] - sub[x]
			dst[x] = sum[x] * inv
		}
	}
	return out
}

// luma returns Rec. 601 luma of an NRGBA image.
func luma(m *image.NRGBA) *plane {
	b := m.Bounds()
	p := newPlane(b.Dx(), b.Dy())
	for y := 0; y < p.h; y++ {
		row := m.Pix[y*m.Stride:]
		for x := 0; x < p.w; x++ {
			p.p[y*p.w+x] = 0.299*float32(row[4*x]) + 0.587*float32(row[4*x+1]) + 0.114*float32(row[4*x+2])
		}
	}
	return p
}

// whiteness scores how paper-like each pixel is: bright and unsaturated.
// Wood, tablecloths and dark tables score low even when bright, because
// they are coloured; the factor 1.5 was chosen on the generated set where
// beige tables (chroma ≈ 40) must fall below white paper in shadow.
func whiteness(m *image.NRGBA) *plane {
	b := m.Bounds()
	p := newPlane(b.Dx(), b.Dy())
	for y := 0; y < p.h; y++ {
		row := m.Pix[y*m.Stride:]
		for x := 0; x < p.w; x++ {
			r, g, bl := float32(row[4*x]), float32(row[4*x+1]), float32(row[4*x+2])
			l := 0.299*r + 0.587*g + 0.114*bl
			c := max(r, g, bl) - min(r, g, bl)
			p.p[y*p.w+x] = l - 1.5*c
		}
	}
	return p
}

// otsu is Otsu's threshold for a histogram: the bin t that splits it into
// [0, t) and [t, len(hist)) with the largest between-class variance, the
// one threshold every part of the package uses. A histogram with nothing
// to split (one populated bin) gives len(hist)/2.
func otsu(hist []float64) int {
	var total, sum float64
	for i, c := range hist {
		total += c
		sum += float64(i) * c
	}
	var sumB, wB, best float64
	t := len(hist) / 2
	for i, c := range hist {
		wB += c
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += float64(i) * c
		mB, mF := sumB/wB, (sum-sumB)/wF
		if v := wB * wF * (mB - mF) * (mB - mF); v > best {
			best, t = v, i+1
		}
	}
	return t
}

// otsuRange is Otsu's threshold over the values of p within [lo, hi],
// in 256 bins: values above it are the brighter class.
func otsuRange(p *plane, lo, hi float32) float32 {
	const n = 256
	var hist [n]float64
	scale := float32(n-1) / (hi - lo)
	for _, v := range p.p {
		if v < lo || v > hi {
			continue
		}
		hist[min(int((v-lo)*scale), n-1)]++
	}
	return lo + (float32(otsu(hist[:]))-0.5)/scale
}

// detection is what findSheet learned about the small image.
type detection struct {
	found      bool
	quad       quad    // sheet corners, small-image continuous coordinates
	confidence float64 // 0..1, 1 = clean four-sided outline with contrast
	// borderTouch is the share of the image border covered by the paper
	// region: a sheet crossing the frame edge is cut off.
	borderTouch float64
	mask        []bool // paper region (largest bright component)
	areaFrac    float64
	support     float64 // weakest side's edge step, relative to minEdgeStep
}

// Detection thresholds, tuned on the generated evaluation set
// (TestSheetDetection): below minArea the "sheet" is more likely a
// reflection or a label; above maxArea there is no table visible and
// cropping would only lose margins.
const (
	minSheetArea = 0.08
	maxSheetArea = 0.985
	minEdgeStep  = 12.0 // whiteness step across the refined edges
)

// findSheet locates the largest bright, unsaturated, four-sided region.
//
// Method: whiteness map → light blur → thresholds at and above Otsu's →
// for each, the largest 4-connected component → convex hull → the four
// hull vertices enclosing the largest area → each side refined to
// sub-pixel precision by fitting a line to the strongest whiteness step
// found along its normals → corners are the intersections of the refined
// lines. Several thresholds are tried because a bright table or a lamp's
// hot spot can merge with the sheet at Otsu's threshold; the candidate kept
// is the largest one that is convincingly four-sided.
func findSheet(small *image.NRGBA) detection {
	wp := whiteness(small).boxBlur(1)
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range wp.p {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi-lo < 20 {
		return detection{} // flat image: nothing to separate
	}
	t := otsuRange(wp, lo, hi)
	// On a light table Otsu's threshold separates print from everything
	// else; a second Otsu among the brighter pixels separates paper from
	// table. Candidates around both are tried.
	t2 := otsuRange(wp, t, hi)
	var best detection
	var touch float64
	bestScore := -1.0
	for k, th := range []float32{t, t + 0.2*(hi-t), t + 0.4*(hi-t), t - 0.2*(t-lo), t2, t2 + 0.25*(hi-t2), t2 - 0.25*(t2-t)} {
		d := sheetAt(wp, th)
		if k == 0 {
			best = d
			touch = d.borderTouch
		}
		score := d.confidence * d.support * math.Sqrt(d.areaFrac)
		if d.found && score > bestScore {
			best, bestScore = d, score
		}
	}
	// Local contrast: whiteness minus its mean over an eighth of the frame.
	// Shading is smooth at that scale and cancels out, while the paper
	// stays brighter than the table right along its edge: the mask becomes
	// a ring inside the sheet's outline, whose hull is the sheet. This is
	// what finds white paper on a light table under a shadow.
	if bestScore < 0 {
		r := max(2, min(wp.w, wp.h)/8)
		bg := wp.boxBlur(r)
		for _, delta := range []float32{6, 12} {
			mask := make([]bool, len(wp.p))
			for i, v := range wp.p {
				mask[i] = v-bg.p[i] > delta
			}
			// An opening detaches bright table texture that touches
			// the sheet's ring.
			mask = morph(morph(mask, wp.w, wp.h, 2, false), wp.w, wp.h, 2, true)
			d := sheetIn(wp, mask, true)
			score := d.confidence * d.support * math.Sqrt(d.areaFrac)
			if d.found && score > bestScore {
				best, bestScore = d, score
			}
		}
	}
	// Whether paper crosses the frame is judged at Otsu's threshold: the
	// stricter thresholds shrink the paper region away from the border.
	best.borderTouch = touch
	return best
}

// sheetAt runs detection for one threshold of the whiteness map.
func sheetAt(wp *plane, t float32) detection {
	mask := make([]bool, len(wp.p))
	for i, v := range wp.p {
		mask[i] = v > t
	}
	return sheetIn(wp, mask, false)
}

// sheetIn finds the sheet outline in a candidate paper mask. ring says the
// mask only outlines the sheet, so it need not fill it.
func sheetIn(wp *plane, mask []bool, ring bool) detection {
	w, h := wp.w, wp.h
	var d detection
	comp, area := largestComponent(mask, w, h)
	d.mask = comp
	d.areaFrac = float64(area) / float64(w*h)
	var touch int
	for x := 0; x < w; x++ {
		if comp[x] {
			touch++
		}
		if comp[(h-1)*w+x] {
			touch++
		}
	}
	for y := 1; y < h-1; y++ {
		if comp[y*w] {
			touch++
		}
		if comp[y*w+w-1] {
			touch++
		}
	}
	d.borderTouch = float64(touch) / float64(2*w+2*h-4)
	if (!ring && d.areaFrac < minSheetArea) || d.areaFrac > maxSheetArea {
		return d
	}

	// Hull of the row extremes is the hull of the component.
	pts := make([]point, 0, 2*h)
	for y := 0; y < h; y++ {
		first, last := -1, -1
		for x := 0; x < w; x++ {
			if comp[y*w+x] {
				if first < 0 {
					first = x
				}
				last = x
			}
		}
		if first >= 0 {
			pts = append(pts, point{float64(first), float64(y) + 0.5}, point{float64(last + 1), float64(y) + 0.5})
		}
	}
	sort.Slice(pts, func(i, j int) bool {
		if pts[i].X != pts[j].X {
			return pts[i].X < pts[j].X
		}
		return pts[i].Y < pts[j].Y
	})
	hull := convexHull(pts)
	if len(hull) < 4 {
		return d
	}
	hullArea := math.Abs(polyArea(hull))
	// Two outlines are tried: the largest quad inside the hull (right when
	// the mask has an extra bump, e.g. a reflection on the table) and the
	// smallest quad around it with sides on hull edges (right when part of
	// the sheet is missing from the mask, e.g. a corner in shadow). The
	// one whose sides sit on the strongest edges wins.
	var cands []quad
	if q, ok := maxAreaQuad(hull); ok {
		cands = append(cands, q)
	}
	if q, ok := enclosingQuad(hull); ok {
		cands = append(cands, q)
	}
	bestScore := -1.0
	for _, q := range cands {
		fillArea := area
		if ring {
			fillArea = int(hullArea)
		}
		c := judgeQuad(wp, q, hullArea, fillArea)
		if s := c.confidence * c.support; s > bestScore {
			bestScore = s
			d.quad, d.confidence, d.support = c.quad, c.confidence, c.support
		}
	}
	d.found = d.confidence >= 0.9
	return d
}

type judged struct {
	quad                quad
	confidence, support float64
}

// judgeQuad refines a candidate outline and scores it. Confidence: the
// outline must match the hull (area ratio), be mostly bright inside, have a
// visible step at its edges, a plausible size and sane angles. Support is
// the weakest side's median edge step, relative to minEdgeStep.
func judgeQuad(wp *plane, q quad, hullArea float64, area int) judged {
	w, h := wp.w, wp.h
	qArea := math.Abs(polyArea(q[:]))
	rq, step, ok := refineQuad(wp, q)
	if ok {
		q = rq
	}
	var j judged
	j.quad = orderQuad(q)
	j.support = math.Min(step/minEdgeStep, 2)
	fa := math.Abs(polyArea(j.quad[:])) / float64(w*h)
	conf := 1.0
	if r := math.Min(qArea/hullArea, hullArea/qArea); r < 0.97 {
		conf = r
		if r < 0.85 {
			conf = 0
		}
	}
	if fill := float64(area) / math.Max(qArea, 1); fill < 0.55 {
		conf = 0
	}
	if !ok || step < minEdgeStep {
		conf = 0
	}
	if fa < minSheetArea || fa > maxSheetArea {
		conf = 0
	}
	for i := 0; i < 4; i++ {
		a, b, c := j.quad[(i+3)%4], j.quad[i], j.quad[(i+1)%4]
		v1, v2 := point{a.X - b.X, a.Y - b.Y}, point{c.X - b.X, c.Y - b.Y}
		cos := (v1.X*v2.X + v1.Y*v2.Y) / (math.Hypot(v1.X, v1.Y)*math.Hypot(v2.X, v2.Y) + 1e-9)
		if math.Abs(cos) > 0.6 { // interior angle outside ~53°..127°
			conf = 0
		}
	}
	j.confidence = conf
	return j
}

// enclosingQuad returns the smallest quadrilateral around the hull whose
// four sides lie on hull edges. The hull is first simplified so that only
// edges longer than a few pixels remain candidates.
func enclosingQuad(hull []point) (quad, bool) {
	hull = simplify(hull, 1.5)
	var edges []lineFit
	n := len(hull)
	for i := 0; i < n; i++ {
		a, b := hull[i], hull[(i+1)%n]
		L := dist(a, b)
		if L < 6 {
			continue
		}
		edges = append(edges, lineFit{a, point{(b.X - a.X) / L, (b.Y - a.Y) / L}})
	}
	m := len(edges)
	if m < 4 || m > 60 {
		return quad{}, false
	}
	best := math.Inf(1)
	var bq quad
	var ls [4]lineFit
	for i := 0; i < m; i++ {
		for j := i + 1; j < m; j++ {
			for k := j + 1; k < m; k++ {
				for l := k + 1; l < m; l++ {
					ls = [4]lineFit{edges[i], edges[j], edges[k], edges[l]}
					var q quad
					ok := true
					for c := 0; c < 4 && ok; c++ {
						a, b := ls[(c+3)%4], ls[c]
						// consecutive sides must turn by less than 180°
						if a.D.X*b.D.Y-a.D.Y*b.D.X <= 0.05 {
							ok = false
							break
						}
						q[c], ok = intersect(a, b)
					}
					if !ok {
						continue
					}
					if ar := math.Abs(polyArea(q[:])); ar < best {
						best, bq = ar, q
					}
				}
			}
		}
	}
	return bq, !math.IsInf(best, 1)
}

// simplify drops hull vertices closer than eps to the segment joining their
// neighbours, so that a digitised straight edge becomes one long edge.
func simplify(p []point, eps float64) []point {
	p = append([]point(nil), p...)
	for changed := true; changed && len(p) > 4; {
		changed = false
		for i := 0; i < len(p) && len(p) > 4; i++ {
			a, b, c := p[(i+len(p)-1)%len(p)], p[i], p[(i+1)%len(p)]
			if L := dist(a, c); L > 0 && math.Abs(cross(a, c, b))/L < eps {
				p = append(p[:i], p[i+1:]...)
				changed = true
				i--
			}
		}
	}
	return p
}

// morph erodes (grow=false) or dilates (grow=true) a mask with a square of
// radius r, as two separable passes.
func morph(m []bool, w, h, r int, grow bool) []bool {
	pass := func(src []bool, dx, dy int) []bool {
		out := make([]bool, len(src))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := !grow
				for k := -r; k <= r && v != grow; k++ {
					xx, yy := x+k*dx, y+k*dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						continue
					}
					if src[yy*w+xx] == grow {
						v = grow
					}
				}
				out[y*w+x] = v
			}
		}
		return out
	}
	return pass(pass(m, 1, 0), 0, 1)
}

// largestComponent labels 4-connected components of mask and keeps the
// largest, returning it and its pixel count.
func largestComponent(mask []bool, w, h int) ([]bool, int) {
	// A border of false around the mask spares the fill any edge test (and
	// the division that finds a pixel's column).
	pw := w + 2
	in := make([]bool, pw*(h+2))
	for y := 0; y < h; y++ {
		copy(in[(y+1)*pw+1:], mask[y*w:(y+1)*w])
	}
	label := make([]int32, len(in))
	stack := make([]int32, 0, 1024)
	var best, bestN int32
	next := int32(0)
	for y := 1; y <= h; y++ {
		for i := y * pw; i < y*pw+pw; i++ {
			if !in[i] || label[i] != 0 {
				continue
			}
			next++
			n := int32(0)
			stack = append(stack[:0], int32(i))
			label[i] = next
			for len(stack) > 0 {
				j := int(stack[len(stack)-1])
				stack = stack[:len(stack)-1]
				n++
				for _, nj := range [4]int{j - 1, j + 1, j - pw, j + pw} {
					if in[nj] && label[nj] == 0 {
						label[nj] = next
						stack = append(stack, int32(nj))
					}
				}
			}
			if n > bestN {
				best, bestN = next, n
			}
		}
	}
	out := make([]bool, w*h)
	if best == 0 {
		return out, 0
	}
	for y := 0; y < h; y++ {
		for x, l := range label[(y+1)*pw+1 : (y+1)*pw+1+w] {
			out[y*w+x] = l == best
		}
	}
	return out, int(bestN)
}

// maxAreaQuad picks the four hull vertices enclosing the largest area. For
// each diagonal (i, j) the best third and fourth vertices are the farthest
// on either side; hulls of a sheet have a few dozen vertices, so O(n³) is
// cheap. Larger hulls are thinned first.
func maxAreaQuad(hull []point) (quad, bool) {
	for len(hull) > 120 {
		thin := make([]point, 0, len(hull)/2+1)
		for i := 0; i < len(hull); i += 2 {
			thin = append(thin, hull[i])
		}
		hull = thin
	}
	n := len(hull)
	var best float64
	var q quad
	for i := 0; i < n; i++ {
		for j := i + 2; j < n; j++ {
			var l, r float64
			li, ri := -1, -1
			for k := 0; k < n; k++ {
				if k == i || k == j {
					continue
				}
				c := cross(hull[i], hull[j], hull[k])
				if c > r {
					r, ri = c, k
				}
				if -c > l {
					l, li = -c, k
				}
			}
			if li >= 0 && ri >= 0 && l+r > best {
				best = l + r
				q = quad{hull[i], hull[ri], hull[j], hull[li]}
			}
		}
	}
	return q, best > 0
}

// refineQuad moves each side onto the strongest whiteness step along its
// normals (±search px), fits a line to those points, drops outliers once,
// and intersects neighbouring lines. It returns the weakest side's median
// step height, which measures how visible the sheet outline is.
func refineQuad(wp *plane, q quad) (quad, float64, bool) {
	q = orderQuad(q)
	c := point{(q[0].X + q[1].X + q[2].X + q[3].X) / 4, (q[0].Y + q[1].Y + q[2].Y + q[3].Y) / 4}
	const search = 6.0
	var lines [4]lineFit
	stepMin := math.Inf(1)
	for s := 0; s < 4; s++ {
		a, b := q[s], q[(s+1)%4]
		L := dist(a, b)
		if L < 8 {
			return q, 0, false
		}
		dx, dy := (b.X-a.X)/L, (b.Y-a.Y)/L
		nx, ny := -dy, dx
		mid := point{(a.X + b.X) / 2, (a.Y + b.Y) / 2}
		if (c.X-mid.X)*nx+(c.Y-mid.Y)*ny < 0 {
			nx, ny = -nx, -ny // normal points inward, towards the paper
		}
		var pts []point
		var steps []float64
		const samples = 48
		for k := 0; k < samples; k++ {
			t := 0.1 + 0.8*float64(k)/float64(samples-1)
			p := point{a.X + t*(b.X-a.X), a.Y + t*(b.Y-a.Y)}
			bestG, bestO := 0.0, 0.0
			var g [int(2*search*2) + 1]float64
			for i := range g {
				o := -search + float64(i)*0.5
				in := wp.sample(p.X+(o+1)*nx, p.Y+(o+1)*ny)
				out := wp.sample(p.X+(o-1)*nx, p.Y+(o-1)*ny)
				g[i] = in - out
				if g[i] > bestG {
					bestG, bestO = g[i], o
				}
			}
			if bestG <= 0 {
				continue
			}
			pts = append(pts, point{p.X + bestO*nx, p.Y + bestO*ny})
			steps = append(steps, bestG)
		}
		if len(pts) < samples/3 {
			return q, 0, false
		}
		l := fitLine(pts)
		kept := pts[:0]
		for _, p := range pts {
			if math.Abs((p.X-l.P.X)*l.D.Y-(p.Y-l.P.Y)*l.D.X) < 1.5 {
				kept = append(kept, p)
			}
		}
		if len(kept) >= samples/4 {
			l = fitLine(kept)
		}
		lines[s] = l
		sort.Float64s(steps)
		stepMin = math.Min(stepMin, steps[len(steps)/2])
	}
	var r quad
	for i := 0; i < 4; i++ {
		p, ok := intersect(lines[(i+3)%4], lines[i])
		if !ok || dist(p, q[i]) > 3*search {
			return q, stepMin, false
		}
		r[i] = p
	}
	return r, stepMin, true
}
