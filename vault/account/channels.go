package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// The table channels: how an owner may be reached outside the app, at most one e-mail
// address and one mobile number, each sealed with the owner's data key and verified by
// a 6-digit code before any message goes to it. Nothing signs in through a channel: it
// only receives messages (notices.go), so adding one needs no fresh proof of who is there,
// and every change is journaled.

// ChannelKind is the kind of a channel.
type ChannelKind string

// The kinds of channel.
const (
	ChannelEmail ChannelKind = "email"
	ChannelSMS   ChannelKind = "sms"
)

// ChannelKinds lists the kinds in the order the account page shows them.
var ChannelKinds = []ChannelKind{ChannelEmail, ChannelSMS} //nolint:gochecknoglobals // a constant list

// ParseChannelKind returns the kind named s, or a vault.ErrInvalid error.
func ParseChannelKind(s string) (ChannelKind, error) {
	switch k := ChannelKind(s); k {
	case ChannelEmail, ChannelSMS:
		return k, nil
	}
	return "", fmt.Errorf("channel kind %q: %w", s, vault.ErrInvalid)
}

// Journal actions of channels and of the messages sent to them.
const (
	// ActionChannelVerified: the owner typed the code a new channel received; messages
	// go to it from then on. The detail is the kind ("email", "sms").
	ActionChannelVerified vault.Action = "channel_verified"
	// ActionChannelRemoved: the owner removed a channel; nothing goes to it any more.
	ActionChannelRemoved vault.Action = "channel_removed"
	// ActionMessageSent: a message left for one of the owner's channels (MessageEntry).
	ActionMessageSent vault.Action = "message_sent"
)

// Verification codes: how long one works, how many wrong tries it takes, and how many an
// owner (and a network, whoever types) may ask for within ThrottleWindow. A code costs
// an SMS: the limits keep a stolen session or a script from sending hundreds.
const (
	CodeTTL         = 15 * time.Minute
	CodeAttempts    = 5
	CodesPerOwner   = 5
	CodesPerNetwork = 20
)

// Errors of channel verification. The web says each in one sentence.
var (
	// ErrWrongCode: the code is not the one sent; the person may try again.
	ErrWrongCode = errors.New("wrong verification code")
	// ErrCodeExpired: the code is past CodeTTL; a new one must be asked for.
	ErrCodeExpired = errors.New("verification code expired")
	// ErrCodeLocked: CodeAttempts wrong codes; a new one must be asked for.
	ErrCodeLocked = errors.New("too many wrong verification codes")
	// ErrChannelExists: the owner already has a verified channel of that kind; they
	// remove it first.
	ErrChannelExists = errors.New("channel already verified")
)

// Channel is one of an owner's channels, opened.
type Channel struct {
	ID   uuid.UUID
	Kind ChannelKind
	// Address is the e-mail address, or the mobile number in E.164 (see NationalMobile).
	Address       string
	VerifiedAt    *time.Time // nil while the code is awaited
	CodeExpiresAt *time.Time
	CreatedAt     time.Time
}

// Verified tells whether messages go to the channel.
func (c *Channel) Verified() bool { return c.VerifiedAt != nil }

func channelAD(owner, id uuid.UUID, kind ChannelKind) string {
	return "channel:" + owner.String() + ":" + id.String() + ":" + string(kind)
}

func channelCodeAD(owner, id uuid.UUID) string {
	return "channel-code:" + owner.String() + ":" + id.String()
}

// normalizeAddress checks what the person typed for a channel of kind.
func normalizeAddress(kind ChannelKind, address string) (string, error) {
	if kind == ChannelEmail {
		return NormalizeEmail(address)
	}
	return NormalizeMobile(address)
}

// codeKeys are the throttle keys of verification codes: the owner's, then the network's.
func codeKeys(owner uuid.UUID, ip netip.Addr) []throttleKey {
	o := sha256.Sum256([]byte("channel-code:" + owner.String()))
	keys := []throttleKey{{o[:], CodesPerOwner}}
	if ip.IsValid() {
		n := sha256.Sum256([]byte("channel-code-ip:" + vault.IPPrefix(ip)))
		keys = append(keys, throttleKey{n[:], CodesPerNetwork})
	}
	return keys
}

func newVerificationCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// AddChannel adds to owner's safe a channel of kind at address, or replaces the one of
// that kind still waiting for its code (a typo), and sends it a verification code. A
// verified channel of that kind must be removed first (ErrChannelExists). A bad address
// is ErrBadEmail or ErrBadMobile; too many codes asked for lately is a *LockedError. The
// safe must be open.
func (srv *Service) AddChannel(ctx context.Context, owner uuid.UUID, kind ChannelKind, address string, ip netip.Addr) (*Channel, error) {
	addr, err := normalizeAddress(kind, address)
	if err != nil {
		return nil, fmt.Errorf("account: add channel: %w", err)
	}
	ch := &Channel{ID: uuid.New(), Kind: kind, Address: addr}
	err = srv.sendCode(ctx, owner, kind, ip, func(tx pgx.Tx, sealer *vault.Sealer, codeSealed []byte, expires time.Time) error {
		sealed, err := sealer.Seal([]byte(addr), channelAD(owner, ch.ID, kind))
		if err != nil {
			return err
		}
		var verified bool
		err = tx.QueryRow(ctx, `SELECT verified_at IS NOT NULL FROM channels WHERE owner_id = $1 AND kind = $2 FOR UPDATE`, owner, kind).Scan(&verified)
		switch {
		case err == nil && verified:
			return ErrChannelExists
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		// A new ID for a new address: the jobs of the old one find nothing to send to.
		return tx.QueryRow(ctx, `
			INSERT INTO channels (id, owner_id, kind, address_sealed, code_sealed, code_expires_at, code_attempts, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 0, $7)
			ON CONFLICT (owner_id, kind) DO UPDATE SET id = EXCLUDED.id, address_sealed = EXCLUDED.address_sealed,
				code_sealed = EXCLUDED.code_sealed, code_expires_at = EXCLUDED.code_expires_at, code_attempts = 0,
				created_at = EXCLUDED.created_at
			RETURNING code_expires_at, created_at`,
			ch.ID, owner, kind, sealed, codeSealed, expires, srv.now()).Scan(&ch.CodeExpiresAt, &ch.CreatedAt)
	}, &ch.ID)
	if err != nil {
		return nil, fmt.Errorf("account: add channel: %w", err)
	}
	return ch, nil
}

// ResendCode sends a new verification code to owner's channel of kind that waits for
// one; the previous code stops working. No such channel is vault.ErrNotFound.
func (srv *Service) ResendCode(ctx context.Context, owner uuid.UUID, kind ChannelKind, ip netip.Addr) error {
	var id uuid.UUID
	err := srv.sendCode(ctx, owner, kind, ip, func(tx pgx.Tx, _ *vault.Sealer, codeSealed []byte, expires time.Time) error {
		tag, err := tx.Exec(ctx, `UPDATE channels SET code_sealed = $4, code_expires_at = $5, code_attempts = 0
			WHERE owner_id = $1 AND kind = $2 AND id = $3 AND verified_at IS NULL`, owner, kind, id, codeSealed, expires)
		if err == nil && tag.RowsAffected() == 0 {
			err = vault.ErrNotFound
		}
		return err
	}, &id)
	if err != nil {
		return fmt.Errorf("account: resend code: %w", err)
	}
	return nil
}

// sendCode makes a new verification code for owner's channel of kind and writes it with
// store, inside a transaction that also enqueues the message with the code, after the
// throttle allowed it. The code is sealed to the channel *id, which store may choose (a
// new channel) or which sendCode reads (an existing one, when *id is uuid.Nil).
func (srv *Service) sendCode(ctx context.Context, owner uuid.UUID, kind ChannelKind, ip netip.Addr,
	store func(tx pgx.Tx, sealer *vault.Sealer, codeSealed []byte, expires time.Time) error, id *uuid.UUID) error {
	keys := codeKeys(owner, ip)
	if err := srv.checkThrottle(ctx, keys); err != nil {
		return err
	}
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return err
	}
	code, err := newVerificationCode()
	if err != nil {
		return err
	}
	now := srv.now()
	expires := now.Add(CodeTTL).UTC().Truncate(time.Microsecond)
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		if err := srv.vault.CheckOpenTx(ctx, tx, owner); err != nil {
			return err
		}
		if *id == uuid.Nil {
			if err := tx.QueryRow(ctx, `SELECT id FROM channels WHERE owner_id = $1 AND kind = $2 AND verified_at IS NULL FOR UPDATE`,
				owner, kind).Scan(id); err != nil {
				return notFound(err)
			}
		}
		codeSealed, err := sealer.Seal([]byte(code), channelCodeAD(owner, *id))
		if err != nil {
			return err
		}
		if err := store(tx, sealer, codeSealed, expires); err != nil {
			return err
		}
		nonce := make([]byte, 8)
		rand.Read(nonce)
		return srv.enqueue(ctx, tx, owner, *id, Notice{What: NoticeCode, Key: fmt.Sprintf("code:%x", nonce), At: now})
	})
	if err != nil {
		return err
	}
	return srv.countFailure(ctx, keys)
}

