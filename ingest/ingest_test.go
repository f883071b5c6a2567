package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
)

// docPhoto is a small generated photo of a document, JPEG-encoded.
func docPhoto(t testing.TB, seed uint64, w, h int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	sc := genScene(rng, sceneOpts{w: w, h: h, kind: bgDark, noise: 2, minFill: 0.7, maxFill: 0.85, rot: 6, persp: 0.03})
	return encodeJPEG(t, sc.img, 90)
}

// withEXIF inserts an APP1 EXIF segment (orientation, a GPS IFD pointer
// and a camera make) and an APP1 XMP segment after SOI.
func withEXIF(jpg []byte, orientation uint16) []byte {
	var t bytes.Buffer
	t.WriteString("MM\x00\x2a\x00\x00\x00\x08")
	be := binary.BigEndian
	entries := []struct {
		tag, typ uint16
		n, v     uint32
	}{
		{0x010F, 2, 4, 0x474F5300}, // Make "GOS\0" inline... "GPS" marker text
		{0x0112, 3, 1, uint32(orientation) << 16},
		{0x8825, 4, 1, 0}, // GPS IFD pointer (dangling on purpose)
	}
	binary.Write(&t, be, uint16(len(entries)))
	for _, e := range entries {
		binary.Write(&t, be, e.tag)
		binary.Write(&t, be, e.typ)
		binary.Write(&t, be, e.n)
		binary.Write(&t, be, e.v)
	}
	binary.Write(&t, be, uint32(0))
	t.WriteString("GPSLatitude 48.8566 GPSLongitude 2.3522")
	exif := append([]byte("Exif\x00\x00"), t.Bytes()...)
	xmp := []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPS secret</x:xmpmeta>")
	var out bytes.Buffer
	out.Write(jpg[:2])
	for _, seg := range [][]byte{exif, xmp} {
		out.Write([]byte{0xFF, 0xE1})
		binary.Write(&out, be, uint16(len(seg)+2))
		out.Write(seg)
	}
	out.Write(jpg[2:])
	return out.Bytes()
}

// checkNoMetadata fails if b contains any trace of EXIF, XMP or GPS data,
// or an APP1 segment in an embedded JPEG.
func checkNoMetadata(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, m := range []string{"Exif", "XMP", "xmpmeta", "GPS", "xap/1.0"} {
		if bytes.Contains(b, []byte(m)) {
			t.Errorf("%s contains %q", what, m)
		}
	}
	for i := 0; i+4 < len(b); i++ {
		if b[i] == 0xFF && b[i+1] == 0xD8 && b[i+2] == 0xFF {
			// Walk the markers of an embedded JPEG up to the scan.
			j := i + 2
			for j+4 < len(b) && b[j] == 0xFF && b[j+1] != 0xDA {
				if b[j+1] == 0xE1 {
					t.Errorf("%s: APP1 segment in JPEG at %d", what, i)
				}
				j += 2 + int(binary.BigEndian.Uint16(b[j+2:]))
			}
		}
	}
}

