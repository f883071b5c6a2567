package ingest

import (
	"image"
	"math"
	"testing"

	"github.com/disintegration/imaging"
)

// TestBoxBlur compares the running-sum blur with the direct definition.
func TestBoxBlur(t *testing.T) {
	p := newPlane(37, 23)
	for i := range p.p {
		p.p[i] = float32((i * 7919) % 255)
	}
	for _, r := range []int{1, 2, 15} {
		got := p.boxBlur(r)
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				var s float32
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						s += p.at(x+dx, y+dy)
					}
				}
				s /= float32((2*r + 1) * (2*r + 1))
				if d := got.p[y*p.w+x] - s; d > 0.01 || d < -0.01 {
					t.Fatalf("r=%d (%d,%d): %v vs %v", r, x, y, got.p[y*p.w+x], s)
				}
			}
		}
	}
}

func TestHomography(t *testing.T) {
	src := [4]point{{0, 0}, {100, 0}, {100, 140}, {0, 140}}
	dst := [4]point{{12, 30}, {95, 20}, {110, 160}, {5, 150}}
	m, ok := homography(src, dst)
	if !ok {
		t.Fatal("no homography")
	}
	for i := range src {
		if p := m.apply(src[i]); dist(p, dst[i]) > 1e-6 {
			t.Errorf("corner %d maps to %v, want %v", i, p, dst[i])
		}
	}
	inv, ok := m.inverse()
	if !ok {
		t.Fatal("not invertible")
	}
	if p := inv.apply(m.apply(point{37, 81})); dist(p, point{37, 81}) > 1e-6 {
		t.Errorf("inverse round trip gives %v", p)
	}
	if iou := quadIoU(quad(dst), quad(dst)); math.Abs(iou-1) > 1e-9 {
		t.Errorf("IoU of a quad with itself is %v", iou)
	}
	half := quad{{0, 0}, {50, 0}, {50, 140}, {0, 140}}
	if iou := quadIoU(quad(src), half); math.Abs(iou-0.5) > 1e-9 {
		t.Errorf("IoU with its left half is %v", iou)
	}
}

// TestWarpFastPath checks the fixed-point span sampler for YCbCr sources
// against the exact per-pixel path used for other sources.
func TestWarpFastPath(t *testing.T) {
	src := image.NewYCbCr(image.Rect(0, 0, 403, 301), image.YCbCrSubsampleRatio420)
	// Smooth content: the two paths may round differently, and one
	// interpolates luma before colour conversion, the other after.
	for y := 0; y < 301; y++ {
		for x := 0; x < 403; x++ {
			src.Y[y*src.YStride+x] = uint8(128 + 100*math.Sin(float64(x)/7)*math.Cos(float64(y)/9))
			ci := src.COffset(x, y)
			src.Cb[ci] = uint8(128 + 20*math.Sin(float64(y)/30))
			src.Cr[ci] = uint8(128 + 20*math.Cos(float64(x)/40))
		}
	}
	m, _ := homography([4]point{{0, 0}, {200, 0}, {200, 280}, {0, 280}},
		[4]point{{20.3, 10.7}, {390.2, 30.1}, {370.9, 290.4}, {5.5, 270.2}})
	// The exact warp: every pixel projected and sampled bilinearly on RGB.
	rgb := imaging.Clone(src)
	exact := image.NewRGBA(image.Rect(0, 0, 200, 280))
	for v := 0; v < 280; v++ {
		for u := 0; u < 200; u++ {
			p := m.apply(point{float64(u) + 0.5, float64(v) + 0.5})
			x, y := p.X-0.5, p.Y-0.5
			x0, y0 := int(math.Floor(x)), int(math.Floor(y))
			fx, fy := x-float64(x0), y-float64(y0)
			for k := 0; k < 3; k++ {
				at := func(x, y int) float64 { return float64(rgb.Pix[y*rgb.Stride+4*x+k]) }
				val := (at(x0, y0)*(1-fx)+at(x0+1, y0)*fx)*(1-fy) + (at(x0, y0+1)*(1-fx)+at(x0+1, y0+1)*fx)*fy
				exact.Pix[v*exact.Stride+4*u+k] = uint8(math.Round(val))
			}
		}
	}
	for name, fast := range map[string]*image.RGBA{"YCbCr": warp(src, m, 200, 280), "NRGBA": warp(rgb, m, 200, 280)} {
		var worst int
		for i := range fast.Pix {
			if i%4 == 3 {
				continue
			}
			d := int(fast.Pix[i]) - int(exact.Pix[i])
			worst = max(worst, d, -d)
		}
		if worst > 6 {
			t.Errorf("%s: fast and exact warps differ by up to %d levels", name, worst)
		}
	}
}

