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
	"golang.org/x/sync/semaphore"
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
	// SignUpsPerNetwork is the default bound on the safes opened from one network
	// (vault.IPPrefix) in a ThrottleWindow (Config.SignUps): each costs an argon2id hash and a row, and a script must not open
	// them by the thousand. A France Services desk opening safes for people goes through
	// its agents' pages, not this limit.
	SignUpsPerNetwork = 10
)

// Every argon2id computation (checking or hashing a secret) holds argonMemory, 19 MiB,
// for tens of milliseconds. At most argonSlots run at once in a process, whatever
// arrives: a burst of sign-ins, wrong or right, waits up to argonWait for a slot and is
// then answered ErrBusy, instead of holding memory without bound.
const (
	argonSlots = 4
	argonWait  = 3 * time.Second
)

// newArgonSlots returns the slots of one Service (one per process in production).
func newArgonSlots() *semaphore.Weighted { return semaphore.NewWeighted(argonSlots) }

// argon runs f, one argon2id computation, in one of the slots: ErrBusy after argonWait
// without one, or ctx's error.
func (srv *Service) argon(ctx context.Context, f func()) error {
	wctx, cancel := context.WithTimeout(ctx, srv.argonWait)
	defer cancel()
	if err := srv.argonSlots.Acquire(wctx, 1); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrBusy
	}
	defer srv.argonSlots.Release(1)
	f()
	return nil
}

// verify is verifySecret in one of the argon2id slots.
func (srv *Service) verify(ctx context.Context, phc, secret string) (ok bool, err error) {
	if aerr := srv.argon(ctx, func() { ok, err = verifySecret(phc, secret) }); aerr != nil {
		return false, aerr
	}
	return ok, err
}

// hash is hashSecret in one of the argon2id slots.
func (srv *Service) hash(ctx context.Context, secret string) (phc string, err error) {
	if aerr := srv.argon(ctx, func() { phc, err = hashSecret(secret) }); aerr != nil {
		return "", aerr
	}
	return phc, err
}

// verifyAttempt checks secret against phc as one attempt counted against keys
// (takeAttempt): a *LockedError refuses it before anything is computed. A nil phc (no
// such login, no secret) is checked against dummyHash, as long as a real one, and is
// never right. A right secret, and a check that could not be made (ErrBusy, the client
// gone), are given back; a wrong one stays counted.
func (srv *Service) verifyAttempt(ctx context.Context, keys []throttleKey, phc *string, secret string) (bool, error) {
	if err := srv.takeAttempt(ctx, keys); err != nil {
		return false, err
	}
	h := dummyHash
	if phc != nil {
		h = *phc
	}
	ok, err := srv.verify(ctx, h, secret)
	ok = ok && phc != nil
	if ok || errors.Is(err, ErrBusy) || ctx.Err() != nil {
		if rerr := srv.refundAttempt(context.WithoutCancel(ctx), keys); rerr != nil {
			return false, errors.Join(err, rerr)
		}
	}
	return ok, err
}

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

