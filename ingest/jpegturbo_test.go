package ingest

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/disintegration/imaging"
)

// libjpeg-turbo decodes what image/jpeg decodes, to the same pixels within
// the rounding of two inverse DCTs, in the same layout (planes and chroma
// subsampling) that the rest of the package reads.
func TestJPEGTurbo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	sc := genScene(rng, sceneOpts{w: 801, h: 603, kind: bgWood, noise: 3, minFill: 0.6, maxFill: 0.8, rot: 10})
	grey := image.NewGray(sc.img.Bounds())
	for i := range grey.Pix {
		grey.Pix[i] = sc.img.Pix[4*i+1]
	}
	tests := []struct {
		name  string
		img   image.Image
		samp  int
		flags int
		ratio image.YCbCrSubsampleRatio
	}{
		{"4:2:0", sc.img, tjSamp420, 0, image.YCbCrSubsampleRatio420},
		{"4:2:2", sc.img, tjSamp422, 0, image.YCbCrSubsampleRatio422},
		{"4:4:4", sc.img, tjSamp444, 0, image.YCbCrSubsampleRatio444},
		{"4:4:0", sc.img, tjSamp440, 0, image.YCbCrSubsampleRatio440},
		{"progressive", sc.img, tjSamp420, tjProgressive, image.YCbCrSubsampleRatio420},
		{"grey", grey, tjSamp420, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tjEncode(tt.img, 85, tt.samp, tt.flags)
			if err != nil {
				t.Fatal(err)
			}
			want, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := decodeJPEGTurbo(b)
			if !ok {
				t.Fatal("libjpeg-turbo did not decode it")
			}
			// Strides differ (image/jpeg pads rows to whole blocks):
			// samples are compared where they are.
			var a, c []uint8
			r := want.Bounds()
			switch w := want.(type) {
			case *image.YCbCr:
				g, ok := got.(*image.YCbCr)
				if !ok || g.SubsampleRatio != tt.ratio || w.SubsampleRatio != tt.ratio || g.Rect != w.Rect {
					t.Fatalf("got %T %v, image/jpeg %v %v", got, got.Bounds(), w.SubsampleRatio, w.Rect)
				}
				for y := r.Min.Y; y < r.Max.Y; y++ {
					for x := r.Min.X; x < r.Max.X; x++ {
						a = append(a, g.Y[g.YOffset(x, y)], g.Cb[g.COffset(x, y)], g.Cr[g.COffset(x, y)])
						c = append(c, w.Y[w.YOffset(x, y)], w.Cb[w.COffset(x, y)], w.Cr[w.COffset(x, y)])
					}
				}
			case *image.Gray:
				g, ok := got.(*image.Gray)
				if !ok || g.Rect != w.Rect {
					t.Fatalf("got %T, want *image.Gray", got)
				}
				for y := r.Min.Y; y < r.Max.Y; y++ {
					for x := r.Min.X; x < r.Max.X; x++ {
						a, c = append(a, g.GrayAt(x, y).Y), append(c, w.GrayAt(x, y).Y)
					}
				}
			}
			var sum, worst float64
			for i := range a {
				d := math.Abs(float64(a[i]) - float64(c[i]))
				sum += d
				worst = math.Max(worst, d)
			}
			if mean := sum / float64(len(a)); mean > 0.05 || worst > 2 {
				t.Errorf("samples differ from image/jpeg's by %.3f on average, %v at most", mean, worst)
			}
		})
	}
}

// What libjpeg-turbo refuses or warns about is decided by image/jpeg, as
// before: a truncated photo is corrupt, extra bytes in the data are not.
func TestJPEGTurboFallback(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	sc := genScene(rng, sceneOpts{w: 640, h: 480, kind: bgWood, noise: 3, minFill: 0.6, maxFill: 0.8})
	b := encodeJPEG(t, sc.img, 90)

	cut := b[:len(b)*2/3]
	if _, ok := decodeJPEGTurbo(cut); ok {
		t.Error("libjpeg-turbo decoded a truncated file without warning")
	}
	_, err := Process(context.Background(), []io.Reader{bytes.NewReader(cut)}, Options{}, io.Discard, io.Discard)
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v, want ErrCorrupt", err)
	}

	// Bytes between the header and the scan: libjpeg-turbo warns,
	// image/jpeg skips them.
	sos := bytes.Index(b, []byte{0xFF, 0xDA})
	padded := append(append(append([]byte{}, b[:sos]...), 0, 0, 0), b[sos:]...)
	want, werr := jpeg.Decode(bytes.NewReader(padded))
	got, gerr := decodeJPEG(padded)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("image/jpeg: %v, decodeJPEG: %v", werr, gerr)
	}
	if werr == nil && got.Bounds() != want.Bounds() {
		t.Errorf("decoded %v, image/jpeg %v", got.Bounds(), want.Bounds())
	}
}

// Pages are encoded by libjpeg-turbo: valid JPEGs, 4:2:0, of the size asked.
func TestCompressJPEG(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	sc := genScene(rng, sceneOpts{w: 333, h: 250, kind: bgWood, noise: 3, minFill: 0.6, maxFill: 0.8})
	sub := sc.img.SubImage(image.Rect(10, 20, 110, 220))
	for name, img := range map[string]image.Image{"page": sc.img, "centre of a page": sub} {
		b, err := compressJPEG(img, 80)
		if err != nil {
			t.Fatal(err)
		}
		got, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		y, ok := got.(*image.YCbCr)
		if !ok || y.SubsampleRatio != image.YCbCrSubsampleRatio420 || y.Rect.Size() != img.Bounds().Size() {
			t.Errorf("%s: %T %v", name, got, got.Bounds())
		}
		if d := meanDiff(luma(imaging.Clone(got)), luma(imaging.Clone(img))); d > 3 {
			t.Errorf("%s: differs by %.2f levels on average", name, d)
		}
	}
}
