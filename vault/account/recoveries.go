package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// RecoveryIdentity is what an agent checked at the desk before asking for a new code: the
// kind of identity document and the last characters of its number. Sealed with the
// owner's data key: a residence permit tells a person's status.
type RecoveryIdentity struct {
	Document  string `json:"document"`
	NumberEnd string `json:"number_end"`
}

// PendingRecovery is a new temporary code waiting for its effective time, after an
// identity check at the desk.
type PendingRecovery struct {
	ID            uuid.UUID
	Code          string // set only by RequestRecovery: shown once, printed on the card
	By            string // who asked: "Mme D. (CCAS de Lille)"
	Identity      RecoveryIdentity
	RequestedAt   time.Time
	EffectiveAt   time.Time // the code is the owner's secret from then (ApplyDueRecoveries)
	CodeExpiresAt time.Time
}

func recoveryAD(owner, id uuid.UUID) string { return "recovery:" + owner.String() + ":" + id.String() }

// RequestRecovery records a new temporary code for owner that becomes their secret only
// wait from now (ApplyDueRecoveries), then lasts ttl; until then the owner's secret,
// sessions and passkeys keep working, and any session of the owner can cancel it
// (CancelRecovery). A recovery already waiting is cancelled and replaced. The safe must
// be open (vault.ErrClosed). The identity checked is sealed; the request is journaled with by
// as actor and detail naming them, and the owner is told.
func (srv *Service) RequestRecovery(ctx context.Context, owner uuid.UUID, code string, id RecoveryIdentity, wait, ttl time.Duration, by vault.Actor, detail string) (*PendingRecovery, error) {
	if wait <= 0 || ttl <= 0 {
		return nil, fmt.Errorf("account: request recovery %s: wait and lifetime must be positive: %w", owner, vault.ErrInvalid)
	}
	hash, err := srv.hashAccessCode(ctx, owner, code)
	if err != nil {
		return nil, fmt.Errorf("account: request recovery %s: %w", owner, err)
	}
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("account: request recovery %s: %w", owner, err)
	}
	p := &PendingRecovery{ID: uuid.New(), Code: code, By: detail, Identity: id}
	plain, err := json.Marshal(id)
	if err != nil {
		return nil, fmt.Errorf("account: request recovery %s: %w", owner, err)
	}
	sealed, err := sealer.Seal(plain, recoveryAD(owner, p.ID))
	if err != nil {
		return nil, fmt.Errorf("account: request recovery %s: %w", owner, err)
	}
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		// Locked against a closure committing at the same moment (CloseSafe cancels
		// waiting recoveries).
		if err := srv.vault.CheckOpenTx(ctx, tx, owner); err != nil {
			return err
		}
		if err := srv.cancelRecoveries(ctx, tx, owner, by); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `
			INSERT INTO recoveries (id, owner_id, code_hash, identity_sealed, requested_at, effective_at, code_expires_at, issued_by_kind, issued_by_id, issued_detail)
			VALUES ($1, $2, $3, $4, $10, $10::timestamptz + $5::interval, $10::timestamptz + $5::interval + $6::interval, $7, $8, $9)
			RETURNING requested_at, effective_at, code_expires_at`,
			p.ID, owner, hash, sealed, wait, ttl, by.Kind, by.ID, detail, srv.now()).Scan(&p.RequestedAt, &p.EffectiveAt, &p.CodeExpiresAt)
		if err != nil {
			return err
		}
		if err := srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionRecoveryRequested, Detail: detail}); err != nil {
			return err
		}
		return srv.notifyOwner(ctx, tx, owner, Notice{What: NoticeRecoveryRequested, Key: "recovery_requested:" + p.ID.String(), At: p.EffectiveAt, Detail: detail})
	})
	if err != nil {
		return nil, fmt.Errorf("account: request recovery %s: %w", owner, err)
	}
	return p, nil
}

// PendingRecovery returns owner's waiting recovery (without its code), or vault.ErrNotFound.
// The owner's pages show it on every request, with a button to cancel it.
func (srv *Service) PendingRecovery(ctx context.Context, owner uuid.UUID) (*PendingRecovery, error) {
	p := &PendingRecovery{}
	var sealed []byte
	err := srv.db.QueryRow(ctx, `SELECT id, issued_detail, identity_sealed, requested_at, effective_at, code_expires_at FROM recoveries
		WHERE owner_id = $1 AND applied_at IS NULL AND cancelled_at IS NULL`, owner).
		Scan(&p.ID, &p.By, &sealed, &p.RequestedAt, &p.EffectiveAt, &p.CodeExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("account: pending recovery %s: %w", owner, notFound(err))
	}
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("account: pending recovery %s: %w", owner, err)
	}
	plain, err := sealer.Open(sealed, recoveryAD(owner, p.ID))
	if err != nil {
		return nil, fmt.Errorf("account: pending recovery %s: %w", owner, err)
	}
	if err := json.Unmarshal(plain, &p.Identity); err != nil {
		return nil, fmt.Errorf("account: pending recovery %s: %w", owner, err)
	}
	return p, nil
}

