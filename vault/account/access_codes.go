package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Temporary access codes: a code an agent gives an owner at a desk, which the owner must
// change at their next sign-in, and the access recovery taken with it.

// Journal actions of temporary access codes and of access recovery.
const (
	// ActionAccessCodeIssued: an agent opened a safe and gave its owner a temporary code.
	ActionAccessCodeIssued vault.Action = "access_code_issued"
	// ActionAccessRecovered: an agent's new temporary code became the owner's secret
	// (at once under a mandate with the recovery right, or after the waiting period of a
	// desk identity check); the old secret, every session and every passkey ended.
	ActionAccessRecovered vault.Action = "access_recovered"
	// ActionRecoveryRequested: an agent checked an identity document at the desk and
	// asked for a new temporary code, which works only after the waiting period.
	ActionRecoveryRequested vault.Action = "recovery_requested"
	// ActionRecoveryCancelled: a waiting recovery was cancelled (by the owner, by a newer
	// request, or by the closure of the safe); its code never works.
	ActionRecoveryCancelled vault.Action = "recovery_cancelled"
)

// ErrAccessCodeExpired: the owner signed in with a temporary code past its expiry. The
// web ends the session and says to ask the structure for a new code.
var ErrAccessCodeExpired = errors.New("temporary access code expired")

// AccessCode is a temporary code an agent gave to an owner.
type AccessCode struct {
	Code      string // shown once, printed on the access card; only its hash is kept
	ExpiresAt time.Time
}

// IssueAccessCode makes code owner's secret (hashed, like any secret), valid until
// ttl from now and to be changed at the next sign-in. With recovery, it is an access
// recovery taken at once (the caller checked the owner gave that right): every session
// and every passkey of the owner ends, a recovery waiting after a desk identity check is
// cancelled (it would replace, later, the secret the owner is about to choose), and the
// owner is told at their next sign-in. detail is what the history shows of who did it
// ("Mme D. (CCAS de Lille)"). The safe must be open (vault.ErrClosed). Everything commits
// in one transaction with its journal entries.
func (srv *Service) IssueAccessCode(ctx context.Context, owner uuid.UUID, code string, ttl time.Duration, recovery bool, by vault.Actor, detail string) (*AccessCode, error) {
	hash, err := srv.hashAccessCode(ctx, owner, code)
	if err != nil {
		return nil, fmt.Errorf("account: issue access code %s: %w", owner, err)
	}
	ac := &AccessCode{Code: code, ExpiresAt: srv.now().Add(ttl).UTC().Truncate(time.Microsecond)}
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		// A closure committing meanwhile ends what this code gives: it is written before
		// it, or sees the safe closed.
		if err := srv.vault.CheckOpenTx(ctx, tx, owner); err != nil {
			return err
		}
		if err := srv.writeAccessCode(ctx, tx, owner, hash, ac.ExpiresAt, recovery, by, detail); err != nil {
			return err
		}
		if !recovery {
			return srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionAccessCodeIssued, Detail: detail})
		}
		if err := srv.cancelRecoveries(ctx, tx, owner, by); err != nil {
			return err
		}
		return srv.recovered(ctx, tx, owner, by, detail)
	})
	if err != nil {
		return nil, fmt.Errorf("account: issue access code %s: %w", owner, err)
	}
	return ac, nil
}

// hashAccessCode checks a temporary code against the secret rules for owner's login and
// hashes it.
func (srv *Service) hashAccessCode(ctx context.Context, owner uuid.UUID, code string) (string, error) {
	a, err := srv.Account(ctx, owner)
	if err != nil {
		return "", err
	}
	if err := CheckSecret(a.Owner.Login, code); err != nil {
		return "", err
	}
	return srv.hash(ctx, code)
}