// TakeSignUp counts a sign-up from ip before its secret is hashed, and refuses it with a
// *LockedError once the network has opened Config.SignUps safes in a ThrottleWindow.
// A sign-up is never given back: a refused one cost a hash too. Without an address
// (a test, a process behind nothing) nothing is counted.
func (srv *Service) TakeSignUp(ctx context.Context, ip netip.Addr) error {
	if !ip.IsValid() {
		return nil
	}
	n := sha256.Sum256([]byte("signup:" + vault.IPPrefix(ip)))
	if err := srv.takeAttempt(ctx, []throttleKey{{n[:], srv.signUps}}); err != nil {
		return fmt.Errorf("account: sign-up: %w", err)
	}
	return nil
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

// takeAttempt counts one attempt against each key before the secret is checked, in one
// statement per key: an attempt is a failure until refundAttempt gives it back, so that a
// burst of parallel checks cannot all pass the limit before the first failure is
// written. The attempt that reaches a key's limit locks it (it stays locked if that
// attempt fails); one beyond the limit, or while the key is locked, is refused with a
// *LockedError and nothing is checked (the keys taken before it are given back). A key
// whose window or lock is over starts again at one.
func (srv *Service) takeAttempt(ctx context.Context, keys []throttleKey) error {
	now := srv.now()
	for i, k := range keys {
		var failures int
		var until *time.Time
		err := srv.db.QueryRow(ctx, `
			INSERT INTO login_throttle AS t (key, failures, window_start) VALUES ($1, 1, $5)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN t.locked_until > $5 OR (t.locked_until IS NULL AND t.window_start >= $5::timestamptz - $2::interval)
					THEN t.failures + 1 ELSE 1 END,
				window_start = CASE WHEN t.locked_until > $5 OR (t.locked_until IS NULL AND t.window_start >= $5::timestamptz - $2::interval)
					THEN t.window_start ELSE $5 END,
				locked_until = CASE
					WHEN t.locked_until > $5 THEN t.locked_until
					WHEN t.locked_until IS NULL AND t.window_start >= $5::timestamptz - $2::interval AND t.failures + 1 >= $3 THEN $5::timestamptz + $4::interval
					END
			RETURNING failures, locked_until`,
			k.key, ThrottleWindow, k.limit, LockDuration, now).Scan(&failures, &until)
		if err != nil {
			return errors.Join(fmt.Errorf("throttle: take attempt: %w", err), srv.refundAttempt(ctx, keys[:i]))
		}
		if failures > k.limit {
			if rerr := srv.refundAttempt(ctx, keys[:i]); rerr != nil {
				return rerr
			}
			if until == nil {
				t := now.Add(LockDuration)
				until = &t
			}
			return &LockedError{Until: *until}
		}
	}
	return nil
}

// refundAttempt gives back an attempt takeAttempt counted whose secret was right, or was
// never checked: the keys count one failure less, and a lock that attempt set is lifted
// when the failures left are under the limit.
func (srv *Service) refundAttempt(ctx context.Context, keys []throttleKey) error {
	for _, k := range keys {
		_, err := srv.db.Exec(ctx, `
			UPDATE login_throttle SET failures = failures - 1,
				locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END
			WHERE key = $1 AND failures > 0`, k.key, k.limit)
		if err != nil {
			return fmt.Errorf("throttle: refund attempt: %w", err)
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

// TakeAttempt counts one sign-in attempt for login and ip's network before the secret is
// checked, and returns a *LockedError, counting nothing more, while either is locked
// out. The attempt is a failure unless GiveBackAttempt or AttemptSucceeded follows.
// login must carry a namespace of its caller ("agent:" + login), so that the counters of
// agents and owners never mix; the network counter is shared with owners on purpose (a
// desk's address is one network whoever types).
func (srv *Service) TakeAttempt(ctx context.Context, login string, ip netip.Addr) error {
	return srv.takeAttempt(ctx, throttleKeys(login, ip))
}

// GiveBackAttempt forgets an attempt whose secret could not be checked (ErrBusy).
func (srv *Service) GiveBackAttempt(ctx context.Context, login string, ip netip.Addr) error {
	return srv.refundAttempt(ctx, throttleKeys(login, ip))
}

// AttemptSucceeded gives back a successful attempt and forgets login's failures.
func (srv *Service) AttemptSucceeded(ctx context.Context, login string, ip netip.Addr) error {
	keys := throttleKeys(login, ip)
	if err := srv.refundAttempt(ctx, keys[1:]); err != nil {
		return err
	}
	return srv.resetThrottle(ctx, keys[0])
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
	return forgetThrottleKey(ctx, tx, throttleKeys(login, netip.Addr{})[0])
}

// forgetThrottleKey deletes the counter of one key, inside an erasure's transaction.
func forgetThrottleKey(ctx context.Context, tx pgx.Tx, k throttleKey) error {
	_, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, k.key)
	return err
}
