package vault

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
)

// Sign-in throttling. The counters live in PostgreSQL, so that several 'coffre serve'
// processes behind a load balancer lock out together. A login is locked after
// LoginFailures failures within ThrottleWindow; a network (IP prefix, see IPPrefix) after
// NetworkFailures, which lets a family or a France Services desk behind one address
// make mistakes without locking each other out.
const (
	LoginFailures   = 5
	NetworkFailures = 50
	ThrottleWindow  = 15 * time.Minute
	LockDuration    = 15 * time.Minute
)

type throttleKey struct {
	key   []byte
	limit int
}

// throttleKeys returns the login key first, then the network key. Keys are hashed: the
// table holds neither logins nor addresses.
func throttleKeys(login string, ip netip.Addr) []throttleKey {
	l := sha256.Sum256([]byte("login:" + login))
	keys := []throttleKey{{l[:], LoginFailures}}
	if ip.IsValid() {
		n := sha256.Sum256([]byte("ip:" + IPPrefix(ip)))
		keys = append(keys, throttleKey{n[:], NetworkFailures})
	}
	return keys
}

// checkThrottle returns a *LockedError when any key is locked.
func (v *Vault) checkThrottle(ctx context.Context, keys []throttleKey) error {
	for _, k := range keys {
		var until *time.Time
		err := v.db.QueryRow(ctx, `SELECT locked_until FROM login_throttle WHERE key = $1 AND locked_until > now()`, k.key).Scan(&until)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("throttle: %w", err)
		}
		return &LockedError{Until: *until}
	}
	return nil
}

// countFailure adds one failure to each key in one statement per key; a key whose window
// has passed starts again at one.
func (v *Vault) countFailure(ctx context.Context, keys []throttleKey) error {
	for _, k := range keys {
		_, err := v.db.Exec(ctx, `
			INSERT INTO login_throttle AS t (key, failures, window_start) VALUES ($1, 1, now())
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN t.window_start < now() - $2::interval THEN 1 ELSE t.failures + 1 END,
				window_start = CASE WHEN t.window_start < now() - $2::interval THEN now() ELSE t.window_start END,
				locked_until = CASE
					WHEN t.window_start >= now() - $2::interval AND t.failures + 1 >= $3 THEN now() + $4::interval
					ELSE t.locked_until END`,
			k.key, ThrottleWindow, k.limit, LockDuration)
		if err != nil {
			return fmt.Errorf("throttle: count failure: %w", err)
		}
	}
	return nil
}

// resetThrottle forgets the failures of one key, after a successful sign-in.
func (v *Vault) resetThrottle(ctx context.Context, k throttleKey) error {
	if _, err := v.db.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, k.key); err != nil {
		return fmt.Errorf("throttle: reset: %w", err)
	}
	return nil
}

// PurgeThrottle deletes counters whose window and lock are both over, for the jobs.
func (v *Vault) PurgeThrottle(ctx context.Context) (int, error) {
	tag, err := v.db.Exec(ctx, `
		DELETE FROM login_throttle WHERE window_start < now() - $1::interval
		AND (locked_until IS NULL OR locked_until < now())`, ThrottleWindow)
	if err != nil {
		return 0, fmt.Errorf("vault: purge throttle: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
