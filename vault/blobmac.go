package vault

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// A blob row says which object holds which file of which document, and what its
// plaintext's SHA-256 is. All of that sits in clear in PostgreSQL, so each row carries an
// HMAC-SHA256 of it under a key derived from the owner's data key, which the database
// only holds wrapped to the master key: whoever can write to the database alone cannot
// re-point a row at another object, change its hash and size, swap roles or positions,
// or move it to another document, without the row failing its check on the next read.

// blobMACKey derives the key of an owner's blob MACs from their data key, so that the
// data key itself is never used for two purposes.
func blobMACKey(dataKey []byte) []byte {
	k, err := hkdf.Key(sha256.New, dataKey, nil, "coffre blob rows v1", sha256.Size)
	if err != nil {
		panic(err) // only for an output longer than HKDF allows
	}
	return k
}

// blobMAC authenticates what a row says of a blob: owner, document, blob, role, position,
// media type, size and SHA-256, in a fixed order of length-prefixed fields, and the MAC
// of its object's age header when the row has one. A row with a header MAC is
// authenticated under another label, so that clearing the column in the database fails
// the row's MAC rather than turning the object's check off; rows written before header
// MACs keep the first label and still verify.
func blobMAC(dataKey []byte, owner, doc uuid.UUID, b *Blob) []byte {
	m := make([]byte, 0, 200)
	if len(b.headerMAC) == 0 {
		m = append(m, "coffre-blob-v1"...)
	} else {
		m = append(m, "coffre-blob-v2"...)
	}
	m = append(m, owner[:]...)
	m = append(m, doc[:]...)
	m = append(m, b.ID[:]...)
	for _, s := range []string{string(b.Role), b.MediaType, string(b.SHA256)} {
		m = binary.BigEndian.AppendUint32(m, uint32(len(s)))
		m = append(m, s...)
	}
	m = binary.BigEndian.AppendUint64(m, uint64(int64(b.Position)))
	m = binary.BigEndian.AppendUint64(m, uint64(b.Size))
	if len(b.headerMAC) > 0 {
		m = binary.BigEndian.AppendUint32(m, uint32(len(b.headerMAC)))
		m = append(m, b.headerMAC...)
	}
	h := hmac.New(sha256.New, blobMACKey(dataKey))
	h.Write(m)
	return h.Sum(nil)
}

// checkBlob verifies a blob row read from the database. A row without a MAC, or whose MAC
// does not match, is an ErrIntegrity error, journaled in the owner's history like a file
// that fails its SHA-256: nothing of it may be served, listed or signed for.
func (v *Vault) checkBlob(ctx context.Context, owner uuid.UUID, dataKey []byte, doc uuid.UUID, b *Blob, mac []byte) error {
	if blobRowOK(dataKey, owner, doc, b, mac) {
		return nil
	}
	v.integrityFailed(ctx, owner, doc, b.ID, "blob row failed its MAC")
	return fmt.Errorf("vault: blob %s: the row does not match its MAC: %w", b.ID, ErrIntegrity)
}

// blobRowOK tells whether mac is the MAC of what b's row says.
func blobRowOK(dataKey []byte, owner, doc uuid.UUID, b *Blob, mac []byte) bool {
	return len(mac) == sha256.Size && hmac.Equal(mac, blobMAC(dataKey, owner, doc, b))
}

// integrityFailed journals a failed integrity check in the owner's history and logs it.
func (v *Vault) integrityFailed(ctx context.Context, owner, doc, blob uuid.UUID, what string) {
	err := v.Record(context.WithoutCancel(ctx), owner, Event{Actor: System, Action: ActionIntegrity, DocumentID: doc})
	if err != nil {
		v.log.Error("journal integrity failure", "blob", blob, "err", err)
	}
	v.log.Error(what, "owner", owner, "blob", blob)
}

// ActionBlobsAuthenticated, in the service's chain, records that the blob rows written
// before blob MACs existed got theirs. It is written once: rows that lack a MAC after it
// are refused, never authenticated.
const ActionBlobsAuthenticated Action = "blobs_authenticated"

// authenticateOldBlobs gives a MAC to the blob rows written before migration 00008, once
// per database, at the first start of a vault that holds the master key. The rows are
// trusted as they are at that moment; the journal entry that closes the step makes
// running it again require rewriting the service's chain, which VerifyJournal reports.
func (v *Vault) authenticateOldBlobs(ctx context.Context) error {
	done, err := hasEntry(ctx, v.db, SystemChain, ActionBlobsAuthenticated)
	if err != nil {
		return fmt.Errorf("vault: authenticate blob rows: %w", err)
	}
	if done {
		var missing int
		if err := v.db.QueryRow(ctx, countBlobsWithoutMAC).Scan(&missing); err != nil {
			return fmt.Errorf("vault: authenticate blob rows: %w", err)
		}
		if missing > 0 {
			v.log.Error("blob rows without a MAC: they are refused; the database was changed behind the service", "count", missing)
		}
		return nil
	}
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		// Several processes may start at once: one works, the others wait and find it done.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('coffre-blob-macs'))`); err != nil {
			return err
		}
		var err error
		if done, err = hasEntry(ctx, tx, SystemChain, ActionBlobsAuthenticated); err != nil || done {
			return err
		}
		rows, err := blobsWithoutMACRows(ctx, tx)
		if err != nil {
			return err
		}
		type row struct {
			owner, doc uuid.UUID
			b          Blob
		}
		old, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.owner, &x.doc, &x.b.ID, &x.b.Role, &x.b.Position, &x.b.MediaType, &x.b.Size, &x.b.SHA256)
		})
		if err != nil {
			return err
		}
		batch := &pgx.Batch{}
		for _, x := range old {
			_, dataKey, err := v.ownerKeysIn(ctx, tx, x.owner)
			if errors.Is(err, ErrShredded) {
				continue // nothing of theirs can be read any more
			}
			if err != nil {
				return err
			}
			queueBlobMAC(batch, x.b.ID, blobMAC(dataKey, x.owner, x.doc, &x.b))
		}
		if batch.Len() > 0 {
			if err := tx.SendBatch(ctx, batch).Close(); err != nil {
				return err
			}
		}
		_, err = appendEntry(ctx, tx, SystemChain, Event{Actor: System, Action: ActionBlobsAuthenticated, Detail: strconv.Itoa(len(old))})
		if len(old) > 0 {
			v.log.Info("blob rows authenticated", "count", len(old))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("vault: authenticate blob rows: %w", err)
	}
	return nil
}
