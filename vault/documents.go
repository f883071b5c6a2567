package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Role says what a blob is to its document.
type Role string

// Blob roles.
const (
	RoleOriginal  Role = "original"  // the bytes as received
	RoleRendition Role = "rendition" // a normalised version (PDF) made by ingest
	RoleThumbnail Role = "thumbnail" // a small picture for lists
)

// Document is a paper in a safe, with its blobs.
type Document struct {
	ID        uuid.UUID
	OwnerID   uuid.UUID
	Kind      Kind
	Title     string
	IssuedOn  *time.Time // a date (UTC midnight), or nil
	ExpiresOn *time.Time
	// Depositor is who put it in the safe (the owner, an aidant…), without the IP.
	Depositor Actor
	CreatedAt time.Time
	Blobs     []Blob
}

// Blob is one encrypted file of a document.
type Blob struct {
	ID        uuid.UUID
	Role      Role
	Position  int // order among the blobs of the same role (pages, several originals)
	MediaType string
	Size      int64
	SHA256    []byte // of the plaintext
	Name      string // the original file name, if any
	CreatedAt time.Time
	// headerMAC is the MAC of the age header of the blob's object, which binds the object
	// to its row (nil for rows written before migration 00020).
	headerMAC []byte
}

// Blob returns the document's first blob of that role, or nil.
func (d *Document) Blob(role Role) *Blob {
	for i := range d.Blobs {
		if d.Blobs[i].Role == role {
			return &d.Blobs[i]
		}
	}
	return nil
}

// NewDocument is what a deposit puts in the safe.
type NewDocument struct {
	Kind      Kind
	Title     string
	IssuedOn  *time.Time
	ExpiresOn *time.Time
	Files     []File
	// Proof is what the paper's 2D-Doc said (proof.go), nil when it has none.
	Proof *Proof
}

// File is one stream to deposit.
type File struct {
	Role      Role
	MediaType string
	Name      string
	Body      io.Reader
	// Size is the exact length of Body, or -1 when unknown.
	Size int64
}

// documentCommitted asks, on a connection of its own (the deposit's may be dead), whether
// a document exists. It cannot say "never": a COMMIT still in flight may land later.
func (v *Vault) documentCommitted(ctx context.Context, owner, doc uuid.UUID) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, v.db.Config().ConnConfig)
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	var exists bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM documents WHERE owner_id = $1 AND id = $2)`, owner, doc).Scan(&exists)
	return exists, err
}

func (v *Vault) insertDocument(ctx context.Context, tx pgx.Tx, d *Document, p *Proof, dataKey []byte, by Actor) error {
	title, err := seal(dataKey, []byte(d.Title), titleAD(d.OwnerID, d.ID))
	if err != nil {
		return err
	}
	kind, err := sealKind(dataKey, d.OwnerID, d.ID, d.Kind)
	if err != nil {
		return err
	}
	proof, err := sealProof(dataKey, d.OwnerID, d.ID, p)
	if err != nil {
		return err
	}
	// One round trip for every row of the deposit: on a busy server each one is waited
	// for, and a deposit has several.
	b := &pgx.Batch{}
	b.Queue(`
		INSERT INTO documents (id, owner_id, kind_sealed, title_sealed, issued_on, expires_on, depositor_kind, depositor_id, created_at, proof_sealed)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		d.ID, d.OwnerID, kind, title, d.IssuedOn, d.ExpiresOn, d.Depositor.Kind, d.Depositor.ID, d.CreatedAt, proof)
	queueIndexNew(b, dataKey, d.OwnerID, d.ID, d.Title, d.Kind)
	for _, bl := range d.Blobs {
		var name []byte
		if bl.Name != "" {
			if name, err = seal(dataKey, []byte(bl.Name), nameAD(d.OwnerID, bl.ID)); err != nil {
				return err
			}
		}
		queueInsertBlob(b, d.OwnerID, d.ID, &bl, name, blobMAC(dataKey, d.OwnerID, d.ID, &bl))
		// The upload marker goes in the same transaction: if the reaper claimed it first,
		// the object is gone (or going) and the deposit must fail.
		queueSettleUpload(b, bl.ID)
	}
	if err := insertRows(ctx, tx, b, d); err != nil {
		return err
	}
	_, err = appendEntry(ctx, tx, d.OwnerID, Event{Actor: by, Action: ActionDeposit, DocumentID: d.ID})
	return err
}

