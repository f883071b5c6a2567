package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"coffre/ingest/ingesttest"
	"coffre/sharing"
	"coffre/vault"
	"coffre/web"
)

// issuer is an organisation registered to deposit papers, with its private key.
type issuer struct {
	client *sharing.Client
	signer jose.Signer
}

func newIssuer(t *testing.T, b *testBundle, name, redirect string, kinds ...vault.Kind) *issuer {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "k1", Algorithm: string(jose.EdDSA), Use: "sig"}}})
	c, _, err := b.share.AddClient(context.Background(), sharing.NewClient{Name: name, RedirectURIs: []string{redirect},
		DepositKinds: kinds, AuthMethod: sharing.AuthPrivateKeyJWT, JWKS: jwks})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv}, nil)
	return &issuer{client: c, signer: signer}
}

// tokenForm is a token request authenticated with a fresh private_key_jwt assertion.
func (is *issuer) tokenForm(t *testing.T, b *testBundle, form url.Values) url.Values {
	t.Helper()
	a, err := jwt.Signed(is.signer).Claims(jwt.Claims{Issuer: is.client.ID, Subject: is.client.ID, ID: uuid.NewString(),
		Audience: jwt.Audience{b.base + "/api/v1/oauth/token"}, Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", a)
	return form
}

func postToken(t *testing.T, b *testBundle, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(b.srv.URL+"/api/v1/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("token answer (%d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// depositToken is an access token of the client_credentials grant.
func (is *issuer) depositToken(t *testing.T, b *testBundle) string {
	t.Helper()
	status, out := postToken(t, b, is.tokenForm(t, b, url.Values{"grant_type": {"client_credentials"}}))
	tok, _ := out["access_token"].(string)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("client_credentials: %d %v", status, out)
	}
	return tok
}

// subscribe has owner consent to is depositing kinds, through the authorization endpoint
// machinery, and trades the code for the subscription as the issuer would.
func (is *issuer) subscribe(t *testing.T, b *testBundle, owner uuid.UUID, redirect string, kinds ...vault.Kind) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	verifier := strings.Repeat("w", 50)
	sum := sha256.Sum256([]byte(verifier))
	details, _ := json.Marshal([]map[string]any{{"type": sharing.DepositDetailsType, "kinds": kinds}})
	req, err := b.share.ParseAuthorization(ctx, url.Values{"client_id": {is.client.ID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "authorization_details": {string(details)}})
	if err != nil || !req.Deposit {
		t.Fatalf("parse deposit request: %v", err)
	}
	back, err := b.share.Subscribe(ctx, req, owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(back)
	status, out := postToken(t, b, is.tokenForm(t, b, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier}}))
	details2, _ := out["authorization_details"].([]any)
	if status != http.StatusOK || len(details2) != 1 {
		t.Fatalf("code exchange: %d %v", status, out)
	}
	id, err := uuid.Parse(details2[0].(map[string]any)["subscription"].(string))
	if err != nil {
		t.Fatalf("no subscription in %v", out)
	}
	return id
}

// depositCall is one deposit request; zero fields take the defaults of send.
type depositCall struct {
	token, key, digest string
	fields             map[string]string
	file               []byte
	contentType        string
}

func (c depositCall) send(t *testing.T, b *testBundle, sub uuid.UUID) (*http.Response, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, k := range []string{"kind", "title", "issued_on", "expires_on"} {
		if v, ok := c.fields[k]; ok {
			if err := mw.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c.file != nil {
		fw, _ := mw.CreateFormFile("file", "attestation.pdf")
		if _, err := fw.Write(c.file); err != nil {
			t.Fatal(err)
		}
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/api/v1/subscriptions/"+sub.String()+"/documents", bytes.NewReader(body.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.key != "" {
		req.Header.Set("Idempotency-Key", c.key)
	}
	sum := sha256.Sum256(body.Bytes())
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	if c.digest != "" {
		digest = c.digest
	}
	req.Header.Set("Repr-Digest", digest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// attestation is a one-page PDF, as an issuer's software makes them.
func attestation(text string) []byte {
	content := "BT /F1 18 Tf 72 760 Td (" + text + ") Tj ET"
	return ingesttest.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
}

func countPapers(t *testing.T, b *testBundle, owner uuid.UUID) int {
	t.Helper()
	docs, err := b.v.Documents(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	return len(docs)
}

// TestIssuerDeposit: an issuer deposits a paper through the subscription a person gave
// it, gets a signed receipt naming the file's hash, and a retry with the same key gets
// the same receipt without a second paper. Every refusal is a problem+json with its
// status, and stores nothing.
func TestIssuerDeposit(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) { c.MaxUpload = 1 << 20 })
	ctx := context.Background()
	check := schemas(t)
	redirect := newLoopbackServer(t, http.NotFoundHandler()) + "/retour"
	caf := newIssuer(t, b, "La CAF", redirect, vault.KindCAF, vault.KindRessources, vault.KindImpots)
	other := newIssuer(t, b, "Un autre organisme", redirect, vault.KindCAF)
	o, err := b.a.CreateAccount(ctx, "nadia", "le chat mange la pomme", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	sub := caf.subscribe(t, b, o.ID, redirect, vault.KindCAF, vault.KindRessources)
	token := caf.depositToken(t, b)
	pdf := attestation("Attestation de paiement - mars")
	fields := map[string]string{"kind": "caf", "title": "Attestation de paiement – mars", "issued_on": "2026-03-31"}
	key := uuid.NewString()

	resp, body := depositCall{token: token, key: key, fields: fields, file: pdf}.send(t, b, sub)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("deposit: %d %s", resp.StatusCode, body)
	}
	check("DepositResponse", body)
	var answer struct{ Receipt string }
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatalf("deposit answer: %v %s", err, body)
	}
	rc, err := sharing.VerifyDepositReceipt(answer.Receipt, b.signing.Public().(ed25519.PublicKey))
	if err != nil || resp.Header.Get("Coffre-Receipt") != answer.Receipt {
		t.Fatalf("receipt: %v", err)
	}
	sum := sha256.Sum256(pdf)
	var original bool
	for _, f := range rc.Files {
		original = original || f.Role == vault.RoleOriginal && f.SHA256 == hex.EncodeToString(sum[:])
	}
	if !original || rc.Subscription != sub || rc.Kind != vault.KindCAF || rc.Depositor != "client:"+caf.client.ID {
		t.Errorf("the receipt does not name what was sent: %+v", rc)
	}
	d, err := b.v.Document(ctx, o.ID, rc.Document, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()})
	if err != nil || d.Title != "Attestation de paiement – mars" || d.IssuedOn == nil || d.Depositor.Kind != vault.ActorClient {
		t.Fatalf("the paper in the safe: %+v, %v", d, err)
	}

	t.Run("replayed with the same key", func(t *testing.T) {
		// Built anew (another multipart boundary): the same request all the same.
		resp, body := depositCall{token: token, key: key, fields: fields, file: pdf}.send(t, b, sub)
		var again struct{ Receipt string }
		if err := json.Unmarshal(body, &again); err != nil {
			t.Errorf("replay answer: %v %s", err, body)
		}
		if resp.StatusCode != http.StatusCreated || again.Receipt != answer.Receipt || resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay: %d %s", resp.StatusCode, body)
		}
		if n := countPapers(t, b, o.ID); n != 1 {
			t.Errorf("%d papers after a replay, want 1", n)
		}
	})

	t.Run("the same key sent twice at once", func(t *testing.T) {
		key := uuid.NewString()
		var wg sync.WaitGroup
		receipts := make([]string, 2)
		for i := range receipts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, body := depositCall{token: token, key: key, fields: map[string]string{"kind": "ressources", "title": "Bulletin de mars"}, file: pdf}.send(t, b, sub)
				if resp.StatusCode == http.StatusCreated {
					var a struct{ Receipt string }
					if err := json.Unmarshal(body, &a); err != nil {
						t.Errorf("concurrent deposit answer: %v %s", err, body)
					}
					receipts[i] = a.Receipt
				}
			}()
		}
		wg.Wait()
		if receipts[0] == "" || receipts[0] != receipts[1] {
			t.Errorf("two requests with one key: receipts %q and %q", receipts[0], receipts[1])
		}
		if n := countPapers(t, b, o.ID); n != 2 {
			t.Errorf("%d papers, want 2", n)
		}
	})

	big := attestation(strings.Repeat("x", 2<<20))
	stoppedOwner := mustAccount(t, b, "arrete")
	stopped := caf.subscribe(t, b, stoppedOwner, redirect, vault.KindCAF)
	if err := b.share.StopSubscription(ctx, stoppedOwner, stopped, vault.Actor{Kind: vault.ActorOwner, ID: stoppedOwner.String()}); err != nil {
		t.Fatal(err)
	}
	closedOwner := mustAccount(t, b, "fermee")
	closed := caf.subscribe(t, b, closedOwner, redirect, vault.KindCAF)
	if _, err := b.v.CloseSafe(ctx, closedOwner, vault.Actor{Kind: vault.ActorOwner, ID: closedOwner.String()}, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		call   depositCall
		sub    uuid.UUID
		owner  uuid.UUID
		status int
		code   string
		traced bool // a failed attempt in the person's history
	}{
		{"no token", depositCall{key: "k1", fields: fields, file: pdf}, sub, o.ID, http.StatusUnauthorized, "invalid-token", false},
		{"a grant's token", depositCall{token: "pas-un-jeton", key: "k1", fields: fields, file: pdf}, sub, o.ID, http.StatusUnauthorized, "invalid-token", false},
		{"from another client", depositCall{token: other.depositToken(t, b), key: "k2", fields: fields, file: pdf}, sub, o.ID, http.StatusNotFound, "unknown-subscription", true},
		{"unknown subscription", depositCall{token: token, key: "k3", fields: fields, file: pdf}, uuid.New(), o.ID, http.StatusNotFound, "unknown-subscription", false},
		{"after the person stopped it", depositCall{token: token, key: "k4", fields: fields, file: pdf}, stopped, stoppedOwner, http.StatusForbidden, "subscription-stopped", true},
		{"to a closed safe", depositCall{token: token, key: "k5", fields: fields, file: pdf}, closed, closedOwner, http.StatusForbidden, "subscription-stopped", true},
		{"a kind not consented", depositCall{token: token, key: "k6", fields: map[string]string{"kind": "impots", "title": "Avis"}, file: pdf}, sub, o.ID, http.StatusForbidden, "kind-not-consented", true},
		{"a wrong digest", depositCall{token: token, key: "k7", fields: fields, file: pdf, digest: "sha-256=:" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + ":"}, sub, o.ID, http.StatusBadRequest, "digest-mismatch", false},
		{"no digest", depositCall{token: token, key: "k8", fields: fields, file: pdf, digest: "md5=:AAAA:"}, sub, o.ID, http.StatusBadRequest, "digest-required", false},
		{"no key", depositCall{token: token, fields: fields, file: pdf}, sub, o.ID, http.StatusBadRequest, "idempotency-key", false},
		{"the same key, another paper", depositCall{token: token, key: key, fields: fields, file: attestation("Autre")}, sub, o.ID, http.StatusUnprocessableEntity, "idempotency-key-reused", false},
		{"the same key, another title", depositCall{token: token, key: key, fields: map[string]string{"kind": "caf", "title": "Autre"}, file: pdf}, sub, o.ID, http.StatusUnprocessableEntity, "idempotency-key-reused", false},
		{"over the size", depositCall{token: token, key: "k9", fields: fields, file: big}, sub, o.ID, http.StatusRequestEntityTooLarge, "too-large", false},
		{"not a PDF nor an image", depositCall{token: token, key: "k10", fields: fields, file: []byte("GIF89a……")}, sub, o.ID, http.StatusUnsupportedMediaType, "unsupported-type", false},
		{"not multipart", depositCall{token: token, key: "k11", fields: fields, file: pdf, contentType: "application/pdf"}, sub, o.ID, http.StatusUnsupportedMediaType, "multipart-required", false},
		{"no title", depositCall{token: token, key: "k12", fields: map[string]string{"kind": "caf"}, file: pdf}, sub, o.ID, http.StatusUnprocessableEntity, "invalid-title", false},
		{"an unreadable PDF", depositCall{token: token, key: "k13", fields: fields, file: []byte("%PDF-1.7 tronqué")}, sub, o.ID, http.StatusUnprocessableEntity, "unreadable", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			papers := countPapers(t, b, tc.owner)
			denied := deniedCount(t, b, tc.owner)
			resp, body := tc.call.send(t, b, tc.sub)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s %s, want %d", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status)
			}
			check("Problem", body)
			var p struct {
				Type   string
				Status int
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("problem: %v %s", err, body)
			}
			if p.Type != "/api/v1/problems/"+tc.code || p.Status != tc.status {
				t.Errorf("problem %s (%d), want %s", p.Type, p.Status, tc.code)
			}
			if n := countPapers(t, b, tc.owner); n != papers {
				t.Errorf("%d papers after a refusal, want %d", n, papers)
			}
			want := denied
			if tc.traced {
				want++
			}
			if got := deniedCount(t, b, tc.owner); got != want {
				t.Errorf("%d failed attempts in the person's history, want %d", got, want)
			}
		})
	}

	t.Run("the person's history and account", func(t *testing.T) {
		c := b.client(t)
		signIn(t, c, "nadia", "le chat mange la pomme")
		_, page := c.get("/historique")
		for _, want := range []string{"La CAF a déposé «\u00a0Attestation de paiement – mars\u00a0».", "Vous avez accepté que «\u00a0La CAF\u00a0» dépose vos papiers dans votre coffre.",
			"Un autre organisme a essayé de déposer un papier dans votre coffre sans votre accord."} {
			if !strings.Contains(page, want) {
				t.Errorf("the history lacks %q", want)
			}
		}
		_, page = c.get("/compte")
		if !strings.Contains(page, "Ils déposent dans mon coffre") || !strings.Contains(page, "La CAF") || !strings.Contains(page, "/compte/deposants/"+sub.String()+"/arreter") {
			t.Fatalf("« Mon compte » does not show the subscription")
		}
		resp, _ := c.post("/compte/deposants/"+stopped.String()+"/arreter", url.Values{"csrf": {c.csrf("/compte")}})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("stopping someone else's subscription: %d", resp.StatusCode)
		}
		resp, _ = c.post("/compte/deposants/"+sub.String()+"/arreter", url.Values{"csrf": {c.csrf("/compte")}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("stop: %d", resp.StatusCode)
		}
		resp, body := depositCall{token: token, key: uuid.NewString(), fields: fields, file: pdf}.send(t, b, sub)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "subscription-stopped") {
			t.Errorf("a deposit after the stop: %d %s", resp.StatusCode, body)
		}
		_, page = c.get("/historique")
		if !strings.Contains(page, "Vous avez arrêté les dépôts de «\u00a0La CAF\u00a0» dans votre coffre.") {
			t.Errorf("the history lacks the stop")
		}
	})
}

