package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"coffre/vault/i18n"
)

// chooserRE finds the links of the language chooser: each language's name in its own
// script, marked with its language and direction.
var chooserRE = regexp.MustCompile(`<a href="/langue/([A-Za-z-]+)\?retour=[^"]*" lang="([A-Za-z-]+)" hreflang="[A-Za-z-]+" dir="(ltr|rtl)"`)

// TestLanguageChooser: the very first screens (home and sign-in) offer every language
// present without JavaScript, by links; a choice is remembered (cookie) and the page then
// says its language and direction; an unknown language is refused.
func TestLanguageChooser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	for _, page := range []string{"/", "/connexion", "/langue"} {
		_, body := c.get(page)
		found := map[string]bool{}
		for _, m := range chooserRE.FindAllStringSubmatch(body, -1) {
			if m[1] != m[2] {
				t.Errorf("%s: the link to %s is marked lang=%s", page, m[1], m[2])
			}
			if want := map[bool]string{true: "rtl", false: "ltr"}[i18n.LocaleOf(m[1]).RTL]; m[3] != want {
				t.Errorf("%s: the link to %s is marked dir=%s", page, m[1], m[3])
			}
			found[m[1]] = true
		}
		for _, l := range i18n.Languages {
			if !found[l] {
				t.Errorf("%s: no link to %s in the chooser", page, l)
			}
		}
		if !strings.Contains(body, ">العربية</a>") || !strings.Contains(body, ">Français</a>") {
			t.Errorf("%s: the languages are not named in their own script", page)
		}
	}
	resp, _ := c.get("/langue/ar?retour=/connexion")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
		t.Fatalf("choose Arabic: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.get("/connexion")
	if !strings.Contains(body, `<html lang="ar" dir="rtl"`) || !strings.Contains(body, "اسم الدخول أو رقم الهاتف") || resp.Header.Get("Content-Language") != "ar" {
		t.Fatalf("the sign-in page in Arabic: %.300s", body)
	}
	if !strings.Contains(body, `aria-current="true">العربية</a>`) {
		t.Error("the chooser does not mark the current language")
	}
	if resp, _ := c.get("/langue/xx"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown language: %d", resp.StatusCode)
	}
	// The browser's preference is followed when nothing was chosen: a full tag, or its
	// main language.
	for accept, want := range map[string]string{"ar-MA,ar;q=0.9": `<html lang="ar" dir="rtl"`, "de,en;q=0.5": `<html lang="en" dir="ltr"`, "": `<html lang="fr" dir="ltr"`} {
		req, _ := http.NewRequest(http.MethodGet, b.base+"/", nil)
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(page), want) {
			t.Errorf("Accept-Language %q: want %s", accept, want)
		}
	}
}