// CheckRecoveryCode tells whether code is that of owner's waiting recovery, for the
// agent printing its access card: only who holds the code gets the card. No waiting
// recovery is vault.ErrNotFound; a wrong code is ErrBadCredentials, and counts against the
// owner's sign-in throttle.
func (srv *Service) CheckRecoveryCode(ctx context.Context, owner uuid.UUID, code string, ip netip.Addr) (*PendingRecovery, error) {
	var hash string
	err := srv.db.QueryRow(ctx, `SELECT code_hash FROM recoveries
		WHERE owner_id = $1 AND applied_at IS NULL AND cancelled_at IS NULL`, owner).Scan(&hash)
	if err != nil {
		return nil, fmt.Errorf("account: check recovery code %s: %w", owner, notFound(err))
	}
	o, err := srv.vault.Owner(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("account: check recovery code %s: %w", owner, err)
	}
	var keys []throttleKey
	if o.Login != "" {
		keys = throttleKeys(o.Login, ip)
	}
	ok, err := srv.verifyAttempt(ctx, keys, &hash, code)
	if err != nil {
		return nil, fmt.Errorf("account: check recovery code %s: %w", owner, err)
	}
	if !ok {
		return nil, fmt.Errorf("account: check recovery code %s: %w", owner, ErrBadCredentials)
	}
	return srv.PendingRecovery(ctx, owner)
}

// CancelRecovery cancels owner's waiting recovery: its code will never work. by is the
// owner, from one of their sessions. No waiting recovery is vault.ErrNotFound.
func (srv *Service) CancelRecovery(ctx context.Context, owner uuid.UUID, by vault.Actor) error {
	err := pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		var detail string
		err := tx.QueryRow(ctx, `UPDATE recoveries SET cancelled_at = $4, cancelled_by_kind = $2, cancelled_by_id = $3
			WHERE owner_id = $1 AND applied_at IS NULL AND cancelled_at IS NULL RETURNING issued_detail`, owner, by.Kind, by.ID, srv.now()).Scan(&detail)
		if err != nil {
			return notFound(err)
		}
		return srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionRecoveryCancelled, Detail: detail})
	})
	if err != nil {
		return fmt.Errorf("account: cancel recovery %s: %w", owner, err)
	}
	return nil
}

// ApplyDueRecoveries makes the code of every waiting recovery whose effective time is at
// or before now the owner's secret, as IssueAccessCode does for a recovery: sessions and
// passkeys end, the owner is told at their next sign-in, and the agent who asked is the
// actor in the history. Closed safes are left alone (closing one cancels its waiting
// recovery; one met closed here is skipped). It returns how many it applied. Safe to run
// from several processes (a periodic job, which passes its clock's time).
func (srv *Service) ApplyDueRecoveries(ctx context.Context, now time.Time) (int, error) {
	rows, err := srv.db.Query(ctx, `SELECT id FROM recoveries
		WHERE applied_at IS NULL AND cancelled_at IS NULL AND effective_at <= $1 ORDER BY effective_at LIMIT 1000`, now)
	if err != nil {
		return 0, fmt.Errorf("account: apply recoveries: %w", err)
	}
	due, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, fmt.Errorf("account: apply recoveries: %w", err)
	}
	n := 0
	for _, id := range due {
		applied, err := srv.applyRecovery(ctx, id, now)
		if err != nil {
			return n, fmt.Errorf("account: apply recovery %s: %w", id, err)
		}
		if applied {
			n++
		}
	}
	return n, nil
}

func (srv *Service) applyRecovery(ctx context.Context, id uuid.UUID, now time.Time) (applied bool, err error) {
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		var owner uuid.UUID
		var hash, detail string
		var expires time.Time
		var by vault.Actor
		err := tx.QueryRow(ctx, `SELECT owner_id FROM recoveries WHERE id = $1`, id).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // erased meanwhile
		}
		if err != nil {
			return err
		}
		// The owner row first, in the order CloseSafe takes its locks.
		switch err := srv.vault.CheckOpenTx(ctx, tx, owner); {
		case errors.Is(err, vault.ErrClosed), errors.Is(err, vault.ErrShredded), errors.Is(err, vault.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		err = tx.QueryRow(ctx, `SELECT code_hash, code_expires_at, issued_by_kind, issued_by_id, issued_detail FROM recoveries
			WHERE id = $1 AND applied_at IS NULL AND cancelled_at IS NULL AND effective_at <= $2 FOR UPDATE SKIP LOCKED`, id, now).
			Scan(&hash, &expires, &by.Kind, &by.ID, &detail)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // cancelled meanwhile, or another process has it
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE recoveries SET applied_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		if err := srv.writeAccessCode(ctx, tx, owner, hash, expires, true, by, detail); err != nil {
			return err
		}
		applied = true
		return srv.recovered(ctx, tx, owner, by, detail)
	})
	return applied, err
}

func forgetRecoveries(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM recoveries WHERE owner_id = $1`, owner)
	return err
}

// cancelRecoveries cancels owner's waiting recovery, if any, and journals it with by as
// actor and the requester's name as detail.
func (srv *Service) cancelRecoveries(ctx context.Context, tx pgx.Tx, owner uuid.UUID, by vault.Actor) error {
	rows, err := tx.Query(ctx, `UPDATE recoveries SET cancelled_at = $4, cancelled_by_kind = $2, cancelled_by_id = $3
		WHERE owner_id = $1 AND applied_at IS NULL AND cancelled_at IS NULL RETURNING issued_detail`, owner, by.Kind, by.ID, srv.now())
	if err != nil {
		return err
	}
	cancelled, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, detail := range cancelled {
		if err := srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionRecoveryCancelled, Detail: detail}); err != nil {
			return err
		}
	}
	return nil
}
