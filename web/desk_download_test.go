package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// What a person at the desk is told before a download, in French.
const (
	deskPaperWarning  = "un papier téléchargé reste dans le dossier «\u00a0Téléchargements\u00a0»"
	deskExportWarning = "Ce fichier contient tous vos papiers"
)

// deskAndHome signs lea.moreau in twice: on the browser of an agent whose structure
// holds a mandate to read her papers (the desk), and on a browser of her own (home). Her
// safe holds one paper.
func deskAndHome(t *testing.T, b *testBundle) (desk, home, agent *client, owner uuid.UUID, d *vault.Document) {
	t.Helper()
	agent, owner = mandatedAgent(t, b, sharing.ScopeRead)
	d = paper(t, b, owner, vault.KindCAF, "Attestation CAF")
	// The agent's browser: the person signs in where the agent did.
	desk = b.client(t)
	u, _ := url.Parse(b.srv.URL)
	desk.hc.Jar.SetCookies(u, agent.hc.Jar.Cookies(u))
	if resp := desk.signIn("lea.moreau", "un secret bien à moi"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in at the desk: %d", resp.StatusCode)
	}
	home = b.client(t)
	if resp := home.signIn("lea.moreau", "un secret bien à moi"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in at home: %d", resp.StatusCode)
	}
	return desk, home, agent, owner, d
}

// fetch gets path whole, headers and body, following nothing.
func (c *client) fetch(req *http.Request) (*http.Response, []byte) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read %s: %v", req.URL.Path, err)
	}
	return resp, b
}

