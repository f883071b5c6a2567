package vault

import (
	"context"
	"errors"
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
		claimed, n, err := v.reapBatch(ctx, grace)
		total += n
		if err != nil || claimed == 0 {
			return total, err
		}
	}
}

// reapBatch claims up to 100 markers and commits the claim before it deletes a single
// object. A deposit settles its markers only while they are unclaimed, in the
// transaction that records its blobs: once a claim has committed, no row can ever
// reference the object; and a claim that rolls back has deleted nothing, so a deposit
// that was waiting on the marker commits with its file intact.
func (v *Vault) reapBatch(ctx context.Context, grace time.Duration) (claimed, removed int, err error) {
	var orphans, stale []uuid.UUID
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		rows, err := claimUploadRows(ctx, tx, grace, v.now())
		if err != nil {
			return err
		}
		var id uuid.UUID
		var referenced bool
		_, err = pgx.ForEachRow(rows, []any{&id, &referenced}, func() error {
			if referenced {
				stale = append(stale, id)
			} else {
				orphans = append(orphans, id)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if v.hooks.beforeCommit != nil {
			return v.hooks.beforeCommit("reap")
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("vault: reap uploads: %w", err)
	}
	// A marker whose object a row references is stale (or forged): the object is a
	// document's, only the marker goes.
	if len(stale) > 0 {
		v.log.Warn("upload markers of recorded blobs dropped", "count", len(stale))
		if err := deleteUploads(ctx, v.db, stale); err != nil {
			return 0, 0, fmt.Errorf("vault: reap uploads: %w", err)
		}
	}
	removed, err = v.dropObjects(ctx, orphans)
	if removed > 0 {
		v.log.Info("reaped orphan blobs", "count", removed)
	}
	if err != nil {
		return 0, removed, fmt.Errorf("vault: reap uploads: %w", err)
	}
	return len(orphans) + len(stale), removed, nil
}

// dropObjects deletes the objects of claimed markers, then the markers. Whatever fails
// stays claimed, for the next run of the reaper.
func (v *Vault) dropObjects(ctx context.Context, ids []uuid.UUID) (int, error) {
	done := make([]uuid.UUID, 0, len(ids))
	var err error
	for _, id := range ids {
		if err = v.blobs.Delete(ctx, id.String()); err != nil {
			break
		}
		done = append(done, id)
	}
	if len(done) > 0 {
		if derr := deleteClaimedUploads(ctx, v.db, done); derr != nil && err == nil {
			err = derr
		}
	}
	return len(done), err
}

// PurgeDeleted deletes the blobs of documents deleted more than after ago, and keeps of
// each document only a row without title, so that journal entries still point somewhere.
func (v *Vault) PurgeDeleted(ctx context.Context, after time.Duration) (int, error) {
	total := 0
	for {
		purged := false
		var ids []uuid.UUID
		err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
			doc, owner, err := nextDocumentToPurge(ctx, tx, after, v.now())
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			if ids, err = deleteDocumentBlobs(ctx, tx, doc); err != nil {
				return err
			}
			// The objects go after the commit, when no row refers to them any more; their
			// claimed markers hand them to the reaper if this process stops first.
			if err := insertClaimedUploads(ctx, tx, ids, v.now()); err != nil {
				return err
			}
			if err := markDocumentPurged(ctx, tx, doc, v.now()); err != nil {
				return err
			}
			if _, err := appendEntry(ctx, tx, owner, Event{Actor: System, Action: ActionPurge, DocumentID: doc}); err != nil {
				return err
			}
			purged = true
			if v.hooks.beforeCommit != nil {
				return v.hooks.beforeCommit("purge")
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("vault: purge deleted: %w", err)
		}
		if !purged {
			return total, nil
		}
		total++
		if _, err := v.dropObjects(ctx, ids); err != nil {
			v.log.Warn("purge: objects left to the reaper", "err", err)
		}
	}
}
