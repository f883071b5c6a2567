package vault

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Session is one signed-in browser of an owner.
type Session struct {
	ID      uuid.UUID
	OwnerID uuid.UUID
	Login   string // the owner's login, filled by SessionByToken
	// Method is how the owner signed in: "secret", "passkey", "franceconnect", or
	// MethodTemporaryCode.
	Method     string
	Device     string // the browser's description, as it gave it
	CreatedAt  time.Time
	LastSeenAt time.Time
	VerifiedAt time.Time // the last proof of who is there: the sign-in, or Reverify
	ExpiresAt  time.Time // the absolute end, whatever the activity
}

// MethodTemporaryCode is the Method of a session opened with a temporary code given at
// a desk. Such a session may only choose the owner's own secret (ChangeTemporaryCode),
// which replaces it with a session of method "secret"; it never becomes anything else.
const MethodTemporaryCode = "temporary_code"

// Restricted tells a session opened with a temporary code: it may only choose the
// owner's own secret.
func (s *Session) Restricted() bool { return s.Method == MethodTemporaryCode }

// SessionReverify is how long a proof of who is there lasts: a change of credential
// (adding or removing a passkey, a secret set without typing the current one) needs the
// secret typed, or a sign-in, within that time.
const SessionReverify = 5 * time.Minute

// Fresh tells whether the owner proved who they are within SessionReverify before now.
func (s *Session) Fresh(now time.Time) bool {
	return now.Sub(s.VerifiedAt) < SessionReverify
}

// ActionSessionsEnded: a credential changed, and every other session of the owner ended
// with it. ActionReverified: the owner typed their secret again in a session.
const (
	ActionSessionsEnded Action = "other_sessions_ended"
	ActionReverified    Action = "reverified"
)

// touchEvery limits writes: a session's last activity is recorded at most once a minute.
const touchEvery = time.Minute

func newSessionToken() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// TokenHash is the SHA-256 of a session token: what the database keeps.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func deviceAD(owner, id uuid.UUID) string { return "session:" + owner.String() + ":" + id.String() }

// CreateSession opens a session for owner that ends at the latest after absolute; the
// sign-in that opens it is a proof of who is there (VerifiedAt). It returns the token to put in the cookie (256 random bits, base64url); only its hash is
// stored.
func (v *Vault) CreateSession(ctx context.Context, owner uuid.UUID, method, device string, absolute time.Duration) (string, *Session, error) {
	token, err := newSessionToken()
	if err != nil {
		return "", nil, fmt.Errorf("vault: create session: %w", err)
	}
	s := &Session{ID: uuid.New(), OwnerID: owner, Method: method, Device: device}
	var sealed []byte
	if device != "" {
		_, dataKey, err := v.ownerKeys(ctx, owner)
		if err != nil {
			return "", nil, fmt.Errorf("vault: create session: %w", err)
		}
		if len(device) > 300 {
			device = device[:300]
		}
		if sealed, err = seal(dataKey, []byte(device), deviceAD(owner, s.ID)); err != nil {
			return "", nil, fmt.Errorf("vault: create session: %w", err)
		}
	}
	err = v.db.QueryRow(ctx, `
		INSERT INTO sessions (id, token_sha256, owner_id, method, device_sealed, expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + $6::interval)
		RETURNING created_at, last_seen_at, verified_at, expires_at`,
		s.ID, TokenHash(token), owner, method, sealed, absolute).Scan(&s.CreatedAt, &s.LastSeenAt, &s.VerifiedAt, &s.ExpiresAt)
	if err != nil {
		return "", nil, fmt.Errorf("vault: create session: %w", err)
	}
	return token, s, nil
}

