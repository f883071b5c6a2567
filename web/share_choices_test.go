package web_test

import (
	"bytes"
	"context"
	"html"
	"image/jpeg"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/i18n"
)

// The share forms (the owner's /partager, the desk's for a person under mandate) offer
// each paper with what tells it from the others: two « Attestation CAF du 30 novembre
// 2026 » added the same day must not read the same, or the person may give a stranger
// the wrong one.

// sameTitle is the title two papers of these tests share.
const sameTitle = "Attestation CAF du 30 novembre 2026"

// choiceRE reads a paper offered by a share form: its ID, the label's content, and its
// hint text.
var choiceRE = regexp.MustCompile(`(?s)<label class="fr-label cf-choice" for="doc-([0-9a-f-]{36})">(.*?)<span class="fr-hint-text">(.*?)</span></span></label>`)

type choice struct{ label, hint string }

// choices returns the papers a share form offers, by ID.
func choices(t *testing.T, body string) map[uuid.UUID]choice {
	t.Helper()
	out := map[uuid.UUID]choice{}
	for _, m := range choiceRE.FindAllStringSubmatch(body, -1) {
		out[uuid.MustParse(m[1])] = choice{label: m[2], hint: bidiFree(html.UnescapeString(m[3]))}
	}
	return out
}

// bidiFree drops the marks that isolate an argument in a sentence.
func bidiFree(s string) string { return strings.NewReplacer("\u2068", "", "\u2069", "").Replace(s) }

// lateEvening moves the clock to 23:30 UTC of the next day: what is added then is already
// the day after in Paris.
func lateEvening(b *testBundle) {
	now := b.clock.Now().UTC()
	y, m, d := now.Date()
	b.clock.Advance(time.Date(y, m, d+1, 23, 30, 0, 0, time.UTC).Sub(now))
}

// twoOfAKind puts in owner's safe a RIB, then two papers of the same title 20 minutes
// apart (less than a session's idle time), after lateEvening the first at 23:30 UTC, the
// next day in Paris; the first two have their thumbnail, the last none.
func twoOfAKind(t *testing.T, b *testBundle, owner uuid.UUID) (rib, first, second *vault.Document) {
	t.Helper()
	rib = paper(t, b, owner, vault.KindBanque, "RIB")
	first = paper(t, b, owner, vault.KindCAF, sameTitle)
	b.clock.Advance(20 * time.Minute)
	var pdf bytes.Buffer
	pdf.WriteString("%PDF-1.4\n%%EOF\n")
	second, err := b.v.Deposit(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, vault.NewDocument{
		Kind: vault.KindCAF, Title: sameTitle, Files: []vault.File{
			{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: bytes.NewReader(pdf.Bytes()), Size: int64(pdf.Len())}}})
	if err != nil {
		t.Fatal(err)
	}
	return rib, first, second
}

// fatouTwoOfAKind is a service with Fatou signed in, her papers those of twoOfAKind.
func fatouTwoOfAKind(t *testing.T) (b *testBundle, owner *client, id uuid.UUID, rib, first, second *vault.Document) {
	t.Helper()
	b = setup(t)
	lateEvening(b)
	owner = b.client(t)
	owner.signup("fatou", "le chat mange la pomme")
	id = ownerOf(t, b, "fatou")
	rib, first, second = twoOfAKind(t, b, id)
	return b, owner, id, rib, first, second
}

// checkHints checks the hints of the three papers of twoOfAKind: each says when it was
// added, in Paris; the two of the same title say the hour too, and so differ.
func checkHints(t *testing.T, page string, got map[uuid.UUID]choice, rib, first, second *vault.Document) {
	t.Helper()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	fr := i18n.LocaleOf("fr")
	for _, c := range []struct {
		d    *vault.Document
		kind string
		want string
	}{
		{rib, "Banque, RIB", "Ajouté le " + fr.Date(rib.CreatedAt.In(paris))},
		{first, "Attestation CAF", "Ajouté le " + fr.DateTime(first.CreatedAt.In(paris))},
		{second, "Attestation CAF", "Ajouté le " + fr.DateTime(second.CreatedAt.In(paris))},
	} {
		h, ok := got[c.d.ID]
		if !ok {
			t.Errorf("%s: %q is not offered with a hint: %v", page, c.d.Title, got)
			continue
		}
		if !strings.Contains(h.hint, c.want) || !strings.Contains(h.hint, c.kind) {
			t.Errorf("%s: %q reads %q, want %q and its kind %q", page, c.d.Title, h.hint, c.want, c.kind)
		}
		if !strings.Contains(h.label, "<bdi>"+html.EscapeString(c.d.Title)+"</bdi>") {
			t.Errorf("%s: %q's title is not isolated in <bdi>: %s", page, c.d.Title, h.label)
		}
	}
	if got[first.ID].hint == got[second.ID].hint {
		t.Errorf("%s: two papers of the same title read the same: %q", page, got[first.ID].hint)
	}
	if h := got[rib.ID].hint; strings.Contains(h, fr.Clock(rib.CreatedAt.In(paris))) {
		t.Errorf("%s: the only RIB gives its hour (only papers of the same title need it): %q", page, h)
	}
}

