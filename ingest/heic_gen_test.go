package ingest

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"
)

// The HEIC files of testdata/heic are made from our own pictures by
// TestGenerateHEIC (go test ./ingest -run TestGenerateHEIC -heic.generate),
// with Debian's heif-enc (libheif-examples) for the HEVC pictures. heif-enc
// 1.15 writes no grids, so the grids (the layout iPhones and Android phones
// write: the photo cut into 512 px tiles, each its own HEVC picture, and a
// "grid" item that assembles them) are put together here, box by box
// (ISO/IEC 23008-12), from tiles that heif-enc encoded one by one.
var heicGenerate = flag.Bool("heic.generate", false, "regenerate testdata/heic with heif-enc") //nolint:gochecknoglobals // a test flag

func TestGenerateHEIC(t *testing.T) {
	if !*heicGenerate {
		t.Skip("run with -heic.generate to regenerate testdata/heic")
	}
	if _, err := exec.LookPath("heif-enc"); err != nil {
		t.Skip("heif-enc (Debian's libheif-examples) is not installed")
	}
	dir := filepath.Join("testdata", "heic")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	paper := heicSource(t)
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", name, len(b))
	}
	// A 12 MP phone photo as iPhones store it: 8×6 tiles of 512 px, the
	// last column and row cropped.
	photo, err := decodeImage(JPEG, phone12MP(t))
	if err != nil {
		t.Fatal(err)
	}
	write("grid-12mp.heic", heicGrid(t, photo, 512, heicGridOpts{quality: 50, brand: "heic"}))
	// A grid turned a quarter (irot), as a phone held upright writes it;
	// 3×2 tiles of 256 px cropped to 700×500.
	write("grid-rotated.heic", heicGrid(t, paper, 256, heicGridOpts{quality: 60, brand: "heic", rotate: 1}))
	// Android's layout: brand mif1, a grid, BT.709 colours in limited range
	// (nclx).
	write("android-bt709.heif", heicGrid(t, paper, 256, heicGridOpts{quality: 60, brand: "mif1",
		enc: []string{"--matrix_coefficients=1", "--colour_primaries=1", "--transfer_characteristic=1", "--full_range_flag=0"}}))
	// A primary image with a thumbnail, like libheif's example.
	write("thumbnail.heic", heifEnc(t, paper, "-q", "60", "-t", "128"))
	// 10 bits per channel (HEVC Main 10), from a 16-bit PNG.
	deep := image.NewNRGBA64(paper.Bounds())
	draw.Draw(deep, deep.Rect, paper, image.Point{}, draw.Src)
	write("10bit.heic", heifEnc(t, deep, "-q", "60", "-b", "10"))
	// Monochrome (HEVC 4:0:0), from a grey picture.
	write("gray.heic", heifEnc(t, imaging.Grayscale(paper), "-q", "60"))
	// Transparent margins, which are paper: they must come out white.
	alpha := image.NewNRGBA(paper.Bounds())
	draw.Draw(alpha, alpha.Rect.Inset(60), paper, alpha.Rect.Inset(60).Min, draw.Src)
	write("alpha.heic", heifEnc(t, alpha, "-q", "60"))
}

// heicSource is a 700×500 picture of a paper from the evaluation set.
func heicSource(t *testing.T) *image.NRGBA {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "papers", "23-avis_imposition.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := decodeImage(JPEG, b)
	if err != nil {
		t.Fatal(err)
	}
	return imaging.Resize(img, 700, 500, imaging.Lanczos)
}

// heifEnc encodes img with heif-enc and the given options.
func heifEnc(t *testing.T, img image.Image, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.heic")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("heif-enc", append(append([]string{}, args...), "-o", out, in)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("heif-enc %v: %v: %s", args, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type heicGridOpts struct {
	quality int
	brand   string
	rotate  int      // irot: anticlockwise quarter turns
	enc     []string // more heif-enc options for every tile
}

