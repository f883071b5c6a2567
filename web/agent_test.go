package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"

	"coffre/sharing"
	"coffre/vault"
	"coffre/web"
)

// agentBundle is setup(t) whose vault and sharing service sit on a database the test can
// also reach directly (to age a mandate past its end).
func agentBundle(t *testing.T) (*testBundle, *pgxpool.Pool) {
	t.Helper()
	b := setup(t)
	return b, b.db
}

var siretSeq atomic.Int64 //nolint:gochecknoglobals // a test counter

// testSIRET makes a Luhn-valid SIRET, a new one each call.
func testSIRET() string {
	d := fmt.Sprintf("%013d", 2167035060000+siretSeq.Add(1))
	for c := '0'; c <= '9'; c++ {
		s := d + string(c)
		sum := 0
		for i := range len(s) {
			n := int(s[len(s)-1-i] - '0')
			if i%2 == 1 {
				if n *= 2; n > 9 {
					n -= 9
				}
			}
			sum += n
		}
		if sum%10 == 0 {
			return s
		}
	}
	panic("no check digit")
}

func newStructure(t *testing.T, b *testBundle, name string) *sharing.Structure {
	t.Helper()
	st, err := b.share.CreateStructure(context.Background(), sharing.NewStructure{Name: name, Kind: sharing.KindCCAS, SIRET: testSIRET(), Contact: "03 20 00 00 00"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// deskAgent is an agent with what they need to sign in.
type deskAgent struct {
	*sharing.Agent
	password, totp string
}

func newAgent(t *testing.T, b *testBundle, st *sharing.Structure, login, name string) *deskAgent {
	t.Helper()
	a, enr, err := b.share.CreateAgent(context.Background(), st.ID, sharing.NewAgent{Login: login, Name: name, Role: sharing.RoleAgent}, "operator:test")
	if err != nil {
		t.Fatal(err)
	}
	return &deskAgent{Agent: a, password: enr.TemporaryPassword, totp: enr.TOTPSecret}
}

func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const agentPassword = "le guichet ouvre à neuf heures"

// agentSignIn signs a in (with the code of the current 30-second step) and replaces the
// temporary password.
func (c *client) agentSignIn(a *deskAgent) {
	c.t.Helper()
	tok := c.csrf("/agent/connexion")
	resp, body := c.post("/agent/connexion", url.Values{"csrf": {tok}, "login": {a.Login}, "password": {a.password}, "code": {totpAt(c.t.(*testing.T), a.totp, time.Now())}})
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("agent sign-in: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Location") == "/agent/mot-de-passe" {
		resp, body = c.post("/agent/mot-de-passe", url.Values{"csrf": {c.csrf("/agent/mot-de-passe")}, "current": {a.password}, "password": {agentPassword}, "password2": {agentPassword}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent" {
			c.t.Fatalf("agent password: %d %s", resp.StatusCode, body)
		}
		a.password = agentPassword
	}
}

func pngFile(t *testing.T) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 420, 594))
	for i := range img.Pix {
		img.Pix[i] = 250
	}
	for y := 60; y < 540; y += 24 {
		for x := 40; x < 380; x++ {
			img.SetGray(x, y, color.Gray{Y: 20})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "page.png")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func countAction(t *testing.T, b *testBundle, owner uuid.UUID, action vault.Action) int {
	t.Helper()
	es, err := b.v.Journal(context.Background(), owner, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == action {
			n++
		}
	}
	return n
}

func TestAgentSignIn(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	st := newStructure(t, b, "CCAS de Lille")
	a := newAgent(t, b, st, "claire.dupont", "Mme Dupont")
	c := b.client(t)

	if resp, _ := c.get("/agent"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent/connexion" {
		t.Fatalf("anonymous /agent: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok := c.csrf("/agent/connexion")
	now := time.Now()
	wrong := totpAt(t, a.totp, now.Add(-10*time.Minute))
	resp, body := c.post("/agent/connexion", url.Values{"csrf": {tok}, "login": {a.Login}, "password": {a.password}, "code": {wrong}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(html.UnescapeString(body), "n'est pas bon") {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
	good := totpAt(t, a.totp, now)
	resp, body = c.post("/agent/connexion", url.Values{"csrf": {tok}, "login": {a.Login}, "password": {a.password}, "code": {good}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent/mot-de-passe" {
		t.Fatalf("sign-in: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	// A temporary password allows nothing but changing it.
	if resp, _ := c.get("/agent/ouvrir"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent/mot-de-passe" {
		t.Fatalf("must change: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = c.post("/agent/mot-de-passe", url.Values{"csrf": {tok}, "current": {a.password}, "password": {agentPassword}, "password2": {agentPassword}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent" {
		t.Fatalf("password change: %d", resp.StatusCode)
	}
	if resp, body := c.get("/agent"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Mme Dupont") || !strings.Contains(body, "CCAS de Lille") {
		t.Fatalf("agent home: %d", resp.StatusCode)
	}
	// The owner's pages know nothing of the agent's cookie.
	if resp, _ := c.get("/papiers"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
		t.Fatalf("agent on owner pages: %d", resp.StatusCode)
	}

	// The same code again, from another browser: refused (one use per step).
	c2 := b.client(t)
	tok2 := c2.csrf("/agent/connexion")
	resp, _ = c2.post("/agent/connexion", url.Values{"csrf": {tok2}, "login": {a.Login}, "password": {agentPassword}, "code": {good}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d", resp.StatusCode)
	}

	resp, _ = c.post("/agent/deconnexion", url.Values{"csrf": {tok}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/agent"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: %d", resp.StatusCode)
	}

	// Lockout, said in French.
	c3 := b.client(t)
	tok3 := c3.csrf("/agent/connexion")
	var last *http.Response
	for range 12 {
		last, body = c3.post("/agent/connexion", url.Values{"csrf": {tok3}, "login": {a.Login}, "password": {"pas le bon"}, "code": {"000000"}})
		if last.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || !strings.Contains(html.UnescapeString(body), "Trop d'essais") {
		t.Fatalf("lockout: %d", last.StatusCode)
	}
}

var (
	accessCodeRE = regexp.MustCompile(`id="access-code">([a-z0-9-]+)<`)
	receiptRE    = regexp.MustCompile(`href="(/agent/personnes/[0-9a-f-]{36}/mandat/[0-9a-f-]{36}/recu\.pdf)"`)
	agentFileRE  = regexp.MustCompile(`href="(/agent/personnes/[0-9a-f-]{36}/papiers/[0-9a-f-]{36}/fichier/[0-9a-f-]{36})"`)
)

// TestAgentDesk is a CCAS appointment: open a safe, print the card; the card's code is
// no consent, so the person signs in with it and chooses their own secret, which they
// type for the mandate; deposit, list, open and share; then the person reads the
// history, and ends the mandate.
func TestAgentDesk(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	st := newStructure(t, b, "CCAS de Lille")
	a := newAgent(t, b, st, "claire.dupont", "Mme Dupont")
	c := b.client(t)
	c.agentSignIn(a)
	tok := c.csrf("/agent/ouvrir")

	resp, body := c.post("/agent/ouvrir", url.Values{"csrf": {tok}, "login": {"marie.martin"}})
	m := accessCodeRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("open safe: %d %s", resp.StatusCode, body)
	}
	code := m[1]
	owner := ownerOf(t, b, "marie.martin")
	if resp, _ := c.post("/agent/ouvrir", url.Values{"csrf": {tok}, "login": {"marie.martin"}}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("login taken: %d", resp.StatusCode)
	}
	for _, size := range []string{"A6", "A4"} {
		resp, pdf := c.post("/agent/personnes/"+owner.String()+"/carte", url.Values{"csrf": {tok}, "code": {code}, "format": {size}})
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(pdf, "%PDF") || resp.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("access card %s: %d", size, resp.StatusCode)
		}
	}

	if resp, _ := c.post("/agent/personnes/"+owner.String()+"/carte", url.Values{"csrf": {tok}, "code": {"abcd-efgh-jkmn"}, "format": {"A6"}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("access card with a wrong code: %d", resp.StatusCode)
	}
	// No mandate yet: nothing in the safe is open to the agent.
	if resp, _ := c.get("/agent/personnes/" + owner.String() + "/papiers"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("papers without mandate: %d", resp.StatusCode)
	}

	mpath := "/agent/personnes/" + owner.String() + "/mandat"
	resp, body = c.get(mpath)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "mandat-v2") || !strings.Contains(html.UnescapeString(body), "ne pourront jamais supprimer") {
		t.Fatalf("mandate form: %d", resp.StatusCode)
	}
	form := url.Values{"csrf": {tok}, "scope": {"read", "deposit", "share"}, "duration": {"6m"}, "secret": {"pas-le-code"}}
	if resp, _ := c.post(mpath, form); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("mandate with a wrong secret: %d", resp.StatusCode)
	}
	// The code the agent printed is no consent: the agent is told to ask on the phone.
	form.Set("secret", code)
	resp, body = c.post(mpath, form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(body), "C'est le code de la carte, pas un mot de passe choisi par la personne") {
		t.Fatalf("mandate with the card's code: %d", resp.StatusCode)
	}
	// The desk's bar stays on top, the page's error under it.
	if bar, alert := strings.Index(body, "Mme Dupont — CCAS de Lille"), strings.Index(body, "fr-alert--error"); bar < 0 || alert < bar {
		t.Errorf("the agent bar (at %d) is not above the error (at %d)", bar, alert)
	}
	if ms, err := b.share.Mandates(context.Background(), owner); err != nil || len(ms) != 0 {
		t.Fatalf("mandates after the card's code: %d, %v", len(ms), err)
	}

	// The person signs in with the card: first their own secret.
	o := b.client(t)
	otok := o.csrf("/connexion")
	resp, _ = o.post("/connexion", url.Values{"csrf": {otok}, "login": {"marie.martin"}, "secret": {code}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/code" {
		t.Fatalf("owner sign-in with code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := o.get("/papiers"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/code" {
		t.Fatalf("forced change: %d", resp.StatusCode)
	}
	otok = o.csrf("/compte/code")
	const mine = "ma tortue boit du café"
	resp, _ = o.post("/compte/code", url.Values{"csrf": {otok}, "code": {code}, "secret": {mine}, "secret2": {mine}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/papiers" {
		t.Fatalf("choose secret: %d", resp.StatusCode)
	}
	form.Set("secret", mine)
	resp, body = c.post(mpath, form)
	rm := receiptRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || rm == nil {
		t.Fatalf("mandate: %d %s", resp.StatusCode, body)
	}
	resp, pdf := c.get(rm[1])
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(pdf, "%PDF") {
		t.Fatalf("mandate receipt: %d", resp.StatusCode)
	}
	// A person who reads Ukrainian gets a translated page after the French ones.
	if err := b.a.SetLanguage(context.Background(), owner, "uk"); err != nil {
		t.Fatal(err)
	}
	if resp, uk := c.get(rm[1]); resp.StatusCode != http.StatusOK || strings.Count(uk, "/Type /Page\n") <= strings.Count(pdf, "/Type /Page\n") {
		t.Fatalf("mandate receipt in Ukrainian: %d, %d pages, %d in French", resp.StatusCode, strings.Count(uk, "/Type /Page\n"), strings.Count(pdf, "/Type /Page\n"))
	}
	if err := b.a.SetLanguage(context.Background(), owner, "fr"); err != nil {
		t.Fatal(err)
	}
	ms, err := b.share.Mandates(context.Background(), owner)
	if err != nil || len(ms) != 1 || ms[0].ConsentText != "mandat-v2" || ms[0].ConsentMethod != sharing.ConsentSecret {
		t.Fatalf("mandates: %v %+v", err, ms)
	}
	jws, _, err := sharing.MandateReceipt(b.signing, &ms[0])
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := c.get("/mandat/verifier?r=" + jws); resp.StatusCode != http.StatusOK || !strings.Contains(body, "CCAS de Lille") {
		t.Fatalf("verify receipt: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/mandat/verifier?r=" + jws[:len(jws)-4] + "AAAA"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("verify forged receipt: %d", resp.StatusCode)
	}
	if resp, body := c.get("/agent"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "marie.martin") || !strings.Contains(body, "personne-"+owner.String()) {
		t.Fatalf("agent home lists the person: %d", resp.StatusCode)
	}
	// A wrong secret typed to find the safe of someone the agent already helps: said in
	// one sentence, and in the person's history once.
	denied := countAction(t, b, owner, vault.ActionDenied)
	resp, body = c.post("/agent/mandat", url.Values{"csrf": {tok}, "identifiant": {"marie.martin"}, "secret": {"pas le bon secret"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(body), "Le mot de passe n'est pas bon") {
		t.Fatalf("find with a wrong secret: %d", resp.StatusCode)
	}
	if got := countAction(t, b, owner, vault.ActionDenied); got != denied+1 {
		t.Fatalf("denied entries %d, want %d", got, denied+1)
	}

	ppath := "/agent/personnes/" + owner.String()
	resp, body = c.upload(ppath+"/ajouter", tok, map[string]string{"kind": string(vault.KindCAF), "title": "Attestation CAF"})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(body), "appuyez sur «\u00a0Ajouter dans son coffre\u00a0»") {
		t.Fatalf("agent deposit without a file: %d, the agent's button not named", resp.StatusCode)
	}
	resp, body = c.upload(ppath+"/ajouter", tok, map[string]string{"kind": string(vault.KindCAF), "title": "Attestation CAF"}, pngFile(t))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("agent deposit: %d %s", resp.StatusCode, body)
	}
	resp, body = c.get(ppath + "/papiers")
	fm := agentFileRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Attestation CAF") || fm == nil {
		t.Fatalf("agent papers: %d", resp.StatusCode)
	}
	if resp, pdf := c.get(fm[1]); resp.StatusCode != http.StatusOK || !strings.HasPrefix(pdf, "%PDF") {
		t.Fatalf("agent opens: %d", resp.StatusCode)
	}
	docs, err := b.v.Documents(context.Background(), owner)
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents: %v %d", err, len(docs))
	}
	resp, body = c.post(ppath+"/partager", url.Values{"csrf": {tok}, "doc": {docs[0].ID.String()}, "lifetime": {"24h"}, "purpose": {"CAF"}})
	if resp.StatusCode != http.StatusOK || !tokenRE.MatchString(body) || !strings.Contains(body, "data:image/png;base64,") {
		t.Fatalf("agent share: %d", resp.StatusCode)
	}

	_, body = o.get("/historique")
	text := html.UnescapeString(body)
	for _, want := range []string{"Mme D. (CCAS de Lille) a ajouté «\u00a0Attestation CAF\u00a0»", "Mme D. (CCAS de Lille) a ouvert votre coffre", "Vous avez autorisé Mme D. (CCAS de Lille)"} {
		if !strings.Contains(text, want) {
			t.Errorf("history lacks %q", want)
		}
	}
	if resp, body := o.get("/compte"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/compte/aidants"`) {
		t.Fatalf("account links aidants: %d", resp.StatusCode)
	}
	resp, body = o.get("/compte/aidants")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "CCAS de Lille") {
		t.Fatalf("mes aidants: %d", resp.StatusCode)
	}
	otok = csrfRE.FindStringSubmatch(body)[1]
	resp, _ = o.post("/compte/aidants/"+ms[0].ID.String()+"/arreter", url.Values{"csrf": {otok}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	before := countAction(t, b, owner, vault.ActionDenied)
	if resp, _ := c.get(ppath + "/papiers"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("after revocation: %d", resp.StatusCode)
	}
	if got := countAction(t, b, owner, vault.ActionDenied); got != before+1 {
		t.Fatalf("denied entries %d, want %d", got, before+1)
	}

	// A later sign-in with one's own secret goes straight to the papers.
	o2 := b.client(t)
	resp, _ = o2.post("/connexion", url.Values{"csrf": {o2.csrf("/connexion")}, "login": {"marie.martin"}, "secret": {mine}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/papiers" {
		t.Fatalf("own secret: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestAgentReadsThroughALink: an agent who may only share gets the link's address; what
// they open through it in their own browser is in the person's history with their name,
// not as "your link was opened". Anyone else opening it is the link, as before.
func TestAgentReadsThroughALink(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	ctx := context.Background()
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "lea.moreau", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	d := paper(t, b, o.ID, vault.KindImpots, "Avis d'impôt")
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	if _, err := b.share.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeShare}, Duration: sharing.OneDay},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v2", Secret: secret}, netipLocal()); err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	c.agentSignIn(a)
	p := "/agent/personnes/" + o.ID.String() + "/partager"
	resp, body := c.post(p, url.Values{"csrf": {c.csrf(p)}, "doc": {d.ID.String()}, "lifetime": {"24h"}, "purpose": {"Bailleur"}})
	m := tokenRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("agent share: %d", resp.StatusCode)
	}
	link := "/p/" + m[1]
	for _, path := range []string{link, link + "/document/" + d.ID.String() + "?a=telecharger", link + "/document/" + d.ID.String()} {
		if resp, _ := c.get(path); resp.StatusCode != http.StatusOK {
			t.Fatalf("the agent opens %s: %d", path, resp.StatusCode)
		}
	}
	stranger := b.client(t)
	if resp, _ := stranger.get(link); resp.StatusCode != http.StatusOK {
		t.Fatalf("the link for someone else: %d", resp.StatusCode)
	}
	es, err := b.v.Journal(ctx, o.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	by := map[vault.Action][]vault.ActorKind{}
	for _, e := range es {
		if e.ActorKind == vault.ActorAidant && e.ActorID != a.ID.String() {
			t.Errorf("%s by another agent %s", e.Action, e.ActorID)
		}
		by[e.Action] = append(by[e.Action], e.ActorKind)
	}
	if got := by[sharing.ActionLinkOpened]; len(got) != 2 || got[1] != vault.ActorAidant || got[0] != vault.ActorLink {
		t.Errorf("link_opened by %v, want the agent then the link", got)
	}
	for _, action := range []vault.Action{vault.ActionDownload, vault.ActionView} {
		if got := by[action]; len(got) != 1 || got[0] != vault.ActorAidant {
			t.Errorf("%s by %v, want the agent", action, got)
		}
	}
	oc := b.client(t)
	oc.post("/connexion", url.Values{"csrf": {oc.csrf("/connexion")}, "login": {"lea.moreau"}, "secret": {secret}})
	_, hist := oc.get("/historique")
	for _, want := range []string{
		"Mme D. (CCAS de Lille) a ouvert votre lien «\u00a0Bailleur\u00a0».",
		"Mme D. (CCAS de Lille) a téléchargé «\u00a0Avis d'impôt\u00a0» avec votre lien «\u00a0Bailleur\u00a0».",
		"Mme D. (CCAS de Lille) a regardé «\u00a0Avis d'impôt\u00a0» avec votre lien «\u00a0Bailleur\u00a0».",
		"Votre lien «\u00a0Bailleur\u00a0» a été ouvert.",
	} {
		if !strings.Contains(html.UnescapeString(hist), want) {
			t.Errorf("history lacks %q", want)
		}
	}
}

// TestAgentRecovery: under a mandate with the recovery right, a new code at once, an
// access card marked as such, the passkeys gone, the notice to the owner.
func TestAgentRecovery(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	ctx := context.Background()
	st := newStructure(t, b, "France Services Roubaix")
	a := newAgent(t, b, st, "paul.leroy", "M. Leroy")
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "jean.petit", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.a.AddPasskey(ctx, o.ID, []byte("cle-jean"), []byte(`{}`), vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.share.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead, sharing.ScopeRecover}, Duration: sharing.OneMonth},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v2", Secret: secret}, netipLocal()); err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	c.agentSignIn(a)
	path := "/agent/personnes/" + o.ID.String() + "/recuperer"
	if resp, body := c.get(path); resp.StatusCode != http.StatusOK || strings.Contains(body, `id="recuperation-guichet"`) {
		t.Fatalf("recover form: %d", resp.StatusCode)
	}
	tok := c.csrf(path)
	resp, body := c.post(path, url.Values{"csrf": {tok}})
	m := accessCodeRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("recover: %d", resp.StatusCode)
	}
	resp, pdf := c.post("/agent/personnes/"+o.ID.String()+"/carte", url.Values{"csrf": {tok}, "code": {m[1]}, "format": {"A6"}})
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(pdf, "%PDF") {
		t.Fatalf("recovery card: %d", resp.StatusCode)
	}
	if keys, err := b.a.Passkeys(ctx, o.ID); err != nil || len(keys) != 0 {
		t.Fatalf("passkeys after recovery: %d, %v", len(keys), err)
	}
	oc := b.client(t)
	resp, _ = oc.post("/connexion", url.Values{"csrf": {oc.csrf("/connexion")}, "login": {"jean.petit"}, "secret": {secret}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old secret after recovery: %d", resp.StatusCode)
	}
	resp, _ = oc.post("/connexion", url.Values{"csrf": {oc.csrf("/connexion")}, "login": {"jean.petit"}, "secret": {m[1]}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/code" {
		t.Fatalf("sign-in with new code: %d", resp.StatusCode)
	}
	resp, body = oc.get("/compte/code")
	if resp.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), "M. L. (France Services Roubaix) a rétabli l'accès") {
		t.Fatalf("recovery notice: %d", resp.StatusCode)
	}
}

func netipLocal() netip.Addr { return netip.MustParseAddr("127.0.0.1") }

// TestAgentReverify: a sensitive action after AgentReverify asks for password and code
// again, and does nothing until then.
func TestAgentReverify(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	ctx := context.Background()
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	c := b.client(t)
	c.agentSignIn(a)
	tok := c.csrf("/agent/ouvrir")
	if _, err := db.Exec(ctx, `UPDATE agent_sessions SET verified_at = now() - interval '20 minutes' WHERE agent_id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	resp, body := c.post("/agent/ouvrir", url.Values{"csrf": {tok}, "login": {"marie.martin"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `action="/agent/verifier"`) {
		t.Fatalf("stale session: %d", resp.StatusCode)
	}
	if _, err := b.v.OwnerByLogin(ctx, "marie.martin"); err == nil {
		t.Fatal("safe opened without reverification")
	}
	// The sign-in used the current step: the next one is the fresh code.
	next := totpAt(t, a.totp, time.Now().Add(30*time.Second))
	resp, _ = c.post("/agent/verifier", url.Values{"csrf": {tok}, "retour": {"/agent/ouvrir"}, "password": {a.password}, "code": {"123"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reverify with a bad code: %d", resp.StatusCode)
	}
	resp, _ = c.post("/agent/verifier", url.Values{"csrf": {tok}, "retour": {"/agent/ouvrir"}, "password": {a.password}, "code": {next}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent/ouvrir" {
		t.Fatalf("reverify: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := c.post("/agent/ouvrir", url.Values{"csrf": {tok}, "login": {"marie.martin"}}); resp.StatusCode != http.StatusOK || !accessCodeRE.MatchString(body) {
		t.Fatalf("open after reverify: %d", resp.StatusCode)
	}
}

// axeHere runs axe-core on the page the browser is on (a page reached by a form, which
// visit cannot load again) and fails on any violation.
func (br *browser) axeHere(name string) {
	br.t.Helper()
	br.nl.idle(5 * time.Second)
	if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[any](string(br.axe)+";1")); err != nil {
		br.t.Fatalf("inject axe-core in %s: %v", name, err)
	}
	vs, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		br.t.Fatalf("axe-core on %s: %v", name, err)
	}
	for _, v := range vs {
		br.t.Errorf("%s: axe %s [%s] %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

// TestBrowserAgent is a CCAS appointment in headless Chromium: the agent signs in with
// their code, opens a safe; the person signs in with the card and chooses their secret,
// which they type for the mandate; the agent deposits a scan, shares it by QR code, asks
// for a new code after an identity check, and the person reads who did what. axe-core
// checks every page.
func TestBrowserAgent(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	br := newBrowser(t)
	defer br.report()
	base := b.base

	br.visit("Connexion des agents", base+"/agent/connexion")
	br.do("agent signs in",
		chromedp.SendKeys(chromedp.CSS("#login"), a.Login),
		chromedp.SendKeys(chromedp.CSS("#password"), a.password),
		chromedp.SendKeys(chromedp.CSS("#code"), totpAt(t, a.totp, time.Now())),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/agent/mot-de-passe$`)
	br.axeHere("Choisir son mot de passe (agent)")
	br.do("agent chooses a password",
		chromedp.SendKeys(chromedp.CSS("#current"), a.password),
		chromedp.SendKeys(chromedp.CSS("#password"), agentPassword),
		chromedp.SendKeys(chromedp.CSS("#password2"), agentPassword),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/agent$`)
	br.visit("Accueil agent", base+"/agent")

	br.visit("Ouvrir un coffre", base+"/agent/ouvrir")
	br.do("open a safe",
		chromedp.SendKeys(chromedp.CSS("#login"), "marie.martin"),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#access-code")))
	br.axeHere("Coffre ouvert (code)")
	code, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.getElementById('access-code').textContent`))
	if err != nil || code == "" {
		t.Fatalf("no code: %v", err)
	}
	br.do("go to the mandate", chromedp.Click(chromedp.CSS("a[href$='/mandat']")))
	br.waitURL(`/mandat$`)
	br.axeHere("Mandat")
	owner := ownerOf(t, b, "marie.martin")
	p := base + "/agent/personnes/" + owner.String()

	// The card's code is no consent: the person signs in with it and chooses their own
	// secret first.
	br.visit("Se connecter", base+"/connexion")
	br.do("sign in with the card",
		chromedp.SendKeys(chromedp.CSS("#login"), "marie.martin"),
		chromedp.SendKeys(chromedp.CSS("#secret"), code),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/compte/code$`)
	br.axeHere("Choisir son mot de passe")
	const mine = "ma tortue boit du café"
	br.do("choose a secret",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.SendKeys(chromedp.CSS("#secret"), mine),
		chromedp.SendKeys(chromedp.CSS("#secret2"), mine),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/papiers$`)
	if txt := br.text(); !strings.Contains(txt, "Vous êtes sur l'ordinateur de l'agent") {
		t.Errorf("the person is not told their session at the desk is short: %s", txt)
	}
	br.visit("Mes papiers (au guichet)", base+"/papiers")
	// The agent takes the computer back: the person's session ends there.
	br.visit("Mandat", p+"/mandat")
	br.do("the person consents",
		chromedp.Click(chromedp.CSS("label[for=scope-share]")),
		chromedp.SendKeys(chromedp.CSS("#secret"), mine),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#recu-a6")))
	br.axeHere("Mandat enregistré")

	br.visit("Ajouter pour la personne", p+"/ajouter")
	br.do("deposit a scan",
		chromedp.SetUploadFiles(chromedp.CSS("#pages"), []string{pngFile(t)}),
		chromedp.SetValue(chromedp.CSS("#kind"), "caf"),
		chromedp.SendKeys(chromedp.CSS("#title"), "Attestation CAF"),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/ajouter\?ajoute=1$`)
	br.visit("Ses papiers", p+"/papiers")
	br.fitsPhone("Ses papiers", base, "/agent/personnes/"+owner.String()+"/papiers")
	if !strings.Contains(br.text(), "Attestation CAF") {
		t.Fatalf("the papers lack the deposit: %s", br.text())
	}
	br.visit("Partager pour la personne", p+"/partager")
	br.do("share by QR code",
		chromedp.Click(chromedp.CSS("main form.cf-form .fr-checkbox-group label")),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("img.cf-qr")))
	br.axeHere("Lien et QR code (agent)")
	br.visit("Rétablir l'accès", p+"/recuperer")
	br.do("ask for a new code after an identity check",
		chromedp.Click(chromedp.CSS("label[for=piece-cni]")),
		chromedp.SendKeys(chromedp.CSS("#fin"), "12ab"),
		chromedp.Click(chromedp.CSS("label[for=verifie]")),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#code-attente")))
	br.axeHere("Nouveau code en attente (agent)")

	// The person's session ended when the agent came back to their pages; at home, they
	// sign in again.
	br.visit("Se connecter (au guichet, après l'agent)", base+"/papiers")
	br.waitURL(`/connexion$`)
	for _, name := range []string{"coffre_agent", "coffre_guichet"} { // another browser
		if _, err := chromedp.Call(br.ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: base}); err != nil {
			t.Fatal(err)
		}
	}
	br.do("sign in at home",
		chromedp.SendKeys(chromedp.CSS("#login"), "marie.martin"),
		chromedp.SendKeys(chromedp.CSS("#secret"), mine),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/papiers$`)
	br.visit("Mes papiers (nouveau code en attente)", base+"/papiers")
	if strings.Contains(br.text(), "Vous êtes sur l'ordinateur de l'agent") {
		t.Error("told at home that they are at the desk")
	}
	if txt := br.text(); !strings.Contains(txt, "Un nouveau code a été demandé pour votre coffre") || !strings.Contains(txt, "Annuler ce nouveau code") {
		t.Errorf("no recovery banner: %s", txt)
	}
	br.visit("Mes aidants", base+"/compte/aidants")
	br.visit("Historique (aidant)", base+"/historique")
	if h := br.text(); !strings.Contains(h, "Mme D. (CCAS de Lille) a ajouté «\u00a0Attestation CAF\u00a0»") || !strings.Contains(h, "Mme D. (CCAS de Lille) a créé un lien") {
		t.Errorf("the history does not name the agent: %s", h)
	}
}

// TestTemporaryCodeExpired: a card's code past its date lets nobody in, and says why.
func TestTemporaryCodeExpired(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	ctx := context.Background()
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	opened, err := b.share.OpenSafeFor(ctx, a.Agent, "marie.martin", netipLocal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE access_codes SET expires_at = now() - interval '1 minute' WHERE owner_id = $1`, opened.Owner.ID); err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	resp, body := c.post("/connexion", url.Values{"csrf": {c.csrf("/connexion")}, "login": {"marie.martin"}, "secret": {opened.Code.Code}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(html.UnescapeString(body), "Votre code temporaire a expiré") {
		t.Fatalf("expired code: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/papiers"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
		t.Fatalf("signed in with an expired code: %d", resp.StatusCode)
	}
}

// TestDeskSessionHandedBack: a person who signs in on the agent's browser gets a short
// session, told on each of their pages, and it ends, on the server, as soon as a page of
// the desk is used; the agent's session and the person's elsewhere go on.
func TestDeskSessionHandedBack(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	ctx := context.Background()
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	const secret = "le chat dort sur la valise"
	home := b.client(t)
	home.signup("lea.moreau", secret)
	owner := ownerOf(t, b, "lea.moreau")
	lengths := func() []int {
		t.Helper()
		rows, err := db.Query(ctx, `SELECT extract(epoch FROM expires_at - created_at)::int FROM sessions WHERE owner_id = $1 ORDER BY created_at`, owner)
		if err != nil {
			t.Fatal(err)
		}
		n, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	desk := b.client(t)
	desk.agentSignIn(a)
	if resp := desk.signIn("lea.moreau", secret); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/papiers" {
		t.Fatalf("sign-in at the desk: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	personTok := desk.cookie("coffre")
	if got := lengths(); len(got) != 2 || got[0] != int(web.DefaultAbsoluteTimeout.Seconds()) || got[1] != 15*60 {
		t.Fatalf("session lengths (at home, at the desk): %v s, want [%d 900]", got, int(web.DefaultAbsoluteTimeout.Seconds()))
	}
	const told = "Vous êtes sur l'ordinateur de l'agent"
	resp, body := desk.get("/papiers")
	if resp.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), told) || !regexp.MustCompile(`au plus tard à \d\dh\d\d\.`).MatchString(html.UnescapeString(body)) {
		t.Fatalf("the desk's session is not told: %d %s", resp.StatusCode, body)
	}
	if _, body := home.get("/papiers"); strings.Contains(html.UnescapeString(body), told) {
		t.Fatal("a session at home is told it is at the desk")
	}
	// No passkey is registered on the agent's computer, even by a session fresh from
	// its sign-in; at home, it is.
	_, body = desk.get("/compte")
	if !strings.Contains(body, `id="passkey-desk"`) || strings.Contains(body, `id="passkey-register"`) {
		t.Fatal("the account page offers a passkey at the desk")
	}
	if strings.Contains(body, `-password"`) || strings.Contains(body, `autocomplete="username" hidden`) {
		t.Fatal("the secret's fields at the desk ask the browser to save it")
	}
	if resp, body := desk.postScript("/compte/cles/debut", csrfRE.FindStringSubmatch(body)[1]); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "propre téléphone") {
		t.Fatalf("passkey registration at the desk: %d %s", resp.StatusCode, body)
	}
	_, body = home.get("/compte")
	if !strings.Contains(body, `autocomplete="new-password"`) {
		t.Fatal("the secret's fields at home do not let a password manager help")
	}
	if resp, body := home.postScript("/compte/cles/debut", csrfRE.FindStringSubmatch(body)[1]); resp.StatusCode != http.StatusOK {
		t.Fatalf("passkey registration at home: %d %s", resp.StatusCode, body)
	}
	// A page of the desk the browser fetches ahead ends nothing, and is not given.
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/agent", nil)
	req.Header.Set("Sec-Purpose", "prefetch")
	if resp, err := desk.hc.Do(req); err != nil || resp.StatusCode != http.StatusNoContent || len(lengths()) != 2 {
		t.Fatalf("a prefetch of the desk: %v %v, %d sessions", resp, err, len(lengths()))
	}
	// Two pages of the desk loaded at once as the agent comes back get the same token,
	// whichever of them ends the person's session.
	twin := b.client(t)
	u, _ := url.Parse(b.srv.URL)
	twin.hc.Jar.SetCookies(u, desk.hc.Jar.Cookies(u))

	// The agent takes the computer back: any page of the desk ends the person's session,
	// and comes again.
	if resp, _ := desk.get("/agent"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent" {
		t.Fatalf("agent's home, the person signed in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = desk.get("/agent")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Mme Dupont") {
		t.Fatalf("agent's home: %d", resp.StatusCode)
	}
	if desk.cookie("coffre") != "" {
		t.Fatal("the person's cookie stays in the agent's browser")
	}
	if _, twinBody := twin.get("/agent/ouvrir"); twin.cookie("coffre_pre") != desk.cookie("coffre_pre") || desk.cookie("coffre_pre") == "" || !strings.Contains(twinBody, "Mme Dupont") {
		t.Fatal("two pages of the desk loaded as the person's session ended got different tokens")
	}
	if resp, _ := b.withSession(t, personTok).get("/papiers"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
		t.Fatalf("the person's session still works elsewhere: %d", resp.StatusCode)
	}
	if got := lengths(); len(got) != 1 {
		t.Fatalf("%d sessions left, want the one at home", len(got))
	}
	if resp, _ := home.get("/papiers"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the session at home ended too: %d", resp.StatusCode)
	}
	// The desk's page carries a CSRF token of its own, the person's being gone.
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the agent's home")
	}
	if resp, body := desk.post("/agent/deconnexion", url.Values{"csrf": {m[1]}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agent/connexion" {
		t.Fatalf("agent's sign-out with the new page's token: %d %s", resp.StatusCode, body)
	}
	// Signed out, the agent leaves the mark of the desk: the next person who signs in
	// there is at the desk all the same, until an agent's page is opened.
	if desk.cookie("coffre_agent") != "" || desk.cookie("coffre_guichet") == "" {
		t.Fatalf("after the agent's sign-out: agent %q, desk %q", desk.cookie("coffre_agent"), desk.cookie("coffre_guichet"))
	}
	if resp := desk.signIn("lea.moreau", secret); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in at the desk: %d", resp.StatusCode)
	}
	if got := lengths(); len(got) != 2 || got[1] != 15*60 {
		t.Fatalf("session lengths after the agent signed out: %v", got)
	}
	desk.get("/agent/connexion")
	if len(lengths()) != 1 || desk.cookie("coffre") != "" {
		t.Fatal("the agents' sign-in page left the person signed in at the desk")
	}

	// On the person's own browser, a page of the desk (a link to it, say) signs nobody out.
	if resp, _ := home.get("/agent/connexion"); resp.StatusCode != http.StatusOK {
		t.Fatalf("agents' sign-in page: %d", resp.StatusCode)
	}
	if resp, _ := home.get("/papiers"); resp.StatusCode != http.StatusOK || len(lengths()) != 1 {
		t.Fatalf("a page of the desk signed the person out on their own browser: %d", resp.StatusCode)
	}

	// Signed in first on a browser no agent used yet, the person is signed out there when
	// an agent signs in on it.
	shared := b.client(t)
	if resp := shared.signIn("lea.moreau", secret); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	if got := lengths(); len(got) != 2 || got[1] != int(web.DefaultAbsoluteTimeout.Seconds()) {
		t.Fatalf("session lengths: %v", got)
	}
	shared.agentSignIn(newAgent(t, b, newStructure(t, b, "France Services de Roubaix"), "marc.leroy", "M. Leroy")) // a's code of this step is spent
	if resp, _ := shared.get("/papiers"); resp.StatusCode != http.StatusSeeOther || len(lengths()) != 1 {
		t.Fatalf("the person's session outlived an agent's sign-in on the same browser: %d", resp.StatusCode)
	}
}

// TestDeskSignOutClearsCache: when a person's session ends on the agent's browser,
// whichever way, the browser is told to empty its cache (Clear-Site-Data: "cache"), and
// only that: the agent stays signed in. On the person's own browser a sign-out does not
// empty it.
func TestDeskSignOutClearsCache(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	const secret = "le chat dort sur la valise"
	home := b.client(t)
	home.signup("lea.moreau", secret)
	desk := b.client(t)
	desk.agentSignIn(a)
	agentStays := func(name string) {
		t.Helper()
		if resp, body := desk.get("/agent"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Mme Dupont") {
			t.Errorf("%s: the agent's session no longer works: %d", name, resp.StatusCode)
		}
	}
	for _, c := range []struct {
		name  string
		leave func() *http.Response
	}{
		{"the person signs out", func() *http.Response {
			resp, _ := desk.post("/deconnexion", url.Values{"csrf": {desk.csrf("/papiers")}})
			return resp
		}},
		{"the agent takes the computer back", func() *http.Response {
			resp, _ := desk.get("/agent")
			return resp
		}},
		{"the person signs out everywhere", func() *http.Response {
			resp, _ := desk.post("/compte/sessions/fin", url.Values{"csrf": {desk.csrf("/compte")}})
			return resp
		}},
		{"the session is ended elsewhere", func() *http.Response {
			owner := ownerOf(t, b, "lea.moreau")
			if _, err := b.a.EndAllSessions(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}); err != nil {
				t.Fatal(err)
			}
			resp, _ := desk.get("/papiers")
			return resp
		}},
	} {
		if resp := desk.signIn("lea.moreau", secret); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: sign-in at the desk: %d", c.name, resp.StatusCode)
		}
		// A téléservice's request waiting for the person (signed in with a temporary
		// code, they keep it): it goes with them, not to the next person.
		u, _ := url.Parse(desk.base)
		desk.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "coffre_retour", Value: "/oauth/authorize?state=dossier", Path: "/"}})
		resp := c.leave()
		if desk.cookie("coffre_retour") != "" {
			t.Errorf("%s: a téléservice's request waiting for the person stays", c.name)
		}
		if got := resp.Header.Values("Clear-Site-Data"); resp.StatusCode != http.StatusSeeOther || len(got) != 1 || got[0] != `"cache"` {
			t.Errorf("%s: %d, Clear-Site-Data %q, want \"cache\"", c.name, resp.StatusCode, got)
		}
		if desk.cookie("coffre") != "" {
			t.Errorf("%s: the person's cookie stays", c.name)
		}
		agentStays(c.name)
	}
	// The agent's sign-out empties it too: their pages showed people's papers. Their
	// browser keeps the mark of the desk: a person's sign-out there empties the cache all
	// the same.
	_, body := desk.get("/agent")
	if resp, _ := desk.post("/agent/deconnexion", url.Values{"csrf": {csrfRE.FindStringSubmatch(body)[1]}}); resp.Header.Get("Clear-Site-Data") != `"cache"` {
		t.Errorf("the agent's sign-out: Clear-Site-Data %q", resp.Header.Get("Clear-Site-Data"))
	}
	if resp := desk.signIn("lea.moreau", secret); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in at the desk: %d", resp.StatusCode)
	}
	if resp, _ := desk.post("/deconnexion", url.Values{"csrf": {desk.csrf("/papiers")}}); resp.Header.Get("Clear-Site-Data") != `"cache"` {
		t.Errorf("a sign-out on the mark of the desk: Clear-Site-Data %q", resp.Header.Get("Clear-Site-Data"))
	}
	// At home, it is not emptied: the person's pages are in no cache (no-store), and
	// Chromium can take seconds to empty one. (« Everywhere » signed the person out here.)
	if resp := home.signIn("lea.moreau", secret); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in at home: %d", resp.StatusCode)
	}
	if resp, _ := home.post("/deconnexion", url.Values{"csrf": {home.csrf("/papiers")}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Clear-Site-Data") != "" {
		t.Errorf("a sign-out at home: %d, Clear-Site-Data %q", resp.StatusCode, resp.Header.Get("Clear-Site-Data"))
	}
	// An agent who signs in on a browser a person is signed in on, not yet a desk, signs
	// them out, and the person's pages go from its cache as at any desk.
	if resp := home.signIn("lea.moreau", secret); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in at home: %d", resp.StatusCode)
	}
	tok := home.csrf("/agent/connexion")
	resp, _ := home.post("/agent/connexion", url.Values{"csrf": {tok}, "login": {a.Login}, "password": {a.password}, "code": {totpAt(t, a.totp, time.Now().Add(30*time.Second))}})
	if resp.StatusCode != http.StatusSeeOther || home.cookie("coffre") != "" || resp.Header.Get("Clear-Site-Data") != `"cache"` {
		t.Errorf("an agent's sign-in over a person's session: %d, the person's cookie %q, Clear-Site-Data %q", resp.StatusCode, home.cookie("coffre"), resp.Header.Get("Clear-Site-Data"))
	}
}

// TestStaleDeskFormTakesBack: a form of the desk loaded before a person signed in on the
// agent's browser (a tab left open) fails its CSRF check, and still signs the person out,
// as every page of the desk does: the person's session does not outlive the agent's
// return to their computer.
func TestStaleDeskFormTakesBack(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	const secret = "le chat dort sur la valise"
	b.client(t).signup("lea.moreau", secret)
	desk := b.client(t)
	desk.agentSignIn(a)
	_, page := desk.get("/agent")
	stale := csrfRE.FindStringSubmatch(page)[1]
	if resp := desk.signIn("lea.moreau", secret); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in at the desk: %d", resp.StatusCode)
	}
	resp, _ := desk.post("/agent/deconnexion", url.Values{"csrf": {stale}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a stale form of the desk: %d, want 403", resp.StatusCode)
	}
	if desk.cookie("coffre") != "" || resp.Header.Get("Clear-Site-Data") != `"cache"` {
		t.Errorf("a stale form of the desk leaves the person signed in (cookie %q, Clear-Site-Data %q)", desk.cookie("coffre"), resp.Header.Get("Clear-Site-Data"))
	}
	if resp, _ := desk.get("/papiers"); resp.StatusCode == http.StatusOK {
		t.Error("the person's papers still open at the desk")
	}
	// The agent is still signed in: the stale form did nothing else.
	if resp, body := desk.get("/agent"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Mme Dupont") {
		t.Errorf("the agent's session: %d", resp.StatusCode)
	}
}

// TestDeskLanguageGivenBack: a person's sign-in at the desk shows their pages in their
// language, and the desk has its own back when the agent takes the computer back.
func TestDeskLanguageGivenBack(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	const secret = "le chat dort sur la valise"
	b.client(t).signup("oksana.k", secret)
	if err := b.a.SetLanguage(context.Background(), ownerOf(t, b, "oksana.k"), "uk"); err != nil {
		t.Fatal(err)
	}
	pageIn := func(c *client, path, lang string) bool {
		t.Helper()
		_, body := c.get(path)
		return strings.Contains(body, `<html lang="`+lang+`"`)
	}
	desk := b.client(t)
	desk.agentSignIn(a)
	signIn := func() {
		t.Helper()
		if resp := desk.signIn("oksana.k", secret); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in at the desk: %d", resp.StatusCode)
		}
		if !pageIn(desk, "/papiers", "uk") {
			t.Fatal("the person's pages at the desk are not in their language")
		}
	}

	// The agent takes the computer back.
	signIn()
	desk.get("/agent") // the hand-over
	if resp, body := desk.get("/agent"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `<html lang="fr"`) || !strings.Contains(body, "Accueil agent") {
		t.Fatalf("the desk is not given its language back: %d %s", resp.StatusCode, desk.cookie("lang"))
	}
	// The person signs out by themselves: the next visitor's sign-in page is the desk's.
	signIn()
	desk.post("/deconnexion", url.Values{"csrf": {desk.csrf("/papiers")}})
	if !pageIn(desk, "/connexion", "fr") {
		t.Fatalf("after the person's own sign-out, the desk is in %q", desk.cookie("lang"))
	}
	// A language the person picks before signing in is not the desk's.
	desk.get("/langue/uk?retour=/connexion")
	signIn()
	desk.get("/agent")
	if !pageIn(desk, "/agent", "fr") {
		t.Fatalf("the person's choice on the sign-in page became the desk's: %q", desk.cookie("lang"))
	}
	// One the agent picks from the desk is.
	desk.get("/langue/ar?retour=/agent")
	signIn()
	desk.get("/agent")
	if !pageIn(desk, "/agent", "ar") {
		t.Fatalf("the agent's choice is not kept as the desk's: %q", desk.cookie("lang"))
	}
}

// TestAgentNotFoundIsTheDesks: a safe the agent may not reach (or none) is "not found" in
// the desk's frame and words, never an owner's « not in your safe ».
func TestAgentNotFoundIsTheDesks(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	c := b.client(t)
	c.agentSignIn(a)
	b.client(t).signup("yasmine.b", "le chat dort sur la valise")
	for _, path := range []string{
		"/agent/personnes/" + ownerOf(t, b, "yasmine.b").String() + "/papiers", // a safe not open to the agent
		"/agent/personnes/" + uuid.NewString() + "/papiers",                    // no safe
		"/agent/personnes/pas-un-id/mandat",
		"/agent/structure",  // a référent's page, for an agent who is not
		"/agent/nulle-part", // no page of the desk
	} {
		resp, body := c.get(path)
		body = html.UnescapeString(body)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Cette page n'existe pas, ou ne vous est pas ouverte") || !strings.Contains(body, "Mme Dupont") || strings.Contains(body, "votre coffre\u00a0:") {
			t.Errorf("%s: %d, not the desk's « not found »", path, resp.StatusCode)
		}
	}
}
