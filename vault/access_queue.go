package vault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Every access is journaled, and committed, before its first byte leaves. An owner's
// chain takes one append at a time (its head row is locked until the commit), so when
// many accesses to one safe come at once — a téléservice fetching a person's papers in
// parallel, a counter where several people open the same link — each would wait for all
// the commits before it, holding a database connection meanwhile. Instead, the accesses
// that arrive while one of the owner's commits is under way wait together and are
// journaled by the next transaction, in one append: a commit per burst, not per access.
// Each caller still returns only once its own entry is committed.

// accessTimeout bounds one transaction journaling a batch of accesses; the callers'
// contexts cannot, since the batch outlives any one of them.
const accessTimeout = 30 * time.Second

type accessQueue struct {
	mu     sync.Mutex
	owners map[uuid.UUID][]*pendingAccess // waiting accesses of owners with a batch under way
}

type pendingAccess struct {
	ctx  context.Context
	doc  uuid.UUID
	blob *Blob
	// row, if set, is read in the transaction's first round trip into blob, and must be
	// there and authentic for the access to be journaled; otherwise blob is already read.
	row *blobRow
	a   Access
	// dataKey seals the entry's private detail (Access.Private); every access of a batch
	// is to one owner, so one key serves the batch.
	dataKey []byte
	done    chan error
}

// journalAccess journals one access to owner's doc, with what must commit with it
// (a.Within), and returns once it is committed or has failed. With row, the blob's row
// is read and authenticated in the same transaction, into blob; a row missing gives
// ErrNotFound, one failing its MAC ErrIntegrity, and nothing is journaled (the caller
// journals the failed attempt).
func (v *Vault) journalAccess(ctx context.Context, owner, doc uuid.UUID, blob *Blob, row *blobRow, a Access, dataKey []byte) error {
	p := &pendingAccess{ctx: ctx, doc: doc, blob: blob, row: row, a: a, dataKey: dataKey, done: make(chan error, 1)}
	q := &v.accesses
	q.mu.Lock()
	waiting, busy := q.owners[owner]
	q.owners[owner] = append(waiting, p)
	q.mu.Unlock()
	if !busy {
		go v.drainAccesses(owner)
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// The entry may still be committed: an access journaled whose bytes never left
		// is a trace too many, never one missing.
		return ctx.Err()
	}
}

// drainAccesses journals owner's waiting accesses, a batch per transaction, until none
// is left.
func (v *Vault) drainAccesses(owner uuid.UUID) {
	q := &v.accesses
	for {
		q.mu.Lock()
		batch := q.owners[owner]
		if len(batch) == 0 {
			delete(q.owners, owner)
			q.mu.Unlock()
			return
		}
		q.owners[owner] = batch[:0:0]
		q.mu.Unlock()
		v.commitAccesses(owner, batch)
	}
}

// commitAccesses journals a batch in one transaction. If anything in it fails (a link
// whose last download one of them took, say), each is retried in a transaction of its
// own, so that the others are not refused for it and each gets its own answer.
func (v *Vault) commitAccesses(owner uuid.UUID, batch []*pendingAccess) {
	live := batch[:0]
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.done <- err
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	if len(live) > 1 {
		err := v.commitBatch(owner, live)
		if err == nil {
			for _, p := range live {
				p.done <- nil
			}
			return
		}
	}
	for _, p := range live {
		p.done <- v.commitBatch(owner, []*pendingAccess{p})
	}
}

