package vault

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// What the vault offers the aidants (package sharing): the owners' secret hashing and
// sign-in throttling for agents' own sign-in, a service secret wrapped to the master key
// (agents' TOTP secrets), temporary access codes, and activation tracking.

// Journal actions of temporary access codes.
const (
	// ActionAccessCodeIssued: an agent opened a safe and gave its owner a temporary code.
	ActionAccessCodeIssued Action = "access_code_issued"
	// ActionAccessRecovered: an agent checked the owner's identity in person and gave a
	// new temporary code; the old secret and every session ended.
	ActionAccessRecovered Action = "access_recovered"
)

// ErrAccessCodeExpired: the owner signed in with a temporary code past its expiry. The
// web ends the session and says to ask the structure for a new code.
var ErrAccessCodeExpired = errors.New("temporary access code expired")

// DummySecretHash is a valid argon2id hash of nothing anyone knows: verify against it when
// a login is unknown, so that refusing an unknown login takes as long as a wrong secret.
const DummySecretHash = dummyHash

// HashSecret returns the argon2id PHC string of secret, with a fresh salt: the scheme of
// owners' secrets, for other credentials (agents' passwords).
func HashSecret(secret string) (string, error) {
	return hashSecret(secret)
}

// VerifySecret compares secret with a PHC string from HashSecret, in constant time.
func VerifySecret(phc, secret string) (bool, error) {
	return verifySecret(phc, secret)
}

// CheckThrottle returns a *LockedError while the login or ip's network is locked out.
// login must carry a namespace of its caller ("agent:" + login), so that the counters of
// agents and owners never mix; the network counter is shared with owners on purpose (a
// desk's address is one network whoever types).
func (v *Vault) CheckThrottle(ctx context.Context, login string, ip netip.Addr) error {
	return v.checkThrottle(ctx, throttleKeys(login, ip))
}

// CountThrottleFailure counts one failed sign-in for login and ip's network.
func (v *Vault) CountThrottleFailure(ctx context.Context, login string, ip netip.Addr) error {
	return v.countFailure(ctx, throttleKeys(login, ip))
}

// ResetThrottle forgets login's failures, after a successful sign-in.
func (v *Vault) ResetThrottle(ctx context.Context, login string) error {
	return v.resetThrottle(ctx, throttleKeys(login, netip.Addr{})[0])
}

// WrapServiceSecret encrypts a secret of the service (an agent's TOTP key) to the current
// master key, like owner identities, and names that key's recipient so the caller can
// record which master key wrapped it.
func (v *Vault) WrapServiceSecret(secret []byte) (wrapped []byte, recipient string, err error) {
	wrapped, err = v.keys.wrap(secret)
	if err != nil {
		return nil, "", fmt.Errorf("vault: wrap service secret: %w", err)
	}
	return wrapped, v.keys.Current(), nil
}

// CurrentMasterKey is the recipient new secrets are wrapped to: a service secret
// wrapped to another one is due for re-wrapping after a rotation.
func (v *Vault) CurrentMasterKey() string { return v.keys.Current() }

// UnwrapServiceSecret opens what WrapServiceSecret wrapped.
func (v *Vault) UnwrapServiceSecret(wrapped []byte) ([]byte, error) {
	secret, err := v.keys.unwrap(wrapped)
	if err != nil {
		return nil, fmt.Errorf("vault: unwrap service secret: %w", err)
	}
	return secret, nil
}

// MarkActivated records that owner signed in by themselves for the first time (with
// their own secret, passkey or FranceConnect; not with an agent's temporary code, see
// ChangeTemporaryCode). It tells whether this was the first time; later calls do nothing.
func (v *Vault) MarkActivated(ctx context.Context, owner uuid.UUID) (bool, error) {
	tag, err := v.db.Exec(ctx, `UPDATE owners SET activated_at = now() WHERE id = $1 AND activated_at IS NULL AND shredded_at IS NULL`, owner)
	if err != nil {
		return false, fmt.Errorf("vault: mark activated %s: %w", owner, err)
	}
	return tag.RowsAffected() == 1, nil
}

// CheckOwnerSecret checks owner's secret without signing them in: the evidence of consent
// when the person types it on an agent's screen. Failures count against the owner's
// sign-in throttle, so this is no side door for guessing.
func (v *Vault) CheckOwnerSecret(ctx context.Context, owner uuid.UUID, secret string, ip netip.Addr) error {
	var login *string
	var hash *string
	err := v.db.QueryRow(ctx, `
		SELECT o.login, a.secret_hash FROM owners o LEFT JOIN accounts a ON a.owner_id = o.id
		WHERE o.id = $1 AND o.shredded_at IS NULL`, owner).Scan(&login, &hash)
	if err != nil {
		return fmt.Errorf("vault: check secret %s: %w", owner, notFound(err))
	}
	var keys []throttleKey
	if login != nil {
		keys = throttleKeys(*login, ip)
		if err := v.checkThrottle(ctx, keys); err != nil {
			return fmt.Errorf("vault: check secret %s: %w", owner, err)
		}
	}
	phc := dummyHash
	if hash != nil {
		phc = *hash
	}
	ok, err := verifySecret(phc, secret)
	if err != nil {
		return fmt.Errorf("vault: check secret %s: %w", owner, err)
	}
	if !ok || hash == nil {
		if keys != nil {
			if err := v.countFailure(ctx, keys); err != nil {
				return fmt.Errorf("vault: check secret %s: %w", owner, err)
			}
		}
		return fmt.Errorf("vault: check secret %s: %w", owner, ErrBadCredentials)
	}
	return nil
}

