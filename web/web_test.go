package web_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"coffre/ingest"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/web"
)

func (c *client) upload(path, tok string, fields map[string]string, files ...string) (*http.Response, string) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if tok != "" {
		if err := mw.WriteField("csrf", tok); err != nil {
			c.t.Fatal(err)
		}
	}
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			c.t.Fatal(err)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			c.t.Fatal(err)
		}
		w, _ := mw.CreateFormFile("pages", "photo.jpg")
		if _, err := w.Write(b); err != nil {
			c.t.Fatal(err)
		}
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var docLinkRE = regexp.MustCompile(`/papiers/([0-9a-f-]{36})`)

func TestPagesOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	photo := sharedFixture(t, "exif-orientation/Portrait_6.jpg")

	resp, _ := c.get("/papiers")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
		t.Fatalf("signed-out list: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	c.signup("amina", "le chat mange la pomme")

	resp, body := c.get("/papiers")
	if resp.StatusCode != 200 || !strings.Contains(body, "Votre coffre est vide") {
		t.Fatalf("empty list: %d", resp.StatusCode)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("missing header %s", h)
		}
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}

	tok := c.csrf("/papiers/ajouter")
	resp, body = c.upload("/papiers/ajouter", tok, map[string]string{"kind": "caf", "title": "Attestation CAF de mars"}, photo)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deposit: %d %s", resp.StatusCode, body)
	}
	docPath := resp.Header.Get("Location")
	m := docLinkRE.FindStringSubmatch(docPath)
	if m == nil {
		t.Fatalf("deposit redirected to %q", docPath)
	}
	id := m[1]
	resp, body = c.get(docPath)
	if resp.StatusCode != 200 || !strings.Contains(body, "Attestation CAF de mars") || !strings.Contains(body, "Votre papier est dans le coffre") {
		t.Fatalf("document page: %d", resp.StatusCode)
	}
	_, body = c.get("/papiers")
	if !strings.Contains(body, "/papiers/"+id+"/vignette") || !strings.Contains(body, "Attestation CAF") {
		t.Fatalf("list does not show the document")
	}
	resp, thumb := c.get("/papiers/" + id + "/vignette")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || len(thumb) < 100 {
		t.Fatalf("thumbnail: %d %s %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(thumb))
	}

	// The PDF, downloaded.
	d, err := b.v.Documents(context.Background(), mustOwner(t, b, "amina"))
	if err != nil || len(d) != 1 {
		t.Fatal(d, err)
	}
	pdf := d[0].Blob(vault.RoleRendition)
	resp, body = c.get("/papiers/" + id + "/fichier/" + pdf.ID.String() + "?a=telecharger")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "%PDF-") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") ||
		resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("download: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Disposition"), resp.Header.Get("Cache-Control"))
	}
	resp, body = c.get("/papiers/" + id + "/imprimer")
	if resp.StatusCode != 200 || !strings.Contains(body, "?a=imprimer") {
		t.Fatalf("print page: %d", resp.StatusCode)
	}

	t.Run("validation keeps what was typed", func(t *testing.T) {
		tok := c.csrf("/papiers/" + id + "/modifier")
		resp, body := c.post("/papiers/"+id+"/modifier", url.Values{"csrf": {tok}, "title": {"Mon attestation"}, "kind": {"caf"},
			"issued_on": {"2026-03-01"}, "expires_on": {"2025-01-01"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Mon attestation") || !strings.Contains(body, "2026-03-01") {
			t.Fatalf("bad dates: %d", resp.StatusCode)
		}
		resp, _ = c.post("/papiers/"+id+"/modifier", url.Values{"csrf": {tok}, "title": {"Mon attestation"}, "kind": {"caf"},
			"issued_on": {"2026-03-01"}, "expires_on": {"2026-12-31"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit: %d", resp.StatusCode)
		}
		_, body = c.get("/papiers/" + id)
		if !strings.Contains(body, "Mon attestation") || !strings.Contains(body, "31 décembre 2026") {
			t.Fatal("edit not shown")
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		resp, body := c.post("/papiers/"+id+"/supprimer", url.Values{"csrf": {"forged"}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Le formulaire a expiré") {
			t.Fatalf("forged token: %d", resp.StatusCode)
		}
		resp, _ = c.upload("/papiers/ajouter", "", map[string]string{"kind": "caf"}, photo)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("upload without token: %d", resp.StatusCode)
		}
		req, _ := http.NewRequest(http.MethodPost, c.base+"/papiers/"+id+"/supprimer", strings.NewReader("csrf="+c.csrf("/papiers")))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site POST: %d", resp.StatusCode)
		}
	})

	t.Run("another owner's document is not found", func(t *testing.T) {
		other := b.client(t)
		other.signup("bruno", "une autre phrase secrete")
		for _, p := range []string{"/papiers/" + id, "/papiers/" + id + "/vignette", "/papiers/" + id + "/fichier/" + pdf.ID.String(), "/papiers/" + id + "/imprimer", "/papiers/" + id + "/modifier", "/papiers/not-a-uuid"} {
			resp, body := other.get(p)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d", p, resp.StatusCode)
			}
			if strings.Contains(body, "Mon attestation") {
				t.Errorf("%s leaks the title", p)
			}
		}
		tok := other.csrf("/papiers")
		if resp, _ := other.post("/papiers/"+id+"/supprimer", url.Values{"csrf": {tok}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("delete another's: %d", resp.StatusCode)
		}
	})

	t.Run("delete with confirmation, journaled", func(t *testing.T) {
		_, body := c.get("/papiers/" + id + "/supprimer")
		if !strings.Contains(body, "Voulez-vous vraiment supprimer") {
			t.Fatal("no confirmation page")
		}
		tok := c.csrf("/papiers/" + id + "/supprimer")
		resp, _ := c.post("/papiers/"+id+"/supprimer", url.Values{"csrf": {tok}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if resp, _ := c.get("/papiers/" + id); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("deleted document: %d", resp.StatusCode)
		}
		_, body = c.get("/historique")
		for _, want := range []string{"Vous avez supprimé", "Vous avez ajouté", "Vous avez téléchargé", "Vous avez modifié", "Votre coffre a été ouvert"} {
			if !strings.Contains(body, want) {
				t.Errorf("history lacks %q", want)
			}
		}
	})

	t.Run("failed logins in the history", func(t *testing.T) {
		anon := b.client(t)
		tok := anon.csrf("/connexion")
		resp, body := anon.post("/connexion", url.Values{"csrf": {tok}, "login": {"amina"}, "secret": {"pas le bon"}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `value="amina"`) {
			t.Fatalf("wrong secret: %d", resp.StatusCode)
		}
		_, body = c.get("/historique")
		if !strings.Contains(body, "Tentative de connexion échouée") {
			t.Fatal("failed login not in history")
		}
	})

	t.Run("log out everywhere", func(t *testing.T) {
		second := b.client(t)
		tok := second.csrf("/connexion")
		if resp, _ := second.post("/connexion", url.Values{"csrf": {tok}, "login": {"amina"}, "secret": {"le chat mange la pomme"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		_, body := second.get("/compte")
		if strings.Count(body, "/fin\"") < 2 {
			t.Fatal("the account page does not list both sessions")
		}
		tok = second.csrf("/compte")
		second.post("/compte/sessions/fin", url.Values{"csrf": {tok}})
		if resp, _ := c.get("/papiers"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first session still alive: %d", resp.StatusCode)
		}
	})
}

func mustOwner(t *testing.T, b *testBundle, login string) uuid.UUID {
	o, err := b.v.OwnerByLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

func TestUploadTooLarge(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) { c.MaxUpload = 200 << 10 })
	c := b.client(t)
	c.signup("zoe", "le chat mange la pomme")
	tok := c.csrf("/papiers/ajouter")
	resp, body := c.upload("/papiers/ajouter", tok, map[string]string{"kind": "caf"}, sharedFixture(t, "exif-orientation/Portrait_6.jpg"))
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "est trop lourd") {
		t.Fatalf("too large: %d %s", resp.StatusCode, body)
	}
}

func TestEnglish(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	req, _ := http.NewRequest(http.MethodGet, c.base+"/connexion", nil)
	req.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `lang="en"`) || !strings.Contains(string(body), "Username or phone number") {
		t.Fatal("English not served for Accept-Language: en")
	}
	resp, _ = c.get("/langue/fr?retour=/connexion")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatal(resp.StatusCode)
	}
	_, page := c.get("/connexion")
	if !strings.Contains(page, "Identifiant ou numéro de téléphone") {
		t.Fatal("the language cookie is not followed")
	}
	for _, evil := range []string{"//evil.example/", "/\\evil.example/", "https://evil.example/"} {
		if resp, _ := c.get("/langue/fr?retour=" + url.QueryEscape(evil)); resp.Header.Get("Location") != "/" {
			t.Fatalf("open redirect to %s: %s", evil, resp.Header.Get("Location"))
		}
	}
}

func TestLockout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("lea", "le chat mange la pomme")
	anon := b.client(t)
	tok := anon.csrf("/connexion")
	var resp *http.Response
	var body string
	for i := 0; i <= account.LoginFailures; i++ {
		resp, body = anon.post("/connexion", url.Values{"csrf": {tok}, "login": {"lea"}, "secret": {"pas le bon secret"}})
	}
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Trop d") {
		t.Fatalf("after %d failures: %d", account.LoginFailures+1, resp.StatusCode)
	}
	// Even the right secret is refused while locked.
	if resp, _ := anon.post("/connexion", url.Values{"csrf": {tok}, "login": {"lea"}, "secret": {"le chat mange la pomme"}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right secret while locked: %d", resp.StatusCode)
	}
	_, body = c.get("/historique")
	if !strings.Contains(body, "Tentative de connexion échouée") || !strings.Contains(body, "la connexion était bloquée") {
		t.Fatal("failed and refused logins are not in the history")
	}
}

func TestBehindTLS(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) { c.BehindTLS = true })
	resp, err := http.Get(b.srv.URL + "/connexion")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS behind TLS")
	}
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-coffre_pre" {
			found = true
			if !c.Secure || !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("cookie %+v", c)
			}
		}
	}
	if !found {
		t.Errorf("no __Host- cookie: %v", resp.Header.Values("Set-Cookie"))
	}
}