// TestLanguageAccount: the owner's choice in « Mon compte » is kept with the account
// and comes back at the next sign-in, on a device that never chose; a language Coffre
// does not offer is refused with a sentence.
func TestLanguageAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("leila", "le chat mange la pomme verte")
	tok := c.csrf("/compte")
	if resp, body := c.post("/compte/langue", url.Values{"csrf": {tok}, "lang": {"xx"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "choisissez une langue de la liste") {
		t.Fatalf("unknown language: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/compte/langue", url.Values{"csrf": {tok}, "lang": {"ar"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("choose Arabic: %d", resp.StatusCode)
	}
	_, body := c.get("/compte")
	if !strings.Contains(body, `<html lang="ar" dir="rtl"`) || !regexp.MustCompile(`value="ar" checked`).MatchString(body) {
		t.Fatalf("Mon compte after choosing Arabic: %.400s", body)
	}
	a, err := b.a.Account(context.Background(), ownerOf(t, b, "leila"))
	if err != nil || a.Language != "ar" {
		t.Fatalf("the account's language: %v %v", a, err)
	}
	// Pages read in Romanian (the footer's « Langue »): the page says messages still come
	// in Arabic, and the saved choice stays checked.
	c.get("/langue/ro")
	if _, body := c.get("/compte"); !strings.Contains(body, `<html lang="ro"`) || !regexp.MustCompile(`mesajele vă sosesc în „\x{2068}?العربية\x{2069}?”`).MatchString(body) || !regexp.MustCompile(`value="ar" checked`).MatchString(body) {
		t.Fatalf("Mon compte read in Romanian: %.400s", body)
	}
	c.get("/langue/ar")
	if _, body := c.get("/compte"); strings.Contains(body, "lang-differs") {
		t.Fatal("Mon compte read in the account's language says it differs")
	}
	other := b.client(t)
	tok = other.csrf("/connexion")
	other.post("/connexion", url.Values{"csrf": {tok}, "login": {"leila"}, "secret": {"le chat mange la pomme verte"}})
	if _, body := other.get("/papiers"); !strings.Contains(body, `<html lang="ar" dir="rtl"`) || !strings.Contains(body, "أوراقي") {
		t.Fatalf("the language does not follow the account at sign-in: %.300s", body)
	}
}

// TestLanguageAtDesk: the agent who opens a safe at the desk chooses the person's
// language, which their safe then speaks.
func TestLanguageAtDesk(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	st := newStructure(t, b, "CCAS de Lille")
	a := newAgent(t, b, st, "claire.dupont", "Mme Dupont")
	c := b.client(t)
	c.agentSignIn(a)
	tok := c.csrf("/agent/ouvrir")
	_, form := c.get("/agent/ouvrir")
	if !strings.Contains(form, `<option value="ar" lang="ar">العربية</option>`) {
		t.Fatalf("the agent's form has no language choice: %s", form)
	}
	if resp, _ := c.post("/agent/ouvrir", url.Values{"csrf": {tok}, "login": {"sami.h"}, "lang": {"xx"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("unknown language: %d", resp.StatusCode)
	}
	if _, err := b.v.OwnerByLogin(context.Background(), "sami.h"); err == nil {
		t.Fatal("a safe was opened with a language refused")
	}
	if resp, body := c.post("/agent/ouvrir", url.Values{"csrf": {tok}, "login": {"sami.h"}, "lang": {"ar"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("open with Arabic: %d %s", resp.StatusCode, body)
	}
	owner := ownerOf(t, b, "sami.h")
	acc, err := b.a.Account(context.Background(), owner)
	if err != nil || acc.Language != "ar" {
		t.Fatalf("the person's language: %+v %v", acc, err)
	}

	// The access card adds a page in the person's language, whatever its letters.
	for lang, pages := range map[string]int{"en": 2, "ar": 2, "uk": 2, "ps": 2} {
		login := "card." + lang
		_, body := c.post("/agent/ouvrir", url.Values{"csrf": {tok}, "login": {login}, "lang": {lang}})
		m := accessCodeRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("open %s: no code", login)
		}
		resp, pdf := c.post("/agent/personnes/"+ownerOf(t, b, login).String()+"/carte", url.Values{"csrf": {tok}, "code": {m[1]}, "format": {"A6"}})
		if n := strings.Count(pdf, "/Type /Page\n"); resp.StatusCode != http.StatusOK || n != pages {
			t.Errorf("the card of a person reading %s: %d, %d pages, want %d", lang, resp.StatusCode, n, pages)
		}
	}

	// The mandate's consent is a legal text: it stays in French, with its translation
	// after it for a person who reads another language.
	c.get("/langue/ar?retour=/agent")
	_, body := c.get("/agent/personnes/" + owner.String() + "/mandat")
	fr := strings.Index(body, `<div lang="fr" dir="ltr">`)
	french := strings.Index(body, "Vous autorisez les agents de CCAS de Lille")
	arabic := strings.Index(body, "تسمح لموظفي \u2068CCAS de Lille\u2069") // the name isolated in the sentence
	if fr < 0 || french < fr || arabic < french {
		t.Fatalf("the mandate's text in French then in Arabic: %d %d %d", fr, french, arabic)
	}
	// The translation is in the person's language, whatever the desk's.
	c.get("/langue/fr?retour=/agent")
	if _, body := c.get("/agent/personnes/" + owner.String() + "/mandat"); !strings.Contains(body, `id="traduction-mandat" lang="ar" dir="rtl"`) || !strings.Contains(body, "تسمح لموظفي") {
		t.Error("no Arabic translation of the mandate's text for a person reading Arabic, on a desk in French")
	}
	c.post("/agent/ouvrir", url.Values{"csrf": {tok}, "login": {"lea.fr"}, "lang": {"fr"}})
	if _, body := c.get("/agent/personnes/" + ownerOf(t, b, "lea.fr").String() + "/mandat"); strings.Contains(body, "traduction-mandat") {
		t.Error("a translation of the mandate's text for a person reading French, on a desk in French")
	}
}

// TestLanguageExport: the archive of the whole safe keeps its notice in French
// (LISEZMOI.txt) and adds one in the person's language beside it; manifest.csv's column
// names follow the language.
func TestLanguageExport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("nadia", "le chat mange la pomme verte")
	_, archive := c.exportArchive(nil)
	if names := zipNames(t, archive); !names["LISEZMOI.txt"] || len(filterPrefix(names, "LISEZMOI-")) != 0 {
		t.Fatalf("the archive in French: %v", names)
	}
	c.get("/langue/ar?retour=/compte")
	_, archive = c.exportArchive(nil)
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open("LISEZMOI-ar.txt")
	if err != nil {
		t.Fatalf("no notice in Arabic: %v", err)
	}
	text, _ := io.ReadAll(f)
	if !strings.Contains(string(text), "هذا المجلد فيه نسخة من خزنتك كلها.") || !strings.Contains(string(text), "عدد الوثائق: 0.") || !strings.Contains(string(text), "LISEZMOI.txt") {
		t.Errorf("the notice in Arabic: %s", text)
	}
	if _, err := zr.Open("LISEZMOI.txt"); err != nil {
		t.Error("the French notice is gone")
	}
	if f, err := zr.Open("manifest.csv"); err != nil {
		t.Error("no manifest.csv")
	} else if head, _ := io.ReadAll(f); !strings.Contains(string(head), "النوع (الاسم)") {
		t.Errorf("manifest.csv's columns are not named in Arabic: %s", head)
	}
}

func zipNames(t *testing.T, archive []byte) map[string]bool {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	return names
}

func filterPrefix(names map[string]bool, prefix string) []string {
	var out []string
	for n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// TestUploadSeparator: the page's script says « Page 1 : … » with the separator of the
// page's language, which the form gives it: French's no-break space before the colon,
// none in English.
func TestUploadSeparator(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("sana", "le chat mange la pomme")
	for _, l := range []struct{ lang, colon string }{{"fr", "\u00a0: "}, {"en", ": "}, {"ar", ": "}} {
		if resp, _ := c.get("/langue/" + l.lang + "?retour=/"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("choose %s: %d", l.lang, resp.StatusCode)
		}
		if _, body := c.get("/papiers/ajouter"); !strings.Contains(body, `data-colon="`+l.colon+`"`) {
			t.Errorf("%s: the form does not give the separator %q", l.lang, l.colon)
		}
	}
	js, err := os.ReadFile("static/upload.js")
	if err != nil || !bytes.Contains(js, []byte("form.dataset.colon")) || bytes.Contains(js, []byte("' : ' +")) {
		t.Errorf("upload.js writes a separator of its own (%v)", err)
	}
}
