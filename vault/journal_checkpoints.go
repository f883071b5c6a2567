package vault

// The journal_checkpoints and journal_checkpoint_heads tables: the signed checkpoints of
// the chains' heads (checkpoint.go signs and verifies them). Every statement on those
// tables is here.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lastCheckpointDigest returns, inside tx, the digest of the last checkpoint, genesis
// when there is none.
func lastCheckpointDigest(ctx context.Context, tx pgx.Tx) ([]byte, error) {
	prev := genesis
	err := tx.QueryRow(ctx, `SELECT digest FROM journal_checkpoints ORDER BY id DESC LIMIT 1`).Scan(&prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	return prev, nil
}

// insertCheckpoint records, inside tx, cp (at, chains, digest, signature) after the
// checkpoint of digest prev, signed by pub, and sets cp.ID.
func insertCheckpoint(ctx context.Context, tx pgx.Tx, cp *Checkpoint, prev []byte, pub []byte) error {
	return tx.QueryRow(ctx, `
			INSERT INTO journal_checkpoints (at, chains, prev_digest, digest, public_key, signature)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		cp.At, cp.Chains, prev, cp.Digest, pub, cp.Signature).Scan(&cp.ID)
}

// insertCheckpointHeads records, inside tx, the heads checkpoint id signed.
func insertCheckpointHeads(ctx context.Context, tx pgx.Tx, id int64, heads []head) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"journal_checkpoint_heads"}, []string{"checkpoint_id", "owner_id", "seq", "hash"},
		pgx.CopyFromSlice(len(heads), func(i int) ([]any, error) {
			return []any{id, heads[i].owner, heads[i].seq, heads[i].hash}, nil
		}))
	return err
}

// checkpointRows queries every checkpoint, oldest first (id, at, chains, prev_digest,
// digest, public_key, signature).
func checkpointRows(ctx context.Context, q dbtx) (pgx.Rows, error) {
	return q.Query(ctx, `SELECT id, at, chains, prev_digest, digest, public_key, signature FROM journal_checkpoints ORDER BY id`)
}

// checkpointHeads returns the heads checkpoint id signed, by owner.
func checkpointHeads(ctx context.Context, q dbtx, id int64) ([]head, error) {
	rows, err := q.Query(ctx, `SELECT owner_id, seq, hash FROM journal_checkpoint_heads WHERE checkpoint_id = $1 ORDER BY owner_id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (head, error) {
		var h head
		return h, row.Scan(&h.owner, &h.seq, &h.hash)
	})
}

// rewrittenHeadRows queries the signed heads (checkpoint_id, owner_id, seq) that are no
// longer in the journal with the same hash.
func rewrittenHeadRows(ctx context.Context, q dbtx) (pgx.Rows, error) {
	return q.Query(ctx, `
		SELECT h.checkpoint_id, h.owner_id, h.seq FROM journal_checkpoint_heads h
		LEFT JOIN journal j ON j.owner_id = h.owner_id AND j.seq = h.seq
		WHERE j.hash IS DISTINCT FROM h.hash ORDER BY h.checkpoint_id, h.owner_id`)
}

// lastCheckpointOf reads the last checkpoint that signed owner's chain, and the head
// it signed (id, at, chains, prev_digest, digest, public_key, signature, seq, hash).
func lastCheckpointOf(ctx context.Context, q dbtx, owner uuid.UUID) pgx.Row {
	return q.QueryRow(ctx, `
		SELECT c.id, c.at, c.chains, c.prev_digest, c.digest, c.public_key, c.signature, h.seq, h.hash
		FROM journal_checkpoint_heads h JOIN journal_checkpoints c ON c.id = h.checkpoint_id
		WHERE h.owner_id = $1 ORDER BY h.checkpoint_id DESC LIMIT 1`, owner)
}

// LastCheckpointAge is how long ago the newest checkpoint was signed, by the database's
// clock (for monitoring: a signer that stopped shows as an age that grows); ok is false
// when none was signed yet.
func LastCheckpointAge(ctx context.Context, db *pgxpool.Pool) (age time.Duration, ok bool, err error) {
	var seconds float64
	err = db.QueryRow(ctx, `SELECT extract(epoch FROM now() - at)::float8 FROM journal_checkpoints ORDER BY id DESC LIMIT 1`).Scan(&seconds)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("vault: last checkpoint: %w", err)
	}
	return time.Duration(seconds * float64(time.Second)), true, nil
}
