package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Journal actions of closure, retention and export.
const (
	ActionExport             Action = "export"      // the whole safe was exported (detail: the request reference)
	ActionSafeClosed         Action = "safe_closed" // the safe was closed; it is erased after the retention period
	ActionSafeReopened       Action = "safe_reopened"
	ActionErased             Action = "erased" // the safe was crypto-shredded at the end of retention
	ActionShutdownAnnounced  Action = "shutdown_announced"
	ActionShutdownNoticeDone Action = "shutdown_notice_cleared"
)

// ErrClosed: the safe is closed. It can still be exported or reopened until it is erased,
// but it takes no new document.
var ErrClosed = errors.New("safe closed")

// closedState is the SQLSTATE raised by the documents_owner_open trigger (migration 3).
const closedState = "CF001"

// closedError maps the database's refusal of a document in a closed safe to ErrClosed,
// and returns any other error unchanged.
func closedError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == closedState {
		return ErrClosed
	}
	return err
}

// IsClosedRefusal tells whether err is the database refusing a new document in a closed
// safe, for callers (Deposit) that get the driver's error rather than ErrClosed.
func IsClosedRefusal(err error) bool {
	return errors.Is(err, ErrClosed) || errors.Is(closedError(err), ErrClosed)
}

// SafeStatus says whether a safe is open, closed (and until when it can be recovered), or
// erased.
type SafeStatus struct {
	ClosedAt   *time.Time // nil while the safe is open
	EraseAfter *time.Time // when the erasure job may destroy it
	ShreddedAt *time.Time // non-nil once erased: nothing can be read any more
}

// Closed tells whether the safe is closed or erased.
func (s *SafeStatus) Closed() bool { return s.ClosedAt != nil || s.ShreddedAt != nil }

// Status returns the closure state of owner's safe.
func (v *Vault) Status(ctx context.Context, owner uuid.UUID) (*SafeStatus, error) {
	s := &SafeStatus{}
	err := statusRow(ctx, v.db, owner).
		Scan(&s.ClosedAt, &s.EraseAfter, &s.ShreddedAt)
	if err != nil {
		return nil, fmt.Errorf("vault: status %s: %w", owner, notFound(err))
	}
	for _, t := range []*time.Time{s.ClosedAt, s.EraseAfter, s.ShreddedAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return s, nil
}

// CheckOpen returns nil for an open safe, ErrClosed for a closed one and ErrShredded for
// an erased one. The web layer calls it before listing or depositing, so that a closed
// safe only offers the recovery path (export, reopening).
func (v *Vault) CheckOpen(ctx context.Context, owner uuid.UUID) error {
	return checkOpenTx(ctx, v.db, owner, "")
}

// CheckOpenTx is CheckOpen inside tx, holding the owner row (FOR SHARE) until tx ends:
// a change that must not land in a closed safe cannot cross a closure committing at the
// same moment (CloseSafe takes the row to update it, then its participants end what lets
// anyone but the owner in). What gives someone other than the owner a way in (a mandate,
// a link, a temporary code, a desk unlock, a waiting recovery) is written after it in the
// same transaction, so that it either ends with the closure or sees the safe closed.
func (v *Vault) CheckOpenTx(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	return checkOpenTx(ctx, tx, owner, "FOR SHARE")
}

// LockOpenAlone is CheckOpenTx with a lock that also serialises its callers for one
// owner (FOR NO KEY UPDATE): of two mandates granted at once, the second one sees the
// first.
func (v *Vault) LockOpenAlone(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	return checkOpenTx(ctx, tx, owner, "FOR NO KEY UPDATE")
}

// checkOpenTx decides CheckOpen, CheckOpenTx and LockOpenAlone from owners.open; lock
// is their row lock ("" for none).
func checkOpenTx(ctx context.Context, q dbtx, owner uuid.UUID, lock string) error {
	var open, shredded bool
	err := openRow(ctx, q, owner, lock).
		Scan(&open, &shredded)
	switch {
	case err != nil:
		return fmt.Errorf("vault: safe %s: %w", owner, notFound(err))
	case open:
		return nil
	case shredded:
		return fmt.Errorf("vault: safe %s: %w", owner, ErrShredded)
	}
	return fmt.Errorf("vault: safe %s: %w", owner, ErrClosed)
}

// CloseSafe closes owner's safe: no new document, and erasure by EraseDue once retention
// has passed. A retention of 0 means 12 calendar months, what the law (L.103 5°) asks for.
// The web layer offers the export first. Closing a closed safe is ErrClosed. It is one
// transaction: the owner row, then each participant's SafeClosed (sessions, links,
// grants, mandates, waiting recoveries end), then the journal entry.
func (v *Vault) CloseSafe(ctx context.Context, owner uuid.UUID, by Actor, retention time.Duration) (*SafeStatus, error) {
	if retention < 0 {
		return nil, fmt.Errorf("vault: close %s: negative retention: %w", owner, ErrInvalid)
	}
	s := &SafeStatus{}
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		err := closeOwner(ctx, tx, owner, retention, v.now()).Scan(&s.ClosedAt, &s.EraseAfter)
		if errors.Is(err, pgx.ErrNoRows) {
			return v.whyNotOpen(ctx, tx, owner)
		}
		if err != nil {
			return err
		}
		// Sessions, links, grants, mandates, waiting recoveries…: whatever lets anyone but
		// a new sign-in of the owner in ends with the safe, and stays ended if it is
		// reopened.
		for _, p := range v.participants {
			if err := p.SafeClosed(ctx, tx, owner, by); err != nil {
				return err
			}
		}
		_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionSafeClosed})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vault: close %s: %w", owner, err)
	}
	*s.ClosedAt, *s.EraseAfter = s.ClosedAt.UTC(), s.EraseAfter.UTC()
	return s, nil
}