// insertRows sends the batch insertDocument queued and checks each answer.
func insertRows(ctx context.Context, tx pgx.Tx, b *pgx.Batch, d *Document) error {
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("insert document: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	for _, bl := range d.Blobs {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("insert blob: %w", err)
		}
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("settle upload: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("upload %s was reaped before commit", bl.ID)
		}
	}
	return br.Close()
}

const documentColumns = `id, owner_id, kind_sealed, title_sealed, issued_on, expires_on, depositor_kind, depositor_id, created_at`

// Documents lists owner's documents, newest first.
func (v *Vault) Documents(ctx context.Context, owner uuid.UUID) ([]Document, error) {
	return v.listDocuments(ctx, owner, ``)
}

// listDocuments lists owner's current documents, newest first, with their blobs; filter
// is an extra SQL condition on documents, whose arguments start at $2.
func (v *Vault) listDocuments(ctx context.Context, owner uuid.UUID, filter string, args ...any) ([]Document, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: documents: %w", err)
	}
	// The documents and their blobs in one round trip: the blobs' query selects the same
	// documents as the first.
	args = append([]any{owner}, args...)
	b := &pgx.Batch{}
	b.Queue(`SELECT `+documentColumns+` FROM documents
		WHERE owner_id = $1 AND deleted_at IS NULL `+filter+` ORDER BY created_at DESC, id`, args...)
	queueBlobsOfListed(b, filter, args...)
	br := v.db.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("vault: documents: %w", err)
	}
	docs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Document, error) {
		return scanDocument(row, dataKey)
	})
	if err != nil {
		return nil, fmt.Errorf("vault: documents: %w", err)
	}
	if rows, err = br.Query(); err == nil {
		err = v.scanBlobs(ctx, rows, owner, dataKey, docs)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: documents: blobs: %w", err)
	}
	return docs, br.Close()
}

// Document returns one of owner's documents. A missing document, or someone else's, gives
// ErrNotFound and is journaled as a failed attempt.
func (v *Vault) Document(ctx context.Context, owner, id uuid.UUID, by Actor) (*Document, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: document %s: %w", id, err)
	}
	rows, err := v.db.Query(ctx, `SELECT `+documentColumns+` FROM documents
		WHERE owner_id = $1 AND id = $2 AND deleted_at IS NULL`, owner, id)
	if err != nil {
		return nil, fmt.Errorf("vault: document %s: %w", id, err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (Document, error) {
		return scanDocument(row, dataKey)
	})
	if err != nil {
		err = notFound(err)
		if errors.Is(err, ErrNotFound) {
			v.deny(ctx, owner, id, by)
		}
		return nil, fmt.Errorf("vault: document %s: %w", id, err)
	}
	docs := []Document{d}
	if err := v.loadBlobs(ctx, owner, dataKey, docs); err != nil {
		return nil, fmt.Errorf("vault: document %s: %w", id, err)
	}
	return &docs[0], nil
}

func scanDocument(row pgx.CollectableRow, dataKey []byte) (Document, error) {
	var d Document
	var kind, title []byte
	if err := row.Scan(&d.ID, &d.OwnerID, &kind, &title, &d.IssuedOn, &d.ExpiresOn, &d.Depositor.Kind, &d.Depositor.ID, &d.CreatedAt); err != nil {
		return d, err
	}
	k, err := openKind(dataKey, d.OwnerID, d.ID, kind)
	if err != nil {
		return d, err
	}
	d.Kind = k
	t, err := open(dataKey, title, titleAD(d.OwnerID, d.ID))
	if err != nil {
		return d, fmt.Errorf("document %s title: %w", d.ID, err)
	}
	d.Title = string(t)
	d.CreatedAt = d.CreatedAt.UTC()
	return d, nil
}

