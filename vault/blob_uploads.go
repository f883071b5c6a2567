package vault

// The blob_uploads table: a marker per object being stored or to be deleted, which the
// reaper claims (see reapBatch). Every statement whose table is blob_uploads is here.

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// markUpload records the marker of the object id about to be stored.
func markUpload(ctx context.Context, q dbtx, id uuid.UUID) error {
	_, err := q.Exec(ctx, `INSERT INTO blob_uploads (id) VALUES ($1)`, id)
	return err
}

// queueSettleUpload queues in b the deletion of the marker of object id, only while the
// reaper has not claimed it.
func queueSettleUpload(b *pgx.Batch, id uuid.UUID) {
	b.Queue(`DELETE FROM blob_uploads WHERE id = $1 AND claimed_at IS NULL`, id)
}

// deleteUpload deletes the marker of object id.
func deleteUpload(ctx context.Context, q dbtx, id uuid.UUID) error {
	_, err := q.Exec(ctx, `DELETE FROM blob_uploads WHERE id = $1`, id)
	return err
}

// isWaitingUpload says whether object id is marked, unclaimed, and no blob row refers to it.
func isWaitingUpload(ctx context.Context, q dbtx, id uuid.UUID) (bool, error) {
	var waiting bool
	err := q.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM blob_uploads u
			WHERE u.id = $1 AND u.claimed_at IS NULL AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = u.id))`,
		id).Scan(&waiting)
	return waiting, err
}

// claimUnreferencedUploads claims the markers of objects ids that no blob row refers to,
// and returns those it claimed.
func claimUnreferencedUploads(ctx context.Context, q dbtx, ids []uuid.UUID) ([]uuid.UUID, error) {
	rows, err := q.Query(ctx, `
		UPDATE blob_uploads u SET claimed_at = coalesce(u.claimed_at, now())
		WHERE u.id = ANY($1) AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = u.id)
		RETURNING u.id`, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// claimUploadRows claims, inside tx, up to 100 markers already claimed or older than
// grace at now, skipping those another process holds, and returns them (id, whether a
// blob row refers to the object).
func claimUploadRows(ctx context.Context, tx pgx.Tx, grace time.Duration, now time.Time) (pgx.Rows, error) {
	return tx.Query(ctx, `
			UPDATE blob_uploads u SET claimed_at = coalesce(u.claimed_at, $2) WHERE u.id IN (
				SELECT id FROM blob_uploads
				WHERE claimed_at IS NOT NULL OR started_at < $2::timestamptz - $1::interval
				ORDER BY started_at LIMIT 100 FOR UPDATE SKIP LOCKED)
			RETURNING u.id, EXISTS (SELECT 1 FROM blobs b WHERE b.id = u.id)`, grace, now)
}

// deleteUploads deletes the markers of objects ids.
func deleteUploads(ctx context.Context, q dbtx, ids []uuid.UUID) error {
	_, err := q.Exec(ctx, `DELETE FROM blob_uploads WHERE id = ANY($1)`, ids)
	return err
}

// deleteClaimedUploads deletes the markers of objects ids that are claimed.
func deleteClaimedUploads(ctx context.Context, q dbtx, ids []uuid.UUID) error {
	_, err := q.Exec(ctx, `DELETE FROM blob_uploads WHERE id = ANY($1) AND claimed_at IS NOT NULL`, ids)
	return err
}

// insertClaimedUploads records, inside tx, markers of objects ids already claimed at now:
// the reaper deletes those objects.
func insertClaimedUploads(ctx context.Context, tx pgx.Tx, ids []uuid.UUID, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO blob_uploads (id, claimed_at) SELECT unnest($1::uuid[]), $2`, ids, now)
	return err
}
