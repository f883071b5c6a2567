package ingest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"time"
)

// Mode selects how pages are rendered.
type Mode int

const (
	// ModeColor flattens the background and boosts contrast, keeping colour
	// (stamps, logos, highlighted text). The default.
	ModeColor Mode = iota
	// ModeScan renders pure black and white, like a photocopy: smallest
	// files, best for faxes and forms, loses colour.
	ModeScan
	// ModeOriginal only orients, crops and resizes: colours are left as
	// photographed. For photos of objects, not of papers.
	ModeOriginal
)

// Default limits, used when the corresponding Options field is zero.
const (
	// DefaultMaxBytes bounds one input file. Phone photos are 2–12 MB; a
	// 50-page scanned PDF stays under 30 MB.
	DefaultMaxBytes = 30 << 20
	// DefaultMaxPixels bounds one decoded page: 50 MP covers every phone
	// camera in default mode (48 MP sensors included) while capping the
	// decoded buffer at ~75 MB for a JPEG, ~200 MB for a PNG.
	DefaultMaxPixels = 50_000_000
	// DefaultMaxPages bounds a document (photos, TIFF pages or PDF pages).
	DefaultMaxPages = 100
	// DefaultTimeout bounds the processing of one input file.
	DefaultTimeout = 30 * time.Second
)

