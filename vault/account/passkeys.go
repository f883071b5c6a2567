package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Passkey actions.
const (
	ActionPasskeyAdded   vault.Action = "passkey_added"
	ActionPasskeyRemoved vault.Action = "passkey_removed"
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
func (srv *Service) AddPasskey(ctx context.Context, owner uuid.UUID, credentialID, credential []byte, by vault.Actor) (*Passkey, error) {
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("account: add passkey: %w", err)
	}
	p := &Passkey{ID: uuid.New(), OwnerID: owner, Credential: credential}
	sealed, err := sealer.Seal(credential, passkeyAD(owner, p.ID))
	if err != nil {
		return nil, fmt.Errorf("account: add passkey: %w", err)
	}
	err = pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
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
		err = srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionPasskeyAdded})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("account: add passkey: %w", err)
	}
	return p, nil
}

// Passkeys lists owner's passkeys, oldest first.
func (srv *Service) Passkeys(ctx context.Context, owner uuid.UUID) ([]Passkey, error) {
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("account: passkeys: %w", err)
	}
	rows, err := srv.db.Query(ctx, `
		SELECT id, owner_id, credential_sealed, created_at, last_used_at FROM passkeys
		WHERE owner_id = $1 ORDER BY created_at, id`, owner)
	if err != nil {
		return nil, fmt.Errorf("account: passkeys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Passkey, error) {
		var p Passkey
		var sealed []byte
		if err := row.Scan(&p.ID, &p.OwnerID, &sealed, &p.CreatedAt, &p.LastUsedAt); err != nil {
			return p, err
		}
		var err error
		p.Credential, err = sealer.Open(sealed, passkeyAD(owner, p.ID))
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("account: passkeys: %w", err)
	}
	return keys, nil
}

// PasskeyOwner returns the owner of the credential, for sign-in.
func (srv *Service) PasskeyOwner(ctx context.Context, credentialID []byte) (uuid.UUID, error) {
	var owner uuid.UUID
	err := srv.db.QueryRow(ctx, `
SELECT owner_id FROM passkeys WHERE credential_id = $1`, credentialID).Scan(&owner)
	if err != nil {
		return uuid.Nil, fmt.Errorf("account: passkey owner: %w", notFound(err))
	}
	return owner, nil
}

// UsePasskey records a sign-in with a passkey: the updated credential (its signature
// counter) and the journal entry.
func (srv *Service) UsePasskey(ctx context.Context, owner uuid.UUID, credentialID, credential []byte, ip netip.Addr) error {
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return fmt.Errorf("account: use passkey: %w", err)
	}
	return pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		id, err := lockPasskey(ctx, tx, owner, credentialID)
		if err != nil {
			return fmt.Errorf("account: use passkey: %w", err)
		}
		sealed, err := sealer.Seal(credential, passkeyAD(owner, id))
		if err != nil {
			return fmt.Errorf("account: use passkey: %w", err)
		}
		if err := srv.updatePasskey(ctx, tx, id, sealed); err != nil {
			return fmt.Errorf("account: use passkey: %w", err)
		}
		err = srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: vault.Actor{Kind: vault.ActorOwner, ID: owner.String(), IP: ip}, Action: ActionLogin, Detail: "passkey"})
		return err
	})
}

// DeletePasskey removes one of owner's passkeys; another owner's gives vault.ErrNotFound.
// Removing a way in is a change of credential: like ChangeSecret, every other session of
// the owner ends in the same transaction, and the session from gets a new token, which
// DeletePasskey returns.
func (srv *Service) DeletePasskey(ctx context.Context, owner, id uuid.UUID, by vault.Actor, from uuid.UUID) (string, error) {
	var token string
	err := pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		if err := srv.vault.LockOwner(ctx, tx, owner); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM passkeys WHERE owner_id = $1 AND id = $2`, owner, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return vault.ErrNotFound
		}
		if err = srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionPasskeyRemoved}); err != nil {
			return err
		}
		token, err = srv.renewSessions(ctx, tx, owner, from, by)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("account: delete passkey %s: %w", id, err)
	}
	return token, nil
}

// deletePasskeys removes every passkey of owner inside tx, and tells how many there were.
func deletePasskeys(ctx context.Context, tx pgx.Tx, owner uuid.UUID) (int64, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM passkeys WHERE owner_id = $1`, owner)
	if err != nil {
		return 0, fmt.Errorf("delete passkeys: %w", err)
	}
	return tag.RowsAffected(), nil
}

func forgetPasskeys(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := deletePasskeys(ctx, tx, owner)
	return err
}

// lockPasskey returns the ID of owner's passkey credentialID, locked until tx ends.
func lockPasskey(ctx context.Context, tx pgx.Tx, owner uuid.UUID, credentialID []byte) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM passkeys WHERE owner_id = $1 AND credential_id = $2 FOR UPDATE`, owner, credentialID).Scan(&id)
	return id, notFound(err)
}

// updatePasskey records a use of passkey id: its new state (the signature counter).
func (srv *Service) updatePasskey(ctx context.Context, tx pgx.Tx, id uuid.UUID, sealed []byte) error {
	_, err := tx.Exec(ctx, `UPDATE passkeys SET credential_sealed = $2, last_used_at = $3 WHERE id = $1`, id, sealed, srv.now())
	return err
}
