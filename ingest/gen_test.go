package ingest

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Words are stripped of accents: basicfont covers ASCII only.

// The evaluation set is generated, deterministically, from a seeded RNG:
// documents with text-like content (real French words in basicfont, a
// title, a table, a stamp) placed with known corners, rotation and
// perspective on varied backgrounds, then lit unevenly, blurred and noised.

//nolint:gochecknoglobals // a constant list
var words = strings.Fields(`le la les de des du un une et a au aux pour par sur dans avec sans
attestation caisse allocations familiales quotient familial montant droits
periode janvier fevrier mars avril mai juin juillet aout septembre octobre
novembre decembre bulletin salaire net imposable cotisations employeur
avis impot revenu reference fiscal numero allocataire loyer quittance
logement bailleur adresse rue avenue boulevard commune code postal
madame monsieur nous vous certifions que percevez beneficiez depuis
total paye verse du solde compte bancaire identite titre sejour prefecture`)

// renderDoc draws an A4-proportioned document page at ~75 dpi.
func renderDoc(rng *rand.Rand, w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	paper := color.RGBA{uint8(222 + rng.IntN(18)), uint8(220 + rng.IntN(18)), uint8(212 + rng.IntN(20)), 255}
	draw.Draw(m, m.Bounds(), &image.Uniform{paper}, image.Point{}, draw.Src)
	ink := color.RGBA{uint8(10 + rng.IntN(40)), uint8(10 + rng.IntN(40)), uint8(20 + rng.IntN(50)), 255}
	d := &font.Drawer{Dst: m, Src: &image.Uniform{ink}, Face: basicfont.Face7x13}
	margin := w / 10
	say := func(x, y int, s string) {
		d.Dot = fixed.P(x, y)
		d.DrawString(s)
	}
	sentence := func(maxw int) string {
		var b strings.Builder
		for b.Len()*7 < maxw-60 {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		s := b.String()
		if len(s)*7 > maxw {
			s = s[:maxw/7]
		}
		return strings.ToUpper(s[:1]) + s[1:]
	}
	// Letterhead block and title.
	logo := color.RGBA{uint8(rng.IntN(60)), uint8(60 + rng.IntN(80)), uint8(120 + rng.IntN(100)), 255}
	draw.Draw(m, image.Rect(margin, margin/2, margin+60, margin/2+40), &image.Uniform{logo}, image.Point{}, draw.Src)
	y := margin/2 + 70
	title := strings.ToUpper(sentence(w / 2))
	for dx := 0; dx < 2; dx++ {
		say(margin+dx, y, title)
	}
	y += 30
	for y < h-margin {
		switch r := rng.IntN(10); {
		case r == 0 && y < h-margin-120: // table
			rows, cols := 3+rng.IntN(4), 3
			cw := (w - 2*margin) / cols
			for i := 0; i <= rows; i++ {
				draw.Draw(m, image.Rect(margin, y+i*18, w-margin, y+i*18+1), &image.Uniform{ink}, image.Point{}, draw.Src)
			}
			for j := 0; j <= cols; j++ {
				draw.Draw(m, image.Rect(margin+j*cw, y, margin+j*cw+1, y+rows*18), &image.Uniform{ink}, image.Point{}, draw.Src)
			}
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					say(margin+j*cw+4, y+i*18+14, words[rng.IntN(len(words))])
				}
			}
			y += rows*18 + 24
		case r == 1: // paragraph break
			y += 16
		default:
			say(margin, y, sentence(w-2*margin))
			y += 16
		}
	}
	// A round stamp in colour, partly over the text.
	sc := color.RGBA{uint8(150 + rng.IntN(100)), 30, uint8(40 + rng.IntN(120)), 255}
	cx, cy, r := w-margin-50, h-margin-60, 40.0
	for yy := cy - 45; yy < cy+45; yy++ {
		for xx := cx - 45; xx < cx+45; xx++ {
			dd := math.Hypot(float64(xx-cx), float64(yy-cy))
			if math.Abs(dd-r) < 2.5 || math.Abs(dd-r+8) < 1.2 {
				m.SetRGBA(xx, yy, sc)
			}
		}
	}
	return m
}

// background kinds
const (
	bgWood = iota
	bgNoise
	bgDark
	bgLight
	bgKinds
)

