package ingest

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"testing"
)

// The passes over whole pages are written for speed. Each test here checks
// one of them, on odd sizes, against its plain definition.

// TestMaxFilter: each value is the largest within r of it, the border
// replicated.
func TestMaxFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {3, 4}, {23, 17}} {
		p := newPlane(sz[0], sz[1])
		for i := range p.p {
			p.p[i] = rng.Float32() * 255
		}
		for _, r := range []int{1, 2, 5} {
			got := maxFilter(p, r)
			for y := 0; y < p.h; y++ {
				for x := 0; x < p.w; x++ {
					want := float32(0)
					for dy := -r; dy <= r; dy++ {
						for dx := -r; dx <= r; dx++ {
							want = max(want, p.at(x+dx, y+dy))
						}
					}
					if g := got.p[y*p.w+x]; g != want {
						t.Fatalf("%v r=%d (%d,%d): %v, want %v", sz, r, x, y, g, want)
					}
				}
			}
		}
	}
}

// TestGreyHalf: each value is the mean luma of a 2×2 box.
func TestGreyHalf(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	img := image.NewRGBA(image.Rect(0, 0, 13, 9))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	got := greyHalf(img)
	if got.w != 6 || got.h != 4 {
		t.Fatalf("size %d×%d, want 6×4", got.w, got.h)
	}
	for y := 0; y < got.h; y++ {
		for x := 0; x < got.w; x++ {
			var s int
			for _, d := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				c := img.RGBAAt(2*x+d[0], 2*y+d[1])
				s += 299*int(c.R) + 587*int(c.G) + 114*int(c.B)
			}
			if want := float32(s) / 4000; got.p[y*got.w+x] != want {
				t.Fatalf("(%d,%d): %v, want %v", x, y, got.p[y*got.w+x], want)
			}
		}
	}
}

// TestLargestComponent: the largest 4-connected component, and of two as
// large the one met first in reading order.
func TestLargestComponent(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 200 {
		w, h := 1+rng.IntN(30), 1+rng.IntN(30)
		mask := make([]bool, w*h)
		density := rng.Float64()
		for i := range mask {
			mask[i] = rng.Float64() < density
		}
		got, area := largestComponent(mask, w, h)
		// The plain definition: grow each component from its first pixel.
		seen := make([]bool, w*h)
		var want []bool
		wantArea := 0
		for i := range mask {
			if !mask[i] || seen[i] {
				continue
			}
			comp := make([]bool, w*h)
			queue := []int{i}
			seen[i] = true
			for len(queue) > 0 {
				j := queue[0]
				queue = queue[1:]
				comp[j] = true
				x, y := j%w, j/w
				for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
					nx, ny := x+d[0], y+d[1]
					if nx >= 0 && ny >= 0 && nx < w && ny < h && mask[ny*w+nx] && !seen[ny*w+nx] {
						seen[ny*w+nx] = true
						queue = append(queue, ny*w+nx)
					}
				}
			}
			if c := count(comp); c > wantArea {
				want, wantArea = comp, c
			}
		}
		if want == nil {
			want = make([]bool, w*h)
		}
		if area != wantArea {
			t.Fatalf("case %d (%d×%d): area %d, want %d", n, w, h, area, wantArea)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("case %d (%d×%d): pixel %d is %v, want %v", n, w, h, i, got[i], want[i])
			}
		}
	}
}

