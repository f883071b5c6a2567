package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"coffre/ingest"
	"coffre/vault"
	"coffre/web"
)

// part is one part of a multipart form, in the order given.
type part struct {
	name, filename string
	body           []byte
}

// send posts a multipart form whose parts come in the given order, with extra headers.
func (c *client) send(path string, parts []part, header map[string]string) (*http.Response, string) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		if p.filename != "" {
			w, _ = mw.CreateFormFile(p.name, p.filename)
		} else {
			w, _ = mw.CreateFormField(p.name)
		}
		if _, err := w.Write(p.body); err != nil {
			c.t.Fatal(err)
		}
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// gpsLatitude is the position phonePhoto writes (48° 51' 24" N), as EXIF stores it.
const gpsLatitude = "\x00\x00\x00\x30\x00\x00\x00\x01\x00\x00\x00\x33\x00\x00\x00\x01\x00\x00\x00\x18\x00\x00\x00\x01"

// phonePhoto is a real photo of the shared fixtures with what a phone adds to it: EXIF
// with the camera's make and model and a GPS position, XMP, a comment, and a video after
// the end of the image. The photo's own EXIF (its orientation) follows.
func phonePhoto(t *testing.T, fixture string) []byte {
	t.Helper()
	raw, err := os.ReadFile(sharedFixture(t, fixture))
	if err != nil {
		t.Fatal(err)
	}
	be := binary.BigEndian
	// TIFF: IFD0 with Make, Model and the GPS IFD pointer; then the GPS IFD with the latitude.
	var tf bytes.Buffer
	tf.WriteString("MM\x00\x2a\x00\x00\x00\x08")
	entry := func(tag, typ uint16, count, value uint32) {
		binary.Write(&tf, be, tag)
		binary.Write(&tf, be, typ)
		binary.Write(&tf, be, count)
		binary.Write(&tf, be, value)
	}
	const ifd0, gps = 8, 8 + 2 + 3*12 + 4 + 16
	binary.Write(&tf, be, uint16(3))
	entry(0x010F, 2, 7, ifd0+2+3*12+4)   // Make
	entry(0x0110, 2, 8, ifd0+2+3*12+4+8) // Model
	entry(0x8825, 4, 1, gps)
	binary.Write(&tf, be, uint32(0))
	tf.WriteString("Google\x00\x00Pixel 7\x00")
	binary.Write(&tf, be, uint16(1))
	entry(0x0002, 5, 3, gps+2+12+4)
	binary.Write(&tf, be, uint32(0))
	tf.WriteString(gpsLatitude)
	var out bytes.Buffer
	out.Write(raw[:2])
	seg := func(marker byte, data []byte) {
		out.Write([]byte{0xFF, marker})
		binary.Write(&out, be, uint16(len(data)+2))
		out.Write(data)
	}
	seg(0xE1, append([]byte("Exif\x00\x00"), tf.Bytes()...))
	seg(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><exif:GPSLatitude>48,51.4N</exif:GPSLatitude></x:xmpmeta>"))
	seg(0xFE, []byte("taken at 12 rue de la Paix"))
	out.Write(raw[2:])
	out.WriteString("MotionPhoto_Data")
	return out.Bytes()
}

// phoneSecrets are what must not survive in a stored original.
func phoneSecrets() [][]byte {
	return [][]byte{[]byte(gpsLatitude), []byte("Google"), []byte("Pixel 7"), []byte("GPS"), []byte("xmpmeta"), []byte("rue de la Paix"), []byte("MotionPhoto")}
}

// readBlob decrypts a stored blob as its owner.
func readBlob(t *testing.T, b *testBundle, owner, doc uuid.UUID, blob vault.Blob) []byte {
	t.Helper()
	br, err := b.v.Open(context.Background(), owner, doc, blob.ID, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, vault.ActionDownload)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	data, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// What is stored of a phone photo keeps no location or camera metadata; what is shown,
// printed and exported is the clean rendition; an original is only ever a download.
func TestDepositKeepsNoLocation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("amina", "le chat mange la pomme")
	owner := mustOwner(t, b, "amina")
	photo := phonePhoto(t, "exif-orientation/Portrait_6.jpg")
	for _, s := range phoneSecrets() {
		if !bytes.Contains(photo, s) {
			t.Fatalf("the test photo lacks %q", s)
		}
	}
	tok := c.csrf("/papiers/ajouter")
	resp, body := c.send("/papiers/ajouter", []part{{"csrf", "", []byte(tok)}, {"pages", "IMG_2026.jpg", photo}, {"kind", "", []byte("caf")}, {"title", "", []byte("Attestation")}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deposit: %d %s", resp.StatusCode, body)
	}
	docs, err := b.v.Documents(context.Background(), owner)
	if err != nil || len(docs) != 1 {
		t.Fatal(docs, err)
	}
	d := docs[0]
	orig, pdf := d.Blob(vault.RoleOriginal), d.Blob(vault.RoleRendition)
	if orig == nil || pdf == nil {
		t.Fatalf("blobs: %+v", d.Blobs)
	}
	stored := readBlob(t, b, owner, d.ID, *orig)
	for _, s := range phoneSecrets() {
		if bytes.Contains(stored, s) {
			t.Errorf("the stored original holds %q", s)
		}
	}
	// The orientation stays: IFD0 with the tag 0x0112 and the value 6 (turn right).
	if !bytes.Contains(stored, []byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06")) {
		t.Error("the stored original lost its orientation")
	}
	if _, err := jpeg.Decode(bytes.NewReader(stored)); err != nil {
		t.Errorf("the stored original does not decode: %v", err)
	}
	if orig.Name != "IMG_2026.jpg" || orig.MediaType != "image/jpeg" {
		t.Errorf("original %q %q", orig.Name, orig.MediaType)
	}

	// The pages show and print the rendition, never the original.
	docPath := "/papiers/" + d.ID.String()
	for _, p := range []string{docPath, docPath + "/imprimer"} {
		_, page := c.get(p)
		if strings.Contains(page, orig.ID.String()) {
			t.Errorf("%s shows the original", p)
		}
	}
	if _, page := c.get(docPath + "/imprimer"); !strings.Contains(page, "/fichier/"+pdf.ID.String()+"?a=imprimer") {
		t.Error("the print page does not print the rendition")
	}
	resp, _ = c.get(docPath + "/fichier/" + orig.ID.String())
	if cd := resp.Header.Get("Content-Disposition"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("the original asked inline: %d %q", resp.StatusCode, cd)
	}
	resp, _ = c.get(docPath + "/fichier/" + pdf.ID.String())
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline;") {
		t.Errorf("the rendition: %q, want inline", cd)
	}

	// The export: the rendition first, then the original, without its metadata.
	resp, archive := c.exportArchive(nil)
	m := checkArchive(t, resp, archive)
	files := m.Documents[0].Files
	if len(files) != 2 || files[0].Role != "rendition" || files[1].Role != "original" {
		t.Fatalf("export files: %+v", files)
	}
	zr, _ := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	f, err := zr.Open(files[1].Path)
	if err != nil {
		t.Fatal(err)
	}
	exported, _ := io.ReadAll(f)
	if !bytes.Equal(exported, stored) {
		t.Error("the exported original differs from the stored one")
	}
	readme, _ := zr.Open("LISEZMOI.txt")
	text, _ := io.ReadAll(readme)
	if !strings.Contains(string(text), "sans la position") {
		t.Errorf("LISEZMOI.txt does not say what the originals lost:\n%s", text)
	}
}

// An original PDF is never served inline: it was not sanitised (scripts, forms). HEIC
// and TIFF originals are not kept: their rendition is the paper.
func TestDepositOriginalsServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("bruno", "le chat mange la pomme")
	owner := mustOwner(t, b, "bruno")
	heic, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", "test8.heic"))
	if err != nil {
		t.Fatal(err)
	}
	script := []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\nendobj\n" +
		"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n" +
		"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
	for _, tt := range []struct {
		name, file string
		body       []byte
		originals  int
	}{{"pdf", "attestation.pdf", script, 1}, {"heic", "IMG_0001.heic", heic, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			tok := c.csrf("/papiers/ajouter")
			resp, body := c.send("/papiers/ajouter", []part{{"csrf", "", []byte(tok)}, {"title", "", []byte(tt.name)}, {"pages", tt.file, tt.body}}, nil)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("deposit: %d %s", resp.StatusCode, body)
			}
			id := uuid.MustParse(docLinkRE.FindStringSubmatch(resp.Header.Get("Location"))[1])
			d, err := b.v.Document(context.Background(), owner, id, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, bl := range d.Blobs {
				if bl.Role != vault.RoleOriginal {
					continue
				}
				n++
				for _, q := range []string{"", "?a=imprimer"} {
					resp, _ := c.get("/papiers/" + id.String() + "/fichier/" + bl.ID.String() + q)
					if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
						t.Errorf("original %s%s served %q", bl.MediaType, q, cd)
					}
				}
				if stored := readBlob(t, b, owner, id, bl); !bytes.Equal(stored, tt.body) {
					t.Error("the original PDF is not kept as received")
				}
			}
			if n != tt.originals || d.Blob(vault.RoleRendition) == nil {
				t.Errorf("%d originals, want %d; rendition %v", n, tt.originals, d.Blob(vault.RoleRendition) != nil)
			}
		})
	}
}

