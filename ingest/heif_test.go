package ingest

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disintegration/imaging"
)

// heicFiles lists the HEIC/HEIF files the decoder must read: ours in
// testdata/heic (see TestGenerateHEIC and its README), every one in the
// shared fixtures (libheif's own example; real phone photos belong there),
// and those COFFRE_HEIC_SAMPLES lists (separated by colons).
func heicFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"testdata/heic/*.hei[cf]", "testdata/test8.heic"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if dir := sharedFixtures("heic"); dir != "" {
		m, err := filepath.Glob(filepath.Join(dir, "*.hei[cf]"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if env := os.Getenv("COFFRE_HEIC_SAMPLES"); env != "" {
		files = append(files, strings.Split(env, ":")...)
	}
	return files
}

// sharedFixtures finds shared/fixtures/<name> like fixturesDir, or "".
func sharedFixtures(name string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "fixtures", name)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// onWhite is img's luma with transparency composed onto white, the way
// documents are shown.
func onWhite(img image.Image) *plane {
	n := imaging.Clone(img)
	flatten(n)
	return luma(n)
}

// meanDiff is the mean absolute difference of two luma planes of one size.
func meanDiff(a, b *plane) float64 {
	var s float64
	for i := range a.p {
		s += math.Abs(float64(a.p[i] - b.p[i]))
	}
	return s / float64(len(a.p))
}

// TestHEIC reads every HEIC/HEIF file we have as libheif's own heif-convert
// does: the same size, after rotation, and the same pixels (colour
// matrix and range, 10 bits, alpha, grids, thumbnails). Then each goes
// through Process.
func TestHEIC(t *testing.T) {
	t.Parallel() // shares nothing with the other slow tests: they run side by side
	conv, _ := exec.LookPath("heif-convert")
	if conv == "" {
		t.Log("heif-convert (libheif-examples) is not installed: pixels are not compared with it")
	}
	want := map[string]image.Point{
		"grid-12mp.heic":       {4000, 3000},
		"grid-rotated.heic":    {500, 700},
		"android-bt709.heif":   {700, 500},
		"thumbnail.heic":       {700, 500}, // the primary image, not its thumbnail
		"10bit.heic":           {700, 500},
		"alpha.heic":           {700, 500},
		"libheif-example.heic": {1280, 854},
		"test8.heic":           {512, 512},
	}
	files := heicFiles(t)
	if len(files) < len(want)-1 {
		t.Fatalf("%d HEIC files found: %v", len(files), files)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if mt, err := Sniff(b[:min(len(b), SniffLen)]); mt != HEIC {
				t.Fatalf("sniffed %q, %v", mt, err)
			}
			cfg, err := decodeConfig(HEIC, b)
			if err != nil {
				t.Fatal(err)
			}
			img, err := decodeImage(HEIC, b)
			if err != nil {
				t.Fatal(err)
			}
			size := img.Bounds().Size()
			if size.X*size.Y > cfg.Width*cfg.Height {
				t.Errorf("decoded %v, more than the %d×%d declared", size, cfg.Width, cfg.Height)
			}
			if w, ok := want[name]; ok && size != w {
				t.Errorf("decoded %v, want %v", size, w)
			}
			// Past 4 MP the comparison (a 12 MP PNG written and read) costs
			// seconds and tests nothing the smaller grids do not.
			if conv != "" && size.X*size.Y <= 4_000_000 {
				ref := filepath.Join(t.TempDir(), "ref.png")
				if msg, err := exec.Command(conv, path, ref).CombinedOutput(); err != nil {
					t.Fatalf("heif-convert: %v: %s", err, msg)
				}
				// A file with several top-level images (libheif's example)
				// is written as ref-1.png, ref-2.png…: the primary is the
				// one of its size that matches best.
				refs, err := filepath.Glob(filepath.Join(filepath.Dir(ref), "ref*.png"))
				if err != nil {
					t.Fatal(err)
				}
				best := math.Inf(1)
				for _, ref := range refs {
					f, err := os.ReadFile(ref)
					if err != nil {
						t.Fatal(err)
					}
					r, err := png.Decode(bytes.NewReader(f))
					if err != nil {
						t.Fatal(err)
					}
					if r.Bounds().Size() == size {
						best = math.Min(best, meanDiff(onWhite(img), onWhite(r)))
					}
				}
				// libheif converts with rounding of its own per path; a
				// level on average is far under any visible difference.
				if best > 1 {
					t.Errorf("pixels differ from heif-convert's by %.2f levels on average (%d pictures)", best, len(refs))
				}
			}
			var pdf, th bytes.Buffer
			res, err := Process(context.Background(), []io.Reader{bytes.NewReader(b)}, Options{}, &pdf, &th)
			if err != nil {
				t.Fatal(err)
			}
			if res.PageCount != 1 || res.Pages[0].SourceWidth*res.Pages[0].SourceHeight != size.X*size.Y {
				t.Errorf("%d pages, source %d×%d", res.PageCount, res.Pages[0].SourceWidth, res.Pages[0].SourceHeight)
			}
		})
	}
}

