package vault

import (
	"context"
	"fmt"
	"io"
	"regexp"
)

// BlobStore keeps encrypted blobs under opaque keys. The vault only ever hands it
// ciphertext, and keys are random IDs chosen before the upload starts, so the store learns
// nothing about owners or documents. Implementations must be safe for concurrent use and
// pass vaulttest.TestBlobStore.
type BlobStore interface {
	// Put stores r under key. size is the exact byte count, or -1 when unknown. A failed
	// or cancelled Put leaves no object readable under key.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the blob; a missing key gives an error wrapping ErrBlobNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the blob. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Ping tells whether the store answers, for readiness checks.
	Ping(ctx context.Context) error
}

// Keys are lowercase UUIDs; anything else is refused before it reaches a path or a URL.
var keyPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func checkKey(key string) error {
	if !keyPattern.MatchString(key) {
		return fmt.Errorf("malformed blob key %q", key)
	}
	return nil
}
