package vaulttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/google/uuid"

	"coffre/vault"
)

// TestBlobStore is the conformance suite of vault.BlobStore: every implementation runs it.
// newStore returns an empty store.
func TestBlobStore(t *testing.T, newStore func(t *testing.T) vault.BlobStore) {
	ctx := context.Background()
	key := func() string { return uuid.NewString() }
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	get := func(t *testing.T, s vault.BlobStore, k string) []byte {
		t.Helper()
		r, err := s.Get(ctx, k)
		if err != nil {
			t.Fatalf("Get(%s): %v", k, err)
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read %s: %v", k, err)
		}
		return b
	}

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		for _, size := range []int{0, 1, 64 << 10, 9 << 20} {
			for _, known := range []bool{true, false} {
				data, k := random(size), key()
				n := int64(-1)
				if known {
					n = int64(size)
				}
				if err := s.Put(ctx, k, bytes.NewReader(data), n); err != nil {
					t.Fatalf("Put(%d bytes, size %d): %v", size, n, err)
				}
				if got := get(t, s, k); !bytes.Equal(got, data) {
					t.Fatalf("%d bytes (size %d): read back %d different bytes", size, n, len(got))
				}
			}
		}
	})
	t.Run("Overwrite", func(t *testing.T) {
		s := newStore(t)
		k := key()
		for _, v := range []string{"first", "second"} {
			if err := s.Put(ctx, k, bytes.NewReader([]byte(v)), int64(len(v))); err != nil {
				t.Fatal(err)
			}
		}
		if got := get(t, s, k); string(got) != "second" {
			t.Fatalf("got %q after overwrite", got)
		}
	})
	t.Run("MissingKey", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, key()); !errors.Is(err, vault.ErrBlobNotFound) {
			t.Fatalf("Get of a missing key: %v, want ErrBlobNotFound", err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		k := key()
		if err := s.Put(ctx, k, bytes.NewReader([]byte("x")), 1); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ { // the second delete is of a missing key: not an error
			if err := s.Delete(ctx, k); err != nil {
				t.Fatalf("Delete #%d: %v", i+1, err)
			}
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, vault.ErrBlobNotFound) {
			t.Fatalf("Get after Delete: %v, want ErrBlobNotFound", err)
		}
	})
	t.Run("MalformedKeys", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"", "../../etc/passwd", "ABC", uuid.NewString() + "/x", "a b"} {
			if err := s.Put(ctx, k, bytes.NewReader(nil), 0); err == nil {
				t.Errorf("Put(%q) accepted a malformed key", k)
			}
			if _, err := s.Get(ctx, k); err == nil {
				t.Errorf("Get(%q) accepted a malformed key", k)
			}
			if err := s.Delete(ctx, k); err == nil {
				t.Errorf("Delete(%q) accepted a malformed key", k)
			}
		}
	})
	t.Run("FailedPutLeavesNothing", func(t *testing.T) {
		s := newStore(t)
		k := key()
		r := io.MultiReader(bytes.NewReader(random(100<<10)), errReader{})
		if err := s.Put(ctx, k, r, -1); err == nil {
			t.Fatal("Put succeeded although its reader failed")
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, vault.ErrBlobNotFound) {
			t.Fatalf("after a failed Put, Get: %v, want ErrBlobNotFound", err)
		}
	})
	t.Run("ShortPutFails", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(ctx, key(), bytes.NewReader([]byte("abc")), 10); err == nil {
			t.Fatal("Put of 3 bytes announced as 10 succeeded")
		}
	})
	t.Run("CancelledPut", func(t *testing.T) {
		s := newStore(t)
		k := key()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Put(cctx, k, bytes.NewReader(random(1024)), 1024); err == nil {
			t.Fatal("Put with a cancelled context succeeded")
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, vault.ErrBlobNotFound) {
			t.Fatalf("after a cancelled Put, Get: %v, want ErrBlobNotFound", err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				data, k := random(32<<10), key()
				if err := s.Put(ctx, k, bytes.NewReader(data), int64(len(data))); err != nil {
					errs <- err
					return
				}
				r, err := s.Get(ctx, k)
				if err != nil {
					errs <- err
					return
				}
				defer r.Close()
				got, err := io.ReadAll(r)
				if err == nil && !bytes.Equal(got, data) {
					err = fmt.Errorf("blob %s read back different", k)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("Ping", func(t *testing.T) {
		if err := newStore(t).Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("reader broke") }
