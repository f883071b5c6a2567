package sharing_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/vaulttest"
)

// exampleSafe is a sharing service on a real database and bucket (vaulttest), its clock
// the vault's, and an owner with one paper in their safe.
func exampleSafe(tb *vaulttest.ExampleTB) (*vaulttest.Bundle, *sharing.Service, vault.Actor, *vault.Document) {
	b := vaulttest.NewVault(tb)
	s := sharing.NewService(sharing.Config{DB: b.DB, Vault: b.V, Accounts: b.A, Now: b.Clock.Now})
	b.V.AddParticipant(s) // closing the safe ends its links
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
	return b, s, by, d
}

// An owner shares a paper with the person at a counter: a link for one download, with a
// code said aloud. The recipient opens it with the token of its URL, types the code and
// downloads the paper; the link then gives nothing more, and the owner's history shows
// each step.
func ExampleService_CreateLink() {
	tb := &vaulttest.ExampleTB{}
	defer tb.Close()
	b, s, by, d := exampleSafe(tb)
	ctx := context.Background()
	owner := d.OwnerID

	c, err := s.CreateLink(ctx, owner, by, sharing.NewLink{
		Documents: []uuid.UUID{d.ID}, Purpose: "CAF – aide au logement",
		Lifetime: 24 * time.Hour, MaxDownloads: 1, WithCode: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	// The owner gives c.Token (in a URL or a QR code) and says c.Code aloud.

	counter := netip.MustParseAddr("198.51.100.7")
	l, err := s.Resolve(ctx, c.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(errors.Is(s.CheckCode(ctx, l, c.Token, "000000x", counter), sharing.ErrWrongCode))
	if err := s.CheckCode(ctx, l, c.Token, c.Code, counter); err != nil {
		log.Fatal(err)
	}
	if err := s.Opened(ctx, l, counter); err != nil {
		log.Fatal(err)
	}
	docs, err := s.Documents(ctx, l)
	if err != nil {
		log.Fatal(err)
	}
	r, err := s.Open(ctx, l, docs[0].ID, docs[0].Blobs[0].ID, counter, vault.ActionDownload, "")
	if err != nil {
		log.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Purpose, "—", docs[0].Title, "—", string(got))

	_, err = s.Resolve(ctx, c.Token) // its one download is used
	fmt.Println(errors.Is(err, sharing.ErrUnavailable))

	entries, err := b.V.Journal(ctx, owner, 0, 10)
	if err != nil {
		log.Fatal(err)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		fmt.Println(entries[i].Action)
	}
	// Output:
	// true
	// CAF – aide au logement — Attestation CAF de mars — %PDF-1.7 attestation de paiement CAF
	// true
	// owner_created
	// deposit
	// link_created
	// link_code_failed
	// link_opened
	// download
}

// A link ends at the end of its lifetime: past it, the recipient gets ErrUnavailable, the
// same answer as for a link that never existed.
func ExampleService_Resolve_expired() {
	tb := &vaulttest.ExampleTB{}
	defer tb.Close()
	b, s, by, d := exampleSafe(tb)
	ctx := context.Background()

	c, err := s.CreateLink(ctx, d.OwnerID, by, sharing.NewLink{Documents: []uuid.UUID{d.ID}, Lifetime: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	_, err = s.Resolve(ctx, c.Token)
	fmt.Println(err)
	b.Clock.Advance(time.Hour)
	_, err = s.Resolve(ctx, c.Token)
	fmt.Println(err)
	// Output:
	// <nil>
	// link unavailable
}