// checkPDF validates a PDF with pdfcpu and checks every page is A4.
func checkPDF(t *testing.T, b []byte, pages int) {
	t.Helper()
	conf := pdfConfig(&Options{MaxBytes: DefaultMaxBytes, MaxPixels: DefaultMaxPixels})
	if err := api.Validate(bytes.NewReader(b), conf); err != nil {
		t.Fatalf("output PDF does not validate: %v", err)
	}
	ctx, err := pdfcpu.Read(bytes.NewReader(b), pdfConfig(&Options{MaxBytes: DefaultMaxBytes, MaxPixels: DefaultMaxPixels}))
	if err != nil {
		t.Fatal(err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.PageCount != pages {
		t.Errorf("PDF has %d pages, want %d", ctx.PageCount, pages)
	}
	dims, err := ctx.PageDims()
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range dims {
		w, h := math.Min(d.Width, d.Height), math.Max(d.Width, d.Height)
		if math.Abs(w-595.28) > 0.5 || math.Abs(h-841.89) > 0.5 {
			t.Errorf("page %d is %.2f×%.2f pt, want A4 595.28×841.89", i+1, d.Width, d.Height)
		}
	}
}

func process(t *testing.T, opts Options, inputs ...[]byte) (*Result, []byte, []byte, error) {
	t.Helper()
	rs := make([]io.Reader, len(inputs))
	for i, b := range inputs {
		rs[i] = bytes.NewReader(b)
	}
	var pdf, th bytes.Buffer
	res, err := Process(context.Background(), rs, opts, &pdf, &th)
	return res, pdf.Bytes(), th.Bytes(), err
}

func TestPhotoToPDF(t *testing.T) {
	in := withEXIF(docPhoto(t, 1, 1600, 1200), 1)
	if jpegOrientation(in) != 1 || !bytes.Contains(in, []byte("GPS")) {
		t.Fatal("test input lacks its EXIF")
	}
	res, pdf, th, err := process(t, Options{}, in, docPhoto(t, 2, 1200, 1600))
	if err != nil {
		t.Fatal(err)
	}
	if res.PageCount != 2 || len(res.Pages) != 2 || res.MediaType != JPEG {
		t.Fatalf("result %+v", res)
	}
	checkPDF(t, pdf, 2)
	checkNoMetadata(t, "pdf", pdf)
	checkNoMetadata(t, "thumbnail", th)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(th))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != ThumbWidth {
		t.Errorf("thumbnail is %d px wide, want %d", cfg.Width, ThumbWidth)
	}
	for i, p := range res.Pages {
		t.Logf("page %d: %d×%d px, %d KB, cropped %v", i, p.Width, p.Height, p.Bytes/1024, p.Cropped)
		if !p.Cropped {
			t.Errorf("page %d: sheet not found", i)
		}
		if p.Bytes > maxPageBytes {
			t.Errorf("page %d: %d bytes, more than %d", i, p.Bytes, maxPageBytes)
		}
	}
	if res.PDFBytes != int64(len(pdf)) || res.ThumbBytes != int64(len(th)) {
		t.Errorf("sizes %d/%d, wrote %d/%d", res.PDFBytes, res.ThumbBytes, len(pdf), len(th))
	}
}

func TestScanMode(t *testing.T) {
	res, pdf, _, err := process(t, Options{Mode: ModeScan}, docPhoto(t, 3, 1600, 1200))
	if err != nil {
		t.Fatal(err)
	}
	checkPDF(t, pdf, 1)
	if !bytes.Contains(pdf, []byte("/BitsPerComponent 1")) {
		t.Error("scan mode page is not black and white")
	}
	t.Logf("scan mode page: %d KB", res.Pages[0].Bytes/1024)
}

func TestFormats(t *testing.T) {
	// A document with transparency, as PNG.
	nrgba := image.NewNRGBA(image.Rect(0, 0, 300, 420))
	for i := range nrgba.Pix {
		nrgba.Pix[i] = 0 // fully transparent: must become white paper
	}
	for y := 100; y < 110; y++ {
		for x := 30; x < 270; x++ {
			nrgba.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 255})
		}
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, nrgba); err != nil {
		t.Fatal(err)
	}
	webp, err := os.ReadFile("testdata/blue-purple-pink.lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	heic, err := os.ReadFile("testdata/test8.heic")
	if err != nil {
		t.Fatal(err)
	}
	tiff3 := multiPageTIFF(t, 3)
	tests := []struct {
		name  string
		in    []byte
		mt    MediaType
		pages int
	}{
		{"png", pngBuf.Bytes(), PNG, 1},
		{"webp", webp, WebP, 1},
		{"heic", heic, HEIC, 1},
		{"tiff 3 pages", tiff3, TIFF, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, pdf, th, err := process(t, Options{}, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if res.MediaType != tt.mt || res.PageCount != tt.pages {
				t.Errorf("got %s with %d pages, want %s with %d", res.MediaType, res.PageCount, tt.mt, tt.pages)
			}
			checkPDF(t, pdf, tt.pages)
			if _, err := jpeg.Decode(bytes.NewReader(th)); err != nil {
				t.Errorf("thumbnail: %v", err)
			}
		})
	}
}

