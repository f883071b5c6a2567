package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"coffre/sharing"
	"coffre/vault"
	"coffre/web"
)

// agentBundleWith is agentBundle with a tweak of the configuration.
func agentBundleWith(t *testing.T, tweak func(*web.Config)) (*testBundle, *pgxpool.Pool) {
	t.Helper()
	b := setup(t, tweak)
	return b, b.db
}

func newReferent(t *testing.T, b *testBundle, st *sharing.Structure, login, name string) *deskAgent {
	t.Helper()
	a, enr, err := b.share.CreateAgent(context.Background(), st.ID, sharing.NewAgent{Login: login, Name: name, Role: sharing.RoleReferent}, "operator:test")
	if err != nil {
		t.Fatal(err)
	}
	return &deskAgent{Agent: a, password: enr.TemporaryPassword, totp: enr.TOTPSecret}
}

// TestReferentPagesAreForReferents: a plain agent, of the same structure or not, gets
// "not found" on every référent page, and the référent's own safeguards hold.
func TestReferentPagesAreForReferents(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	st := newStructure(t, b, "CCAS de Lille")
	ref := newReferent(t, b, st, "anne.referente", "Mme Leclerc")
	a := newAgent(t, b, st, "claire.dupont", "Mme Dupont")
	other := newAgent(t, b, newStructure(t, b, "CCAS de Douai"), "paul.autre", "M. Autre")

	ca := b.client(t)
	ca.agentSignIn(a)
	tok := ca.csrf("/agent")
	if _, body := ca.get("/agent"); strings.Contains(body, `href="/agent/structure"`) {
		t.Error("a plain agent's home links the référent pages")
	}
	for _, p := range []string{"/agent/structure", "/agent/structure/chiffres", "/agent/structure/inviter", "/agent/structure/agents/" + ref.ID.String() + "/desactiver"} {
		if resp, _ := ca.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("agent GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/agent/structure/inviter", "/agent/structure/agents/" + ref.ID.String() + "/desactiver"} {
		if resp, _ := ca.post(p, url.Values{"csrf": {tok}, "login": {"x.y"}, "name": {"X"}, "role": {"referent"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("agent POST %s: %d, want 404", p, resp.StatusCode)
		}
	}
	if got, err := b.share.Agent(context.Background(), ref.ID); err != nil || got.DeactivatedAt != nil {
		t.Fatalf("référent after the agent's attempts: %v %+v", err, got)
	}
	if as, err := b.share.Agents(context.Background(), ref.Agent); err != nil || len(as) != 2 {
		t.Fatalf("the plain agent invited someone: %v %d agents", err, len(as))
	}

	cr := b.client(t)
	cr.agentSignIn(ref)
	if _, body := cr.get("/agent"); !strings.Contains(body, `href="/agent/structure"`) {
		t.Error("the référent's home does not link the structure page")
	}
	tok = cr.csrf("/agent")
	// Not themselves, not another structure's agent.
	for _, id := range []uuid.UUID{ref.ID, other.ID, uuid.New()} {
		p := "/agent/structure/agents/" + id.String() + "/desactiver"
		if resp, _ := cr.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("référent GET %s: %d, want 404", p, resp.StatusCode)
		}
		if resp, _ := cr.post(p, url.Values{"csrf": {tok}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("référent POST %s: %d, want 404", p, resp.StatusCode)
		}
	}
	if got, _ := b.share.Agent(context.Background(), other.ID); got.DeactivatedAt != nil {
		t.Fatal("another structure's agent was deactivated")
	}
}

// TestReferentDeactivates: the référent sees the agents and deactivates one, after a
// fresh check of their code; the agent is signed out at once and cannot sign in again,
// and the structure's mandates keep working for the others.
func TestReferentDeactivates(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	ctx := context.Background()
	st := newStructure(t, b, "CCAS de Lille")
	ref := newReferent(t, b, st, "anne.referente", "Mme Leclerc")
	a := newAgent(t, b, st, "claire.dupont", "Mme Dupont")
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "jean.petit", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := b.share.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.OneMonth},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v1", Secret: secret}, netipLocal())
	if err != nil {
		t.Fatal(err)
	}

	ca := b.client(t)
	ca.agentSignIn(a)
	atok := ca.csrf("/agent")
	papers := "/agent/personnes/" + o.ID.String() + "/papiers"
	if resp, _ := ca.get(papers); resp.StatusCode != http.StatusOK {
		t.Fatalf("agent papers before: %d", resp.StatusCode)
	}

	cr := b.client(t)
	cr.agentSignIn(ref)
	tok := cr.csrf("/agent/structure")
	resp, body := cr.get("/agent/structure")
	text := html.UnescapeString(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(text, "Mme Dupont") || !strings.Contains(text, "claire.dupont") ||
		!strings.Contains(text, "Mme Leclerc") || !strings.Contains(body, `<th scope="col">`) || !strings.Contains(body, "<caption>") {
		t.Fatalf("structure page: %d", resp.StatusCode)
	}
	dpath := "/agent/structure/agents/" + a.ID.String() + "/desactiver"
	if !strings.Contains(body, `href="`+dpath+`"`) || strings.Contains(body, ref.ID.String()+`/desactiver`) {
		t.Fatal("the page offers the wrong « Désactiver » links")
	}
	if resp, _ := cr.get(dpath); resp.StatusCode != http.StatusOK {
		t.Fatalf("confirmation page: %d", resp.StatusCode)
	}

	// Stale check: asked again, nothing done.
	if _, err := db.Exec(ctx, `UPDATE agent_sessions SET verified_at = now() - interval '20 minutes' WHERE agent_id = $1`, ref.ID); err != nil {
		t.Fatal(err)
	}
	resp, body = cr.post(dpath, url.Values{"csrf": {tok}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `action="/agent/verifier"`) || !strings.Contains(body, `value="`+dpath+`"`) {
		t.Fatalf("stale deactivation: %d", resp.StatusCode)
	}
	if got, _ := b.share.Agent(ctx, a.ID); got.DeactivatedAt != nil {
		t.Fatal("deactivated without reverification")
	}
	next := totpAt(t, ref.totp, time.Now().Add(30*time.Second))
	resp, _ = cr.post("/agent/verifier", url.Values{"csrf": {tok}, "retour": {dpath}, "password": {ref.password}, "code": {next}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != dpath {
		t.Fatalf("reverify: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := cr.get(dpath); resp.StatusCode != http.StatusOK {
		t.Fatalf("back to the confirmation: %d", resp.StatusCode)
	}
	resp, _ = cr.post(dpath, url.Values{"csrf": {tok}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent/structure?desactive=1" {
		t.Fatalf("deactivate: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = cr.get("/agent/structure?desactive=1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), "Désactivé le") || strings.Contains(body, `href="`+dpath+`"`) {
		t.Fatalf("structure page after: %d", resp.StatusCode)
	}
	if resp, _ := cr.post(dpath, url.Values{"csrf": {tok}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deactivate twice: %d", resp.StatusCode)
	}

	// The agent's open session is over: pages send to sign-in, actions are refused.
	if resp, _ := ca.get(papers); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent/connexion" {
		t.Fatalf("deactivated agent's papers: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := ca.post("/agent/personnes/"+o.ID.String()+"/mandat/"+m.ID.String()+"/arreter", url.Values{"csrf": {atok}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("deactivated agent's revocation: %d", resp.StatusCode)
	}
	c2 := b.client(t)
	resp, _ = c2.post("/agent/connexion", url.Values{"csrf": {c2.csrf("/agent/connexion")}, "login": {a.Login}, "password": {a.password},
		"code": {totpAt(t, a.totp, time.Now().Add(30*time.Second))}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("deactivated agent signs in: %d", resp.StatusCode)
	}
	// Whatever session they might hold, the domain answers "not found" (and journals it).
	if err := b.share.Authorize(ctx, a.Agent, o.ID, sharing.ScopeRead, netipLocal()); err == nil {
		t.Fatal("a deactivated agent is authorized")
	}
	// The mandate is the structure's: the référent still helps the person.
	if resp, _ := cr.get(papers); resp.StatusCode != http.StatusOK {
		t.Fatalf("référent papers: %d", resp.StatusCode)
	}
}

var (
	tempPasswordRE = regexp.MustCompile(`id="temporary-password">([a-z0-9-]+)<`)
	totpSecretRE   = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
)

// TestReferentInvites: the invitation shows a temporary password and the TOTP key (QR
// code and text) once; with them the new agent signs in.
func TestReferentInvites(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	ctx := context.Background()
	st := newStructure(t, b, "France Services Roubaix")
	ref := newReferent(t, b, st, "anne.referente", "Mme Leclerc")
	cr := b.client(t)
	cr.agentSignIn(ref)
	tok := cr.csrf("/agent/structure/inviter")
	form := url.Values{"csrf": {tok}, "login": {"paul.martin"}, "name": {"M. Martin"}, "role": {"agent"}}

	if _, err := db.Exec(ctx, `UPDATE agent_sessions SET verified_at = now() - interval '20 minutes' WHERE agent_id = $1`, ref.ID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := cr.post("/agent/structure/inviter", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("stale invitation: %d", resp.StatusCode)
	}
	if _, err := db.Exec(ctx, `UPDATE agent_sessions SET verified_at = now() WHERE agent_id = $1`, ref.ID); err != nil {
		t.Fatal(err)
	}
	bad := url.Values{"csrf": {tok}, "login": {"paul.martin"}, "name": {" "}, "role": {"agent"}}
	if resp, _ := cr.post("/agent/structure/inviter", bad); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("no name: %d", resp.StatusCode)
	}
	bad.Set("name", "M. Martin")
	bad.Set("role", "operateur")
	if resp, _ := cr.post("/agent/structure/inviter", bad); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad role: %d", resp.StatusCode)
	}

	resp, body := cr.post("/agent/structure/inviter", form)
	pw, sec := tempPasswordRE.FindStringSubmatch(body), totpSecretRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || pw == nil || sec == nil {
		t.Fatalf("invite: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `src="data:image/png;base64,`) || !strings.Contains(html.UnescapeString(body), "otpauth://totp/Coffre:paul.martin?") ||
		!strings.Contains(body, "secret="+sec[1]) {
		t.Fatal("the invitation lacks the QR code or the otpauth URI")
	}
	if resp, _ := cr.post("/agent/structure/inviter", form); resp.StatusCode != http.StatusConflict {
		t.Fatalf("login taken: %d", resp.StatusCode)
	}
	if _, body := cr.get("/agent/structure"); !strings.Contains(body, "paul.martin") {
		t.Fatal("the new agent is not listed")
	}

	c := b.client(t)
	na := &deskAgent{Agent: &sharing.Agent{Login: "paul.martin"}, password: pw[1], totp: sec[1]}
	c.agentSignIn(na) // with totp.GenerateCode on the shown key, then the own password
	resp, body = c.get("/agent")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "M. Martin") || !strings.Contains(body, "France Services Roubaix") {
		t.Fatalf("invited agent's home: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/agent/structure"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("invited plain agent on the structure page: %d", resp.StatusCode)
	}
}

// statsRowRE reads the figures of one month of the dashboard.
var statsCellRE = regexp.MustCompile(`<td>(\d+)</td>`)

// TestReferentStats: the dashboard counts what the structure's agents did this month,
// and nothing of another structure.
func TestReferentStats(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	ctx := context.Background()
	st := newStructure(t, b, "CCAS de Lille")
	ref := newReferent(t, b, st, "anne.referente", "Mme Leclerc")
	a := newAgent(t, b, st, "claire.dupont", "Mme Dupont")
	stranger := newAgent(t, b, newStructure(t, b, "CCAS de Douai"), "paul.autre", "M. Autre")

	// Two safes opened, one mandate, one deposit, one link, one print; another
	// structure opens a safe too.
	o1, err := b.share.OpenSafeFor(ctx, a.Agent, "marie.martin", netipLocal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.share.OpenSafeFor(ctx, a.Agent, "jean.petit", netipLocal()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.share.OpenSafeFor(ctx, stranger.Agent, "lea.moreau", netipLocal()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.share.GrantMandate(ctx, a.Agent, o1.Owner.ID, sharing.NewMandate{Scopes: sharing.GrantableScopes, Duration: sharing.SixMonths},
		sharing.Consent{Method: sharing.ConsentPasskey, PasskeyVerified: true, TextVersion: "mandat-v1"}, netipLocal()); err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	c.agentSignIn(a)
	tok := c.csrf("/agent")
	p := "/agent/personnes/" + o1.Owner.ID.String()
	if resp, body := c.upload(p+"/ajouter", tok, map[string]string{"kind": string(vault.KindCAF), "title": "Attestation CAF"}, pngFile(t)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deposit: %d %s", resp.StatusCode, body)
	}
	_, body := c.get(p + "/papiers")
	fm := agentFileRE.FindStringSubmatch(body)
	if fm == nil {
		t.Fatal("no file link")
	}
	if resp, _ := c.get(fm[1] + "?a=imprimer"); resp.StatusCode != http.StatusOK {
		t.Fatalf("print: %d", resp.StatusCode)
	}
	docs, err := b.v.Documents(ctx, o1.Owner.ID)
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents: %v", err)
	}
	if resp, _ := c.post(p+"/partager", url.Values{"csrf": {tok}, "doc": {docs[0].ID.String()}, "lifetime": {"24h"}, "purpose": {"CAF"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("share: %d", resp.StatusCode)
	}

	cr := b.client(t)
	cr.agentSignIn(ref)
	resp, body := cr.get("/agent/structure/chiffres")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<caption>") || strings.Count(body, `<th scope="row">`) != 13 {
		t.Fatalf("dashboard: %d, %d row headers", resp.StatusCode, strings.Count(body, `<th scope="row">`))
	}
	for _, personal := range []string{"marie.martin", "jean.petit", "Attestation CAF"} {
		if strings.Contains(body, personal) {
			t.Errorf("the dashboard shows %q", personal)
		}
	}
	month := time.Now().UTC().Format("2006-01")
	i := strings.Index(body, `id="mois-`+month+`"`)
	if i < 0 {
		t.Fatalf("no row for %s", month)
	}
	row := body[i : i+strings.Index(body[i:], "</tr>")]
	var got []string
	for _, m := range statsCellRE.FindAllStringSubmatch(row, -1) {
		got = append(got, m[1])
	}
	// opened, activated, deposits, links, used, prints, mandates
	if want := []string{"2", "0", "1", "1", "0", "1", "1"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("this month: %v, want %v", got, want)
	}
	prev := time.Date(time.Now().UTC().Year(), time.Now().UTC().Month()-1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	j := strings.Index(body, `id="mois-`+prev+`"`)
	if j < 0 || strings.Count(body[j:j+strings.Index(body[j:], "</tr>")], "<td>0</td>") != 7 {
		t.Fatal("last month is not all zeros")
	}
}

var pendingLocRE = regexp.MustCompile(`^/agent/personnes/([0-9a-f-]{36})/mandat/([0-9a-f-]{36})$`)

// TestMandatePhoneConsent: the agent asks, the person confirms on their own phone, the
// agent can act; a refusal or a late answer gives nothing.
func TestMandatePhoneConsent(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	ctx := context.Background()
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "jean.petit", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	phone := b.client(t)
	resp, _ := phone.post("/connexion", url.Values{"csrf": {phone.csrf("/connexion")}, "login": {"jean.petit"}, "secret": {secret}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner sign-in: %d", resp.StatusCode)
	}
	ptok := phone.csrf("/compte")

	ask := func(a *deskAgent) (*client, string, string) {
		t.Helper()
		c := b.client(t)
		c.agentSignIn(a)
		mpath := "/agent/personnes/" + o.ID.String() + "/mandat"
		// The person types their secret on the agent's screen first: without it, or a
		// tie of the structure to the safe, no agent reaches it.
		resp, _ := c.post("/agent/mandat", url.Values{"csrf": {c.csrf("/agent")}, "identifiant": {"jean.petit"}, "secret": {secret}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != mpath {
			t.Fatalf("desk unlock: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body := c.get(mpath)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="consent" value="phone"`) {
			t.Fatalf("mandate form: %d", resp.StatusCode)
		}
		tok := csrfRE.FindStringSubmatch(body)[1]
		resp, _ = c.post(mpath, url.Values{"csrf": {tok}, "scope": {"read"}, "duration": {"1m"}, "consent": {"phone"}})
		m := pendingLocRE.FindStringSubmatch(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("phone mandate: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		return c, resp.Header.Get("Location"), m[2]
	}
	papers := "/agent/personnes/" + o.ID.String() + "/papiers"

	t.Run("confirmed", func(t *testing.T) {
		c, state, mid := ask(newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont"))
		c.t = t
		phone.t = t
		if resp, body := c.get(state); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="etat-attente"`) {
			t.Fatalf("pending state: %d", resp.StatusCode)
		}
		if resp, _ := c.get(papers); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("papers while pending: %d", resp.StatusCode)
		}
		if _, body := phone.get("/papiers"); !strings.Contains(body, `id="aidants-avis"`) {
			t.Fatal("no notice on the papers page")
		}
		resp, body := phone.get("/compte/aidants")
		text := html.UnescapeString(body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="attente-`+mid+`"`) || !strings.Contains(text, "Vous autorisez les agents de CCAS de Lille") ||
			!strings.Contains(text, "Voir et imprimer vos papiers") || !strings.Contains(text, "mandat-v2") || !strings.Contains(text, "ne pourront jamais supprimer") {
			t.Fatalf("mes aidants, pending: %d", resp.StatusCode)
		}
		resp, _ = phone.post("/compte/aidants/"+mid+"/confirmer", url.Values{"csrf": {ptok}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/aidants?confirme=1" {
			t.Fatalf("confirm: %d", resp.StatusCode)
		}
		if resp, body := c.get(state); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="etat-actif"`) {
			t.Fatalf("live state: %d", resp.StatusCode)
		}
		if resp, _ := c.get(papers); resp.StatusCode != http.StatusOK {
			t.Fatalf("papers after confirmation: %d", resp.StatusCode)
		}
		if resp, _ := phone.post("/compte/aidants/"+mid+"/confirmer", url.Values{"csrf": {ptok}}); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("confirm twice: %d", resp.StatusCode)
		}
		if n := countAction(t, b, o.ID, sharing.ActionMandateConfirmed); n != 1 {
			t.Fatalf("confirmed entries: %d", n)
		}
	})

	t.Run("refused", func(t *testing.T) {
		c, state, mid := ask(newAgent(t, b, newStructure(t, b, "CCAS de Douai"), "paul.leroy", "M. Leroy"))
		c.t = t
		phone.t = t
		resp, _ := phone.post("/compte/aidants/"+mid+"/refuser", url.Values{"csrf": {ptok}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/aidants?refuse=1" {
			t.Fatalf("refuse: %d", resp.StatusCode)
		}
		if resp, body := c.get(state); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="etat-refuse"`) {
			t.Fatalf("refused state: %d", resp.StatusCode)
		}
		if resp, _ := c.get(papers); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("papers after refusal: %d", resp.StatusCode)
		}
		if resp, _ := phone.post("/compte/aidants/"+mid+"/confirmer", url.Values{"csrf": {ptok}}); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("confirm after refusal: %d", resp.StatusCode)
		}
		if _, body := phone.get("/compte/aidants"); strings.Contains(body, `id="attente-`+mid+`"`) {
			t.Fatal("a refused mandate still waits")
		}
	})

	t.Run("too late", func(t *testing.T) {
		c, state, mid := ask(newAgent(t, b, newStructure(t, b, "CCAS de Lens"), "lea.roux", "Mme Roux"))
		c.t = t
		phone.t = t
		if _, err := db.Exec(ctx, `UPDATE mandates SET created_at = now() - interval '20 minutes' WHERE id = $1`, mid); err != nil {
			t.Fatal(err)
		}
		if _, body := phone.get("/compte/aidants"); strings.Contains(body, `id="attente-`+mid+`"`) {
			t.Fatal("a lapsed request is still offered")
		}
		resp, body := phone.post("/compte/aidants/"+mid+"/confirmer", url.Values{"csrf": {ptok}})
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(html.UnescapeString(body), "plus valable") {
			t.Fatalf("late confirmation: %d", resp.StatusCode)
		}
		if resp, body := c.get(state); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="etat-expire"`) {
			t.Fatalf("lapsed state: %d", resp.StatusCode)
		}
		if resp, _ := c.get(papers); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("papers after a late answer: %d", resp.StatusCode)
		}
	})

	// Another structure's agent sees nothing of these mandates.
	other := b.client(t)
	other.agentSignIn(newAgent(t, b, newStructure(t, b, "CCAS de Calais"), "eve.noel", "Mme Noël"))
	ms, err := b.share.Mandates(ctx, o.ID)
	if err != nil || len(ms) == 0 {
		t.Fatal(err)
	}
	if resp, _ := other.get("/agent/personnes/" + o.ID.String() + "/mandat/" + ms[0].ID.String()); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another structure's mandate state: %d", resp.StatusCode)
	}
}

// TestAgentRevokesMandate: from the agent's list of people, with a confirmation page.
func TestAgentRevokesMandate(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	ctx := context.Background()
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "jean.petit", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	m, err := b.share.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.SixMonths},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v1", Secret: secret}, netipLocal())
	if err != nil {
		t.Fatal(err)
	}
	rpath := "/agent/personnes/" + o.ID.String() + "/mandat/" + m.ID.String() + "/arreter"

	other := b.client(t)
	other.agentSignIn(newAgent(t, b, newStructure(t, b, "CCAS de Douai"), "paul.autre", "M. Autre"))
	if resp, _ := other.get(rpath); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another structure's revocation form: %d", resp.StatusCode)
	}
	if resp, _ := other.post(rpath, url.Values{"csrf": {other.csrf("/agent")}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another structure revokes: %d", resp.StatusCode)
	}

	c := b.client(t)
	c.agentSignIn(a)
	if _, body := c.get("/agent"); !strings.Contains(body, `href="`+rpath+`"`) {
		t.Fatal("the agent's home does not offer to end the mandate")
	}
	resp, body := c.get(rpath)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "jean.petit") {
		t.Fatalf("confirmation: %d", resp.StatusCode)
	}
	tok := csrfRE.FindStringSubmatch(body)[1]
	resp, _ = c.post(rpath, url.Values{"csrf": {tok}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent?arrete=1" {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if resp, body := c.get(resp.Header.Get("Location")); resp.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), "Le mandat est arrêté") {
		t.Fatalf("ended: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/agent/personnes/" + o.ID.String() + "/papiers"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("papers after revocation: %d", resp.StatusCode)
	}
	if resp, _ := c.post(rpath, url.Values{"csrf": {tok}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("revoke twice: %d", resp.StatusCode)
	}
	if n := countAction(t, b, o.ID, sharing.ActionMandateRevoked); n != 1 {
		t.Fatalf("revoked entries: %d", n)
	}
}

// TestMandateExpiryNotice: a six-month mandate ending within 30 days is announced on the
// owner's papers and account pages and flagged on the agent's home.
func TestMandateExpiryNotice(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	ctx := context.Background()
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "jean.petit", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	m, err := b.share.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.SixMonths},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v1", Secret: secret}, netipLocal())
	if err != nil {
		t.Fatal(err)
	}
	oc := b.client(t)
	if resp, _ := oc.post("/connexion", url.Values{"csrf": {oc.csrf("/connexion")}, "login": {"jean.petit"}, "secret": {secret}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner sign-in: %d", resp.StatusCode)
	}
	c := b.client(t)
	c.agentSignIn(a)
	for _, p := range []string{"/papiers", "/compte"} {
		if _, body := oc.get(p); strings.Contains(body, `id="aidants-avis"`) {
			t.Fatalf("notice on %s for a mandate ending in 6 months", p)
		}
	}
	if _, body := c.get("/agent"); strings.Contains(body, "Se termine bientôt") {
		t.Fatal("flagged on the agent's home for a mandate ending in 6 months")
	}
	if _, err := db.Exec(ctx, `UPDATE mandates SET starts_at = now() - interval '170 days', expires_at = now() + interval '10 days' WHERE id = $1`, m.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/papiers", "/compte"} {
		_, body := oc.get(p)
		if !strings.Contains(body, `id="aidants-avis"`) || !strings.Contains(html.UnescapeString(body), "Le mandat donné à CCAS de Lille se termine le") {
			t.Fatalf("no notice on %s", p)
		}
	}
	if _, body := oc.get("/historique"); strings.Contains(body, `id="aidants-avis"`) {
		t.Fatal("notice on the history page: only papers and account show it")
	}
	if _, body := c.get("/agent"); !strings.Contains(body, "Se termine bientôt") {
		t.Fatal("not flagged on the agent's home")
	}
}

// TestBrowserReferent runs axe-core and the page budgets on the référent's pages in
// Chromium.
func TestBrowserReferent(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	ref := newReferent(t, b, newStructure(t, b, "CCAS de Lille"), "anne.referente", "Mme Leclerc")
	ag := newAgent(t, b, &sharing.Structure{ID: ref.StructureID}, "claire.dupont", "Mme Dupont")
	br := newBrowser(t)
	defer br.report()
	base := b.base
	br.visit("Connexion des agents (référent)", base+"/agent/connexion")
	br.do("référent signs in",
		chromedp.SendKeys(chromedp.CSS("#login"), ref.Login),
		chromedp.SendKeys(chromedp.CSS("#password"), ref.password),
		chromedp.SendKeys(chromedp.CSS("#code"), totpAt(t, ref.totp, time.Now())),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/agent/mot-de-passe$`)
	br.do("référent chooses a password",
		chromedp.SendKeys(chromedp.CSS("#current"), ref.password),
		chromedp.SendKeys(chromedp.CSS("#password"), agentPassword),
		chromedp.SendKeys(chromedp.CSS("#password2"), agentPassword),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/agent$`)
	br.visit("Agents de la structure", base+"/agent/structure")
	br.visit("Chiffres de la structure", base+"/agent/structure/chiffres")
	br.fitsPhone("Agents de la structure", base, "/agent/structure")
	br.fitsPhone("Chiffres de la structure", base, "/agent/structure/chiffres")
	br.visit("Inviter un agent", base+"/agent/structure/inviter")
	br.do("invite",
		chromedp.SendKeys(chromedp.CSS("#name"), "M. Martin"),
		chromedp.SendKeys(chromedp.CSS("#login"), "paul.martin"),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("img.cf-qr")))
	br.axeHere("Agent invité")
	br.visit("Désactiver un agent", base+"/agent/structure/agents/"+ag.ID.String()+"/desactiver")

	// A person with an account: a mandate waiting for their phone, another one live and
	// ending soon.
	const secret = "ma tortue boit du café"
	br.signup(base, "jean.petit", secret)
	ctx := context.Background()
	o := ownerOf(t, b, "jean.petit")
	if _, err := b.share.DeskUnlock(ctx, ref.Agent, "jean.petit", secret, netipLocal()); err != nil {
		t.Fatal(err)
	}
	pending, err := b.share.GrantMandate(ctx, ref.Agent, o, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.OneMonth},
		sharing.Consent{Method: sharing.ConsentPhone, TextVersion: "mandat-v1"}, netipLocal())
	if err != nil {
		t.Fatal(err)
	}
	other := newAgent(t, b, newStructure(t, b, "France Services Roubaix"), "paul.leroy", "M. Leroy")
	ending, err := b.share.GrantMandate(ctx, other.Agent, o, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.SixMonths},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v1", Secret: secret}, netipLocal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE mandates SET starts_at = now() - interval '170 days', expires_at = now() + interval '10 days' WHERE id = $1`, ending.ID); err != nil {
		t.Fatal(err)
	}
	br.visit("Mes papiers (avis aidants)", base+"/papiers")
	if txt := br.text(); !strings.Contains(txt, "France Services Roubaix se termine le") || !strings.Contains(txt, "attend votre accord") {
		t.Errorf("the papers page does not announce the mandates: %s", txt)
	}
	br.visit("Mes aidants (en attente)", base+"/compte/aidants")
	br.visit("Mandat en attente (agent)", base+"/agent/personnes/"+o.String()+"/mandat/"+pending.ID.String())
	br.visit("Arrêter le mandat (agent)", base+"/agent/personnes/"+o.String()+"/mandat/"+pending.ID.String()+"/arreter")
}

// opLoginFrom answers the test provider's login form that resp shows, as a browser
// would, and returns where the flow ended.
func opLoginFrom(t *testing.T, hc *http.Client, issuer string, resp *http.Response) *http.Response {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := opLoginIDRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no login form at the provider (%s): %s", resp.Request.URL, body)
	}
	resp, err := hc.PostForm(issuer+"login/username", url.Values{"username": {"test-user@localhost"}, "password": {"verysecure"}, "id": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestProConnect: an agent links their ProConnect identity from a fresh session, then
// signs in with it alone, against a real OpenID Connect provider; an unlinked identity
// or a deactivated agent is refused.
func TestProConnect(t *testing.T) {
	t.Parallel()
	issuer, authQueries := oidcProvider(t)
	b, vbDB := agentBundleWith(t, func(c *web.Config) {
		storage.RegisterClients(storage.WebClient("coffre-agents-test", "agents-secret", c.BaseURL+"/agent/connexion/proconnect/retour"))
		c.ProConnect = &web.OpenIDConfig{Issuer: issuer, ClientID: "coffre-agents-test", ClientSecret: "agents-secret"}
	})
	ctx := context.Background()
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	follow := func(jar http.CookieJar) *http.Client { return &http.Client{Jar: jar} }

	if _, body := b.client(t).get("/agent/connexion"); !strings.Contains(body, `href="/agent/connexion/proconnect"`) {
		t.Fatal("no ProConnect button on the agents' sign-in page")
	}
	signIn := func() (*http.Response, string) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		hc := follow(jar)
		resp, err := hc.Get(b.base + "/agent/connexion/proconnect")
		if err != nil {
			t.Fatal(err)
		}
		resp = opLoginFrom(t, hc, issuer, resp)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}

	// Not linked yet: refused, said in French.
	resp, body := signIn()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(html.UnescapeString(body), "n'est lié à aucun agent") {
		t.Fatalf("unlinked identity: %d %s", resp.StatusCode, resp.Request.URL)
	}

	c := b.client(t)
	c.base = b.base // the provider sends back to BaseURL: the cookies must be there
	c.agentSignIn(a)
	if _, body := c.get("/agent"); !strings.Contains(body, `href="/agent/proconnect"`) {
		t.Fatal("the agent's home does not offer ProConnect")
	}
	tok := c.csrf("/agent/proconnect")
	if _, err := vbDB.Exec(ctx, `UPDATE agent_sessions SET verified_at = now() - interval '20 minutes' WHERE agent_id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.post("/agent/proconnect", url.Values{"csrf": {tok}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("link from a stale session: %d", resp.StatusCode)
	}
	if _, err := vbDB.Exec(ctx, `UPDATE agent_sessions SET verified_at = now() WHERE agent_id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	hc := follow(c.hc.Jar)
	resp, err := hc.PostForm(b.base+"/agent/proconnect", url.Values{"csrf": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp = opLoginFrom(t, hc, issuer, resp)
	body2, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/agent/proconnect" || resp.Request.URL.RawQuery != "lie=1" || !strings.Contains(html.UnescapeString(string(body2)), "est lié") {
		t.Fatalf("link ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	if got, err := b.share.AgentByOIDC(ctx, issuer, "id1"); err != nil || got.ID != a.ID {
		t.Fatalf("linked agent: %v %v", got, err)
	}
	qs := authQueries()
	if len(qs) != 2 || qs[1].Get("client_id") != "coffre-agents-test" || qs[1].Get("code_challenge_method") != "S256" || len(qs[1].Get("nonce")) < 40 {
		t.Fatalf("authorization requests: %v", qs)
	}

	// ProConnect alone signs the agent in.
	resp, body = signIn()
	if resp.Request.URL.Path != "/agent" || !strings.Contains(body, "Mme Dupont") || !strings.Contains(body, "CCAS de Lille") {
		t.Fatalf("ProConnect sign-in ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}

	// A forged return is refused.
	f := b.client(t)
	f.get("/agent/connexion")
	if resp, _ := f.get("/agent/connexion/proconnect/retour?state=forged&code=x"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged state: %d", resp.StatusCode)
	}

	// Deactivated: refused like an unknown identity.
	if _, err := vbDB.Exec(ctx, `UPDATE agents SET deactivated_at = now() WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := signIn(); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("deactivated agent through ProConnect: %d", resp.StatusCode)
	}
}
