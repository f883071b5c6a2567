package ingest

import (
	"bytes"
	"fmt"
)

// MediaType is an IANA media type detected from content.
type MediaType string

// The media types accepted as input. Outputs are always application/pdf
// (document) and image/jpeg (thumbnail).
const (
	JPEG MediaType = "image/jpeg"
	PNG  MediaType = "image/png"
	HEIC MediaType = "image/heic"
	WebP MediaType = "image/webp"
	TIFF MediaType = "image/tiff"
	PDF  MediaType = "application/pdf"
)

// SniffLen is the number of leading bytes Sniff needs at most.
const SniffLen = 64

// Sniff detects the media type from the first bytes of a file (SniffLen is
// enough). It never looks at a file name. Unknown content yields
// ErrUnsupportedType, an empty header ErrEmpty.
//
// The PDF signature must start at offset 0: viewers tolerate up to 1 KiB of
// junk before it, but that tolerance is what makes JPEG/PDF and HTML/PDF
// polyglots work, so we refuse it.
func Sniff(header []byte) (MediaType, error) {
	mt, err := sniff(header)
	if err != nil {
		return "", fmt.Errorf("ingest: %w", err)
	}
	return mt, nil
}

func sniff(h []byte) (MediaType, error) {
	switch {
	case len(h) == 0:
		return "", ErrEmpty
	case bytes.HasPrefix(h, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG, nil
	case bytes.HasPrefix(h, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case len(h) >= 12 && bytes.Equal(h[:4], []byte("RIFF")) && bytes.Equal(h[8:12], []byte("WEBP")):
		return WebP, nil
	case bytes.HasPrefix(h, []byte("II*\x00")), bytes.HasPrefix(h, []byte("MM\x00*")):
		return TIFF, nil
	case bytes.HasPrefix(h, []byte("%PDF-")):
		return PDF, nil
	case isHEIF(h):
		return HEIC, nil
	}
	return "", ErrUnsupportedType
}

// isHEIF recognises an ISO-BMFF "ftyp" box whose brands announce HEVC-coded
// HEIF. AVIF shares the container (and the mif1 brand) but not the codec our
// decoder embeds, so it is refused rather than failing later.
func isHEIF(h []byte) bool {
	if len(h) < 16 || !bytes.Equal(h[4:8], []byte("ftyp")) {
		return false
	}
	size := int(h[0])<<24 | int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if size < 16 || size > len(h) {
		size = len(h)
	}
	size -= size % 4
	heif := false
	for off := 8; off+4 <= size; off += 4 {
		if off == 12 { // minor version, not a brand
			continue
		}
		switch string(h[off : off+4]) {
		case "heic", "heix", "heim", "heis", "hevc", "hevx":
			heif = true
		case "avif", "avis":
			return false
		}
	}
	if !heif && len(h) >= 12 {
		b := string(h[8:12])
		heif = b == "mif1" || b == "msf1"
	}
	return heif
}
