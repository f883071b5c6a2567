package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// cookie is the value of the client's cookie named name, "" when it has none.
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.base)
	for _, k := range c.hc.Jar.Cookies(u) {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

// withSession is a new browser holding the session cookie token (an old one kept by
// someone, or one made by the test).
func (b *testBundle) withSession(t *testing.T, token string) *client {
	c := b.client(t)
	u, _ := url.Parse(b.srv.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "coffre", Value: token, Path: "/"}})
	return c
}

func (c *client) signIn(login, secret string) *http.Response {
	c.t.Helper()
	resp, _ := c.post("/connexion", url.Values{"csrf": {c.csrf("/connexion")}, "login": {login}, "secret": {secret}})
	return resp
}

// postScript posts like static/passkey.js: JSON, with the CSRF token in a header.
func (c *client) postScript(path, csrf string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, sb.String()
}

// signedOut tells a browser sent back to the sign-in page.
func signedOut(t *testing.T, c *client, who string) {
	t.Helper()
	if resp, _ := c.get("/papiers"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
		t.Errorf("%s still reaches the papers: %d %s", who, resp.StatusCode, resp.Header.Get("Location"))
	}
}

func signedIn(t *testing.T, c *client, who string) {
	t.Helper()
	if resp, _ := c.get("/papiers"); resp.StatusCode != http.StatusOK {
		t.Errorf("%s does not reach the papers: %d %s", who, resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Changing the secret ends every other session of the owner, and gives the session it
// was changed in a new token: a token planted or seen before the change opens nothing.
func TestSecretChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	phone := b.client(t)
	phone.signup("nadia", "le chat mange la pomme")
	laptop := b.client(t)
	if resp := laptop.signIn("nadia", "le chat mange la pomme"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	before := phone.cookie("coffre")
	resp, body := phone.post("/compte/secret", url.Values{"csrf": {phone.csrf("/compte")}, "current": {"le chat mange la pomme"},
		"secret": {"une toute nouvelle phrase"}, "secret2": {"une toute nouvelle phrase"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), "Votre mot de passe a été changé") {
		t.Fatalf("change: %d", resp.StatusCode)
	}
	if after := phone.cookie("coffre"); after == "" || after == before {
		t.Errorf("the session kept its token through the change")
	}
	signedIn(t, phone, "the browser that changed the secret")
	// The page shown after the change carries the new session's CSRF token.
	if resp, _ := phone.post("/compte/langue", url.Values{"csrf": {csrfRE.FindStringSubmatch(body)[1]}, "lang": {"fr"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a form of the page shown after the change: %d", resp.StatusCode)
	}
	signedOut(t, laptop, "another browser")
	signedOut(t, b.withSession(t, before), "the token from before the change")
	owner := ownerOf(t, b, "nadia")
	if n := countAction(t, b, owner, account.ActionSecretChanged); n != 1 {
		t.Errorf("%d secret changes journaled", n)
	}
	if n := countAction(t, b, owner, account.ActionSessionsEnded); n != 1 {
		t.Errorf("%d ends of the other sessions journaled", n)
	}
}

// A session opened with a temporary code only reaches the page where the person chooses
// their secret; it stays so whatever happens elsewhere. Choosing the secret replaces it
// with an ordinary session and ends any other one still parked on the code.
func TestTemporaryCodeSession(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	ctx := context.Background()
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	opened, err := b.share.OpenSafeFor(ctx, a.Agent, "marie.martin", netipLocal())
	if err != nil {
		t.Fatal(err)
	}
	code := opened.Code.Code
	desk, parked := b.client(t), b.client(t)
	for _, c := range []*client{desk, parked} {
		if resp := c.signIn("marie.martin", code); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/code" {
			t.Fatalf("sign-in with the code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, p := range []string{"/papiers", "/historique", "/compte", "/compte/verifier"} {
			if resp, _ := c.get(p); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/code" {
				t.Errorf("%s with the temporary code: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	}
	before := desk.cookie("coffre")
	mine := "ma phrase secrète à moi"
	resp, _ := desk.post("/compte/code", url.Values{"csrf": {desk.csrf("/compte/code")}, "code": {code}, "secret": {mine}, "secret2": {mine}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/papiers" {
		t.Fatalf("choosing the secret: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if after := desk.cookie("coffre"); after == "" || after == before {
		t.Error("the temporary-code session kept its token")
	}
	signedIn(t, desk, "the session that chose the secret")
	signedOut(t, parked, "another session parked on the temporary code")
	signedOut(t, b.withSession(t, before), "the temporary-code token")
	if n := countAction(t, b, opened.Owner.ID, account.ActionSessionsEnded); n != 1 {
		t.Errorf("%d ends of the other sessions journaled", n)
	}

	t.Run("stays restricted when the code stops being the secret", func(t *testing.T) {
		// A new code (a new card), two browsers on it; the code stops being the secret
		// without this browser's doing (as by a change that failed to end it).
		if _, err := b.a.IssueAccessCode(ctx, opened.Owner.ID, "abcd-efgh-jkmn-pqrs", time.Hour, false, vault.Actor{Kind: vault.ActorAidant, ID: a.ID.String()}, "Mme D."); err != nil {
			t.Fatal(err)
		}
		c := b.client(t)
		if resp := c.signIn("marie.martin", "abcd-efgh-jkmn-pqrs"); resp.Header.Get("Location") != "/compte/code" {
			t.Fatalf("sign-in with the new code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, err := db.Exec(ctx, `UPDATE access_codes SET must_change = false WHERE owner_id = $1`, opened.Owner.ID); err != nil {
			t.Fatal(err)
		}
		if resp, _ := c.get("/papiers"); resp.StatusCode == http.StatusOK {
			t.Error("a temporary-code session reaches the papers once the code is no longer the secret")
		}
		signedOut(t, c, "the temporary-code session")
	})
}

// Adding or removing a passkey needs the secret typed within the last minutes; removing
// one ends the other sessions.
func TestCredentialChangeNeedsFreshProof(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	secret := "le chat mange la pomme"
	phone := b.client(t)
	phone.signup("karim", secret)
	laptop := b.client(t)
	laptop.signIn("karim", secret)
	owner := ownerOf(t, b, "karim")
	pk, err := b.a.AddPasskey(ctx, owner, []byte("cred-1"), []byte(`{}`), vault.Actor{Kind: vault.ActorOwner, ID: owner.String()})
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(account.SessionReverify + time.Minute) // the sign-in is no longer a fresh proof

	tok := phone.csrf("/compte")
	if resp, body := phone.postScript("/compte/cles/debut", tok); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"redirect":"/compte/verifier`) {
		t.Errorf("adding a passkey without a fresh proof: %d %s", resp.StatusCode, body)
	}
	remove := "/compte/cles/" + pk.ID.String() + "/supprimer"
	if resp, body := phone.post(remove, url.Values{"csrf": {tok}}); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `action="/compte/verifier"`) {
		t.Errorf("removing a passkey without a fresh proof: %d", resp.StatusCode)
	}
	if keys, _ := b.a.Passkeys(ctx, owner); len(keys) != 1 {
		t.Fatalf("the passkey was removed without a fresh proof")
	}
	if _, body := phone.get("/compte"); strings.Contains(body, `id="passkey-register"`) || !strings.Contains(body, `href="/compte/verifier?retour=/compte"`) {
		t.Error("Mon compte offers to add a passkey without a fresh proof")
	}

	resp, _ := phone.post("/compte/verifier", url.Values{"csrf": {tok}, "retour": {"/compte"}, "secret": {"pas le bon secret"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("reverify with a wrong secret: %d", resp.StatusCode)
	}
	resp, _ = phone.post("/compte/verifier", url.Values{"csrf": {tok}, "retour": {"https://evil.example/"}, "secret": {secret}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte" {
		t.Fatalf("reverify: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := phone.postScript("/compte/cles/debut", tok); resp.StatusCode != http.StatusOK || !strings.Contains(body, "challenge") {
		t.Errorf("adding a passkey after the proof: %d %s", resp.StatusCode, body)
	}
	if resp, _ := phone.post(remove, url.Values{"csrf": {tok}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("removing the passkey after the proof: %d", resp.StatusCode)
	}
	if keys, _ := b.a.Passkeys(ctx, owner); len(keys) != 0 {
		t.Error("the passkey is still there")
	}
	signedIn(t, phone, "the browser that removed the passkey")
	signedOut(t, laptop, "another browser, after a passkey was removed")
	for _, a := range []vault.Action{account.ActionLoginFailed, account.ActionReverified, account.ActionPasskeyRemoved, account.ActionSessionsEnded} {
		if n := countAction(t, b, owner, a); n != 1 {
			t.Errorf("%d %s entries", n, a)
		}
	}

	t.Run("a FranceConnect owner sets a secret only after a fresh sign-in", func(t *testing.T) {
		o, err := b.v.CreateOwner(ctx, "", vault.System)
		if err != nil {
			t.Fatal(err)
		}
		token, _, err := b.a.CreateSession(ctx, o.ID, "franceconnect", "test", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c := b.withSession(t, token)
		b.clock.Advance(account.SessionReverify + time.Minute)
		form := url.Values{"csrf": {c.csrf("/compte")}, "secret": {"ma phrase à moi aussi"}, "secret2": {"ma phrase à moi aussi"}}
		if resp, body := c.post("/compte/secret", form); resp.StatusCode != http.StatusForbidden || !strings.Contains(html.UnescapeString(body), "Vous n'avez pas de mot de passe") {
			t.Errorf("setting a secret without a fresh proof: %d", resp.StatusCode)
		}
		if a, _ := b.a.Account(ctx, o.ID); a.HasSecret {
			t.Fatal("a secret was set without a fresh proof")
		}
		// A fresh sign-in with FranceConnect: a new session, its proof of now.
		token, _, err = b.a.CreateSession(ctx, o.ID, "franceconnect", "test", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c = b.withSession(t, token)
		form.Set("csrf", c.csrf("/compte"))
		if resp, _ := c.post("/compte/secret", form); resp.StatusCode != http.StatusOK {
			t.Errorf("setting a secret after a fresh sign-in: %d", resp.StatusCode)
		}
		if a, _ := b.a.Account(ctx, o.ID); !a.HasSecret {
			t.Error("no secret after a fresh sign-in")
		}
	})
}

// « Choisir dans mon coffre » offers nothing from a closed safe (it answers nobody but
// its owner) nor to a session on a temporary code (it only chooses its secret).
func TestAuthorizeClosedOrTemporarySafe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	mux := http.NewServeMux()
	mux.HandleFunc("/retour", func(w http.ResponseWriter, r *http.Request) {})
	redirect := newLoopbackServer(t, mux) + "/retour"
	cl, _, err := b.share.AddClient(ctx, sharing.NewClient{Name: "CAF de Lille", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindCAF}})
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"client_id": {cl.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s1"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
		"authorization_details": {`[{"type":"coffre_documents","kinds":["caf"],"purpose":"Aide au logement"}]`}}
	authorize := "/oauth/authorize?" + q.Encode()

	t.Run("closed safe", func(t *testing.T) {
		c := b.client(t)
		c.signup("awa", "le chat mange la pomme")
		id := ownerOf(t, b, "awa")
		paper(t, b, id, vault.KindCAF, "Attestation CAF")
		if resp, body := c.get(authorize); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Attestation CAF") {
			t.Fatalf("open safe: %d", resp.StatusCode)
		}
		if _, err := b.v.CloseSafe(ctx, id, vault.Actor{Kind: vault.ActorOwner, ID: id.String()}, 0); err != nil {
			t.Fatal(err)
		}
		// Closing ended the session in the same transaction; signed in again, the owner
		// of a closed safe is sent to the recovery page, never shown the papers.
		if resp, _ := c.get(authorize); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "/compte/ferme" {
			t.Errorf("the session outlived the closure: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		c.signIn("awa", "le chat mange la pomme")
		resp, body := c.get(authorize)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/ferme" || strings.Contains(body, "Attestation CAF") {
			t.Errorf("closed safe: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("temporary code", func(t *testing.T) {
		a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
		opened, err := b.share.OpenSafeFor(ctx, a.Agent, "marie.martin", netipLocal())
		if err != nil {
			t.Fatal(err)
		}
		paper(t, b, opened.Owner.ID, vault.KindCAF, "Attestation CAF de Marie")
		c := b.client(t)
		if resp := c.signIn("marie.martin", opened.Code.Code); resp.Header.Get("Location") != "/compte/code" {
			t.Fatalf("sign-in with the code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body := c.get(authorize)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte/code" || strings.Contains(body, "Attestation CAF") {
			t.Errorf("temporary code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// Pages are compressed and reflect what is typed: the CSRF token they carry is different
// in every response (BREACH), and each one still works, in a form field and in the
// scripts' X-CSRF-Token header.
func TestCSRFTokenMaskedPerResponse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("salma", "le chat mange la pomme")
	one, two := c.csrf("/compte"), c.csrf("/compte")
	if one == two {
		t.Fatalf("two responses carry the same CSRF token %q", one)
	}
	for _, tok := range []string{one, two} {
		if resp, _ := c.post("/compte/langue", url.Values{"csrf": {tok}, "lang": {"fr"}}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("form with a masked token: %d", resp.StatusCode)
		}
		if resp, body := c.postScript("/compte/cles/debut", tok); resp.StatusCode != http.StatusOK {
			t.Errorf("script with a masked token in X-CSRF-Token: %d %s", resp.StatusCode, body)
		}
	}
	// One character changed, always to another: the last ones also carry padding bits
	// that decoding ignores, and a token could already end in the replacement.
	other := byte('A')
	if one[10] == other {
		other = 'B'
	}
	tampered := one[:10] + string(other) + one[11:]
	if resp, _ := c.post("/compte/langue", url.Values{"csrf": {tampered}, "lang": {"fr"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("form with a tampered token: %d", resp.StatusCode)
	}
}
