package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// A blob row written before migration 00020 has no header MAC: another of the owner's
// objects of the same length copied over its own is told apart only by the SHA-256 at
// the end of a read. BindOldBlobs gives such rows their header MAC, in the background,
// after reading their object whole through a read's checks: once bound, a row is read as
// a new one is, and a swapped object is refused before any byte.

// bindOldBudget bounds the plaintext one run of BindOldBlobs reads: it stops taking rows
// once it has read this much (so a run reads at most this and one object more).
const bindOldBudget = 64 << 20

// bindOldState is what BindOldBlobs remembers between runs, for the life of the process.
type bindOldState struct {
	mu sync.Mutex // held by a run: runs in one process follow each other
	// done is set once a run found every row it may bind bound or failed: no new row
	// lacks a header MAC, so there is nothing more to look for.
	done bool
}

// oldBlob is a row without a header MAC, as unboundBlobRows gives it.
type oldBlob struct {
	owner, doc uuid.UUID
	b          Blob
	mac        []byte
}

// BindOldBlobs takes up to limit blob rows written without their object's header MAC,
// reads each object whole with its owner's identity (every chunk authenticated, the size
// and SHA-256 compared with the row's, the plaintext hashed and dropped), and, only if the
// object is the row's, records its header MAC and the row's new MAC, as a deposit would.
// It is the service checking its own store, not an access to a paper: nothing is
// journaled but a failure. A row whose object fails (missing, of another size, failing
// its authentication or its SHA-256), or whose MAC fails, is left unbound and marked, so
// that no run, of this process or another, tries it again; the mark commits with an
// integrity failure in its owner's history, so that the failure is journaled exactly
// once, and counted in failed. Rows of deleted documents and of erased safes are left
// alone. An error is the database's or the blob store's (a run starts only if the store
// answers, so that a store misconfigured, whose objects all seem missing, marks nothing):
// the rows bound or marked until then stay so.
func (v *Vault) BindOldBlobs(ctx context.Context, limit int) (bound, failed int, err error) {
	st := &v.bindOld
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done || limit <= 0 {
		return 0, 0, nil
	}
	if err := v.blobs.Ping(ctx); err != nil {
		return 0, 0, fmt.Errorf("vault: bind old blobs: %w", err)
	}
	rows, err := unboundBlobRows(ctx, v.db, limit)
	if err != nil {
		return 0, 0, fmt.Errorf("vault: bind old blobs: %w", err)
	}
	old, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (oldBlob, error) {
		var o oldBlob
		return o, r.Scan(&o.owner, &o.doc, &o.b.ID, &o.b.Role, &o.b.Position, &o.b.MediaType, &o.b.Size, &o.b.SHA256, &o.mac)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("vault: bind old blobs: %w", err)
	}
	complete := len(old) < limit
	var read int64
	for i := range old {
		o := &old[i]
		if read >= bindOldBudget {
			complete = false
			break
		}
		read += o.b.Size
		ok, err := v.bindOldBlob(ctx, o)
		switch {
		case errors.Is(err, ErrIntegrity):
			marked, err := v.bindFailed(ctx, o)
			if err != nil {
				return bound, failed, fmt.Errorf("vault: bind old blob %s: %w", o.b.ID, err)
			}
			if marked {
				failed++
			}
		case errors.Is(err, ErrShredded):
			// Erased since the query: its rows are gone or going, with its keys.
		case err != nil:
			return bound, failed, fmt.Errorf("vault: bind old blob %s: %w", o.b.ID, err)
		case ok:
			bound++
		default:
			complete = false // the row changed meanwhile: the next run looks again
		}
	}
	st.done = complete
	return bound, failed, nil
}

// bindOldBlob checks o's row and reads its object through openBlob, as a read does but
// without an access, then binds the row to the object. An ErrIntegrity error is not
// journaled yet: bindFailed does it.
func (v *Vault) bindOldBlob(ctx context.Context, o *oldBlob) (bool, error) {
	identity, dataKey, err := v.ownerKeys(ctx, o.owner)
	if err != nil {
		return false, err
	}
	// A row changed in the database must not be given a new MAC over its changes.
	if !blobRowOK(dataKey, o.owner, o.doc, &o.b, o.mac) {
		return false, fmt.Errorf("the row does not match its MAC: %w", ErrIntegrity)
	}
	f := v.fetchAs(ctx, o.b.ID, identity)
	r, err := v.openBlob(ctx, &BlobReader{Blob: o.b, Document: o.doc, onError: func(error) {}}, f, o.owner, o.doc, o.b.ID)
	if err != nil {
		return false, err
	}
	_, err = r.WriteTo(io.Discard)
	r.Close()
	if err != nil {
		return false, err
	}
	o.b.headerMAC = f.mac
	ok, err := bindBlobRow(ctx, v.db, o.b.ID, f.mac, blobMAC(dataKey, o.owner, o.doc, &o.b), o.mac)
	if err != nil {
		return false, err
	}
	return ok, nil
}

// bindFailed marks o's row as failed and journals the failure in its owner's history, in
// one transaction: both or neither, and neither if another process marked or bound the
// row first. It tells whether it did.
func (v *Vault) bindFailed(ctx context.Context, o *oldBlob) (bool, error) {
	var marked bool
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		var err error
		if marked, err = markBindFailed(ctx, tx, o.b.ID, v.now()); err != nil || !marked {
			return err
		}
		_, err = appendEntry(ctx, tx, o.owner, Event{Actor: System, Action: ActionIntegrity, DocumentID: o.doc})
		return err
	})
	if err != nil {
		return false, err
	}
	if marked {
		v.log.Error("blob written before header MACs failed its check; left unbound", "owner", o.owner, "blob", o.b.ID)
	}
	return marked, nil
}
