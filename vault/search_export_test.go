package vault

import (
	"context"

	"github.com/google/uuid"
)

// QueryTerms returns the terms Search looks up for query in owner's index, the word each
// stands for, and how many words, for the benchmark that times the indexed query alone.
func QueryTerms(ctx context.Context, v *Vault, owner uuid.UUID, query string) ([][]byte, []int32, int, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, nil, 0, err
	}
	words := searchWords(query)
	alts, groups := kindAlternatives(words)
	return terms(searchKey(dataKey), alts), groups, len(words), nil
}