func (v *Vault) loadBlobs(ctx context.Context, owner uuid.UUID, dataKey []byte, docs []Document) error {
	if len(docs) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	rows, err := blobRowsOf(ctx, v.db, owner, ids)
	if err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	return v.scanBlobs(ctx, rows, owner, dataKey, docs)
}

// scanBlobs adds the blobs of rows (blobColumns) to docs, each checked against its MAC.
func (v *Vault) scanBlobs(ctx context.Context, rows pgx.Rows, owner uuid.UUID, dataKey []byte, docs []Document) error {
	defer rows.Close()
	index := make(map[uuid.UUID]int, len(docs))
	for i, d := range docs {
		index[d.ID] = i
	}
	for rows.Next() {
		var doc uuid.UUID
		var b Blob
		var name, mac []byte
		if err := rows.Scan(&doc, &b.ID, &b.Role, &b.Position, &b.MediaType, &b.Size, &b.SHA256, &name, &b.CreatedAt, &mac, &b.headerMAC); err != nil {
			return fmt.Errorf("blobs: %w", err)
		}
		i, ok := index[doc]
		if !ok {
			continue // deleted between the two queries' snapshots
		}
		if err := v.checkBlob(ctx, owner, dataKey, doc, &b, mac); err != nil {
			return err
		}
		if name != nil {
			n, err := open(dataKey, name, nameAD(owner, b.ID))
			if err != nil {
				return fmt.Errorf("blob %s name: %w", b.ID, err)
			}
			b.Name = string(n)
		}
		docs[i].Blobs = append(docs[i].Blobs, b)
	}
	return rows.Err()
}

// deny journals a failed attempt at document id. When the document exists under another
// owner, the attempt goes into that owner's journal: they are the one who must see it.
func (v *Vault) deny(ctx context.Context, owner, id uuid.UUID, by Actor) {
	target := owner
	var real uuid.UUID
	if err := v.db.QueryRow(ctx, `SELECT owner_id FROM documents WHERE id = $1`, id).Scan(&real); err == nil {
		target = real
	}
	if err := v.Record(context.WithoutCancel(ctx), target, Event{Actor: by, Action: ActionDenied, DocumentID: id}); err != nil {
		v.log.Error("journal failed attempt", "err", err)
	}
}

// DenyDocument journals a failed attempt at document id by someone acting in owner's
// name (the owner choosing papers, a link, a téléservice): in the journal of the
// document's owner when it exists, else in owner's, like a refused lookup (Document).
func (v *Vault) DenyDocument(ctx context.Context, owner, id uuid.UUID, by Actor) {
	v.deny(ctx, owner, id, by)
}

// Update is a change to a document's description; nil fields stay as they are.
type Update struct {
	Kind      *Kind
	Title     *string
	IssuedOn  *time.Time
	ExpiresOn *time.Time
	// ClearDates removes both dates before applying IssuedOn and ExpiresOn.
	ClearDates bool
	// SettleSuggestion says the change answers what recognition suggested (confirmed or
	// corrected): the suggestion goes with it (document_texts.go).
	SettleSuggestion bool
}