// TestRetake: quality warnings are shown with "Reprendre la photo", which removes the
// paper and brings back the form with the kind and name chosen.
func TestRetake(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("nadia", "le chat mange la pomme")
	tok := c.csrf("/papiers/ajouter")
	resp, _ := c.upload("/papiers/ajouter", tok, map[string]string{"kind": "impots", "title": "Avis 2026"}, sharedFixture(t, "exif-orientation/Portrait_6.jpg"))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "w=") {
		t.Fatalf("deposit of a photo with no sheet in it: %d %s (warnings expected)", resp.StatusCode, loc)
	}
	_, body := c.get(loc)
	if !strings.Contains(body, "Reprendre la photo") || !strings.Contains(body, "Page 1\u00a0:") {
		t.Fatal("warnings not shown with « Reprendre la photo »")
	}
	id := docLinkRE.FindStringSubmatch(loc)[1]
	resp, _ = c.post("/papiers/"+id+"/reprendre", url.Values{"csrf": {tok}})
	back := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(back, "/papiers/ajouter?") {
		t.Fatalf("retake: %d %s", resp.StatusCode, back)
	}
	_, form := c.get(back)
	if !strings.Contains(form, `value="Avis 2026"`) || !strings.Contains(form, `value="impots" checked`) {
		t.Fatal("the form lost the kind or the name")
	}
	if resp, _ := c.get("/papiers/" + id); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the retaken paper is still there: %d", resp.StatusCode)
	}
}

