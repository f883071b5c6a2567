package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"coffre/migrations"
	"coffre/vault"
)

const migrateUsage = `Usage: coffre migrate

Applies every pending database migration (Coffre's schema, then the job queue's) in order,
one transaction per file, and creates the S3 bucket COFFRE_S3_BUCKET if it does not exist.
Safe to run again, and from several machines at once.
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
	if s3, ok := blobs.(*vault.S3Store); ok {
		if err := s3.EnsureBucket(ctx); err != nil {
			return hinted{err, "check COFFRE_S3_ENDPOINT and the S3 credentials"}
		}
	}
	fmt.Fprintf(stdout, "coffre: database at schema version %d\n", version)
	return nil
}
