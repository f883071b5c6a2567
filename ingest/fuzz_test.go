package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// Seeds live in testdata/fuzz/<FuzzName>/ (tiny JPEG, PNG, WebP, TIFF, PDF
// and HEIC headers, a JPEG with EXIF); f.Add adds a few more built in code.

func FuzzSniff(f *testing.F) {
	f.Add([]byte("\xff\xd8\xff\xe0"))
	f.Add([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mt, err := Sniff(b)
		if (mt == "") == (err == nil) {
			t.Fatalf("Sniff = %q, %v", mt, err)
		}
		if err != nil && !errors.Is(err, ErrUnsupportedType) && !errors.Is(err, ErrEmpty) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

func FuzzEXIF(f *testing.F) {
	f.Add(withEXIF([]byte("\xff\xd8\xff\xd9"), 6))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

func FuzzTIFFPages(f *testing.F) {
	f.Add(multiPageTIFF(f, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 8 {
			return
		}
		offs, err := tiffPages(b, 10)
		if err != nil {
			return
		}
		for _, o := range offs {
			img, err := decodeTIFFPage(b, o, 1<<20)
			if err == nil && img.Bounds().Dx()*img.Bounds().Dy() > 1<<20 {
				t.Fatalf("pixel limit bypassed: %v", img.Bounds())
			}
		}
	})
}

// FuzzProcess feeds arbitrary bytes to the whole pipeline with tight
// limits: it must return a typed error or a result, never panic or hang.
func FuzzProcess(f *testing.F) {
	f.Add(rawPDF(`<< /Type /Catalog /Pages 2 0 R >>`, `<< /Type /Pages /Kids [3 0 R] /Count 1 >>`,
		`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>`))
	sentinels := []error{ErrEmpty, ErrUnsupportedType, ErrTooLarge, ErrTooManyPixels, ErrTooManyPages,
		ErrCorrupt, ErrEncrypted, ErrTimeout, ErrCanceled}
	f.Fuzz(func(t *testing.T, b []byte) {
		opts := Options{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxPages: 4, Timeout: 5 * time.Second}
		res, err := Process(context.Background(), []io.Reader{bytes.NewReader(b)}, opts, io.Discard, io.Discard)
		if err == nil {
			if res.PageCount < 1 {
				t.Fatalf("no error and %d pages", res.PageCount)
			}
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("untyped error: %v", err)
	})
}