// whyNotOpen explains why an open safe's row was not found: no such owner, already
// closed, or erased.
func (v *Vault) whyNotOpen(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	var closed, shredded bool
	err := closedRow(ctx, tx, owner).Scan(&closed, &shredded)
	switch {
	case err != nil:
		return notFound(err)
	case shredded:
		return ErrShredded
	case closed:
		return ErrClosed
	}
	return ErrNotFound
}

// ReopenSafe reopens a closed safe during its retention period (the recovery path for an
// owner who changed their mind or regained access). An open safe gives ErrInvalid; an
// erased one ErrShredded.
func (v *Vault) ReopenSafe(ctx context.Context, owner uuid.UUID, by Actor) error {
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		tag, err := reopenOwner(ctx, tx, owner)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			err := v.whyNotOpen(ctx, tx, owner)
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("the safe is not closed: %w", ErrInvalid)
			}
			return err
		}
		_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionSafeReopened})
		return err
	})
	if err != nil {
		return fmt.Errorf("vault: reopen %s: %w", owner, err)
	}
	return nil
}

// ownerLockKey is the advisory lock that keeps an export and the erasure of the same safe
// apart: the export holds it shared, the erasure tries it exclusively and leaves the safe
// for its next run if an export is under way.
const ownerLockKey = `hashtextextended('coffre-owner:' || $1::text, 0)`

// EraseDue crypto-shreds every closed safe whose retention has run out, and returns how
// many it erased. For each owner, in one transaction: every blob object (all roles) is
// deleted from the store and its row removed; kinds, titles, names and dates are cleared;
// the texts read from the papers, their suggestions, the reading consent and the blind
// index are deleted; the owner's wrapped identity and data key are destroyed, so that a
// copy of a blob kept in a backup or an old bucket version can no longer be decrypted;
// every row that could identify the person or let anyone in as them is deleted by the
// participants (Forget), which frees their login and FranceConnect identity for a new
// safe; the personal part of every journal entry (IP prefixes, free text) is erased,
// which the chain allows; and a last entry "erased" is appended by System. Safe to run from several processes; a safe being
// exported is left for the next run.
func (v *Vault) EraseDue(ctx context.Context) (int, error) {
	due, err := ownersDueForErasure(ctx, v.db, v.now())
	if err != nil {
		return 0, fmt.Errorf("vault: erase due: %w", err)
	}
	n := 0
	for _, owner := range due {
		erased, err := v.erase(ctx, owner)
		if err != nil {
			return n, fmt.Errorf("vault: erase %s: %w", owner, err)
		}
		if erased {
			n++
			v.keys.forget(owner)
			v.log.Info("erased a closed safe at the end of retention", "owner", owner)
		}
	}
	return n, nil
}

