package vault

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The database is the one truth every process shares about master keys: master_keys
// lists them, the newest one not retired is current, and master_key_uses (a view, see
// migration 00008) lists everything wrapped to each of them. A process wraps new secrets
// to the current key, rereads its key file when it meets a key it does not hold, and
// refuses to start without a key something still needs. It wraps only to a key its own
// file holds: someone who can write to the database alone could otherwise register a key
// of theirs and have every new secret wrapped to it.

// dbtx is what both a pool and a transaction offer.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// masterKey is a master key as the database records it.
type masterKey struct {
	ID        int
	Recipient string
}

// currentMasterKey returns the key new secrets are wrapped to: the newest one not retired.
func currentMasterKey(ctx context.Context, q dbtx) (masterKey, error) {
	var k masterKey
	err := q.QueryRow(ctx, `SELECT id, recipient FROM master_keys WHERE retired_at IS NULL ORDER BY id DESC LIMIT 1`).
		Scan(&k.ID, &k.Recipient)
	if err != nil {
		return k, fmt.Errorf("current master key: %w", notFound(err))
	}
	return k, nil
}

// masterKeyState tells whether recipient is a master key of the database, and whether
// it was retired.
func masterKeyState(ctx context.Context, q dbtx, recipient string) (known, retired bool, err error) {
	err = q.QueryRow(ctx, `SELECT retired_at IS NOT NULL FROM master_keys WHERE recipient = $1`, recipient).Scan(&retired)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	return err == nil, retired, err
}

// insertMasterKey makes recipient the current master key.
func insertMasterKey(ctx context.Context, q dbtx, recipient string) error {
	_, err := q.Exec(ctx, `INSERT INTO master_keys (recipient) VALUES ($1)`, recipient)
	return err
}

// insertFirstMasterKey records recipient as the master key of a database that has none
// yet, and tells whether it did.
func insertFirstMasterKey(ctx context.Context, q dbtx, recipient string) (bool, error) {
	tag, err := q.Exec(ctx, `
		INSERT INTO master_keys (recipient)
		SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM master_keys)`, recipient)
	return err == nil && tag.RowsAffected() == 1, err
}

// unusedOldMasterKeys lists the master keys, other than the current one, that are not
// retired and wrap nothing any more.
func unusedOldMasterKeys(ctx context.Context, q dbtx) ([]masterKey, error) {
	rows, err := q.Query(ctx, `
		SELECT k.id, k.recipient FROM master_keys k
		WHERE k.retired_at IS NULL AND k.id <> (SELECT max(id) FROM master_keys WHERE retired_at IS NULL)
			AND NOT EXISTS (SELECT 1 FROM master_key_uses u WHERE u.master_key_id = k.id)`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[masterKey])
}

// retireMasterKey retires a key. The database refuses (object_in_use, migration 00008)
// while something is still wrapped to it.
func retireMasterKey(ctx context.Context, q dbtx, id int) error {
	_, err := q.Exec(ctx, `UPDATE master_keys SET retired_at = now() WHERE id = $1 AND retired_at IS NULL`, id)
	return err
}

