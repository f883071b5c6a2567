package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"golang.org/x/image/webp"
)

// gpsRationals is the GPS latitude written by richEXIF (48° 51' 24"), as stored:
// three big-endian rationals. Finding these bytes in a file means the position is there.
var gpsRationals = []byte{0, 0, 0, 48, 0, 0, 0, 1, 0, 0, 0, 51, 0, 0, 0, 1, 0, 0, 0, 24, 0, 0, 0, 1} //nolint:gochecknoglobals // a test constant

// richEXIF is the EXIF of a phone photo: camera make, model and serial number, a date,
// the orientation, and a GPS directory with a latitude.
func richEXIF(orientation uint16) []byte {
	be := binary.BigEndian
	type entry struct {
		tag, typ uint16
		count    uint32
		data     []byte // inline when 4 bytes or less
	}
	short := func(v uint16) []byte { return []byte{byte(v >> 8), byte(v), 0, 0} }
	ascii := func(s string) []byte { return append([]byte(s), 0) }
	ifd0 := []entry{
		{0x010F, 2, 7, ascii("Google")},
		{0x0110, 2, 8, ascii("Pixel 7")},
		{0x0112, 3, 1, short(orientation)},
		{0x0132, 2, 20, ascii("2026:03:14 09:26:53")},
		{0xA431, 2, 11, ascii("SN12345678")},
		{0x8825, 4, 1, nil}, // GPS IFD pointer, filled below
	}
	gps := []entry{
		{0x0001, 2, 2, ascii("N")},
		{0x0002, 5, 3, gpsRationals},
	}
	// Layout: header (8), IFD0, its out-of-line values, GPS IFD, its values.
	size := func(es []entry) int { return 2 + 12*len(es) + 4 }
	extra := func(es []entry) int {
		n := 0
		for _, e := range es {
			if len(e.data) > 4 {
				n += len(e.data)
			}
		}
		return n
	}
	gpsOff := 8 + size(ifd0) + extra(ifd0)
	ifd0[len(ifd0)-1].data = be.AppendUint32(nil, uint32(gpsOff))
	var t bytes.Buffer
	t.WriteString("MM\x00\x2a\x00\x00\x00\x08")
	write := func(es []entry, at int) {
		vals := at + size(es)
		var tail bytes.Buffer
		binary.Write(&t, be, uint16(len(es)))
		for _, e := range es {
			binary.Write(&t, be, e.tag)
			binary.Write(&t, be, e.typ)
			binary.Write(&t, be, e.count)
			if len(e.data) > 4 {
				binary.Write(&t, be, uint32(vals+tail.Len()))
				tail.Write(e.data)
			} else {
				v := make([]byte, 4)
				copy(v, e.data)
				t.Write(v)
			}
		}
		binary.Write(&t, be, uint32(0))
		t.Write(tail.Bytes())
	}
	write(ifd0, 8)
	write(gps, gpsOff)
	return append([]byte("Exif\x00\x00"), t.Bytes()...)
}

// withPhoneMetadata replaces a JPEG's metadata with what a phone writes: the rich EXIF
// above (keeping the photo's orientation), XMP with a position, an ICC profile naming a
// device, Photoshop IPTC, a comment, and a motion-photo video after the end of the image.
func withPhoneMetadata(t *testing.T, jpg []byte) []byte {
	t.Helper()
	o := jpegOrientation(jpg)
	var out bytes.Buffer
	out.Write(jpg[:2])
	seg := func(marker byte, data []byte) {
		out.Write([]byte{0xFF, marker})
		binary.Write(&out, binary.BigEndian, uint16(len(data)+2))
		out.Write(data)
	}
	seg(0xE1, richEXIF(uint16(o)))
	seg(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><exif:GPSLatitude>48,51.4N</exif:GPSLatitude></x:xmpmeta>"))
	seg(0xE2, []byte("ICC_PROFILE\x00\x01\x01device Pixel 7"))
	seg(0xED, []byte("Photoshop 3.0\x008BIM city Paris"))
	seg(0xFE, []byte("taken at 12 rue de la Paix"))
	// The fixture's own segments follow (its JFIF header and EXIF included).
	out.Write(jpg[2:])
	out.WriteString("MotionPhoto_Data ftypmp42 GPS")
	return out.Bytes()
}

// appSegments lists the APPn and COM markers of a JPEG up to its first scan.
func appSegments(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for i := 2; i+4 <= len(b) && b[i] == 0xFF && b[i+1] != 0xDA; {
		m := b[i+1]
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if m >= 0xE0 && m <= 0xEF || m == 0xFE {
			data := b[i+4 : i+2+n]
			out = append(out, string([]byte{m})+string(data[:min(len(data), 5)]))
		}
		i += 2 + n
	}
	return out
}

func samePixels(t *testing.T, what string, a, b image.Image) {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("%s: size %v, want %v", what, b.Bounds(), a.Bounds())
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 7 {
		for x := r.Min.X; x < r.Max.X; x += 7 {
			if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
				t.Fatalf("%s: pixel (%d,%d) changed", what, x, y)
			}
		}
	}
}

