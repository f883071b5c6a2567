package vault

import (
	"bytes"
	"context"
	"fmt"
	"slices"
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

// summaryRow is a document as a list query returns it: metadata still sealed.
type summaryRow struct {
	Summary
	kind, title []byte
}

// summaries returns owner's current documents, newest first, with their kinds opened and
// their titles still sealed: a list opens only the titles it shows. kind, when not empty,
// keeps only the documents of that kind. The kind is sealed, so the filter runs here
// after decryption, not in SQL: an owner has hundreds of papers, not millions.
func (v *Vault) summaries(ctx context.Context, owner uuid.UUID, dataKey []byte, kind Kind) ([]summaryRow, error) {
	rows, err := summaryRows(ctx, v.db, owner)
	if err != nil {
		return nil, err
	}
	var out []summaryRow
	var r summaryRow
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.kind, &r.title, &r.IssuedOn, &r.ExpiresOn, &r.CreatedAt, &r.HasThumbnail}, func() error {
		k, err := openKind(dataKey, owner, r.ID, r.kind)
		if err != nil {
			return err
		}
		if kind != "" && k != kind {
			return nil
		}
		s := r
		s.Kind, s.CreatedAt = k, r.CreatedAt.UTC()
		out = append(out, s)
		return nil
	})
	return out, err
}

// open opens the title of a summary.
func (r *summaryRow) open(owner uuid.UUID, dataKey []byte) (Summary, error) {
	t, err := open(dataKey, r.title, titleAD(owner, r.ID))
	if err != nil {
		return Summary{}, fmt.Errorf("document %s title: %w", r.ID, err)
	}
	s := r.Summary
	s.Title = string(t)
	return s, nil
}

// Shelves returns, for each kind the owner has, in the order of Kinds, the number of
// documents and the perKind most recent ones; and the documents that expire before
// expiringBefore (at most 20, soonest first). One round trip, and only the titles shown
// are opened: the list page of an owner with a thousand papers stays light on a phone.
func (v *Vault) Shelves(ctx context.Context, owner uuid.UUID, perKind int, expiringBefore time.Time) ([]Shelf, []Summary, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: shelves: %w", err)
	}
	all, err := v.summaries(ctx, owner, dataKey, "")
	if err != nil {
		return nil, nil, fmt.Errorf("vault: shelves: %w", err)
	}
	byKind := map[Kind]*Shelf{}
	var soon []*summaryRow
	for i := range all {
		r := &all[i]
		sh := byKind[r.Kind]
		if sh == nil {
			sh = &Shelf{Kind: r.Kind}
			byKind[r.Kind] = sh
		}
		sh.Total++
		if len(sh.Docs) < perKind {
			s, err := r.open(owner, dataKey)
			if err != nil {
				return nil, nil, fmt.Errorf("vault: shelves: %w", err)
			}
			sh.Docs = append(sh.Docs, s)
		}
		if r.ExpiresOn != nil && r.ExpiresOn.Before(expiringBefore) {
			soon = append(soon, r)
		}
	}
	var shelves []Shelf
	for _, k := range Kinds {
		if sh := byKind[k]; sh != nil {
			shelves = append(shelves, *sh)
		}
	}
	slices.SortFunc(soon, func(a, b *summaryRow) int {
		if c := a.ExpiresOn.Compare(*b.ExpiresOn); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	expiring := []Summary{}
	for _, r := range soon[:min(len(soon), 20)] {
		s, err := r.open(owner, dataKey)
		if err != nil {
			return nil, nil, fmt.Errorf("vault: expiring: %w", err)
		}
		expiring = append(expiring, s)
	}
	return shelves, expiring, nil
}

// DocumentsOfKind lists all of owner's documents of one kind, newest first, at most limit.
func (v *Vault) DocumentsOfKind(ctx context.Context, owner uuid.UUID, kind Kind, limit int) ([]Summary, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: documents of kind %s: %w", kind, err)
	}
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, fmt.Errorf("vault: documents of kind: %w", err)
	}
	all, err := v.summaries(ctx, owner, dataKey, kind)
	if err != nil {
		return nil, fmt.Errorf("vault: documents of kind %s: %w", kind, err)
	}
	docs := make([]Summary, 0, min(len(all), limit))
	for i := range all[:min(len(all), max(limit, 0))] {
		s, err := all[i].open(owner, dataKey)
		if err != nil {
			return nil, fmt.Errorf("vault: documents of kind %s: %w", kind, err)
		}
		docs = append(docs, s)
	}
	return docs, nil
}
