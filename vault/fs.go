package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FSStore is a BlobStore in a local directory, for a single machine or a development
// set-up without S3. Objects are written to a temporary file, synced, then renamed, so a
// crash never leaves a partial blob under its key.
type FSStore struct {
	dir string
}

var _ BlobStore = (*FSStore)(nil)

// NewFSStore returns a store rooted at dir, creating it (mode 0700) if needed.
func NewFSStore(dir string) (*FSStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fs store: %w", err)
	}
	return &FSStore{dir: dir}, nil
}

// path shards by the first two characters so no directory grows too large.
func (s *FSStore) path(key string) string {
	return filepath.Join(s.dir, key[:2], key)
}

// Put implements BlobStore.
func (s *FSStore) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("fs store: put: %w", err)
	}
	dst := s.path(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".upload-*")
	if err != nil {
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("fs store: put %s: got %d bytes, want %d", key, n, size)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("fs store: put %s: %w", key, err)
	}
	return nil
}

// Get implements BlobStore.
func (s *FSStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("fs store: get: %w", err)
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("fs store: get %s: %w", key, ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("fs store: get %s: %w", key, err)
	}
	return f, nil
}

// Delete implements BlobStore.
func (s *FSStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("fs store: delete: %w", err)
	}
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fs store: delete %s: %w", key, err)
	}
	return nil
}

// Ping implements BlobStore.
func (s *FSStore) Ping(ctx context.Context) error {
	if _, err := os.Stat(s.dir); err != nil {
		return fmt.Errorf("fs store: %w", err)
	}
	return nil
}

// ctxReader stops a copy when the context ends, so a cancelled upload is not completed.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
