package vault

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Passkey actions.
const (
	ActionPasskeyAdded   Action = "passkey_added"
	ActionPasskeyRemoved Action = "passkey_removed"
)

// ErrPasskeyTaken: that credential is already registered.
var ErrPasskeyTaken = errors.New("passkey already registered")

// Passkey is one WebAuthn credential of an owner. Credential is opaque to the vault (the
// web layer's JSON encoding of it); the vault seals it.
type Passkey struct {
	ID         uuid.UUID
	OwnerID    uuid.UUID
	Credential []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

func passkeyAD(owner, id uuid.UUID) string { return "passkey:" + owner.String() + ":" + id.String() }

// AddPasskey registers a credential for owner and journals it.
func (v *Vault) AddPasskey(ctx context.Context, owner uuid.UUID, credentialID, credential []byte, by Actor) (*Passkey, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: add passkey: %w", err)
	}
	p := &Passkey{ID: uuid.New(), OwnerID: owner, Credential: credential}
	sealed, err := seal(dataKey, credential, passkeyAD(owner, p.ID))
	if err != nil {
		return nil, fmt.Errorf("vault: add passkey: %w", err)
	}
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO passkeys (id, owner_id, credential_id, credential_sealed) VALUES ($1, $2, $3, $4)
			RETURNING created_at`, p.ID, owner, credentialID, sealed).Scan(&p.CreatedAt)
		if err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23505" {
				return ErrPasskeyTaken
			}
			return err
		}
		_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionPasskeyAdded})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vault: add passkey: %w", err)
	}
	return p, nil
}

// Passkeys lists owner's passkeys, oldest first.
func (v *Vault) Passkeys(ctx context.Context, owner uuid.UUID) ([]Passkey, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: passkeys: %w", err)
	}
	rows, err := v.db.Query(ctx, `
		SELECT id, owner_id, credential_sealed, created_at, last_used_at FROM passkeys
		WHERE owner_id = $1 ORDER BY created_at, id`, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: passkeys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Passkey, error) {
		var p Passkey
		var sealed []byte
		if err := row.Scan(&p.ID, &p.OwnerID, &sealed, &p.CreatedAt, &p.LastUsedAt); err != nil {
			return p, err
		}
		var err error
		p.Credential, err = open(dataKey, sealed, passkeyAD(owner, p.ID))
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("vault: passkeys: %w", err)
	}
	return keys, nil
}

// PasskeyOwner returns the owner of the credential, for sign-in.
func (v *Vault) PasskeyOwner(ctx context.Context, credentialID []byte) (uuid.UUID, error) {
	var owner uuid.UUID
	err := v.db.QueryRow(ctx, `
		SELECT p.owner_id FROM passkeys p JOIN owners o ON o.id = p.owner_id AND o.shredded_at IS NULL
		WHERE p.credential_id = $1`, credentialID).Scan(&owner)
	if err != nil {
		return uuid.Nil, fmt.Errorf("vault: passkey owner: %w", notFound(err))
	}
	return owner, nil
}

// UsePasskey records a sign-in with a passkey: the updated credential (its signature
// counter) and the journal entry.
func (v *Vault) UsePasskey(ctx context.Context, owner uuid.UUID, credentialID, credential []byte, ip netip.Addr) error {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return fmt.Errorf("vault: use passkey: %w", err)
	}
	return pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		var id uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT id FROM passkeys WHERE owner_id = $1 AND credential_id = $2 FOR UPDATE`,
			owner, credentialID).Scan(&id); err != nil {
			return fmt.Errorf("vault: use passkey: %w", notFound(err))
		}
		sealed, err := seal(dataKey, credential, passkeyAD(owner, id))
		if err != nil {
			return fmt.Errorf("vault: use passkey: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE passkeys SET credential_sealed = $2, last_used_at = now() WHERE id = $1`, id, sealed); err != nil {
			return fmt.Errorf("vault: use passkey: %w", err)
		}
		_, err = appendEntry(ctx, tx, owner, Event{Actor: Actor{Kind: ActorOwner, ID: owner.String(), IP: ip}, Action: ActionLogin, Detail: "passkey"})
		return err
	})
}

// DeletePasskey removes one of owner's passkeys; another owner's gives ErrNotFound.
// Removing a way in is a change of credential: like ChangeSecret, every other session of
// the owner ends in the same transaction, and the session from gets a new token, which
// DeletePasskey returns.
func (v *Vault) DeletePasskey(ctx context.Context, owner, id uuid.UUID, by Actor, from uuid.UUID) (string, error) {
	var token string
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		if err := lockOwner(ctx, tx, owner); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM passkeys WHERE owner_id = $1 AND id = $2`, owner, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		if _, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionPasskeyRemoved}); err != nil {
			return err
		}
		token, err = renewSessions(ctx, tx, owner, from, by)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("vault: delete passkey %s: %w", id, err)
	}
	return token, nil
}

// How long the state between the two steps of a ceremony lives: a person has two
// minutes to touch their passkey, and ten to sign in at their OpenID Connect provider
// (FranceConnect sends them through their own provider's pages, often slow on a phone).
const (
	PasskeyCeremonyTTL = 2 * time.Minute
	OpenIDStateTTL     = 10 * time.Minute
)

func ceremonyKey(cookie, purpose string) []byte {
	h := sha256.Sum256([]byte("webauthn:" + purpose + ":" + cookie))
	return h[:]
}

// SaveCeremony keeps the state of a ceremony (WebAuthn, or OpenID Connect's state, nonce
// and verifier) begun by the browser holding cookie, until expires.
func (v *Vault) SaveCeremony(ctx context.Context, cookie, purpose string, data []byte, expires time.Time) error {
	_, err := v.db.Exec(ctx, `
		INSERT INTO webauthn_ceremonies (key, data, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at`,
		ceremonyKey(cookie, purpose), data, expires)
	if err != nil {
		return fmt.Errorf("vault: save ceremony: %w", err)
	}
	return nil
}

// TakeCeremony returns and forgets the state saved by SaveCeremony: each challenge is
// used once. A missing one, or one expired before now, gives ErrNotFound.
func (v *Vault) TakeCeremony(ctx context.Context, cookie, purpose string, now time.Time) ([]byte, error) {
	var data []byte
	var live bool
	err := v.db.QueryRow(ctx, `DELETE FROM webauthn_ceremonies WHERE key = $1 RETURNING data, expires_at > $2`,
		ceremonyKey(cookie, purpose), now).Scan(&data, &live)
	if err != nil {
		return nil, fmt.Errorf("vault: take ceremony: %w", notFound(err))
	}
	if !live {
		return nil, fmt.Errorf("vault: take ceremony: expired: %w", ErrNotFound)
	}
	return data, nil
}

// PurgeCeremonies deletes ceremonies past their end, for the jobs.
func (v *Vault) PurgeCeremonies(ctx context.Context) (int, error) {
	tag, err := v.db.Exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("vault: purge ceremonies: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
