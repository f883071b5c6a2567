package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Vault is the core of Coffre: owners, their encrypted documents and their journal. It is
// safe for concurrent use, and several processes may share one database and blob store.
type Vault struct {
	db    *pgxpool.Pool
	blobs BlobStore
	keys  *Keyring
	log   *slog.Logger
	now   func() time.Time
	hooks testHooks

	// participants take part in the transactions about a whole safe (AddParticipant).
	participants []Participant
	// accesses journals concurrent accesses to one safe together (journalAccess).
	accesses accessQueue
	// bindOld is what BindOldBlobs remembers between its runs.
	bindOld bindOldState
}

// Config is what a Vault is built from.
type Config struct {
	DB    *pgxpool.Pool // a migrated database
	Blobs BlobStore
	Keys  *Keyring     // the master keyring
	Log   *slog.Logger // nil: discard
	// Now is the clock: every time that decides something (expiries, retention, the
	// reaper's grace, checkpoints) is read from it and passed to SQL as a parameter, so
	// that tests move time instead of sleeping. Nil means time.Now.
	Now func() time.Time
}

// testHooks let this package's tests (export_test.go) fail a step at a point no real
// component fails on cue. They are nil outside tests.
type testHooks struct {
	// commit replaces the COMMIT of a deposit: a test commits and then reports a lost
	// connection, as a network would.
	commit func(ctx context.Context, tx pgx.Tx) error
	// beforeCommit runs inside the reaper's and the purge's transactions, just before
	// they commit; an error rolls them back.
	beforeCommit func(what string) error
}

// New returns a vault over a migrated database, a blob store and the master keyring. It
// refuses a keyring that lacks a master key something is still wrapped to (an owner's
// keys, an agent's TOTP secret), or the current one (ErrWrongMasterKey, naming the key),
// so that a misconfigured process stops at start instead of failing on every request.
func New(ctx context.Context, cfg Config) (*Vault, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Vault{db: cfg.DB, blobs: cfg.Blobs, keys: cfg.Keys, log: cfg.Log, now: cfg.Now,
		accesses: accessQueue{owners: map[uuid.UUID][]*pendingAccess{}}}
	if err := v.checkMasterKey(ctx); err != nil {
		return nil, err
	}
	if err := v.authenticateOldBlobs(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// checkMasterKey compares the keyring with the master keys the database knows: it must
// hold every key something is wrapped to, and the current one. The first process to start
// on an empty database registers its key.
func (v *Vault) checkMasterKey(ctx context.Context) error {
	current := v.keys.Current()
	if current == "" {
		return fmt.Errorf("vault: the master key file holds no key: %w", ErrWrongMasterKey)
	}
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		first, err := insertFirstMasterKey(ctx, tx, current)
		if err != nil || !first {
			return err
		}
		_, err = appendEntry(ctx, tx, SystemChain, Event{Actor: System, Action: ActionKeyAdded, Detail: current})
		return err
	})
	if err != nil {
		return fmt.Errorf("vault: register master key: %w", err)
	}
	return checkKeyring(ctx, v.db, v.keys)
}

// Ping checks that the database and the blob store answer.
func (v *Vault) Ping(ctx context.Context) error {
	if err := v.db.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := v.blobs.Ping(ctx); err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	return nil
}

// notFound maps pgx.ErrNoRows to ErrNotFound, so callers never see a driver error for a
// missing row.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
