package ingest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"

	"github.com/disintegration/imaging"
)

// ThumbWidth is the width of thumbnails: a 360 px phone screen shows two
// per row, and one stays sharp on a desktop list.
const ThumbWidth = 320

// writeThumb writes a ThumbWidth-wide JPEG of img. It is re-encoded from
// pixels, so it carries no metadata whatever the source had.
func writeThumb(w io.Writer, img image.Image) error {
	b := img.Bounds()
	src := img
	// Box-average first so the Lanczos pass reads a hundred thousand
	// pixels, not four million; it still starts from 1.25× the final width.
	if f := b.Dx() * 4 / (5 * ThumbWidth); f >= 2 {
		if m, ok := img.(*image.RGBA); ok {
			src = downsample(m, f)
		} else if g, ok := img.(*image.Gray); ok {
			src = downsample(g, f)
		}
	}
	t := imaging.Resize(src, ThumbWidth, 0, imaging.Lanczos)
	data, err := compressJPEG(t, 80)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// What Miniature reads is bounded: a thumbnail this package wrote is a few tens of
// kilobytes, and a third of a megapixel.
const (
	maxThumbBytes  = 1 << 20
	maxThumbPixels = 4 << 20
)

// Miniature is a width-pixel-wide JPEG of a thumbnail this package wrote, for lists that
// show papers small: a share form's 40 CSS pixels need 80 device pixels, and the
// thumbnail's 320 weigh ten times as much on a prepaid plan. It reads thumb to its end,
// so that a reader checking its bytes as they come (the vault's) has checked them all
// before anything is made of them. A thumbnail no wider than width is given as it is.
func Miniature(thumb io.Reader, width int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(thumb, maxThumbBytes+1))
	if err != nil {
		return nil, fmt.Errorf("ingest: miniature: %w", err)
	}
	if len(b) > maxThumbBytes {
		return nil, fmt.Errorf("ingest: miniature: a thumbnail of more than %d bytes", maxThumbBytes)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("ingest: miniature: %w", err)
	}
	switch {
	case cfg.Width <= width:
		return b, nil
	case int64(cfg.Width)*int64(cfg.Height) > maxThumbPixels:
		return nil, fmt.Errorf("ingest: miniature: a thumbnail of %d×%d pixels", cfg.Width, cfg.Height)
	}
	img, err := decodeJPEG(b)
	if err != nil {
		return nil, fmt.Errorf("ingest: miniature: %w", err)
	}
	// Box averages where the factor is whole (320 to 80 pixels: 4) cost a fifth of a
	// Lanczos pass over the thumbnail, and blur nothing at this size.
	src := img
	switch img.(type) {
	case *image.YCbCr, *image.Gray:
		if f := cfg.Width / width; f >= 2 {
			src = downsample(img, f)
		}
	}
	if src.Bounds().Dx() != width {
		src = imaging.Resize(src, width, 0, imaging.Lanczos)
	}
	data, err := compressJPEG(src, 80)
	if err != nil {
		return nil, fmt.Errorf("ingest: miniature: %w", err)
	}
	return data, nil
}

// genericThumb draws a neutral page: white A4 sheet, folded corner, grey
// lines. Used for PDFs whose first page cannot be pictured without a PDF
// renderer.
func genericThumb() image.Image {
	w, h := ThumbWidth, ThumbWidth*a4PxH/a4PxW
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	bgc := color.RGBA{0xEE, 0xEE, 0xEE, 0xFF}
	paper := color.RGBA{0xFF, 0xFF, 0xFF, 0xFF}
	line := color.RGBA{0xC8, 0xC8, 0xC8, 0xFF}
	edge := color.RGBA{0x9A, 0x9A, 0x9A, 0xFF}
	fold := 48
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := paper
			switch {
			case x+y < fold: // outside the folded corner
				c = bgc
			case x+y < fold+2 || x < 2 || y < 2 || x >= w-2 || y >= h-2:
				c = edge
			}
			m.SetRGBA(x, y, c)
		}
	}
	for y := 80; y < h-40; y += 22 {
		end := w - 36
		if (y/22)%5 == 4 {
			end = w / 2
		}
		for yy := y; yy < y+8; yy++ {
			for x := 36; x < end; x++ {
				m.SetRGBA(x, yy, line)
			}
		}
	}
	return m
}

func encodeThumb(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeThumb(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