// VerifyChannel checks the code that owner's channel of kind received. The right code
// makes it verified (journaled with by as actor): messages go to it from then on. A wrong
// code is ErrWrongCode, and counts: at CodeAttempts the code is locked (ErrCodeLocked);
// past CodeTTL it is ErrCodeExpired; a channel of that kind waiting for no code is
// vault.ErrNotFound.
func (srv *Service) VerifyChannel(ctx context.Context, owner uuid.UUID, kind ChannelKind, code string, by vault.Actor) error {
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return fmt.Errorf("account: verify channel: %w", err)
	}
	var refused error
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		var id uuid.UUID
		var sealed []byte
		var expires *time.Time
		var attempts int
		err := tx.QueryRow(ctx, `SELECT id, code_sealed, code_expires_at, code_attempts FROM channels
			WHERE owner_id = $1 AND kind = $2 AND verified_at IS NULL FOR UPDATE`, owner, kind).Scan(&id, &sealed, &expires, &attempts)
		if err != nil {
			return notFound(err)
		}
		switch {
		case attempts >= CodeAttempts:
			refused = ErrCodeLocked
			return nil
		case sealed == nil || expires == nil || !srv.now().Before(*expires):
			refused = ErrCodeExpired
			return nil
		}
		want, err := sealer.Open(sealed, channelCodeAD(owner, id))
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(want, []byte(code)) != 1 {
			// The count commits with the refusal: the transaction ends normally.
			if _, err := tx.Exec(ctx, `UPDATE channels SET code_attempts = code_attempts + 1 WHERE id = $1`, id); err != nil {
				return err
			}
			refused = ErrWrongCode
			if attempts+1 >= CodeAttempts {
				refused = ErrCodeLocked
			}
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE channels SET verified_at = $2, code_sealed = NULL, code_expires_at = NULL, code_attempts = 0
			WHERE id = $1`, id, srv.now()); err != nil {
			return err
		}
		return srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionChannelVerified, Detail: string(kind)})
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return fmt.Errorf("account: verify channel: %w", err)
	}
	return nil
}

// RemoveChannel removes owner's channel of kind, verified or not: nothing goes to it from
// then on, messages already waiting included. It is journaled with by as actor. No such
// channel is vault.ErrNotFound.
func (srv *Service) RemoveChannel(ctx context.Context, owner uuid.UUID, kind ChannelKind, by vault.Actor) error {
	err := pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM channels WHERE owner_id = $1 AND kind = $2`, owner, kind)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return vault.ErrNotFound
		}
		return srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionChannelRemoved, Detail: string(kind)})
	})
	if err != nil {
		return fmt.Errorf("account: remove channel: %w", err)
	}
	return nil
}

