package ingest

import (
	"image"
	"math"
	"sort"
)

// Tesseract's French and English models read the OCR-B of machine-readable
// zones poorly (9 as O, 0 as O, '<' as K…). The zone is printed in one
// standard typeface (ISO 1073-2) at a fixed pitch, so its characters are
// better read by comparing each one with the 37 glyphs of that typeface:
// readMRZGlyphs does that on the band of the page where tesseract found the
// zone. The glyph shapes (mrz_glyphs.go) were measured on OCR-B by Matthew
// Skala (public domain).

// Glyph features: the ink of the glyph's bounding box on a grid, and its
// size and position relative to the line's capital height.
const (
	glyphW = 10
	glyphH = 14
)

type glyphFeatures struct {
	grid [glyphW * glyphH]float32
	w, h float32 // bounding box, in capital heights
	top  float32 // top of the box below the capitals' top, in capital heights
}

// mrzGlyph is the reference shape of one character.
type mrzGlyph struct {
	r rune
	f glyphFeatures
}

// component is a connected blob of ink.
type component struct {
	box  image.Rectangle
	area int
}

// readMRZGlyphs reads the lines of a machine-readable zone in a grey
// image of the zone's band. It returns the lines top to bottom, one rune
// per glyph, or nothing when no line of at least 25 glyphs is found.
func readMRZGlyphs(g *image.Gray) []string {
	b := g.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 50 || h < 10 || len(mrzGlyphs) == 0 {
		return nil
	}
	ink := binarizeOtsu(g)
	comps := components(ink, w, h)
	if len(comps) < 25 {
		return nil
	}
	// Characters are the components of the common height: drop specks
	// and smudges far from the median.
	hs := make([]int, len(comps))
	for i, c := range comps {
		hs[i] = c.box.Dy()
	}
	sort.Ints(hs)
	med := hs[len(hs)*3/4] // most glyphs are capitals; '<' are shorter
	var chars []component
	for _, c := range comps {
		if c.box.Dy() >= med/4 && c.box.Dy() <= med*2 && c.box.Dx() <= med*2 && c.area >= med*med/40 {
			chars = append(chars, c)
		}
	}
	// Lines: sort by vertical centre and cut where the gap exceeds half a
	// capital height.
	sort.Slice(chars, func(i, j int) bool {
		return chars[i].box.Min.Y+chars[i].box.Max.Y < chars[j].box.Min.Y+chars[j].box.Max.Y
	})
	var lines [][]component
	for i, c := range chars {
		cy := (c.box.Min.Y + c.box.Max.Y) / 2
		if i == 0 || cy-(chars[i-1].box.Min.Y+chars[i-1].box.Max.Y)/2 > med/2 {
			lines = append(lines, nil)
		}
		lines[len(lines)-1] = append(lines[len(lines)-1], c)
	}
	var out []string
	for _, l := range lines {
		if len(l) < 25 {
			continue
		}
		sort.Slice(l, func(i, j int) bool { return l[i].box.Min.X < l[j].box.Min.X })
		l = mergeOverlapping(l)
		// The line's capital height and top, from its tallest glyphs.
		lh := make([]int, len(l))
		for i, c := range l {
			lh[i] = c.box.Dy()
		}
		sort.Ints(lh)
		capH := float32(lh[len(lh)*3/4])
		if capH < 6 {
			continue
		}
		top := medianTop(l, func(c component) bool { return float32(c.box.Dy()) > 0.85*capH })
		read := make([]rune, len(l))
		for i, c := range l {
			f := measureGlyph(ink, w, c.box, capH, top)
			read[i] = classifyGlyph(&f)
		}
		out = append(out, string(read))
	}
	return out
}

func medianTop(l []component, keep func(component) bool) int {
	var tops []int
	for _, c := range l {
		if keep(c) {
			tops = append(tops, c.box.Min.Y)
		}
	}
	if len(tops) == 0 {
		return l[0].box.Min.Y
	}
	sort.Ints(tops)
	return tops[len(tops)/2]
}

