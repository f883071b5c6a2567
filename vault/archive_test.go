package vault_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/unicode/norm"

	"coffre/vault"
)

// exportFixture is a safe with papers of several kinds, and what each file must hash to.
type exportFixture struct {
	owner  uuid.UUID
	by     vault.Actor
	docs   []*vault.Document
	hashes map[uuid.UUID][]byte // blob ID → SHA-256 of what was deposited
}

func jpegOf(t testing.TB, w, h int, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{shade, uint8(x), uint8(y), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pdfOf(text string) []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% " + text + "\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

// hostileTitles are titles that must never shape an entry name.
var hostileTitles = []string{ //nolint:gochecknoglobals // test table
	"../../etc/passwd",
	`..\..\Windows\System32\config`,
	"/absolu/chemin",
	"rouge\x00\x1b[31m\u202egpj.exe\r\nligne",
	strings.Repeat("Très long titre accentué é à ç — ", 6),
	"Avis d'imposition", "Avis d'imposition", // duplicates
	"CON", "nul.txt", ".bashrc", " .. ", "a/b\\c:d*e?f\"g<h>i|j",
	"=HYPERLINK(\"http://exemple.invalid\")",
	"e\u0301cole", // not NFC
}

func (b *testBundle) exportFixture(t testing.TB) *exportFixture {
	t.Helper()
	ctx := context.Background()
	f := &exportFixture{hashes: map[uuid.UUID][]byte{}}
	f.owner, f.by = b.owner(t)
	issued := time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC)
	expires := time.Date(2035, 4, 14, 0, 0, 0, 0, time.UTC)
	add := func(nd vault.NewDocument, bodies ...[]byte) {
		t.Helper()
		for i := range nd.Files {
			nd.Files[i].Body = bytes.NewReader(bodies[i])
			nd.Files[i].Size = int64(len(bodies[i]))
		}
		d, err := b.v.Deposit(ctx, f.owner, f.by, nd)
		if err != nil {
			t.Fatalf("deposit %q: %v", nd.Title, err)
		}
		for i, bl := range d.Blobs {
			sum := sha256.Sum256(bodies[i])
			f.hashes[bl.ID] = sum[:]
		}
		f.docs = append(f.docs, d)
	}
	add(vault.NewDocument{Kind: vault.KindIdentite, Title: "Carte d'identité de Fatou", IssuedOn: &issued, ExpiresOn: &expires,
		Files: []vault.File{
			{Role: vault.RoleOriginal, MediaType: "image/jpeg", Name: "recto.jpg"},
			{Role: vault.RoleOriginal, MediaType: "image/jpeg", Name: "verso.jpg"},
			{Role: vault.RoleRendition, MediaType: "application/pdf"},
			{Role: vault.RoleThumbnail, MediaType: "image/jpeg"},
		}}, jpegOf(t, 320, 200, 10), jpegOf(t, 320, 200, 200), pdfOf("carte"), jpegOf(t, 32, 20, 0))
	add(vault.NewDocument{Kind: vault.KindImpots, Title: "Avis d'imposition 2025",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Name: "avis.pdf"}}}, pdfOf("avis"))
	add(vault.NewDocument{Kind: vault.KindBanque, Title: "RIB",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "text/plain", Name: "rib.txt"}}}, []byte("FR76 3000 6000 0112 3456 7890 189\n"))
	add(vault.NewDocument{Kind: vault.KindAutre, Title: "Vide",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/octet-stream", Name: "vide.dat"}}}, []byte{})
	big := make([]byte, 3<<20+17)                // several age chunks and copy buffers
	_, _ = newPattern(int64(len(big))).Read(big) // a pattern never fails
	add(vault.NewDocument{Kind: vault.KindLogement, Title: "Bail (scan)",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "image/heic", Name: "IMG_0042.HEIC"}}}, big)
	for i, title := range hostileTitles {
		add(vault.NewDocument{Kind: vault.Kinds[i%len(vault.Kinds)], Title: title,
			Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Name: title}}}, pdfOf(title))
	}
	return f
}

