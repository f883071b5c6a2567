package ingest

import (
	"context"
	"fmt"
	"image"
	"image/color"
)

// What a deposit costs in memory, worked out from declared sizes before anything is
// decoded, so that a Budget can be asked for it first. The figures are upper bounds
// measured on this code (TestCostCovers checks them against the heap).
const (
	// pageWork is what rendering one page needs beside its decoded pixels: the A4
	// raster and its grey copies, the text-orientation and enhancement planes, the
	// compression buffers.
	pageWork = 72 << 20
	// pageOut bounds one compressed page kept until the PDF is written (maxPageBytes,
	// or a 1-bit page compressed with Flate, whichever is larger), plus the thumbnail.
	pageOut = 600 << 10
	// pdfObjectBytes is what pdfcpu holds per object of a PDF (3 to 3.5 KB measured).
	pdfObjectBytes = 5 << 10
	// pdfWork is what processing a PDF needs beside its bytes, objects and streams.
	pdfWork = 16 << 20
)

// imagesCost checks the declared size of every page of the image files and returns the
// memory their processing needs: the largest page's decoded pixels and working set (pages
// are rendered one at a time), plus the compressed pages kept until the end.
func imagesCost(files [][]byte, types []MediaType, opts *Options) (int64, error) {
	var largest int64
	pages := 0
	for i, b := range files {
		var cfgs []image.Config
		if types[i] == TIFF {
			ifds, err := tiffPages(b, opts.MaxPages)
			if err != nil {
				return 0, fmt.Errorf("ingest: file %d: %w", i, err)
			}
			for k, ifd := range ifds {
				cfg, err := decodeConfigReader(TIFF, tiffPageReader(b, ifd))
				if err != nil {
					return 0, fmt.Errorf("ingest: file %d: page %d: decode header: %w", i, k, err)
				}
				cfgs = append(cfgs, cfg)
			}
		} else {
			cfg, err := decodeConfig(types[i], b)
			if err != nil {
				return 0, fmt.Errorf("ingest: file %d: decode header: %w", i, err)
			}
			cfgs = append(cfgs, cfg)
		}
		for _, cfg := range cfgs {
			if err := checkPixels(cfg, opts.MaxPixels); err != nil {
				return 0, fmt.Errorf("ingest: file %d: %w", i, err)
			}
			largest = max(largest, int64(cfg.Width)*int64(cfg.Height)*bytesPerPixel(types[i], cfg.ColorModel))
		}
		pages += len(cfgs)
		if pages > opts.MaxPages {
			return 0, fmt.Errorf("ingest: file %d: %w", i, ErrTooManyPages)
		}
	}
	return largest + pageWork + int64(pages)*pageOut, nil
}

// bytesPerPixel is what a decoded page costs per pixel: the decoder's image, plus the
// NRGBA copy normalize makes of the models the warp does not read directly.
func bytesPerPixel(mt MediaType, m color.Model) int64 {
	if mt == HEIC {
		// libheif (see decodeHEIF): at most its RGBA image and our copy of it, 4 + 4
		// (a grid is assembled in 3-byte planar RGB first, freed as the RGBA is made).
		// Above 8 bits per channel its conversion goes through 16-bit planes: 14.
		// Measured peaks over the JPEG page's working set, Go and C heaps together
		// (TestCostCovers, 12 MP): 5.5 for an 8-bit grid, iPhone photos included,
		// 10.2 for a 10-bit picture.
		if m == color.NRGBA64Model {
			return 14
		}
		return 8
	}
	switch m {
	case color.GrayModel:
		return 1
	case color.YCbCrModel:
		return 3 // 4:4:4 at most
	case color.NYCbCrAModel:
		return 4 + 4
	case color.NRGBAModel, color.RGBAModel: // RGBA is made NRGBA in place
		return 4
	case color.Gray16Model:
		return 2 + 4
	case color.CMYKModel:
		return 4 + 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1 + 4
	}
	return 8 + 4 // RGBA64, NRGBA64 and anything else
}

// pdfCost checks what a PDF asks of memory before pdfcpu reads it (see pdfShapeOf) and
// returns what its processing needs: pdfcpu's copies of the file (the streams it reads,
// the file it writes and its buffer), its objects, the largest stream it inflates (four
// times: pdfcpu decodes into a buffer that grows by doubling, and the garbage of each
// step counts until collected), and the picture decoded for the thumbnail (three times:
// pdfcpu's decoding, its re-encoding, ours).
func pdfCost(ctx context.Context, b []byte) (int64, error) {
	sh, err := pdfShapeOf(ctx, b)
	if err != nil {
		return 0, err
	}
	inflate := max(sh.largest, 4<<20)
	if sh.unmeasured {
		inflate = maxPDFStream
	}
	return 4*int64(len(b)) + int64(sh.objects)*pdfObjectBytes + 4*inflate + 3*min(sh.picture, maxThumbDecode) + pdfWork, nil
}
