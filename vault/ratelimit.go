package vault

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/semaphore"
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

// Every argon2id computation (checking or hashing a secret) holds argonMemory, 19 MiB,
// for tens of milliseconds. At most argonSlots run at once in a process, whatever
// arrives: a burst of sign-ins, wrong or right, waits up to argonWait for a slot and is
// then answered ErrBusy, instead of holding memory without bound.
const (
	argonSlots = 4
	argonWait  = 3 * time.Second
)

// newArgonSlots returns the slots of one Vault (one per process in production).
func newArgonSlots() *semaphore.Weighted { return semaphore.NewWeighted(argonSlots) }

// argon runs f, one argon2id computation, in one of the slots: ErrBusy after argonWait
// without one, or ctx's error.
func (v *Vault) argon(ctx context.Context, f func()) error {
	wctx, cancel := context.WithTimeout(ctx, v.argonWait)
	defer cancel()
	if err := v.argonSlots.Acquire(wctx, 1); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrBusy
	}
	defer v.argonSlots.Release(1)
	f()
	return nil
}

// verify is verifySecret in one of the argon2id slots.
func (v *Vault) verify(ctx context.Context, phc, secret string) (ok bool, err error) {
	if aerr := v.argon(ctx, func() { ok, err = verifySecret(phc, secret) }); aerr != nil {
		return false, aerr
	}
	return ok, err
}

// hash is hashSecret in one of the argon2id slots.
func (v *Vault) hash(ctx context.Context, secret string) (phc string, err error) {
	if aerr := v.argon(ctx, func() { phc, err = hashSecret(secret) }); aerr != nil {
		return "", aerr
	}
	return phc, err
}

// verifyAttempt checks secret against phc as one attempt counted against keys
// (takeAttempt): a *LockedError refuses it before anything is computed. A nil phc (no
// such login, no secret) is checked against dummyHash, as long as a real one, and is
// never right. A right secret, and a check that could not be made (ErrBusy, the client
// gone), are given back; a wrong one stays counted.
func (v *Vault) verifyAttempt(ctx context.Context, keys []throttleKey, phc *string, secret string) (bool, error) {
	if err := v.takeAttempt(ctx, keys); err != nil {
		return false, err
	}
	h := dummyHash
	if phc != nil {
		h = *phc
	}
	ok, err := v.verify(ctx, h, secret)
	ok = ok && phc != nil
	if ok || errors.Is(err, ErrBusy) || ctx.Err() != nil {
		if rerr := v.refundAttempt(context.WithoutCancel(ctx), keys); rerr != nil {
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

// takeAttempt counts one attempt against each key before the secret is checked, in one
// statement per key: an attempt is a failure until refundAttempt gives it back, so that a
// burst of parallel checks cannot all pass the limit before the first failure is
// written. The attempt that reaches a key's limit locks it (it stays locked if that
// attempt fails); one beyond the limit, or while the key is locked, is refused with a
// *LockedError and nothing is checked (the keys taken before it are given back). A key
// whose window or lock is over starts again at one.
func (v *Vault) takeAttempt(ctx context.Context, keys []throttleKey) error {
	for i, k := range keys {
		var failures int
		var until *time.Time
		err := v.db.QueryRow(ctx, `
			INSERT INTO login_throttle AS t (key, failures, window_start) VALUES ($1, 1, now())
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN t.locked_until > now() OR (t.locked_until IS NULL AND t.window_start >= now() - $2::interval)
					THEN t.failures + 1 ELSE 1 END,
				window_start = CASE WHEN t.locked_until > now() OR (t.locked_until IS NULL AND t.window_start >= now() - $2::interval)
					THEN t.window_start ELSE now() END,
				locked_until = CASE
					WHEN t.locked_until > now() THEN t.locked_until
					WHEN t.locked_until IS NULL AND t.window_start >= now() - $2::interval AND t.failures + 1 >= $3 THEN now() + $4::interval
					END
			RETURNING failures, locked_until`,
			k.key, ThrottleWindow, k.limit, LockDuration).Scan(&failures, &until)
		if err != nil {
			return errors.Join(fmt.Errorf("throttle: take attempt: %w", err), v.refundAttempt(ctx, keys[:i]))
		}
		if failures > k.limit {
			if rerr := v.refundAttempt(ctx, keys[:i]); rerr != nil {
				return rerr
			}
			if until == nil {
				t := time.Now().Add(LockDuration)
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
func (v *Vault) refundAttempt(ctx context.Context, keys []throttleKey) error {
	for _, k := range keys {
		_, err := v.db.Exec(ctx, `
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
