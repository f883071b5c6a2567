package vault_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"coffre/vault"
)

// leakWriter keeps whatever a reader gives before it fails.
type leakWriter struct{ got bytes.Buffer }

func (w *leakWriter) Write(p []byte) (int, error) { return w.got.Write(p) }

// TestSwappedObjectRefusedBeforeAnyByte: another of the owner's papers copied over a
// blob's object decrypts under the owner's key, and only its SHA-256 at the end tells it
// apart; a paper of another length is refused before a single byte of it is given, so
// that whoever may read one paper (a service, a link) is not served another.
//
// One of the same length is refused by its SHA-256 before its final block is given: a
// paper shorter than a block gives nothing.
func TestSwappedObjectRefusedBeforeAnyByte(t *testing.T) {
	t.Parallel()
	t.Run("another length", func(t *testing.T) {
		t.Parallel()
		swapAndRead(t, bytes.Repeat([]byte("quittance "), 200<<10), bytes.Repeat([]byte("revenu fiscal "), 150<<10))
	})
	t.Run("same length, within a block", func(t *testing.T) {
		t.Parallel()
		swapAndRead(t, bytes.Repeat([]byte("quittance "), 20000), bytes.Repeat([]byte("QUITTANCE "), 20000))
	})
}

func swapAndRead(t *testing.T, askedData, otherData []byte) {
	t.Helper()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	asked := b.deposit(t, owner, by, "Quittance", askedData)
	other := b.deposit(t, owner, by, "Avis d'imposition", otherData)
	src, err := b.store.Get(ctx, other.Blobs[0].ID.String())
	if err != nil {
		t.Fatal(err)
	}
	ct, err := io.ReadAll(src)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.Put(ctx, asked.Blobs[0].ID.String(), bytes.NewReader(ct), int64(len(ct))); err != nil {
		t.Fatal(err)
	}
	r, err := b.v.Open(ctx, owner, asked.ID, asked.Blobs[0].ID, by, vault.ActionView)
	var w leakWriter
	if err == nil {
		_, err = io.Copy(&w, r)
		r.Close()
	}
	if !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("swapped object read: %v, want ErrIntegrity", err)
	}
	if w.got.Len() > 0 {
		t.Fatalf("%d bytes of another paper given before the refusal", w.got.Len())
	}
	integrity := 0
	for _, a := range b.actions(t, owner) {
		if a == vault.ActionIntegrity {
			integrity++
		}
	}
	if integrity != 1 {
		t.Fatalf("journal has %d integrity failures, want 1", integrity)
	}
}
