package ingest

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Original returns what the safe keeps of an input file as its original, and its type.
// A photo keeps its pixels exactly as they were sent but loses what it says about where,
// when and with what it was taken:
//
//   - JPEG: every APPn segment but the JFIF header and Adobe's colour transform (APP14),
//     so EXIF (GPS position, camera make and model, serial numbers, dates, the embedded
//     preview), XMP, ICC profiles, Photoshop/IPTC (APP13), vendor segments (APP2 MPF,
//     …), comments (COM) and anything after the end of the image (motion photos, gain
//     maps) are gone. The orientation survives as a minimal EXIF holding only it, so
//     viewers turn the photo as the clean rendition was turned.
//   - PNG: only the chunks that make the image (IHDR, PLTE, IDAT, tRNS, colour and
//     density chunks, APNG frames) are kept: text (tEXt, zTXt, iTXt), eXIf, tIME, iCCP
//     and unknown chunks are dropped. The EXIF orientation of a PNG is ignored by Process
//     too, so the original and the rendition agree.
//   - WebP: the EXIF, XMP and ICC chunks are dropped and the VP8X flags updated.
//   - PDF: kept as received (keep is true, the bytes are b): a PDF is a document, not a
//     photo, and an issuer's electronic signature only holds on the exact bytes. It must
//     never be shown inline: only its sanitised rendition is.
//
// HEIC and TIFF originals are not kept (keep is false): their metadata lives in boxes and
// directories addressed by absolute offsets, which can only be removed by rewriting the
// whole file, and no browser shows them anyway; the rendition is made from their full
// resolution and is the paper.
//
// A file whose structure cannot be walked gives an error wrapping ErrCorrupt.
func Original(b []byte) (kept []byte, mt MediaType, keep bool, err error) {
	mt, err = sniff(b[:min(len(b), SniffLen)])
	if err != nil {
		return nil, "", false, fmt.Errorf("ingest: original: %w", err)
	}
	switch mt {
	case JPEG:
		kept, err = stripJPEG(b, jpegOrientation(b))
	case PNG:
		kept, err = stripPNG(b)
	case WebP:
		kept, err = stripWebP(b)
	case PDF:
		return b, mt, true, nil
	default:
		return nil, mt, false, nil
	}
	if err != nil {
		return nil, mt, false, fmt.Errorf("ingest: original: %w", err)
	}
	return kept, mt, true, nil
}

// stripJPEG copies a JPEG marker by marker, entropy-coded data untouched, without the
// metadata segments, stopping at the end of image. When orientation is not 1, a minimal
// EXIF segment holding only it follows SOI (and the JFIF header, which must come first).
func stripJPEG(b []byte, orientation int) ([]byte, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil, fmt.Errorf("%w: jpeg: no start of image", ErrCorrupt)
	}
	out := make([]byte, 0, len(b))
	out = append(out, 0xFF, 0xD8)
	exifDone := orientation == 1
	writeExif := func() {
		if !exifDone {
			out = append(out, orientationEXIF(orientation)...)
			exifDone = true
		}
	}
	i := 2
	for {
		// Markers may be preceded by any number of 0xFF fill bytes.
		if i >= len(b) || b[i] != 0xFF {
			return nil, fmt.Errorf("%w: jpeg: marker expected at %d", ErrCorrupt, i)
		}
		for i+1 < len(b) && b[i+1] == 0xFF {
			i++
		}
		if i+1 >= len(b) {
			return nil, fmt.Errorf("%w: jpeg: no end of image", ErrCorrupt)
		}
		m := b[i+1]
		switch {
		case m == 0xD9: // end of image: whatever follows is dropped
			writeExif()
			return append(out, 0xFF, 0xD9), nil
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // no length
			out = append(out, 0xFF, m)
			i += 2
			continue
		}
		if i+4 > len(b) {
			return nil, fmt.Errorf("%w: jpeg: truncated segment", ErrCorrupt)
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		end := i + 2 + n
		if n < 2 || end > len(b) {
			return nil, fmt.Errorf("%w: jpeg: segment length out of range", ErrCorrupt)
		}
		seg := b[i+4 : end]
		switch {
		case m == 0xE0 && bytes.HasPrefix(seg, []byte("JFIF\x00")):
			out = append(out, b[i:end]...)
			writeExif()
		case m == 0xEE && bytes.HasPrefix(seg, []byte("Adobe")):
			writeExif()
			out = append(out, b[i:end]...)
		case m >= 0xE0 && m <= 0xEF, m == 0xFE: // other APPn, COM
		default:
			writeExif()
			out = append(out, b[i:end]...)
		}
		i = end
		if m != 0xDA {
			continue
		}
		// Entropy-coded data runs until a marker other than a stuffed 0x00 or a restart.
		j := i
		for {
			k := bytes.IndexByte(b[j:], 0xFF)
			if k < 0 || j+k+1 >= len(b) {
				return nil, fmt.Errorf("%w: jpeg: scan without end", ErrCorrupt)
			}
			j += k
			if next := b[j+1]; next == 0x00 || (next >= 0xD0 && next <= 0xD7) {
				j += 2
				continue
			}
			break
		}
		out = append(out, b[i:j]...)
		i = j
	}
}

