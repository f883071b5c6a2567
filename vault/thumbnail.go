package vault

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// OpenThumbnail starts reading the thumbnail of one of owner's documents, for the owner's
// own list of papers. Unlike Open it journals nothing on success: a list showing forty
// thumbnails is one look at the list, not forty consultations, and the journal would
// drown the accesses that matter. A thumbnail that is not the owner's is still
// journaled as a failed attempt.
func (v *Vault) OpenThumbnail(ctx context.Context, owner, doc uuid.UUID, by Actor) (*BlobReader, error) {
	identity, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: open thumbnail %s: %w", doc, err)
	}
	r := &BlobReader{Document: doc}
	var mac []byte
	err = thumbnailRow(ctx, v.db, owner, doc).Scan(&r.ID, &r.Role, &r.Position, &r.MediaType, &r.Size, &r.SHA256, &r.CreatedAt, &mac, &r.headerMAC)
	if err != nil {
		err = notFound(err)
		if errors.Is(err, ErrNotFound) {
			v.deny(ctx, owner, doc, by)
		}
		return nil, fmt.Errorf("vault: open thumbnail %s: %w", doc, err)
	}
	if err := v.checkBlob(ctx, owner, dataKey, doc, &r.Blob, mac); err != nil {
		return nil, err
	}
	return v.openBlob(ctx, r, v.fetchAs(ctx, r.ID, identity), owner, doc, r.ID)
}
