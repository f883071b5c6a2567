package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/account/notify"
)

func newLogger(cfg Config) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
}

func openDB(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, hinted{fmt.Errorf("COFFRE_DATABASE_URL: %w", err), "set COFFRE_DATABASE_URL to a postgres:// URL"}
	}
	// pgx's default (4 connections on 2 cores) queues a server's concurrent requests:
	// each download waits on a few short queries and commits. pool_max_conns in the URL
	// still wins.
	if !strings.Contains(cfg.DatabaseURL, "pool_max_conns") {
		pc.MaxConns = 25
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, hinted{fmt.Errorf("COFFRE_DATABASE_URL: %w", err), "set COFFRE_DATABASE_URL to a postgres:// URL"}
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, hinted{fmt.Errorf("cannot reach PostgreSQL: %w", err), "is PostgreSQL running? for a local one: scripts/postgres.sh start"}
	}
	return pool, nil
}

func openBlobs(cfg Config) (vault.BlobStore, error) {
	if cfg.S3Endpoint == "" {
		return vault.NewFSStore(cfg.BlobDir)
	}
	return vault.NewS3Store(vault.S3Config{
		Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, AccessKey: cfg.S3AccessKey,
		SecretKey: cfg.S3SecretKey, Region: cfg.S3Region, TLS: cfg.S3TLS,
		NoTrailingChecksum: !cfg.S3TrailingChecksum,
	})
}

func loadKeyring(cfg Config) (*vault.Keyring, error) {
	keys, err := vault.LoadKeyring(cfg.MasterKeyFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, hinted{fmt.Errorf("no master key at %s", cfg.MasterKeyFile), "create one with 'coffre keys init', or set COFFRE_MASTER_KEY_FILE"}
		}
		return nil, err
	}
	return keys, nil
}

func loadSigningKey(cfg Config) (ed25519.PrivateKey, error) {
	key, err := vault.LoadSigningKey(cfg.SigningKeyFile)
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return nil, hinted{fmt.Errorf("no signing key at %s", cfg.SigningKeyFile), "create one with 'coffre keys init', or set COFFRE_SIGNING_KEY_FILE"}
	}
	return key, err
}

// services are the packages that keep tables beside the vault's, wired to it as its
// participants (vault.AddParticipant): closing and erasing a safe, and rotating the
// master key, reach their tables in the vault's transactions.
type services struct {
	accounts *account.Service
	sharing  *sharing.Service
	notify   *notify.Service // set by openVault
}

// wire builds the services over v and hands them to it. Messages to owners are queued in
// River's tables by an insert-only client: 'coffre serve' works them, whichever command
// queued them.
func wire(cfg Config, pool *pgxpool.Pool, v *vault.Vault, log *slog.Logger) *services {
	var queue account.Queue
	if q, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: log}); err != nil {
		log.Error("no queue for messages to owners", "err", err)
	} else {
		queue = q
	}
	accounts := account.New(account.Config{DB: pool, Vault: v, Log: log, Now: time.Now, Queue: queue, SignUps: cfg.SignUps})
	s := &services{accounts: accounts, sharing: sharing.New(pool, v, accounts)}
	v.AddParticipant(s.accounts)
	v.AddParticipant(s.sharing)
	return s
}

// openVault opens everything the domain needs, wired (see services). The caller closes
// the pool. wrap, when given, wraps the blob store (serve times it).
func openVault(ctx context.Context, cfg Config, log *slog.Logger, wrap ...func(vault.BlobStore) vault.BlobStore) (*vault.Vault, *pgxpool.Pool, *services, error) {
	keys, err := loadKeyring(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	blobs, err := openBlobs(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, w := range wrap {
		if w != nil {
			blobs = w(blobs)
		}
	}
	pool, err := openDB(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	v, err := vault.New(ctx, vault.Config{DB: pool, Blobs: blobs, Keys: keys, Log: log, Now: time.Now})
	if err != nil {
		pool.Close()
		if errors.Is(err, vault.ErrWrongMasterKey) {
			return nil, nil, nil, hinted{err, "COFFRE_MASTER_KEY_FILE must be the key file this database was set up with, holding every key still in use (after 'coffre keys rotate', copy the new file to every instance)"}
		}
		return nil, nil, nil, hinted{err, "has the database been migrated? run 'coffre migrate'"}
	}
	// Documents of an older version keep their kind in clear until 'coffre migrate' seals
	// it: nothing may run on them meanwhile.
	if n, err := vault.ClearKinds(ctx, pool); err != nil || n > 0 {
		pool.Close()
		if err == nil {
			err = fmt.Errorf("%d documents still keep their kind in clear", n)
		}
		return nil, nil, nil, hinted{err, "run 'coffre migrate'"}
	}
	s := wire(cfg, pool, v, log)
	if s.notify, err = newNotifier(cfg, pool, v, s, log); err != nil {
		pool.Close()
		return nil, nil, nil, err
	}
	return v, pool, s, nil
}
