package ingest

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"strings"
	"testing"
)

// TestMiniature: an 80-pixel miniature of a real thumbnail, a fraction of its bytes; a
// small one as it is; what is not a thumbnail, or is cut short, refused.
func TestMiniature(t *testing.T) {
	var thumb bytes.Buffer
	if _, err := Process(context.Background(), []io.Reader{bytes.NewReader(phone12MP(t))}, Options{}, io.Discard, &thumb); err != nil {
		t.Fatal(err)
	}
	mini, err := Miniature(bytes.NewReader(thumb.Bytes()), 80)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := jpeg.DecodeConfig(bytes.NewReader(thumb.Bytes()))
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(mini))
	if h := 80 * full.Height / full.Width; err != nil || cfg.Width != 80 || cfg.Height < h-1 || cfg.Height > h+1 {
		t.Errorf("miniature %d×%d of a %d×%d thumbnail: %v", cfg.Width, cfg.Height, full.Width, full.Height, err)
	}
	if 5*len(mini) > thumb.Len() {
		t.Errorf("the miniature weighs %d bytes, the thumbnail %d", len(mini), thumb.Len())
	}
	t.Logf("thumbnail %d bytes, miniature %d", thumb.Len(), len(mini))

	var small bytes.Buffer
	if err := jpeg.Encode(&small, image.NewGray(image.Rect(0, 0, 60, 80)), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := Miniature(bytes.NewReader(small.Bytes()), 80); err != nil || !bytes.Equal(got, small.Bytes()) {
		t.Errorf("a thumbnail narrower than the miniature is not given as it is: %v", err)
	}

	broken := errors.New("the bytes do not match their SHA-256")
	for name, r := range map[string]io.Reader{
		"not a JPEG":         strings.NewReader("%PDF-1.7"),
		"too long":           bytes.NewReader(make([]byte, maxThumbBytes+1)),
		"checked at its end": io.MultiReader(bytes.NewReader(thumb.Bytes()), &failing{broken}),
		"a JPEG cut in half": bytes.NewReader(thumb.Bytes()[:thumb.Len()/2]),
	} {
		if _, err := Miniature(r, 80); err == nil {
			t.Errorf("%s: no error", name)
		} else if name == "checked at its end" && !errors.Is(err, broken) {
			t.Errorf("%s: %v, not the reader's error", name, err)
		}
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }
