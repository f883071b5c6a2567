package ingest

// JPEG photos are decoded by libjpeg-turbo (Debian's libturbojpeg0-dev,
// installed by scripts/deps.sh), straight into the Y, Cb and Cr planes of an
// image.YCbCr: its SIMD inverse DCT is three times as fast as
// image/jpeg's, and skipping the colour conversion leaves the warp to
// convert only the pixels of the output page. What it does not take (CMYK
// and RGB JPEGs) or warns about (truncated or damaged data) goes to
// image/jpeg, which decides as it always did. Pages and thumbnails are
// encoded by libjpeg-turbo too, five times as fast as image/jpeg, with the
// same quantisation tables and 4:2:0 chroma.

/*
#cgo LDFLAGS: -lturbojpeg
#include <turbojpeg.h>

static int coffre_tj_planes(tjhandle h, const unsigned char* buf, unsigned long size,
		unsigned char* y, unsigned char* cb, unsigned char* cr, int ystride, int cstride, int w, int hgt) {
	unsigned char* planes[3] = {y, cb, cr};
	int strides[3] = {ystride, cstride, cstride};
	return tjDecompressToYUVPlanes(h, buf, size, planes, w, strides, hgt,
		TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS | TJFLAG_ACCURATEDCT);
}

// coffre_tj_encode compresses pixels into a buffer libjpeg-turbo allocates
// (*out, freed with tjFree).
static int coffre_tj_encode(const unsigned char* pix, int w, int pitch, int h, int format,
		int samp, int quality, int flags, unsigned char** out, unsigned long* size) {
	tjhandle t = tjInitCompress();
	if (t == NULL) {
		return -1;
	}
	*out = NULL;
	*size = 0;
	int r = tjCompress2(t, pix, w, pitch, h, format, out, size, samp, quality, flags | TJFLAG_ACCURATEDCT);
	tjDestroy(t);
	return r;
}
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"unsafe"
)

// decodeJPEG decodes a JPEG into *image.YCbCr or *image.Gray with
// libjpeg-turbo, or with image/jpeg for what libjpeg-turbo cannot take
// without a warning.
func decodeJPEG(b []byte) (image.Image, error) {
	if img, ok := decodeJPEGTurbo(b); ok {
		return img, nil
	}
	return jpeg.Decode(bytes.NewReader(b))
}

func decodeJPEGTurbo(b []byte) (image.Image, bool) {
	if len(b) == 0 {
		return nil, false
	}
	h := C.tjInitDecompress()
	if h == nil {
		return nil, false
	}
	defer C.tjDestroy(h)
	buf := (*C.uchar)(unsafe.Pointer(&b[0]))
	var w, ht, samp, cs C.int
	if C.tjDecompressHeader3(h, buf, C.ulong(len(b)), &w, &ht, &samp, &cs) != 0 || w <= 0 || ht <= 0 {
		return nil, false
	}
	r := image.Rect(0, 0, int(w), int(ht))
	if cs == C.TJCS_GRAY {
		m := image.NewGray(r)
		if C.coffre_tj_planes(h, buf, C.ulong(len(b)), (*C.uchar)(&m.Pix[0]), nil, nil, C.int(m.Stride), 0, w, ht) != 0 {
			return nil, false
		}
		return m, true
	}
	if cs != C.TJCS_YCbCr {
		return nil, false
	}
	var ratio image.YCbCrSubsampleRatio
	switch samp {
	case C.TJSAMP_444:
		ratio = image.YCbCrSubsampleRatio444
	case C.TJSAMP_422:
		ratio = image.YCbCrSubsampleRatio422
	case C.TJSAMP_420:
		ratio = image.YCbCrSubsampleRatio420
	case C.TJSAMP_440:
		ratio = image.YCbCrSubsampleRatio440
	case C.TJSAMP_411:
		ratio = image.YCbCrSubsampleRatio411
	default:
		return nil, false
	}
	// libjpeg-turbo writes whole chroma pairs: for 4:2:0 an odd-sized
	// picture gets a Y plane one column and one row larger than
	// image.NewYCbCr's. The planes are laid out as it asks, and the
	// picture's rectangle leaves the padding out.
	yw, yh := int(C.tjPlaneWidth(0, w, samp)), int(C.tjPlaneHeight(0, ht, samp))
	cw, ch := int(C.tjPlaneWidth(1, w, samp)), int(C.tjPlaneHeight(1, ht, samp))
	if yw < int(w) || yh < int(ht) || cw <= 0 || ch <= 0 {
		return nil, false
	}
	pix := make([]uint8, yw*yh+2*cw*ch)
	m := &image.YCbCr{
		Y: pix[:yw*yh], Cb: pix[yw*yh : yw*yh+cw*ch], Cr: pix[yw*yh+cw*ch:],
		YStride: yw, CStride: cw, SubsampleRatio: ratio, Rect: r,
	}
	if C.coffre_tj_planes(h, buf, C.ulong(len(b)),
		(*C.uchar)(&m.Y[0]), (*C.uchar)(&m.Cb[0]), (*C.uchar)(&m.Cr[0]),
		C.int(m.YStride), C.int(m.CStride), w, ht) != 0 {
		return nil, false
	}
	return m, true
}

// compressJPEG compresses img at quality (1–100) with 4:2:0 chroma, or as
// greyscale for an *image.Gray. libjpeg-turbo takes *image.RGBA,
// *image.NRGBA (made opaque already: alpha is ignored) and *image.Gray,
// sub-images included, the pages and thumbnails this package makes; other
// images (a PDF's pictures being watermarked) go to image/jpeg.
func compressJPEG(img image.Image, quality int) ([]byte, error) {
	switch img.(type) {
	case *image.RGBA, *image.NRGBA, *image.Gray:
		return tjEncode(img, quality, tjSamp420, 0)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// libjpeg-turbo's chroma subsamplings and flags, as tjEncode takes them.
const (
	tjSamp444     = C.TJSAMP_444
	tjSamp422     = C.TJSAMP_422
	tjSamp420     = C.TJSAMP_420
	tjSamp440     = C.TJSAMP_440
	tjProgressive = C.TJFLAG_PROGRESSIVE
)

func tjEncode(img image.Image, quality, samp, flags int) ([]byte, error) {
	var pix []uint8
	var stride, format int
	r := img.Bounds()
	switch m := img.(type) {
	case *image.RGBA:
		pix, stride, format = m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, C.TJPF_RGBX
	case *image.NRGBA:
		pix, stride, format = m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, C.TJPF_RGBX
	case *image.Gray:
		pix, stride, format = m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, C.TJPF_GRAY
		samp = C.TJSAMP_GRAY
	default:
		return nil, fmt.Errorf("jpeg: cannot encode %T", img)
	}
	if r.Empty() {
		return nil, errors.New("jpeg: empty image")
	}
	var out *C.uchar
	var size C.ulong
	if C.coffre_tj_encode((*C.uchar)(&pix[0]), C.int(r.Dx()), C.int(stride), C.int(r.Dy()), C.int(format),
		C.int(samp), C.int(quality), C.int(flags), &out, &size) != 0 {
		if out != nil {
			C.tjFree(out)
		}
		return nil, errors.New("jpeg: libjpeg-turbo could not encode")
	}
	defer C.tjFree(out)
	return C.GoBytes(unsafe.Pointer(out), C.int(size)), nil
}