func (v *Vault) erase(ctx context.Context, owner uuid.UUID) (erased bool, err error) {
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		var free bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(`+ownerLockKey+`)`, owner).Scan(&free); err != nil {
			return err
		}
		if !free {
			v.log.Info("erasure postponed: the safe is being exported", "owner", owner)
			return nil
		}
		var login *string
		err := lockOwnerToErase(ctx, tx, owner, v.now()).Scan(&login)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // reopened, erased by another process, or busy
		}
		if err != nil {
			return err
		}
		blobs, err := deleteOwnerBlobs(ctx, tx, owner)
		if err != nil {
			return err
		}
		// Objects go before the commit: if the store fails, the transaction rolls back and
		// the next run starts again (deleting a missing object is not an error).
		for _, b := range blobs {
			if err := v.blobs.Delete(ctx, b.String()); err != nil {
				return err
			}
		}
		if err := eraseDocuments(ctx, tx, owner, v.now()); err != nil {
			return err
		}
		// What reading the papers found, and the blind index, go with the keys.
		if err := forgetReadingTx(ctx, tx, owner); err != nil {
			return err
		}
		if _, err := appendEntry(ctx, tx, owner, Event{Actor: System, Action: ActionErased}); err != nil {
			return err
		}
		if err := forgetDismissedReminders(ctx, tx, owner); err != nil {
			return err
		}
		// The chain covers only the digest of the personal part, so it still verifies.
		if err := forgetPersonal(ctx, tx, owner); err != nil {
			return err
		}
		// Every row that could identify the person or let anyone in as them goes: how
		// they signed in (package account), whom they gave access to (package sharing).
		// What stays is listed, with the reason, in vaulttest.AssertErased.
		for _, p := range v.participants {
			if err := p.Forget(ctx, tx, owner, deref(login)); err != nil {
				return err
			}
		}
		if err := shredOwner(ctx, tx, owner, v.now()); err != nil {
			return err
		}
		erased = true
		return nil
	})
	return erased, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Notice is a message shown to every owner, such as the announced end of the service,
// next to the link to export their safe.
type Notice struct {
	ID         int64
	Message    string
	ShutdownAt time.Time // when the service stops
	CreatedAt  time.Time
}

// MaxNoticeLen bounds a notice, in characters.
const MaxNoticeLen = 2000

// AnnounceShutdown publishes a service shutdown notice (the newest one replaces the
// others) and journals it in the service's chain.
func (v *Vault) AnnounceShutdown(ctx context.Context, by Actor, message string, at time.Time) (*Notice, error) {
	message = strings.TrimSpace(message)
	if message == "" || !utf8.ValidString(message) || utf8.RuneCountInString(message) > MaxNoticeLen {
		return nil, fmt.Errorf("vault: announce shutdown: the message must be 1 to %d characters of text: %w", MaxNoticeLen, ErrInvalid)
	}
	if at.IsZero() {
		return nil, fmt.Errorf("vault: announce shutdown: no shutdown date: %w", ErrInvalid)
	}
	n := &Notice{Message: message, ShutdownAt: at.UTC().Truncate(time.Microsecond)}
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO service_notices (message, shutdown_at) VALUES ($1, $2) RETURNING id, created_at`,
			n.Message, n.ShutdownAt).Scan(&n.ID, &n.CreatedAt); err != nil {
			return err
		}
		_, err := appendEntry(ctx, tx, SystemChain, Event{Actor: by, Action: ActionShutdownAnnounced,
			Detail: fmt.Sprintf("notice %d, shutdown %s", n.ID, n.ShutdownAt.Format(time.RFC3339))})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vault: announce shutdown: %w", err)
	}
	n.CreatedAt = n.CreatedAt.UTC()
	return n, nil
}

// CurrentNotice returns the notice to show, or ErrNotFound when there is none.
func (v *Vault) CurrentNotice(ctx context.Context) (*Notice, error) {
	n := &Notice{}
	err := v.db.QueryRow(ctx, `SELECT id, message, shutdown_at, created_at FROM service_notices
		WHERE cleared_at IS NULL ORDER BY id DESC LIMIT 1`).Scan(&n.ID, &n.Message, &n.ShutdownAt, &n.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("vault: current notice: %w", notFound(err))
	}
	n.ShutdownAt, n.CreatedAt = n.ShutdownAt.UTC(), n.CreatedAt.UTC()
	return n, nil
}

// ClearNotices withdraws every notice (the shutdown was called off) and returns how many.
func (v *Vault) ClearNotices(ctx context.Context, by Actor) (int, error) {
	var n int64
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE service_notices SET cleared_at = $1 WHERE cleared_at IS NULL`, v.now())
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n == 0 {
			return nil
		}
		_, err = appendEntry(ctx, tx, SystemChain, Event{Actor: by, Action: ActionShutdownNoticeDone})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("vault: clear notices: %w", err)
	}
	return int(n), nil
}
