package vault

// The blobs table: one row per stored object of a document (original, rendition,
// thumbnail). Every statement whose table is blobs is here.

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

const blobColumns = `document_id, id, role, position, media_type, size, sha256, name_sealed, created_at, mac, header_mac`

// blobRowSQL reads the row of blob of a current document (blobRow.args), for the access
// queue's batches.
const blobRowSQL = `
	SELECT b.id, b.role, b.position, b.media_type, b.size, b.sha256, b.created_at, b.mac, b.header_mac
	FROM blobs b JOIN documents d ON d.id = b.document_id
	WHERE b.owner_id = $1 AND b.document_id = $2 AND b.id = $3 AND d.deleted_at IS NULL`

// thumbnailRow reads the first thumbnail of owner's current document doc (id, role,
// position, media_type, size, sha256, created_at, mac, header_mac).
func thumbnailRow(ctx context.Context, q dbtx, owner, doc uuid.UUID) pgx.Row {
	return q.QueryRow(ctx, `
		SELECT b.id, b.role, b.position, b.media_type, b.size, b.sha256, b.created_at, b.mac, b.header_mac
		FROM blobs b JOIN documents d ON d.id = b.document_id
		WHERE b.owner_id = $1 AND b.document_id = $2 AND b.role = $3 AND d.deleted_at IS NULL
		ORDER BY b.position LIMIT 1`,
		owner, doc, RoleThumbnail)
}

// countBlobsWithoutMAC counts the blob rows without a MAC.
const countBlobsWithoutMAC = `SELECT count(*) FROM blobs WHERE mac IS NULL`

// blobsWithoutMACRows queries and locks, inside tx, the blob rows without a MAC, by owner
// (owner_id, document_id, id, role, position, media_type, size, sha256). Such rows date
// from before migration 00008, and so have no header MAC (00020): the query runs on
// databases not yet migrated further.
func blobsWithoutMACRows(ctx context.Context, tx pgx.Tx) (pgx.Rows, error) {
	return tx.Query(ctx, `
			SELECT owner_id, document_id, id, role, position, media_type, size, sha256
			FROM blobs WHERE mac IS NULL ORDER BY owner_id FOR UPDATE`)
}

// queueBlobMAC queues in b the recording of blob id's MAC, unless it has one.
func queueBlobMAC(b *pgx.Batch, id uuid.UUID, mac []byte) {
	b.Queue(`UPDATE blobs SET mac = $2 WHERE id = $1 AND mac IS NULL`, id, mac)
}

// unboundBlobRows queries up to limit rows written before migration 00020 (no header
// MAC) of current documents of safes not erased, but those whose object failed already
// (owner_id, document_id, id, role, position, media_type, size, sha256, mac). The partial
// index blobs_unbound_idx holds just those rows: without it, each process would scan the
// whole table once to find that none is left.
func unboundBlobRows(ctx context.Context, q dbtx, limit int) (pgx.Rows, error) {
	return q.Query(ctx, `
		SELECT b.owner_id, b.document_id, b.id, b.role, b.position, b.media_type, b.size, b.sha256, b.mac
		FROM blobs b
		JOIN documents d ON d.id = b.document_id AND d.deleted_at IS NULL
		JOIN owners o ON o.id = b.owner_id AND o.shredded_at IS NULL
		WHERE b.header_mac IS NULL AND b.header_bind_failed_at IS NULL
		LIMIT $1`, limit)
}

// markBindFailed records, inside tx, that blob id's object failed the check that would
// have bound its row, so that the row is not taken again (blobs_unbound_idx). It tells
// whether it did: not if the row was bound or marked meanwhile, by another process.
func markBindFailed(ctx context.Context, tx pgx.Tx, id uuid.UUID, at time.Time) (bool, error) {
	tag, err := tx.Exec(ctx, `
		UPDATE blobs SET header_bind_failed_at = $2
		WHERE id = $1 AND header_mac IS NULL AND header_bind_failed_at IS NULL`, id, at)
	return tag.RowsAffected() == 1, err
}

// bindBlobRow records blob id's header MAC and its row's new MAC, unless the row changed
// since it was read with oldMAC (or was bound meanwhile). It tells whether it did.
func bindBlobRow(ctx context.Context, q dbtx, id uuid.UUID, headerMAC, mac, oldMAC []byte) (bool, error) {
	tag, err := q.Exec(ctx, `
		UPDATE blobs SET header_mac = $2, mac = $3
		WHERE id = $1 AND header_mac IS NULL AND header_bind_failed_at IS NULL AND mac = $4`, id, headerMAC, mac, oldMAC)
	return tag.RowsAffected() == 1, err
}

// deleteOwnerBlobs deletes, inside tx, every blob row of owner and returns their IDs.
func deleteOwnerBlobs(ctx context.Context, tx pgx.Tx, owner uuid.UUID) ([]uuid.UUID, error) {
	rows, err := tx.Query(ctx, `DELETE FROM blobs WHERE owner_id = $1 RETURNING id`, owner)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// deleteDocumentBlobs deletes, inside tx, every blob row of document doc and returns their IDs.
func deleteDocumentBlobs(ctx context.Context, tx pgx.Tx, doc uuid.UUID) ([]uuid.UUID, error) {
	rows, err := tx.Query(ctx, `DELETE FROM blobs WHERE document_id = $1 RETURNING id`, doc)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// exportBlobRows queries, inside tx, owner's blobs but thumbnails, by document and the
// rendition first: it is the paper (blobColumns).
func exportBlobRows(ctx context.Context, tx pgx.Tx, owner uuid.UUID) (pgx.Rows, error) {
	return tx.Query(ctx, `
		SELECT `+blobColumns+`
		FROM blobs WHERE owner_id = $1 AND role <> 'thumbnail'
		ORDER BY document_id, role = 'original', position`, owner)
}

// queueInsertBlob queues in b the row of blob bl of owner's document doc, with its
// sealed name and its MAC.
func queueInsertBlob(b *pgx.Batch, owner, doc uuid.UUID, bl *Blob, name, mac []byte) {
	b.Queue(`
			INSERT INTO blobs (id, document_id, owner_id, role, position, media_type, size, sha256, name_sealed, created_at, mac, header_mac)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		bl.ID, doc, owner, bl.Role, bl.Position, bl.MediaType, bl.Size, bl.SHA256, name, bl.CreatedAt, mac, bl.headerMAC)
}

// queueBlobsOfListed queues in b the query of the blobs (blobColumns) of the documents
// listDocuments selects with filter and args (owner first).
func queueBlobsOfListed(b *pgx.Batch, filter string, args ...any) {
	b.Queue(`SELECT `+blobColumns+` FROM blobs WHERE owner_id = $1 AND document_id IN (
		SELECT id FROM documents WHERE owner_id = $1 AND deleted_at IS NULL `+filter+`) ORDER BY document_id, role, position`, args...)
}

// blobRowsOf queries the blobs (blobColumns) of owner's documents ids.
func blobRowsOf(ctx context.Context, q dbtx, owner uuid.UUID, ids []uuid.UUID) (pgx.Rows, error) {
	return q.Query(ctx, `SELECT `+blobColumns+`
		FROM blobs WHERE owner_id = $1 AND document_id = ANY($2) ORDER BY document_id, role, position`, owner, ids)
}