// multiPageTIFF writes an uncompressed 8-bit grey TIFF with n pages of
// different sizes, each page's IFD chained to the next.
func multiPageTIFF(t testing.TB, n int) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("II*\x00")
	binary.Write(&b, le, uint32(8))
	for p := 0; p < n; p++ {
		w, h := 200+40*p, 280+40*p
		ifdStart := b.Len()
		const entries = 8
		dataOff := ifdStart + 2 + entries*12 + 4
		next := uint32(0)
		if p < n-1 {
			next = uint32(dataOff + w*h)
		}
		binary.Write(&b, le, uint16(entries))
		for _, e := range [][3]uint32{
			{256, 4, uint32(w)}, {257, 4, uint32(h)}, {258, 3, 8}, {259, 3, 1},
			{262, 3, 1}, {273, 4, uint32(dataOff)}, {278, 4, uint32(h)}, {279, 4, uint32(w * h)},
		} {
			binary.Write(&b, le, uint16(e[0]))
			binary.Write(&b, le, uint16(e[1]))
			binary.Write(&b, le, uint32(1))
			binary.Write(&b, le, e[2])
		}
		binary.Write(&b, le, next)
		pix := make([]byte, w*h)
		for i := range pix {
			pix[i] = 235
			if (i/w)%20 < 3 && i%w > 20 && i%w < w-20 {
				pix[i] = 20 // text-like rules
			}
		}
		b.Write(pix)
	}
	return b.Bytes()
}

func TestBadInput(t *testing.T) {
	photo := docPhoto(t, 4, 800, 600)
	// A PNG header declaring 100000×100000 pixels: refused before decoding.
	var bomb bytes.Buffer
	bomb.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	ihdr[8], ihdr[9] = 8, 2
	writePNGChunk(&bomb, "IHDR", ihdr)
	writePNGChunk(&bomb, "IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	writePNGChunk(&bomb, "IEND", nil)

	polyglot := append(append([]byte{}, photo...), []byte("%PDF-1.4\n1 0 obj << /JS (app.alert(1)) >> endobj\n%%EOF")...)

	tests := []struct {
		name   string
		opts   Options
		inputs [][]byte
		want   error
	}{
		{"no input", Options{}, nil, ErrNoPages},
		{"zero bytes", Options{}, [][]byte{{}}, ErrEmpty},
		{"text", Options{}, [][]byte{[]byte("hello, this is not a photo")}, ErrUnsupportedType},
		{"html named .jpg", Options{}, [][]byte{[]byte("<!doctype html><script>alert(1)</script>")}, ErrUnsupportedType},
		{"gif", Options{}, [][]byte{[]byte("GIF89a\x01\x00\x01\x00")}, ErrUnsupportedType},
		{"truncated jpeg", Options{}, [][]byte{photo[:len(photo)/2]}, ErrCorrupt},
		{"jpeg header only", Options{}, [][]byte{photo[:20]}, ErrCorrupt},
		{"corrupt png", Options{}, [][]byte{[]byte("\x89PNG\r\n\x1a\nnonsense")}, ErrCorrupt},
		{"pixel bomb", Options{}, [][]byte{bomb.Bytes()}, ErrTooManyPixels},
		{"too large", Options{MaxBytes: 1000}, [][]byte{photo}, ErrTooLarge},
		{"too many pages", Options{MaxPages: 1}, [][]byte{photo, photo}, ErrTooManyPages},
		{"pdf with photos", Options{}, [][]byte{photo, scanPDF(t, 1)}, ErrMixedTypes},
		{"timeout", Options{Timeout: time.Nanosecond}, [][]byte{photo}, ErrTimeout},
		{"broken pdf", Options{}, [][]byte{[]byte("%PDF-1.4\ngarbage garbage\n%%EOF\n")}, ErrCorrupt},
		{"truncated pdf", Options{}, [][]byte{scanPDF(t, 2)[:300]}, ErrCorrupt},
		{"encrypted pdf", Options{}, [][]byte{encryptedPDF(t)}, ErrEncrypted},
		{"truncated tiff", Options{}, [][]byte{multiPageTIFF(t, 2)[:200]}, ErrCorrupt},
		{"tiff ifd out of range", Options{}, [][]byte{[]byte("II*\x00\xff\xff\xff\x00")}, ErrCorrupt},
		{"tiff without ifd", Options{}, [][]byte{[]byte("II*\x00\x00\x00\x00\x00")}, ErrCorrupt},
		{"heic garbage", Options{}, [][]byte{append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 100)...)}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, pdf, th, err := process(t, tt.opts, tt.inputs...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if len(pdf) != 0 || len(th) != 0 {
				t.Errorf("wrote %d+%d bytes despite the error", len(pdf), len(th))
			}
			msg := Message(err)
			if msg == "" || msg == Message(errors.New("other")) {
				t.Errorf("no specific French message for %v", err)
			}
			if e := err.Error(); strings.HasSuffix(e, ".") || !strings.HasPrefix(e, "ingest: ") {
				t.Errorf("error %q: want lowercase ingest: prefix, no period", e)
			}
		})
	}
	t.Run("polyglot", func(t *testing.T) {
		res, pdf, _, err := process(t, Options{}, polyglot)
		if err != nil {
			t.Fatal(err)
		}
		if res.MediaType != JPEG || bytes.Contains(pdf, []byte("app.alert")) {
			t.Errorf("polyglot payload survived: type %s", res.MediaType)
		}
	})
}