// UpdateDocument changes a document's kind, title or dates, and journals it; the blind
// index follows the new title and kind.
func (v *Vault) UpdateDocument(ctx context.Context, owner, id uuid.UUID, by Actor, u Update) (*Document, error) {
	d, err := v.Document(ctx, owner, id, by)
	if err != nil {
		return nil, err
	}
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: update %s: %w", id, err)
	}
	if u.Kind != nil {
		if _, err := ParseKind(string(*u.Kind)); err != nil {
			return nil, fmt.Errorf("vault: update %s: %w", id, err)
		}
		d.Kind = *u.Kind
	}
	if u.Title != nil {
		if err := validTitle(*u.Title); err != nil {
			return nil, fmt.Errorf("vault: update %s: %w", id, err)
		}
		d.Title = *u.Title
	}
	if u.ClearDates {
		d.IssuedOn, d.ExpiresOn = nil, nil
	}
	if u.IssuedOn != nil {
		d.IssuedOn = u.IssuedOn
	}
	if u.ExpiresOn != nil {
		d.ExpiresOn = u.ExpiresOn
	}
	if err := validDates(d.IssuedOn, d.ExpiresOn); err != nil {
		return nil, fmt.Errorf("vault: update %s: %w", id, err)
	}
	title, err := seal(dataKey, []byte(d.Title), titleAD(owner, id))
	if err != nil {
		return nil, fmt.Errorf("vault: update %s: %w", id, err)
	}
	kind, err := sealKind(dataKey, owner, id, d.Kind)
	if err != nil {
		return nil, fmt.Errorf("vault: update %s: %w", id, err)
	}
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE documents SET kind_sealed = $3, title_sealed = $4, issued_on = $5, expires_on = $6
			WHERE owner_id = $1 AND id = $2 AND deleted_at IS NULL`, owner, id, kind, title, d.IssuedOn, d.ExpiresOn)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return ErrNotFound
		}
		// The UPDATE holds the row: a reading stored meanwhile (StoreReading) waits, or
		// committed before and its text is read here.
		text, err := textTx(ctx, tx, dataKey, owner, id)
		if err != nil {
			return err
		}
		if err := indexTx(ctx, tx, dataKey, owner, id, d.Title, d.Kind, text); err != nil {
			return err
		}
		if u.SettleSuggestion {
			if err := settleTx(ctx, tx, owner, id); err != nil {
				return err
			}
		}
		_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionRename, DocumentID: id})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vault: update %s: %w", id, err)
	}
	return d, nil
}

// DeleteDocument removes a document from owner's safe at once, with its words in the
// blind index and what reading it found; its blobs are purged by PurgeDeleted soon after.
func (v *Vault) DeleteDocument(ctx context.Context, owner, id uuid.UUID, by Actor) error {
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE documents SET deleted_at = $3 WHERE owner_id = $1 AND id = $2 AND deleted_at IS NULL`, owner, id, v.now())
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return ErrNotFound
		}
		if err := unindexTx(ctx, tx, owner, id); err != nil {
			return err
		}
		if err := dropTextTx(ctx, tx, owner, id); err != nil {
			return err
		}
		_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionDelete, DocumentID: id})
		return err
	})
	if errors.Is(err, ErrNotFound) {
		v.deny(ctx, owner, id, by)
	}
	if err != nil {
		return fmt.Errorf("vault: delete %s: %w", id, err)
	}
	return nil
}

// monthsSQL numbers the calendar months from $1 to $2 (first days, as timestamps without
// zone), in UTC whatever the session's time zone (no DST shift at month ends): the
// buckets of the figures by month, the vault's and sharing's (CountByMonth).
const monthsSQL = `WITH months AS (
	SELECT m AT TIME ZONE 'UTC' AS start, (m + interval '1 month') AT TIME ZONE 'UTC' AS stop
	FROM generate_series($1::timestamp, $2::timestamp, interval '1 month') m
) `

