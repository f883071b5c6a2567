package vault_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestClosedSafeTakesNoRowEvenBehindVault: the database itself (the documents trigger,
// which reads owners.open since migration 19) refuses a paper written straight into a
// closed or erased safe, whatever path skipped vault's checks; reopened, the safe takes
// one again.
func TestClosedSafeTakesNoRowEvenBehindVault(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	insert := func() error {
		_, err := b.db.Exec(ctx, `INSERT INTO documents (id, owner_id, kind_sealed, title_sealed, depositor_kind, depositor_id, created_at)
			VALUES ($1, $2, '\x01'::bytea, '\x01'::bytea, 'owner', $3, now())`, uuid.New(), owner, owner.String())
		return err
	}
	refused := func(when string) {
		t.Helper()
		var pe *pgconn.PgError
		if err := insert(); !errors.As(err, &pe) || pe.Code != "CF001" {
			t.Errorf("%s: a paper written straight into the safe: %v, want SQLSTATE CF001", when, err)
		}
	}
	if err := insert(); err != nil {
		t.Fatalf("open safe: %v", err)
	}
	if _, err := b.v.CloseSafe(ctx, owner, by, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	refused("closed")
	if err := b.v.ReopenSafe(ctx, owner, by); err != nil {
		t.Fatal(err)
	}
	if err := insert(); err != nil {
		t.Errorf("reopened safe: %v", err)
	}
	if _, err := b.v.CloseSafe(ctx, owner, by, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Second)
	if n, err := b.v.EraseDue(ctx); err != nil || n != 1 {
		t.Fatalf("erase: %d, %v", n, err)
	}
	refused("erased")
}
