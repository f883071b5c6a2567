package sharing_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// issuerClient registers an organisation that deposits papers of kinds.
func (b *testBundle) issuerClient(t *testing.T, name string, kinds ...vault.Kind) *sharing.Client {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, Algorithm: string(jose.EdDSA), Use: "sig"}}})
	c, _, err := b.s.AddClient(context.Background(), sharing.NewClient{Name: name, RedirectURIs: []string{redirect}, DepositKinds: kinds,
		AuthMethod: sharing.AuthPrivateKeyJWT, JWKS: jwks})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// subscribe has owner consent to c depositing kinds, and returns the subscription the
// code names once exchanged.
func (b *testBundle) subscribe(t *testing.T, c *sharing.Client, owner uuid.UUID, kinds ...vault.Kind) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	verifier := strings.Repeat("s", 43)
	sum := sha256.Sum256([]byte(verifier))
	details, _ := json.Marshal([]map[string]any{{"type": sharing.DepositDetailsType, "kinds": kinds}})
	req, err := b.s.ParseAuthorization(ctx, url.Values{"client_id": {c.ID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "authorization_details": {string(details)}})
	if err != nil {
		t.Fatal(err)
	}
	back, err := b.s.Subscribe(ctx, req, owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(back)
	token, g, err := b.s.Exchange(ctx, c, u.Query().Get("code"), verifier, redirect)
	if err != nil || token != "" || !g.Subscription.Valid {
		t.Fatalf("exchange of a deposit consent: token %q, %+v, %v", token, g, err)
	}
	return g.Subscription.UUID
}

// issue deposits a small paper through sub for c with the Idempotency-Key key.
func (b *testBundle) issue(c *sharing.Client, sub uuid.UUID, key string, kind vault.Kind, title string) (*vault.Document, string, bool, error) {
	body := "%PDF-1.7 " + title
	sum := sha256.Sum256([]byte(body))
	dep := sharing.IssuerDeposit{Subscription: sub, Kind: kind, Key: key, Request: sharing.RequestDigest(sum[:], string(kind), title)}
	return b.s.DepositThrough(context.Background(), b.Signing, c, dep, vault.NewDocument{Kind: kind, Title: title,
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: strings.NewReader(body), Size: -1}}}, b.ip)
}

func TestSubscriptionLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	caf := b.issuerClient(t, "CAF du Nord", vault.KindCAF, vault.KindRessources)
	if _, _, err := b.s.AddClient(ctx, sharing.NewClient{Name: "x", RedirectURIs: []string{redirect}, DepositKinds: []vault.Kind{vault.KindCAF}}); !errors.Is(err, sharing.ErrInvalid) {
		t.Errorf("an issuer with a shared secret: %v, want ErrInvalid", err)
	}
	sub := b.subscribe(t, caf, b.owner, vault.KindCAF)
	if again := b.subscribe(t, caf, b.owner, vault.KindCAF, vault.KindRessources); again != sub {
		t.Errorf("consenting again made another subscription")
	}
	subs, err := b.s.Subscriptions(ctx, b.owner)
	if err != nil || len(subs) != 1 || subs[0].ClientName != "CAF du Nord" || len(subs[0].Kinds) != 2 {
		t.Fatalf("subscriptions: %+v, %v", subs, err)
	}
	d, receipt, replayed, err := b.issue(caf, sub, "k1", vault.KindRessources, "Bulletin de mars")
	if err != nil || replayed || d == nil {
		t.Fatalf("deposit: %v", err)
	}
	// The person is told by their channels, once (account.NotifyTx in the deposit's
	// transaction).
	var told int
	if err := b.DB.QueryRow(ctx, `SELECT count(*) FROM notices WHERE owner_id = $1 AND key = $2`, b.owner, "issuer_deposit:"+d.ID.String()).Scan(&told); err != nil || told != 1 {
		t.Errorf("notice of the deposit: %d, %v", told, err)
	}
	rc, err := sharing.VerifyDepositReceipt(receipt, b.Signing.Public().(ed25519.PublicKey))
	if err != nil || rc.Document != d.ID || len(rc.Files) != 1 || rc.Files[0].SHA256 == "" {
		t.Fatalf("receipt: %+v, %v", rc, err)
	}
	if _, err := sharing.VerifyReceipt(receipt, b.Signing.Public().(ed25519.PublicKey)); err == nil {
		t.Error("a deposit receipt passes for a delivery receipt")
	}
	if d2, again, replayed, err := b.issue(caf, sub, "k1", vault.KindRessources, "Bulletin de mars"); err != nil || !replayed || again != receipt || d2 != nil {
		t.Errorf("replay: %v %v", replayed, err)
	}
	if _, _, _, err := b.issue(caf, sub, "k1", vault.KindRessources, "Bulletin d'avril"); !errors.Is(err, sharing.ErrIdempotencyConflict) {
		t.Errorf("the same key for another paper: %v", err)
	}

	// Stopped: nothing more; another owner cannot stop it.
	stranger, err := b.V.CreateOwner(ctx, "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.s.StopSubscription(ctx, stranger.ID, sub, vault.Actor{Kind: vault.ActorOwner, ID: stranger.ID.String()}); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("another owner stops it: %v", err)
	}
	if err := b.s.StopSubscription(ctx, b.owner, sub, b.by); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := b.issue(caf, sub, "k2", vault.KindCAF, "Attestation"); !errors.Is(err, sharing.ErrStopped) {
		t.Errorf("after the stop: %v", err)
	}
	if subs, _ := b.s.Subscriptions(ctx, b.owner); len(subs) != 0 {
		t.Errorf("a stopped subscription is still listed")
	}

	// Closing the safe stops every subscription, and reopening gives none back.
	sub2 := b.subscribe(t, caf, b.owner, vault.KindCAF)
	if sub2 == sub {
		t.Error("a new consent after a stop revived the stopped subscription")
	}
	if _, err := b.V.CloseSafe(ctx, b.owner, b.by, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.V.ReopenSafe(ctx, b.owner, b.by); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := b.issue(caf, sub2, "k3", vault.KindCAF, "Attestation"); !errors.Is(err, sharing.ErrStopped) {
		t.Errorf("after closing the safe: %v", err)
	}
}

func TestDepositToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	caf := b.issuerClient(t, "CAF", vault.KindCAF)
	pub := b.Signing.Public().(ed25519.PublicKey)
	now := time.Now()
	tok, _, err := sharing.DepositToken(b.Signing, caf, now)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := b.s.DepositClient(ctx, pub, tok, now); err != nil || c.ID != caf.ID {
		t.Fatalf("valid token: %v", err)
	}
	if _, err := b.s.DepositClient(ctx, pub, tok, now.Add(sharing.DepositTokenLifetime+time.Second)); !errors.Is(err, sharing.ErrClientAuth) {
		t.Errorf("expired token: %v", err)
	}
	_, receipt, _, _ := b.issue(caf, b.subscribe(t, caf, b.owner, vault.KindCAF), "k", vault.KindCAF, "A")
	if _, err := b.s.DepositClient(ctx, pub, receipt, now); !errors.Is(err, sharing.ErrClientAuth) {
		t.Errorf("a receipt taken for a token: %v", err)
	}
	if err := b.s.RemoveClient(ctx, caf.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.DepositClient(ctx, pub, tok, now); !errors.Is(err, sharing.ErrClientAuth) {
		t.Errorf("token of a removed client: %v", err)
	}
	reader, _, err := b.s.AddClient(ctx, sharing.NewClient{Name: "Lecteur", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindCAF}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sharing.DepositToken(b.Signing, reader, now); !errors.Is(err, sharing.ErrClientAuth) {
		t.Errorf("a deposit token for a client that deposits nothing: %v", err)
	}
}
