package vault_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
)

// TestBindOldBlobs: a row written before header MACs is bound to its object in the
// background, without a trace in its owner's history; it still reads, and from then on
// another paper of the same length copied over its object is refused at the opening,
// before any byte (unbound, the reader would get most of it before the SHA-256 fails).
// A second run finds nothing more to do.
func TestBindOldBlobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	data := bytes.Repeat([]byte("quittance "), 100<<10)
	d := b.deposit(t, owner, by, "Quittance", data)
	other := b.deposit(t, owner, by, "Avis d'imposition", bytes.Repeat([]byte("QUITTANCE "), 100<<10))
	vault.ForgetHeaderMAC(t, b.v, owner, d.ID, d.Blobs[0].ID)
	before := b.actions(t, owner)

	if bound, failed, err := b.v.BindOldBlobs(ctx, 100); err != nil || bound != 1 || failed != 0 {
		t.Fatalf("bind: %d bound, %d failed, %v; want 1, 0, nil", bound, failed, err)
	}
	if got := b.headerMAC(t, d.Blobs[0].ID); len(got) != 32 {
		t.Fatalf("header MAC of %d bytes recorded, want 32", len(got))
	}
	if after := b.actions(t, owner); !slices.Equal(after, before) {
		t.Fatalf("the history went from %v to %v", before, after)
	}
	if bound, failed, err := b.v.BindOldBlobs(ctx, 100); err != nil || bound != 0 || failed != 0 {
		t.Fatalf("second run: %d bound, %d failed, %v; want 0, 0, nil", bound, failed, err)
	}
	// The row's new MAC verifies: the paper is listed and reads back whole.
	if _, err := b.v.Document(ctx, owner, d.ID, by); err != nil {
		t.Fatalf("document: %v", err)
	}
	got, err := b.read(t, owner, by, d)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after binding: %d bytes, %v", len(got), err)
	}

	b.copyObject(t, other.Blobs[0].ID, d.Blobs[0].ID)
	b.refusedBeforeAnyByte(t, owner, by, d)
}

// TestBindOldBlobsRefusesWhatFails: a row whose object was swapped before it was bound,
// whose object is missing, or which was changed in the database (its header MAC cleared),
// is not bound, and is journaled as an integrity failure once, however many runs and
// processes; the good row beside them is bound.
func TestBindOldBlobsRefusesWhatFails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	good := b.deposit(t, owner, by, "Attestation", []byte("attestation CAF"))
	swapped := b.deposit(t, owner, by, "Quittance", bytes.Repeat([]byte("quittance "), 30<<10))
	other := b.deposit(t, owner, by, "Avis d'imposition", bytes.Repeat([]byte("QUITTANCE "), 30<<10))
	missing := b.deposit(t, owner, by, "Facture", []byte("facture EDF"))
	cleared := b.deposit(t, owner, by, "Bail", []byte("bail"))
	for _, d := range []*vault.Document{good, swapped, missing} {
		vault.ForgetHeaderMAC(t, b.v, owner, d.ID, d.Blobs[0].ID)
	}
	b.copyObject(t, other.Blobs[0].ID, swapped.Blobs[0].ID)
	if err := b.store.Delete(ctx, missing.Blobs[0].ID.String()); err != nil {
		t.Fatal(err)
	}
	// Someone who can write to the database clears a header MAC: the row's MAC, which
	// covers it, fails, and the row must not get a new one.
	if _, err := b.db.Exec(ctx, `UPDATE blobs SET header_mac = NULL WHERE id = $1`, cleared.Blobs[0].ID); err != nil {
		t.Fatal(err)
	}

	if bound, failed, err := b.v.BindOldBlobs(ctx, 100); err != nil || bound != 1 || failed != 3 {
		t.Fatalf("bind: %d bound, %d failed, %v; want 1, 3, nil", bound, failed, err)
	}
	if bound, failed, err := b.v.BindOldBlobs(ctx, 100); err != nil || bound != 0 || failed != 0 {
		t.Fatalf("second run: %d bound, %d failed, %v; want 0, 0, nil", bound, failed, err)
	}
	// Another process (or this one restarted) does not try them again either.
	v2, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: b.store, Keys: b.keys})
	if err != nil {
		t.Fatal(err)
	}
	if bound, failed, err := v2.BindOldBlobs(ctx, 100); err != nil || bound != 0 || failed != 0 {
		t.Fatalf("run of another process: %d bound, %d failed, %v; want 0, 0, nil", bound, failed, err)
	}
	if n := b.integrityFailures(t, owner); n != 3 {
		t.Fatalf("journal has %d integrity failures, want 3 (one per failed row)", n)
	}
	if len(b.headerMAC(t, good.Blobs[0].ID)) != 32 {
		t.Fatal("the good row was not bound")
	}
	for _, d := range []*vault.Document{swapped, missing, cleared} {
		if got := b.headerMAC(t, d.Blobs[0].ID); got != nil {
			t.Fatalf("%s: a row that failed was bound", d.Title)
		}
	}
	// The swapped row still fails on a read, as it did before: nothing was made of it.
	if _, err := b.read(t, owner, by, swapped); !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("read of the swapped row: %v, want ErrIntegrity", err)
	}
}

