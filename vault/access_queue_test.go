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
