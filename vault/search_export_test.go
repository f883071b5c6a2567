package vault

import (
	"context"

	"github.com/google/uuid"
)

// QueryTerms returns the terms Search looks up for query in owner's index, the mask of
// the words each stands for, and the mask of all of them, for the benchmark that times
// the indexed query alone.
func QueryTerms(ctx context.Context, v *Vault, owner uuid.UUID, query string) ([][]byte, []int32, int32, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, nil, 0, err
	}
	words := searchWords(query)
	alts, masks := kindAlternatives(words)
	return terms(searchKey(dataKey), alts), masks, 1<<len(words) - 1, nil
}
