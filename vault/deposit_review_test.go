package vault_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// slowStore answers a Put late: the body is read at once, the object is written only
// after a delay, as a store finishing an upload while the deposit writes its rows.
type slowStore struct {
	vault.BlobStore
	delay  time.Duration
	cancel context.CancelFunc // if set, called once the body is read
}

func (s slowStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.cancel != nil {
		s.cancel()
	}
	time.Sleep(s.delay)
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.BlobStore.Put(context.WithoutCancel(ctx), key, bytes.NewReader(data), size)
}

// TestDepositFailureWhileUploading: a deposit that fails while its uploads are still
// finishing (its rows refused, its context cancelled) leaves no row, no object and no
// upload marker: the uploads are waited for before their objects are deleted.
func TestDepositFailureWhileUploading(t *testing.T) {
	t.Parallel()
	refused := errors.New("refused by the caller")
	cases := map[string]struct {
		within func(context.Context, pgx.Tx, *vault.Document) error
		cancel bool
	}{
		"rows refused":      {within: func(context.Context, pgx.Tx, *vault.Document) error { return refused }},
		"context cancelled": {cancel: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			owner, by := b.owner(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := slowStore{BlobStore: b.store, delay: 300 * time.Millisecond}
			if c.cancel {
				store.cancel = cancel
			}
			v, err := vault.New(context.Background(), vault.Config{DB: b.db, Blobs: store, Keys: b.keys})
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.DepositWithin(ctx, owner, by, vault.NewDocument{Kind: vault.KindBanque, Title: "RIB", Files: []vault.File{
				{Role: vault.RoleOriginal, MediaType: "image/jpeg", Body: bytes.NewReader(make([]byte, 100<<10)), Size: 100 << 10},
				{Role: vault.RoleRendition, MediaType: "application/pdf", Body: newPattern(300 << 10), Size: -1},
			}}, c.within)
			if err == nil {
				t.Fatal("deposit succeeded")
			}
			time.Sleep(2 * store.delay) // an upload left running would land by now
			if n := countRows(t, b.db, "documents"); n != 0 {
				t.Errorf("%d documents after a failed deposit", n)
			}
			if n := countRows(t, b.db, "blobs"); n != 0 {
				t.Errorf("%d blob rows after a failed deposit", n)
			}
			if n := countObjects(t, b); n != 0 {
				t.Errorf("%d objects left after a failed deposit", n)
			}
			if n := countRows(t, b.db, "blob_uploads"); n != 0 {
				t.Errorf("%d upload markers left after a failed deposit", n)
			}
			for _, a := range b.actions(t, owner) {
				if a == vault.ActionDeposit {
					t.Error("a failed deposit is journaled")
				}
			}
		})
	}
}
