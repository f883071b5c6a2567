package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// ErrNoPicture reports a PDF whose first page is not one picture (a text PDF
// downloaded from a public service, say): there is nothing to read without a
// PDF renderer.
var ErrNoPicture = errors.New("the first page of the PDF is not a picture")

// recognizeWork is what recognising a decoded page needs beside it: its grey
// copy, the copy tesseract reads on standard input, the machine-readable
// zone's band and the garbage of the flat page's stages.
const recognizeWork = 48 << 20

// RecognizePDF recognises the first page of a PDF whose page is a picture:
// the rendition Process made of photos or of a scan (one picture per page,
// already flat and upright), or a scanned PDF. The file is measured and
// bounded as Process bounds a PDF (opts: MaxBytes, MaxPixels, MaxPages,
// Timeout for the reading of the file), and opts.Reservation, when not nil,
// is grown by what the work needs before anything is decoded; the tesseract
// subprocess runs outside it, bounded by rec's Timeout and Memory. A PDF
// whose first page is not one picture gives ErrNoPicture.
//
// Only the first page is read: it names the paper and carries its dates,
// and each page costs one to two seconds of OCR.
func RecognizePDF(ctx context.Context, pdf io.Reader, opts Options, rec RecognizeOptions) (*Recognition, error) {
	opts = opts.withDefaults()
	b, err := readAll(pdf, opts.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("ingest: recognize pdf: read: %w", err)
	}
	if mt, err := sniff(b[:min(len(b), SniffLen)]); err != nil || mt != PDF {
		return nil, fmt.Errorf("ingest: recognize pdf: %w", ErrUnsupportedType)
	}
	need, err := pdfCost(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("ingest: recognize pdf: %w", err)
	}
	if err := opts.Reservation.Grow(ctx, need+recognizeWork); err != nil {
		return nil, err
	}
	fctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	var img image.Image
	err = bounded(fctx, opts.Reservation, func() error {
		pctx, e := pdfcpu.ReadWithContext(fctx, bytes.NewReader(b), pdfConfig(&opts))
		if e != nil {
			return classifyPDFError(e)
		}
		pictures, e := checkStreams(fctx, pctx.XRefTable)
		if e != nil {
			return e
		}
		if e := api.ValidateContext(pctx); e != nil {
			return fmt.Errorf("%w: validate: %v", ErrCorrupt, e)
		}
		if pctx.PageCount < 1 {
			return fmt.Errorf("%w: no pages", ErrCorrupt)
		}
		if pctx.PageCount > opts.MaxPages {
			return fmt.Errorf("%w: %d pages", ErrTooManyPages, pctx.PageCount)
		}
		// Optimisation lists each page's pictures, which pagePicture reads.
		if e := api.OptimizeContext(pctx); e != nil {
			return fmt.Errorf("%w: optimize: %v", ErrCorrupt, e)
		}
		img = pagePicture(pctx, &opts, pictures)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: recognize pdf: %w", err)
	}
	if img == nil {
		return nil, fmt.Errorf("ingest: recognize pdf: %w", ErrNoPicture)
	}
	rec.Page = true
	return Recognize(ctx, img, rec)
}

// pagePicture returns the one picture of page 1 larger than 64 px (logos
// and bullets aside), whatever its shape: Process places a card's page
// within margins, so unlike scanImage the picture need not fill the page.
// Pictures that would take more than maxThumbDecode to decode, and pages
// with several pictures, give nil.
func pagePicture(ctx *model.Context, opts *Options, pictures map[int]int64) (img image.Image) {
	defer func() {
		if recover() != nil {
			img = nil
		}
	}()
	for _, nr := range pdfcpu.ImageObjNrs(ctx, 1) {
		n, ok := pictures[nr]
		if !ok || n > maxThumbDecode {
			return nil
		}
		if n < 0 && !smallJPEG(ctx, nr) {
			return nil // JPEG 2000, JBIG2, fax, large JPEG: decoded by pdfcpu or too large
		}
	}
	imgs, err := pdfcpu.ExtractPageImages(ctx, 1, false)
	if err != nil {
		return nil
	}
	var b []byte
	var mt MediaType
	var cfg image.Config
	for _, im := range imgs {
		if im.Reader == nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(im.Reader, opts.MaxBytes*8))
		if err != nil {
			return nil
		}
		t, err := sniff(data[:min(len(data), SniffLen)])
		if err != nil || t == PDF {
			return nil
		}
		c, err := decodeConfig(t, data)
		if err != nil {
			return nil
		}
		if c.Width <= 64 && c.Height <= 64 {
			continue
		}
		if b != nil {
			return nil // several pictures: a composed page, not one paper
		}
		b, mt, cfg = data, t, c
	}
	if b == nil || checkPixels(cfg, min(opts.MaxPixels, maxThumbDecode/4)) != nil {
		return nil
	}
	m, err := decodeImage(mt, b)
	if err != nil {
		return nil
	}
	return m
}
