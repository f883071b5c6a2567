package vault_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// hooked is a second vault on b's database and store, whose test hooks can be set without
// touching b.v.
func (b *testBundle) hooked(t *testing.T) *vault.Vault {
	t.Helper()
	v, err := vault.New(context.Background(), vault.Config{DB: b.db, Blobs: b.store, Keys: b.keys})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (b *testBundle) objectExists(t *testing.T, key string) bool {
	t.Helper()
	r, err := b.store.Get(context.Background(), key)
	if errors.Is(err, vault.ErrBlobNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	return true
}

// A COMMIT whose answer is lost (the connection drops) may have succeeded: the deposit
// must then keep its files. Whether it committed is checked on a fresh connection.
func TestAmbiguousCommit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	v := b.hooked(t)
	lost := errors.New("read tcp 127.0.0.1:5432: connection reset by peer")
	nd := func(data string) vault.NewDocument {
		return vault.NewDocument{Kind: vault.KindCAF, Title: "Attestation", Files: []vault.File{
			{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: bytes.NewReader([]byte(data)), Size: int64(len(data))},
		}}
	}

	// The commit went through, and then the connection dropped.
	vault.SetCommitHook(v, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return lost
	})
	d, err := v.Deposit(ctx, owner, by, nd("attestation de paiement"))
	if err != nil {
		t.Errorf("deposit that committed: %v, want success", err)
	}
	docs, err := b.v.Documents(ctx, owner)
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents after a commit with a lost answer: %d, %v; want 1", len(docs), err)
	}
	if d != nil && d.ID != docs[0].ID {
		t.Errorf("deposit returned %s, the safe holds %s", d.ID, docs[0].ID)
	}
	if got, err := b.read(t, owner, by, &docs[0]); err != nil || string(got) != "attestation de paiement" {
		t.Fatalf("committed document: %q, %v; its files must stay", got, err)
	}

	// The connection dropped before the COMMIT reached the server: nothing is visible, and
	// the files wait for the reaper, which alone knows when no commit can come any more.
	vault.SetCommitHook(v, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		return lost
	})
	if _, err := v.Deposit(ctx, owner, by, nd("quittance")); err == nil {
		t.Fatal("deposit that did not commit succeeded")
	}
	if docs, err := b.v.Documents(ctx, owner); err != nil || len(docs) != 1 {
		t.Fatalf("documents after a lost commit: %d, %v; want the first one only", len(docs), err)
	}
	if n := countRows(t, b.db, "blob_uploads"); n != 1 {
		t.Fatalf("%d upload markers after an unsure commit, want 1 left for the reaper", n)
	}
	if n, err := b.v.ReapUploads(ctx, 0); err != nil || n != 1 {
		t.Fatalf("reaper: %d, %v; want 1", n, err)
	}
	if n := countObjects(t, b); n != 1 {
		t.Fatalf("%d objects after the reaper, want the committed document's only", n)
	}
	if got, err := b.read(t, owner, by, &docs[0]); err != nil || string(got) != "attestation de paiement" {
		t.Fatalf("committed document after the reaper: %q, %v", got, err)
	}
}

// The reaper deletes an object only once the removal of its marker has committed: a
// reaper transaction that rolls back deletes nothing, so a deposit waiting on that marker
// can still commit with its file.
func TestReaperRollbackDeletesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, _ := b.owner(t)
	orphan := vault.UploadWithoutCommit(t, b.v, owner, []byte("orphan"))
	v := b.hooked(t)
	rollback := errors.New("connection lost before COMMIT")
	vault.SetBeforeCommitHook(v, func(what string) error { return rollback })
	if _, err := v.ReapUploads(ctx, 0); !errors.Is(err, rollback) {
		t.Fatalf("reaper with a failing commit: %v", err)
	}
	if !b.objectExists(t, orphan.ID.String()) {
		t.Fatal("a reaper transaction that rolled back deleted the object")
	}
	if n := countRows(t, b.db, "blob_uploads"); n != 1 {
		t.Fatalf("%d upload markers after a rolled-back reaper, want 1", n)
	}
	if n, err := b.v.ReapUploads(ctx, 0); err != nil || n != 1 {
		t.Fatalf("reaper: %d, %v", n, err)
	}
	if b.objectExists(t, orphan.ID.String()) || countRows(t, b.db, "blob_uploads") != 0 {
		t.Fatal("the reaper left the orphan or its marker")
	}
}

// A marker whose object a blobs row references (a stale marker, or one written by
// someone with database access) never makes the reaper delete a document's file.
func TestReaperSparesReferencedObjects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	d := b.deposit(t, owner, by, "RIB", []byte("FR76 3000 6000"))
	if _, err := b.db.Exec(ctx, `INSERT INTO blob_uploads (id) VALUES ($1)`, d.Blobs[0].ID); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(24 * time.Hour) // a stale marker
	if _, err := b.v.ReapUploads(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := b.read(t, owner, by, d); err != nil || string(got) != "FR76 3000 6000" {
		t.Fatalf("document after the reaper met a marker of its file: %q, %v", got, err)
	}
	if n := countRows(t, b.db, "blob_uploads"); n != 0 {
		t.Fatalf("%d markers left; the stale marker should be dropped", n)
	}
}

// The purge of deleted documents removes their rows first and their objects only after
// the commit: a purge that rolls back leaves the document and its files whole.
func TestPurgeRollbackDeletesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	d := b.deposit(t, owner, by, "Quittance", []byte("avril"))
	if err := b.v.DeleteDocument(ctx, owner, d.ID, by); err != nil {
		t.Fatal(err)
	}
	v := b.hooked(t)
	rollback := errors.New("connection lost before COMMIT")
	vault.SetBeforeCommitHook(v, func(what string) error { return rollback })
	if _, err := v.PurgeDeleted(ctx, 0); !errors.Is(err, rollback) {
		t.Fatalf("purge with a failing commit: %v", err)
	}
	if !b.objectExists(t, d.Blobs[0].ID.String()) {
		t.Fatal("a purge that rolled back deleted the object of a row still there")
	}
	if n := countRows(t, b.db, "blobs"); n != 1 {
		t.Fatalf("%d blob rows after a rolled-back purge, want 1", n)
	}
	if n, err := b.v.PurgeDeleted(ctx, 0); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	if b.objectExists(t, d.Blobs[0].ID.String()) {
		t.Fatal("purged object still in the store")
	}
	if n := countRows(t, b.db, "blob_uploads"); n != 0 {
		t.Fatalf("%d markers left after the purge", n)
	}
}