// firstOfMonth is the first instant of t's month, in UTC.
func firstOfMonth(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Querier runs a query: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// CountByMonth runs query, a SELECT of one count per month from a table "months" (start,
// stop) that it may use, oldest first: the calendar months, in UTC, from the month of from
// to the month of to. Its own arguments start at $3.
func CountByMonth(ctx context.Context, db Querier, query string, from, to time.Time, args ...any) ([]int, error) {
	rows, err := db.Query(ctx, monthsSQL+query, append([]any{firstOfMonth(from), firstOfMonth(to)}, args...)...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

// AidantDepositsByMonth counts the documents the agents (by actor ID) deposited, per
// calendar month from the month of from to the month of to, oldest first: a structure's
// figures, no names, no documents (documents_aidant_idx).
func (v *Vault) AidantDepositsByMonth(ctx context.Context, agents []string, from, to time.Time) ([]int, error) {
	n, err := CountByMonth(ctx, v.db, `SELECT (SELECT count(*) FROM documents d WHERE d.depositor_kind = 'aidant' AND d.depositor_id = ANY($3)
		AND d.created_at >= months.start AND d.created_at < months.stop) FROM months ORDER BY months.start`, from, to, agents)
	if err != nil {
		return nil, fmt.Errorf("vault: aidant deposits by month: %w", err)
	}
	return n, nil
}

// lockDocument locks, inside tx, owner's current document doc (FOR UPDATE) and returns
// its title and kind, opened: changes that index a paper hold its row, so that they
// index it one after the other.
func lockDocument(ctx context.Context, tx pgx.Tx, dataKey []byte, owner, doc uuid.UUID) (string, Kind, error) {
	var kindSealed, titleSealed []byte
	err := tx.QueryRow(ctx, `SELECT kind_sealed, title_sealed FROM documents
		WHERE owner_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`, owner, doc).Scan(&kindSealed, &titleSealed)
	if err != nil {
		return "", "", notFound(err)
	}
	kind, err := openKind(dataKey, owner, doc, kindSealed)
	if err != nil {
		return "", "", err
	}
	title, err := open(dataKey, titleSealed, titleAD(owner, doc))
	if err != nil {
		return "", "", fmt.Errorf("document %s title: %w", doc, err)
	}
	return string(title), kind, nil
}

// UnreadDocuments lists, newest first and at most limit, owner's current documents not
// read yet; none when the owner has not asked for their papers to be read or their safe
// is closed. The newest first: a paper just deposited gets its suggestion before the
// older ones are read.
func (v *Vault) UnreadDocuments(ctx context.Context, owner uuid.UUID, limit int) ([]uuid.UUID, error) {
	rows, err := v.db.Query(ctx, `SELECT d.id FROM documents d
		JOIN reading_consents c ON c.owner_id = d.owner_id
		JOIN owners o ON o.id = d.owner_id
		WHERE d.owner_id = $1 AND d.deleted_at IS NULL AND o.open
			AND NOT EXISTS (SELECT 1 FROM document_texts t WHERE t.document_id = d.id)
		ORDER BY d.created_at DESC, d.id LIMIT $2`, owner, limit)
	if err != nil {
		return nil, fmt.Errorf("vault: unread documents: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("vault: unread documents: %w", err)
	}
	return ids, nil
}

// ClearKinds counts the documents whose kind is still in clear: written before migration
// 9, and not yet sealed by SealClearKinds. Every command but 'coffre migrate' refuses to
// run while there are any.
func ClearKinds(ctx context.Context, db *pgxpool.Pool) (int, error) {
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM documents WHERE kind IS NOT NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("vault: clear kinds: %w", err)
	}
	return n, nil
}

// ValidateSealedKinds records in the schema that no document keeps its kind in clear
// (the constraint documents_kind_sealed of migration 9, until then checked only on new
// and changed rows). It does nothing while clear kinds remain, or once done.
func ValidateSealedKinds(ctx context.Context, db *pgxpool.Pool) error {
	var pending bool
	err := db.QueryRow(ctx, `SELECT NOT convalidated AND NOT EXISTS (SELECT 1 FROM documents WHERE kind IS NOT NULL)
		FROM pg_constraint WHERE conname = 'documents_kind_sealed' AND conrelid = 'documents'::regclass`).Scan(&pending)
	if err != nil {
		return fmt.Errorf("vault: validate sealed kinds: %w", err)
	}
	if !pending {
		return nil
	}
	if _, err := db.Exec(ctx, `ALTER TABLE documents VALIDATE CONSTRAINT documents_kind_sealed`); err != nil {
		return fmt.Errorf("vault: validate sealed kinds: %w", err)
	}
	return nil
}

// UnindexedDocuments counts the current documents that have no term in the blind index:
// deposited before migration 14, and not yet indexed by IndexDocuments.
func UnindexedDocuments(ctx context.Context, db *pgxpool.Pool) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM documents d WHERE d.deleted_at IS NULL AND d.kind_sealed IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM search_terms s WHERE s.document_id = d.id)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("vault: unindexed documents: %w", err)
	}
	return n, nil
}

