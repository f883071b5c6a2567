package ingest

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"
)

// fixturesDir finds shared/fixtures/<name> by walking up from the package
// directory: in this workspace shared/ sits beside the repository, in CI
// the clone has shared/ next to the repo folder too (<repo>/../shared).
func fixturesDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "fixtures", name)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	t.Skipf("shared/fixtures/%s not found above %s: the shared fixtures are not checked out", name, dir)
	return ""
}

// grey64 is a 64×64 grey thumbnail, normalised to zero mean and unit
// norm, for correlation.
func grey64(img image.Image) []float64 {
	g := imaging.Resize(img, 64, 64, imaging.Box)
	v := make([]float64, 64*64)
	var mean float64
	for i := range v {
		p := g.Pix[4*i:]
		v[i] = 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
		mean += v[i]
	}
	mean /= float64(len(v))
	var n float64
	for i := range v {
		v[i] -= mean
		n += v[i] * v[i]
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] /= n
	}
	return v
}

func correlate(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// TestEXIFOrientation processes the 18 fixture photos (orientations 0–8,
// landscape and portrait) and checks that every thumbnail correlates with
// the thumbnail of the orientation-1 photo far better than with any other
// rotation or mirror of it.
func TestEXIFOrientation(t *testing.T) {
	t.Parallel() // shares nothing with the other slow tests: they run side by side
	dir := fixturesDir(t, "exif-orientation")
	for _, kind := range []string{"Landscape", "Portrait"} {
		ref := thumbOf(t, filepath.Join(dir, kind+"_1.jpg"))
		refV := grey64(ref)
		// The wrong answers: every other dihedral transform of the reference.
		wrong := map[string][]float64{
			"rot90": grey64(imaging.Rotate90(ref)), "rot180": grey64(imaging.Rotate180(ref)),
			"rot270": grey64(imaging.Rotate270(ref)), "flipH": grey64(imaging.FlipH(ref)),
			"flipV": grey64(imaging.FlipV(ref)), "transpose": grey64(imaging.Transpose(ref)),
			"transverse": grey64(imaging.Transverse(ref)),
		}
		for o := 0; o <= 8; o++ {
			name := kind + "_" + itoa(o) + ".jpg"
			t.Run(name, func(t *testing.T) {
				got := thumbOf(t, filepath.Join(dir, name))
				if gb, rb := got.Bounds(), ref.Bounds(); gb.Dx() != rb.Dx() || math.Abs(float64(gb.Dy()-rb.Dy())) > 2 {
					t.Fatalf("thumbnail %v, reference %v", gb, rb)
				}
				v := grey64(got)
				c := correlate(v, refV)
				for wn, w := range wrong {
					if cw := correlate(v, w); cw > c-0.1 {
						t.Errorf("looks %s: correlation %.3f with it, %.3f with upright", wn, cw, c)
					}
				}
				if c < 0.95 {
					t.Errorf("correlation with upright reference %.3f, want ≥ 0.95", c)
				}
			})
		}
	}
}

// thumbOf runs a file through Process (no crop, no enhancement, so the
// comparison tests orientation alone) and decodes the thumbnail.
func thumbOf(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pdf, th bytes.Buffer
	res, err := Process(context.Background(), []io.Reader{bytes.NewReader(b)}, Options{Mode: ModeOriginal, NoCrop: true, NoDeskew: true, NoRotate: true}, &pdf, &th)
	if err != nil {
		t.Fatal(err)
	}
	if res.PageCount != 1 {
		t.Fatalf("page count %d", res.PageCount)
	}
	img, err := jpeg.Decode(&th)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestEXIFOrientationFullPipeline checks that the default pipeline (crop,
// deskew, text orientation, enhancement) gives the same picture for every
// orientation of a fixture: whatever it does, it must not depend on EXIF.
func TestEXIFOrientationFullPipeline(t *testing.T) {
	t.Parallel() // shares nothing with the other slow tests: they run side by side
	dir := fixturesDir(t, "exif-orientation")
	for _, kind := range []string{"Landscape", "Portrait"} {
		var ref []float64
		for _, o := range []int{1, 3, 6, 8, 2, 5} {
			b, err := os.ReadFile(filepath.Join(dir, kind+"_"+itoa(o)+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			var th bytes.Buffer
			if _, err := Process(context.Background(), []io.Reader{bytes.NewReader(b)}, Options{}, nil, &th); err != nil {
				t.Fatal(err)
			}
			img, err := jpeg.Decode(&th)
			if err != nil {
				t.Fatal(err)
			}
			v := grey64(img)
			if ref == nil {
				ref = v
				continue
			}
			if c := correlate(v, ref); c < 0.9 {
				t.Errorf("%s_%d: correlation with orientation 1 is %.3f", kind, o, c)
			}
		}
	}
}