// heicGrid cuts img into tile×tile pictures, encodes each with heif-enc and
// assembles them into one HEIF file whose primary item is a grid.
func heicGrid(t *testing.T, img image.Image, tile int, o heicGridOpts) []byte {
	t.Helper()
	b := img.Bounds()
	cols, rows := (b.Dx()+tile-1)/tile, (b.Dy()+tile-1)/tile
	type encoded struct{ data, hvcC, colr, pixi []byte }
	tiles := make([]encoded, cols*rows)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			// Tiles past the edge repeat the last row and column, as a
			// camera's encoder pads them.
			m := image.NewNRGBA(image.Rect(0, 0, tile, tile))
			for y := 0; y < tile; y++ {
				for x := 0; x < tile; x++ {
					sx, sy := min(c*tile+x, b.Dx()-1), min(r*tile+y, b.Dy()-1)
					m.Set(x, y, img.At(b.Min.X+sx, b.Min.Y+sy))
				}
			}
			f := heifEnc(t, m, append([]string{"-q", fmt.Sprint(o.quality)}, o.enc...)...)
			var e encoded
			var err error
			if e.data, e.hvcC, e.colr, e.pixi, err = heifSingleItem(f); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(e.hvcC, tiles[0].hvcC) && r+c > 0 {
				t.Fatal("heif-enc wrote different parameter sets for two tiles")
			}
			tiles[r*cols+c] = e
		}
	}
	// Items: tiles 1..n, the grid n+1. Properties (1-based): 1 hvcC,
	// 2 ispe of a tile, 3 ispe of the grid, then colr, pixi, irot.
	n := len(tiles)
	gridID := uint16(n + 1)
	props := [][]byte{tiles[0].hvcC,
		fullBox("ispe", 0, 0, u32(uint32(tile)), u32(uint32(tile))),
		fullBox("ispe", 0, 0, u32(uint32(b.Dx())), u32(uint32(b.Dy())))}
	tileProps := []byte{0x80 | 1, 2}
	gridProps := []byte{3}
	for _, p := range [][]byte{tiles[0].colr, tiles[0].pixi} {
		if p != nil {
			props = append(props, p)
			tileProps = append(tileProps, byte(len(props)))
			gridProps = append(gridProps, byte(len(props)))
		}
	}
	if o.rotate != 0 {
		props = append(props, box("irot", []byte{byte(o.rotate & 3)}))
		gridProps = append(gridProps, 0x80|byte(len(props)))
	}
	var ipma []byte
	ipma = append(ipma, u32(uint32(n+1))...)
	for i := 1; i <= n; i++ {
		ipma = append(ipma, u16(uint16(i))...)
		ipma = append(ipma, byte(len(tileProps)))
		ipma = append(ipma, tileProps...)
	}
	ipma = append(ipma, u16(gridID)...)
	ipma = append(ipma, byte(len(gridProps)))
	ipma = append(ipma, gridProps...)
	iprp := box("iprp", box("ipco", props...), fullBox("ipma", 0, 0, ipma))

	var infe [][]byte
	for i := 1; i <= n; i++ {
		infe = append(infe, fullBox("infe", 2, 1, u16(uint16(i)), u16(0), []byte("hvc1\x00"))) // hidden
	}
	infe = append(infe, fullBox("infe", 2, 0, u16(gridID), u16(0), []byte("grid\x00")))
	iinf := fullBox("iinf", 0, 0, append([][]byte{u16(uint16(n + 1))}, infe...)...)
	dimg := append(u16(gridID), u16(uint16(n))...)
	for i := 1; i <= n; i++ {
		dimg = append(dimg, u16(uint16(i))...)
	}
	iref := fullBox("iref", 0, 0, box("dimg", dimg))
	grid := []byte{0, 0, byte(rows - 1), byte(cols - 1)}
	grid = append(grid, u16(uint16(b.Dx()))...)
	grid = append(grid, u16(uint16(b.Dy()))...)
	ftyp := box("ftyp", []byte(o.brand), u32(0), []byte("mif1heic"))
	meta := func(dataStart uint32) []byte {
		iloc := []byte{0x44, 0x00}
		iloc = append(iloc, u16(uint16(n+1))...)
		off := dataStart + uint32(len(grid))
		for i, tl := range tiles {
			iloc = append(iloc, u16(uint16(i+1))...)
			iloc = append(iloc, u16(0)...)
			iloc = append(iloc, u16(1)...)
			iloc = append(iloc, u32(off)...)
			iloc = append(iloc, u32(uint32(len(tl.data)))...)
			off += uint32(len(tl.data))
		}
		iloc = append(iloc, u16(gridID)...)
		iloc = append(iloc, u16(0)...)
		iloc = append(iloc, u16(1)...)
		iloc = append(iloc, u32(dataStart)...)
		iloc = append(iloc, u32(uint32(len(grid)))...)
		hdlr := fullBox("hdlr", 0, 0, u32(0), []byte("pict"), make([]byte, 12), []byte{0})
		return fullBox("meta", 0, 0, hdlr, fullBox("pitm", 0, 0, u16(gridID)), fullBox("iloc", 0, 0, iloc), iinf, iref, iprp)
	}
	start := uint32(len(ftyp) + len(meta(0)) + 8)
	mdat := [][]byte{grid}
	for _, tl := range tiles {
		mdat = append(mdat, tl.data)
	}
	return bytes.Join([][]byte{ftyp, meta(start), box("mdat", mdat...)}, nil)
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func box(typ string, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	return append(append(u32(uint32(8+len(b))), typ...), b...)
}