// oldMasterKeysInUse tells whether anything is still wrapped to a master key other than
// the current one.
func oldMasterKeysInUse(ctx context.Context, q dbtx) (bool, error) {
	var pending bool
	err := q.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM master_keys k
			WHERE k.id <> (SELECT max(id) FROM master_keys WHERE retired_at IS NULL)
				AND EXISTS (SELECT 1 FROM master_key_uses u WHERE u.master_key_id = k.id))`).Scan(&pending)
	return pending, err
}

// wrap encrypts secrets to the current master key, read through q (inside the
// transaction that stores them, so that the key recorded is the key used; the database
// refuses to record a retired one). A current key missing from the key file, even read
// again, is ErrWrongMasterKey: the file must be copied to this instance first.
func (v *Vault) wrap(ctx context.Context, q dbtx, secrets ...[]byte) (masterKey, [][]byte, error) {
	k, err := v.currentHeldKey(ctx, q)
	if err != nil {
		return k, nil, err
	}
	out := make([][]byte, len(secrets))
	for i, s := range secrets {
		if out[i], err = wrapTo(k.Recipient, s); err != nil {
			return k, nil, err
		}
	}
	return k, out, nil
}

// currentHeldKey is the current master key, provided the key file holds it.
func (v *Vault) currentHeldKey(ctx context.Context, q dbtx) (masterKey, error) {
	k, err := currentMasterKey(ctx, q)
	if err != nil {
		return k, err
	}
	held, rerr := v.keys.holdsOrReload(k.Recipient)
	if !held {
		v.log.Error("the database's current master key is not in the master key file: copy the newest key file to this instance",
			"recipient", k.Recipient, "err", rerr)
		return k, fmt.Errorf("the master key file lacks the current master key %s: %w", k.Recipient, ErrWrongMasterKey)
	}
	return k, nil
}

// checkKeyring makes sure keys can unwrap everything wrapped to a master key, and will
// read what is wrapped next: it must hold every key that master_key_uses names, and the
// current one. The error names the first key missing.
func checkKeyring(ctx context.Context, db dbtx, keys *Keyring) error {
	rows, err := db.Query(ctx, `
		SELECT k.recipient FROM master_keys k
		WHERE k.id = (SELECT max(id) FROM master_keys WHERE retired_at IS NULL)
			OR EXISTS (SELECT 1 FROM master_key_uses u WHERE u.master_key_id = k.id)
		ORDER BY k.id`)
	if err != nil {
		return fmt.Errorf("vault: master keys: %w", err)
	}
	needed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("vault: master keys: %w", err)
	}
	for _, r := range needed {
		if held, _ := keys.holdsOrReload(r); !held {
			return fmt.Errorf("vault: the master key file lacks the key %s that this database uses: %w", r, ErrWrongMasterKey)
		}
	}
	return nil
}

// WrapServiceSecret encrypts a secret of the service (an agent's TOTP key) to the master
// key the database names as current, like owner identities, and names that key's
// recipient so the caller can record which master key wrapped it. The database refuses to
// record a retired key: a rotation that ends meanwhile makes the insert fail, never leave
// a secret wrapped to a key about to leave the key files.
func (v *Vault) WrapServiceSecret(ctx context.Context, secret []byte) (wrapped []byte, recipient string, err error) {
	key, out, err := v.wrap(ctx, v.db, secret)
	if err != nil {
		return nil, "", fmt.Errorf("vault: wrap service secret: %w", err)
	}
	return out[0], key.Recipient, nil
}

// CurrentMasterKey is the recipient new secrets are wrapped to, as the database names it:
// a service secret wrapped to another one is due for re-wrapping after a rotation.
func (v *Vault) CurrentMasterKey(ctx context.Context) (string, error) {
	key, err := currentMasterKey(ctx, v.db)
	if err != nil {
		return "", fmt.Errorf("vault: %w", err)
	}
	return key.Recipient, nil
}

// UnwrapServiceSecret opens what WrapServiceSecret wrapped.
func (v *Vault) UnwrapServiceSecret(wrapped []byte) ([]byte, error) {
	secret, err := v.keys.unwrap(wrapped)
	if err != nil {
		return nil, fmt.Errorf("vault: unwrap service secret: %w", err)
	}
	return secret, nil
}

// MasterKeyID is the database's number of the master key with that recipient, which a
// row holding a service secret records (agents.totp_master_key_id): the key that wrapped
// it, as WrapServiceSecret named it.
func (v *Vault) MasterKeyID(ctx context.Context, recipient string) (int, error) {
	var id int
	if err := v.db.QueryRow(ctx, `SELECT id FROM master_keys WHERE recipient = $1`, recipient).Scan(&id); err != nil {
		return 0, fmt.Errorf("vault: master key: %w", notFound(err))
	}
	return id, nil
}