// mergeOverlapping joins components one above the other (a glyph broken
// by blur or a scratch).
func mergeOverlapping(l []component) []component {
	var out []component
	for _, c := range l {
		if n := len(out); n > 0 {
			p := out[n-1]
			ov := min(p.box.Max.X, c.box.Max.X) - max(p.box.Min.X, c.box.Min.X)
			if ov*2 > min(p.box.Dx(), c.box.Dx()) {
				out[n-1] = component{box: p.box.Union(c.box), area: p.area + c.area}
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// measureGlyph computes the features of the ink inside box.
func measureGlyph(ink []bool, stride int, box image.Rectangle, capH float32, top int) glyphFeatures {
	var f glyphFeatures
	bw, bh := box.Dx(), box.Dy()
	var count [glyphW * glyphH]float32
	for y := box.Min.Y; y < box.Max.Y; y++ {
		gy := (y - box.Min.Y) * glyphH / bh
		for x := box.Min.X; x < box.Max.X; x++ {
			gx := (x - box.Min.X) * glyphW / bw
			count[gy*glyphW+gx]++
			if ink[y*stride+x] {
				f.grid[gy*glyphW+gx]++
			}
		}
	}
	for i := range f.grid {
		if count[i] > 0 {
			f.grid[i] /= count[i]
		}
	}
	f.w = float32(bw) / capH
	f.h = float32(bh) / capH
	f.top = float32(box.Min.Y-top) / capH
	return f
}

// classifyGlyph returns the reference glyph nearest to f.
func classifyGlyph(f *glyphFeatures) rune {
	best, bestD := '?', float32(math.MaxFloat32)
	for i := range mrzGlyphs {
		g := &mrzGlyphs[i].f
		var d float32
		for k := range f.grid {
			e := f.grid[k] - g.grid[k]
			d += e * e
		}
		d /= glyphW * glyphH
		dw, dh, dt := f.w-g.w, f.h-g.h, f.top-g.top
		d += 2*dw*dw + 2*dh*dh + dt*dt
		if d < bestD {
			best, bestD = mrzGlyphs[i].r, d
		}
	}
	return best
}

// binarizeOtsu marks the dark pixels of g, with Otsu's threshold.
func binarizeOtsu(g *image.Gray) []bool {
	b := g.Bounds()
	w, h := b.Dx(), b.Dy()
	var hist [256]float64
	for y := 0; y < h; y++ {
		for _, v := range g.Pix[y*g.Stride : y*g.Stride+w] {
			hist[v]++
		}
	}
	t := otsu(hist[:])
	ink := make([]bool, w*h)
	for y := 0; y < h; y++ {
		row := g.Pix[y*g.Stride:]
		for x := 0; x < w; x++ {
			ink[y*w+x] = int(row[x]) < t
		}
	}
	return ink
}

// components labels the 8-connected blobs of ink.
func components(ink []bool, w, h int) []component {
	seen := make([]bool, len(ink))
	var out []component
	var stack []int
	for i, v := range ink {
		if !v || seen[i] {
			continue
		}
		c := component{box: image.Rect(i%w, i/w, i%w+1, i/w+1)}
		stack = append(stack[:0], i)
		seen[i] = true
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := p%w, p/w
			c.area++
			c.box = c.box.Union(image.Rect(x, y, x+1, y+1))
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if ink[q] && !seen[q] {
						seen[q] = true
						stack = append(stack, q)
					}
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// mrzGlyphs is mrzGlyphData decoded.
var mrzGlyphs = func() []mrzGlyph { //nolint:gochecknoglobals // decoded once from a constant table
	out := make([]mrzGlyph, len(mrzGlyphData))
	for i, d := range mrzGlyphData {
		out[i].r = d.r
		for k := 0; k < len(d.grid) && k < glyphW*glyphH; k++ {
			c := d.grid[k]
			v := c - '0'
			if c >= 'a' {
				v = c - 'a' + 10
			}
			out[i].f.grid[k] = float32(v) / 15
		}
		out[i].f.w, out[i].f.h, out[i].f.top = d.w, d.h, d.t
	}
	return out
}()
