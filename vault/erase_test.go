package vault_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/vaulttest"
)

// Erasure removes every row that identifies or authenticates the person, in the same
// transaction as the shredding: the login and FranceConnect identity are free again,
// and the person who comes back gets a new, working safe.
func TestErasureLeavesNoWayIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ip := netip.MustParseAddr("198.51.100.9")
	const login, secret = "amina.k@example.org", "une phrase secrète assez longue"
	person, err := b.a.CreateAccount(ctx, login, secret, vault.System)
	if err != nil {
		t.Fatal(err)
	}
	by := vault.Actor{Kind: vault.ActorOwner, ID: person.ID.String(), IP: ip}
	b.deposit(t, person.ID, by, "Titre de séjour", []byte("%PDF"))
	if _, _, err := b.a.CreateSession(ctx, person.ID, "password", "Firefox sur Android", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := b.a.AddPasskey(ctx, person.ID, []byte("credential-id-of-amina"), []byte(`{"public_key":"..."}`), by); err != nil {
		t.Fatal(err)
	}
	desk := vault.Actor{Kind: vault.ActorAidant, ID: uuid.NewString(), IP: ip}
	if _, err := b.a.IssueAccessCode(ctx, person.ID, "Tulipe-Marron-4827-Sable", 72*time.Hour, true, desk, "Mme D. (CCAS de Lille)"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.a.Authenticate(ctx, login, "pas la bonne phrase du tout", ip); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("wrong secret: %v", err)
	}
	// A passkey ceremony under way: the challenge names the person's user handle.
	ceremony := fmt.Sprintf(`{"challenge":"abc","user_id":%q}`, base64.StdEncoding.EncodeToString(person.ID[:]))
	if err := b.a.SaveCeremony(ctx, "browser-cookie", "register", []byte(ceremony), 2*time.Minute); err != nil {
		t.Fatal(err)
	}

	const issuer, subject = "https://fc.example/", "fc-subject-1"
	claims := []byte(`{"given_name":"Awa","family_name":"Diallo"}`)
	fc, err := b.a.CreateOpenIDOwner(ctx, issuer, subject, claims, vault.System)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.a.RecordOpenIDLogin(ctx, fc.ID, claims, "franceconnect", ip); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.a.CreateSession(ctx, fc.ID, "franceconnect", "Chrome", time.Hour); err != nil {
		t.Fatal(err)
	}
	// Creating the same identity twice fails and leaves no half-made safe behind.
	var owners int
	count := func() int {
		t.Helper()
		var n int
		if err := b.db.QueryRow(ctx, `SELECT count(*) FROM owners`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	owners = count()
	if _, err := b.a.CreateOpenIDOwner(ctx, issuer, subject, claims, vault.System); err == nil {
		t.Fatal("a second safe for the same identity")
	}
	if n := count(); n != owners {
		t.Fatalf("a failed creation left %d owners behind", n-owners)
	}

	for _, o := range []uuid.UUID{person.ID, fc.ID} {
		if _, err := b.v.CloseSafe(ctx, o, vault.System, time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	b.clock.Advance(time.Second)
	if n, err := b.v.EraseDue(ctx); err != nil || n != 2 {
		t.Fatalf("erase: %d, %v", n, err)
	}

	vaulttest.AssertErased(t, b.db, person.ID, fc.ID)
	throttle := sha256.Sum256([]byte("login:" + login))
	for q, arg := range map[string]any{
		`SELECT count(*) FROM login_throttle WHERE key = $1`:                             throttle[:],
		`SELECT count(*) FROM webauthn_ceremonies WHERE position($1::bytea in data) > 0`: []byte(base64.StdEncoding.EncodeToString(person.ID[:])),
	} {
		var n int
		if err := b.db.QueryRow(ctx, q, arg).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d rows left", q, n)
		}
	}
	pub := b.signing.Public().(ed25519.PublicKey)
	if rep, err := b.v.VerifyJournal(ctx, pub); err != nil || len(rep.Breaks) > 0 {
		t.Fatalf("journal after erasure: %+v, %v", rep, err)
	}

	// The person comes back: the login and the identity are free, the new safes work.
	again, err := b.a.CreateAccount(ctx, login, secret, vault.System)
	if err != nil {
		t.Fatalf("the login of an erased safe is still taken: %v", err)
	}
	if o, err := b.a.Authenticate(ctx, login, secret, ip); err != nil || o.ID != again.ID {
		t.Fatalf("sign-in with the freed login: %v, %v", o, err)
	}
	fresh, err := b.a.CreateOpenIDOwner(ctx, issuer, subject, claims, vault.System)
	if err != nil {
		t.Fatalf("the FranceConnect identity of an erased safe is still taken: %v", err)
	}
	if o, err := b.a.OwnerByOpenID(ctx, issuer, subject); err != nil || o != fresh.ID || o == fc.ID {
		t.Fatalf("FranceConnect finds %v, %v; want the new safe", o, err)
	}
	if err := b.a.RecordOpenIDLogin(ctx, fresh.ID, claims, "franceconnect", ip); err != nil {
		t.Fatal(err)
	}
	if docs, err := b.v.Documents(ctx, fresh.ID); err != nil || len(docs) != 0 {
		t.Fatalf("the new safe: %v, %v", docs, err)
	}
}
