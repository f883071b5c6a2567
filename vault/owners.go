package vault

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Owner is the holder of a safe.
type Owner struct {
	ID        uuid.UUID
	Login     string // empty for owners who sign in only through FranceConnect
	Recipient string // the public age key their blobs are encrypted to
	CreatedAt time.Time
}

// ErrLoginTaken: another owner already has that login.
var ErrLoginTaken = errors.New("login already taken")

// CreateOwner opens a safe: a fresh age identity and data key, wrapped to the current
// master key, and the first entry of the owner's journal.
func (v *Vault) CreateOwner(ctx context.Context, login string, by Actor) (*Owner, error) {
	var o *Owner
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		var err error
		o, _, err = v.createOwner(ctx, tx, login, by)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vault: create owner: %w", err)
	}
	return o, nil
}

// createOwner is CreateOwner inside tx, for callers that add rows of their own in the same
// transaction; it also returns the new owner's data key.
func (v *Vault) createOwner(ctx context.Context, tx pgx.Tx, login string, by Actor) (*Owner, []byte, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, nil, err
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, nil, err
	}
	key, wrapped, err := v.wrap(ctx, tx, []byte(id.String()), dataKey)
	if err != nil {
		return nil, nil, err
	}
	o := &Owner{ID: uuid.New(), Login: login, Recipient: id.Recipient().String()}
	var nullLogin *string
	if login != "" {
		nullLogin = &login
	}
	err = tx.QueryRow(ctx, `
		INSERT INTO owners (id, login, recipient, identity_wrapped, data_key_wrapped, master_key_id)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING created_at`,
		o.ID, nullLogin, o.Recipient, wrapped[0], wrapped[1], key.ID).Scan(&o.CreatedAt)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return nil, nil, ErrLoginTaken
		}
		return nil, nil, err
	}
	if _, err := appendEntry(ctx, tx, o.ID, Event{Actor: by, Action: ActionOwnerCreated}); err != nil {
		return nil, nil, err
	}
	return o, dataKey, nil
}

// Owner returns the owner with that ID.
func (v *Vault) Owner(ctx context.Context, id uuid.UUID) (*Owner, error) {
	return v.scanOwner(ctx, `WHERE id = $1`, id, id.String())
}

// OwnerByLogin returns the owner with that login.
func (v *Vault) OwnerByLogin(ctx context.Context, login string) (*Owner, error) {
	return v.scanOwner(ctx, `WHERE login = $1`, login, "by login")
}

// scanOwner reads the owner where says; what names them in an error, which may reach
// the logs: never by their login.
func (v *Vault) scanOwner(ctx context.Context, where string, arg any, what string) (*Owner, error) {
	o := &Owner{}
	var login *string
	err := v.db.QueryRow(ctx, `SELECT id, login, recipient, created_at FROM owners `+where+` AND shredded_at IS NULL`, arg).
		Scan(&o.ID, &login, &o.Recipient, &o.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("vault: owner %s: %w", what, notFound(err))
	}
	if login != nil {
		o.Login = *login
	}
	return o, nil
}

// ownerKeys returns the owner's unwrapped identity and data key.
func (v *Vault) ownerKeys(ctx context.Context, owner uuid.UUID) (*age.X25519Identity, []byte, error) {
	return v.ownerKeysIn(ctx, v.db, owner)
}

// ownerKeysIn is ownerKeys reading through q, for a caller inside a transaction.
func (v *Vault) ownerKeysIn(ctx context.Context, q dbtx, owner uuid.UUID) (*age.X25519Identity, []byte, error) {
	if id, dk, ok := v.keys.cached(owner); ok {
		return id, dk, nil
	}
	var idw, dkw []byte
	var wrappedTo string
	if err := q.QueryRow(ctx, `
		SELECT o.identity_wrapped, o.data_key_wrapped, k.recipient
		FROM owners o JOIN master_keys k ON k.id = o.master_key_id WHERE o.id = $1`, owner).Scan(&idw, &dkw, &wrappedTo); err != nil {
		return nil, nil, fmt.Errorf("owner %s: %w", owner, notFound(err))
	}
	return v.keys.ownerKeys(owner, idw, dkw, wrappedTo)
}

