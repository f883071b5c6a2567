package ingest

import "encoding/binary"

// jpegOrientation returns the EXIF orientation (1..8) of a JPEG, or 1 when
// it is absent or invalid. It walks the marker segments up to the first
// start-of-scan and parses only IFD0; every length is bounds-checked because
// this runs on untrusted bytes before any decoder does.
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return 1
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
			i += 2
			continue
		}
		if m == 0xDA || m == 0xD9 { // start of scan, end of image
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if m == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure (EXIF
// payload). It returns 0 when the tag is absent or out of range.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	for k := 0; k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 {
			v := int(bo.Uint16(t[e+8:]))
			if v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// orientMatrix maps continuous coordinates of the upright (displayed) image
// to coordinates in the stored image of size w×h, for EXIF orientation o.
// Composing it into the warp homography means the full-resolution pixels are
// never rotated in memory.
func orientMatrix(o, w, h int) mat3 {
	W, H := float64(w), float64(h)
	switch o {
	case 2: // mirrored horizontally
		return mat3{-1, 0, W, 0, 1, 0, 0, 0, 1}
	case 3: // rotated 180°
		return mat3{-1, 0, W, 0, -1, H, 0, 0, 1}
	case 4: // mirrored vertically
		return mat3{1, 0, 0, 0, -1, H, 0, 0, 1}
	case 5: // transposed
		return mat3{0, 1, 0, 1, 0, 0, 0, 0, 1}
	case 6: // must be turned 90° clockwise to display
		return mat3{0, 1, 0, -1, 0, H, 0, 0, 1}
	case 7: // transversed
		return mat3{0, -1, W, -1, 0, H, 0, 0, 1}
	case 8: // must be turned 90° counter-clockwise to display
		return mat3{0, -1, W, 1, 0, 0, 0, 0, 1}
	}
	return identity()
}

// orientedSize is the displayed size of a w×h stored image.
func orientedSize(o, w, h int) (int, int) {
	if o >= 5 && o <= 8 {
		return h, w
	}
	return w, h
}