// TestDeskDownloadWarned: at the desk, a paper's page says, next to « Télécharger », that
// a downloaded paper stays on the agent's computer and what to do instead, and the
// export page warns above its forms and offers the protected file first; at home, neither
// page says anything of the kind. Downloads work at the desk all the same.
func TestDeskDownloadWarned(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	desk, home, _, _, d := deskAndHome(t, b)
	paperPath := "/papiers/" + d.ID.String()
	pdf := d.Blob(vault.RoleRendition)
	download := paperPath + "/fichier/" + pdf.ID.String() + "?a=telecharger"

	_, body := desk.get(paperPath)
	page := html.UnescapeString(body)
	if !strings.Contains(page, deskPaperWarning) || !strings.Contains(page, "appuyez plutôt sur «\u00a0Voir le document\u00a0»") ||
		!strings.Contains(page, `aria-describedby="guichet-telecharger"`) || !strings.Contains(page, `id="guichet-telecharger"`) {
		t.Errorf("the paper's page at the desk does not tell where a download goes: %s", body)
	}
	if !strings.Contains(page, `href="`+download+`"`) {
		t.Error("the paper's page at the desk no longer offers the download")
	}
	_, body = home.get(paperPath)
	if page := html.UnescapeString(body); strings.Contains(page, deskPaperWarning) || strings.Contains(page, "guichet-telecharger") || !strings.Contains(page, `href="`+download+`"`) {
		t.Error("the paper's page at home speaks of the desk, or has no download")
	}

	_, body = desk.get("/compte/export")
	page = html.UnescapeString(body)
	alert, protect, plain := strings.Index(page, `id="guichet-export"`), strings.Index(page, `name="protect"`), strings.Index(page, `aria-labelledby="s-now"`)
	if alert < 0 || !strings.Contains(page, deskExportWarning) || !strings.Contains(page, "vider la corbeille") || !strings.Contains(page, "fr-alert--warning") {
		t.Fatalf("the export page at the desk does not warn: %s", body)
	}
	if !(alert < protect && protect < plain) {
		t.Errorf("at the desk, the export page is not warning, protected file, plain file (at %d, %d, %d)", alert, protect, plain)
	}
	_, body = home.get("/compte/export")
	page = html.UnescapeString(body)
	if strings.Contains(page, deskExportWarning) || strings.Contains(page, "guichet-export") {
		t.Error("the export page at home warns of the desk")
	}
	if plain, protect := strings.Index(page, `aria-labelledby="s-now"`), strings.Index(page, `name="protect"`); plain < 0 || protect < plain {
		t.Errorf("at home, the plain file no longer comes first (at %d, %d)", plain, protect)
	}

	// The downloads still work at the desk: the paper, the safe, protected or not.
	req, _ := http.NewRequest(http.MethodGet, desk.base+download, nil)
	resp, got := desk.fetch(req)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") || !strings.HasPrefix(string(got), "%PDF") {
		t.Fatalf("download at the desk: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	tok := desk.csrf("/compte/export")
	resp, got = desk.postRaw("/compte/export", url.Values{"csrf": {tok}})
	checkArchive(t, resp, got)
	const phrase = "la tortue boit du café"
	resp, got = desk.postRaw("/compte/export", url.Values{"csrf": {tok}, "protect": {"1"}, "passphrase": {phrase}, "passphrase2": {phrase}})
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Header.Get("Content-Disposition"), `.zip.age"`) || !strings.HasPrefix(string(got), "age-encryption.org/v1") {
		t.Fatalf("protected export at the desk: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
}

// postRaw posts a form and returns the body whole, as bytes.
func (c *client) postRaw(path string, form url.Values) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.fetch(req)
}

// TestLinkPageAtDeskWarned: a share link opened on the agent's computer says where its
// downloads go; elsewhere it does not. It speaks to whoever reads, as far as we can tell:
// to the agent, who must erase a download themself, when their session is open there and
// no person's is; to the person otherwise, who is to ask the agent.
func TestLinkPageAtDeskWarned(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	desk, home, agent, owner, d := deskAndHome(t, b)
	l, err := b.share.CreateLink(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, sharing.NewLink{Documents: []uuid.UUID{d.ID}})
	if err != nil {
		t.Fatal(err)
	}
	// The agent's browser once they signed out: the mark of the desk alone.
	marked := b.client(t)
	u, _ := url.Parse(b.srv.URL)
	for _, k := range agent.hc.Jar.Cookies(u) {
		if strings.HasSuffix(k.Name, "coffre_guichet") {
			marked.hc.Jar.SetCookies(u, []*http.Cookie{k})
		}
	}
	const toPerson, toAgent = "demandez à l'agent de l'effacer", "effacez-le de l'ordinateur quand vous n'en avez plus besoin"
	for _, c := range []struct {
		name string
		who  *client
		want string // "" for no warning
	}{
		{"a person signed in at the desk", desk, toPerson},
		{"the agent alone", agent, toAgent},
		{"the mark of the desk alone", marked, toPerson},
		{"elsewhere", home, ""},
	} {
		_, body := c.who.get("/p/" + l.Token)
		page := html.UnescapeString(body)
		if c.want == "" {
			if strings.Contains(page, deskPaperWarning) || strings.Contains(page, "guichet-telecharger") {
				t.Errorf("%s: a link's page speaks of the desk", c.name)
			}
			continue
		}
		if !strings.Contains(page, deskPaperWarning) || !strings.Contains(page, "«\u00a0Voir\u00a0»") {
			t.Errorf("%s: a link's page at the desk does not tell where a download goes: %s", c.name, body)
		}
		other := toAgent
		if c.want == toAgent {
			other = toPerson
		}
		if !strings.Contains(page, c.want) || strings.Contains(page, other) {
			t.Errorf("%s: the warning does not say %q, or says %q", c.name, c.want, other)
		}
	}
}

// TestPapersNeverCached: every response that carries a paper or an archive — to the
// owner at home or at the desk, to a link's holder, to an agent, to a téléservice — tells
// the browser not to keep it (Cache-Control: no-store), so that it stays in no cache of
// the computer it was read on.
func TestPapersNeverCached(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	desk, home, agent, owner, d := deskAndHome(t, b)
	ctx := context.Background()
	pdf := d.Blob(vault.RoleRendition)
	file := "/papiers/" + d.ID.String() + "/fichier/" + pdf.ID.String()
	l, err := b.share.CreateLink(ctx, owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, sharing.NewLink{Documents: []uuid.UUID{d.ID}})
	if err != nil {
		t.Fatal(err)
	}
	link := "/p/" + l.Token
	// A marked copy is made for its recipient (watermark.go), and sent by other code.
	ml, err := b.share.CreateLink(ctx, owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, sharing.NewLink{Documents: []uuid.UUID{d.ID}, Watermark: "Pour la CAF, le 30/11/2026"})
	if err != nil {
		t.Fatal(err)
	}
	marked := "/p/" + ml.Token
	anyone := b.client(t)
	const phrase = "la tortue boit du café"
	for _, c := range []struct {
		name   string
		who    *client
		method string
		path   string
		form   url.Values
	}{
		{"view", home, http.MethodGet, file, nil},
		{"download", home, http.MethodGet, file + "?a=telecharger", nil},
		{"print", home, http.MethodGet, file + "?a=imprimer", nil},
		{"thumbnail", home, http.MethodGet, "/papiers/" + d.ID.String() + "/vignette", nil},
		{"miniature", home, http.MethodGet, "/papiers/" + d.ID.String() + "/vignette?taille=mini", nil},
		{"download at the desk", desk, http.MethodGet, file + "?a=telecharger", nil},
		{"export", home, http.MethodPost, "/compte/export", url.Values{}},
		{"protected export", home, http.MethodPost, "/compte/export", url.Values{"protect": {"1"}, "passphrase": {phrase}, "passphrase2": {phrase}}},
		{"export at the desk", desk, http.MethodPost, "/compte/export", url.Values{}},
		{"link: view", anyone, http.MethodGet, link + "/document/" + d.ID.String(), nil},
		{"link: download", anyone, http.MethodGet, link + "/document/" + d.ID.String() + "?a=telecharger", nil},
		{"link: thumbnail", anyone, http.MethodGet, link + "/document/" + d.ID.String() + "?a=vignette", nil},
		{"link: all in one", anyone, http.MethodGet, link + "/tout.pdf", nil},
		{"agent: download", agent, http.MethodGet, "/agent/personnes/" + owner.String() + "/papiers/" + d.ID.String() + "/fichier/" + pdf.ID.String() + "?a=telecharger", nil},
		{"marked link: download", anyone, http.MethodGet, marked + "/document/" + d.ID.String() + "?a=telecharger", nil},
		{"marked link: all in one", anyone, http.MethodGet, marked + "/tout.pdf", nil},
		{"téléservice: marked copy", anyone, http.MethodGet, "/api/v1/links/" + ml.Token + "/documents/" + d.ID.String(), nil},
		{"téléservice", anyone, http.MethodGet, "/api/v1/links/" + l.Token + "/documents/" + d.ID.String(), nil},
	} {
		var resp *http.Response
		var got []byte
		if c.method == http.MethodPost {
			c.form.Set("csrf", c.who.csrf("/compte/export"))
			resp, got = c.who.postRaw(c.path, c.form)
		} else {
			req, _ := http.NewRequest(http.MethodGet, c.who.base+c.path, nil)
			resp, got = c.who.fetch(req)
		}
		if resp.StatusCode != http.StatusOK || len(got) == 0 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q, not a file", c.name, resp.StatusCode, resp.Header.Get("Content-Type"))
			continue
		}
		if !noStore(resp.Header) {
			t.Errorf("%s: Cache-Control %q, without no-store", c.name, resp.Header.Values("Cache-Control"))
		}
	}
}

