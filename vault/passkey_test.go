package vault_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"testing"

	"coffre/vault"
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
	p, err := b.v.AddPasskey(ctx, o.ID, []byte("cred-1"), cred, by)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.AddPasskey(ctx, other.ID, []byte("cred-1"), cred, by); !errors.Is(err, vault.ErrPasskeyTaken) {
		t.Fatalf("same credential twice: %v", err)
	}
	var sealed []byte
	if err := b.db.QueryRow(ctx, `SELECT credential_sealed FROM passkeys WHERE id = $1`, p.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("public key")) {
		t.Fatal("the credential is stored in clear")
	}
	if owner, err := b.v.PasskeyOwner(ctx, []byte("cred-1")); err != nil || owner != o.ID {
		t.Fatalf("PasskeyOwner = %v, %v", owner, err)
	}
	if err := b.v.UsePasskey(ctx, o.ID, []byte("cred-1"), []byte(`{"signCount":2}`), netip.MustParseAddr("192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	keys, err := b.v.Passkeys(ctx, o.ID)
	if err != nil || len(keys) != 1 || string(keys[0].Credential) != `{"signCount":2}` || keys[0].LastUsedAt == nil {
		t.Fatalf("Passkeys = %+v, %v", keys, err)
	}
	if err := b.v.UsePasskey(ctx, other.ID, []byte("cred-1"), cred, netip.Addr{}); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("using another owner's passkey: %v", err)
	}
	if err := b.v.DeletePasskey(ctx, other.ID, p.ID, by); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("deleting another owner's passkey: %v", err)
	}
	if err := b.v.DeletePasskey(ctx, o.ID, p.ID, by); err != nil {
		t.Fatal(err)
	}

	t.Run("ceremonies are used once and expire", func(t *testing.T) {
		if err := b.v.SaveCeremony(ctx, "cookie", "login", []byte("challenge")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.v.TakeCeremony(ctx, "other-cookie", "login"); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("another browser's ceremony: %v", err)
		}
		got, err := b.v.TakeCeremony(ctx, "cookie", "login")
		if err != nil || string(got) != "challenge" {
			t.Fatalf("TakeCeremony = %q, %v", got, err)
		}
		if _, err := b.v.TakeCeremony(ctx, "cookie", "login"); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("second use: %v", err)
		}
		b.v.SaveCeremony(ctx, "cookie", "login", []byte("old"))
		if _, err := b.db.Exec(ctx, `UPDATE webauthn_ceremonies SET expires_at = now() - interval '1s'`); err != nil {
			t.Fatal(err)
		}
		if _, err := b.v.TakeCeremony(ctx, "cookie", "login"); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("expired ceremony: %v", err)
		}
	})
}

func TestOpenIDOwners(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	const iss = "https://fc.example/api/v2"
	if _, err := b.v.OwnerByOpenID(ctx, iss, "sub-1"); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("unknown subject: %v", err)
	}
	o, err := b.v.CreateOpenIDOwner(ctx, iss, "sub-1", []byte(`{"family_name":"Martin"}`), vault.System)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.v.OwnerByOpenID(ctx, iss, "sub-1"); err != nil || got != o.ID {
		t.Fatalf("OwnerByOpenID = %v, %v", got, err)
	}
	if _, err := b.v.OwnerByOpenID(ctx, "https://other.example", "sub-1"); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("same subject, other issuer: %v", err)
	}
	var dump []byte
	if err := b.db.QueryRow(ctx, `SELECT subject_sha256 || claims_sealed FROM openid_identities`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(dump, []byte("Martin")) || bytes.Contains(dump, []byte("sub-1")) {
		t.Fatal("the identity is stored in clear")
	}
	if err := b.v.RecordOpenIDLogin(ctx, o.ID, []byte(`{"family_name":"Martin-Durand"}`), "franceconnect", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	claims, err := b.v.OpenIDClaims(ctx, o.ID)
	if err != nil || string(claims) != `{"family_name":"Martin-Durand"}` {
		t.Fatalf("OpenIDClaims = %s, %v", claims, err)
	}
}
