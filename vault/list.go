package vault

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Summary is what a list shows of a document: no blobs, only whether it has a thumbnail.
type Summary struct {
	ID           uuid.UUID
	Kind         Kind
	Title        string
	IssuedOn     *time.Time
	ExpiresOn    *time.Time
	CreatedAt    time.Time
	HasThumbnail bool
}

// Shelf is one kind of paper in an owner's safe: how many there are, and the most recent.
type Shelf struct {
	Kind  Kind
	Total int
	Docs  []Summary
}

const summaryColumns = `d.id, d.kind, d.title_sealed, d.issued_on, d.expires_on, d.created_at,
	EXISTS (SELECT 1 FROM blobs b WHERE b.document_id = d.id AND b.owner_id = d.owner_id AND b.role = 'thumbnail')`

// Shelves returns, for each kind the owner has, in the order of Kinds, the number of
// documents and the perKind most recent ones; and the documents that expire before
// expiringBefore (at most 20, soonest first). One round trip: the list page of an owner
// with a thousand papers stays as fast as one with ten, and as light on a phone.
func (v *Vault) Shelves(ctx context.Context, owner uuid.UUID, perKind int, expiringBefore time.Time) ([]Shelf, []Summary, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: shelves: %w", err)
	}
	batch := &pgx.Batch{}
	batch.Queue(`
		SELECT `+summaryColumns+`, d.total FROM (
			SELECT id, owner_id, kind, title_sealed, issued_on, expires_on, created_at,
				row_number() OVER (PARTITION BY kind ORDER BY created_at DESC, id) AS n,
				count(*) OVER (PARTITION BY kind) AS total
			FROM documents WHERE owner_id = $1 AND deleted_at IS NULL
		) d WHERE d.n <= $2 ORDER BY d.kind, d.n`, owner, perKind)
	batch.Queue(`
		SELECT `+summaryColumns+` FROM documents d
		WHERE d.owner_id = $1 AND d.deleted_at IS NULL AND d.expires_on IS NOT NULL AND d.expires_on < $2
		ORDER BY d.expires_on, d.id LIMIT 20`, owner, expiringBefore)
	br := v.db.SendBatch(ctx, batch)
	defer br.Close()

	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("vault: shelves: %w", err)
	}
	byKind := map[Kind]*Shelf{}
	for rows.Next() {
		var s Summary
		var sealed []byte
		var total int
		if err := rows.Scan(&s.ID, &s.Kind, &sealed, &s.IssuedOn, &s.ExpiresOn, &s.CreatedAt, &s.HasThumbnail, &total); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("vault: shelves: %w", err)
		}
		if err := openSummary(&s, owner, dataKey, sealed); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("vault: shelves: %w", err)
		}
		sh := byKind[s.Kind]
		if sh == nil {
			sh = &Shelf{Kind: s.Kind, Total: total}
			byKind[s.Kind] = sh
		}
		sh.Docs = append(sh.Docs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("vault: shelves: %w", err)
	}
	var shelves []Shelf
	for _, k := range Kinds {
		if sh := byKind[k]; sh != nil {
			shelves = append(shelves, *sh)
		}
	}
	rows, err = br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("vault: expiring: %w", err)
	}
	expiring, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Summary, error) {
		var s Summary
		var sealed []byte
		if err := row.Scan(&s.ID, &s.Kind, &sealed, &s.IssuedOn, &s.ExpiresOn, &s.CreatedAt, &s.HasThumbnail); err != nil {
			return s, err
		}
		return s, openSummary(&s, owner, dataKey, sealed)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("vault: expiring: %w", err)
	}
	return shelves, expiring, nil
}

// DocumentsOfKind lists all of owner's documents of one kind, newest first, at most limit.
func (v *Vault) DocumentsOfKind(ctx context.Context, owner uuid.UUID, kind Kind, limit int) ([]Summary, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: documents of kind %s: %w", kind, err)
	}
	rows, err := v.db.Query(ctx, `SELECT `+summaryColumns+` FROM documents d
		WHERE d.owner_id = $1 AND d.kind = $2 AND d.deleted_at IS NULL
		ORDER BY d.created_at DESC, d.id LIMIT $3`, owner, kind, limit)
	if err != nil {
		return nil, fmt.Errorf("vault: documents of kind %s: %w", kind, err)
	}
	docs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Summary, error) {
		var s Summary
		var sealed []byte
		if err := row.Scan(&s.ID, &s.Kind, &sealed, &s.IssuedOn, &s.ExpiresOn, &s.CreatedAt, &s.HasThumbnail); err != nil {
			return s, err
		}
		return s, openSummary(&s, owner, dataKey, sealed)
	})
	if err != nil {
		return nil, fmt.Errorf("vault: documents of kind %s: %w", kind, err)
	}
	return docs, nil
}

func openSummary(s *Summary, owner uuid.UUID, dataKey, sealed []byte) error {
	t, err := open(dataKey, sealed, titleAD(owner, s.ID))
	if err != nil {
		return fmt.Errorf("document %s title: %w", s.ID, err)
	}
	s.Title = string(t)
	s.CreatedAt = s.CreatedAt.UTC()
	return nil
}