// AccessCode is a temporary code an agent gave to an owner.
type AccessCode struct {
	Code      string // shown once, printed on the access card; only its hash is kept
	ExpiresAt time.Time
}

// IssueAccessCode makes code owner's secret (hashed, like any secret), valid until
// ttl from now and to be changed at the next sign-in. With recovery, it is an access
// recovery: every session of the owner ends and the owner is told at their next sign-in.
// detail is what the history shows of who did it ("Mme D. (CCAS de Lille)"). Everything
// commits in one transaction with its journal entries.
func (v *Vault) IssueAccessCode(ctx context.Context, owner uuid.UUID, code string, ttl time.Duration, recovery bool, by Actor, detail string) (*AccessCode, error) {
	a, err := v.Account(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: issue access code %s: %w", owner, err)
	}
	if err := CheckSecret(a.Owner.Login, code); err != nil {
		return nil, fmt.Errorf("vault: issue access code %s: %w", owner, err)
	}
	hash, err := hashSecret(code)
	if err != nil {
		return nil, fmt.Errorf("vault: issue access code %s: %w", owner, err)
	}
	ac := &AccessCode{Code: code}
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO accounts (owner_id, secret_hash) VALUES ($1, $2)
			ON CONFLICT (owner_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, updated_at = now()`, owner, hash); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `
			INSERT INTO access_codes (owner_id, expires_at, must_change, recovery, notify_pending, issued_by_kind, issued_by_id, issued_detail)
			VALUES ($1, now() + $2::interval, true, $3, $3, $4, $5, $6)
			ON CONFLICT (owner_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, must_change = true,
				recovery = EXCLUDED.recovery, notify_pending = EXCLUDED.notify_pending OR access_codes.notify_pending,
				issued_by_kind = EXCLUDED.issued_by_kind, issued_by_id = EXCLUDED.issued_by_id,
				issued_detail = EXCLUDED.issued_detail, issued_at = now()
			RETURNING expires_at`, owner, ttl, recovery, by.Kind, by.ID, detail).Scan(&ac.ExpiresAt); err != nil {
			return err
		}
		action := ActionAccessCodeIssued
		if recovery {
			action = ActionAccessRecovered
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE owner_id = $1`, owner); err != nil {
				return err
			}
			if _, err := appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionLogoutAll, Detail: detail}); err != nil {
				return err
			}
		}
		_, err := appendEntry(ctx, tx, owner, Event{Actor: by, Action: action, Detail: detail})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vault: issue access code %s: %w", owner, err)
	}
	return ac, nil
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
func (v *Vault) AccessState(ctx context.Context, owner uuid.UUID) (AccessState, error) {
	var s AccessState
	err := v.db.QueryRow(ctx, `
		SELECT must_change, expires_at, must_change AND expires_at <= now(), notify_pending, issued_detail, issued_at
		FROM access_codes WHERE owner_id = $1`, owner).Scan(&s.MustChange, &s.ExpiresAt, &s.Expired, &s.Recovered, &s.By, &s.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return AccessState{}, nil
	}
	if err != nil {
		return s, fmt.Errorf("vault: access state %s: %w", owner, err)
	}
	s.TemporaryCode = s.MustChange
	if !s.Recovered {
		s.By, s.At = "", time.Time{}
	}
	return s, nil
}

// AcknowledgeAccessNotice records that the owner was told of an access recovery.
func (v *Vault) AcknowledgeAccessNotice(ctx context.Context, owner uuid.UUID) error {
	// Once the code is changed and the notice seen, nothing is left to remember.
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM access_codes WHERE owner_id = $1 AND must_change = false`, owner)
	b.Queue(`UPDATE access_codes SET notify_pending = false WHERE owner_id = $1`, owner)
	if err := v.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("vault: acknowledge access notice %s: %w", owner, err)
	}
	return nil
}

// ChangeTemporaryCode replaces owner's temporary code with the secret they choose
// (ChangeSecret rules), forgets the code and marks the safe activated: choosing one's own
// secret is the first thing the owner does by themselves. An expired code is refused
// (ErrAccessCodeExpired). Like ChangeSecret, it ends every other session of the owner
// (another browser still parked on the code) and returns a new token for the session
// from, which stops being restricted to this change.
func (v *Vault) ChangeTemporaryCode(ctx context.Context, owner uuid.UUID, code, next string, by Actor, from uuid.UUID) (string, error) {
	s, err := v.AccessState(ctx, owner)
	if err != nil {
		return "", err
	}
	if s.Expired {
		return "", fmt.Errorf("vault: change temporary code %s: %w", owner, ErrAccessCodeExpired)
	}
	if strings.TrimSpace(next) == strings.TrimSpace(code) {
		return "", fmt.Errorf("vault: change temporary code %s: the new secret is the code: %w", owner, ErrSecretCommon)
	}
	token, err := v.changeSecret(ctx, owner, code, next, by, from, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM access_codes WHERE owner_id = $1 AND notify_pending = false`, owner)
		b.Queue(`UPDATE access_codes SET must_change = false WHERE owner_id = $1`, owner)
		b.Queue(`UPDATE owners SET activated_at = now() WHERE id = $1 AND activated_at IS NULL`, owner)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return "", fmt.Errorf("vault: change temporary code %s: %w", owner, err)
	}
	return token, nil
}
