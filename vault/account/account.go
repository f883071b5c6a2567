package account

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/semaphore"

	"coffre/vault"
)

// Service is how owners sign in: accounts, sessions, passkeys, OpenID identities,
// temporary codes and recoveries, and the throttling of sign-in. It is safe for
// concurrent use, and several processes may share one database.
type Service struct {
	db    *pgxpool.Pool
	vault *vault.Vault
	log   *slog.Logger
	now   func() time.Time
	queue Queue

	// argonSlots bound the argon2id computations running at once (login_throttle.go);
	// one waits at most argonWait for a slot.
	argonSlots *semaphore.Weighted
	argonWait  time.Duration
}

// Config is what a Service is built from.
type Config struct {
	DB    *pgxpool.Pool // the vault's database
	Vault *vault.Vault
	Log   *slog.Logger // nil: discard
	// Now is the clock: session ends, lockouts, ceremonies, temporary codes and
	// recoveries are decided with it, passed to SQL as a parameter. Nil means time.Now.
	Now func() time.Time
	// Queue is where messages to the owners' channels wait to be sent (notices.go):
	// River's client. Nil: no message leaves (what the owner is told in the app stays).
	Queue Queue
}

// New returns the account service over the vault's database. The caller hands it to
// the vault (vault.AddParticipant), so that closing and erasing a safe end its sessions
// and forget its sign-in rows in the vault's transaction. Its argon2id slots bound the
// secret checks of the process: build one Service per process.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{db: cfg.DB, vault: cfg.Vault, log: cfg.Log, now: cfg.Now, queue: cfg.Queue, argonSlots: newArgonSlots(), argonWait: argonWait}
}

// notFound maps pgx.ErrNoRows to vault.ErrNotFound, so callers never see a driver error
// for a missing row.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return vault.ErrNotFound
	}
	return err
}

// SafeClosed ends, inside the vault's closing transaction, every way into the safe but a
// new sign-in: every session (the owner signs in again to export or reopen) and the
// waiting recovery, whose code will never work.
func (srv *Service) SafeClosed(ctx context.Context, tx pgx.Tx, owner uuid.UUID, by vault.Actor) error {
	if err := srv.cancelRecoveries(ctx, tx, owner, by); err != nil {
		return err
	}
	n, err := endSessions(ctx, tx, owner)
	if err != nil || n == 0 {
		return err
	}
	return srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionLogoutAll})
}

// Forget deletes, inside the erasure's transaction, how the person signed in: account,
// sessions, passkeys and their ceremonies under way, temporary codes and recoveries,
// the FranceConnect identity, and the failed sign-in counter of their login; and how
// they were reached: their channels, what they were told of, their known devices. Their
// login and FranceConnect identity are then free for a new safe.
func (srv *Service) Forget(ctx context.Context, tx pgx.Tx, owner uuid.UUID, login string) error {
	steps := []func(context.Context, pgx.Tx, uuid.UUID) error{
		forgetSessions, forgetPasskeys, forgetCeremonies, forgetAccessCodes, forgetRecoveries,
		forgetOpenIDIdentity, forgetChannels, forgetNotices, forgetKnownDevices, forgetAccount,
	}
	for _, step := range steps {
		if err := step(ctx, tx, owner); err != nil {
			return err
		}
	}
	if login == "" {
		return nil
	}
	return forgetThrottle(ctx, tx, login)
}

// RewrapSecrets re-wraps nothing: what the account tables keep is sealed with each
// owner's data key, which the vault re-wraps with the owner.
func (srv *Service) RewrapSecrets(context.Context) (int, error) { return 0, nil }