// MarkActivated records that owner signed in by themselves for the first time (with
// their own secret, passkey or FranceConnect; not with an agent's temporary code, see
// ChangeTemporaryCode). It tells whether this was the first time; later calls do nothing.
func (v *Vault) MarkActivated(ctx context.Context, owner uuid.UUID) (bool, error) {
	return v.markActivated(ctx, v.db, owner)
}

// MarkActivatedTx is MarkActivated inside another package's transaction (a temporary code
// changed for the owner's own secret).
func (v *Vault) MarkActivatedTx(ctx context.Context, tx pgx.Tx, owner uuid.UUID) (bool, error) {
	return v.markActivated(ctx, tx, owner)
}

func (v *Vault) markActivated(ctx context.Context, q dbtx, owner uuid.UUID) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE owners SET activated_at = $2 WHERE id = $1 AND activated_at IS NULL AND shredded_at IS NULL`, owner, v.now())
	if err != nil {
		return false, fmt.Errorf("vault: mark activated %s: %w", owner, err)
	}
	return tag.RowsAffected() == 1, nil
}

// SafeOpenSQL is the SQL condition "the safe of ownerID is open" (neither closed nor
// erased), where ownerID is a column or parameter of the caller's statement: for a
// package whose statement must decide it at the instant it runs (a link's download
// counted, a token read), without writing SQL against vault's owners table. The decision
// itself is the column owners.open (migration 19), which vault's own queries read.
func SafeOpenSQL(ownerID string) string {
	return `EXISTS (SELECT 1 FROM owners WHERE owners.id = ` + ownerID + ` AND owners.open)`
}

// ActivationsByMonth counts, among owners, those whose owner first signed in by
// themselves (MarkActivated) in each calendar month from the month of from to the month
// of to, oldest first.
func (v *Vault) ActivationsByMonth(ctx context.Context, owners []uuid.UUID, from, to time.Time) ([]int, error) {
	n, err := CountByMonth(ctx, v.db, `SELECT (SELECT count(*) FROM owners o WHERE o.id = ANY($3)
		AND o.activated_at >= months.start AND o.activated_at < months.stop) FROM months ORDER BY months.start`, from, to, owners)
	if err != nil {
		return nil, fmt.Errorf("vault: activations by month: %w", err)
	}
	return n, nil
}

// OwnerLogins returns the login of each owner among ids whose safe is not erased ("" for
// one who signs in only through FranceConnect); an erased or unknown owner is absent.
func (v *Vault) OwnerLogins(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	rows, err := v.db.Query(ctx, `SELECT id, coalesce(login, '') FROM owners WHERE id = ANY($1) AND shredded_at IS NULL`, ids)
	if err != nil {
		return nil, fmt.Errorf("vault: owner logins: %w", err)
	}
	out := make(map[uuid.UUID]string, len(ids))
	var id uuid.UUID
	var login string
	_, err = pgx.ForEachRow(rows, []any{&id, &login}, func() error {
		out[id] = login
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vault: owner logins: %w", err)
	}
	return out, nil
}

// wrappedOwner is an owner's keys as wrapped to a master key.
type wrappedOwner struct {
	id       uuid.UUID
	identity []byte
	dataKey  []byte
}

// ownersWrappedElsewhere locks up to limit owners whose keys are wrapped to a master key
// other than keyID, skipping those another rotation holds.
func ownersWrappedElsewhere(ctx context.Context, tx pgx.Tx, keyID, limit int) ([]wrappedOwner, error) {
	rows, err := tx.Query(ctx, `
		SELECT id, identity_wrapped, data_key_wrapped FROM owners
		WHERE master_key_id <> $1 AND identity_wrapped IS NOT NULL
		ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, keyID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (wrappedOwner, error) {
		var w wrappedOwner
		return w, row.Scan(&w.id, &w.identity, &w.dataKey)
	})
}

// setOwnerWrapping records owner's keys wrapped again to the master key keyID.
func setOwnerWrapping(ctx context.Context, tx pgx.Tx, owner uuid.UUID, identity, dataKey []byte, keyID int) error {
	_, err := tx.Exec(ctx, `UPDATE owners SET identity_wrapped = $2, data_key_wrapped = $3, master_key_id = $4 WHERE id = $1`,
		owner, identity, dataKey, keyID)
	return err
}