// TestShareChoicesTellPapersApart: the owner's share form shows each paper's thumbnail
// (the list's, from the owner's own route, which nobody else may read) and when it was
// added, with the hour for the two of the same title.
func TestShareChoicesTellPapersApart(t *testing.T) {
	t.Parallel()
	b, owner, _, rib, first, second := fatouTwoOfAKind(t)

	resp, body := owner.get("/partager")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("share form: %d", resp.StatusCode)
	}
	got := choices(t, body)
	checkHints(t, "/partager", got, rib, first, second)
	for _, d := range []*vault.Document{rib, first} {
		img := `<img src="/papiers/` + d.ID.String() + `/vignette?taille=mini" alt="" width="40" height="57" loading="lazy">`
		if !strings.Contains(got[d.ID].label, img) {
			t.Errorf("%q is offered without its thumbnail %s: %s", d.Title, img, got[d.ID].label)
		}
	}
	if l := got[second.ID].label; strings.Contains(l, "<img") || !strings.Contains(l, "cf-nothumb") {
		t.Errorf("a paper with no thumbnail is not offered with the list's empty picture: %s", l)
	}
	// After a refused form, the same choices.
	resp, body = owner.post("/partager", url.Values{"csrf": {owner.csrf("/partager")}, "lifetime": {"24h"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("share nothing: %d", resp.StatusCode)
	}
	checkHints(t, "/partager (refused)", choices(t, body), rib, first, second)

	// The thumbnail's address works for the owner only.
	thumb := "/papiers/" + first.ID.String() + "/vignette"
	if resp, _ := owner.get(thumb); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("the owner's thumbnail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The form shows its miniature: 80 pixels wide for 40 CSS pixels, a fraction of the
	// thumbnail's weight on a prepaid plan.
	_, full := owner.get(thumb)
	resp, mini := owner.get(thumb + "?taille=mini")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("the owner's miniature: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	if cfg, err := jpeg.DecodeConfig(strings.NewReader(mini)); err != nil || cfg.Width != 80 || 3*len(mini) > len(full) {
		t.Errorf("the miniature is %d×%d and %d bytes (the thumbnail %d): %v", cfg.Width, cfg.Height, len(mini), len(full), err)
	}
	mallory := b.client(t)
	mallory.signup("mallory", "un autre secret bien long")
	for _, path := range []string{thumb, thumb + "?taille=mini"} {
		if resp, _ := mallory.get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another person reads %s: %d", path, resp.StatusCode)
		}
		if resp, _ := b.client(t).get(path); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("someone not signed in reads %s: %d", path, resp.StatusCode)
		}
	}
}