// exportedFile is an entry of an archive as a checker sees it.
type exportedFile struct {
	name string
	sum  []byte
	size int64
}

// checkArchive opens a ZIP with archive/zip and checks it against what was deposited:
// safe entry names, the manifest against its schema and against every file's SHA-256,
// the CSV, SHA256SUMS, the journal chain from the exported file alone, and the
// checkpoint signature. It returns the documents' files.
func checkArchive(t *testing.T, b *testBundle, f *exportFixture, zipPath string, want []*vault.Document) map[string]exportedFile {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatalf("archive/zip cannot open the export: %v", err)
	}
	defer zr.Close()
	files := map[string]exportedFile{}
	texts := map[string][]byte{}
	for _, zf := range zr.File {
		checkEntryName(t, zf.Name)
		if _, dup := files[zf.Name]; dup {
			t.Fatalf("entry %q twice", zf.Name)
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		var buf bytes.Buffer
		w := io.Writer(h)
		text := !strings.HasPrefix(zf.Name, "documents/")
		if text {
			w = io.MultiWriter(h, &buf)
		}
		n, err := io.Copy(w, rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", zf.Name, err)
		}
		if text {
			texts[zf.Name] = buf.Bytes()
		}
		files[zf.Name] = exportedFile{name: zf.Name, sum: h.Sum(nil), size: n}
		if strings.HasPrefix(zf.Name, "documents/") && zf.Method != zip.Store && !strings.HasSuffix(zf.Name, ".txt") {
			t.Errorf("%s: method %d, want Store for already compressed files", zf.Name, zf.Method)
		}
	}
	for _, name := range []string{"LISEZMOI.txt", "manifest.json", "manifest.csv", "SHA256SUMS", "journal.jsonl"} {
		if _, ok := texts[name]; !ok {
			t.Fatalf("the archive lacks %s", name)
		}
	}

	// manifest.json: valid against the published schema, and true.
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(texts["manifest.json"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := exportSchema(t).Validate(inst); err != nil {
		t.Fatalf("manifest.json does not follow manifest.schema.json: %v", err)
	}
	var m struct {
		OwnerID   uuid.UUID `json:"owner_id"`
		Documents []struct {
			ID    uuid.UUID `json:"id"`
			Title string    `json:"title"`
			Files []struct {
				Path   string `json:"path"`
				Role   string `json:"role"`
				Size   int64  `json:"size"`
				SHA256 string `json:"sha256"`
			} `json:"files"`
		} `json:"documents"`
		Journal struct {
			Entries  int64  `json:"entries"`
			LastHash string `json:"last_hash"`
		} `json:"journal"`
	}
	if err := json.Unmarshal(texts["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.OwnerID != f.owner {
		t.Fatalf("manifest of owner %s, want %s", m.OwnerID, f.owner)
	}
	wantIDs := map[uuid.UUID]*vault.Document{}
	wantFiles := 0
	for _, d := range want {
		wantIDs[d.ID] = d
		for _, bl := range d.Blobs {
			if bl.Role != vault.RoleThumbnail {
				wantFiles++
			}
		}
	}
	if len(m.Documents) != len(want) {
		t.Fatalf("manifest lists %d documents, want %d", len(m.Documents), len(want))
	}
	listed := 0
	for _, md := range m.Documents {
		d, ok := wantIDs[md.ID]
		if !ok {
			t.Fatalf("manifest lists document %s, which was not in the safe at export time", md.ID)
		}
		if md.Title != d.Title {
			t.Errorf("document %s: title %q, want %q", md.ID, md.Title, d.Title)
		}
		for _, mf := range md.Files {
			listed++
			got, ok := files[mf.Path]
			if !ok {
				t.Fatalf("manifest names %s, not in the archive", mf.Path)
			}
			if hex.EncodeToString(got.sum) != mf.SHA256 || got.size != mf.Size {
				t.Fatalf("%s: SHA-256 %x (%d bytes) in the archive, manifest says %s (%d bytes)", mf.Path, got.sum, got.size, mf.SHA256, mf.Size)
			}
			var deposited []byte
			for _, bl := range d.Blobs {
				if strings.HasSuffix(mf.Path, "/"+string(bl.Role)+"-"+strconv.Itoa(bl.Position+1)+filepath.Ext(mf.Path)) {
					deposited = f.hashes[bl.ID]
				}
			}
			if !bytes.Equal(deposited, got.sum) {
				t.Fatalf("%s: not the bytes deposited", mf.Path)
			}
		}
	}
	docFiles := 0
	for name := range files {
		if strings.HasPrefix(name, "documents/") {
			docFiles++
		}
	}
	if listed != wantFiles || docFiles != wantFiles {
		t.Fatalf("manifest lists %d files and the archive holds %d, want %d (thumbnails left out)", listed, docFiles, wantFiles)
	}

	// manifest.csv: RFC 4180 with a BOM, one line per file, same hashes.
	csvText := texts["manifest.csv"]
	if !bytes.HasPrefix(csvText, []byte("\uFEFF")) || !bytes.Contains(csvText, []byte("\r\n")) {
		t.Fatal("manifest.csv lacks the UTF-8 BOM or CRLF line ends")
	}
	records, err := csv.NewReader(bytes.NewReader(csvText[3:])).ReadAll()
	if err != nil {
		t.Fatalf("manifest.csv: %v", err)
	}
	if len(records) != wantFiles+1 {
		t.Fatalf("manifest.csv has %d lines, want %d and a header", len(records), wantFiles)
	}
	for _, r := range records[1:] {
		if got := files[r[9]]; hex.EncodeToString(got.sum) != r[15] {
			t.Fatalf("manifest.csv: %s has SHA-256 %s, the file %x", r[9], r[15], got.sum)
		}
		if strings.HasPrefix(r[3], "=") {
			t.Fatalf("manifest.csv: title %q would run as a formula", r[3])
		}
	}

	// SHA256SUMS names every file with its hash.
	sums := 0
	sc := bufio.NewScanner(bytes.NewReader(texts["SHA256SUMS"]))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || hex.EncodeToString(files[name].sum) != sum {
			t.Fatalf("SHA256SUMS line %q does not match the archive", sc.Text())
		}
		sums++
	}
	if sums != wantFiles {
		t.Fatalf("SHA256SUMS has %d lines, want %d", sums, wantFiles)
	}

	// The journal verifies from the exported file alone, and ends with this export.
	journal := texts["journal.jsonl"]
	if err := vault.VerifyExportedJournal(bytes.NewReader(journal)); err != nil {
		t.Fatalf("exported journal: %v", err)
	}
	lines := bytes.Split(bytes.TrimSpace(journal), []byte("\n"))
	var last vault.JournalLine
	if err := json.Unmarshal(lines[len(lines)-1], &last); err != nil {
		t.Fatal(err)
	}
	if last.Action != vault.ActionExport || int64(len(lines)) != m.Journal.Entries || last.Hash != m.Journal.LastHash {
		t.Fatalf("journal ends with %s (%d lines, manifest says %d), want the export itself", last.Action, len(lines), m.Journal.Entries)
	}
	if cpText, ok := texts["journal-checkpoint.json"]; ok {
		var cp vault.ExportedCheckpoint
		if err := json.Unmarshal(cpText, &cp); err != nil {
			t.Fatal(err)
		}
		pub, _ := hex.DecodeString(cp.PublicKey)
		digest, _ := hex.DecodeString(cp.Digest)
		sig, _ := hex.DecodeString(cp.Signature)
		if !bytes.Equal(pub, b.signing.Public().(ed25519.PublicKey)) || !ed25519.Verify(pub, digest, sig) {
			t.Fatal("the exported checkpoint's signature does not verify with the service key")
		}
		var signed vault.JournalLine
		if err := json.Unmarshal(lines[cp.OwnerHead.Seq-1], &signed); err != nil {
			t.Fatal(err)
		}
		if signed.Hash != cp.OwnerHead.Hash || cp.OwnerHead.OwnerID != f.owner {
			t.Fatal("the signed head is not the hash of the journal line it names")
		}
	}
	if !utf8.Valid(texts["LISEZMOI.txt"]) || !bytes.Contains(texts["LISEZMOI.txt"], []byte("certutil -hashfile")) {
		t.Fatal("LISEZMOI.txt does not explain how to check a hash on Windows")
	}
	return files
}

// checkEntryName fails if a ZIP entry name could land outside the folder it is unpacked in,
// or carries characters that some system refuses or hides.
func checkEntryName(t *testing.T, name string) {
	t.Helper()
	if !filepath.IsLocal(name) || strings.Contains(name, `\`) || strings.HasPrefix(name, "/") {
		t.Fatalf("entry name %q is not local", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.Contains(part, "..") {
			t.Fatalf("entry name %q has a bad component %q", name, part)
		}
		if len(part) > 120 {
			t.Fatalf("entry name %q has a component of %d bytes", name, len(part))
		}
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune(`<>:"|?*`, r) {
			t.Fatalf("entry name %q holds %U", name, r)
		}
	}
	if !norm.NFC.IsNormalString(name) {
		t.Fatalf("entry name %q is not NFC", name)
	}
	if strings.Count(name, "/") != 0 && strings.HasPrefix(name, "documents/") && strings.Count(name, "/") != 3 {
		t.Fatalf("entry name %q: want documents/<kind>/<document>/<file>", name)
	}
}

func exportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(vault.ManifestSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("manifest.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("manifest.schema.json")
	if err != nil {
		t.Fatalf("manifest.schema.json: %v", err)
	}
	return s
}

func exportTo(t *testing.T, b *testBundle, f *exportFixture, opts vault.ExportOptions) (string, *vault.ExportSummary) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "coffre.zip")
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := b.v.Export(context.Background(), f.owner, f.by, out, opts)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return p, sum
}

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	f := b.exportFixture(t)
	if _, err := b.v.Checkpoint(ctx, b.signing); err != nil {
		t.Fatal(err)
	}
	zipPath, sum := exportTo(t, b, f, vault.ExportOptions{})
	if sum.Documents != len(f.docs) || sum.Checkpoint == 0 || sum.Encrypted {
		t.Fatalf("summary %+v", sum)
	}
	files := checkArchive(t, b, f, zipPath, f.docs)

	t.Run("unzip", func(t *testing.T) {
		unzip, err := exec.LookPath("unzip")
		if err != nil {
			t.Fatal("no unzip on PATH: run the tests with 'make test', which installs it")
		}
		dir := t.TempDir()
		if out, err := exec.Command(unzip, "-q", zipPath, "-d", dir).CombinedOutput(); err != nil {
			t.Fatalf("unzip: %v\n%s", err, out)
		}
		found := 0
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil || !filepath.IsLocal(rel) {
				t.Fatalf("unzip wrote %s outside its folder", p)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			want, ok := files[filepath.ToSlash(rel)]
			if !ok {
				t.Fatalf("unzip produced %q, which archive/zip did not list", rel)
			}
			if got := sha256.Sum256(data); !bytes.Equal(got[:], want.sum) {
				t.Fatalf("%s: unzip and archive/zip disagree", rel)
			}
			found++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if found != len(files) {
			t.Fatalf("unzip produced %d files, the archive has %d", found, len(files))
		}
		// What LISEZMOI.txt tells the person to run.
		if sha, err := exec.LookPath("sha256sum"); err == nil {
			cmd := exec.Command(sha, "--quiet", "-c", "SHA256SUMS")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("sha256sum -c SHA256SUMS: %v\n%s", err, out)
			}
		}
	})

	t.Run("journaled", func(t *testing.T) {
		entries, err := b.v.Journal(ctx, f.owner, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if entries[0].Action != vault.ActionExport || entries[0].ActorKind != vault.ActorOwner {
			t.Fatalf("last entry %s by %s, want export by the owner", entries[0].Action, entries[0].ActorKind)
		}
		rep, err := b.v.VerifyJournal(ctx, b.signing.Public().(ed25519.PublicKey))
		if err != nil || len(rep.Breaks) > 0 {
			t.Fatalf("journal verify: %v %v", err, rep)
		}
	})

	t.Run("tampered journal", func(t *testing.T) {
		zr, err := zip.OpenReader(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		rc, err := zr.Open("journal.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		journal, _ := io.ReadAll(rc)
		rc.Close()
		lines := bytes.Split(bytes.TrimSpace(journal), []byte("\n"))
		for name, change := range map[string]func([][]byte) [][]byte{
			"line removed": func(l [][]byte) [][]byte { return append(l[:1:1], l[2:]...) },
			"action changed": func(l [][]byte) [][]byte {
				l[1] = bytes.Replace(l[1], []byte(`"deposit"`), []byte(`"view"`), 1)
				return l
			},
			"detail changed": func(l [][]byte) [][]byte {
				l[len(l)-1] = bytes.Replace(l[len(l)-1], []byte(`"hash"`), []byte(`"detail":"x","hash"`), 1)
				return l
			},
			"truncated line":   func(l [][]byte) [][]byte { l[0] = l[0][:len(l[0])/2]; return l },
			"unknown field":    func(l [][]byte) [][]byte { l[0] = bytes.Replace(l[0], []byte(`{`), []byte(`{"x":1,`), 1); return l },
			"empty":            func([][]byte) [][]byte { return nil },
			"another's prefix": func(l [][]byte) [][]byte { return l[1:] },
		} {
			cp := make([][]byte, len(lines))
			for i := range lines {
				cp[i] = bytes.Clone(lines[i])
			}
			if err := vault.VerifyExportedJournal(bytes.NewReader(bytes.Join(change(cp), []byte("\n")))); err == nil {
				t.Errorf("%s: the exported journal still verifies", name)
			}
		}
	})

	t.Run("schema rejects", func(t *testing.T) {
		zr, err := zip.OpenReader(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		rc, err := zr.Open("manifest.json")
		if err != nil {
			t.Fatal(err)
		}
		valid, _ := io.ReadAll(rc)
		rc.Close()
		schema := exportSchema(t)
		for name, change := range map[string]func(m map[string]any){
			"no hash":       func(m map[string]any) { delete(file0(m), "sha256") },
			"escaping path": func(m map[string]any) { file0(m)["path"] = "documents/../2026-01-01_x_0123abcd/original-1.pdf" },
			"short hash":    func(m map[string]any) { file0(m)["sha256"] = "abc" },
			"other format":  func(m map[string]any) { m["format"] = "coffre-export-0" },
			"unknown kind":  func(m map[string]any) { m["documents"].([]any)[0].(map[string]any)["kind"] = "passeport" },
		} {
			var m map[string]any
			if err := json.Unmarshal(valid, &m); err != nil {
				t.Fatal(err)
			}
			change(m)
			if err := schema.Validate(m); err == nil {
				t.Errorf("%s: the schema accepts it", name)
			}
		}
	})

	t.Run("closed safe", func(t *testing.T) {
		if _, err := b.v.CloseSafe(ctx, f.owner, f.by, 0); err != nil {
			t.Fatal(err)
		}
		op := vault.Actor{Kind: vault.ActorOperator, ID: "cli"}
		var out countingDiscard
		sum, err := b.v.Export(ctx, f.owner, op, &out, vault.ExportOptions{Request: "courrier du 3 mars 2026, réf. 2026-17"})
		if err != nil || sum.Documents != len(f.docs) || out.n == 0 {
			t.Fatalf("export of a closed safe: %v, %+v", err, sum)
		}
		entries, err := b.v.Journal(ctx, f.owner, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if detail := entries[0].OwnerDetail(); entries[0].ActorKind != vault.ActorOperator || detail != "courrier du 3 mars 2026, réf. 2026-17" {
			t.Fatalf("operator export journaled as %s with detail %q", entries[0].ActorKind, detail)
		}
	})
}

func file0(m map[string]any) map[string]any {
	return m["documents"].([]any)[0].(map[string]any)["files"].([]any)[0].(map[string]any)
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// ageBinary finds the age command-line tool that 'make test' builds.
func ageBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("COFFRE_TEST_AGE"); p != "" {
		return p
	}
	if p, err := exec.LookPath("age"); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "coffre", "age-v1.3.2", "age")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("the age command-line tool is missing: run the tests with 'make test', which builds it (or set COFFRE_TEST_AGE)")
	return ""
}

func TestExportEncrypted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.exportFixture(t)
	if _, err := b.v.Export(context.Background(), f.owner, f.by, io.Discard, vault.ExportOptions{Passphrase: "trop court"}); !errors.Is(err, vault.ErrShortPassphrase) || !errors.Is(err, vault.ErrInvalid) {
		t.Fatalf("short passphrase: %v", err)
	}
	const pass = "cheval agrafe pile correcte"
	agePath, sum := exportTo(t, b, f, vault.ExportOptions{Passphrase: pass})
	if !sum.Encrypted {
		t.Fatal("summary says not encrypted")
	}
	raw, err := os.ReadFile(agePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n-> scrypt ")) {
		t.Fatalf("not an age scrypt file: %q", raw[:40])
	}
	if bytes.Contains(raw, []byte("manifest.json")) {
		t.Fatal("the encrypted export shows its file names")
	}
	// The standard tool decrypts it; the batchpass plugin, built beside it, takes the
	// passphrase without a terminal.
	age := ageBinary(t)
	zipPath := filepath.Join(t.TempDir(), "coffre.zip")
	cmd := exec.Command(age, "-d", "-j", "batchpass", "-o", zipPath, agePath)
	cmd.Env = append(os.Environ(), "AGE_PASSPHRASE="+pass, "PATH="+filepath.Dir(age)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("age -d: %v\n%s", err, out)
	}
	checkArchive(t, b, f, zipPath, f.docs)

	cmd = exec.Command(age, "-d", "-j", "batchpass", "-o", filepath.Join(t.TempDir(), "x.zip"), agePath)
	cmd.Env = append(os.Environ(), "AGE_PASSPHRASE=une autre phrase de passe", "PATH="+filepath.Dir(age)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if err := cmd.Run(); err == nil {
		t.Fatal("age decrypted the export with a wrong passphrase")
	}
}

// blockingWriter holds the first write until released, so that a test can act while an
// export is under way (its snapshot already taken).
type blockingWriter struct {
	w       io.Writer
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (bw *blockingWriter) Write(p []byte) (int, error) {
	bw.once.Do(func() {
		close(bw.started)
		<-bw.release
	})
	return bw.w.Write(p)
}

func TestExportSnapshot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	f := b.exportFixture(t)
	zipPath := filepath.Join(t.TempDir(), "coffre.zip")
	out, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	bw := &blockingWriter{w: out, started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := b.v.Export(ctx, f.owner, f.by, bw, vault.ExportOptions{})
		done <- err
	}()
	<-bw.started

	// While the export runs: a deposit, a deletion and the purge job. The deletion must
	// not wait for the export, and the purge must leave the exported blobs alone.
	added := b.deposit(t, f.owner, f.by, "Ajouté pendant l'export", pdfOf("nouveau"))
	quick, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.v.DeleteDocument(quick, f.owner, f.docs[1].ID, f.by); err != nil {
		t.Fatalf("delete during an export: %v", err)
	}
	if err := b.v.DeleteDocument(quick, f.owner, added.ID, f.by); err != nil {
		t.Fatal(err)
	}
	n, err := b.v.PurgeDeleted(quick, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("purge during the export purged %d documents, want 1 (only the one added after the snapshot)", n)
	}
	close(bw.release)
	if err := <-done; err != nil {
		t.Fatalf("export: %v", err)
	}
	out.Close()
	checkArchive(t, b, f, zipPath, f.docs)
	if n, err := b.v.PurgeDeleted(ctx, 0); err != nil || n != 1 {
		t.Fatalf("purge after the export: %d, %v; want the deleted document purged", n, err)
	}
}

func TestExportIntegrityFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	f := b.exportFixture(t)
	// Flip one byte of the big blob's ciphertext.
	target := f.docs[4].Blobs[0].ID.String()
	client := b.store.Client()
	obj, err := client.GetObject(ctx, b.s3.Bucket, target, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	ct[len(ct)/2] ^= 1
	if _, err := client.PutObject(ctx, b.s3.Bucket, target, bytes.NewReader(ct), int64(len(ct)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, pass := range []string{"", "une phrase de passe assez longue"} {
		var buf bytes.Buffer
		_, err := b.v.Export(ctx, f.owner, f.by, &buf, vault.ExportOptions{Passphrase: pass})
		if !errors.Is(err, vault.ErrIntegrity) {
			t.Fatalf("export with a tampered blob: %v, want ErrIntegrity", err)
		}
		if pass == "" {
			if _, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err == nil {
				t.Fatal("the interrupted export reads as a complete ZIP")
			}
		}
	}
	actions := b.actions(t, f.owner)
	if actions[len(actions)-1] != vault.ActionIntegrity {
		t.Fatalf("journal ends with %s, want the integrity failure", actions[len(actions)-1])
	}
}

func TestExportErasedSafe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	if _, err := b.v.Export(ctx, uuid.New(), by, io.Discard, vault.ExportOptions{}); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("export of no one: %v", err)
	}
	if _, err := b.v.CloseSafe(ctx, owner, by, time.Microsecond); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Second)
	if n, err := b.v.EraseDue(ctx); err != nil || n != 1 {
		t.Fatalf("erase: %d, %v", n, err)
	}
	if _, err := b.v.Export(ctx, owner, by, io.Discard, vault.ExportOptions{}); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("export of an erased safe: %v, want ErrShredded", err)
	}
}

// FuzzEntryName checks that no text, however hostile, gives a name that escapes its folder
// or that a common system refuses.
func FuzzEntryName(f *testing.F) {
	for _, s := range hostileTitles {
		f.Add(s)
	}
	for _, s := range []string{"", ".", "..", "...", "/", "COM1", "lpt9.pdf", "CONIN$", "com¹", " - ", "\u200b", "a\u0300\u0000\u0301",
		strings.Repeat("é", 100), strings.Repeat("👩‍👩‍👧", 20), "\xff\xfe", "a..b", ". .. . .."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := vault.SafeFileName(s)
		switch {
		case got == "":
			t.Fatal("empty name")
		case !utf8.ValidString(got) || !norm.NFC.IsNormalString(got):
			t.Fatalf("%q: not NFC UTF-8", got)
		case len(got) > 80:
			t.Fatalf("%q: %d bytes", got, len(got))
		case strings.ContainsAny(got, `/\<>:"|?*`) || strings.Contains(got, ".."):
			t.Fatalf("%q: separator, reserved character or ..", got)
		case strings.HasPrefix(got, ".") || strings.HasPrefix(got, " ") || strings.HasPrefix(got, "-") ||
			strings.HasSuffix(got, ".") || strings.HasSuffix(got, " "):
			t.Fatalf("%q: leading or trailing dot, dash or space", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("%q holds %U", got, r)
			}
		}
		base, _, _ := strings.Cut(strings.ToUpper(got), ".")
		switch base {
		case "CON", "PRN", "AUX", "NUL", "COM1", "LPT1":
			t.Fatalf("%q is a Windows device name", got)
		}
		if again := vault.SafeFileName(got); again != got {
			t.Fatalf("not stable: %q → %q → %q", s, got, again)
		}
		// As it is used: inside documents/<kind>/, it stays there.
		name := "documents/autre/2026-01-01_" + got + "_0123abcd/original-1.pdf"
		if !filepath.IsLocal(name) || strings.Count(name, "/") != 3 {
			t.Fatalf("%q escapes: %q", s, name)
		}
	})
}

