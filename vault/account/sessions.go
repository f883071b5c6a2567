package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Session is one signed-in browser of an owner.
type Session struct {
	ID      uuid.UUID
	OwnerID uuid.UUID
	Login   string // the owner's login, filled by SessionByToken
	// TimeZone is the owner's (Account.TimeZone), filled by SessionByToken: every page
	// gives its hours in it.
	TimeZone string
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
	ActionSessionsEnded vault.Action = "other_sessions_ended"
	ActionReverified    vault.Action = "reverified"
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
// sign-in that opens it is a proof of who is there (VerifiedAt). It returns the token to
// put in the cookie (256 random bits, base64url); only its hash is stored. A sign-in from
// a kind of device the owner has not used lately is told to them (rememberDevice).
func (srv *Service) CreateSession(ctx context.Context, owner uuid.UUID, method, device string, absolute time.Duration) (string, *Session, error) {
	token, err := newSessionToken()
	if err != nil {
		return "", nil, fmt.Errorf("account: create session: %w", err)
	}
	s := &Session{ID: uuid.New(), OwnerID: owner, Method: method, Device: device}
	var sealed []byte
	var sealer *vault.Sealer
	if device != "" {
		if sealer, err = srv.vault.Sealer(ctx, owner); err != nil {
			return "", nil, fmt.Errorf("account: create session: %w", err)
		}
		if len(device) > 300 {
			device = device[:300]
		}
		if sealed, err = sealer.Seal([]byte(device), deviceAD(owner, s.ID)); err != nil {
			return "", nil, fmt.Errorf("account: create session: %w", err)
		}
	}
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO sessions (id, token_sha256, owner_id, method, device_sealed, created_at, last_seen_at, verified_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $7, $7, $7, $7::timestamptz + $6::interval)
			RETURNING created_at, last_seen_at, verified_at, expires_at`,
			s.ID, TokenHash(token), owner, method, sealed, absolute, srv.now()).Scan(&s.CreatedAt, &s.LastSeenAt, &s.VerifiedAt, &s.ExpiresAt)
		if err != nil || sealer == nil {
			return err
		}
		return srv.rememberDevice(ctx, tx, sealer, owner, s.ID, DeviceFamily(device))
	})
	if err != nil {
		return "", nil, fmt.Errorf("account: create session: %w", err)
	}
	return token, s, nil
}

// SessionByToken returns the live session of token: not past its absolute end, and
// active within idle. Anything else gives vault.ErrNotFound. It records the activity.
func (srv *Service) SessionByToken(ctx context.Context, token string, idle time.Duration) (*Session, error) {
	s := &Session{}
	now := srv.now()
	err := srv.db.QueryRow(ctx, `
		SELECT s.id, s.owner_id, s.method, s.created_at, s.last_seen_at, s.verified_at, s.expires_at, coalesce(a.time_zone, '')
		FROM sessions s LEFT JOIN accounts a ON a.owner_id = s.owner_id
		WHERE s.token_sha256 = $1 AND s.expires_at > $3 AND s.last_seen_at > $3::timestamptz - $2::interval`,
		TokenHash(token), idle, now).Scan(&s.ID, &s.OwnerID, &s.Method, &s.CreatedAt, &s.LastSeenAt, &s.VerifiedAt, &s.ExpiresAt, &s.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("account: session: %w", notFound(err))
	}
	// An erased safe has no session left (Forget); the owner is read for the login.
	o, err := srv.vault.Owner(ctx, s.OwnerID)
	if err != nil {
		return nil, fmt.Errorf("account: session: %w", err)
	}
	s.Login = o.Login
	if now.Sub(s.LastSeenAt) > touchEvery {
		if _, err := srv.db.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, s.ID, now); err != nil {
			return nil, fmt.Errorf("account: session: touch: %w", err)
		}
		s.LastSeenAt = now
	}
	return s, nil
}

// Sessions lists owner's sessions that have not reached their absolute end, newest first.
func (srv *Service) Sessions(ctx context.Context, owner uuid.UUID) ([]Session, error) {
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("account: sessions: %w", err)
	}
	rows, err := srv.db.Query(ctx, `
		SELECT id, owner_id, method, device_sealed, created_at, last_seen_at, verified_at, expires_at FROM sessions
		WHERE owner_id = $1 AND expires_at > $2 ORDER BY created_at DESC`, owner, srv.now())
	if err != nil {
		return nil, fmt.Errorf("account: sessions: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Session, error) {
		var s Session
		var sealed []byte
		if err := row.Scan(&s.ID, &s.OwnerID, &s.Method, &sealed, &s.CreatedAt, &s.LastSeenAt, &s.VerifiedAt, &s.ExpiresAt); err != nil {
			return s, fmt.Errorf("account: sessions: %w", err)
		}
		if sealed != nil {
			d, err := sealer.Open(sealed, deviceAD(owner, s.ID))
			if err != nil {
				return s, fmt.Errorf("account: session %s device: %w", s.ID, err)
			}
			s.Device = string(d)
		}
		return s, nil
	})
}

// EndSession signs out the session of token (log out); an unknown token is not an error.
func (srv *Service) EndSession(ctx context.Context, token string) error {
	if _, err := srv.db.Exec(ctx, `DELETE FROM sessions WHERE token_sha256 = $1`, TokenHash(token)); err != nil {
		return fmt.Errorf("account: end session: %w", err)
	}
	return nil
}

// EndSessionID signs out one of owner's sessions, named by its ID; another owner's
// session gives vault.ErrNotFound.
func (srv *Service) EndSessionID(ctx context.Context, owner, id uuid.UUID) error {
	tag, err := srv.db.Exec(ctx, `DELETE FROM sessions WHERE owner_id = $1 AND id = $2`, owner, id)
	if err != nil {
		return fmt.Errorf("account: end session %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("account: end session %s: %w", id, vault.ErrNotFound)
	}
	return nil
}

// EndAllSessions signs out every session of owner ("log out everywhere") and journals it.
func (srv *Service) EndAllSessions(ctx context.Context, owner uuid.UUID, by vault.Actor) (int, error) {
	var n int64
	err := pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE owner_id = $1`, owner)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		err = srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionLogoutAll})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("account: end all sessions %s: %w", owner, err)
	}
	return int(n), nil
}