// eraseDocuments empties, inside tx, every document row of owner, marking each deleted
// and purged at now if it was not already: the rows stay for the journal to point to.
func eraseDocuments(ctx context.Context, tx pgx.Tx, owner uuid.UUID, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE documents SET kind = NULL, kind_sealed = '', title_sealed = '', issued_on = NULL, expires_on = NULL,
				deleted_at = coalesce(deleted_at, $2), purged_at = coalesce(purged_at, $2)
			WHERE owner_id = $1`, owner, now)
	return err
}

// documentsWithTexts returns, inside tx, owner's current documents that have a text read.
func documentsWithTexts(ctx context.Context, tx pgx.Tx, owner uuid.UUID) ([]uuid.UUID, error) {
	rows, err := tx.Query(ctx, `SELECT d.id FROM documents d JOIN document_texts t ON t.document_id = d.id
		WHERE t.owner_id = $1 AND d.owner_id = $1 AND d.deleted_at IS NULL ORDER BY d.id`, owner)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// exportDocumentRows queries, inside tx, owner's current documents oldest first
// (documentColumns), and holds them (FOR KEY SHARE) until tx ends.
func exportDocumentRows(ctx context.Context, tx pgx.Tx, owner uuid.UUID) (pgx.Rows, error) {
	return tx.Query(ctx, `SELECT `+documentColumns+` FROM documents
		WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY created_at, id FOR KEY SHARE`, owner)
}

// clearKindRows queries and locks, inside tx, at most limit documents whose kind is in
// clear (id, owner_id, kind).
func clearKindRows(ctx context.Context, tx pgx.Tx, limit int) (pgx.Rows, error) {
	return tx.Query(ctx, `SELECT id, owner_id, kind FROM documents WHERE kind IS NOT NULL
			ORDER BY id LIMIT $1 FOR UPDATE`, limit)
}

// sealDocumentKind replaces, inside tx, the clear kind of document doc by sealed.
func sealDocumentKind(ctx context.Context, tx pgx.Tx, doc uuid.UUID, sealed []byte) error {
	_, err := tx.Exec(ctx, `UPDATE documents SET kind = NULL, kind_sealed = $2 WHERE id = $1`, doc, sealed)
	return err
}

// summaryRows queries owner's current documents, newest first, as summaries with their
// kinds and titles sealed (id, kind, title, issued, expires, created, has a thumbnail).
func summaryRows(ctx context.Context, q dbtx, owner uuid.UUID) (pgx.Rows, error) {
	return q.Query(ctx, `
		SELECT d.id, d.kind_sealed, d.title_sealed, d.issued_on, d.expires_on, d.created_at,
			EXISTS (SELECT 1 FROM blobs b WHERE b.document_id = d.id AND b.owner_id = d.owner_id AND b.role = 'thumbnail')
		FROM documents d WHERE d.owner_id = $1 AND d.deleted_at IS NULL
		ORDER BY d.created_at DESC, d.id`, owner)
}

// proofRows queries the sealed proofs (id, proof_sealed) of owner's current documents ids
// that have one.
func proofRows(ctx context.Context, q dbtx, owner uuid.UUID, ids []uuid.UUID) (pgx.Rows, error) {
	return q.Query(ctx, `SELECT id, proof_sealed FROM documents
		WHERE owner_id = $1 AND id = ANY($2) AND deleted_at IS NULL AND proof_sealed IS NOT NULL`, owner, ids)
}

// isCurrentDocument says whether doc is a current (not deleted) document of owner.
func isCurrentDocument(ctx context.Context, q dbtx, owner, doc uuid.UUID) (bool, error) {
	var mine bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM documents WHERE owner_id = $1 AND id = $2 AND deleted_at IS NULL)`, owner, doc).Scan(&mine)
	return mine, err
}