func writePNGChunk(w *bytes.Buffer, typ string, data []byte) {
	binary.Write(w, binary.BigEndian, uint32(len(data)))
	w.WriteString(typ)
	w.Write(data)
	crc := crc32IEEE(append([]byte(typ), data...))
	binary.Write(w, binary.BigEndian, crc)
}

func TestMessages(t *testing.T) {
	generic := Message(errors.New("boom"))
	seen := map[string]error{}
	for _, err := range []error{ErrEmpty, ErrNoPages, ErrUnsupportedType, ErrMixedTypes, ErrTooLarge,
		ErrTooManyPixels, ErrTooManyPages, ErrCorrupt, ErrEncrypted, ErrTimeout, ErrCanceled} {
		m := Message(fmt.Errorf("ingest: page 3: %w", err))
		if m == generic || !strings.HasSuffix(m, ".") {
			t.Errorf("%v: message %q", err, m)
		}
		if prev, dup := seen[m]; dup {
			t.Errorf("%v and %v share message %q", err, prev, m)
		}
		seen[m] = err
	}
	if Message(nil) != "" {
		t.Error("Message(nil) is not empty")
	}
	if !strings.Contains(Message(ErrUnsupportedType), "JPEG") {
		t.Error("unsupported type message does not name accepted types")
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		in   string
		want MediaType
		err  error
	}{
		{"\xff\xd8\xff\xe0", JPEG, nil},
		{"\x89PNG\r\n\x1a\n", PNG, nil},
		{"RIFF\x00\x00\x00\x00WEBPVP8 ", WebP, nil},
		{"II*\x00\x08\x00\x00\x00", TIFF, nil},
		{"MM\x00*\x00\x00\x00\x08", TIFF, nil},
		{"%PDF-1.7\n", PDF, nil},
		{"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", HEIC, nil},
		{"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heic", HEIC, nil},
		{"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00mif1avif", "", ErrUnsupportedType},
		{"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42", "", ErrUnsupportedType},
		{"junk%PDF-1.4", "", ErrUnsupportedType}, // PDF header must be at 0
		{"GIF89a", "", ErrUnsupportedType},
		{"", "", ErrEmpty},
	}
	for _, tt := range tests {
		got, err := Sniff([]byte(tt.in))
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Sniff(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