// TestValidationKeepsInput: a refused file or secret loses nothing else typed.
func TestValidationKeepsInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	tok := c.csrf("/inscription")
	resp, body := c.post("/inscription", url.Values{"csrf": {tok}, "login": {"sami"}, "secret": {"court"}, "secret2": {"court"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `value="sami"`) || !strings.Contains(body, "trop court") {
		t.Fatalf("weak secret: %d", resp.StatusCode)
	}
	c.signup("sami", "le chat mange la pomme")
	bad := filepath.Join(t.TempDir(), "note.txt")
	if err := os.WriteFile(bad, []byte("ceci n'est pas une photo, juste du texte"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok = c.csrf("/papiers/ajouter")
	resp, body = c.upload("/papiers/ajouter", tok, map[string]string{"kind": "banque", "title": "Mon RIB"}, bad)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `value="Mon RIB"`) || !strings.Contains(body, `value="banque" checked`) {
		t.Fatalf("unsupported file: %d", resp.StatusCode)
	}
	if !strings.Contains(body, html.EscapeString(ingest.Message(ingest.ErrUnsupportedType))) {
		t.Errorf("the ingest sentence is not shown")
	}
	resp, body = c.upload("/papiers/ajouter", tok, map[string]string{"kind": "banque", "title": "Mon RIB"})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Aucune photo") || !strings.Contains(body, `value="Mon RIB"`) {
		t.Fatalf("no file: %d", resp.StatusCode)
	}
	if !strings.Contains(html.UnescapeString(body), "appuyez sur «\u00a0Mettre dans mon coffre\u00a0»") {
		t.Errorf("the sentence for no file does not name the button")
	}
	empty := filepath.Join(t.TempDir(), "vide.pdf")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	resp, body = c.upload("/papiers/ajouter", tok, map[string]string{"kind": "banque", "title": "Mon RIB"}, empty)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(body), "Ce fichier est vide") {
		t.Fatalf("an empty file: %d, not said to be empty", resp.StatusCode)
	}
}
