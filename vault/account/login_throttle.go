package account

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"coffre/vault"

	"github.com/jackc/pgx/v5"
)

// Sign-in throttling. The counters live in PostgreSQL, so that several 'coffre serve'
// processes behind a load balancer lock out together. A login is locked after
// LoginFailures failures within ThrottleWindow; a network (IP prefix, see vault.IPPrefix) after
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
		n := sha256.Sum256([]byte("ip:" + vault.IPPrefix(ip)))
		keys = append(keys, throttleKey{n[:], NetworkFailures})
	}
	return keys
}

// checkThrottle returns a *LockedError when any key is locked.
func (srv *Service) checkThrottle(ctx context.Context, keys []throttleKey) error {
	for _, k := range keys {
		var until *time.Time
		err := srv.db.QueryRow(ctx, `SELECT locked_until FROM login_throttle WHERE key = $1 AND locked_until > $2`, k.key, srv.now()).Scan(&until)
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
func (srv *Service) countFailure(ctx context.Context, keys []throttleKey) error {
	for _, k := range keys {
		_, err := srv.db.Exec(ctx, `
			INSERT INTO login_throttle AS t (key, failures, window_start) VALUES ($1, 1, $5)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN t.window_start < $5::timestamptz - $2::interval THEN 1 ELSE t.failures + 1 END,
				window_start = CASE WHEN t.window_start < $5::timestamptz - $2::interval THEN $5 ELSE t.window_start END,
				locked_until = CASE
					WHEN t.window_start >= $5::timestamptz - $2::interval AND t.failures + 1 >= $3 THEN $5::timestamptz + $4::interval
					ELSE t.locked_until END`,
			k.key, ThrottleWindow, k.limit, LockDuration, srv.now())
		if err != nil {
			return fmt.Errorf("throttle: count failure: %w", err)
		}
	}
	return nil
}

// resetThrottle forgets the failures of one key, after a successful sign-in.
func (srv *Service) resetThrottle(ctx context.Context, k throttleKey) error {
	if _, err := srv.db.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, k.key); err != nil {
		return fmt.Errorf("throttle: reset: %w", err)
	}
	return nil
}

// PurgeThrottle deletes counters whose window and lock are both over, for the jobs.
func (srv *Service) PurgeThrottle(ctx context.Context) (int, error) {
	tag, err := srv.db.Exec(ctx, `
		DELETE FROM login_throttle WHERE window_start < $2::timestamptz - $1::interval
		AND (locked_until IS NULL OR locked_until < $2)`, ThrottleWindow, srv.now())
	if err != nil {
		return 0, fmt.Errorf("account: purge throttle: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// CheckThrottle returns a *LockedError while the login or ip's network is locked out.
// login must carry a namespace of its caller ("agent:" + login), so that the counters of
// agents and owners never mix; the network counter is shared with owners on purpose (a
// desk's address is one network whoever types).
func (srv *Service) CheckThrottle(ctx context.Context, login string, ip netip.Addr) error {
	return srv.checkThrottle(ctx, throttleKeys(login, ip))
}

// CountThrottleFailure counts one failed sign-in for login and ip's network.
func (srv *Service) CountThrottleFailure(ctx context.Context, login string, ip netip.Addr) error {
	return srv.countFailure(ctx, throttleKeys(login, ip))
}

// ResetThrottle forgets login's failures, after a successful sign-in.
func (srv *Service) ResetThrottle(ctx context.Context, login string) error {
	return srv.resetThrottle(ctx, throttleKeys(login, netip.Addr{})[0])
}

// GuessLimit is how many unknown capability tokens (share links) one network may present
// within ThrottleWindow before it must wait LockDuration. Tokens carry 256 bits, so this
// is not what keeps them safe: it keeps scanners from filling the logs and the journal.
const GuessLimit = 30

func guessKey(scope string, ip netip.Addr) []throttleKey {
	k := sha256.Sum256([]byte("guess:" + scope + ":" + vault.IPPrefix(ip)))
	return []throttleKey{{k[:], GuessLimit}}
}

// CheckGuesses returns a *LockedError when ip's network presented too many unknown tokens
// of scope (say "link") lately.
func (srv *Service) CheckGuesses(ctx context.Context, scope string, ip netip.Addr) error {
	return srv.checkThrottle(ctx, guessKey(scope, ip))
}

// CountGuess counts one unknown token of scope presented from ip's network.
func (srv *Service) CountGuess(ctx context.Context, scope string, ip netip.Addr) error {
	return srv.countFailure(ctx, guessKey(scope, ip))
}

// forgetThrottle deletes the failed sign-in counter of login (the network's is no one's).
func forgetThrottle(ctx context.Context, tx pgx.Tx, login string) error {
	_, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, throttleKeys(login, netip.Addr{})[0].key)
	return err
}