// TestBindOldBlobsStoreAmiss: an instance whose store is misconfigured (a bucket that
// does not exist), where every object would seem missing, binds nothing and marks
// nothing: no integrity failure lands in anyone's history, and a sound instance binds the
// rows afterwards.
func TestBindOldBlobsStoreAmiss(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	d := b.deposit(t, owner, by, "Quittance", []byte("quittance de loyer"))
	vault.ForgetHeaderMAC(t, b.v, owner, d.ID, d.Blobs[0].ID)
	wrong := b.s3
	wrong.Bucket += "-absent"
	store, err := vault.NewS3Store(wrong)
	if err != nil {
		t.Fatal(err)
	}
	amiss, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: store, Keys: b.keys})
	if err != nil {
		t.Fatal(err)
	}
	if bound, failed, err := amiss.BindOldBlobs(ctx, 100); err == nil || bound != 0 || failed != 0 {
		t.Fatalf("bind with a store amiss: %d bound, %d failed, %v; want 0, 0 and an error", bound, failed, err)
	}
	if n := b.integrityFailures(t, owner); n != 0 {
		t.Fatalf("journal has %d integrity failures, want none", n)
	}
	if bound, failed, err := b.v.BindOldBlobs(ctx, 100); err != nil || bound != 1 || failed != 0 {
		t.Fatalf("bind with the right store: %d bound, %d failed, %v; want 1, 0, nil", bound, failed, err)
	}
}

// TestBindOldBlobsRunsInBatches: a run takes at most limit rows, and the next ones take
// the rest; a row that failed is not taken again, nor journaled again.
func TestBindOldBlobsRunsInBatches(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	var docs []*vault.Document
	for i := range 4 {
		d := b.deposit(t, owner, by, "Quittance", bytes.Repeat([]byte{byte(i)}, 1000))
		vault.ForgetHeaderMAC(t, b.v, owner, d.ID, d.Blobs[0].ID)
		docs = append(docs, d)
	}
	b.copyObject(t, docs[3].Blobs[0].ID, docs[0].Blobs[0].ID)
	var bound, failed int
	for i := range 6 {
		n, f, err := b.v.BindOldBlobs(ctx, 1)
		if err != nil || n+f > 1 {
			t.Fatalf("run %d with a limit of 1: %d bound, %d failed, %v", i+1, n, f, err)
		}
		bound, failed = bound+n, failed+f
	}
	if bound != 3 || failed != 1 {
		t.Fatalf("%d bound and %d failed in all, want 3 and 1", bound, failed)
	}
	if n := b.integrityFailures(t, owner); n != 1 {
		t.Fatalf("journal has %d integrity failures, want 1", n)
	}
}

// TestBindOldBlobsSkipsDeletedAndErased: the old rows of a deleted paper and of an erased
// safe are left alone, without an error or a journal entry; those of a closed safe, still
// readable by its owner until it is erased, are bound, without an access in its history.
func TestBindOldBlobsSkipsDeletedAndErased(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	old := func(owner uuid.UUID, by vault.Actor) *vault.Document {
		t.Helper()
		d := b.deposit(t, owner, by, "Quittance", []byte("quittance de loyer"))
		vault.ForgetHeaderMAC(t, b.v, owner, d.ID, d.Blobs[0].ID)
		return d
	}
	deleter, by := b.owner(t)
	deleted := old(deleter, by)
	if err := b.v.DeleteDocument(ctx, deleter, deleted.ID, by); err != nil {
		t.Fatal(err)
	}
	erased, by := b.owner(t)
	old(erased, by)
	closed, by := b.owner(t)
	kept := old(closed, by)
	if _, err := b.v.CloseSafe(ctx, erased, vault.System, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.CloseSafe(ctx, closed, vault.System, 0); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Second)
	if n, err := b.v.EraseDue(ctx); err != nil || n != 1 {
		t.Fatalf("erase: %d, %v", n, err)
	}
	deleterHistory, closedHistory := b.actions(t, deleter), b.actions(t, closed)

	if bound, failed, err := b.v.BindOldBlobs(ctx, 100); err != nil || bound != 1 || failed != 0 {
		t.Fatalf("bind: %d bound, %d failed, %v; want 1, 0, nil", bound, failed, err)
	}
	if b.headerMAC(t, deleted.Blobs[0].ID) != nil {
		t.Fatal("the row of a deleted paper was bound")
	}
	if len(b.headerMAC(t, kept.Blobs[0].ID)) != 32 {
		t.Fatal("the row of a closed safe was not bound")
	}
	if got := b.actions(t, deleter); !slices.Equal(got, deleterHistory) {
		t.Fatalf("the history of the deleted paper's owner went from %v to %v", deleterHistory, got)
	}
	if got := b.actions(t, closed); !slices.Equal(got, closedHistory) {
		t.Fatalf("the closed safe's history went from %v to %v", closedHistory, got)
	}
}

// headerMAC reads the header MAC recorded on blob's row (nil for none).
func (b *testBundle) headerMAC(t *testing.T, blob uuid.UUID) []byte {
	t.Helper()
	var mac []byte
	if err := b.db.QueryRow(context.Background(), `SELECT header_mac FROM blobs WHERE id = $1`, blob).Scan(&mac); err != nil {
		t.Fatal(err)
	}
	return mac
}
