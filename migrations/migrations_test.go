package migrations_test

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/migrations"
	"coffre/vault/vaulttest"
)

func TestUpFromEmpty(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, vaulttest.EmptyDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := migrations.Up(ctx, pool, nil); err != nil {
		t.Fatalf("up from empty: %v", err)
	}
	// A second run has nothing to do and must not fail.
	if err := migrations.Up(ctx, pool, nil); err != nil {
		t.Fatalf("second up: %v", err)
	}
	version, err := migrations.Version(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if want := latest(t); version != want {
		t.Fatalf("schema version %d, want %d", version, want)
	}
	for _, table := range []string{"owners", "documents", "blobs", "blob_uploads", "journal", "journal_heads", "journal_checkpoints", "river_job"} {
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil || !exists {
			t.Errorf("table %s missing after migration (%v)", table, err)
		}
	}
}

func latest(t *testing.T) int64 {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	return int64(len(names))
}

// Migrations are forward-only and numbered without gaps: 00001, 00002…
func TestFilesForwardOnly(t *testing.T) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(`^(\d{5})_[a-z0-9_]+\.sql$`)
	for i, name := range names {
		m := pattern.FindStringSubmatch(name)
		if m == nil {
			t.Errorf("%s: name must be NNNNN_description.sql", name)
			continue
		}
		if want := i + 1; m[1] != fmt.Sprintf("%05d", want) {
			t.Errorf("%s: expected number %05d (no gaps, no duplicates)", name, want)
		}
		body, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), "-- +goose Up") {
			t.Errorf("%s: missing '-- +goose Up'", name)
		}
		if strings.Contains(string(body), "-- +goose Down") {
			t.Errorf("%s: has a Down section; migrations are forward-only", name)
		}
	}
}