// The real photos of the shared fixtures, with a phone's metadata added: what is kept
// has the same pixels and orientation, and no position, camera or other metadata.
func TestOriginalJPEG(t *testing.T) {
	dir := fixturesDir(t, "exif-orientation")
	for _, name := range []string{"Landscape_1.jpg", "Landscape_6.jpg", "Portrait_3.jpg", "Portrait_8.jpg", "Portrait_5.jpg"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			in := withPhoneMetadata(t, raw)
			if !bytes.Contains(in, gpsRationals) || !bytes.Contains(in, []byte("Pixel 7")) {
				t.Fatal("the test photo lacks the metadata it is about")
			}
			kept, mt, keep, err := Original(in)
			if err != nil || mt != JPEG || !keep {
				t.Fatalf("Original: %s %v %v", mt, keep, err)
			}
			for _, s := range [][]byte{gpsRationals, []byte("GPS"), []byte("Google"), []byte("Pixel"), []byte("SN1234"),
				[]byte("2026:03:14"), []byte("xmpmeta"), []byte("ICC_PROFILE"), []byte("Photoshop"), []byte("rue de la Paix"), []byte("MotionPhoto")} {
				if bytes.Contains(kept, s) {
					t.Errorf("the kept original still holds %q", s)
				}
			}
			want := jpegOrientation(raw)
			if got := jpegOrientation(kept); got != want {
				t.Errorf("orientation %d, want %d", got, want)
			}
			for _, s := range appSegments(t, kept) {
				if s != "\xe0JFIF\x00" && s != "\xe1Exif\x00" && s != "\xeeAdobe" {
					t.Errorf("segment %q kept", s)
				}
			}
			a, err := jpeg.Decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			b, err := jpeg.Decode(bytes.NewReader(kept))
			if err != nil {
				t.Fatalf("the kept original does not decode: %v", err)
			}
			samePixels(t, name, a, b)
			// Stripping is stable: a second pass changes nothing.
			again, _, _, err := Original(kept)
			if err != nil || !bytes.Equal(again, kept) {
				t.Errorf("a second pass changes the file: %v", err)
			}
		})
	}
}

func TestOriginalPNG(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	var enc bytes.Buffer
	if err := png.Encode(&enc, m); err != nil {
		t.Fatal(err)
	}
	b := enc.Bytes()
	// Metadata chunks after IHDR (8 + 25 bytes), as cameras and editors write them.
	var in bytes.Buffer
	in.Write(b[:33])
	writePNGChunk(&in, "eXIf", richEXIF(6)[6:])
	writePNGChunk(&in, "tEXt", []byte("Location\x00GPS 48.85 2.35"))
	writePNGChunk(&in, "iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>Pixel 7</x:xmpmeta>"))
	writePNGChunk(&in, "tIME", []byte{0x07, 0xEA, 3, 14, 9, 26, 53})
	writePNGChunk(&in, "iCCP", []byte("Pixel profile\x00\x00x"))
	in.Write(b[33:])
	in.WriteString("trailing GPS")
	kept, mt, keep, err := Original(in.Bytes())
	if err != nil || mt != PNG || !keep {
		t.Fatalf("Original: %s %v %v", mt, keep, err)
	}
	for _, s := range []string{"eXIf", "tEXt", "iTXt", "tIME", "iCCP", "GPS", "Pixel", "xmpmeta"} {
		if bytes.Contains(kept, []byte(s)) {
			t.Errorf("the kept PNG still holds %q", s)
		}
	}
	got, err := png.Decode(bytes.NewReader(kept))
	if err != nil {
		t.Fatalf("the kept PNG does not decode: %v", err)
	}
	samePixels(t, "png", m, got)
}

