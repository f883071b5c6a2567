package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"github.com/google/uuid"
)

// A paper of several pages can be built one photo at a time, page after page, on a
// phone without JavaScript (« Ajouter une page »): the pages taken wait on the server
// between two requests until the paper is sent. A waiting page is stored like a file of
// the safe, encrypted to its owner while it streams to the blob store under a random key
// (no byte of it touches a disk in clear), with the upload marker every upload gets and
// no blob row: it belongs to no document, no list shows it, no export carries it, and
// nothing counts it as a paper. The deposit that sends the paper reads the pages back
// (ReadPending) and then drops them (DropPending); pages never sent are deleted by the
// reaper once the upload grace has passed (ReapUploads, COFFRE_UPLOAD_GRACE), as an
// upload that never became part of a document. Where the pages are and what they must
// read back as (PendingPage) is kept by the caller, sealed for the owner.

// PendingPage is one page waiting to be sent: its object, and the size and SHA-256 of
// its plaintext, checked when it is read back.
type PendingPage struct {
	ID     uuid.UUID `json:"id"`
	Size   int64     `json:"size"`
	SHA256 []byte    `json:"sha256"`
}

// PutPending stores one page of a paper that owner is still building.
func (v *Vault) PutPending(ctx context.Context, owner uuid.UUID, body []byte) (PendingPage, error) {
	identity, _, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return PendingPage{}, fmt.Errorf("vault: put pending page: %w", err)
	}
	if err := v.CheckOpen(ctx, owner); err != nil {
		return PendingPage{}, fmt.Errorf("vault: put pending page: %w", err)
	}
	b, err := v.putBlob(ctx, identity.Recipient(), bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return PendingPage{}, fmt.Errorf("vault: put pending page: %w", err)
	}
	return PendingPage{ID: b.ID, Size: b.Size, SHA256: b.SHA256}, nil
}

// ReadPending reads back one of owner's waiting pages. A page that is gone (sent,
// dropped or reaped) and a page that is not owner's give ErrNotFound; a page that does
// not read back as it was stored gives ErrIntegrity.
func (v *Vault) ReadPending(ctx context.Context, owner uuid.UUID, p PendingPage) ([]byte, error) {
	identity, _, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: read pending page %s: %w", p.ID, err)
	}
	waiting, err := isWaitingUpload(ctx, v.db, p.ID)
	if err != nil {
		return nil, fmt.Errorf("vault: read pending page %s: %w", p.ID, err)
	}
	if !waiting {
		return nil, fmt.Errorf("vault: read pending page %s: %w", p.ID, ErrNotFound)
	}
	plain, closer, err := v.openPending(ctx, identity, p.ID)
	if err != nil {
		return nil, fmt.Errorf("vault: read pending page %s: %w", p.ID, err)
	}
	defer closer.Close()
	body, err := io.ReadAll(io.LimitReader(plain, p.Size+1))
	if err != nil {
		return nil, fmt.Errorf("vault: read pending page %s: %v: %w", p.ID, err, ErrIntegrity)
	}
	sum := sha256.Sum256(body)
	if int64(len(body)) != p.Size || subtle.ConstantTimeCompare(sum[:], p.SHA256) != 1 {
		return nil, fmt.Errorf("vault: read pending page %s: content does not match its SHA-256: %w", p.ID, ErrIntegrity)
	}
	return body, nil
}

// openPending opens a waiting page's object with the owner's identity: an object that is
// missing or encrypted to someone else gives ErrNotFound.
func (v *Vault) openPending(ctx context.Context, identity age.Identity, id uuid.UUID) (io.Reader, io.Closer, error) {
	src, err := v.blobs.Get(ctx, id.String())
	if errors.Is(err, ErrBlobNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	plain, err := age.Decrypt(src, identity)
	if err != nil {
		src.Close()
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, nil, ErrNotFound
		}
		return nil, nil, fmt.Errorf("%v: %w", err, ErrIntegrity)
	}
	return plain, src, nil
}

// DropPending deletes owner's waiting pages once their paper is in the safe (or the
// person took a page out). Pages that are gone already or not owner's are left alone.
// What cannot be deleted now stays claimed for the reaper.
func (v *Vault) DropPending(ctx context.Context, owner uuid.UUID, pages []PendingPage) error {
	identity, _, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return fmt.Errorf("vault: drop pending pages: %w", err)
	}
	var mine []uuid.UUID
	for _, p := range pages {
		// Only the owner's key opens the page: that is what makes it theirs.
		_, closer, err := v.openPending(ctx, identity, p.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("vault: drop pending page %s: %w", p.ID, err)
		}
		closer.Close()
		mine = append(mine, p.ID)
	}
	if len(mine) == 0 {
		return nil
	}
	claimed, err := claimUnreferencedUploads(ctx, v.db, mine)
	if err != nil {
		return fmt.Errorf("vault: drop pending pages: %w", err)
	}
	if _, err := v.dropObjects(ctx, claimed); err != nil {
		return fmt.Errorf("vault: drop pending pages: %w", err)
	}
	return nil
}