// orientationEXIF is an APP1 segment whose EXIF holds IFD0 with the orientation tag only.
func orientationEXIF(o int) []byte {
	seg := []byte{0xFF, 0xE1, 0, 34}
	seg = append(seg, "Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"...)
	seg = append(seg, 0, 1) // one entry
	seg = append(seg, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0)
	return append(seg, 0, 0, 0, 0) // no next IFD
}

// pngKept are the chunks that make the image; everything else is dropped.
func pngKept(typ string) bool {
	switch typ {
	case "IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "cHRM", "sRGB", "sBIT", "bKGD", "pHYs", "acTL", "fcTL", "fdAT":
		return true
	}
	return false
}

func stripPNG(b []byte) ([]byte, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(b, []byte(sig)) {
		return nil, fmt.Errorf("%w: png: no signature", ErrCorrupt)
	}
	out := make([]byte, 0, len(b))
	out = append(out, sig...)
	for i := len(sig); ; {
		if i+12 > len(b) {
			return nil, fmt.Errorf("%w: png: no end chunk", ErrCorrupt)
		}
		n := int64(binary.BigEndian.Uint32(b[i:]))
		end := int64(i) + 12 + n
		if end > int64(len(b)) {
			return nil, fmt.Errorf("%w: png: chunk length out of range", ErrCorrupt)
		}
		typ := string(b[i+4 : i+8])
		if pngKept(typ) {
			out = append(out, b[i:end]...)
		}
		if typ == "IEND" {
			return out, nil
		}
		i = int(end)
	}
}

func stripWebP(b []byte) ([]byte, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil, fmt.Errorf("%w: webp: no RIFF header", ErrCorrupt)
	}
	size := int64(binary.LittleEndian.Uint32(b[4:])) + 8
	if size > int64(len(b)) || size < 12 {
		return nil, fmt.Errorf("%w: webp: RIFF size out of range", ErrCorrupt)
	}
	out := make([]byte, 12, len(b))
	copy(out, b[:12])
	for i := int64(12); i < size; {
		if i+8 > size {
			return nil, fmt.Errorf("%w: webp: truncated chunk", ErrCorrupt)
		}
		n := int64(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + n + n&1
		if end > size {
			return nil, fmt.Errorf("%w: webp: chunk length out of range", ErrCorrupt)
		}
		switch string(b[i : i+4]) {
		case "VP8 ", "VP8L", "ALPH", "ANIM", "ANMF":
			out = append(out, b[i:end]...)
		case "VP8X":
			start := len(out)
			out = append(out, b[i:end]...)
			if n > 0 {
				out[start+8] &^= 0x20 | 0x08 | 0x04 // ICC profile, EXIF, XMP
			}
		}
		i = end
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, nil
}
