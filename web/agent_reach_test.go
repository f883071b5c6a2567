package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// csrfValueRE finds CSRF tokens in a page, which may differ from one page to the next.
var csrfValueRE = regexp.MustCompile(`name="csrf" value="[^"]*"`)

// TestAgentReachesOnlyTheirSafes: an agent of a structure with no tie to a safe can
// neither find it by its login, nor see it, nor push a mandate request into it; each
// attempt is one entry in the person's history and the same "not found" as a missing
// safe. The person typing their secret at the desk opens it to that agent alone.
func TestAgentReachesOnlyTheirSafes(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	ctx := context.Background()
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "lea.moreau", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	st := newStructure(t, b, "CCAS de Lille")
	a, colleague := newAgent(t, b, st, "claire.dupont", "Mme Dupont"), newAgent(t, b, st, "paul.durand", "M. Durand")
	c := b.client(t)
	c.agentSignIn(a)
	tok := c.csrf("/agent")
	mpath := "/agent/personnes/" + o.ID.String() + "/mandat"

	// Each attempt, on this safe and on a safe that does not exist: the same page, and
	// one failed attempt in this safe's history.
	ghost := uuid.New()
	refused := []struct {
		name string
		do   func(login string, id uuid.UUID) (*http.Response, string)
	}{
		{"look the login up", func(login string, _ uuid.UUID) (*http.Response, string) {
			return c.get("/agent/mandat?identifiant=" + login)
		}},
		{"look the login up by form", func(login string, _ uuid.UUID) (*http.Response, string) {
			return c.post("/agent/mandat", url.Values{"csrf": {tok}, "identifiant": {login}})
		}},
		{"mandate form", func(_ string, id uuid.UUID) (*http.Response, string) {
			return c.get("/agent/personnes/" + id.String() + "/mandat")
		}},
		{"mandate request to the phone", func(_ string, id uuid.UUID) (*http.Response, string) {
			return c.post("/agent/personnes/"+id.String()+"/mandat", url.Values{"csrf": {tok}, "scope": {"read"}, "duration": {"1m"}, "consent": {"phone"}})
		}},
		{"mandate form shown again", func(_ string, id uuid.UUID) (*http.Response, string) {
			return c.post("/agent/personnes/"+id.String()+"/mandat", url.Values{"csrf": {tok}, "duration": {"1m"}, "consent": {"phone"}})
		}},
		{"wrong secret at the desk", func(login string, _ uuid.UUID) (*http.Response, string) {
			return c.post("/agent/mandat", url.Values{"csrf": {tok}, "identifiant": {login}, "secret": {"pas le bon secret"}})
		}},
		{"recovery form", func(_ string, id uuid.UUID) (*http.Response, string) {
			return c.get("/agent/personnes/" + id.String() + "/recuperer")
		}},
	}
	same := func(body, login string, id uuid.UUID) string {
		body = csrfValueRE.ReplaceAllString(body, "")
		return strings.ReplaceAll(strings.ReplaceAll(body, login, "LOGIN"), id.String(), "ID")
	}
	for _, tt := range refused {
		before := countAction(t, b, o.ID, vault.ActionDenied)
		resp, body := tt.do("lea.moreau", o.ID)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", tt.name, resp.StatusCode)
		}
		if got := countAction(t, b, o.ID, vault.ActionDenied); got != before+1 {
			t.Errorf("%s: %d failed attempts journaled, want 1", tt.name, got-before)
		}
		mresp, mbody := tt.do("personne.inconnue", ghost)
		if mresp.StatusCode != resp.StatusCode || same(mbody, "personne.inconnue", ghost) != same(body, "lea.moreau", o.ID) {
			t.Errorf("%s: the answer differs from a missing safe's", tt.name)
		}
	}
	if ms, err := b.share.Mandates(ctx, o.ID); err != nil || len(ms) != 0 {
		t.Fatalf("mandates pushed into the safe: %d, %v", len(ms), err)
	}

	// The person types their secret on this agent's screen.
	resp, _ := c.post("/agent/mandat", url.Values{"csrf": {tok}, "identifiant": {"lea.moreau"}, "secret": {secret}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != mpath {
		t.Fatalf("desk unlock: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := c.get(mpath); resp.StatusCode != http.StatusOK || !strings.Contains(body, "lea.moreau") {
		t.Fatalf("mandate form after the unlock: %d", resp.StatusCode)
	}
	cc := b.client(t)
	cc.agentSignIn(colleague)
	if resp, _ := cc.get(mpath); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a colleague reaches the unlocked safe: %d", resp.StatusCode)
	}
	resp, _ = c.post(mpath, url.Values{"csrf": {tok}, "scope": {"read"}, "duration": {"1m"}, "consent": {"phone"}})
	if resp.StatusCode != http.StatusSeeOther || !pendingLocRE.MatchString(resp.Header.Get("Location")) {
		t.Fatalf("mandate request after the unlock: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestAgentDeskRecovery: a person who never gave the recovery right is helped after an
// identity check; the code works only after the wait, during which the owner's pages
// show it with a one-click cancel.
func TestAgentDeskRecovery(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	ctx := context.Background()
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "jean.petit", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, b, newStructure(t, b, "France Services Roubaix"), "paul.leroy", "M. Leroy")
	if _, err := b.share.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.OneMonth},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v2", Secret: secret}, netipLocal()); err != nil {
		t.Fatal(err)
	}
	owner := b.client(t)
	if resp, _ := owner.post("/connexion", url.Values{"csrf": {owner.csrf("/connexion")}, "login": {"jean.petit"}, "secret": {secret}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner sign-in: %d", resp.StatusCode)
	}
	c := b.client(t)
	c.agentSignIn(a)
	path := "/agent/personnes/" + o.ID.String() + "/recuperer"
	resp, body := c.get(path)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="recuperation-guichet"`) {
		t.Fatalf("desk recovery form: %d", resp.StatusCode)
	}
	tok := csrfRE.FindStringSubmatch(body)[1]
	if resp, _ := c.post(path, url.Values{"csrf": {tok}, "document": {"titre_sejour"}, "fin": {"12ab"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("without the attestation: %d", resp.StatusCode)
	}
	if resp, _ := c.post(path, url.Values{"csrf": {tok}, "document": {"titre_sejour"}, "fin": {"12"}, "verifie": {"oui"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("too few characters: %d", resp.StatusCode)
	}
	request := func() string {
		t.Helper()
		resp, body := c.post(path, url.Values{"csrf": {tok}, "document": {"titre_sejour"}, "fin": {"12ab"}, "verifie": {"oui"}})
		m := accessCodeRE.FindStringSubmatch(body)
		if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(body, `id="code-attente"`) {
			t.Fatalf("desk recovery: %d", resp.StatusCode)
		}
		return m[1]
	}
	code := request()
	if resp, pdf := c.post("/agent/personnes/"+o.ID.String()+"/carte", url.Values{"csrf": {tok}, "code": {code}, "format": {"A6"}}); resp.StatusCode != http.StatusOK || !strings.HasPrefix(pdf, "%PDF") {
		t.Fatalf("access card of a waiting code: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/agent/personnes/"+o.ID.String()+"/carte", url.Values{"csrf": {tok}, "code": {"abcd-efgh-jkmn"}, "format": {"A6"}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("access card with a wrong code: %d", resp.StatusCode)
	}
	try := b.client(t)
	if resp, _ := try.post("/connexion", url.Values{"csrf": {try.csrf("/connexion")}, "login": {"jean.petit"}, "secret": {code}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the code works before the wait: %d", resp.StatusCode)
	}

	// Every page of the owner shows it, with a one-click cancel.
	for _, page := range []string{"/papiers", "/compte", "/historique"} {
		resp, body := owner.get(page)
		text := html.UnescapeString(body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="recuperation-attente"`) || !strings.Contains(text, "M. L. (France Services Roubaix)") ||
			!strings.Contains(text, "Titre de séjour, numéro finissant par 12AB") || !strings.Contains(body, `action="/compte/recuperation/annuler"`) {
			t.Fatalf("%s: no recovery banner (%d)", page, resp.StatusCode)
		}
	}
	_, body = owner.get("/papiers")
	otok := csrfRE.FindStringSubmatch(body)[1]
	resp, _ = owner.post("/compte/recuperation/annuler", url.Values{"csrf": {otok}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/aidants?annule=1" {
		t.Fatalf("cancel: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := owner.get("/papiers"); strings.Contains(body, `id="recuperation-attente"`) {
		t.Fatal("the banner stays after cancelling")
	}
	if n, err := b.a.ApplyDueRecoveries(ctx, time.Now().Add(2*sharing.RecoveryWait)); err != nil || n != 0 {
		t.Fatalf("a cancelled code applied: %d, %v", n, err)
	}
	if n := countAction(t, b, o.ID, account.ActionRecoveryCancelled); n != 1 {
		t.Fatalf("cancelled entries: %d", n)
	}
	if resp, body := owner.get("/historique"); resp.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), "Vous avez annulé le nouveau code demandé par M. L. (France Services Roubaix)") {
		t.Fatalf("history of the cancellation: %d", resp.StatusCode)
	}

	// Not cancelled this time: after the wait the code is the secret, the owner's
	// session ends, and the first page after sign-in says who restored the access.
	code = request()
	if n, err := b.a.ApplyDueRecoveries(ctx, time.Now().Add(sharing.RecoveryWait+time.Minute)); err != nil || n != 1 {
		t.Fatalf("applied %d, %v", n, err)
	}
	if resp, _ := owner.get("/papiers"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
		t.Fatalf("the owner's session outlived the recovery: %d", resp.StatusCode)
	}
	resp, _ = try.post("/connexion", url.Values{"csrf": {try.csrf("/connexion")}, "login": {"jean.petit"}, "secret": {code}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/code" {
		t.Fatalf("sign-in with the code after the wait: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := try.get("/compte/code"); resp.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), "M. L. (France Services Roubaix) a rétabli l'accès") {
		t.Fatalf("recovery notice: %d", resp.StatusCode)
	}
}

// TestAgentShareListing: an agent with the share scope alone sees the titles to pick
// from; each page that lists them is one entry in the person's history.
func TestAgentShareListing(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	ctx := context.Background()
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "lea.moreau", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	paper(t, b, o.ID, vault.KindImpots, "Avis d'impôt")
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	if _, err := b.share.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeShare}, Duration: sharing.OneDay},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v2", Secret: secret}, netipLocal()); err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	c.agentSignIn(a)
	p := "/agent/personnes/" + o.ID.String() + "/partager"
	resp, body := c.get(p)
	if resp.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), "Avis d'impôt") {
		t.Fatalf("share form: %d", resp.StatusCode)
	}
	if n := countAction(t, b, o.ID, sharing.ActionAidantListed); n != 1 {
		t.Fatalf("listing entries after the form: %d, want 1", n)
	}
	tok := csrfRE.FindStringSubmatch(body)[1]
	if resp, _ := c.post(p, url.Values{"csrf": {tok}, "lifetime": {"24h"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("no paper chosen: %d", resp.StatusCode)
	}
	if n := countAction(t, b, o.ID, sharing.ActionAidantListed); n != 2 {
		t.Fatalf("listing entries after the form shown again: %d, want 2", n)
	}
	resp, body = (func() (*http.Response, string) {
		oc := b.client(t)
		oc.post("/connexion", url.Values{"csrf": {oc.csrf("/connexion")}, "login": {"lea.moreau"}, "secret": {secret}})
		return oc.get("/historique")
	})()
	if resp.StatusCode != http.StatusOK || strings.Count(html.UnescapeString(body), "Mme D. (CCAS de Lille) a regardé la liste de vos papiers") != 2 {
		t.Fatalf("history of the listings: %d", resp.StatusCode)
	}
}

// TestAgentClosedSafe: once the person closes their safe, the agents who helped them
// reach nothing, whatever mandate they held.
func TestAgentClosedSafe(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	ctx := context.Background()
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "lea.moreau", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	if _, err := b.share.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead, sharing.ScopeRecover}, Duration: sharing.TwelveMonths},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v2", Secret: secret}, netipLocal()); err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	c.agentSignIn(a)
	p := "/agent/personnes/" + o.ID.String()
	if resp, _ := c.get(p + "/papiers"); resp.StatusCode != http.StatusOK {
		t.Fatalf("papers before closing: %d", resp.StatusCode)
	}
	if _, err := b.v.CloseSafe(ctx, o.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}, 0); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{p + "/papiers", p + "/recuperer", p + "/mandat"} {
		if resp, _ := c.get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s after closing: %d", path, resp.StatusCode)
		}
	}
	if _, body := c.get("/agent"); strings.Contains(body, "lea.moreau") {
		t.Error("the agent's home still lists the person")
	}
}
