package vaulttest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// erasureKeeps are the tables whose rows of an erased owner stay, and why: the owner row
// itself (shredded, no key, no login: what the journal's chain is about), documents as
// tombstones (every sealed column emptied: journal entries name them), the journal and its
// heads and checkpoints (the law asks for the trace; the personal part is erased), and
// the desk openings (two IDs and a date for a structure's figures, which the journal
// already holds).
var erasureKeeps = map[string]bool{ //nolint:gochecknoglobals // a constant table
	"owners": true, "documents": true, "journal": true, "journal_heads": true,
	"journal_checkpoint_heads": true, "assisted_openings": true,
}

// AssertErased checks that nothing that identifies or authenticates the erased owners is
// left: every table with an owner_id column but those of erasureKeeps holds no row of
// theirs, whatever tables later migrations add.
func AssertErased(t testing.TB, db *pgxpool.Pool, owners ...uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Query(ctx, `SELECT table_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'owner_id' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 10 {
		t.Fatalf("only %d tables with an owner_id: %v", len(tables), tables)
	}
	for _, table := range tables {
		if erasureKeeps[table] {
			continue
		}
		var n int
		if err := db.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE owner_id = ANY($1)`, pgx.Identifier{table}.Sanitize()), owners).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s keeps %d rows of an erased safe", table, n)
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM documents WHERE owner_id = ANY($1)
		AND (title_sealed <> '' OR kind_sealed <> '' OR kind IS NOT NULL OR issued_on IS NOT NULL OR expires_on IS NOT NULL)`, owners).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d documents of an erased safe keep sealed metadata", n)
	}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM owners WHERE id = ANY($1)
		AND (login IS NOT NULL OR identity_wrapped IS NOT NULL OR shredded_at IS NULL)`, owners).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d erased owners keep a login or keys", n)
	}
}
