package sharing_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"filippo.io/age"

	"coffre/sharing"
	"coffre/vault"
)

// Someone with write access to the database and the bucket swaps a shared document's
// file for one of their own making (a valid ciphertext to the owner's public key) and
// fixes its row's SHA-256 and size to match. The link refuses it: its document list,
// what a receipt is signed from, fails; the file is not served; the download is not
// counted; the owner's history records an integrity failure.
func TestSubstitutedFileGetsNoReceipt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.link(t, sharing.NewLink{Purpose: "CAF"})
	pdf := b.doc.Blob(vault.RoleRendition)

	o, err := b.V.Owner(ctx, b.owner)
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := age.ParseX25519Recipient(o.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	fake := []byte("%PDF-1.7 attestation falsifiée")
	var ct bytes.Buffer
	w, _ := age.Encrypt(&ct, rcpt)
	if _, err := w.Write(fake); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Store.Put(ctx, pdf.ID.String(), &ct, int64(ct.Len())); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(fake)
	if _, err := b.DB.Exec(ctx, `UPDATE blobs SET sha256 = $2, size = $3 WHERE id = $1`, pdf.ID, sum[:], len(fake)); err != nil {
		t.Fatal(err)
	}

	l, err := b.s.Resolve(ctx, c.Token)
	if err != nil {
		t.Fatal(err)
	}
	if docs, err := b.s.Documents(ctx, l); !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("link documents after substitution: %d documents, %v; want ErrIntegrity (no receipt)", len(docs), err)
	}
	if r, err := b.s.Open(ctx, l, b.doc.ID, pdf.ID, b.ip, vault.ActionDownload, ""); !errors.Is(err, vault.ErrIntegrity) {
		if r != nil {
			r.Close()
		}
		t.Fatalf("open after substitution: %v, want ErrIntegrity", err)
	}
	links, err := b.s.Links(ctx, b.owner)
	if err != nil || len(links) != 1 || links[0].Downloads != 0 {
		t.Fatalf("links %+v, %v; the refused download must not count", links, err)
	}
	if a := b.actions(t); a[vault.ActionIntegrity] == 0 || a[vault.ActionDownload] != 0 {
		t.Fatalf("journal %v: want an integrity failure and no download", a)
	}
}
