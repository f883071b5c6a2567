package vault_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"coffre/vault"
)

// Pages waiting to be sent read back only for their owner, as they were stored, are no
// paper of the safe, and go when dropped or reaped.
func TestPendingPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, _ := b.owner(t)
	other, _ := b.owner(t)
	page1, page2 := []byte("première page de l'avis d'imposition"), []byte("deuxième page")

	p1, err := b.v.PutPending(ctx, owner, page1)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := b.v.PutPending(ctx, owner, page2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.v.ReadPending(ctx, owner, p1); err != nil || !bytes.Equal(got, page1) {
		t.Fatalf("read back: %q %v", got, err)
	}
	// Stored encrypted: the object holds no byte of the page in clear.
	r, err := b.store.Get(ctx, p1.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	var stored bytes.Buffer
	if _, err := stored.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if bytes.Contains(stored.Bytes(), []byte("avis d'imposition")) {
		t.Error("a waiting page is stored in clear")
	}
	// No paper: nothing lists it.
	if docs, err := b.v.Documents(ctx, owner); err != nil || len(docs) != 0 {
		t.Errorf("waiting pages listed as papers: %v %v", docs, err)
	}

	// Someone else's page answers as a missing one, and stays.
	if _, err := b.v.ReadPending(ctx, other, p1); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("another owner reads a waiting page: %v", err)
	}
	if err := b.v.DropPending(ctx, other, []vault.PendingPage{p1}); err != nil {
		t.Fatal(err)
	}
	if !b.objectExists(t, p1.ID.String()) {
		t.Error("another owner dropped a waiting page")
	}
	// A page that does not read back as stored (its record changed) is refused.
	bad := p1
	bad.SHA256 = bytes.Repeat([]byte{1}, 32)
	if _, err := b.v.ReadPending(ctx, owner, bad); !errors.Is(err, vault.ErrIntegrity) {
		t.Errorf("a page with another SHA-256: %v", err)
	}
	bad = p1
	bad.Size--
	if _, err := b.v.ReadPending(ctx, owner, bad); !errors.Is(err, vault.ErrIntegrity) {
		t.Errorf("a page of another size: %v", err)
	}
	// A document's file is never read as a waiting page.
	d := b.deposit(t, owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, "Attestation", []byte("attestation"))
	fake := vault.PendingPage{ID: d.Blobs[0].ID, Size: d.Blobs[0].Size, SHA256: d.Blobs[0].SHA256}
	if _, err := b.v.ReadPending(ctx, owner, fake); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("a document's file read as a waiting page: %v", err)
	}
	if err := b.v.DropPending(ctx, owner, []vault.PendingPage{fake}); err != nil {
		t.Fatal(err)
	}
	if !b.objectExists(t, fake.ID.String()) {
		t.Fatal("dropping a document's file as a waiting page deleted it")
	}

	// Dropped: gone.
	if err := b.v.DropPending(ctx, owner, []vault.PendingPage{p1}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.ReadPending(ctx, owner, p1); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("a dropped page: %v", err)
	}
	if b.objectExists(t, p1.ID.String()) {
		t.Error("a dropped page's object is still stored")
	}
	// Never sent: the reaper takes it after the upload grace, not before.
	if n, err := b.v.ReapUploads(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("reaped %d before the grace: %v", n, err)
	}
	if _, err := b.v.ReadPending(ctx, owner, p2); err != nil {
		t.Fatalf("a waiting page within the grace: %v", err)
	}
	if _, err := b.db.Exec(ctx, `UPDATE blob_uploads SET started_at = now() - interval '2 hours' WHERE id = $1`, p2.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := b.v.ReapUploads(ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("reaped %d after the grace: %v", n, err)
	}
	if _, err := b.v.ReadPending(ctx, owner, p2); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("a reaped page: %v", err)
	}
	if b.objectExists(t, p2.ID.String()) {
		t.Error("a reaped page's object is still stored")
	}
	if !b.objectExists(t, fake.ID.String()) {
		t.Error("the reaper deleted a document's file")
	}
}
