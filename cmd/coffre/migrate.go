package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/migrations"
	"coffre/vault"
)

const migrateUsage = `Usage: coffre migrate

Applies every pending database migration (Coffre's schema, then the job queue's) in order,
one transaction per file, and creates the S3 bucket COFFRE_S3_BUCKET if it does not exist.
Then seals with each owner's key what older versions kept in clear (the kind of each
paper), and puts in the search index the titles and kinds of papers deposited before it
existed; those steps need the master key (COFFRE_MASTER_KEY_FILE), and only when there is
something to do. Safe to run again, and from several machines at once.
`

func runMigrate(ctx context.Context, cfg Config, _ *flag.FlagSet, _ []string, stdout io.Writer) error {
	log := newLogger(cfg)
	pool, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrations.Up(ctx, pool, log); err != nil {
		return err
	}
	version, err := migrations.Version(ctx, pool)
	if err != nil {
		return err
	}
	blobs, err := openBlobs(cfg)
	if err != nil {
		return err
	}
	if err := sealClearKinds(ctx, cfg, pool, blobs, log, stdout); err != nil {
		return err
	}
	if err := indexDocuments(ctx, cfg, pool, blobs, log, stdout); err != nil {
		return err
	}
	if s3, ok := blobs.(*vault.S3Store); ok {
		if err := s3.EnsureBucket(ctx); err != nil {
			return hinted{err, "check COFFRE_S3_ENDPOINT and the S3 credentials"}
		}
	}
	fmt.Fprintf(stdout, "coffre: database at schema version %d\n", version)
	return nil
}

// sealClearKinds seals the kinds that documents written before migration 9 keep in
// clear: SQL cannot, having no key. Without any, it needs no key file.
func sealClearKinds(ctx context.Context, cfg Config, pool *pgxpool.Pool, blobs vault.BlobStore, log *slog.Logger, stdout io.Writer) error {
	n, err := vault.ClearKinds(ctx, pool)
	if err != nil {
		return err
	}
	if n == 0 {
		return vault.ValidateSealedKinds(ctx, pool)
	}
	keys, err := loadKeyring(cfg)
	if err != nil {
		return err
	}
	v, err := vault.New(ctx, vault.Config{DB: pool, Blobs: blobs, Keys: keys, Log: log, Now: time.Now})
	if err != nil {
		return hinted{err, "COFFRE_MASTER_KEY_FILE must be the key file this database was set up with"}
	}
	sealed, err := v.SealClearKinds(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: sealed the kind of %d documents\n", sealed)
	return nil
}

// indexDocuments puts in the search index the titles and kinds of the papers deposited
// before migration 14: SQL cannot, having no key. Without any, it needs no key file.
func indexDocuments(ctx context.Context, cfg Config, pool *pgxpool.Pool, blobs vault.BlobStore, log *slog.Logger, stdout io.Writer) error {
	n, err := vault.UnindexedDocuments(ctx, pool)
	if err != nil || n == 0 {
		return err
	}
	keys, err := loadKeyring(cfg)
	if err != nil {
		return err
	}
	v, err := vault.New(ctx, vault.Config{DB: pool, Blobs: blobs, Keys: keys, Log: log, Now: time.Now})
	if err != nil {
		return hinted{err, "COFFRE_MASTER_KEY_FILE must be the key file this database was set up with"}
	}
	indexed, err := v.IndexDocuments(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: indexed the title and kind of %d documents for search\n", indexed)
	return nil
}
