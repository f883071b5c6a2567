package vault

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RegisterMasterKey records the keyring's current recipient as a master key of the
// database, the first step of a rotation. It refuses a keyring that lacks any key still in
// use, since owners wrapped to it could no longer be read.
func RegisterMasterKey(ctx context.Context, db *pgxpool.Pool, keys *Keyring, by Actor) error {
	rows, err := db.Query(ctx, `SELECT recipient FROM master_keys WHERE retired_at IS NULL`)
	if err != nil {
		return fmt.Errorf("vault: register master key: %w", err)
	}
	active, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("vault: register master key: %w", err)
	}
	for _, r := range active {
		if !keys.Holds(r) {
			return fmt.Errorf("vault: the master key file lacks the key %s that this database uses: %w", r, ErrWrongMasterKey)
		}
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO master_keys (recipient) VALUES ($1) ON CONFLICT DO NOTHING`, keys.Current())
		if err != nil {
			return fmt.Errorf("vault: register master key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			_, err = appendEntry(ctx, tx, SystemChain, Event{Actor: by, Action: ActionKeyAdded, Detail: keys.Current()})
		}
		return err
	})
}

// Rewrap re-wraps every owner's keys to the current master key, batch owners per
// transaction, and journals it in each owner's history. Blobs are not touched: they are
// encrypted to the owners' own keys, which do not change. An interrupted run is resumed
// by running it again. afterBatch, if not nil, is called after each committed batch with
// the running count; an error from it stops the rotation there. When no owner is left on
// an older key, those keys are retired and Rewrap returns done = true.
func (v *Vault) Rewrap(ctx context.Context, by Actor, batch int, afterBatch func(done int) error) (n int, done bool, err error) {
	current := v.keys.Current()
	var currentID int
	if err := v.db.QueryRow(ctx, `SELECT id FROM master_keys WHERE recipient = $1`, current).Scan(&currentID); err != nil {
		return 0, false, fmt.Errorf("vault: rewrap: current key: %w", notFound(err))
	}
	for {
		var count int
		err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `
				SELECT id, identity_wrapped, data_key_wrapped FROM owners
				WHERE master_key_id <> $1 AND identity_wrapped IS NOT NULL
				ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, currentID, batch)
			if err != nil {
				return err
			}
			type wrapped struct {
				id       uuid.UUID
				identity []byte
				dataKey  []byte
			}
			owners, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (wrapped, error) {
				var w wrapped
				return w, row.Scan(&w.id, &w.identity, &w.dataKey)
			})
			if err != nil {
				return err
			}
			for _, o := range owners {
				if err := v.rewrapOwner(ctx, tx, o.id, o.identity, o.dataKey, currentID, by); err != nil {
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
	// SKIP LOCKED may have passed over owners locked by a concurrent request: a key is
	// retired only when no owner is still wrapped to it, and the rotation is done only
	// when every owner is on the current key.
	if _, err := v.db.Exec(ctx, `
		UPDATE master_keys k SET retired_at = now() WHERE k.id <> $1 AND k.retired_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM owners o WHERE o.master_key_id = k.id AND o.identity_wrapped IS NOT NULL)`, currentID); err != nil {
		return n, false, fmt.Errorf("vault: rewrap: retire old keys: %w", err)
	}
	return n, !v.RotationPending(ctx), nil
}

func (v *Vault) rewrapOwner(ctx context.Context, tx pgx.Tx, owner uuid.UUID, identityWrapped, dataKeyWrapped []byte, keyID int, by Actor) error {
	identity, err := v.keys.unwrap(identityWrapped)
	if err != nil {
		return err
	}
	dataKey, err := v.keys.unwrap(dataKeyWrapped)
	if err != nil {
		return err
	}
	if identityWrapped, err = v.keys.wrap(identity); err != nil {
		return err
	}
	if dataKeyWrapped, err = v.keys.wrap(dataKey); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE owners SET identity_wrapped = $2, data_key_wrapped = $3, master_key_id = $4 WHERE id = $1`,
		owner, identityWrapped, dataKeyWrapped, keyID); err != nil {
		return err
	}
	_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionKeyRotated})
	return err
}

// RotationPending tells whether owners are still wrapped to a master key other than the
// current one: a rotation was interrupted.
func (v *Vault) RotationPending(ctx context.Context) bool {
	var pending bool
	err := v.db.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM owners o JOIN master_keys k ON k.id = o.master_key_id
			WHERE k.recipient <> $1 AND o.identity_wrapped IS NOT NULL)`, v.keys.Current()).Scan(&pending)
	return err == nil && pending
}