func renderBackground(rng *rand.Rand, kind, w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	ph := rng.Float64() * 10
	period := 6 + rng.Float64()*10
	angle := rng.Float64() * math.Pi
	sa, ca := math.Sincos(angle)
	base := [3]float64{}
	switch kind {
	case bgWood:
		base = [3]float64{110 + rng.Float64()*60, 70 + rng.Float64()*40, 35 + rng.Float64()*30}
	case bgNoise:
		base = [3]float64{60 + rng.Float64()*120, 60 + rng.Float64()*120, 60 + rng.Float64()*120}
	case bgDark:
		g := 25 + rng.Float64()*40
		base = [3]float64{g, g + rng.Float64()*10, g + rng.Float64()*20}
	case bgLight:
		g := 160 + rng.Float64()*35
		base = [3]float64{g + rng.Float64()*12, g + rng.Float64()*8, g - rng.Float64()*10}
	}
	// coarse value noise for blotches
	const cell = 64
	gw, gh := w/cell+2, h/cell+2
	grid := make([]float64, gw*gh)
	for i := range grid {
		grid[i] = rng.Float64()*2 - 1
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/cell, float64(y)/cell
			ix, iy := int(fx), int(fy)
			tx, ty := fx-float64(ix), fy-float64(iy)
			vn := (grid[iy*gw+ix]*(1-tx)+grid[iy*gw+ix+1]*tx)*(1-ty) + (grid[(iy+1)*gw+ix]*(1-tx)+grid[(iy+1)*gw+ix+1]*tx)*ty
			var f float64
			switch kind {
			case bgWood:
				u := (float64(x)*ca + float64(y)*sa)
				v := -float64(x)*sa + float64(y)*ca
				f = 0.18*math.Sin(u/period+3*math.Sin(v/180+ph)) + 0.08*vn
			case bgNoise:
				f = 0.35*vn + 0.15*(rng.Float64()-0.5)
			default:
				f = 0.08*vn + 0.04*(rng.Float64()-0.5)
			}
			o := y*m.Stride + 4*x
			for c := 0; c < 3; c++ {
				m.Pix[o+c] = uint8(math.Max(0, math.Min(255, base[c]*(1+f))))
			}
			m.Pix[o+3] = 255
		}
	}
	return m
}

// scene is one generated photo with its ground truth.
type scene struct {
	img     *image.RGBA
	corners quad
	blur    float64
	kind    int
}

type sceneOpts struct {
	w, h       int
	blur       float64 // Gaussian σ in pixels
	noise      float64 // Gaussian σ in levels
	shadow     bool
	dark       float64 // global light multiplier, 1 = normal
	minFill    float64 // sheet height as share of the image height
	maxFill    float64
	rot        float64 // max rotation, degrees
	persp      float64 // max corner jitter, share of sheet width
	kind       int     // background kind, -1 for random
	cutOff     bool    // push the sheet across an edge
	glare      bool
	landscape  bool // sheet lying sideways, its top on the right of the photo
	topLeft    bool // with landscape: its top on the left instead
	upsideDown bool
}