func TestOriginalWebP(t *testing.T) {
	simple, err := os.ReadFile("testdata/blue-purple-pink.lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	want, err := webp.Decode(bytes.NewReader(simple))
	if err != nil {
		t.Fatal(err)
	}
	// The extended format: VP8X announcing EXIF, XMP and an ICC profile.
	cfg, err := webp.DecodeConfig(bytes.NewReader(simple))
	if err != nil {
		t.Fatal(err)
	}
	chunk := func(fourcc string, data []byte) []byte {
		c := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
		c = append(c, data...)
		if len(data)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	vp8x := []byte{0x20 | 0x08 | 0x04, 0, 0, 0}
	vp8x = append(vp8x, byte(cfg.Width-1), byte((cfg.Width-1)>>8), byte((cfg.Width-1)>>16))
	vp8x = append(vp8x, byte(cfg.Height-1), byte((cfg.Height-1)>>8), byte((cfg.Height-1)>>16))
	var body []byte
	body = append(body, chunk("VP8X", vp8x)...)
	body = append(body, chunk("ICCP", []byte("device Pixel 7"))...)
	body = append(body, simple[12:]...) // the VP8 chunk
	body = append(body, chunk("EXIF", richEXIF(1)[6:])...)
	body = append(body, chunk("XMP ", []byte("<x:xmpmeta>GPS</x:xmpmeta>"))...)
	in := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	in = append(in, "WEBP"...)
	in = append(in, body...)
	if _, err := webp.Decode(bytes.NewReader(in)); err != nil {
		t.Fatalf("the test file does not decode: %v", err)
	}
	kept, mt, keep, err := Original(in)
	if err != nil || mt != WebP || !keep {
		t.Fatalf("Original: %s %v %v", mt, keep, err)
	}
	for _, s := range []string{"EXIF", "XMP ", "ICCP", "GPS", "Pixel"} {
		if bytes.Contains(kept, []byte(s)) {
			t.Errorf("the kept WebP still holds %q", s)
		}
	}
	if flags := kept[20]; flags&(0x20|0x08|0x04) != 0 {
		t.Errorf("VP8X flags %#x still announce metadata", flags)
	}
	got, err := webp.Decode(bytes.NewReader(kept))
	if err != nil {
		t.Fatalf("the kept WebP does not decode: %v", err)
	}
	samePixels(t, "webp", want, got)
}

func TestOriginalOthers(t *testing.T) {
	heic, err := os.ReadFile("testdata/test8.heic")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		in   []byte
		mt   MediaType
	}{{"heic", heic, HEIC}, {"tiff", multiPageTIFF(t, 2), TIFF}} {
		if kept, mt, keep, err := Original(tt.in); err != nil || keep || kept != nil || mt != tt.mt {
			t.Errorf("%s: kept %d bytes as %s (%v, %v)", tt.name, len(kept), mt, keep, err)
		}
	}
	pdf := scanPDF(t, 1)
	if kept, mt, keep, err := Original(pdf); err != nil || !keep || mt != PDF || !bytes.Equal(kept, pdf) {
		t.Errorf("pdf: not kept as received (%s, %v, %v)", mt, keep, err)
	}
	photo := docPhoto(t, 3, 300, 200)
	for _, bad := range [][]byte{photo[:len(photo)/2], append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}, photo[2:]...)} {
		if _, _, _, err := Original(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("a broken JPEG: %v, want ErrCorrupt", err)
		}
	}
	if _, _, _, err := Original([]byte("GIF89a")); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("a GIF: %v", err)
	}
}

// A "photo to PDF" app embeds the JPEG byte for byte, EXIF and all: the rendition keeps
// the picture and drops its metadata and its XMP.
func TestPDFImageMetadata(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(fixturesDir(t, "exif-orientation"), "Portrait_1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	jpg := withPhoneMetadata(t, raw)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	xmp := "<x:xmpmeta><exif:GPSLatitude>48,51.4N</exif:GPSLatitude></x:xmpmeta>"
	in := rawPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>",
		"<< /Length 35 >>\nstream\nq 595 0 0 842 0 0 cm /Im0 Do Q    \nendstream",
		fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Metadata 6 0 R /Length %d >>\nstream\n%s\nendstream", cfg.Width, cfg.Height, len(jpg), jpg),
		fmt.Sprintf("<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream", len(xmp), xmp),
	)
	if !bytes.Contains(in, gpsRationals) {
		t.Fatal("the test PDF lacks the position")
	}
	_, out, _, err := process(t, Options{}, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]byte{gpsRationals, []byte("GPS"), []byte("Pixel"), []byte("xmpmeta"), []byte("MotionPhoto")} {
		if bytes.Contains(out, s) {
			t.Errorf("the rendition still holds %q", s)
		}
	}
	ctx, err := pdfcpu.Read(bytes.NewReader(out), pdfConfig(&Options{MaxBytes: DefaultMaxBytes, MaxPixels: DefaultMaxPixels}))
	if err != nil {
		t.Fatal(err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := api.OptimizeContext(ctx); err != nil {
		t.Fatal(err)
	}
	imgs, err := pdfcpu.ExtractPageImages(ctx, 1, false)
	if err != nil || len(imgs) != 1 {
		t.Fatalf("images of page 1: %d, %v", len(imgs), err)
	}
	for _, im := range imgs {
		b, _ := io.ReadAll(im.Reader)
		got, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("the picture does not decode: %v", err)
		}
		want, _ := jpeg.Decode(bytes.NewReader(raw))
		samePixels(t, "picture", want, got)
	}
}