// One Otsu for the package: it splits two populations between them, and
// over a range it counts only the values in the range (the second Otsu of
// sheet detection looks among the bright pixels alone; counting the dark
// ones too pushed its threshold past every bright pixel).
func TestOtsu(t *testing.T) {
	var hist [256]float64
	hist[40], hist[41], hist[200], hist[210] = 300, 200, 100, 50
	if got := otsu(hist[:]); got <= 41 || got > 200 {
		t.Errorf("otsu = %d, want in (41, 200]", got)
	}
	if got := otsu(make([]float64, 256)); got != 128 {
		t.Errorf("empty histogram: %d, want 128", got)
	}
	p := newPlane(1200, 1)
	for i := range p.p {
		switch {
		case i < 1000:
			p.p[i] = 10 // the print and the table, below the range
		case i < 1100:
			p.p[i] = 150
		default:
			p.p[i] = 250
		}
	}
	if th := otsuRange(p, 100, 250); th <= 150 || th >= 250 {
		t.Errorf("otsuRange over [100, 250] = %.1f, want between 150 and 250", th)
	}
}

// Otsu on synthetic histograms: every caller takes the values below the threshold as
// the dark class, so a split must put each population wholly on one side, and a
// histogram with nothing to split gives the middle.
func TestOtsuHistograms(t *testing.T) {
	spikes := func(n int, at map[int]float64) []float64 {
		h := make([]float64, n)
		for i, c := range at {
			h[i] = c
		}
		return h
	}
	// Two bell curves, ink around 60 and paper around 190.
	bells := make([]float64, 256)
	for i := range bells {
		x := float64(i)
		bells[i] = 3000*math.Exp(-(x-60)*(x-60)/(2*12*12)) + 9000*math.Exp(-(x-190)*(x-190)/(2*15*15))
	}
	flat := make([]float64, 256)
	for i := range flat {
		flat[i] = 10
	}
	for _, c := range []struct {
		name     string
		hist     []float64
		min, max int // the threshold wanted, inclusive
	}{
		{"bimodal", spikes(256, map[int]float64{50: 1000, 200: 1000}), 51, 200},
		{"bimodal, few dark", spikes(256, map[int]float64{30: 100, 220: 9000}), 31, 220},
		{"bimodal, adjacent bins", spikes(256, map[int]float64{40: 1, 41: 1}), 41, 41},
		{"two bells", bells, 110, 140},
		{"three values", spikes(256, map[int]float64{20: 500, 25: 500, 230: 800}), 26, 230},
		{"flat", flat, 128, 128},
		{"single value", spikes(256, map[int]float64{77: 500}), 128, 128},
		{"single value at 0", spikes(256, map[int]float64{0: 500}), 128, 128},
		{"single value at 255", spikes(256, map[int]float64{255: 500}), 128, 128},
		{"empty", make([]float64, 256), 128, 128},
		{"16 bins", spikes(16, map[int]float64{2: 10, 12: 10}), 3, 12},
		{"16 bins, empty", make([]float64, 16), 8, 8},
	} {
		if got := otsu(c.hist); got < c.min || got > c.max {
			t.Errorf("%s: otsu = %d, want in [%d, %d]", c.name, got, c.min, c.max)
		}
	}
}
