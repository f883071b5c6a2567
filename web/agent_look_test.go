package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// fitsPhone checks, in French and in Arabic, that the page at path is no wider than the
// phone the browser plays (360 px): a table or a code wider than the screen pushes the
// whole page sideways, and the end of each line out of sight.
func (br *browser) fitsPhone(name, base, path string) {
	br.t.Helper()
	defer br.setLang(base, "fr")
	for _, lang := range []string{"fr", "ar"} {
		br.setLang(base, lang)
		br.do("open "+name+" ("+lang+")", chromedp.Navigate(base+path))
		w, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
		if err != nil {
			br.t.Fatalf("width of %s: %v", name, err)
		}
		if w[0] > w[1] {
			out, _ := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('main *')].filter(e => { const r = e.getBoundingClientRect(); return r.right > innerWidth + 1 || r.left < -1 }).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().left) + '..' + Math.round(e.getBoundingClientRect().right)).slice(0, 5)`))
			br.t.Errorf("%s (%s) is %d px wide on a %d px screen: %v", name, lang, w[0], w[1], out)
		}
	}
}

// mandatedAgent is an agent of a new structure signed in, with a mandate of scopes on
// the safe of a new person, lea.moreau.
func mandatedAgent(t *testing.T, b *testBundle, scopes ...sharing.Scope) (*client, uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "lea.moreau", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	if _, err := b.share.DeskUnlock(ctx, a.Agent, "lea.moreau", secret, netipLocal()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.share.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: scopes, Duration: sharing.OneMonth},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v2", Secret: secret}, netipLocal()); err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	c.agentSignIn(a)
	return c, o.ID
}

// TestAgentShareNothingYet: an agent who may share, in a safe with no paper yet, is told
// so, rather than shown a form with nothing to choose.
func TestAgentShareNothingYet(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	c, owner := mandatedAgent(t, b, sharing.ScopeShare)
	resp, body := c.get("/agent/personnes/" + owner.String() + "/partager")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="aucun-papier"`) || strings.Contains(body, `action="/agent/personnes/`+owner.String()+`/partager"`) {
		t.Fatalf("share with no paper: %d %s", resp.StatusCode, body)
	}
}

// TestAgentPagesNameThePerson: the pages the agent reads name the person's login as
// theirs, not as "your login", which the agent would take for their own.
func TestAgentPagesNameThePerson(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	c, owner := mandatedAgent(t, b, sharing.ScopeRead)
	for _, page := range []string{"/papiers", "/recuperer"} {
		resp, body := c.get("/agent/personnes/" + owner.String() + page)
		text := html.UnescapeString(body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(text, "Identifiant de la personne\u00a0: <strong>lea.moreau</strong>") || strings.Contains(text, "Votre identifiant") {
			t.Errorf("%s: %d %s", page, resp.StatusCode, text)
		}
	}
}

// TestReferentInvitedLogin: the new agent's login follows its label as the language
// writes it, with no French « : » in Arabic.
func TestReferentInvitedLogin(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	ref := newReferent(t, b, newStructure(t, b, "CCAS de Lille"), "anne.referente", "Mme Leclerc")
	c := b.client(t)
	c.agentSignIn(ref)
	tok := c.csrf("/agent/structure/inviter")
	c.get("/langue/ar")
	resp, body := c.post("/agent/structure/inviter", url.Values{"csrf": {tok}, "name": {"M. Martin"}, "login": {"paul.martin"}, "role": {"agent"}})
	text := html.UnescapeString(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(text, `<p>اسم الدخول: <strong id="agent-login">paul.martin</strong>`) {
		t.Fatalf("invited in Arabic: %d %s", resp.StatusCode, text)
	}
}

// TestAgentFindAgain: a look-up that fails shows its message with the find form, the
// login still in it, so that the person can type their secret again; not the form that
// opens a new safe, where that login is taken.
func TestAgentFindAgain(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	ctx := context.Background()
	const secret = "un secret bien à moi"
	if _, err := b.a.CreateAccount(ctx, "lea.moreau", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"}); err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	c := b.client(t)
	c.agentSignIn(a)
	tok := c.csrf("/agent")
	for _, login := range []string{"lea.moreau", "personne.inconnue"} {
		resp, body := c.post("/agent/mandat", url.Values{"csrf": {tok}, "identifiant": {login}, "secret": {"pas le bon secret"}})
		text := html.UnescapeString(body)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(text, "Coffre introuvable") ||
			!strings.Contains(body, `id="identifiant" name="identifiant" value="`+login+`"`) || strings.Contains(body, `action="/agent/ouvrir"`) {
			t.Errorf("find %s with a wrong secret: %d %s", login, resp.StatusCode, text)
		}
	}
}
