package vault

import (
	"context"

	"github.com/google/uuid"
)

// QueryTerms returns the terms Search looks up for query in owner's index, for the
// benchmark that times the indexed query alone.
func QueryTerms(ctx context.Context, v *Vault, owner uuid.UUID, query string) ([][]byte, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, err
	}
	return terms(searchKey(dataKey), searchWords(query)), nil
}