// TestAgentShareChoicesTellPapersApart: the desk's share form tells the papers apart the
// same way, without thumbnails (the desk shows no picture of a paper on its list either),
// and an agent cannot read the owner's thumbnail route.
func TestAgentShareChoicesTellPapersApart(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	lateEvening(b)
	c, owner := mandatedAgent(t, b, sharing.ScopeShare)
	rib, first, second := twoOfAKind(t, b, owner)
	page := "/agent/personnes/" + owner.String() + "/partager"
	resp, body := c.get(page)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("desk share form: %d", resp.StatusCode)
	}
	checkHints(t, page, choices(t, body), rib, first, second)
	if strings.Contains(body, "/vignette") || strings.Contains(body, "cf-nothumb") {
		t.Errorf("the desk's share form shows pictures of the papers: %s", body)
	}
	resp, body = c.post(page, url.Values{"csrf": {c.csrf(page)}, "lifetime": {"24h"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("desk shares nothing: %d", resp.StatusCode)
	}
	checkHints(t, page+" (refused)", choices(t, body), rib, first, second)
	if resp, _ := c.get("/papiers/" + first.ID.String() + "/vignette"); resp.StatusCode == http.StatusOK {
		t.Errorf("the agent reads the person's thumbnail")
	}
}

// consentQuery is a request of « Choisir dans mon coffre » for the papers of kinds, by
// a téléservice registered for them.
func consentQuery(t *testing.T, b *testBundle, kinds ...vault.Kind) url.Values {
	t.Helper()
	redirect := newLoopbackServer(t, http.NotFoundHandler()) + "/retour"
	cl, _, err := b.share.AddClient(context.Background(), sharing.NewClient{Name: "CAF de Lille", RedirectURIs: []string{redirect}, AllowedKinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = `"` + string(k) + `"`
	}
	return url.Values{"client_id": {cl.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s1"},
		"code_challenge": {strings.Repeat("c", 43)}, "code_challenge_method": {"S256"},
		"authorization_details": {`[{"type":"coffre_documents","kinds":[` + strings.Join(names, ",") + `],"purpose":"Aide au logement"}]`}}
}

// TestConsentChoicesTellPapersApart: the consent page of « Choisir dans mon coffre » (the
// owner's own page) offers the papers as the owner's share form does, thumbnails too,
// each with its link to look at it first, none ticked beforehand; refused for choosing
// nothing, it offers them the same way; the paper ticked is the one given.
func TestConsentChoicesTellPapersApart(t *testing.T) {
	t.Parallel()
	b, owner, id, rib, first, second := fatouTwoOfAKind(t)
	paper(t, b, id, vault.KindImpots, "Avis d'imposition") // a kind not asked
	q := consentQuery(t, b, vault.KindCAF, vault.KindBanque)
	page := "/oauth/authorize?" + q.Encode()

	resp, body := owner.get(page)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %d", resp.StatusCode)
	}
	got := choices(t, body)
	checkHints(t, "consent", got, rib, first, second)
	if len(got) != 3 || strings.Contains(body, "Avis d") {
		t.Errorf("the consent page offers %d papers, want the 3 of the kinds asked: %v", len(got), got)
	}
	for _, d := range []*vault.Document{rib, first} {
		img := `<img src="/papiers/` + d.ID.String() + `/vignette?taille=mini" alt="" width="40" height="57" loading="lazy">`
		if !strings.Contains(got[d.ID].label, img) {
			t.Errorf("consent: %q is offered without its thumbnail %s: %s", d.Title, img, got[d.ID].label)
		}
	}
	if l := got[second.ID].label; strings.Contains(l, "<img") || !strings.Contains(l, "cf-nothumb") {
		t.Errorf("consent: a paper with no thumbnail is not offered with the list's empty picture: %s", l)
	}
	for _, d := range []*vault.Document{rib, first, second} {
		box := `<input type="checkbox" id="doc-` + d.ID.String() + `" name="doc" value="` + d.ID.String() + `">`
		if !strings.Contains(body, box) {
			t.Errorf("consent: %q is not offered unticked as %s", d.Title, box)
		}
		if !strings.Contains(body, `<a class="fr-link" href="/papiers/`+d.ID.String()+`" target="_blank" rel="noopener">`) {
			t.Errorf("consent: %q has no link to look at it first", d.Title)
		}
	}
	if resp, _ := owner.get("/papiers/" + first.ID.String() + "/vignette"); resp.StatusCode != http.StatusOK {
		t.Errorf("the consent page's thumbnail does not open for its owner: %d", resp.StatusCode)
	}

	// Nothing chosen: the same page, the same choices, the error said.
	ctok := owner.csrf(page)
	resp, body = owner.post("/oauth/authorize", url.Values{"csrf": {ctok}, "q": {q.Encode()}, "decision": {"donner"}, "mark": {"auto"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("give nothing: %d", resp.StatusCode)
	}
	checkHints(t, "consent (refused)", choices(t, body), rib, first, second)

	// The second paper of the title, ticked, is the one the service gets.
	resp, _ = owner.post("/oauth/authorize", url.Values{"csrf": {ctok}, "q": {q.Encode()}, "decision": {"donner"}, "mark": {"non"}, "doc": {second.ID.String()}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("code") == "" {
		t.Fatalf("give the second: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var given []uuid.UUID
	if err := b.db.QueryRow(context.Background(), `SELECT documents FROM grants WHERE owner_id = $1`, id).Scan(&given); err != nil {
		t.Fatal(err)
	}
	if len(given) != 1 || given[0] != second.ID {
		t.Errorf("the service gets %v, want only %s", given, second.ID)
	}
}

// TestBrowserShareChoices lays both share forms and the consent page out on a 360 px
// phone, in French and in Arabic: each paper's icon on its title's first line, its
// thumbnail beside it, its hint under it, nothing wider than the screen. With COFFRE_SCREENSHOTS set, the pictures are
// kept there (<lang>/TestBrowserShareChoices-*.png) for a person to look at.
func TestBrowserShareChoices(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	lateEvening(b)
	br := newBrowser(t)
	defer br.report()
	base := b.base
	br.signup(base, "Amina", "le chat mange la pomme")
	amina := ownerOf(t, b, "amina")
	twoOfAKind(t, b, amina)
	paper(t, b, amina, vault.KindDomicile, "Quittance de loyer de l'appartement de la rue des Peupliers, mois de novembre")
	paper(t, b, amina, vault.KindAutre, "Attestation_de_droits_a_l_assurance_maladie_complementaire.pdf")

	br.visit("Partager (papiers à distinguer)", base+"/partager")
	br.shareLayout("partager", base, "/partager", 5, true)
	// The consent page of « Choisir dans mon coffre »: the owner's too.
	consent := "/oauth/authorize?" + consentQuery(t, b, vault.KindCAF, vault.KindBanque, vault.KindDomicile, vault.KindAutre).Encode()
	br.visit("Choisir dans mon coffre (papiers à distinguer)", base+consent)
	br.shareLayout("consentement", base, consent, 5, true)

	// The desk, for a person under mandate: the agent's session in this browser.
	c, owner := mandatedAgent(t, b, sharing.ScopeShare)
	twoOfAKind(t, b, owner)
	u, err := url.Parse(c.base)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range c.hc.Jar.Cookies(u) {
		if _, err := chromedp.Call(br.ctx, network.SetCookie, network.SetCookieParams{Name: k.Name, Value: k.Value, URL: base}); err != nil {
			t.Fatal(err)
		}
	}
	p := "/agent/personnes/" + owner.String() + "/partager"
	br.visit("Partager pour la personne (papiers à distinguer)", base+p)
	br.shareLayout("agent-partager", base, p, 3, false)
}

// shareLayout opens a share form in French and in Arabic and checks how its n papers lie
// on the screen.
func (br *browser) shareLayout(name, base, path string, n int, thumbs bool) {
	br.t.Helper()
	t := br.t
	defer br.setLang(base, "fr")
	for _, lang := range []string{"fr", "ar"} {
		br.setLang(base, lang)
		br.do("open "+name+" ("+lang+")", chromedp.Navigate(base+path))
		br.nl.idle(5 * time.Second)
		if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[any](settled, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatal(err)
		}
		if dir := os.Getenv("COFFRE_SCREENSHOTS"); dir != "" {
			png, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(screenshotDir(t, lang), t.Name()+"-"+name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := chromedp.Run(br.ctx, chromedp.Evaluate[struct {
			Wide     []int    `json:"wide"`
			Choices  int      `json:"choices"`
			Thumbs   int      `json:"thumbs"`
			Problems []string `json:"problems"`
		}](`(() => {
			const problems = [];
			const labels = [...document.querySelectorAll('label.cf-choice')];
			for (const l of labels) {
				const what = l.getAttribute('for');
				const icon = l.querySelector('.cf-choice-title .ic'), title = l.querySelector('.cf-choice-title bdi'), hint = l.querySelector('.fr-hint-text');
				if (!icon || !title || !hint) { problems.push(what + ': no icon, title or hint'); continue; }
				const line = title.getClientRects()[0], ic = icon.getBoundingClientRect(), mid = (ic.top + ic.bottom) / 2;
				if (mid < line.top || mid > line.bottom) problems.push(what + ': the icon is not on the title\'s first line');
				const last = [...title.getClientRects()].pop();
				if (hint.getBoundingClientRect().top < last.top + last.height / 2) problems.push(what + ': the hint is not under the title');
				for (const e of [l, ...l.querySelectorAll('*')]) {
					const r = e.getBoundingClientRect();
					if (r.left < -1 || r.right > innerWidth + 1) problems.push(what + ': ' + e.tagName + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right));
				}
				const img = l.querySelector('img');
				if (img && img.getBoundingClientRect().top < innerHeight && !(img.complete && img.naturalWidth > 0)) problems.push(what + ': the thumbnail in view is not shown');
			}
			return {wide: [document.documentElement.scrollWidth, document.documentElement.clientWidth], choices: labels.length,
				thumbs: document.querySelectorAll('label.cf-choice img').length, problems};
		})()`))
		if err != nil {
			t.Fatalf("%s (%s): %v", name, lang, err)
		}
		if got.Choices != n {
			t.Errorf("%s (%s): %d papers offered, want %d", name, lang, got.Choices, n)
		}
		if thumbs != (got.Thumbs > 0) {
			t.Errorf("%s (%s): %d thumbnails", name, lang, got.Thumbs)
		}
		if got.Wide[0] > got.Wide[1] {
			t.Errorf("%s (%s) is %d px wide on a %d px screen", name, lang, got.Wide[0], got.Wide[1])
		}
		for _, p := range got.Problems {
			t.Errorf("%s (%s): %s", name, lang, p)
		}
	}
}
