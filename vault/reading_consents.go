package vault

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Journal actions of reading papers.
const (
	ActionReadingOn  Action = "reading_on"  // the owner asked the service to read their papers
	ActionReadingOff Action = "reading_off" // the owner stopped it: every text read was erased
	ActionRead       Action = "paper_read"  // the service read a paper's text (package web's Reader)
)

// ErrReadingOff: the owner has not asked for their papers to be read (or has stopped
// it): nothing read is kept.
var ErrReadingOff = errors.New("reading of papers is off")

// ReadsPapers tells whether owner asked the service to read their papers.
func (v *Vault) ReadsPapers(ctx context.Context, owner uuid.UUID) (bool, error) {
	var on bool
	err := v.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reading_consents WHERE owner_id = $1)`, owner).Scan(&on)
	if err != nil {
		return false, fmt.Errorf("vault: reads papers %s: %w", owner, err)
	}
	return on, nil
}

// SetReading turns the reading of owner's papers on or off, and journals the change;
// asking for what is already the case does nothing. Turning it on only records the
// consent: the caller queues the reading of the papers already in the safe. Turning it
// off deletes, in the same transaction, every text read and every suggestion made, and
// takes the texts' words out of the index; titles and kinds stay searchable. It is
// refused (ErrClosed) in a closed safe.
func (v *Vault) SetReading(ctx context.Context, owner uuid.UUID, by Actor, on bool) error {
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		if err := v.CheckOpenTx(ctx, tx, owner); err != nil {
			return err
		}
		if on {
			tag, err := tx.Exec(ctx, `INSERT INTO reading_consents (owner_id, since) VALUES ($1, $2) ON CONFLICT DO NOTHING`, owner, v.now())
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionReadingOn})
			return err
		}
		// Deleting the row waits for every reading being stored (StoreReading holds it
		// FOR SHARE): what they stored is then erased below.
		tag, err := tx.Exec(ctx, `DELETE FROM reading_consents WHERE owner_id = $1`, owner)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if err := v.eraseTextsTx(ctx, tx, owner); err != nil {
			return err
		}
		_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionReadingOff})
		return err
	})
	if err != nil {
		return fmt.Errorf("vault: set reading %s: %w", owner, err)
	}
	return nil
}

// OwnersToRead lists, at most limit, the owners of open safes who asked for their papers
// to be read and have papers not read yet: the background job's safety net, for a paper
// deposited while the owner's reading job was finishing, or a job lost with its process.
func (v *Vault) OwnersToRead(ctx context.Context, limit int) ([]uuid.UUID, error) {
	rows, err := v.db.Query(ctx, `SELECT c.owner_id FROM reading_consents c JOIN owners o ON o.id = c.owner_id
		WHERE o.open AND EXISTS (
			SELECT 1 FROM documents d WHERE d.owner_id = c.owner_id AND d.deleted_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM document_texts t WHERE t.document_id = d.id))
		ORDER BY c.since LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("vault: owners to read: %w", err)
	}
	owners, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("vault: owners to read: %w", err)
	}
	return owners, nil
}

// forgetReadingTx deletes, for the erasure of owner's safe, their consent, every text
// read and every term of the index.
func forgetReadingTx(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM reading_consents WHERE owner_id = $1`, owner); err != nil {
		return fmt.Errorf("forget reading: %w", err)
	}
	if err := forgetTextsTx(ctx, tx, owner); err != nil {
		return err
	}
	return forgetTermsTx(ctx, tx, owner)
}

// holdReadingConsent locks, inside tx, owner's consent to reading (FOR SHARE) until tx
// ends; pgx.ErrNoRows when the owner has not given it.
func holdReadingConsent(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	var one int
	return tx.QueryRow(ctx, `SELECT 1 FROM reading_consents WHERE owner_id = $1 FOR SHARE`, owner).Scan(&one)
}
