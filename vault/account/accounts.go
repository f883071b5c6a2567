package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/argon2"
)

// Journal actions of signing in and of account changes.
const (
	ActionLogin         vault.Action = "login"
	ActionLoginFailed   vault.Action = "login_failed"
	ActionLogout        vault.Action = "logout"
	ActionLogoutAll     vault.Action = "logout_all"
	ActionSecretChanged vault.Action = "secret_changed"
)

// Errors of sign-in and account changes. The web maps each to one plain sentence.
var (
	// ErrBadCredentials: unknown login or wrong secret; the two are never told apart.
	ErrBadCredentials = errors.New("wrong login or secret")
	// ErrBadLogin: the identifier is not acceptable (length, characters).
	ErrBadLogin = errors.New("unacceptable login")
	// ErrSecretTooShort, ErrSecretCommon and ErrSecretHasLogin say why a secret is refused.
	ErrSecretTooShort = errors.New("secret too short")
	ErrSecretCommon   = errors.New("secret too common")
	ErrSecretHasLogin = errors.New("secret contains the login")
	// ErrBusy: too many secrets are being checked in this process at this moment; the
	// person should try again in a moment (nothing was counted against them).
	ErrBusy = errors.New("too many secret checks at once")
)

// Secret rules, chosen so that a person can meet them without a password manager: a
// sentence of four words is as good as twelve characters.
const (
	MinSecretLen   = 12
	MinSecretWords = 4
	MinLoginLen    = 3
	MaxLoginLen    = 64
	maxSecretLen   = 256
)

// argon2id parameters (OWASP's minimum: 19 MiB, 2 passes, 1 lane). The parameters are
// stored with each hash, so raising them later keeps old hashes verifiable.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// Account is how an owner signs in, and their preferences.
type Account struct {
	Owner     vault.Owner
	HasSecret bool
	Language  string // one of Languages
	TimeZone  string // one of TimeZones, or "" if not chosen (Paris's; Location)
	// NotifyLinkOpened: the owner wants a message when one of their share links is
	// opened for the first time (SetLinkNotice).
	NotifyLinkOpened bool
}

// NormalizeLogin returns the canonical form of a login: lowercase, without spaces (a
// phone number may be typed "06 12 34 56 78"). It refuses logins of the wrong length or
// with characters other than letters, digits and . - _ + @.
func NormalizeLogin(login string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToLower(login) {
		switch {
		case unicode.IsSpace(r):
			continue
		case unicode.IsLetter(r), unicode.IsDigit(r), strings.ContainsRune(".-_+@", r):
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("login: character %q: %w", r, ErrBadLogin)
		}
	}
	s := b.String()
	if n := utf8.RuneCountInString(s); n < MinLoginLen || n > MaxLoginLen {
		return "", fmt.Errorf("login: %d characters: %w", n, ErrBadLogin)
	}
	return s, nil
}

// CheckSecret applies the strength rule: at least MinSecretLen characters or
// MinSecretWords words, not one of the most common secrets, not built on the login.
func CheckSecret(login, secret string) error {
	n := utf8.RuneCountInString(secret)
	words := 0
	for _, w := range strings.Fields(secret) {
		if utf8.RuneCountInString(w) >= 2 {
			words++
		}
	}
	if n > maxSecretLen {
		return fmt.Errorf("secret: %d characters: %w", n, ErrSecretTooShort)
	}
	if n < MinSecretLen && words < MinSecretWords {
		return ErrSecretTooShort
	}
	folded := strings.ToLower(strings.Join(strings.Fields(secret), ""))
	if commonSecrets[folded] || distinctRunes(folded) < 4 {
		return ErrSecretCommon
	}
	if l := strings.ToLower(login); utf8.RuneCountInString(l) >= 4 && strings.Contains(folded, l) {
		return ErrSecretHasLogin
	}
	return nil
}