// Our own files must also look like the picture they were made from: a
// decoder that read BT.709 limited-range colours as JPEG's, ignored the
// rotation or dropped two bits would be off by far more.
func TestHEICLikeSource(t *testing.T) {
	src := heicSource(t)
	for _, tt := range []struct {
		file   string
		rotate bool // irot: a quarter turn anticlockwise
		limit  float64
	}{
		{"android-bt709.heif", false, 3},
		{"grid-rotated.heic", true, 3},
		{"10bit.heic", false, 3},
		{"thumbnail.heic", false, 3},
		{"gray.heic", false, 3},
	} {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "heic", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			img, err := decodeImage(HEIC, b)
			if err != nil {
				t.Fatal(err)
			}
			want := image.Image(src)
			if tt.rotate {
				want = imaging.Rotate90(src)
			}
			if d := meanDiff(onWhite(img), onWhite(want)); d > tt.limit {
				t.Errorf("differs from its source by %.2f levels on average", d)
			}
		})
	}
	// Transparent margins are paper.
	b, err := os.ReadFile(filepath.Join("testdata", "heic", "alpha.heic"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := decodeImage(HEIC, b)
	if err != nil {
		t.Fatal(err)
	}
	if p := onWhite(normalize(img)); p.at(10, 10) < 250 || p.at(p.w-10, p.h-10) < 250 {
		t.Errorf("transparent corners are %v and %v, want white", p.at(10, 10), p.at(p.w-10, p.h-10))
	}
}

// A HEIC that cannot be read is refused with the plain sentence, whatever
// part of it is missing.
func TestHEICDamaged(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "heic", "grid-rotated.heic"))
	if err != nil {
		t.Fatal(err)
	}
	mdat := bytes.Index(b, []byte("mdat"))
	tests := map[string][]byte{
		"cut in the header":      b[:mdat/2],
		"cut in the tiles":       b[:len(b)/2],
		"last tile cut":          b[:len(b)-200],
		"tiles overwritten":      append(append([]byte{}, b[:mdat+40]...), make([]byte, len(b)-mdat-40)...),
		"no primary image":       bytes.Replace(b, []byte("pitm"), []byte("pitX"), 1),
		"grid without its tiles": bytes.Replace(b, []byte("dimg"), []byte("dimX"), 1),
		// 700×500 declared (ispe), the grid asking for 1400×1000, which
		// libheif 1.15 assembles: as well 16000×16000, 3 GB that nobody
		// reserved.
		"grid larger than declared": bytes.Replace(b, []byte{0, 0, 1, 2, 0x02, 0xBC, 0x01, 0xF4}, []byte{0, 0, 1, 2, 0x05, 0x78, 0x03, 0xE8}, 1),
	}
	if bytes.Equal(tests["grid larger than declared"], b) {
		t.Fatal("no grid descriptor found")
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Process(context.Background(), []io.Reader{bytes.NewReader(in)}, Options{}, io.Discard, io.Discard)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%v, want ErrCorrupt", err)
			}
			if got, want := Message(err), "Ce fichier est abîmé ou incomplet. Renvoyez-le ou reprenez la photo."; got != want {
				t.Errorf("message %q", got)
			}
		})
	}
}