func genScene(rng *rand.Rand, o sceneOpts) scene {
	doc := renderDoc(rng, 620, 877)
	kind := o.kind
	if kind < 0 {
		kind = rng.IntN(bgKinds)
	}
	bg := renderBackground(rng, kind, o.w, o.h)
	W, H := float64(o.w), float64(o.h)
	var q quad
	for try := 0; ; try++ {
		fill := o.minFill + rng.Float64()*(o.maxFill-o.minFill)
		sh := fill * math.Min(W, H)
		if o.h > o.w {
			sh = fill * H * 0.9
		}
		sw := sh / math.Sqrt2
		if sw > 0.9*W {
			sw = 0.9 * W
			sh = sw * math.Sqrt2
		}
		if o.landscape {
			sw, sh = sh, sw
		}
		c := point{W/2 + (rng.Float64()-0.5)*0.15*W, H/2 + (rng.Float64()-0.5)*0.15*H}
		if o.cutOff {
			c.X = W - 0.2*sw // 30 % of the sheet beyond the right edge
		}
		a := (rng.Float64()*2 - 1) * o.rot * math.Pi / 180
		base := [4]point{{-sw / 2, -sh / 2}, {sw / 2, -sh / 2}, {sw / 2, sh / 2}, {-sw / 2, sh / 2}}
		s, co := math.Sincos(a)
		ok := true
		for i, p := range base {
			jx := (rng.Float64()*2 - 1) * o.persp * sw
			jy := (rng.Float64()*2 - 1) * o.persp * sw
			x, y := p.X+jx, p.Y+jy
			q[i] = point{c.X + x*co - y*s, c.Y + x*s + y*co}
			m := 0.02 * math.Min(W, H)
			if !o.cutOff && (q[i].X < m || q[i].Y < m || q[i].X > W-m || q[i].Y > H-m) {
				ok = false
			}
		}
		if ok || try > 50 {
			break
		}
	}
	// Render the sheet: inverse homography per pixel, coverage-based
	// anti-aliasing along the edges so corners are sub-pixel exact.
	dw, dh := float64(doc.Rect.Dx()), float64(doc.Rect.Dy())
	src := [4]point{{0, 0}, {dw, 0}, {dw, dh}, {0, dh}}
	if o.landscape {
		// the document is lying sideways: its top edge is the quad's left edge
		src = [4]point{{0, dh}, {0, 0}, {dw, 0}, {dw, dh}}
		if o.topLeft {
			src = [4]point{{dw, 0}, {dw, dh}, {0, dh}, {0, 0}}
		}
	}
	if o.upsideDown {
		src = [4]point{{dw, dh}, {0, dh}, {0, 0}, {dw, 0}}
	}
	hm, _ := homography(q, src)
	img := bg
	// The sides' lengths, and the pixels that can be covered at all (the
	// quad's bounds and a margin past where coverage reaches 0), worked
	// out once: the same figures as computing them for every pixel.
	var side [4]float64
	x0q, y0q, x1q, y1q := W, H, 0.0, 0.0
	for i := 0; i < 4; i++ {
		side[i] = dist(q[i], q[(i+1)%4])
		x0q, y0q = math.Min(x0q, q[i].X), math.Min(y0q, q[i].Y)
		x1q, y1q = math.Max(x1q, q[i].X), math.Max(y1q, q[i].Y)
	}
	for y := max(0, int(y0q)-3); y < min(o.h, int(y1q)+3); y++ {
		for x := max(0, int(x0q)-3); x < min(o.w, int(x1q)+3); x++ {
			p := point{float64(x) + 0.5, float64(y) + 0.5}
			cov := 1.0
			for i := 0; i < 4; i++ {
				d := cross(q[i], q[(i+1)%4], p) / side[i]
				cov = math.Min(cov, math.Max(0, math.Min(1, d+0.5)))
			}
			if cov == 0 {
				continue
			}
			s := hm.apply(p)
			var rgb [3]float64
			sx, sy := s.X-0.5, s.Y-0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			for c := 0; c < 3; c++ {
				at := func(xx, yy int) float64 {
					xx = min(max(xx, 0), doc.Rect.Dx()-1)
					yy = min(max(yy, 0), doc.Rect.Dy()-1)
					return float64(doc.Pix[yy*doc.Stride+4*xx+c])
				}
				rgb[c] = (at(x0, y0)*(1-fx)+at(x0+1, y0)*fx)*(1-fy) + (at(x0, y0+1)*(1-fx)+at(x0+1, y0+1)*fx)*fy
			}
			off := y*img.Stride + 4*x
			for c := 0; c < 3; c++ {
				img.Pix[off+c] = uint8(cov*rgb[c] + (1-cov)*float64(img.Pix[off+c]) + 0.5)
			}
		}
	}
	// Lighting: a warm or cool cast, a linear gradient and maybe a soft
	// shadow (a hand or the phone), then global darkness.
	cast := [3]float64{1 + (rng.Float64()-0.5)*0.12, 1, 1 + (rng.Float64()-0.5)*0.12}
	ga := rng.Float64() * 2 * math.Pi
	gs := 0.10 + rng.Float64()*0.10
	var sc point
	var sr float64
	if o.shadow {
		sc = q[rng.IntN(4)]
		sr = 0.4 * math.Min(W, H)
	}
	cga, sga := math.Cos(ga), math.Sin(ga)
	for y := 0; y < o.h; y++ {
		for x := 0; x < o.w; x++ {
			l := 1 + gs*((float64(x)/W-0.5)*cga+(float64(y)/H-0.5)*sga)
			if o.shadow {
				d := math.Hypot(float64(x)-sc.X, float64(y)-sc.Y) / sr
				if d < 1 {
					l *= 1 - 0.35*(1-d*d)
				}
			}
			if o.dark > 0 {
				l *= o.dark
			}
			off := y*img.Stride + 4*x
			for c := 0; c < 3; c++ {
				img.Pix[off+c] = uint8(math.Min(255, float64(img.Pix[off+c])*l*cast[c]))
			}
		}
	}
	if o.glare {
		gc := point{(q[0].X + q[2].X) / 2, (q[0].Y + q[2].Y) / 2}
		gr := 0.12 * math.Min(W, H)
		for y := 0; y < o.h; y++ {
			for x := 0; x < o.w; x++ {
				d := math.Hypot(float64(x)-gc.X, (float64(y)-gc.Y)*1.6) / gr
				if d < 1 {
					off := y*img.Stride + 4*x
					for c := 0; c < 3; c++ {
						v := float64(img.Pix[off+c]) + 400*(1-d)
						img.Pix[off+c] = uint8(math.Min(255, v))
					}
				}
			}
		}
	}
	if o.blur > 0 {
		img = gaussian(img, o.blur)
	}
	if o.noise > 0 {
		for i := range img.Pix {
			if i%4 == 3 {
				continue
			}
			v := float64(img.Pix[i]) + rng.NormFloat64()*o.noise
			img.Pix[i] = uint8(math.Max(0, math.Min(255, v)))
		}
	}
	return scene{img: img, corners: q, blur: o.blur, kind: kind}
}

// gaussian approximates a Gaussian blur of standard deviation sigma with
// three box blurs (the usual "box blur ×3" construction).
func gaussian(m *image.RGBA, sigma float64) *image.RGBA {
	r := int(math.Round((math.Sqrt(4*sigma*sigma+1) - 1) / 2))
	if r < 1 {
		r = 1
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewRGBA(m.Rect)
	copy(out.Pix, m.Pix)
	for c := 0; c < 3; c++ {
		p := newPlane(w, h)
		for i := range p.p {
			p.p[i] = float32(out.Pix[4*i+c])
		}
		p = p.boxBlur(r).boxBlur(r).boxBlur(r)
		for i := range p.p {
			out.Pix[4*i+c] = uint8(p.p[i] + 0.5)
		}
	}
	return out
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func itoa(i int) string { return strconv.Itoa(i) }