// Channels lists owner's channels, addresses opened, in the order of ChannelKinds.
func (srv *Service) Channels(ctx context.Context, owner uuid.UUID) ([]Channel, error) {
	rows, err := srv.db.Query(ctx, `SELECT id, kind, address_sealed, verified_at, code_expires_at, created_at FROM channels
		WHERE owner_id = $1 ORDER BY kind`, owner)
	if err != nil {
		return nil, fmt.Errorf("account: channels: %w", err)
	}
	type row struct {
		Channel
		sealed []byte
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var c row
		err := r.Scan(&c.ID, &c.Kind, &c.sealed, &c.VerifiedAt, &c.CodeExpiresAt, &c.CreatedAt)
		return c, err
	})
	if err != nil || len(list) == 0 {
		if err != nil {
			err = fmt.Errorf("account: channels: %w", err)
		}
		return nil, err
	}
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("account: channels: %w", err)
	}
	out := make([]Channel, 0, len(list))
	for _, c := range list {
		addr, err := sealer.Open(c.sealed, channelAD(owner, c.ID, c.Kind))
		if err != nil {
			return nil, fmt.Errorf("account: channel %s: %w", c.ID, err)
		}
		c.Address = string(addr)
		out = append(out, c.Channel)
	}
	return out, nil
}

// Recipient is where one message goes, as the job that sends it reads it.
type Recipient struct {
	Kind     ChannelKind
	Address  string
	Verified bool
	// Code is the verification code, while the channel waits for it and it still works.
	Code     string
	Language string // the owner's: one of Languages
	TimeZone string // the owner's: one of TimeZones, or "" (Location)
}

// MessageRecipient opens owner's channel id for the message job. A channel removed (or
// replaced by another address) is vault.ErrNotFound: its messages are dropped.
func (srv *Service) MessageRecipient(ctx context.Context, owner, id uuid.UUID) (*Recipient, error) {
	var kind ChannelKind
	var sealed, codeSealed []byte
	var verified, codeLive bool
	var lang, zone string
	err := srv.db.QueryRow(ctx, `
		SELECT c.kind, c.address_sealed, c.verified_at IS NOT NULL, c.code_sealed, coalesce(c.code_expires_at > $3, false),
			coalesce(a.language, 'fr'), coalesce(a.time_zone, '')
		FROM channels c LEFT JOIN accounts a ON a.owner_id = c.owner_id
		WHERE c.owner_id = $1 AND c.id = $2`, owner, id, srv.now()).
		Scan(&kind, &sealed, &verified, &codeSealed, &codeLive, &lang, &zone)
	if err != nil {
		return nil, fmt.Errorf("account: message recipient %s: %w", id, notFound(err))
	}
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("account: message recipient %s: %w", id, err)
	}
	addr, err := sealer.Open(sealed, channelAD(owner, id, kind))
	if err != nil {
		return nil, fmt.Errorf("account: message recipient %s: %w", id, err)
	}
	rc := &Recipient{Kind: kind, Address: string(addr), Verified: verified, Language: lang, TimeZone: zone}
	if !verified && codeSealed != nil && codeLive {
		code, err := sealer.Open(codeSealed, channelCodeAD(owner, id))
		if err != nil {
			return nil, fmt.Errorf("account: message recipient %s: %w", id, err)
		}
		rc.Code = string(code)
	}
	return rc, nil
}

// forgetChannels deletes owner's channels and the counter of their codes (erasure).
func forgetChannels(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM channels WHERE owner_id = $1`, owner); err != nil {
		return err
	}
	return forgetThrottleKey(ctx, tx, codeKeys(owner, netip.Addr{})[0])
}

// verifiedChannels returns, inside tx, owner's verified channels, by kind.
func verifiedChannels(ctx context.Context, tx pgx.Tx, owner uuid.UUID) ([]uuid.UUID, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM channels WHERE owner_id = $1 AND verified_at IS NOT NULL ORDER BY kind`, owner)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}