func mustAccount(t *testing.T, b *testBundle, login string) uuid.UUID {
	t.Helper()
	o, err := b.a.CreateAccount(context.Background(), login, "une phrase secrète assez longue", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

// signIn signs c in as an owner with a secret.
func signIn(t *testing.T, c *client, login, secret string) {
	t.Helper()
	resp, body := c.post("/connexion", url.Values{"csrf": {c.csrf("/connexion")}, "login": {login}, "secret": {secret}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", resp.StatusCode, body)
	}
}

// deniedCount is the number of failed attempts in owner's journal.
func deniedCount(t *testing.T, b *testBundle, owner uuid.UUID) int {
	t.Helper()
	entries, err := b.v.Journal(context.Background(), owner, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == vault.ActionDenied {
			n++
		}
	}
	return n
}

// Every operation of the OpenAPI document says how it is authenticated, an
// unauthenticated one with an empty list, and names only declared schemes.
func TestOpenAPISecurityDeclared(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct{ SecuritySchemes map[string]json.RawMessage }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Paths["/api/v1/subscriptions/{subscription}/documents"]["post"]; !ok {
		t.Fatal("the issuers' deposit is not described")
	}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct{ Security *[]map[string][]string }
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			if op.Security == nil {
				t.Errorf("%s %s: no security requirement (an unauthenticated route says security: [])", method, path)
				continue
			}
			for _, req := range *op.Security {
				for scheme := range req {
					if _, ok := doc.Components.SecuritySchemes[scheme]; !ok {
						t.Errorf("%s %s: undeclared scheme %q", method, path, scheme)
					}
				}
			}
		}
	}
}
