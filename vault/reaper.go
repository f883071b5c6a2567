package vault

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ReapUploads deletes the objects of uploads that never became part of a document (the
// process died, the database refused the commit…) and started more than grace ago. It
// returns how many it removed. Safe to run from several processes at once.
func (v *Vault) ReapUploads(ctx context.Context, grace time.Duration) (int, error) {
	total := 0
	for {
		n, err := v.reapBatch(ctx, grace)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (v *Vault) reapBatch(ctx context.Context, grace time.Duration) (int, error) {
	var n int
	// The marker is deleted in the same transaction as the object, and locked until then,
	// so a deposit committing at this moment either wins (and the marker is gone) or
	// fails because its marker was reaped.
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			DELETE FROM blob_uploads WHERE id IN (
				SELECT id FROM blob_uploads WHERE started_at < now() - $1::interval
				ORDER BY started_at LIMIT 100 FOR UPDATE SKIP LOCKED)
			RETURNING id`, grace)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := v.blobs.Delete(ctx, id.String()); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("vault: reap uploads: %w", err)
	}
	if n > 0 {
		v.log.Info("reaped orphan blobs", "count", n)
	}
	return n, nil
}

// PurgeDeleted deletes the blobs of documents deleted more than after ago, and keeps of
// each document only a row without title, so that journal entries still point somewhere.
func (v *Vault) PurgeDeleted(ctx context.Context, after time.Duration) (int, error) {
	total := 0
	for {
		purged := false
		err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
			var doc, owner uuid.UUID
			err := tx.QueryRow(ctx, `
				SELECT id, owner_id FROM documents
				WHERE deleted_at IS NOT NULL AND purged_at IS NULL AND deleted_at < now() - $1::interval
				ORDER BY deleted_at LIMIT 1 FOR UPDATE SKIP LOCKED`, after).Scan(&doc, &owner)
			if err == pgx.ErrNoRows {
				return nil
			}
			if err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `DELETE FROM blobs WHERE document_id = $1 RETURNING id`, doc)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := v.blobs.Delete(ctx, id.String()); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE documents SET purged_at = now(), title_sealed = '' WHERE id = $1`, doc); err != nil {
				return err
			}
			if _, err := appendEntry(ctx, tx, owner, Event{Actor: System, Action: ActionPurge, DocumentID: doc}); err != nil {
				return err
			}
			purged = true
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("vault: purge deleted: %w", err)
		}
		if !purged {
			return total, nil
		}
		total++
	}
}
