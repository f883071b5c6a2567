package vault

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A rotation of the master key ('coffre keys rotate') goes:
//
//  1. AddMasterKey puts a new key at the head of the key file, which the operator copies
//     to every instance; running ones read it when they first need it.
//  2. RegisterMasterKey records it in the database: from then on every process wraps
//     new secrets to it.
//  3. Rewrap re-wraps what older keys wrap (the participants' secrets first: sharing's
//     agents' TOTP secrets), and retires each older key once nothing wraps to it. The database refuses any other retirement,
//     so a key retired is a key the operator may take out of the key files.

// ActionKeyRetired, in the service's chain, records that a master key no longer wraps
// anything and may leave the key files.
const ActionKeyRetired Action = "master_key_retired"

// ErrKeyRetired: the key was retired; a retired key is never used again.
var ErrKeyRetired = errors.New("master key retired")

// RegisterMasterKey records the keyring's first key as the database's current master key,
// the second step of a rotation: every process wraps new secrets to it from then on, so
// the key file holding it must be on every instance first. It refuses a keyring that
// lacks a key still in use, since what is wrapped to it could no longer be re-wrapped.
// Registering the current key again does nothing.
func RegisterMasterKey(ctx context.Context, db *pgxpool.Pool, keys *Keyring, by Actor) error {
	if err := checkKeyring(ctx, db, keys); err != nil {
		return err
	}
	recipient := keys.Current()
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		known, retired, err := masterKeyState(ctx, tx, recipient)
		switch {
		case err != nil:
			return fmt.Errorf("vault: register master key: %w", err)
		case retired:
			return fmt.Errorf("vault: register master key %s: %w", recipient, ErrKeyRetired)
		case known:
			return nil
		}
		if err := insertMasterKey(ctx, tx, recipient); err != nil {
			return fmt.Errorf("vault: register master key: %w", err)
		}
		_, err = appendEntry(ctx, tx, SystemChain, Event{Actor: by, Action: ActionKeyAdded, Detail: recipient})
		return err
	})
}

// MasterKeyRegistered tells whether recipient is a master key of the database, retired or
// not.
func (v *Vault) MasterKeyRegistered(ctx context.Context, recipient string) (bool, error) {
	known, _, err := masterKeyState(ctx, v.db, recipient)
	if err != nil {
		return false, fmt.Errorf("vault: master keys: %w", err)
	}
	return known, nil
}

// Rewrap re-wraps to the database's current master key every owner's keys still wrapped
// to another one, batch owners per transaction, and journals it in each owner's history.
// Blobs are not touched: they are encrypted to the owners' own keys, which do not change.
// An interrupted run is resumed by running it again. afterBatch, if not nil, is called
// after each committed batch with the running count; an error from it stops the rotation
// there. The participants' secrets (agents' TOTP secrets) are re-wrapped first
// (Participant.RewrapSecrets). Then every older key that nothing wraps to any more is
// retired, and done tells whether none is left.
func (v *Vault) Rewrap(ctx context.Context, by Actor, batch int, afterBatch func(done int) error) (n int, done bool, err error) {
	current, err := v.currentHeldKey(ctx, v.db)
	if err != nil {
		return 0, false, fmt.Errorf("vault: rewrap: %w", err)
	}
	for _, p := range v.participants {
		secrets, err := p.RewrapSecrets(ctx)
		if err != nil {
			return 0, false, fmt.Errorf("vault: rewrap: %w", err)
		}
		if secrets > 0 {
			v.log.Info("service secrets re-wrapped", "count", secrets)
		}
	}
	for {
		var count int
		err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
			owners, err := ownersWrappedElsewhere(ctx, tx, current.ID, batch)
			if err != nil {
				return err
			}
			for _, o := range owners {
				if err := v.rewrapOwner(ctx, tx, o.id, o.identity, o.dataKey, current, by); err != nil {
					return fmt.Errorf("owner %s: %w", o.id, err)
				}
			}
			count = len(owners)
			return nil
		})
		if err != nil {
			return n, false, fmt.Errorf("vault: rewrap: %w", err)
		}
		n += count
		if count == 0 {
			break
		}
		if afterBatch != nil {
			if err := afterBatch(n); err != nil {
				return n, false, err
			}
		}
	}
	if err := v.retireOldKeys(ctx, by); err != nil {
		return n, false, err
	}
	pending, err := v.RotationPending(ctx)
	return n, !pending && err == nil, err
}

func (v *Vault) rewrapOwner(ctx context.Context, tx pgx.Tx, owner uuid.UUID, identityWrapped, dataKeyWrapped []byte, to masterKey, by Actor) error {
	identity, err := v.keys.unwrap(identityWrapped)
	if err != nil {
		return err
	}
	dataKey, err := v.keys.unwrap(dataKeyWrapped)
	if err != nil {
		return err
	}
	if identityWrapped, err = wrapTo(to.Recipient, identity); err != nil {
		return err
	}
	if dataKeyWrapped, err = wrapTo(to.Recipient, dataKey); err != nil {
		return err
	}
	if err := setOwnerWrapping(ctx, tx, owner, identityWrapped, dataKeyWrapped, to.ID); err != nil {
		return err
	}
	_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionKeyRotated})
	return err
}

// retireOldKeys retires every master key but the current one that nothing wraps to any
// more, and journals each in the service's chain. The database has the last word: a
// secret wrapped to a key while this runs makes its retirement fail (object_in_use), and
// the key stays for the next run.
func (v *Vault) retireOldKeys(ctx context.Context, by Actor) error {
	old, err := unusedOldMasterKeys(ctx, v.db)
	if err != nil {
		return fmt.Errorf("vault: retire old keys: %w", err)
	}
	for _, k := range old {
		err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
			if err := retireMasterKey(ctx, tx, k.ID); err != nil {
				return err
			}
			_, err := appendEntry(ctx, tx, SystemChain, Event{Actor: by, Action: ActionKeyRetired, Detail: k.Recipient})
			return err
		})
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55006" { // object_in_use: see migration 00008
			v.log.Info("master key still in use, not retired", "recipient", k.Recipient)
			continue
		}
		if err != nil {
			return fmt.Errorf("vault: retire master key %s: %w", k.Recipient, err)
		}
	}
	return nil
}

// RotationPending tells whether anything (an owner's keys, an agent's secret) is still
// wrapped to a master key other than the current one: a rotation is under way.
func (v *Vault) RotationPending(ctx context.Context) (bool, error) {
	pending, err := oldMasterKeysInUse(ctx, v.db)
	if err != nil {
		return false, fmt.Errorf("vault: rotation pending: %w", err)
	}
	return pending, nil
}
