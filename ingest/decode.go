package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/disintegration/imaging"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// readAll reads r fully, refusing more than max bytes. Reading one byte past
// the limit distinguishes "exactly max" from "more". A *bytes.Buffer is
// taken as it is: a deposit's files are in memory already, and a second copy
// of a 40 MB upload is memory the Budget would have to count.
func readAll(r io.Reader, max int64) ([]byte, error) {
	if b, ok := r.(*bytes.Buffer); ok {
		switch {
		case int64(b.Len()) > max:
			return nil, ErrTooLarge
		case b.Len() == 0:
			return nil, ErrEmpty
		}
		return b.Bytes(), nil
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read: %v", ErrCorrupt, err)
	}
	if n > max {
		return nil, ErrTooLarge
	}
	if n == 0 {
		return nil, ErrEmpty
	}
	return buf.Bytes(), nil
}

// guard runs fn, turning a panic inside a third-party decoder into
// ErrCorrupt: a hostile file must never take the server down.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: decoder panic: %v", ErrCorrupt, r)
		}
	}()
	return fn()
}

// bounded runs fn in its own goroutine and returns as soon as ctx is done.
// The decoders we call (libjpeg-turbo, libheif, pdfcpu) take no context,
// so on timeout the goroutine is abandoned and finishes in the background;
// its memory is bounded by the pixel and byte limits checked beforehand, and
// it keeps res held until it ends, so that the Budget counts it as in use.
func bounded(ctx context.Context, res *Reservation, fn func() error) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	done := make(chan error, 1)
	release := res.hold()
	go func() {
		defer release()
		done <- guard(fn)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctxErr(ctx)
	}
}

// ctxErr maps context errors onto the package sentinels while keeping the
// context error in the chain.
func ctxErr(ctx context.Context) error {
	switch err := ctx.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	default:
		return fmt.Errorf("%w: %w", ErrCanceled, err)
	}
}

// decodeConfig reads declared dimensions only, so that decompression bombs
// are refused before any pixel buffer is allocated.
func decodeConfig(mt MediaType, b []byte) (cfg image.Config, err error) {
	if mt == HEIC {
		// libheif reads the container from memory, in place.
		err = guard(func() error {
			var e error
			cfg, e = heifConfig(b)
			return e
		})
		return cfg, configErr(cfg, err)
	}
	return decodeConfigReader(mt, bytes.NewReader(b))
}

func decodeConfigReader(mt MediaType, r io.Reader) (cfg image.Config, err error) {
	err = guard(func() error {
		var e error
		switch mt {
		case JPEG:
			cfg, e = jpeg.DecodeConfig(r)
		case PNG:
			cfg, e = png.DecodeConfig(r)
		case WebP:
			cfg, e = webp.DecodeConfig(r)
		case TIFF:
			cfg, e = tiff.DecodeConfig(r)
		default:
			return ErrUnsupportedType
		}
		return e
	})
	return cfg, configErr(cfg, err)
}

// configErr makes every decoder's complaint ErrCorrupt, and so is a header
// without pixels.
func configErr(cfg image.Config, err error) error {
	if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedType) {
		err = fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err == nil && (cfg.Width <= 0 || cfg.Height <= 0) {
		err = fmt.Errorf("%w: no pixels", ErrCorrupt)
	}
	return err
}

func decodeImage(mt MediaType, b []byte) (img image.Image, err error) {
	err = guard(func() error {
		var e error
		r := bytes.NewReader(b)
		switch mt {
		case JPEG:
			img, e = decodeJPEG(b)
		case PNG:
			img, e = png.Decode(r)
		case WebP:
			img, e = webp.Decode(r)
		case HEIC:
			img, e = decodeHEIF(b)
		case TIFF:
			img, e = tiff.Decode(r)
		default:
			return ErrUnsupportedType
		}
		return e
	})
	if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedType) {
		err = fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return img, err
}

// checkPixels enforces the pixel limit on declared dimensions. Multiplying in
// int64 avoids overflow on forged 65535×65535 headers.
func checkPixels(cfg image.Config, max int64) error {
	if int64(cfg.Width)*int64(cfg.Height) > max {
		return fmt.Errorf("%w: %d×%d", ErrTooManyPixels, cfg.Width, cfg.Height)
	}
	return nil
}

