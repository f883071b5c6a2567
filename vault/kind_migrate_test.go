package vault_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"coffre/migrations"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/vaulttest"
)

// A database written before migration 9 (at schema 8, which vault.New needs) keeps kinds in clear, link purposes in clear in
// the journal, and the sign-in rows of safes already erased. Migrating it, then sealing
// the kinds as 'coffre migrate' does, leaves none of that, loses no paper and keeps the
// journal verifiable.
func TestMigrationSealsOldKinds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, vaulttest.EmptyDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "master.key")
	if _, err := vault.GenerateMasterKey(keyPath); err != nil {
		t.Fatal(err)
	}
	keys, err := vault.LoadKeyring(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	store, err := vault.NewFSStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(ctx, vault.Config{DB: pool, Blobs: store, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}

	// The old way: kinds in clear, a purpose copied into the journal.
	o, err := v.CreateOwner(ctx, "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	by := vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}
	permit := vault.InsertLegacyDocument(t, v, o.ID, vault.KindTitreSejour, "Récépissé de la préfecture")
	caf := vault.InsertLegacyDocument(t, v, o.ID, vault.KindCAF, "Attestation CAF")
	const purpose = "Préfecture, rendez-vous asile"
	if err := v.Record(ctx, o.ID, vault.Event{Actor: by, Action: "link_created", Detail: purpose}); err != nil {
		t.Fatal(err)
	}
	if err := v.Record(ctx, o.ID, vault.Event{Actor: by, Action: account.ActionLogin, Detail: "passkey"}); err != nil {
		t.Fatal(err)
	}
	// A safe erased the old way: keys and login gone, the FranceConnect identity left.
	accounts := account.New(account.Config{DB: pool, Vault: v})
	erased, err := accounts.CreateOpenIDOwner(ctx, "https://fc.example/", "sub-erased", []byte(`{"given_name":"Awa"}`), vault.System)
	if err != nil {
		t.Fatal(err)
	}
	vault.InsertLegacyDocument(t, v, erased.ID, vault.KindIdentite, "Passeport")
	if _, err := pool.Exec(ctx, `UPDATE documents SET title_sealed = '' WHERE owner_id = $1`, erased.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE owners SET identity_wrapped = NULL, data_key_wrapped = NULL, shredded_at = now() WHERE id = $1`, erased.ID); err != nil {
		t.Fatal(err)
	}

	if err := migrations.Up(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	// The erased safe's kind needs no key: the SQL migration empties it.
	if n, err := vault.ClearKinds(ctx, pool); err != nil || n != 2 {
		t.Fatalf("clear kinds after the SQL migration: %d, %v; want 2", n, err)
	}
	if n, err := v.SealClearKinds(ctx); err != nil || n != 2 {
		t.Fatalf("seal: %d, %v; want 2 documents", n, err)
	}
	if n, err := v.SealClearKinds(ctx); err != nil || n != 0 {
		t.Fatalf("second run: %d, %v; want nothing to do", n, err)
	}
	if n, err := vault.ClearKinds(ctx, pool); err != nil || n != 0 {
		t.Fatalf("clear kinds left: %d, %v", n, err)
	}
	var validated bool
	if err := pool.QueryRow(ctx, `SELECT convalidated FROM pg_constraint WHERE conname = 'documents_kind_sealed'`).Scan(&validated); err != nil || !validated {
		t.Fatalf("the constraint keeping kinds sealed is not validated: %v", err)
	}
	if _, err := pool.Exec(ctx, `UPDATE documents SET kind = 'caf' WHERE id = $1`, caf); err == nil {
		t.Fatal("the database took a kind in clear after sealing")
	}

	docs, err := v.Documents(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]vault.Kind{}
	for _, d := range docs {
		got[d.Title] = d.Kind
	}
	if len(docs) != 2 || got["Récépissé de la préfecture"] != vault.KindTitreSejour || got["Attestation CAF"] != vault.KindCAF {
		t.Fatalf("documents after sealing: %v", got)
	}
	if d, err := v.Document(ctx, o.ID, permit, by); err != nil || d.Kind != vault.KindTitreSejour {
		t.Fatalf("the permit after sealing: %v, %v", d, err)
	}
	rows, err := pool.Query(ctx, `SELECT d::text FROM documents d`)
	if err != nil {
		t.Fatal(err)
	}
	dump, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range dump {
		// ("caf" is left out: it is also a run of hexadecimal digits.)
		for _, k := range []vault.Kind{vault.KindTitreSejour, vault.KindIdentite} {
			if strings.Contains(row, string(k)) {
				t.Errorf("a kind is still in clear: %s", row)
			}
		}
	}

	// The purpose copied into the journal is erased, the rest of the personal data kept,
	// and the chain still verifies.
	entries, err := v.Journal(ctx, o.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		_, detail := e.PersonalData()
		switch {
		case e.Action == "link_created" && e.Personal != nil:
			t.Errorf("the purpose stays in the journal: %s", e.Personal)
		case e.Action == account.ActionLogin && detail != "passkey":
			t.Errorf("a login entry lost its detail: %q", detail)
		}
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	if rep, err := v.VerifyJournal(ctx, pub); err != nil || len(rep.Breaks) > 0 {
		t.Fatalf("journal after migration: %+v, %v", rep, err)
	}

	// The identity of the safe erased before is free: the same person gets a new safe.
	again, err := accounts.CreateOpenIDOwner(ctx, "https://fc.example/", "sub-erased", []byte(`{"given_name":"Awa"}`), vault.System)
	if err != nil {
		t.Fatalf("the identity of an erased safe is still taken: %v", err)
	}
	if found, err := accounts.OwnerByOpenID(ctx, "https://fc.example/", "sub-erased"); err != nil || found != again.ID {
		t.Fatalf("sign-in after the migration: %v, %v", found, err)
	}
}
