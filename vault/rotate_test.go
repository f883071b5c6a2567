package vault_test

import (
	"context"
	"errors"
	"testing"

	"filippo.io/age"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
)

// waitForLock returns once the backend pid waits on a lock. The statement it runs
// reports on done: if it ends first, it did not wait for the other transaction.
func waitForLock(t *testing.T, db *pgxpool.Pool, pid uint32, done <-chan error) {
	t.Helper()
	for {
		select {
		case err := <-done:
			t.Fatalf("the statement did not wait for the concurrent transaction: %v", err)
		default:
		}
		var waiting bool
		if err := db.QueryRow(context.Background(),
			`SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
	}
}

func inUse(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55006"
}

// The database alone decides whether a master key may retire, whoever asks and in
// whatever order concurrent transactions run: never while anything is wrapped to it, and
// nothing is wrapped to a retired key.
func TestMasterKeyRetireGuard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, _ := b.owner(t)
	key := func(recipient string) int {
		var id int
		if err := b.db.QueryRow(ctx, `INSERT INTO master_keys (recipient) VALUES ($1) RETURNING id`, recipient).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	insertOwner := func(q interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	}, keyID int) error {
		_, err := q.Exec(ctx, `INSERT INTO owners (id, recipient, identity_wrapped, data_key_wrapped, master_key_id)
			VALUES ($1, 'age1test', '\x01', '\x01', $2)`, uuid.New(), keyID)
		return err
	}
	retire := func(q interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	}, keyID int) error {
		_, err := q.Exec(ctx, `UPDATE master_keys SET retired_at = now() WHERE id = $1`, keyID)
		return err
	}

	// The first key wraps an owner: it cannot retire, nor change its recipient.
	var first int
	if err := b.db.QueryRow(ctx, `SELECT master_key_id FROM owners WHERE id = $1`, owner).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if err := retire(b.db, first); !inUse(err) {
		t.Fatalf("retiring a key an owner uses: %v, want object_in_use", err)
	}
	if _, err := b.db.Exec(ctx, `UPDATE master_keys SET recipient = 'age1other' WHERE id = $1`, first); err == nil {
		t.Fatal("the recipient of a master key changed")
	}

	// A key wrapping nothing retires; nothing can be wrapped to it afterwards.
	unused := key("age1unused")
	if err := retire(b.db, unused); err != nil {
		t.Fatalf("retiring an unused key: %v", err)
	}
	if err := insertOwner(b.db, unused); !inUse(err) {
		t.Fatalf("owner wrapped to a retired key: %v, want object_in_use", err)
	}

	// A wrap in flight holds the retirement off, and the retirement then sees it.
	racing := key("age1racing")
	wrapper, err := b.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer wrapper.Rollback(ctx)
	if err := insertOwner(wrapper, racing); err != nil {
		t.Fatal(err)
	}
	conn, err := b.db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	done := make(chan error, 1)
	go func() { done <- retire(conn, racing) }()
	waitForLock(t, b.db, conn.Conn().PgConn().PID(), done)
	if err := wrapper.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !inUse(err) {
		t.Fatalf("retirement racing a wrap that committed: %v, want object_in_use", err)
	}

	// A retirement in flight holds the wrap off, and the wrap then sees the key retired.
	late := key("age1late")
	retirer, err := b.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer retirer.Rollback(ctx)
	if err := retire(retirer, late); err != nil {
		t.Fatal(err)
	}
	go func() { done <- insertOwner(conn, late) }()
	waitForLock(t, b.db, conn.Conn().PgConn().PID(), done)
	if err := retirer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !inUse(err) {
		t.Fatalf("wrap racing a retirement that committed: %v, want object_in_use", err)
	}
}

// Someone with write access to the database registers a master key of their own: it
// becomes the newest, but no process wraps anything to a key its key file does not hold.
func TestForeignMasterKeyNotUsed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, _ := b.owner(t)
	foreign, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	b.exec(t, `INSERT INTO master_keys (recipient) VALUES ($1)`, foreign.Recipient().String())
	if _, err := b.v.CreateOwner(ctx, "", vault.System); !errors.Is(err, vault.ErrWrongMasterKey) {
		t.Fatalf("create owner with a foreign current key: %v, want ErrWrongMasterKey", err)
	}
	if _, _, err := b.v.WrapServiceSecret(ctx, []byte("JBSWY3DPEHPK3PXP")); !errors.Is(err, vault.ErrWrongMasterKey) {
		t.Fatalf("wrap a service secret to a foreign key: %v, want ErrWrongMasterKey", err)
	}
	if _, _, err := b.v.Rewrap(ctx, vault.System, 10, nil); !errors.Is(err, vault.ErrWrongMasterKey) {
		t.Fatalf("rewrap to a foreign key: %v, want ErrWrongMasterKey", err)
	}
	var wrappedToForeign int
	if err := b.db.QueryRow(ctx, `SELECT count(*) FROM master_key_uses u JOIN master_keys k ON k.id = u.master_key_id
		WHERE k.recipient = $1`, foreign.Recipient().String()).Scan(&wrappedToForeign); err != nil || wrappedToForeign != 0 {
		t.Fatalf("%d secrets wrapped to the foreign key (%v)", wrappedToForeign, err)
	}
	if _, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: b.store, Keys: b.keys}); !errors.Is(err, vault.ErrWrongMasterKey) {
		t.Fatalf("start with a foreign current key: %v, want ErrWrongMasterKey", err)
	}
	if _, err := b.v.Documents(ctx, owner); err != nil {
		t.Fatalf("existing safe: %v", err)
	}
}