func count(m []bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// TestEnhanceGain: each pixel is divided by the background interpolated
// bilinearly between the grid points (cell centres) in 8.8 fixed point,
// then goes through the levels curve.
func TestEnhanceGain(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sz := range [][2]int{{1, 1}, {3, 5}, {4, 4}, {5, 9}, {8, 8}, {12, 3}, {13, 21}, {37, 29}} {
		w, h := sz[0], sz[1]
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = uint8(80 + rng.IntN(176))
		}
		want := image.NewRGBA(img.Rect)
		copy(want.Pix, img.Pix)
		bw, bh, bg := background(img)
		var lut [256]uint8
		for i := range lut {
			v := math.Min(math.Max((float64(i)-blackPoint)/(whitePoint-blackPoint), 0), 1)
			lut[i] = uint8(math.Round(255 * math.Pow(v, gammaInk)))
		}
		gainAt := func(c, i, iy0, iy1 int, ty float32) int32 {
			i = min(i, bw-1)
			v := bg[c][iy0*bw+i]*(1-ty) + bg[c][iy1*bw+i]*ty
			return int32(255 * 256 / max(v, 8))
		}
		for y := 0; y < h; y++ {
			fy := (float64(y)+0.5)/bgFactor - 0.5
			iy := math.Floor(fy)
			ty := float32(fy - iy)
			iy0, iy1 := min(max(int(iy), 0), bh-1), min(max(int(iy)+1, 0), bh-1)
			for x := 0; x < w; x++ {
				fx := (float64(x)+0.5)/bgFactor - 0.5
				i := math.Floor(fx)
				tx := int32((fx - i) * 256)
				if i < 0 {
					i, tx = 0, 0
				}
				for c := 0; c < 3; c++ {
					g := (gainAt(c, int(i), iy0, iy1, ty)*(256-tx) + gainAt(c, int(i)+1, iy0, iy1, ty)*tx) >> 8
					o := y*want.Stride + 4*x + c
					want.Pix[o] = lut[uint8(min((int32(want.Pix[o])*g)>>8, 255))]
				}
			}
		}
		enhance(img)
		for i := range want.Pix {
			if img.Pix[i] != want.Pix[i] {
				t.Fatalf("%d×%d: byte %d (pixel %d,%d) is %d, want %d", w, h, i, (i%img.Stride)/4, i/img.Stride, img.Pix[i], want.Pix[i])
			}
		}
	}
}

// TestDownsampleSmallChroma: with boxes narrower than a chroma sample (a
// photo of 640 pixels or less is not reduced at all), every box still gets
// its colour. It used to leave every other column without chroma, which
// turned it green and striped the sheet detection works on.
func TestDownsampleSmallChroma(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio411} {
		src := image.NewYCbCr(image.Rect(0, 0, 24, 10), ratio)
		for i := range src.Y {
			src.Y[i] = 235 // white paper
		}
		for i := range src.Cb {
			src.Cb[i], src.Cr[i] = 128, 128
		}
		for _, f := range []int{1, 2, 3} {
			m := downsample(src, f)
			for i := 0; i < len(m.Pix); i += 4 {
				if r, g, b := m.Pix[i], m.Pix[i+1], m.Pix[i+2]; r != 235 || g != 235 || b != 235 {
					t.Fatalf("%v f=%d: pixel %d is (%d,%d,%d), want white (235)", ratio, f, i/4, r, g, b)
				}
			}
		}
	}
}

// TestSmallPhotoCropped: a photo of 640 pixels or less (as messaging apps
// shrink them) has its sheet found and cropped like a large one. Before
// TestDownsampleSmallChroma's fix, 4 photos of 40 were.
func TestSmallPhotoCropped(t *testing.T) {
	const n = 12
	found := 0
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		sc := genScene(rng, sceneOpts{w: 600, h: 450, kind: -1, noise: 2, minFill: 0.6, maxFill: 0.85, rot: 10, persp: 0.04})
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, sc.img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		res, err := Process(context.Background(), []io.Reader{&buf}, Options{}, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		p := res.Pages[0]
		if !p.Cropped {
			continue
		}
		var q quad
		for k, c := range p.Corners {
			q[k] = point{c[0], c[1]}
		}
		if iou := quadIoU(q, sc.corners); iou < 0.95 {
			t.Errorf("scene %d: sheet found with an overlap of %.3f", i, iou)
		}
		found++
	}
	if found < n-1 {
		t.Errorf("the sheet was found in %d small photos of %d", found, n)
	}
}