// LockOwner serialises, inside tx, the changes of credential of owner (two sessions
// changing the secret at once: the second one sees the first one's secret). A shredded
// owner gives ErrNotFound.
func (v *Vault) LockOwner(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM owners WHERE id = $1 AND shredded_at IS NULL FOR NO KEY UPDATE`, owner).Scan(&id)
	if err != nil {
		return fmt.Errorf("lock owner: %w", notFound(err))
	}
	return nil
}

// statusRow reads the closure state (closed_at, erase_after, shredded_at) of owner's safe.
func statusRow(ctx context.Context, q dbtx, owner uuid.UUID) pgx.Row {
	return q.QueryRow(ctx, `SELECT closed_at, erase_after, shredded_at FROM owners WHERE id = $1`, owner)
}

// openRow reads whether owner's safe is open and whether it is erased (open,
// shredded), taking the row lock lock ("" for none).
func openRow(ctx context.Context, q dbtx, owner uuid.UUID, lock string) pgx.Row {
	return q.QueryRow(ctx, `SELECT open, shredded_at IS NOT NULL FROM owners WHERE id = $1 `+lock, owner)
}

// closeOwner closes, inside tx, owner's safe if open, at now, to be erased after
// retention (12 months when 0), and returns (closed_at, erase_after); no row when the
// safe was not open.
func closeOwner(ctx context.Context, tx pgx.Tx, owner uuid.UUID, retention time.Duration, now time.Time) pgx.Row {
	// In microseconds: PostgreSQL intervals have no nanoseconds.
	return tx.QueryRow(ctx, `
			UPDATE owners SET closed_at = $3,
				erase_after = $3::timestamptz + CASE WHEN $2::bigint = 0 THEN interval '12 months' ELSE $2::bigint * interval '1 microsecond' END
			WHERE id = $1 AND open
			RETURNING closed_at, erase_after`, owner, retention.Microseconds(), now)
}

// closedRow reads whether owner's safe is closed and whether it is erased.
func closedRow(ctx context.Context, q dbtx, owner uuid.UUID) pgx.Row {
	return q.QueryRow(ctx, `SELECT closed_at IS NOT NULL, shredded_at IS NOT NULL FROM owners WHERE id = $1`, owner)
}

// reopenOwner reopens, inside tx, owner's safe if closed and not erased.
func reopenOwner(ctx context.Context, tx pgx.Tx, owner uuid.UUID) (pgconn.CommandTag, error) {
	return tx.Exec(ctx, `UPDATE owners SET closed_at = NULL, erase_after = NULL
			WHERE id = $1 AND closed_at IS NOT NULL AND shredded_at IS NULL`, owner)
}

// ownersDueForErasure returns, at most 1000 and the longest due first, the closed safes
// whose retention ended before now and not yet erased.
func ownersDueForErasure(ctx context.Context, q dbtx, now time.Time) ([]uuid.UUID, error) {
	rows, err := q.Query(ctx, `SELECT id FROM owners
		WHERE erase_after IS NOT NULL AND erase_after < $1 AND shredded_at IS NULL
		ORDER BY erase_after LIMIT 1000`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// lockOwnerToErase locks, inside tx, owner's row if its retention ended before now and it
// is not erased, unless another process holds it, and reads its login; no row otherwise.
func lockOwnerToErase(ctx context.Context, tx pgx.Tx, owner uuid.UUID, now time.Time) pgx.Row {
	return tx.QueryRow(ctx, `SELECT login FROM owners
			WHERE id = $1 AND erase_after < $2 AND shredded_at IS NULL FOR UPDATE SKIP LOCKED`, owner, now)
}

// shredOwner forgets, inside tx, owner's wrapped keys and login, erased at now.
func shredOwner(ctx context.Context, tx pgx.Tx, owner uuid.UUID, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE owners SET identity_wrapped = NULL, data_key_wrapped = NULL, login = NULL, shredded_at = $2
			WHERE id = $1`, owner, now)
	return err
}

// shreddedNowRow reads whether owner's safe is erased, and the transaction's time.
func shreddedNowRow(ctx context.Context, q dbtx, owner uuid.UUID) pgx.Row {
	return q.QueryRow(ctx, `SELECT shredded_at IS NOT NULL, now() FROM owners WHERE id = $1`, owner)
}