// commitBatch journals a batch of accesses, with their requirements, in two round
// trips whatever its size: the transaction's start, the requirements and the lock of the
// chain head go in one, the entries and the commit in the other. A chain not started
// yet takes the ordinary path (appendEvents).
func (v *Vault) commitBatch(owner uuid.UUID, batch []*pendingAccess) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), accessTimeout)
	defer cancel()
	evs := make([]Event, len(batch))
	es := make([]*Entry, len(batch))
	first := &pgx.Batch{}
	first.Queue(`BEGIN`)
	var rows []*blobRow
	for _, p := range batch {
		if p.row != nil {
			p.row.queue(first)
			rows = append(rows, p.row)
		}
	}
	var refusals []error
	for i, p := range batch {
		if p.a.Require != nil {
			if req := p.a.Require(p.blob); req != nil {
				first.Queue(req.SQL, req.Args...)
				refusals = append(refusals, req.Refused)
			}
		}
		evs[i] = Event{Actor: p.a.Actor, Action: p.a.Action, DocumentID: p.doc, Detail: p.a.Detail, Private: p.a.Private}
		e, err := newEntry(owner, evs[i], p.dataKey)
		if err != nil {
			return err
		}
		es[i] = e
	}
	first.Queue(lockHead, owner)
	conn, err := v.db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	seq, prev, err := requireAndLock(ctx, conn, first, rows, refusals)
	if err != nil {
		// A connection left inside a transaction is closed by the pool on release.
		conn.Exec(ctx, `ROLLBACK`) //nolint:errcheck // the error that matters is err
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			for _, p := range batch {
				if p.row != nil {
					if err := p.row.read(tx.QueryRow(ctx, blobRowSQL, p.row.args()...)); err != nil {
						return err
					}
				}
				if p.a.Require != nil {
					if req := p.a.Require(p.blob); req != nil {
						if err := require(ctx, tx, req); err != nil {
							return err
						}
					}
				}
			}
			_, err := appendEvents(ctx, tx, owner, evs, batch[0].dataKey)
			return err
		})
	}
	second := &pgx.Batch{}
	queueEntries(second, owner, es, seq, prev)
	second.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, second).Close(); err != nil {
		conn.Exec(ctx, `ROLLBACK`) //nolint:errcheck // as above
		return fmt.Errorf("journal: append: %w", err)
	}
	return nil
}

// requireAndLock sends the first round trip of commitBatch and reads its answers: the
// blob rows, each requirement changed one row, and the chain head.
func requireAndLock(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch, rows []*blobRow, refusals []error) (seq int64, prev []byte, err error) {
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return 0, nil, err
	}
	for _, r := range rows {
		if err := r.read(br.QueryRow()); err != nil {
			return 0, nil, err
		}
	}
	for _, refused := range refusals {
		tag, err := br.Exec()
		if err != nil {
			return 0, nil, err
		}
		if tag.RowsAffected() != 1 {
			return 0, nil, refused
		}
	}
	if err := br.QueryRow().Scan(&seq, &prev); err != nil {
		return 0, nil, err
	}
	return seq, prev, br.Close()
}

// require runs one requirement in tx.
func require(ctx context.Context, tx pgx.Tx, req *Requirement) error {
	tag, err := tx.Exec(ctx, req.SQL, req.Args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return req.Refused
	}
	return nil
}

// blobRow reads the row of a blob opened by its owner (or in their name) and checks its
// MAC, without journaling anything: the caller journals a failure once the transaction
// is over.
type blobRow struct {
	owner, doc, blob uuid.UUID
	dataKey          []byte
	into             *Blob
}

var (
	errNoBlobRow  = fmt.Errorf("no such blob: %w", ErrNotFound)
	errBlobRowMAC = fmt.Errorf("the blob row does not match its MAC: %w", ErrIntegrity)
)

func (r *blobRow) args() []any { return []any{r.owner, r.doc, r.blob} }

func (r *blobRow) queue(b *pgx.Batch) { b.Queue(blobRowSQL, r.args()...) }

func (r *blobRow) read(row pgx.Row) error {
	b := r.into
	var mac []byte
	err := row.Scan(&b.ID, &b.Role, &b.Position, &b.MediaType, &b.Size, &b.SHA256, &b.CreatedAt, &mac, &b.headerMAC)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return errNoBlobRow
	case err != nil:
		return err
	case len(mac) != sha256.Size || !hmac.Equal(mac, blobMAC(r.dataKey, r.owner, r.doc, b)):
		return errBlobRowMAC
	}
	return nil
}