func fullBox(typ string, version byte, flags uint32, body ...[]byte) []byte {
	vf := u32(uint32(version)<<24 | flags)
	return box(typ, append([][]byte{vf}, body...)...)
}

// heifBoxes splits b into ISO BMFF boxes: type and body.
func heifBoxes(b []byte) (map[string][]byte, []string, error) {
	m := map[string][]byte{}
	var order []string
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, nil, fmt.Errorf("short box")
		}
		size, typ, hdr := uint64(binary.BigEndian.Uint32(b)), string(b[4:8]), uint64(8)
		switch size {
		case 1: // a 64-bit size follows
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		case 0: // to the end of the file
			size = uint64(len(b))
		}
		if size < hdr || size > uint64(len(b)) {
			return nil, nil, fmt.Errorf("box %q of %d bytes in %d", typ, size, len(b))
		}
		if _, dup := m[typ]; !dup {
			m[typ] = b[hdr:size]
			order = append(order, typ)
		}
		b = b[size:]
	}
	return m, order, nil
}

// heifSingleItem takes apart a file heif-enc wrote for one picture without
// thumbnail: its coded data (through iloc) and its hvcC, colr and pixi
// properties, as whole boxes.
func heifSingleItem(f []byte) (data, hvcC, colr, pixi []byte, err error) {
	top, _, err := heifBoxes(f)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	meta, _, err := heifBoxes(top["meta"][4:])
	if err != nil {
		return nil, nil, nil, nil, err
	}
	iprp, _, err := heifBoxes(meta["iprp"])
	if err != nil {
		return nil, nil, nil, nil, err
	}
	// Whole property boxes, in order.
	ipco := iprp["ipco"]
	for len(ipco) >= 8 {
		size := binary.BigEndian.Uint32(ipco)
		if size < 8 || int(size) > len(ipco) {
			return nil, nil, nil, nil, fmt.Errorf("bad ipco")
		}
		switch string(ipco[4:8]) {
		case "hvcC":
			hvcC = ipco[:size]
		case "colr":
			colr = ipco[:size]
		case "pixi":
			pixi = ipco[:size]
		}
		ipco = ipco[size:]
	}
	// iloc: version 0 or 1, one item, one extent.
	il := meta["iloc"]
	version := il[0]
	offSize, lenSize, baseSize := int(il[4]>>4), int(il[4]&15), int(il[5]>>4)
	p := 6
	var count int
	if version < 2 {
		count = int(binary.BigEndian.Uint16(il[p:]))
		p += 2
	}
	if count != 1 {
		return nil, nil, nil, nil, fmt.Errorf("%d items, want 1", count)
	}
	readN := func(n int) uint64 {
		var v uint64
		for i := 0; i < n; i++ {
			v = v<<8 | uint64(il[p])
			p++
		}
		return v
	}
	p += 2 // item ID
	if version == 1 {
		p += 2 // construction method
	}
	p += 2 // data reference index
	base := readN(baseSize)
	if ext := readN(2); ext != 1 {
		return nil, nil, nil, nil, fmt.Errorf("%d extents, want 1", ext)
	}
	off, n := base+readN(offSize), readN(lenSize)
	if hvcC == nil || off+n > uint64(len(f)) {
		return nil, nil, nil, nil, fmt.Errorf("no picture")
	}
	return f[off : off+n], hvcC, colr, pixi, nil
}
