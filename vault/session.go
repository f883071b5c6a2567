package vault

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Session is one signed-in browser of an owner.
type Session struct {
	ID         uuid.UUID
	OwnerID    uuid.UUID
	Login      string // the owner's login, filled by SessionByToken
	Method     string // how the owner signed in: "secret", "passkey", "franceconnect"
	Device     string // the browser's description, as it gave it
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the absolute end, whatever the activity
}

// touchEvery limits writes: a session's last activity is recorded at most once a minute.
const touchEvery = time.Minute

// TokenHash is the SHA-256 of a session token: what the database keeps.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func deviceAD(owner, id uuid.UUID) string { return "session:" + owner.String() + ":" + id.String() }

// CreateSession opens a session for owner that ends at the latest after absolute. It
// returns the token to put in the cookie (256 random bits, base64url); only its hash is
// stored.
func (v *Vault) CreateSession(ctx context.Context, owner uuid.UUID, method, device string, absolute time.Duration) (string, *Session, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("vault: create session: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
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
	err := v.db.QueryRow(ctx, `
		INSERT INTO sessions (id, token_sha256, owner_id, method, device_sealed, expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + $6::interval)
		RETURNING created_at, last_seen_at, expires_at`,
		s.ID, TokenHash(token), owner, method, sealed, absolute).Scan(&s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt)
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
		SELECT s.id, s.owner_id, o.login, s.method, s.created_at, s.last_seen_at, s.expires_at
		FROM sessions s JOIN owners o ON o.id = s.owner_id AND o.shredded_at IS NULL
		WHERE s.token_sha256 = $1 AND s.expires_at > now() AND s.last_seen_at > now() - $2::interval`,
		TokenHash(token), idle).Scan(&s.ID, &s.OwnerID, &login, &s.Method, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt)
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
		SELECT id, owner_id, method, device_sealed, created_at, last_seen_at, expires_at FROM sessions
		WHERE owner_id = $1 AND expires_at > now() ORDER BY created_at DESC`, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: sessions: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Session, error) {
		var s Session
		var sealed []byte
		if err := row.Scan(&s.ID, &s.OwnerID, &s.Method, &sealed, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt); err != nil {
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
