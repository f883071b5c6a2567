package sharing_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

const redirect = "https://caf.example/retour"

func (b *testBundle) client(t *testing.T) (*sharing.Client, string) {
	t.Helper()
	c, secret, err := b.s.AddClient(context.Background(), sharing.NewClient{
		Name: "CAF", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindCAF, vault.KindImpots},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, secret
}

func authQuery(clientID, challenge, details string) url.Values {
	return url.Values{
		"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"xyz"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "authorization_details": {details},
	}
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

const cafDetails = `[{"type":"coffre_documents","kinds":["caf"],"purpose":"Aide au logement"}]`

func oauthCode(t *testing.T, err error) string {
	t.Helper()
	var oe *sharing.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not an OAuth error", err)
	}
	return oe.Code
}

func TestChoisirDansMonCoffre(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c, secret := b.client(t)
	if _, err := b.s.AuthenticateSecret(ctx, c.ID, secret); err != nil {
		t.Fatalf("right secret: %v", err)
	}
	for _, wrong := range [][2]string{{c.ID, secret + "x"}, {c.ID, ""}, {"ts_unknown", secret}} {
		if _, err := b.s.AuthenticateSecret(ctx, wrong[0], wrong[1]); !errors.Is(err, sharing.ErrClientAuth) {
			t.Errorf("secret %q for %q: %v", wrong[1], wrong[0], err)
		}
	}

	verifier, challenge := pkce()
	req, err := b.s.ParseAuthorization(ctx, authQuery(c.ID, challenge, cafDetails))
	if err != nil {
		t.Fatal(err)
	}
	if req.Purpose != "Aide au logement" || len(req.Kinds) != 1 || req.Kinds[0] != vault.KindCAF {
		t.Fatalf("request %+v", req)
	}
	// Only documents of the kinds asked for may be given.
	impots, _ := b.V.Deposit(ctx, b.owner, b.by, vault.NewDocument{Kind: vault.KindImpots, Title: "Avis", Files: []vault.File{
		{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("%PDF impots"), Size: -1}}})
	if _, err := b.s.Approve(ctx, req, b.owner, b.by, []uuid.UUID{impots.ID}); !errors.Is(err, sharing.ErrInvalid) {
		t.Fatalf("approving a kind not asked for: %v", err)
	}
	back, err := b.s.Approve(ctx, req, b.owner, b.by, []uuid.UUID{b.doc.ID})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(back)
	code := u.Query().Get("code")
	if !strings.HasPrefix(back, redirect+"?") || u.Query().Get("state") != "xyz" || code == "" {
		t.Fatalf("redirect %s", back)
	}

	// Wrong verifier burns the code.
	wrong := verifier[:len(verifier)-1] + "A"
	if wrong == verifier {
		wrong = verifier[:len(verifier)-1] + "B"
	}
	if _, _, err := b.s.Exchange(ctx, c, code, wrong, redirect); oauthCode(t, err) != "invalid_grant" {
		t.Fatalf("wrong verifier: %v", err)
	}
	if _, _, err := b.s.Exchange(ctx, c, code, verifier, redirect); oauthCode(t, err) != "invalid_grant" {
		t.Fatalf("code reused after a failed exchange: %v", err)
	}

	// A fresh consent, exchanged properly.
	verifier, challenge = pkce()
	req, _ = b.s.ParseAuthorization(ctx, authQuery(c.ID, challenge, cafDetails))
	back, _ = b.s.Approve(ctx, req, b.owner, b.by, []uuid.UUID{b.doc.ID})
	u, _ = url.Parse(back)
	code = u.Query().Get("code")
	token, g, err := b.s.Exchange(ctx, c, code, verifier, redirect)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(g.ExpiresAt); d > 10*time.Minute || d < 9*time.Minute {
		t.Fatalf("token lives %s, want 10 minutes", d)
	}
	g2, err := b.s.GrantByToken(ctx, token)
	if err != nil || g2.ID != g.ID {
		t.Fatalf("token: %+v, %v", g2, err)
	}
	docs, err := b.s.GrantDocuments(ctx, g2)
	if err != nil || len(docs) != 1 {
		t.Fatalf("granted documents: %v, %v", docs, err)
	}
	r, err := b.s.OpenGranted(ctx, g2, b.doc.ID, docs[0].Blob(vault.RoleRendition).ID, b.ip, "receipt 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := b.s.OpenGranted(ctx, g2, impots.ID, impots.Blobs[0].ID, b.ip, ""); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("document not granted: %v", err)
	}

	// The signed receipt verifies with the service key, and not once altered.
	receipt, claims, err := b.s.IssueReceipt(ctx, b.Signing, b.owner, vault.Actor{Kind: vault.ActorClient, ID: c.ID}, docs, vault.RoleRendition)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sharing.VerifyReceipt(receipt, b.Signing.Public().(ed25519.PublicKey))
	if err != nil || got.ID != claims.ID || len(got.Documents) != 1 || got.Documents[0].SHA256 != hex.EncodeToString(docs[0].Blob(vault.RoleRendition).SHA256) {
		t.Fatalf("receipt %+v, %v", got, err)
	}
	parts := strings.Split(receipt, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"jti":"x","iss":"coffre","documents":[]}`)) + "." + parts[2]
	if _, err := sharing.VerifyReceipt(forged, b.Signing.Public().(ed25519.PublicKey)); !errors.Is(err, sharing.ErrBadReceipt) {
		t.Fatalf("forged receipt: %v", err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := sharing.VerifyReceipt(receipt, otherPub); !errors.Is(err, sharing.ErrBadReceipt) {
		t.Fatalf("receipt with another key: %v", err)
	}

	// Replaying the code revokes what it gave.
	if _, _, err := b.s.Exchange(ctx, c, code, verifier, redirect); oauthCode(t, err) != "invalid_grant" {
		t.Fatalf("replayed code: %v", err)
	}
	if _, err := b.s.GrantByToken(ctx, token); !errors.Is(err, sharing.ErrUnavailable) {
		t.Fatalf("token after code replay: %v", err)
	}

	a := b.actions(t)
	if a[sharing.ActionGrantCreated] != 2 || a[vault.ActionDownload] != 1 || a[sharing.ActionDelivered] != 1 || a[vault.ActionDenied] != 1 {
		t.Fatalf("journal %v", a)
	}
}

func TestExchangeChecks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c, _ := b.client(t)
	other, _, err := b.s.AddClient(ctx, sharing.NewClient{Name: "Bailleur", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindCAF}})
	if err != nil {
		t.Fatal(err)
	}
	newCode := func() (string, string) {
		verifier, challenge := pkce()
		req, err := b.s.ParseAuthorization(ctx, authQuery(c.ID, challenge, cafDetails))
		if err != nil {
			t.Fatal(err)
		}
		back, err := b.s.Approve(ctx, req, b.owner, b.by, []uuid.UUID{b.doc.ID})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(back)
		return u.Query().Get("code"), verifier
	}
	code, verifier := newCode()
	if _, _, err := b.s.Exchange(ctx, other, code, verifier, redirect); oauthCode(t, err) != "invalid_grant" {
		t.Errorf("another client's code: %v", err)
	}
	code, verifier = newCode()
	if _, _, err := b.s.Exchange(ctx, c, code, verifier, redirect+"/autre"); oauthCode(t, err) != "invalid_grant" {
		t.Errorf("other redirect_uri: %v", err)
	}
	code, verifier = newCode()
	b.Clock.Advance(time.Minute + time.Second) // a code lasts a minute
	if _, _, err := b.s.Exchange(ctx, c, code, verifier, redirect); oauthCode(t, err) != "invalid_grant" {
		t.Errorf("expired code: %v", err)
	}
	if _, _, err := b.s.Exchange(ctx, c, "made-up", verifier, redirect); oauthCode(t, err) != "invalid_grant" {
		t.Errorf("unknown code: %v", err)
	}
	// A removed client's tokens stop working.
	code, verifier = newCode()
	token, _, err := b.s.Exchange(ctx, c, code, verifier, redirect)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.s.RemoveClient(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.GrantByToken(ctx, token); !errors.Is(err, sharing.ErrUnavailable) {
		t.Errorf("token of a removed client: %v", err)
	}
}

func TestParseAuthorizationErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, _ := b.client(t)
	_, challenge := pkce()
	cases := []struct {
		name     string
		edit     func(q url.Values)
		code     string
		redirect bool
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "ts_nope") }, "invalid_client", false},
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/") }, "invalid_request", false},
		{"redirect prefix", func(q url.Values) { q.Set("redirect_uri", redirect+"/../x") }, "invalid_request", false},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type", true},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge") }, "invalid_request", true},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request", true},
		{"no details", func(q url.Values) { q.Del("authorization_details") }, "invalid_authorization_details", true},
		{"huge details", func(q url.Values) { q.Set("authorization_details", "["+strings.Repeat(" ", 5000)+"]") }, "invalid_authorization_details", true},
		{"wrong type", func(q url.Values) { q.Set("authorization_details", `[{"type":"payment","kinds":["caf"]}]`) }, "invalid_authorization_details", true},
		{"kind not allowed", func(q url.Values) {
			q.Set("authorization_details", `[{"type":"coffre_documents","kinds":["identite"]}]`)
		}, "invalid_authorization_details", true},
		{"not JSON", func(q url.Values) { q.Set("authorization_details", `caf`) }, "invalid_authorization_details", true},
	}
	for _, tc := range cases {
		q := authQuery(c.ID, challenge, cafDetails)
		tc.edit(q)
		_, err := b.s.ParseAuthorization(context.Background(), q)
		var oe *sharing.OAuthError
		if !errors.As(err, &oe) || oe.Code != tc.code || oe.Redirect != tc.redirect {
			t.Errorf("%s: %v (redirect %v), want %s (redirect %v)", tc.name, err, oe != nil && oe.Redirect, tc.code, tc.redirect)
		}
	}
}

func TestClientValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, nc := range map[string]sharing.NewClient{
		"no name":         {RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindCAF}},
		"http redirect":   {Name: "x", RedirectURIs: []string{"http://caf.example/"}, AllowedKinds: []vault.Kind{vault.KindCAF}},
		"fragment":        {Name: "x", RedirectURIs: []string{redirect + "#f"}, AllowedKinds: []vault.Kind{vault.KindCAF}},
		"unknown kind":    {Name: "x", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{"passeport"}},
		"jwt without key": {Name: "x", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindCAF}, AuthMethod: sharing.AuthPrivateKeyJWT},
	} {
		if _, _, err := b.s.AddClient(context.Background(), nc); !errors.Is(err, sharing.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "k1", Algorithm: string(jose.EdDSA), Use: "sig"}}})
	c, secret, err := b.s.AddClient(ctx, sharing.NewClient{Name: "FT", RedirectURIs: []string{redirect},
		AllowedKinds: []vault.Kind{vault.KindFranceTravail}, AuthMethod: sharing.AuthPrivateKeyJWT, JWKS: jwks})
	if err != nil || secret != "" {
		t.Fatalf("add: %v, secret %q", err, secret)
	}
	const aud = "https://coffre.example/api/v1/oauth/token"
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv}, nil)
	assertion := func(jti, audience string, ttl time.Duration) string {
		s, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: c.ID, Subject: c.ID, ID: jti, Audience: jwt.Audience{audience},
			IssuedAt: jwt.NewNumericDate(time.Now()), Expiry: jwt.NewNumericDate(time.Now().Add(ttl))}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got, err := b.s.AuthenticateAssertion(ctx, assertion("a1", aud, time.Minute), aud); err != nil || got.ID != c.ID {
		t.Fatalf("valid assertion: %v", err)
	}
	for name, a := range map[string]string{
		"replayed":       assertion("a1", aud, time.Minute),
		"other audience": assertion("a2", "https://other.example/token", time.Minute),
		"expired":        assertion("a3", aud, -time.Minute),
		"too long":       assertion("a4", aud, time.Hour),
		"garbage":        "a.b.c",
	} {
		if _, err := b.s.AuthenticateAssertion(ctx, a, aud); !errors.Is(err, sharing.ErrClientAuth) {
			t.Errorf("%s: %v, want ErrClientAuth", name, err)
		}
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	forger, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: otherKey}, nil)
	forged, _ := jwt.Signed(forger).Claims(jwt.Claims{Issuer: c.ID, Subject: c.ID, ID: "f", Audience: jwt.Audience{aud},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))}).Serialize()
	if _, err := b.s.AuthenticateAssertion(ctx, forged, aud); !errors.Is(err, sharing.ErrClientAuth) {
		t.Errorf("assertion signed by another key: %v", err)
	}
}

func FuzzAuthorizationDetails(f *testing.F) {
	f.Add(cafDetails)
	f.Add(`[{"type":"coffre_documents","kinds":[]}]`)
	f.Add(`{}`)
	f.Add(`[{"type":"coffre_documents","kinds":["caf","caf","impots"],"purpose":""}]`)
	f.Add(`[` + strings.Repeat(`{"type":"coffre_documents","kinds":["caf"]},`, 11) + `{}]`)
	allowed := []vault.Kind{vault.KindCAF, vault.KindImpots}
	f.Fuzz(func(t *testing.T, details string) {
		kinds, purpose, err := sharing.ParseAuthorizationDetails(details, allowed)
		if err != nil {
			var oe *sharing.OAuthError
			if !errors.As(err, &oe) || oe.Code != "invalid_authorization_details" {
				t.Fatalf("error %v is not invalid_authorization_details", err)
			}
			return
		}
		if len(kinds) == 0 || len(kinds) > len(allowed) || len(purpose) > 200 {
			t.Fatalf("accepted %q as kinds %v purpose %q", details, kinds, purpose)
		}
		for _, k := range kinds {
			if k != vault.KindCAF && k != vault.KindImpots {
				t.Fatalf("kind %q not allowed yet accepted", k)
			}
		}
	})
}