// renewSessions is the end of every change of credential, inside its transaction: every
// session of owner but keep ends, and keep gets a new token, which it returns. Whoever
// held keep's old token (planted before sign-in, or read over a shoulder) holds nothing
// any more; a temporary-code session becomes an ordinary one, and the change itself
// counts as a fresh proof. With keep uuid.Nil every session ends and the token is empty.
// A keep that is not a live session of owner gives vault.ErrNotFound, and the change rolls
// back.
func (srv *Service) renewSessions(ctx context.Context, tx pgx.Tx, owner, keep uuid.UUID, by vault.Actor) (string, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE owner_id = $1 AND id <> $2`, owner, keep)
	if err != nil {
		return "", fmt.Errorf("end other sessions: %w", err)
	}
	if tag.RowsAffected() > 0 {
		if err := srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionSessionsEnded}); err != nil {
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
		UPDATE sessions SET token_sha256 = $3, verified_at = $5,
			method = CASE WHEN method = $4 THEN 'secret' ELSE method END
		WHERE owner_id = $1 AND id = $2 AND expires_at > $5`, owner, keep, TokenHash(token), MethodTemporaryCode, srv.now())
	if err != nil {
		return "", fmt.Errorf("renew session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return "", fmt.Errorf("renew session %s: %w", keep, vault.ErrNotFound)
	}
	return token, nil
}

// Reverify checks the owner's secret again within session s, before a change of
// credential, and records the proof (Session.Fresh). A wrong secret counts against the
// sign-in lockout, like at sign-in, and is journaled as a failed attempt.
func (srv *Service) Reverify(ctx context.Context, s *Session, secret string, ip netip.Addr) error {
	by := vault.Actor{Kind: vault.ActorOwner, ID: s.OwnerID.String(), IP: ip}
	err := srv.CheckOwnerSecret(ctx, s.OwnerID, secret, ip)
	if errors.Is(err, ErrBadCredentials) {
		if jerr := srv.vault.Record(ctx, s.OwnerID, vault.Event{Actor: by, Action: ActionLoginFailed, Detail: "reverify"}); jerr != nil {
			srv.log.Warn("journal failed reverification", "owner", s.OwnerID, "err", jerr)
		}
	}
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE sessions SET verified_at = $3 WHERE owner_id = $1 AND id = $2 RETURNING verified_at`,
			s.OwnerID, s.ID, srv.now()).Scan(&s.VerifiedAt)
		if err != nil {
			return notFound(err)
		}
		err = srv.vault.RecordTx(ctx, tx, s.OwnerID, vault.Event{Actor: by, Action: ActionReverified})
		return err
	})
	if err != nil {
		return fmt.Errorf("account: reverify %s: %w", s.OwnerID, err)
	}
	return nil
}

// ReverifyWithPasskey records a passkey used within session s as the proof of who is
// there, with the credential's updated state (its signature counter), like UsePasskey.
func (srv *Service) ReverifyWithPasskey(ctx context.Context, s *Session, credentialID, credential []byte, ip netip.Addr) error {
	sealer, err := srv.vault.Sealer(ctx, s.OwnerID)
	if err != nil {
		return fmt.Errorf("account: reverify with passkey: %w", err)
	}
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		id, err := lockPasskey(ctx, tx, s.OwnerID, credentialID)
		if err != nil {
			return err
		}
		sealed, err := sealer.Seal(credential, passkeyAD(s.OwnerID, id))
		if err != nil {
			return err
		}
		if err := srv.updatePasskey(ctx, tx, id, sealed); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `UPDATE sessions SET verified_at = $3 WHERE owner_id = $1 AND id = $2 RETURNING verified_at`,
			s.OwnerID, s.ID, srv.now()).Scan(&s.VerifiedAt); err != nil {
			return notFound(err)
		}
		err = srv.vault.RecordTx(ctx, tx, s.OwnerID, vault.Event{Actor: vault.Actor{Kind: vault.ActorOwner, ID: s.OwnerID.String(), IP: ip}, Action: ActionReverified, Detail: "passkey"})
		return err
	})
	if err != nil {
		return fmt.Errorf("account: reverify with passkey %s: %w", s.OwnerID, err)
	}
	return nil
}

// PurgeSessions deletes sessions past their absolute end or idle for longer than idle.
func (srv *Service) PurgeSessions(ctx context.Context, idle time.Duration) (int, error) {
	tag, err := srv.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $2 OR last_seen_at < $2::timestamptz - $1::interval`, idle, srv.now())
	if err != nil {
		return 0, fmt.Errorf("account: purge sessions: %w", err)
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

// endSessions ends every session of owner inside tx, and tells how many there were.
func endSessions(ctx context.Context, tx pgx.Tx, owner uuid.UUID) (int64, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE owner_id = $1`, owner)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

func forgetSessions(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := endSessions(ctx, tx, owner)
	return err
}