// exportHeap samples the Go heap every millisecond while f runs and returns its peak.
func exportHeap(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if h := sample[0].Value.Uint64(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// BenchmarkExport exports a safe of 500 documents beside a plain minio-go GET of the same
// objects, in the same run, and reports both throughputs, their ratio (target ≥ 0.6) and
// the peak heap (target ≤ 64 MB whatever the size). COFFRE_BENCH_EXPORT_MB sets the total
// size (default 200; the figure is 1000).
func BenchmarkExport(b *testing.B) {
	total := int64(200)
	if s := os.Getenv("COFFRE_BENCH_EXPORT_MB"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("COFFRE_BENCH_EXPORT_MB=%q is not a positive number", s)
		}
		total = n
	}
	const docs = 500
	tb := setup(b)
	ctx := context.Background()
	owner, by := tb.owner(b)
	size := total << 20 / docs
	data := make([]byte, size)
	var keys []string
	for i := range docs {
		_, _ = newPattern(size).Read(data)     // a pattern never fails
		data[0], data[1] = byte(i), byte(i>>8) // distinct files
		d, err := tb.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.Kinds[i%len(vault.Kinds)], Title: fmt.Sprintf("Document %d", i),
			Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "image/jpeg", Body: bytes.NewReader(data), Size: size}}})
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, d.Blobs[0].ID.String())
	}
	client := tb.store.Client()
	var raw, store, exp time.Duration
	var peak uint64
	var written int64
	b.SetBytes(size * docs)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		for _, k := range keys {
			obj, err := client.GetObject(ctx, tb.s3.Bucket, k, minio.GetObjectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, obj); err != nil {
				b.Fatal(err)
			}
			obj.Close()
		}
		raw += time.Since(start)
		// The same objects through the vault's BlobStore (ciphertext, no decryption): what
		// the store adapter itself costs.
		start = time.Now()
		for _, k := range keys {
			r, err := tb.store.Get(ctx, k)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
		store += time.Since(start)
		var out countingDiscard
		start = time.Now()
		p := exportHeap(func() {
			if _, err := tb.v.Export(ctx, owner, by, &out, vault.ExportOptions{}); err != nil {
				b.Fatal(err)
			}
		})
		exp += time.Since(start)
		peak = max(peak, p)
		written = out.n
	}
	mb := float64(size*docs) / (1 << 20) * float64(b.N)
	b.ReportMetric(mb/raw.Seconds(), "raw-MB/s")
	b.ReportMetric(mb/store.Seconds(), "blobstore-MB/s")
	b.ReportMetric(mb/exp.Seconds(), "export-MB/s")
	b.ReportMetric(raw.Seconds()/exp.Seconds(), "export/raw")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(written)/(1<<20), "zip-MB")
}

// The monitoring reads how old the newest signed checkpoint is: none at first, then a
// few seconds at most right after one is signed.
func TestLastCheckpointAge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, ok, err := vault.LastCheckpointAge(ctx, b.db); err != nil || ok {
		t.Fatalf("before any checkpoint: ok=%v err=%v", ok, err)
	}
	if _, err := b.v.CreateOwner(ctx, "", vault.System); err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.Checkpoint(ctx, b.signing); err != nil {
		t.Fatal(err)
	}
	age, ok, err := vault.LastCheckpointAge(ctx, b.db)
	if err != nil || !ok || age < 0 || age > time.Minute {
		t.Fatalf("after a checkpoint: %v ok=%v err=%v", age, ok, err)
	}
}