// SessionByToken returns the live session of token: not past its absolute end, and
// active within idle. Anything else gives ErrNotFound. It records the activity.
func (v *Vault) SessionByToken(ctx context.Context, token string, idle time.Duration) (*Session, error) {
	s := &Session{}
	var login *string
	err := v.db.QueryRow(ctx, `
		SELECT s.id, s.owner_id, o.login, s.method, s.created_at, s.last_seen_at, s.verified_at, s.expires_at
		FROM sessions s JOIN owners o ON o.id = s.owner_id AND o.shredded_at IS NULL
		WHERE s.token_sha256 = $1 AND s.expires_at > now() AND s.last_seen_at > now() - $2::interval`,
		TokenHash(token), idle).Scan(&s.ID, &s.OwnerID, &login, &s.Method, &s.CreatedAt, &s.LastSeenAt, &s.VerifiedAt, &s.ExpiresAt)
	if login != nil {
		s.Login = *login
	}
	if err != nil {
		return nil, fmt.Errorf("vault: session: %w", notFound(err))
	}
	if time.Since(s.LastSeenAt) > touchEvery {
		if _, err := v.db.Exec(ctx, `UPDATE sessions SET last_seen_at = now() WHERE id = $1`, s.ID); err != nil {
			return nil, fmt.Errorf("vault: session: touch: %w", err)
		}
		s.LastSeenAt = time.Now()
	}
	return s, nil
}

// Sessions lists owner's sessions that have not reached their absolute end, newest first.
func (v *Vault) Sessions(ctx context.Context, owner uuid.UUID) ([]Session, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: sessions: %w", err)
	}
	rows, err := v.db.Query(ctx, `
		SELECT id, owner_id, method, device_sealed, created_at, last_seen_at, verified_at, expires_at FROM sessions
		WHERE owner_id = $1 AND expires_at > now() ORDER BY created_at DESC`, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: sessions: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Session, error) {
		var s Session
		var sealed []byte
		if err := row.Scan(&s.ID, &s.OwnerID, &s.Method, &sealed, &s.CreatedAt, &s.LastSeenAt, &s.VerifiedAt, &s.ExpiresAt); err != nil {
			return s, fmt.Errorf("vault: sessions: %w", err)
		}
		if sealed != nil {
			d, err := open(dataKey, sealed, deviceAD(owner, s.ID))
			if err != nil {
				return s, fmt.Errorf("vault: session %s device: %w", s.ID, err)
			}
			s.Device = string(d)
		}
		return s, nil
	})
}

// EndSession signs out the session of token (log out); an unknown token is not an error.
func (v *Vault) EndSession(ctx context.Context, token string) error {
	if _, err := v.db.Exec(ctx, `DELETE FROM sessions WHERE token_sha256 = $1`, TokenHash(token)); err != nil {
		return fmt.Errorf("vault: end session: %w", err)
	}
	return nil
}

// EndSessionID signs out one of owner's sessions, named by its ID; another owner's
// session gives ErrNotFound.
func (v *Vault) EndSessionID(ctx context.Context, owner, id uuid.UUID) error {
	tag, err := v.db.Exec(ctx, `DELETE FROM sessions WHERE owner_id = $1 AND id = $2`, owner, id)
	if err != nil {
		return fmt.Errorf("vault: end session %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("vault: end session %s: %w", id, ErrNotFound)
	}
	return nil
}

// EndAllSessions signs out every session of owner ("log out everywhere") and journals it.
func (v *Vault) EndAllSessions(ctx context.Context, owner uuid.UUID, by Actor) (int, error) {
	var n int64
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE owner_id = $1`, owner)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionLogoutAll})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("vault: end all sessions %s: %w", owner, err)
	}
	return int(n), nil
}

// renewSessions is the end of every change of credential, inside its transaction: every
// session of owner but keep ends, and keep gets a new token, which it returns. Whoever
// held keep's old token (planted before sign-in, or read over a shoulder) holds nothing
// any more; a temporary-code session becomes an ordinary one, and the change itself
// counts as a fresh proof. With keep uuid.Nil every session ends and the token is empty.
// A keep that is not a live session of owner gives ErrNotFound, and the change rolls
// back.
func renewSessions(ctx context.Context, tx pgx.Tx, owner, keep uuid.UUID, by Actor) (string, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE owner_id = $1 AND id <> $2`, owner, keep)
	if err != nil {
		return "", fmt.Errorf("end other sessions: %w", err)
	}
	if tag.RowsAffected() > 0 {
		if _, err := appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionSessionsEnded}); err != nil {
			return "", err
		}
	}
	if keep == uuid.Nil {
		return "", nil
	}
	token, err := newSessionToken()
	if err != nil {
		return "", fmt.Errorf("renew session: %w", err)
	}
	tag, err = tx.Exec(ctx, `
		UPDATE sessions SET token_sha256 = $3, verified_at = now(),
			method = CASE WHEN method = $4 THEN 'secret' ELSE method END
		WHERE owner_id = $1 AND id = $2 AND expires_at > now()`, owner, keep, TokenHash(token), MethodTemporaryCode)
	if err != nil {
		return "", fmt.Errorf("renew session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return "", fmt.Errorf("renew session %s: %w", keep, ErrNotFound)
	}
	return token, nil
}