// normalize returns an image whose pixels the warp reads directly:
// *image.YCbCr and *image.Gray are kept as decoded (no conversion of 12 MP
// photos), everything else becomes *image.NRGBA flattened onto white, since
// a transparent background means "paper" for a document. *image.RGBA (PNGs
// without alpha) is converted in place: a second copy of a 48 MP page would
// be 200 MB.
func normalize(img image.Image) image.Image {
	if img.Bounds().Min != (image.Point{}) {
		return flatten(imaging.Clone(img))
	}
	switch m := img.(type) {
	case *image.YCbCr:
		return m
	case *image.Gray:
		return m
	case *image.NRGBA:
		return flatten(m)
	case *image.RGBA:
		return flattenPremultiplied(m)
	}
	return flatten(imaging.Clone(img))
}

// flattenPremultiplied puts premultiplied pixels onto white, in place: the
// result is opaque, where premultiplied and straight alpha are the same.
func flattenPremultiplied(m *image.RGBA) *image.NRGBA {
	for i := 3; i < len(m.Pix); i += 4 {
		if a := m.Pix[i]; a != 255 {
			for c := i - 3; c < i; c++ {
				m.Pix[c] = uint8(min(255, int(m.Pix[c])+255-int(a)))
			}
			m.Pix[i] = 255
		}
	}
	return &image.NRGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
}

func flatten(m *image.NRGBA) *image.NRGBA {
	for i := 3; i < len(m.Pix); i += 4 {
		if a := m.Pix[i]; a != 255 {
			for c := i - 3; c < i; c++ {
				m.Pix[c] = uint8((int(m.Pix[c])*int(a) + 255*(255-int(a)) + 127) / 255)
			}
			m.Pix[i] = 255
		}
	}
	return m
}

// tiffPages returns the byte offsets of every IFD of a TIFF file.
// golang.org/x/image/tiff decodes only the IFD the header points to, so each
// page is decoded through tiffPage, which presents the same bytes with the
// header's first-IFD offset patched to that page.
func tiffPages(b []byte, maxPages int) ([]uint32, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: short tiff header", ErrCorrupt)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if b[0] == 'M' {
		bo = binary.BigEndian
	}
	var offs []uint32
	seen := map[uint32]bool{}
	off := bo.Uint32(b[4:])
	for off != 0 {
		if seen[off] {
			break // loop in the IFD chain: keep what we have
		}
		seen[off] = true
		if int64(off)+2 > int64(len(b)) {
			if len(offs) == 0 {
				return nil, fmt.Errorf("%w: ifd offset out of range", ErrCorrupt)
			}
			break
		}
		offs = append(offs, off)
		if len(offs) > maxPages {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyPages, maxPages)
		}
		n := int64(bo.Uint16(b[off:]))
		next := int64(off) + 2 + 12*n
		if next+4 > int64(len(b)) {
			break
		}
		off = bo.Uint32(b[next:])
	}
	if len(offs) == 0 {
		return nil, fmt.Errorf("%w: tiff without images", ErrCorrupt)
	}
	return offs, nil
}

// tiffPage is a read-only view of a TIFF file whose header points to one IFD.
// x/image/tiff reads through io.ReaderAt when it can, so the overlay costs
// no copy of the file per page.
type tiffPage struct {
	b   []byte
	hdr [8]byte
}

func (t *tiffPage) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(t.b)) {
		return 0, io.EOF
	}
	n := copy(p, t.b[off:])
	for i := 0; i < n; i++ {
		if o := off + int64(i); o < 8 {
			p[i] = t.hdr[o]
		} else {
			break
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func tiffPageReader(b []byte, ifd uint32) io.Reader {
	t := &tiffPage{b: b}
	copy(t.hdr[:], b[:8])
	if b[0] == 'M' {
		binary.BigEndian.PutUint32(t.hdr[4:], ifd)
	} else {
		binary.LittleEndian.PutUint32(t.hdr[4:], ifd)
	}
	return io.NewSectionReader(t, 0, int64(len(b)))
}

func decodeTIFFPage(b []byte, ifd uint32, maxPixels int64) (img image.Image, err error) {
	err = guard(func() error {
		cfg, e := tiff.DecodeConfig(tiffPageReader(b, ifd))
		if e != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, e)
		}
		if cfg.Width <= 0 || cfg.Height <= 0 {
			return fmt.Errorf("%w: no pixels", ErrCorrupt)
		}
		if e := checkPixels(cfg, maxPixels); e != nil {
			return e
		}
		img, e = tiff.Decode(tiffPageReader(b, ifd))
		if e != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, e)
		}
		return nil
	})
	return img, err
}
