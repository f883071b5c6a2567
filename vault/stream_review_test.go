package vault

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"filippo.io/age"
)

// sealed encrypts size bytes of a fixed pattern to a new identity.
func sealed(t *testing.T, size int) (*age.X25519Identity, []byte, []byte) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, size)
	for i := range plain {
		plain[i] = byte(i*13 + i>>9)
	}
	var ct bytes.Buffer
	if err := encrypt(&ct, id.Recipient(), bytes.NewReader(plain)); err != nil {
		t.Fatal(err)
	}
	return id, plain, ct.Bytes()
}

// TestDecryptStreamStoreErrorIsNotTampering: a store whose connection drops is the
// store's error, never a failed authentication journaled as tampering: when it drops
// right after a whole block (the final chunk held back to see whether more follows), and
// when it reports the drop as io.ErrUnexpectedEOF (an HTTP body shorter than its
// Content-Length).
func TestDecryptStreamStoreErrorIsNotTampering(t *testing.T) {
	t.Parallel()
	id, _, ct := sealed(t, blockChunks*ageChunk)
	payload := int(ageHeaderLen()) + ageNonce
	if len(ct) != payload+blockSize {
		t.Fatalf("ciphertext of %d bytes, want one whole block", len(ct)-payload)
	}
	dropped := errors.New("connection reset")
	cases := map[string]io.Reader{
		"error after a whole block":    io.MultiReader(bytes.NewReader(ct), errReader{dropped}),
		"unexpected EOF mid-chunk":     io.MultiReader(bytes.NewReader(ct[:payload+encChunk+100]), errReader{io.ErrUnexpectedEOF}),
		"unexpected EOF after a chunk": io.MultiReader(bytes.NewReader(ct[:payload+encChunk]), errReader{io.ErrUnexpectedEOF}),
	}
	cut := io.MultiReader(bytes.NewReader(ct[:payload-3]), errReader{io.ErrUnexpectedEOF})
	if _, err := decryptStream(io.NopCloser(cut), id, nil); !errors.As(err, new(errStore)) {
		t.Errorf("unexpected EOF in the payload's nonce: %v, want the store's error", err)
	}
	for name, src := range cases {
		s, err := decryptStream(io.NopCloser(src), id, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for {
			b := <-s.out
			if b.err != nil {
				if !b.store {
					t.Errorf("%s: %v is reported as a failed authentication", name, b.err)
				}
				break
			}
			b.release()
			if b.last {
				t.Errorf("%s: a cut stream ended as complete", name)
				break
			}
		}
		s.Close()
	}
}

// settle waits for the goroutines started after before to end.
func settle(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left running:\n%s", runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBlobReaderGoroutinesEnd: the stages end when the reader is closed mid-stream
// (while the store is still sending, and while it stalls), after a store error, after a
// tampered chunk, and at the end of the blob. Not parallel: it counts goroutines.
func TestBlobReaderGoroutinesEnd(t *testing.T) {
	id, plain, ct := sealed(t, 3<<20)
	sum := sha256.Sum256(plain)
	open := func(src io.ReadCloser) *BlobReader {
		s, err := decryptStream(src, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &BlobReader{Blob: Blob{Size: int64(len(plain)), SHA256: sum[:]}, s: s}
	}
	tampered := bytes.Clone(ct)
	tampered[len(ct)/2] ^= 1
	cases := map[string]func() *BlobReader{
		"closed mid-stream": func() *BlobReader {
			r := open(io.NopCloser(bytes.NewReader(ct)))
			if _, err := io.ReadFull(r, make([]byte, 100<<10)); err != nil {
				t.Fatal(err)
			}
			return r
		},
		"closed while the store stalls": func() *BlobReader {
			pr, pw := io.Pipe()
			go func() { pw.Write(ct[:len(ct)/2]) }() //nolint:errcheck // ends when the reader is closed
			r := open(pr)
			if _, err := io.ReadFull(r, make([]byte, 100<<10)); err != nil {
				t.Fatal(err)
			}
			return r
		},
		"store error": func() *BlobReader {
			r := open(io.NopCloser(io.MultiReader(bytes.NewReader(ct[:1<<20]), errReader{errors.New("reset")})))
			if _, err := io.Copy(io.Discard, r); err == nil || errors.Is(err, ErrIntegrity) {
				t.Fatalf("got %v, want the store's error", err)
			}
			return r
		},
		"tampered": func() *BlobReader {
			r := open(io.NopCloser(bytes.NewReader(tampered)))
			if _, err := io.Copy(io.Discard, r); !errors.Is(err, ErrIntegrity) {
				t.Fatalf("got %v, want ErrIntegrity", err)
			}
			return r
		},
		"read to the end": func() *BlobReader {
			r := open(io.NopCloser(bytes.NewReader(ct)))
			var got bytes.Buffer
			if _, err := io.Copy(&got, r); err != nil || !bytes.Equal(got.Bytes(), plain) {
				t.Fatalf("read %d bytes, %v", got.Len(), err)
			}
			return r
		},
	}
	for name, start := range cases {
		t.Run(name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			r := start()
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Read(make([]byte, 1)); err == nil {
				t.Fatal("read after close")
			}
			settle(t, before)
		})
	}
}

// TestWriteToCapsItsSlices: WriteTo hands the writer slices of pooled buffers; their
// capacity must end with the chunk, else a writer could reach past it into the rest of
// the buffer: tags, and whatever an earlier read of another blob, perhaps another
// person's, left there.
func TestWriteToCapsItsSlices(t *testing.T) {
	t.Parallel()
	id, plain, ct := sealed(t, 2*blockChunks*ageChunk+1000)
	s, err := decryptStream(io.NopCloser(bytes.NewReader(ct)), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(plain)
	r := &BlobReader{Blob: Blob{Size: int64(len(plain)), SHA256: sum[:]}, s: s}
	defer r.Close()
	w := &capWriter{}
	if _, err := r.WriteTo(w); err != nil {
		t.Fatal(err)
	}
	if w.over > 0 || !bytes.Equal(w.got.Bytes(), plain) {
		t.Fatalf("%d writes were given room past their chunk", w.over)
	}
}

type capWriter struct {
	got  bytes.Buffer
	over int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if cap(p) != len(p) {
		w.over++
	}
	return w.got.Write(p)
}

// TestObjectSize: the file store's objects tell their length, as the S3 store's do
// (TestSwappedObjectRefusedBeforeAnyByte), so that an object of another length is refused
// before it is read; a reader that cannot tell is read and checked as it goes.
func TestObjectSize(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/blob"
	if err := os.WriteFile(path, make([]byte, 1234), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, ok := objectSize(f); !ok || n != 1234 {
		t.Errorf("file: %d, %v; want 1234, true", n, ok)
	}
	if _, ok := objectSize(bytes.NewReader(nil)); ok {
		t.Error("a reader without a length gave one")
	}
	if n, ok := objectSize(s3Object{size: -1}); ok {
		t.Errorf("an S3 object of unknown length gave %d", n)
	}
}
