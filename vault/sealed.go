package vault

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Seal encrypts personal metadata that another package stores for owner (a link's
// purpose, a mandate's note…) with the owner's data key. place names where the value
// lives (say "link-purpose:" + link ID): a sealed value only opens at its place.
func (v *Vault) Seal(ctx context.Context, owner uuid.UUID, plaintext []byte, place string) ([]byte, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: seal: %w", err)
	}
	return seal(dataKey, plaintext, owner.String()+":"+place)
}

// Unseal opens what Seal sealed for owner at place.
func (v *Vault) Unseal(ctx context.Context, owner uuid.UUID, sealed []byte, place string) ([]byte, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: unseal: %w", err)
	}
	return open(dataKey, sealed, owner.String()+":"+place)
}

// DocumentsIn returns those of ids that are owner's current documents, newest first;
// the others (deleted, someone else's, unknown) are left out without error.
func (v *Vault) DocumentsIn(ctx context.Context, owner uuid.UUID, ids []uuid.UUID) ([]Document, error) {
	return v.listDocuments(ctx, owner, `AND id = ANY($2)`, ids)
}

// RecordTx appends an event to owner's journal inside another package's transaction, so
// that a change and its journal entry commit together.
func (v *Vault) RecordTx(ctx context.Context, tx pgx.Tx, owner uuid.UUID, ev Event) error {
	dataKey, err := v.privateKey(ctx, owner, ev)
	if err != nil {
		return err
	}
	_, err = appendSealed(ctx, tx, owner, ev, dataKey)
	return err
}