func distinctRunes(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// commonSecrets are the most used secrets of twelve characters or more (French and
// international leaks), lowercased with spaces removed.
var commonSecrets = map[string]bool{ //nolint:gochecknoglobals // a constant table
	"123456789012": true, "1234567890123": true, "12345678901234": true, "123456789123": true,
	"azertyuiopqs": true, "azertyuiop123": true, "azerty123456": true, "azertyuiopqsdf": true,
	"qwertyuiop12": true, "qwerty123456": true, "qwertyuiop123": true, "password1234": true,
	"password123456": true, "motdepasse123": true, "motdepasse1234": true, "motdepasse12": true,
	"jetaime123456": true, "iloveyou1234": true, "bonjour123456": true, "soleil123456": true,
	"marseille1313": true, "loulou123456": true, "doudou123456": true, "chouchou1234": true,
	"123456123456": true, "111111111111": true, "000000000000": true, "987654321098": true,
	"abcdefghijkl": true, "abc123abc123": true, "1q2w3e4r5t6y": true, "1qaz2wsx3edc": true,
	"monmotdepasse": true, "mon mot de passe": true, "passwordpassword": true,
	"coffrefort123": true, "coffre-fort123": true, "motdepasse": true,
}

// hashSecret returns the argon2id PHC string of secret with a fresh salt.
func hashSecret(secret string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// verifySecret compares secret with a PHC string written by hashSecret, in constant time.
func verifySecret(phc, secret string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("secret hash: unknown format")
	}
	var version int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("secret hash: version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("secret hash: parameters %q", parts[3])
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("secret hash: salt: %w", err)
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("secret hash: key: %w", err)
	}
	got := argon2.IDKey([]byte(secret), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when the login is unknown, so that an unknown login takes
// as long to refuse as a wrong secret.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0UIL7D8M+Uq+NSuCqyNIDn8BdKyDqUtfAYnZ3dDjA0w"

// CreateAccount opens a safe that its owner signs in to with login and secret. The login
// is normalised (NormalizeLogin) and the secret must pass CheckSecret.
func (srv *Service) CreateAccount(ctx context.Context, login, secret string, by vault.Actor) (*vault.Owner, error) {
	login, err := NormalizeLogin(login)
	if err != nil {
		return nil, fmt.Errorf("account: create account: %w", err)
	}
	if err := CheckSecret(login, secret); err != nil {
		return nil, fmt.Errorf("account: create account: %w", err)
	}
	hash, err := srv.hash(ctx, secret)
	if err != nil {
		return nil, fmt.Errorf("account: create account: %w", err)
	}
	var o *vault.Owner
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		if o, err = srv.vault.CreateOwnerTx(ctx, tx, login, by); err != nil {
			return err
		}
		return srv.setSecretHash(ctx, tx, o.ID, hash)
	})
	if err != nil {
		return nil, fmt.Errorf("account: create account: %w", err)
	}
	return o, nil
}

// Account returns how owner signs in and their preferences. An owner created without an
// account (from the command line) gets the defaults.
func (srv *Service) Account(ctx context.Context, owner uuid.UUID) (*Account, error) {
	o, err := srv.vault.Owner(ctx, owner)
	if err != nil {
		return nil, err
	}
	a := &Account{Owner: *o, Language: "fr"}
	var hash *string
	err = srv.db.QueryRow(ctx, `SELECT secret_hash, language, coalesce(time_zone, ''), notify_link_opened FROM accounts WHERE owner_id = $1`, owner).
		Scan(&hash, &a.Language, &a.TimeZone, &a.NotifyLinkOpened)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("account: account %s: %w", owner, err)
	}
	a.HasSecret = hash != nil
	return a, nil
}

// Languages are the codes of the languages an owner may choose (BCP 47, as migration 17
// allows them); the web offers those it has texts for.
var Languages = []string{"fr", "en", "ar", "uk", "ru", "fa-AF", "ps", "es", "ro", "pt"} //nolint:gochecknoglobals // a constant list

// SetLanguage records the owner's language, one of Languages.
func (srv *Service) SetLanguage(ctx context.Context, owner uuid.UUID, lang string) error {
	if !slices.Contains(Languages, lang) {
		return fmt.Errorf("account: language %q: %w", lang, vault.ErrInvalid)
	}
	_, err := srv.db.Exec(ctx, `
		INSERT INTO accounts (owner_id, language) VALUES ($1, $2)
		ON CONFLICT (owner_id) DO UPDATE SET language = EXCLUDED.language, updated_at = $3`, owner, lang, srv.now())
	if err != nil {
		return fmt.Errorf("account: set language %s: %w", owner, err)
	}
	return nil
}

// SetLinkNotice records whether the owner wants a message when one of their share links
// is opened for the first time.
func (srv *Service) SetLinkNotice(ctx context.Context, owner uuid.UUID, on bool) error {
	_, err := srv.db.Exec(ctx, `
		INSERT INTO accounts (owner_id, notify_link_opened) VALUES ($1, $2)
		ON CONFLICT (owner_id) DO UPDATE SET notify_link_opened = EXCLUDED.notify_link_opened, updated_at = $3`, owner, on, srv.now())
	if err != nil {
		return fmt.Errorf("account: set link notice %s: %w", owner, err)
	}
	return nil
}