// writeAccessCode makes the code of hash owner's secret, to be changed at the next
// sign-in, until expires.
func (srv *Service) writeAccessCode(ctx context.Context, tx pgx.Tx, owner uuid.UUID, hash string, expires time.Time, recovery bool, by vault.Actor, detail string) error {
	if err := srv.setSecretHash(ctx, tx, owner, hash); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO access_codes (owner_id, expires_at, must_change, recovery, notify_pending, issued_by_kind, issued_by_id, issued_detail)
		VALUES ($1, $2, true, $3, $3, $4, $5, $6)
		ON CONFLICT (owner_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, must_change = true,
			recovery = EXCLUDED.recovery, notify_pending = EXCLUDED.notify_pending OR access_codes.notify_pending,
			issued_by_kind = EXCLUDED.issued_by_kind, issued_by_id = EXCLUDED.issued_by_id,
			issued_detail = EXCLUDED.issued_detail, issued_at = $7`, owner, expires, recovery, by.Kind, by.ID, detail, srv.now())
	return err
}

// recovered ends what let anyone into owner's safe before an access recovery, once the
// new code is the secret: every session and every passkey (an old phone, a thief's
// phone). Their FranceConnect link stays: it proves who they are. It journals it all,
// with by (the agent) as actor, and tells the owner.
func (srv *Service) recovered(ctx context.Context, tx pgx.Tx, owner uuid.UUID, by vault.Actor, detail string) error {
	if _, err := endSessions(ctx, tx, owner); err != nil {
		return err
	}
	if err := srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionLogoutAll, Detail: detail}); err != nil {
		return err
	}
	passkeys, err := deletePasskeys(ctx, tx, owner)
	if err != nil {
		return err
	}
	for range passkeys {
		if err := srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionPasskeyRemoved, Detail: detail}); err != nil {
			return err
		}
	}
	if err := srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionAccessRecovered, Detail: detail}); err != nil {
		return err
	}
	return srv.notifyOwner(ctx, tx, owner, Notice{What: NoticeAccessRecovered, Key: "access_recovered:" + uuid.NewString(), At: srv.now(), Detail: detail})
}

// AccessState is what the web checks right after an owner signs in with a secret.
type AccessState struct {
	// TemporaryCode: the secret is a code an agent gave; MustChange: it must be changed
	// now (ChangeTemporaryCode). Expired: the code is past its expiry (sign-in refused).
	TemporaryCode, MustChange, Expired bool
	ExpiresAt                          time.Time
	// Recovered: an agent reset the owner's access since their last sign-in; By is who
	// ("Mme D. (CCAS de Lille)"), At when. Shown once, then AcknowledgeAccessNotice.
	Recovered bool
	By        string
	At        time.Time
}

// AccessState returns owner's temporary-code state; an owner without one gets the zero
// state.
func (srv *Service) AccessState(ctx context.Context, owner uuid.UUID) (AccessState, error) {
	var s AccessState
	err := srv.db.QueryRow(ctx, `
		SELECT must_change, expires_at, must_change AND expires_at <= $2, notify_pending, issued_detail, issued_at
		FROM access_codes WHERE owner_id = $1`, owner, srv.now()).Scan(&s.MustChange, &s.ExpiresAt, &s.Expired, &s.Recovered, &s.By, &s.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return AccessState{}, nil
	}
	if err != nil {
		return s, fmt.Errorf("account: access state %s: %w", owner, err)
	}
	s.TemporaryCode = s.MustChange
	if !s.Recovered {
		s.By, s.At = "", time.Time{}
	}
	return s, nil
}

// AcknowledgeAccessNotice records that the owner was told of an access recovery.
func (srv *Service) AcknowledgeAccessNotice(ctx context.Context, owner uuid.UUID) error {
	// Once the code is changed and the notice seen, nothing is left to remember.
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM access_codes WHERE owner_id = $1 AND must_change = false`, owner)
	b.Queue(`UPDATE access_codes SET notify_pending = false WHERE owner_id = $1`, owner)
	if err := srv.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("account: acknowledge access notice %s: %w", owner, err)
	}
	return nil
}

// ChangeTemporaryCode replaces owner's temporary code with the secret they choose
// (ChangeSecret rules), forgets the code and marks the safe activated: choosing one's own
// secret is the first thing the owner does by themselves. An expired code is refused
// (ErrAccessCodeExpired). Like ChangeSecret, it ends every other session of the owner
// (another browser still parked on the code) and returns a new token for the session
// from, which stops being restricted to this change.
func (srv *Service) ChangeTemporaryCode(ctx context.Context, owner uuid.UUID, code, next string, by vault.Actor, from uuid.UUID) (string, error) {
	s, err := srv.AccessState(ctx, owner)
	if err != nil {
		return "", err
	}
	if s.Expired {
		return "", fmt.Errorf("account: change temporary code %s: %w", owner, ErrAccessCodeExpired)
	}
	if strings.TrimSpace(next) == strings.TrimSpace(code) {
		return "", fmt.Errorf("account: change temporary code %s: the new secret is the code: %w", owner, ErrSecretCommon)
	}
	token, err := srv.changeSecret(ctx, owner, code, next, by, from, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM access_codes WHERE owner_id = $1 AND notify_pending = false`, owner)
		b.Queue(`UPDATE access_codes SET must_change = false WHERE owner_id = $1`, owner)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		_, err := srv.vault.MarkActivatedTx(ctx, tx, owner)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("account: change temporary code %s: %w", owner, err)
	}
	return token, nil
}

func forgetAccessCodes(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM access_codes WHERE owner_id = $1`, owner)
	return err
}

// codeExpired tells whether owner's secret is a temporary code past its expiry: such a
// code works no more.
func (srv *Service) codeExpired(ctx context.Context, owner uuid.UUID) (bool, error) {
	var expired bool
	err := srv.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM access_codes WHERE owner_id = $1 AND must_change AND expires_at <= $2)`,
		owner, srv.now()).Scan(&expired)
	return expired, err
}
