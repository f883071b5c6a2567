package ingest

// HEIC and HEIF photos are decoded by libheif, the library whose own tools
// (heif-convert, heif-info) are the reference for what a readable HEIF file
// is, linked with cgo: Debian's libheif-dev (scripts/deps.sh installs it).
// There is no fallback: a machine without libheif does not build, rather
// than decode photos differently from another machine.

/*
#cgo LDFLAGS: -lheif
#include <stdlib.h>
#include <libheif/heif.h>

// Decoding options are allocated by libheif, since the structure grows
// between versions.
static struct heif_error coffre_heif_decode(const struct heif_image_handle* h, struct heif_image** out) {
	struct heif_decoding_options* o = heif_decoding_options_alloc();
	o->convert_hdr_to_8bit = 1;
	struct heif_error err = heif_decode_image(h, out, heif_colorspace_RGB, heif_chroma_interleaved_RGBA, o);
	heif_decoding_options_free(o);
	return err;
}
*/
import "C"

import (
	"fmt"
	"image"
	"image/color"
	"runtime"
	"sync"
	"unsafe"
)

// heifInit initialises libheif once per process (it registers its decoders).
var heifInit = sync.OnceValue(func() error { //nolint:gochecknoglobals // libheif is initialised once per process
	if err := C.heif_init(nil); err.code != C.heif_error_Ok {
		return fmt.Errorf("libheif: init: %s", C.GoString(err.message))
	}
	return nil
})

// heifMaxSide bounds each side of every image libheif allocates, the tiles
// of a grid and the grid itself included, whatever the container declares:
// the pixel limit is checked on the primary image's declared size, and
// this keeps a grid whose descriptor disagrees with it within reach.
const heifMaxSide = 16384

// heifFile is a parsed HEIF container and its primary image. The bytes are
// read in place (pinned for as long as libheif holds them), not copied.
type heifFile struct {
	ctx    *C.struct_heif_context
	handle *C.struct_heif_image_handle
	pin    runtime.Pinner
}

func heifError(step string, err C.struct_heif_error) error {
	return fmt.Errorf("%w: libheif: %s: %s", ErrCorrupt, step, C.GoString(err.message))
}

func openHEIF(b []byte) (*heifFile, error) {
	if err := heifInit(); err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty heif", ErrCorrupt)
	}
	f := &heifFile{ctx: C.heif_context_alloc()}
	if f.ctx == nil {
		return nil, fmt.Errorf("libheif: out of memory")
	}
	C.heif_context_set_maximum_image_size_limit(f.ctx, heifMaxSide)
	f.pin.Pin(&b[0])
	if err := C.heif_context_read_from_memory_without_copy(f.ctx, unsafe.Pointer(&b[0]), C.size_t(len(b)), nil); err.code != C.heif_error_Ok {
		e := heifError("read", err)
		f.close()
		return nil, e
	}
	if err := C.heif_context_get_primary_image_handle(f.ctx, &f.handle); err.code != C.heif_error_Ok {
		e := heifError("primary image", err)
		f.close()
		return nil, e
	}
	return f, nil
}

func (f *heifFile) close() {
	if f.handle != nil {
		C.heif_image_handle_release(f.handle)
	}
	C.heif_context_free(f.ctx)
	f.pin.Unpin()
}

// heifConfig reads the primary image's size without decoding it: the size
// it is shown at (after rotation and cropping), or the size it is coded at
// (ispe) when that is larger, since libheif decodes the whole coded image
// before cropping it. The colour model says what libheif works in:
// color.NRGBA64Model for more than 8 bits per channel, which costs more
// memory while decoding (see bytesPerPixel).
func heifConfig(b []byte) (image.Config, error) {
	f, err := openHEIF(b)
	if err != nil {
		return image.Config{}, err
	}
	defer f.close()
	model := color.NRGBAModel
	if C.heif_image_handle_get_luma_bits_per_pixel(f.handle) > 8 {
		model = color.NRGBA64Model
	}
	w, h := f.shown()
	if iw, ih := f.coded(); int64(iw)*int64(ih) > int64(w)*int64(h) {
		w, h = iw, ih
	}
	return image.Config{ColorModel: model, Width: w, Height: h}, nil
}

func (f *heifFile) shown() (w, h int) {
	return int(C.heif_image_handle_get_width(f.handle)), int(C.heif_image_handle_get_height(f.handle))
}

func (f *heifFile) coded() (w, h int) {
	return int(C.heif_image_handle_get_ispe_width(f.handle)), int(C.heif_image_handle_get_ispe_height(f.handle))
}

// decodeHEIF decodes the primary image as libheif's own tools do, with its
// rotation, mirroring and cropping applied, its colour matrix and range
// honoured, more than 8 bits per channel reduced to 8, grids assembled.
// It asks for interleaved RGBA, one conversion that every HEIF libheif
// reads supports (Debian 12's libheif 1.15 assembles grids in RGB anyway),
// and copies it into Go memory so that no C memory outlives the call.
func decodeHEIF(b []byte) (image.Image, error) {
	f, err := openHEIF(b)
	if err != nil {
		return nil, err
	}
	defer f.close()
	// What was declared, and checked against the pixel limit and the
	// budget, is all libheif may allocate: a grid whose descriptor asks
	// for more than its declared size is refused, not assembled.
	w, h := f.shown()
	iw, ih := f.coded()
	C.heif_context_set_maximum_image_size_limit(f.ctx, C.int(min(max(w, h, iw, ih)+1, heifMaxSide)))
	var img *C.struct_heif_image
	if err := C.coffre_heif_decode(f.handle, &img); err.code != C.heif_error_Ok {
		return nil, heifError("decode", err)
	}
	defer C.heif_image_release(img)
	w = int(C.heif_image_get_width(img, C.heif_channel_interleaved))
	h = int(C.heif_image_get_height(img, C.heif_channel_interleaved))
	var stride C.int
	p := C.heif_image_get_plane_readonly(img, C.heif_channel_interleaved, &stride)
	if p == nil || w <= 0 || h <= 0 || int(stride) < 4*w {
		return nil, fmt.Errorf("%w: libheif: no pixels", ErrCorrupt)
	}
	src := unsafe.Slice((*byte)(unsafe.Pointer(p)), (h-1)*int(stride)+4*w)
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		copy(m.Pix[y*m.Stride:y*m.Stride+4*w], src[y*int(stride):])
	}
	return m, nil
}