// noStore tells whether h's Cache-Control has the no-store directive.
func noStore(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-store") {
				return true
			}
		}
	}
	return false
}

// TestBrowserDeskDownloads shows a paper's page and the export page to a person signed
// in on the agent's computer, in French and in Arabic on a 360 px screen: the warnings
// are there, axe-core finds nothing, and nothing is wider than the screen. Screenshots
// are kept under $COFFRE_SCREENSHOTS/<lang> (or var/screenshots/<lang>). The person's
// sign-out then reaches Chromium with Clear-Site-Data: "cache", and the agent is still
// signed in.
func TestBrowserDeskDownloads(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	agent, owner := mandatedAgent(t, b, sharing.ScopeRead)
	d := paper(t, b, owner, vault.KindCAF, "Attestation CAF de mars")
	br := newBrowser(t)
	defer br.report()
	// The agent's browser: their session and the mark of the desk.
	u, _ := url.Parse(b.base)
	au, _ := url.Parse(b.srv.URL)
	for _, k := range agent.hc.Jar.Cookies(au) {
		if _, err := chromedp.Call(br.ctx, network.SetCookie, network.SetCookieParams{Name: k.Name, Value: k.Value, URL: u.Scheme + "://" + u.Host}); err != nil {
			t.Fatal(err)
		}
	}
	br.visit("Se connecter (au guichet)", b.base+"/connexion")
	br.do("sign in at the desk",
		chromedp.SendKeys(chromedp.CSS("#login"), "lea.moreau"),
		chromedp.SendKeys(chromedp.CSS("#secret"), "un secret bien à moi"),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/papiers$`)

	origin := u.Scheme + "://" + u.Host
	for _, p := range []struct{ name, path, id, fr string }{
		{"papier-au-guichet", "/papiers/" + d.ID.String(), "#guichet-telecharger", deskPaperWarning},
		{"export-au-guichet", "/compte/export", "#guichet-export", deskExportWarning},
	} {
		for _, lang := range []string{"fr", "ar"} {
			br.setLang(origin, lang)
			if lang == "fr" {
				br.visit(p.name, b.base+p.path) // axe-core, weight and requests, in English too
			} else {
				br.do("open "+p.name+" ("+lang+")", chromedp.Navigate(b.base+p.path))
				br.nl.idle(5 * time.Second)
				br.axeHere(p.name + " (" + lang + ")")
			}
			shown, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`!!document.querySelector('`+p.id+`')`))
			if err != nil || !shown {
				t.Errorf("%s (%s): no %s: %v", p.name, lang, p.id, err)
			}
			if lang == "fr" && !strings.Contains(br.text(), p.fr) {
				t.Errorf("%s: the warning does not read %q", p.name, p.fr)
			}
			wide, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
			if err != nil || wide > 360 {
				t.Errorf("%s (%s) is %d px wide on a 360 px screen: %v", p.name, lang, wide, err)
			}
			png, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			shot := filepath.Join(screenshotDir(t, lang), p.name+".png")
			if err := os.WriteFile(shot, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", shot)
		}
	}
	br.setLang(origin, "fr")

	// The person signs out: Chromium is told to empty its cache, and the agent is still
	// signed in on it. (Chromium gives the header only with the raw ones, ExtraInfo.)
	var signOut, cleared atomic.Value
	if err := chromedp.Listen(br.ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.HasSuffix(e.Request.URL, "/deconnexion") {
				signOut.Store(e.RequestID)
			}
		case *network.EventResponseReceivedExtraInfo:
			if id, _ := signOut.Load().(network.RequestID); e.RequestID == id && e.StatusCode == http.StatusSeeOther {
				cleared.Store(fmt.Sprint(e.Headers["Clear-Site-Data"]))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	br.do("sign out at the desk", chromedp.Click(chromedp.CSS("form[action='/deconnexion'] button")))
	br.waitURL(`/$`)
	if got, _ := cleared.Load().(string); got != `"cache"` {
		t.Errorf("the sign-out at the desk reached Chromium with Clear-Site-Data %q", got)
	}
	br.do("the agent's home", chromedp.Navigate(b.base+"/agent"))
	if loc, txt := br.location(), br.text(); !strings.HasSuffix(loc, "/agent") || !strings.Contains(txt, "Accueil agent") {
		t.Errorf("after the person's sign-out, the agent's home is at %s: %s", loc, txt)
	}
}
