package vault_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/google/uuid"

	"coffre/vault"
)

// Accesses to one safe that come at once are journaled together (access_queue.go): each
// still gets its own entry, committed before its reader is returned, in one unbroken
// chain; and one refused by its requirement is refused alone, whatever else shared its burst.
func TestConcurrentAccessesToOneSafe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	d := b.deposit(t, owner, by, "avis", []byte("avis d'imposition"))
	refuse := errors.New("refused by its requirement")
	const clients = 32
	var wg sync.WaitGroup
	errs := make([]error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := vault.Access{Actor: by, Action: vault.ActionDownload, Detail: fmt.Sprint("client ", i)}
			a.Require = func(*vault.Blob) *vault.Requirement {
				if i%4 == 3 {
					return &vault.Requirement{SQL: `UPDATE owners SET id = id WHERE false`, Refused: refuse}
				}
				return &vault.Requirement{SQL: `UPDATE owners SET id = id WHERE id = $1`, Args: []any{owner}, Refused: refuse}
			}
			r, err := b.v.OpenAccess(ctx, owner, d.ID, d.Blobs[0].ID, a)
			if err == nil {
				// The entry is committed before the reader is returned.
				if !journaled(t, b, owner, fmt.Sprint("client ", i)) {
					t.Errorf("client %d got a reader before its access was journaled", i)
				}
				_, err = io.Copy(io.Discard, r)
				r.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%4 == 3; want != errors.Is(err, refuse) || (!want && err != nil) {
			t.Errorf("client %d: %v", i, err)
		}
	}
	downloads := 0
	for _, a := range b.actions(t, owner) {
		if a == vault.ActionDownload {
			downloads++
		}
	}
	if want := clients - clients/4; downloads != want {
		t.Fatalf("%d downloads journaled, want %d", downloads, want)
	}
	rep, err := b.v.VerifyJournal(ctx, b.signing.Public().(ed25519.PublicKey))
	if err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("journal after the burst: %+v, %v", rep, err)
	}
}

func journaled(t *testing.T, b *testBundle, owner uuid.UUID, detail string) bool {
	t.Helper()
	entries, err := b.v.Journal(context.Background(), owner, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range entries {
		if _, d := entries[i].PersonalData(); d == detail {
			n++
		}
	}
	return n == 1
}

// Opens without a requirement read their blob's row in their journal transaction: in a
// burst, one asking for a blob that is missing, or is another person's, is refused alone
// with ErrNotFound and journaled as a failed attempt; the others are journaled as usual.
func TestConcurrentOpensOneRowMissing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	d := b.deposit(t, owner, by, "avis", []byte("avis d'imposition"))
	other, otherBy := b.owner(t)
	theirs := b.deposit(t, other, otherBy, "rib", []byte("FR76"))
	const clients = 32
	var wg sync.WaitGroup
	errs := make([]error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blob := d.Blobs[0].ID
			switch i % 8 {
			case 3:
				blob = uuid.New()
			case 7:
				blob = theirs.Blobs[0].ID
			}
			r, err := b.v.Open(ctx, owner, d.ID, blob, by, vault.ActionDownload)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(r)
				r.Close()
				if err == nil && string(got) != "avis d'imposition" {
					err = fmt.Errorf("read %q", got)
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%8 == 3 || i%8 == 7; want != errors.Is(err, vault.ErrNotFound) || (!want && err != nil) {
			t.Errorf("client %d: %v", i, err)
		}
	}
	count := map[vault.Action]int{}
	for _, a := range b.actions(t, owner) {
		count[a]++
	}
	if count[vault.ActionDownload] != clients*3/4 || count[vault.ActionDenied] != clients/4 {
		t.Fatalf("journal has %d downloads and %d refusals, want %d and %d",
			count[vault.ActionDownload], count[vault.ActionDenied], clients*3/4, clients/4)
	}
	for _, a := range b.actions(t, other) {
		if a == vault.ActionDownload || a == vault.ActionDenied {
			t.Fatalf("the other person's journal has a %s", a)
		}
	}
	rep, err := b.v.VerifyJournal(ctx, b.signing.Public().(ed25519.PublicKey))
	if err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("journal after the burst: %+v, %v", rep, err)
	}
}
