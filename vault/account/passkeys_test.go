package account_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
)

func TestPasskeys(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	o, err := b.v.CreateOwner(ctx, "ines", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.v.CreateOwner(ctx, "theo", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	by := vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}
	cred := []byte(`{"publicKey":"secret-looking public key material"}`)
	p, err := b.a.AddPasskey(ctx, o.ID, []byte("cred-1"), cred, by)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.a.AddPasskey(ctx, other.ID, []byte("cred-1"), cred, by); !errors.Is(err, account.ErrPasskeyTaken) {
		t.Fatalf("same credential twice: %v", err)
	}
	var sealed []byte
	if err := b.db.QueryRow(ctx, `SELECT credential_sealed FROM passkeys WHERE id = $1`, p.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("public key")) {
		t.Fatal("the credential is stored in clear")
	}
	if owner, err := b.a.PasskeyOwner(ctx, []byte("cred-1")); err != nil || owner != o.ID {
		t.Fatalf("PasskeyOwner = %v, %v", owner, err)
	}
	if err := b.a.UsePasskey(ctx, o.ID, []byte("cred-1"), []byte(`{"signCount":2}`), netip.MustParseAddr("192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	keys, err := b.a.Passkeys(ctx, o.ID)
	if err != nil || len(keys) != 1 || string(keys[0].Credential) != `{"signCount":2}` || keys[0].LastUsedAt == nil {
		t.Fatalf("Passkeys = %+v, %v", keys, err)
	}
	if err := b.a.UsePasskey(ctx, other.ID, []byte("cred-1"), cred, netip.Addr{}); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("using another owner's passkey: %v", err)
	}
	if _, err := b.a.DeletePasskey(ctx, other.ID, p.ID, by, uuid.Nil); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("deleting another owner's passkey: %v", err)
	}
	_, here, err := b.a.CreateSession(ctx, o.ID, "passkey", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, _, err := b.a.CreateSession(ctx, o.ID, "passkey", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := b.a.DeletePasskey(ctx, o.ID, p.ID, by, here.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.a.SessionByToken(ctx, elsewhere, time.Hour); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("another session after removing a passkey: %v", err)
	}
	if s, err := b.a.SessionByToken(ctx, renewed, time.Hour); err != nil || s.ID != here.ID {
		t.Errorf("the session the passkey was removed from: %+v, %v", s, err)
	}

	t.Run("ceremonies are used once and expire", func(t *testing.T) {
		if err := b.a.SaveCeremony(ctx, "cookie", "login", []byte("challenge"), account.PasskeyCeremonyTTL); err != nil {
			t.Fatal(err)
		}
		if _, err := b.a.TakeCeremony(ctx, "other-cookie", "login"); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("another browser's ceremony: %v", err)
		}
		got, err := b.a.TakeCeremony(ctx, "cookie", "login")
		if err != nil || string(got) != "challenge" {
			t.Fatalf("TakeCeremony = %q, %v", got, err)
		}
		if _, err := b.a.TakeCeremony(ctx, "cookie", "login"); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("second use: %v", err)
		}
		if err := b.a.SaveCeremony(ctx, "cookie", "login", []byte("old"), account.PasskeyCeremonyTTL); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(account.PasskeyCeremonyTTL)
		if _, err := b.a.TakeCeremony(ctx, "cookie", "login"); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("expired ceremony: %v", err)
		}
	})

	// A person who takes three minutes at FranceConnect still comes back to a live state;
	// a passkey ceremony is long dead by then.
	t.Run("the OpenID Connect state outlives a passkey ceremony", func(t *testing.T) {
		if err := b.a.SaveCeremony(ctx, "cookie", "openid", []byte("state"), account.OpenIDStateTTL); err != nil {
			t.Fatal(err)
		}
		if err := b.a.SaveCeremony(ctx, "cookie", "login", []byte("challenge"), account.PasskeyCeremonyTTL); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(3 * time.Minute)
		if got, err := b.a.TakeCeremony(ctx, "cookie", "openid"); err != nil || string(got) != "state" {
			t.Errorf("OpenID state after 3 minutes: %q, %v", got, err)
		}
		if _, err := b.a.TakeCeremony(ctx, "cookie", "login"); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("passkey ceremony after 3 minutes: %v", err)
		}
		if err := b.a.SaveCeremony(ctx, "cookie", "openid", []byte("state"), account.OpenIDStateTTL); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(account.OpenIDStateTTL + time.Second)
		if _, err := b.a.TakeCeremony(ctx, "cookie", "openid"); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("OpenID state past its lifetime: %v", err)
		}
	})
}