// noisyJPEG is a photo that does not compress: at 3600×2700 it weighs more than 8 MB.
func noisyJPEG(t *testing.T) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(4, 2))
	m := image.NewRGBA(image.Rect(0, 0, 3600, 2700))
	for i := range m.Pix {
		m.Pix[i] = uint8(rng.Uint32())
	}
	for y := 300; y < 2400; y++ {
		for x := 400; x < 3200; x++ {
			v := uint8(200 + rng.IntN(55))
			m.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() <= 8<<20 {
		t.Fatalf("the photo weighs %d bytes, not more than 8 MB", buf.Len())
	}
	return buf.Bytes()
}

// spyIngest lists the temporary directory when the pages reach ingest: the whole body
// has been read by then.
type spyIngest struct {
	dir  string
	mu   sync.Mutex
	seen []string
}

func (s *spyIngest) Process(ctx context.Context, inputs []io.Reader, opts ingest.Options, pdf, thumb io.Writer) (*ingest.Result, error) {
	entries, _ := os.ReadDir(s.dir)
	s.mu.Lock()
	for _, e := range entries {
		s.seen = append(s.seen, e.Name())
	}
	s.mu.Unlock()
	return ingest.Process(ctx, inputs, opts, pdf, thumb)
}

// A deposit larger than 8 MB is held in memory: no byte of it reaches the temporary
// directory, whichever way the CSRF token comes.
func TestDepositNoSpill(t *testing.T) {
	// Not parallel: it points TMPDIR, process-wide, at a folder of its own to watch it.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	spy := &spyIngest{dir: tmp}
	b := setup(t, func(c *web.Config) { c.Ingest = spy })
	c := b.client(t)
	c.signup("chloe", "le chat mange la pomme")
	photo := noisyJPEG(t)

	tok := c.csrf("/papiers/ajouter")
	resp, body := c.send("/papiers/ajouter", []part{{"csrf", "", []byte(tok)}, {"pages", "scan.jpg", photo}, {"kind", "", []byte("impots")}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deposit with the token first: %d %s", resp.StatusCode, body)
	}
	resp, body = c.send("/papiers/ajouter", []part{{"pages", "scan.jpg", photo}, {"kind", "", []byte("impots")}},
		map[string]string{"X-CSRF-Token": tok, "Accept": "application/json"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "redirect") {
		t.Fatalf("deposit with the token in a header: %d %s", resp.StatusCode, body)
	}
	// A body of unknown length (sent in chunks) is read within the upload limit too.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("csrf", tok); err != nil {
		t.Fatal(err)
	}
	w, _ := mw.CreateFormFile("pages", "scan.jpg")
	if _, err := w.Write(photo); err != nil {
		t.Fatal(err)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+"/papiers/ajouter", io.NopCloser(&buf)) // no length: chunked
	req.Header.Set("Content-Type", mw.FormDataContentType())
	chunked, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	chunked.Body.Close()
	if chunked.StatusCode != http.StatusSeeOther {
		t.Fatalf("deposit of unknown length: %d", chunked.StatusCode)
	}
	if len(spy.seen) > 0 {
		t.Errorf("files in the temporary directory during the deposit: %v", spy.seen)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		t.Errorf("files left in the temporary directory: %v", entries)
	}

	// The token must come before the files: a form that sends it after is refused
	// before its files are read.
	resp, _ = c.send("/papiers/ajouter", []part{{"pages", "scan.jpg", photo}, {"csrf", "", []byte(tok)}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("token after the files: %d, want 403", resp.StatusCode)
	}
}