// Options configures Process. The zero value is ready to use.
type Options struct {
	MaxBytes  int64         // per input file; 0 means DefaultMaxBytes
	MaxPixels int64         // per page, checked on declared dimensions before decoding; 0 means DefaultMaxPixels
	MaxPages  int           // per document; 0 means DefaultMaxPages
	Timeout   time.Duration // per input file; 0 means DefaultTimeout
	Mode      Mode

	// Reservation, when not nil, is grown by the memory the work needs before
	// any pixel is decoded (ErrBusy or ErrTooLarge when the Budget has not
	// enough), and kept until the work has really ended (see
	// Reservation.Release). The caller creates and releases it.
	Reservation *Reservation

	NoCrop   bool // keep the whole photo instead of cropping to the sheet
	NoDeskew bool // do not straighten small rotations when no sheet is found
	NoRotate bool // do not turn sideways or upside-down text upright
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Result describes what Process produced.
type Result struct {
	// MediaType is the type detected for the first input; Sources has one
	// entry per input.
	MediaType MediaType
	Sources   []MediaType
	// PageCount is the number of pages in the output PDF.
	PageCount int
	// Pages describes each output page made from an image; it is empty for
	// a PDF input, which is kept as is.
	Pages []PageInfo
	// Warnings lists quality problems, in page order. A document with
	// warnings is still produced: the person decides whether to retake it.
	Warnings []Warning
	// PDFBytes and ThumbBytes are the sizes written to the two writers.
	PDFBytes, ThumbBytes int64
	// ThumbGeneric is true when the thumbnail is a neutral drawing of a page
	// rather than a picture of the first page (PDFs with text or vector
	// content: there is no pure-Go PDF renderer).
	ThumbGeneric bool
	// Removed lists the active content stripped from a PDF input
	// ("JavaScript", "OpenAction", "Launch", "EmbeddedFile", "AA", ...).
	Removed []string
	// Stages is the time spent per stage, for benchmarks and monitoring.
	Stages StageTimes
}

// PageInfo describes one page rendered from an image.
type PageInfo struct {
	Source                    int  // index of the input this page came from
	SourceWidth, SourceHeight int  // upright source size, pixels
	Width, Height             int  // output raster size, pixels
	Bytes                     int  // compressed size in the PDF
	Cropped                   bool // a sheet was found and the page cropped to it
	// Corners of the sheet in the upright source (top-left, top-right,
	// bottom-right, bottom-left), when Cropped.
	Corners      [4][2]float64
	Deskew       float64 // degrees of rotation removed when no sheet was found
	QuarterTurns int     // clockwise quarter turns applied to make text upright
	Sharpness    float64 // see blurThreshold; NaN when the page has no edges

	orient orientStats // for calibration tests
}

// Process turns one or more inputs into one normalised document: a PDF
// written to pdf and a JPEG thumbnail of the first page written to thumb
// (either writer may be nil). Inputs are photos or scans (JPEG, PNG, HEIC,
// WebP, TIFF; one page each, several pages for a multi-page TIFF), or one
// PDF alone. Nothing is written unless every input was processed, so an
// error never leaves a partial document behind. An input that is a
// *bytes.Buffer is read in place, without a copy.
//
// Before decoding anything, Process reads every input's declared size
// (pixels of each page, objects and streams of a PDF), refuses what exceeds
// the limits, and grows opts.Reservation by the memory the work needs (see
// Budget). Pages are then rendered one at a time, each page's pixels let go
// as soon as it is compressed.
//
// Every error wraps one of the package's sentinel errors; Message gives the
// French sentence to show.
func Process(ctx context.Context, inputs []io.Reader, opts Options, pdf io.Writer, thumb io.Writer) (*Result, error) {
	opts = opts.withDefaults()
	if len(inputs) == 0 {
		return nil, fmt.Errorf("ingest: %w", ErrNoPages)
	}
	if len(inputs) > opts.MaxPages {
		return nil, fmt.Errorf("ingest: %d files: %w", len(inputs), ErrTooManyPages)
	}
	res := &Result{}
	files := make([][]byte, len(inputs))
	for i, r := range inputs {
		b, err := readAll(r, opts.MaxBytes)
		if err != nil {
			return nil, fmt.Errorf("ingest: read file %d: %w", i, err)
		}
		mt, err := sniff(b[:min(len(b), SniffLen)])
		if err != nil {
			return nil, fmt.Errorf("ingest: file %d: %w", i, err)
		}
		if mt == PDF && len(inputs) > 1 {
			return nil, fmt.Errorf("ingest: file %d: %w", i, ErrMixedTypes)
		}
		files[i] = b
		res.Sources = append(res.Sources, mt)
	}
	res.MediaType = res.Sources[0]
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if res.MediaType == PDF {
		need, err := pdfCost(ctx, files[0])
		if err != nil {
			return nil, fmt.Errorf("ingest: pdf: %w", err)
		}
		if err := opts.Reservation.Grow(ctx, need); err != nil {
			return nil, err
		}
		fctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
		return processPDF(fctx, files[0], &opts, res, pdf, thumb)
	}

	need, err := imagesCost(files, res.Sources, &opts)
	if err != nil {
		return nil, err
	}
	if err := opts.Reservation.Grow(ctx, need); err != nil {
		return nil, err
	}
	var pi []pdfImage
	var tb bytes.Buffer
	emit := func(p *page) error {
		if len(pi) == 0 && thumb != nil {
			t := time.Now()
			if err := writeThumb(&tb, p.img); err != nil {
				return fmt.Errorf("ingest: thumbnail: %w", err)
			}
			res.Stages.Encode += time.Since(t)
		}
		p.img = nil // the page is compressed: its pixels can go
		pi = append(pi, p.pdf)
		res.Pages = append(res.Pages, p.info)
		res.Warnings = append(res.Warnings, p.warnings...)
		return nil
	}
	for i, b := range files {
		fctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		err := imagePages(fctx, b, res.Sources[i], i, len(pi), &opts, &res.Stages, emit)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	res.PageCount = len(pi)
	if pdf != nil {
		n, err := writePDF(pdf, pi)
		res.PDFBytes = n
		if err != nil {
			return nil, fmt.Errorf("ingest: write pdf: %w", err)
		}
	}
	if thumb != nil {
		n, err := tb.WriteTo(thumb)
		res.ThumbBytes = n
		if err != nil {
			return nil, fmt.Errorf("ingest: write thumbnail: %w", err)
		}
	}
	return res, nil
}

// imagePages decodes one image file (several pages for a TIFF) and renders
// its pages one at a time, handing each to emit. first is the number of
// pages already rendered.
func imagePages(ctx context.Context, b []byte, mt MediaType, file, first int, opts *Options, st *StageTimes, emit func(*page) error) error {
	if mt == TIFF {
		ifds, err := tiffPages(b, opts.MaxPages)
		if err != nil {
			return fmt.Errorf("ingest: file %d: %w", file, err)
		}
		if first+len(ifds) > opts.MaxPages {
			return fmt.Errorf("ingest: file %d: %w", file, ErrTooManyPages)
		}
		for k, ifd := range ifds {
			var img image.Image
			t := time.Now()
			err := bounded(ctx, opts.Reservation, func() error {
				var e error
				img, e = decodeTIFFPage(b, ifd, opts.MaxPixels)
				if e == nil {
					img = normalize(img)
				}
				return e
			})
			st.Decode += time.Since(t)
			if err != nil {
				return fmt.Errorf("ingest: file %d: decode tiff page %d: %w", file, k, err)
			}
			// Scans are flat already: no sheet detection, but deskew and
			// upright rotation still apply.
			p, err := photoPage(ctx, img, 1, false, opts, first+k, st)
			if err != nil {
				return fmt.Errorf("ingest: file %d: page %d: %w", file, k, err)
			}
			p.info.Source = file
			if err := emit(p); err != nil {
				return err
			}
		}
		return nil
	}
	if first+1 > opts.MaxPages {
		return fmt.Errorf("ingest: file %d: %w", file, ErrTooManyPages)
	}
	orient := 1
	if mt == JPEG {
		// HEIC decoders apply the container's rotation themselves; PNG and
		// WebP rarely carry EXIF and are not inspected.
		orient = jpegOrientation(b)
	}
	var img image.Image
	t := time.Now()
	err := bounded(ctx, opts.Reservation, func() error {
		var e error
		img, e = decodeImage(mt, b)
		if e == nil {
			img = normalize(img)
		}
		return e
	})
	st.Decode += time.Since(t)
	if err != nil {
		return fmt.Errorf("ingest: file %d: decode: %w", file, err)
	}
	p, err := photoPage(ctx, img, orient, true, opts, first, st)
	if err != nil {
		return fmt.Errorf("ingest: file %d: %w", file, err)
	}
	p.info.Source = file
	return emit(p)
}
