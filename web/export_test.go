package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/vaulttest"
	"coffre/web"
)

// manifest is the part of manifest.json the tests read.
type manifest struct {
	OwnerID   string `json:"owner_id"`
	Documents []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
		Files []struct {
			Path   string `json:"path"`
			Role   string `json:"role"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	} `json:"documents"`
}

var exportNameRE = regexp.MustCompile(`^attachment; filename="coffre-\d{4}-\d{2}-\d{2}\.zip(\.age)?"$`)

// exportArchive downloads the session owner's archive and returns its bytes.
func (c *client) exportArchive(form url.Values) (*http.Response, []byte) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.csrf("/compte/export"))
	resp, err := c.hc.PostForm(c.base+"/compte/export", form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read the archive: %v", err)
	}
	return resp, b
}

// readArchive opens a downloaded ZIP archive, checks every file listed in its manifest
// against its SHA-256, and returns the manifest.
func readArchive(t *testing.T) func(resp *http.Response, b []byte) manifest {
	return func(resp *http.Response, b []byte) manifest { return checkArchive(t, resp, b) }
}

func checkArchive(t *testing.T, resp *http.Response, b []byte) manifest {
	t.Helper()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" ||
		resp.Header.Get("Cache-Control") != "no-store" || !exportNameRE.MatchString(resp.Header.Get("Content-Disposition")) {
		t.Fatalf("export: %d %q %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Disposition"))
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("open the archive: %v", err)
	}
	read := func(name string) []byte {
		t.Helper()
		f, err := zr.Open(name)
		if err != nil {
			t.Fatalf("archive: %v", err)
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			t.Fatalf("archive %s: %v", name, err)
		}
		return data
	}
	var m manifest
	if err := json.Unmarshal(read("manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Documents {
		if len(d.Files) == 0 {
			t.Errorf("document %s has no file", d.ID)
		}
		for _, f := range d.Files {
			data := read(f.Path)
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
				t.Errorf("%s: SHA-256 or size differs from the manifest", f.Path)
			}
		}
	}
	read("journal.jsonl")
	return m
}

func ids(m manifest) []string {
	var out []string
	for _, d := range m.Documents {
		out = append(out, d.ID)
	}
	return out
}

// depositDirect puts a small document in a safe through the vault, for tests where the
// form is not what is tested.
func depositDirect(t *testing.T, b *testBundle, owner uuid.UUID, title string) uuid.UUID {
	t.Helper()
	body := []byte("%PDF-1.4 " + title)
	d, err := b.v.Deposit(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, vault.NewDocument{
		Kind: vault.KindAutre, Title: title,
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Name: "a.pdf", Body: bytes.NewReader(body), Size: int64(len(body))}}})
	if err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func TestExportOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("amina", "le chat mange la pomme")
	photo := sharedFixture(t, "exif-orientation/Portrait_6.jpg")
	resp, body := c.upload("/papiers/ajouter", c.csrf("/papiers/ajouter"), map[string]string{"kind": "caf", "title": "Attestation CAF de mars"}, photo)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deposit: %d %s", resp.StatusCode, body)
	}
	amina := mustOwner(t, b, "amina")

	_, body = c.get("/compte")
	if !strings.Contains(body, `href="/compte/export"`) || !strings.Contains(body, `href="/compte/fermer"`) {
		t.Fatal("Mon compte offers neither the export nor the closure")
	}
	if strings.Contains(body, "fermera le") {
		t.Fatal("a shutdown banner without any notice")
	}
	if _, body = c.get("/aide"); !strings.Contains(body, `href="/compte/export"`) {
		t.Error("the help page does not tell how to download everything")
	}
	resp, body = c.get("/compte/export")
	if resp.StatusCode != 200 || !strings.Contains(body, "votre historique") || !strings.Contains(body, "«\u00a0age\u00a0»") || !strings.Contains(body, `name="passphrase"`) {
		t.Fatalf("export page: %d", resp.StatusCode)
	}

	t.Run("the archive holds the deposited paper, with matching hashes", func(t *testing.T) {
		m := readArchive(t)(c.exportArchive(nil))
		if m.OwnerID != amina.String() || len(m.Documents) != 1 || m.Documents[0].Title != "Attestation CAF de mars" {
			t.Fatalf("manifest: owner %s, documents %v", m.OwnerID, ids(m))
		}
		roles := map[string]bool{}
		for _, f := range m.Documents[0].Files {
			roles[f.Role] = true
		}
		if !roles["original"] || !roles["rendition"] {
			t.Errorf("roles in the archive: %v", roles)
		}
	})

	t.Run("protected by a passphrase", func(t *testing.T) {
		resp, b := c.exportArchive(url.Values{"protect": {"1"}, "passphrase": {"la tortue boit du café"}, "passphrase2": {"la tortue boit du café"}})
		if resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte("age-encryption.org/v1")) || !exportNameRE.MatchString(resp.Header.Get("Content-Disposition")) ||
			!strings.HasSuffix(resp.Header.Get("Content-Disposition"), `.zip.age"`) {
			t.Fatalf("protected export: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Disposition"), b[:min(len(b), 30)])
		}
	})

	t.Run("a short passphrase is refused, what was typed is kept", func(t *testing.T) {
		resp, b := c.exportArchive(url.Values{"protect": {"1"}, "passphrase": {"trop court"}, "passphrase2": {"trop court"}})
		body := string(b)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "La phrase secrète est trop courte\u00a0: mettez au moins 12 caractères") ||
			!strings.Contains(body, `value="trop court"`) || !strings.Contains(body, `action="/compte/export"`) || resp.Header.Get("Content-Disposition") != "" {
			t.Fatalf("short passphrase: %d", resp.StatusCode)
		}
		resp, b = c.exportArchive(url.Values{"protect": {"1"}, "passphrase": {"la tortue boit du café"}, "passphrase2": {"la tortue boit du thé"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "ne sont pas pareilles") {
			t.Fatalf("mismatch: %d", resp.StatusCode)
		}
	})

	t.Run("CSRF and sign-in are required", func(t *testing.T) {
		resp, body := c.post("/compte/export", url.Values{"csrf": {"forged"}})
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") == "application/zip" || !strings.Contains(body, "Le formulaire a expiré") {
			t.Fatalf("forged token: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		resp, _ = c.post("/compte/export", url.Values{})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("no token: %d", resp.StatusCode)
		}
		anon := b.client(t)
		if resp, _ := anon.get("/compte/export"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
			t.Fatalf("signed out: %d", resp.StatusCode)
		}
		resp, _ = anon.post("/compte/export", url.Values{"csrf": {anon.csrf("/connexion")}})
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") == "application/zip" {
			t.Fatalf("signed out POST: %d", resp.StatusCode)
		}
	})

	t.Run("each session gets its own owner's archive only", func(t *testing.T) {
		other := b.client(t)
		other.signup("bruno", "une autre phrase secrete")
		bruno := mustOwner(t, b, "bruno")
		doc := depositDirect(t, b, bruno, "Quittance de Bruno")
		// An owner_id in the form is ignored: the archive is the session's owner's.
		m := readArchive(t)(other.exportArchive(url.Values{"owner": {amina.String()}}))
		if m.OwnerID != bruno.String() || len(m.Documents) != 1 || m.Documents[0].ID != doc.String() {
			t.Fatalf("bruno's archive: owner %s, documents %v", m.OwnerID, ids(m))
		}
		m = readArchive(t)(c.exportArchive(nil))
		if m.OwnerID != amina.String() || len(m.Documents) != 1 || m.Documents[0].ID == doc.String() {
			t.Fatalf("amina's archive: owner %s, documents %v", m.OwnerID, ids(m))
		}
	})

	t.Run("the export is in the history", func(t *testing.T) {
		_, body := c.get("/historique")
		if !strings.Contains(body, "Vous avez téléchargé tout votre coffre.") {
			t.Fatal("the history does not show the export")
		}
		// An operator's export on a written request names the request.
		if _, err := b.v.Export(context.Background(), amina, vault.Actor{Kind: vault.ActorOperator, ID: "ops"}, io.Discard, vault.ExportOptions{Request: "DEM-2026-42"}); err != nil {
			t.Fatal(err)
		}
		_, body = c.get("/historique")
		if want := "a téléchargé tout votre coffre, à votre demande écrite (référence «\u00a0DEM-2026-42\u00a0»)."; !strings.Contains(html.UnescapeString(body), want) {
			t.Fatalf("the history lacks %q", want)
		}
	})
}

func TestCloseOverHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	const secret = "le chat mange la pomme"
	c := b.client(t)
	c.signup("amina", secret)
	amina := mustOwner(t, b, "amina")
	doc := depositDirect(t, b, amina, "Avis d'imposition")
	login := func(c *client) *http.Response {
		t.Helper()
		resp, body := c.post("/connexion", url.Values{"csrf": {c.csrf("/connexion")}, "login": {"amina"}, "secret": {secret}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d %s", resp.StatusCode, body)
		}
		return resp
	}
	second := b.client(t) // another device, whose session must end too
	login(second)

	resp, body := c.get("/compte/fermer")
	if resp.StatusCode != 200 || !strings.Contains(body, "12\u00a0mois") || !strings.Contains(body, "effacé pour de bon") ||
		!strings.Contains(body, `href="/compte/export"`) || !strings.Contains(body, `name="secret"`) {
		t.Fatalf("closing page: %d", resp.StatusCode)
	}
	tok := c.csrf("/compte/fermer")
	if resp, _ := c.post("/compte/fermer", url.Values{"csrf": {"forged"}, "secret": {secret}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged token: %d", resp.StatusCode)
	}
	resp, body = c.post("/compte/fermer", url.Values{"csrf": {tok}, "secret": {"pas le bon secret"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(body), "Le mot de passe n'est pas bon") {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}
	if s, err := b.v.Status(ctx, amina); err != nil || s.Closed() {
		t.Fatalf("closed with a wrong secret: %v", err)
	}

	resp, body = c.post("/compte/fermer", url.Values{"csrf": {tok}, "secret": {secret}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Votre coffre est fermé") || !strings.Contains(html.UnescapeString(body), "connectez-vous comme d'habitude") {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	s, err := b.v.Status(ctx, amina)
	if err != nil || !s.Closed() {
		t.Fatalf("not closed: %v", err)
	}
	if !strings.Contains(body, frenchDate(*s.EraseAfter)) {
		t.Errorf("the erasure date %s is not shown", frenchDate(*s.EraseAfter))
	}
	for name, cl := range map[string]*client{"this device": c, "the other device": second} {
		if resp, _ := cl.get("/papiers"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
			t.Errorf("%s still signed in: %d %s", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	// Signing in again leads to the closed page only.
	if resp := login(c); resp.Header.Get("Location") != "/papiers" {
		t.Fatalf("login went to %s", resp.Header.Get("Location"))
	}
	for _, p := range []string{"/papiers", "/papiers/ajouter", "/papiers/" + doc.String(), "/historique", "/compte", "/compte/fermer"} {
		if resp, _ := c.get(p); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/ferme" {
			t.Errorf("%s on a closed safe: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, body = c.get("/compte/ferme")
	if resp.StatusCode != 200 || !strings.Contains(body, "Votre coffre est fermé") || !strings.Contains(body, "Rouvrir mon coffre") || !strings.Contains(body, `href="/compte/export"`) {
		t.Fatalf("closed page: %d", resp.StatusCode)
	}
	photo := sharedFixture(t, "exif-orientation/Portrait_6.jpg")
	resp, body = c.upload("/papiers/ajouter", c.csrf("/compte/ferme"), map[string]string{"kind": "caf"}, photo)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Votre coffre est fermé") {
		t.Fatalf("deposit in a closed safe: %d", resp.StatusCode)
	}
	m := readArchive(t)(c.exportArchive(nil))
	if len(m.Documents) != 1 || m.Documents[0].ID != doc.String() {
		t.Fatalf("export of a closed safe: %v", ids(m))
	}

	resp, body = c.post("/compte/rouvrir", url.Values{"csrf": {c.csrf("/compte/ferme")}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Votre coffre est rouvert") {
		t.Fatalf("reopen: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/papiers"); resp.StatusCode != 200 {
		t.Fatalf("papers after reopening: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/compte/ferme"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte" {
		t.Errorf("closed page of an open safe: %d", resp.StatusCode)
	}
	_, body = c.get("/historique")
	for _, want := range []string{"Vous avez fermé votre coffre.", "Vous avez rouvert votre coffre.", "Vous avez téléchargé tout votre coffre."} {
		if !strings.Contains(body, want) {
			t.Errorf("the history lacks %q", want)
		}
	}
}

// frenchDate writes a date as the pages do ("1 mars 2027"), in Paris time.
func frenchDate(t time.Time) string {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		t = t.In(loc)
	}
	months := []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	return strconv.Itoa(t.Day()) + " " + months[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// An owner who signs in with FranceConnect only has no secret: they type FERMER.
func TestCloseWithoutSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	o, err := b.v.CreateOwner(ctx, "fc-owner", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := b.a.CreateSession(ctx, o.ID, "franceconnect", "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	u, _ := url.Parse(c.base)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "coffre", Value: token, Path: "/"}})
	resp, body := c.get("/compte/fermer")
	if resp.StatusCode != 200 || !strings.Contains(body, "tapez le mot FERMER") || strings.Contains(body, `name="secret"`) {
		t.Fatalf("closing page without a secret: %d", resp.StatusCode)
	}
	tok := c.csrf("/compte/fermer")
	resp, body = c.post("/compte/fermer", url.Values{"csrf": {tok}, "word": {"fermé"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `value="fermé"`) {
		t.Fatalf("wrong word: %d", resp.StatusCode)
	}
	resp, body = c.post("/compte/fermer", url.Values{"csrf": {tok}, "word": {" fermer "}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Votre coffre est fermé") {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	if s, err := b.v.Status(ctx, o.ID); err != nil || !s.Closed() {
		t.Fatalf("not closed: %v", err)
	}
}

func TestShutdownNotice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("amina", "le chat mange la pomme")
	at := time.Date(2027, time.March, 31, 12, 0, 0, 0, time.UTC)
	if _, err := b.v.AnnounceShutdown(context.Background(), vault.System, "Le département arrête le service Coffre.", at); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/papiers", "/compte", "/historique"} {
		_, body := c.get(p)
		if !strings.Contains(body, "Le service Coffre fermera le 31 mars 2027\u00a0: téléchargez vos papiers.") ||
			!strings.Contains(body, "Le département arrête le service Coffre.") || !strings.Contains(body, `href="/compte/export"`) {
			t.Errorf("%s lacks the shutdown banner", p)
		}
	}
	if _, body := b.client(t).get("/"); strings.Contains(body, "fermera le") {
		t.Error("the banner is shown to visitors who are not signed in")
	}
}

// A failure after the first bytes cuts the connection: the browser sees a failed
// download, never a complete-looking truncated archive.
func TestExportAbortsMidStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := vaulttest.DB(t)
	store, _ := vaulttest.S3Store(t)
	keyPath := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.GenerateMasterKey(keyPath); err != nil {
		t.Fatal(err)
	}
	keys, err := vault.LoadKeyring(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	clock := &vaulttest.Clock{}
	v, err := vault.New(ctx, vault.Config{DB: db, Blobs: store, Keys: keys, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Config{Ready: v, Vault: v, Accounts: account.New(account.Config{DB: db, Vault: v, Now: clock.Now}), Now: clock.Now}))
	t.Cleanup(srv.Close)
	b := &testBundle{v: v, srv: srv, base: srv.URL}
	c := b.client(t)
	c.signup("amina", "le chat mange la pomme")
	owner := mustOwner(t, b, "amina")
	by := vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}
	// The first paper is larger than the archive's write buffer, so that bytes have left
	// when the second one, whose object is gone, fails.
	big := make([]byte, 256<<10)
	rand.Read(big)
	if _, err := v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindAutre, Title: "grand",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "image/jpeg", Body: bytes.NewReader(big), Size: int64(len(big))}}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second) // distinct created_at: the archive follows deposit order
	d, err := v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindAutre, Title: "perdu",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "image/jpeg", Body: bytes.NewReader(big[:1000]), Size: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, d.Blobs[0].ID.String()); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"csrf": {c.csrf("/compte/export")}}
	resp, err := c.hc.PostForm(c.base+"/compte/export", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || err == nil {
		t.Fatalf("a failed export ended normally: %d, %d bytes, %v", resp.StatusCode, len(got), err)
	}
	if _, err := zip.NewReader(bytes.NewReader(got), int64(len(got))); err == nil {
		t.Fatal("the truncated archive opens")
	}
}

// TestBrowserShutdownNotice checks the pages with the shutdown banner under axe-core and
// the page budget, in headless Chromium (see TestBrowser).
func TestBrowserShutdownNotice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.v.AnnounceShutdown(context.Background(), vault.System, "Le département arrête le service Coffre.", time.Now().AddDate(0, 6, 0)); err != nil {
		t.Fatal(err)
	}
	br := newBrowser(t)
	defer br.report()
	br.signup(b.base, "amina", "le chat mange la pomme")
	br.visit("Mes papiers (avis de fermeture)", b.base+"/papiers")
	if s := br.text(); !strings.Contains(s, "Le service Coffre fermera le") {
		t.Fatalf("no shutdown banner: %s", s)
	}
	br.visit("Mon compte (avis de fermeture)", b.base+"/compte")
}