// Authenticate checks login and secret. It refuses at once while the login or the
// client's network is locked out (a *LockedError), counts each attempt in the database
// before the secret is checked (so every process shares the counters, and a burst of
// guesses stops at the limit) and journals a failure in the owner's history when the
// login exists. A success resets the login's counter and is journaled too. With every
// argon2id slot taken too long it answers ErrBusy and counts nothing.
func (srv *Service) Authenticate(ctx context.Context, login, secret string, ip netip.Addr) (*vault.Owner, error) {
	norm, err := NormalizeLogin(login)
	if err != nil {
		norm = strings.ToLower(strings.TrimSpace(login))
	}
	// The attempt is counted before the secret is checked (verifyAttempt), so that a
	// burst of parallel guesses stops at the limit.
	keys := throttleKeys(norm, ip)
	var ownerID uuid.UUID
	var hash *string
	o, err := srv.vault.OwnerByLogin(ctx, norm)
	switch {
	case err == nil:
		ownerID = o.ID
		if hash, err = secretHash(ctx, srv.db, o.ID); err != nil {
			return nil, fmt.Errorf("account: authenticate: %w", err)
		}
	case !errors.Is(err, vault.ErrNotFound):
		return nil, fmt.Errorf("account: authenticate: %w", err)
	}
	ok, verr := srv.verifyAttempt(ctx, keys, hash, secret)
	if _, locked := IsLocked(verr); locked {
		srv.journalFailure(ctx, norm, ip, "locked")
		return nil, fmt.Errorf("account: authenticate: %w", verr)
	}
	if verr != nil {
		return nil, fmt.Errorf("account: authenticate: %w", verr)
	}
	if !ok {
		if ownerID != uuid.Nil {
			srv.journalFailure(ctx, norm, ip, "")
		}
		return nil, fmt.Errorf("account: authenticate: %w", ErrBadCredentials)
	}
	if err := srv.resetThrottle(ctx, keys[0]); err != nil {
		return nil, fmt.Errorf("account: authenticate: %w", err)
	}
	// A temporary code given at a desk works only until its expiry.
	expired, err := srv.codeExpired(ctx, ownerID)
	if err != nil {
		return nil, fmt.Errorf("account: authenticate: %w", err)
	}
	if expired {
		srv.journalFailure(ctx, norm, ip, "expired temporary code")
		return nil, fmt.Errorf("account: authenticate: %w", ErrAccessCodeExpired)
	}
	if err := srv.vault.Record(ctx, o.ID, vault.Event{Actor: vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String(), IP: ip}, Action: ActionLogin}); err != nil {
		return nil, fmt.Errorf("account: authenticate: %w", err)
	}
	return o, nil
}

// journalFailure writes a failed sign-in into the history of the owner of login, if any.
// Failing to journal is logged, not returned: the sign-in is refused either way.
func (srv *Service) journalFailure(ctx context.Context, login string, ip netip.Addr, detail string) {
	o, err := srv.vault.OwnerByLogin(ctx, login)
	if err != nil {
		return
	}
	owner := o.ID
	ev := vault.Event{Actor: vault.Actor{Kind: vault.ActorVisitor, ID: "-", IP: ip}, Action: ActionLoginFailed, Detail: detail}
	if err := srv.vault.Record(ctx, owner, ev); err != nil {
		srv.log.Warn("journal failed sign-in", "owner", owner, "err", err)
	}
}

// ChangeSecret replaces owner's secret after checking the current one (an empty current
// is accepted only when the owner has no secret yet: the web asks for a fresh proof
// then). In the same transaction every other session of the owner ends, and the session
// from, the one the change is made in, gets a new token, which ChangeSecret returns (see
// renewSessions); with from uuid.Nil every session ends.
func (srv *Service) ChangeSecret(ctx context.Context, owner uuid.UUID, current, next string, by vault.Actor, from uuid.UUID) (string, error) {
	token, err := srv.changeSecret(ctx, owner, current, next, by, from, nil)
	if err != nil {
		return "", fmt.Errorf("account: change secret %s: %w", owner, err)
	}
	return token, nil
}