// lockOwner serialises the changes of credential of owner (two sessions changing the
// secret at once: the second one sees the first one's secret). A shredded owner gives
// ErrNotFound.
func lockOwner(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM owners WHERE id = $1 AND shredded_at IS NULL FOR NO KEY UPDATE`, owner).Scan(&id)
	if err != nil {
		return fmt.Errorf("lock owner: %w", notFound(err))
	}
	return nil
}

// Reverify checks the owner's secret again within session s, before a change of
// credential, and records the proof (Session.Fresh). A wrong secret counts against the
// sign-in lockout, like at sign-in, and is journaled as a failed attempt.
func (v *Vault) Reverify(ctx context.Context, s *Session, secret string, ip netip.Addr) error {
	by := Actor{Kind: ActorOwner, ID: s.OwnerID.String(), IP: ip}
	err := v.CheckOwnerSecret(ctx, s.OwnerID, secret, ip)
	if errors.Is(err, ErrBadCredentials) {
		if jerr := v.Record(ctx, s.OwnerID, Event{Actor: by, Action: ActionLoginFailed, Detail: "reverify"}); jerr != nil {
			v.log.Warn("journal failed reverification", "owner", s.OwnerID, "err", jerr)
		}
	}
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE sessions SET verified_at = now() WHERE owner_id = $1 AND id = $2 RETURNING verified_at`,
			s.OwnerID, s.ID).Scan(&s.VerifiedAt)
		if err != nil {
			return notFound(err)
		}
		_, err = appendEntry(ctx, tx, s.OwnerID, Event{Actor: by, Action: ActionReverified})
		return err
	})
	if err != nil {
		return fmt.Errorf("vault: reverify %s: %w", s.OwnerID, err)
	}
	return nil
}

// ReverifyWithPasskey records a passkey used within session s as the proof of who is
// there, with the credential's updated state (its signature counter), like UsePasskey.
func (v *Vault) ReverifyWithPasskey(ctx context.Context, s *Session, credentialID, credential []byte, ip netip.Addr) error {
	_, dataKey, err := v.ownerKeys(ctx, s.OwnerID)
	if err != nil {
		return fmt.Errorf("vault: reverify with passkey: %w", err)
	}
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		var id uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT id FROM passkeys WHERE owner_id = $1 AND credential_id = $2 FOR UPDATE`,
			s.OwnerID, credentialID).Scan(&id); err != nil {
			return notFound(err)
		}
		sealed, err := seal(dataKey, credential, passkeyAD(s.OwnerID, id))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE passkeys SET credential_sealed = $2, last_used_at = now() WHERE id = $1`, id, sealed); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `UPDATE sessions SET verified_at = now() WHERE owner_id = $1 AND id = $2 RETURNING verified_at`,
			s.OwnerID, s.ID).Scan(&s.VerifiedAt); err != nil {
			return notFound(err)
		}
		_, err = appendEntry(ctx, tx, s.OwnerID, Event{Actor: Actor{Kind: ActorOwner, ID: s.OwnerID.String(), IP: ip}, Action: ActionReverified, Detail: "passkey"})
		return err
	})
	if err != nil {
		return fmt.Errorf("vault: reverify with passkey %s: %w", s.OwnerID, err)
	}
	return nil
}

// PurgeSessions deletes sessions past their absolute end or idle for longer than idle.
func (v *Vault) PurgeSessions(ctx context.Context, idle time.Duration) (int, error) {
	tag, err := v.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at < now() OR last_seen_at < now() - $1::interval`, idle)
	if err != nil {
		return 0, fmt.Errorf("vault: purge sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// IsLocked tells whether err is a sign-in lockout, and until when.
func IsLocked(err error) (time.Time, bool) {
	var le *LockedError
	if errors.As(err, &le) {
		return le.Until, true
	}
	return time.Time{}, false
}