// ownersExpiringBetween returns the open safes with a current paper that expires between
// from and to, both included (documents_expiry_idx).
func ownersExpiringBetween(ctx context.Context, q dbtx, from, to time.Time) ([]uuid.UUID, error) {
	rows, err := q.Query(ctx, `
		SELECT DISTINCT d.owner_id FROM documents d JOIN owners o ON o.id = d.owner_id
		WHERE d.deleted_at IS NULL AND d.expires_on IS NOT NULL AND d.expires_on >= $1 AND d.expires_on <= $2
			AND o.open`, from, to)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// foundRows queries, newest first and at most limit, owner's current documents whose
// terms in the blind index cover all of a search's words: masks[i] is the mask of the
// words terms[i] stands for (terms are distinct), all the mask of every word. It gives
// summaryRows' columns and the total found.
func foundRows(ctx context.Context, q dbtx, owner uuid.UUID, terms [][]byte, masks []int32, all int32, limit int) (pgx.Rows, error) {
	return q.Query(ctx, `
		SELECT d.id, d.kind_sealed, d.title_sealed, d.issued_on, d.expires_on, d.created_at,
			EXISTS (SELECT 1 FROM blobs b WHERE b.document_id = d.id AND b.owner_id = d.owner_id AND b.role = 'thumbnail'),
			count(*) OVER ()
		FROM documents d
		WHERE d.owner_id = $1 AND d.deleted_at IS NULL AND d.id IN (
			SELECT document_id FROM search_terms WHERE owner_id = $1 AND term = ANY($2)
			GROUP BY document_id HAVING bit_or(($5::int[])[array_position($2, term)]) = $3)
		ORDER BY d.created_at DESC, d.id
		LIMIT $4`, owner, terms, all, limit, masks)
}

// unindexedDocumentRows queries and locks, inside tx, at most limit current documents
// after after with no term in the blind index (id, owner_id, kind_sealed, title_sealed),
// skipping those another process holds.
func unindexedDocumentRows(ctx context.Context, tx pgx.Tx, after uuid.UUID, limit int) (pgx.Rows, error) {
	return tx.Query(ctx, `SELECT d.id, d.owner_id, d.kind_sealed, d.title_sealed FROM documents d
			WHERE d.deleted_at IS NULL AND d.id > $1 AND d.kind_sealed IS NOT NULL
				AND NOT EXISTS (SELECT 1 FROM search_terms s WHERE s.document_id = d.id)
			ORDER BY d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED`, after, limit)
}

// nextDocumentToPurge locks, inside tx, the document deleted longest ago, before now less
// after, and not purged yet, skipping those another process holds; pgx.ErrNoRows when none.
func nextDocumentToPurge(ctx context.Context, tx pgx.Tx, after time.Duration, now time.Time) (doc, owner uuid.UUID, err error) {
	err = tx.QueryRow(ctx, `
				SELECT id, owner_id FROM documents
				WHERE deleted_at IS NOT NULL AND purged_at IS NULL AND deleted_at < $2::timestamptz - $1::interval
				ORDER BY deleted_at LIMIT 1 FOR UPDATE SKIP LOCKED`, after, now).Scan(&doc, &owner)
	return doc, owner, err
}

// markDocumentPurged keeps, inside tx, of document doc only a row without title, purged at now.
func markDocumentPurged(ctx context.Context, tx pgx.Tx, doc uuid.UUID, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE documents SET purged_at = $2, title_sealed = '' WHERE id = $1`, doc, now)
	return err
}