// changeSecret is ChangeSecret, with also run in its transaction before the sessions are
// renewed (ChangeTemporaryCode forgets the code there).
func (srv *Service) changeSecret(ctx context.Context, owner uuid.UUID, current, next string, by vault.Actor, from uuid.UUID, also func(pgx.Tx) error) (string, error) {
	o, err := srv.vault.Owner(ctx, owner)
	if err != nil {
		return "", err
	}
	var token string
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		if err := srv.vault.LockOwner(ctx, tx, owner); err != nil {
			return err
		}
		phc, err := secretHash(ctx, tx, owner)
		if err != nil {
			return err
		}
		if phc != nil {
			ok, err := srv.verify(ctx, *phc, current)
			if err != nil {
				return err
			}
			if !ok {
				return ErrBadCredentials
			}
		}
		if err := CheckSecret(o.Login, next); err != nil {
			return err
		}
		hash, err := srv.hash(ctx, next)
		if err != nil {
			return err
		}
		if err := srv.setSecretHash(ctx, tx, owner, hash); err != nil {
			return err
		}
		if err := srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionSecretChanged}); err != nil {
			return err
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		token, err = srv.renewSessions(ctx, tx, owner, from, by)
		return err
	})
	return token, err
}

// LockedError is returned while sign-in is locked for a login or a network.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return "sign-in locked until " + e.Until.UTC().Format(time.RFC3339)
}

// DummySecretHash is a valid argon2id hash of nothing anyone knows: verify against it when
// a login is unknown, so that refusing an unknown login takes as long as a wrong secret.
const DummySecretHash = dummyHash

// HashSecret returns the argon2id PHC string of secret, with a fresh salt: the scheme of
// owners' secrets, for other credentials (agents' passwords). Like every argon2id
// computation it takes one of the process's slots, and may give ErrBusy.
func (srv *Service) HashSecret(ctx context.Context, secret string) (string, error) {
	return srv.hash(ctx, secret)
}

// VerifySecret compares secret with a PHC string from HashSecret, in constant time, in
// one of the process's argon2id slots (ErrBusy). It counts nothing: a check of a secret
// typed by someone not signed in goes through TakeAttempt first.
func (srv *Service) VerifySecret(ctx context.Context, phc, secret string) (bool, error) {
	return srv.verify(ctx, phc, secret)
}

// CheckOwnerSecret checks owner's secret without signing them in: the evidence of consent
// when the person types it on an agent's screen. Failures count against the owner's
// sign-in throttle, so this is no side door for guessing.
func (srv *Service) CheckOwnerSecret(ctx context.Context, owner uuid.UUID, secret string, ip netip.Addr) error {
	o, err := srv.vault.Owner(ctx, owner)
	if err != nil {
		return fmt.Errorf("account: check secret %s: %w", owner, err)
	}
	hash, err := secretHash(ctx, srv.db, owner)
	if err != nil {
		return fmt.Errorf("account: check secret %s: %w", owner, err)
	}
	var keys []throttleKey
	if o.Login != "" {
		keys = throttleKeys(o.Login, ip)
	}
	ok, err := srv.verifyAttempt(ctx, keys, hash, secret)
	if err != nil {
		return fmt.Errorf("account: check secret %s: %w", owner, err)
	}
	if !ok {
		return fmt.Errorf("account: check secret %s: %w", owner, ErrBadCredentials)
	}
	return nil
}

func forgetAccount(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM accounts WHERE owner_id = $1`, owner)
	return err
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// secretHash returns owner's secret hash, nil when they have none (an account opened
// through FranceConnect, or no account at all).
func secretHash(ctx context.Context, q querier, owner uuid.UUID) (*string, error) {
	var hash *string
	err := q.QueryRow(ctx, `SELECT secret_hash FROM accounts WHERE owner_id = $1`, owner).Scan(&hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	return hash, nil
}

// setSecretHash makes hash owner's secret, inside tx.
func (srv *Service) setSecretHash(ctx context.Context, tx pgx.Tx, owner uuid.UUID, hash string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO accounts (owner_id, secret_hash) VALUES ($1, $2)
		ON CONFLICT (owner_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, updated_at = $3`, owner, hash, srv.now())
	return err
}

// wantsLinkOpened says whether owner asked to be told when a link of theirs is opened
// (no by default).
func wantsLinkOpened(ctx context.Context, q querier, owner uuid.UUID) (bool, error) {
	var wanted bool
	err := q.QueryRow(ctx, `SELECT coalesce((SELECT notify_link_opened FROM accounts WHERE owner_id = $1), false)`, owner).Scan(&wanted)
	return wanted, err
}
