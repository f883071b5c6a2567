package vault_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"coffre/vault"
	"coffre/vault/vaulttest"
)

// A person deposits a paper in their safe, then reads it back: the vault encrypts it to
// their own key, checks its hash on the way out, and journals both.
func Example() {
	tb := &vaulttest.ExampleTB{}
	defer tb.Close()
	b := vaulttest.NewVault(tb)
	ctx := context.Background()

	o, err := b.V.CreateOwner(ctx, "amina", vault.System)
	if err != nil {
		log.Fatal(err)
	}
	by := vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}
	paper := []byte("%PDF-1.7 attestation de paiement CAF")
	d, err := b.V.Deposit(ctx, o.ID, by, vault.NewDocument{
		Kind: vault.KindCAF, Title: "Attestation CAF de mars",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Name: "caf.pdf",
			Body: bytes.NewReader(paper), Size: int64(len(paper))}},
	})
	if err != nil {
		log.Fatal(err)
	}
	r, err := b.V.Open(ctx, o.ID, d.ID, d.Blobs[0].ID, by, vault.ActionDownload)
	if err != nil {
		log.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Title, "—", string(got))

	entries, err := b.V.Journal(ctx, o.ID, 0, 10)
	if err != nil {
		log.Fatal(err)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		fmt.Println(entries[i].Action)
	}
	// Output:
	// Attestation CAF de mars — %PDF-1.7 attestation de paiement CAF
	// owner_created
	// deposit
	// download
}

// Another owner's document answers ErrNotFound, as a missing one does, and the attempt is
// journaled in the history of the owner it belongs to.
func ExampleVault_Open_notYours() {
	tb := &vaulttest.ExampleTB{}
	defer tb.Close()
	b := vaulttest.NewVault(tb)
	ctx := context.Background()

	owner, err := b.V.CreateOwner(ctx, "", vault.System)
	if err != nil {
		log.Fatal(err)
	}
	other, err := b.V.CreateOwner(ctx, "", vault.System)
	if err != nil {
		log.Fatal(err)
	}
	by := vault.Actor{Kind: vault.ActorOwner, ID: owner.ID.String()}
	paper := []byte("avis d'imposition")
	d, err := b.V.Deposit(ctx, owner.ID, by, vault.NewDocument{
		Kind: vault.KindImpots, Title: "Avis d'imposition",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "text/plain", Name: "avis.txt",
			Body: bytes.NewReader(paper), Size: int64(len(paper))}},
	})
	if err != nil {
		log.Fatal(err)
	}
	intruder := vault.Actor{Kind: vault.ActorOwner, ID: other.ID.String()}
	_, err = b.V.Open(ctx, other.ID, d.ID, d.Blobs[0].ID, intruder, vault.ActionDownload)
	fmt.Println(errors.Is(err, vault.ErrNotFound))
	entries, err := b.V.Journal(ctx, owner.ID, 0, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(entries[0].Action)
	// Output:
	// true
	// denied
}
