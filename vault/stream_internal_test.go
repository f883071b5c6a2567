package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// decryptStream is startStream with the header's MAC checked against wantMAC when set,
// as openBlob checks it against the row's, and the stream let go.
func decryptStream(src io.ReadCloser, identity age.Identity, wantMAC []byte) (*plainStream, error) {
	s, mac, err := startStream(src, identity)
	if err != nil {
		return nil, err
	}
	if len(wantMAC) > 0 && !hmac.Equal(mac, wantMAC) {
		s.Close()
		return nil, errors.New("the object's header is not the one its row was written for")
	}
	s.start()
	return s, nil
}

// streamAll decrypts ct through decryptStream, as a BlobReader's stages do, and returns
// the plaintext and its digest as the hash stage computed it. It does so twice, as from a
// store that does not tell the object's length and as from one that does (fetchSized),
// and fails unless both give the same answer.
func streamAll(ct []byte, id age.Identity) ([]byte, []byte, error) {
	out, sum, err := streamFrom(io.NopCloser(bytes.NewReader(ct)), id)
	sOut, sSum, sErr := streamFrom(sizedObject{bytes.NewReader(ct), int64(len(ct))}, id)
	switch {
	case (err == nil) != (sErr == nil) || errors.As(err, new(errStore)) != errors.As(sErr, new(errStore)):
		return nil, nil, fmt.Errorf("of unknown length: %v; of known length: %v", err, sErr)
	case !bytes.Equal(out, sOut) || !bytes.Equal(sum, sSum):
		return nil, nil, errors.New("the stream of known length gave other bytes")
	}
	return out, sum, err
}

// sizedObject is an object whose store tells its length, as S3 does.
type sizedObject struct {
	*bytes.Reader
	size int64
}

func (o sizedObject) ObjectSize() int64 { return o.size }
func (o sizedObject) Close() error      { return nil }

func streamFrom(src io.ReadCloser, id age.Identity) ([]byte, []byte, error) {
	s, err := decryptStream(src, id, nil)
	if err != nil {
		return nil, nil, err
	}
	defer s.Close()
	var out []byte
	for {
		b := <-s.out
		if b.err != nil {
			return nil, nil, b.err
		}
		for _, seg := range b.segs[:b.nseg] {
			out = append(out, seg...)
		}
		b.release()
		if b.last {
			h := <-s.sum
			if h.n != int64(len(out)) {
				return nil, nil, errors.New("hash stage saw another length")
			}
			return out, h.sum, nil
		}
	}
}

// TestDecryptStreamMatchesAge: the pipeline decrypts exactly what age does, at the sizes
// where chunks and blocks end, and refuses what age refuses.
func TestDecryptStreamMatchesAge(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	seal := func(p []byte) []byte {
		var b bytes.Buffer
		if err := encrypt(&b, id.Recipient(), bytes.NewReader(p)); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	sizes := []int{0, 1, ageChunk - 1, ageChunk, ageChunk + 1, blockChunks * ageChunk,
		blockChunks*ageChunk + 1, 2 * blockChunks * ageChunk, 1<<20 + 123}
	for _, size := range sizes {
		plain := make([]byte, size)
		for i := range plain {
			plain[i] = byte(i*7 + i>>11)
		}
		ct := seal(plain)
		got, sum, err := streamAll(ct, id)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if want := sha256.Sum256(plain); !bytes.Equal(got, plain) || !bytes.Equal(sum, want[:]) {
			t.Fatalf("%d bytes: plaintext or digest differs", size)
		}

		payload := int(ageHeaderLen()) + ageNonce
		chunks := (len(ct) - payload + encChunk - 1) / encChunk
		bad := map[string][]byte{
			"trailing byte":  append(bytes.Clone(ct), 0),
			"trailing chunk": append(bytes.Clone(ct), ct[payload:payload+min(encChunk, len(ct)-payload)]...),
			"no payload":     ct[:payload],
			"short nonce":    ct[:payload-1],
			"header only":    ct[:ageHeaderLen()],
		}
		if chunks > 1 {
			bad["final chunk dropped"] = ct[:payload+(chunks-1)*encChunk]
		}
		if chunks > 2 {
			// The chunks before the last, with the final flag on none: a full-length chunk
			// at the end must be the final one.
			swapped := bytes.Clone(ct)
			copy(swapped[payload:], ct[payload+encChunk:payload+2*encChunk])
			bad["chunks swapped"] = swapped
		}
		for _, off := range []int{10, payload - 1, payload, len(ct) - 1, payload + (chunks-1)*encChunk} {
			flipped := bytes.Clone(ct)
			flipped[off] ^= 1
			bad["byte flipped"+string(rune('a'+len(bad)))] = flipped
		}
		for name, b := range bad {
			if _, err := age.Decrypt(bytes.NewReader(b), id); err == nil {
				if _, err = io.ReadAll(must(age.Decrypt(bytes.NewReader(b), id))); err == nil {
					t.Fatalf("%d bytes, %s: age reads it; the case is wrong", size, name)
				}
			}
			_, _, err := streamAll(b, id)
			if err == nil {
				t.Fatalf("%d bytes, %s: read without error", size, name)
			}
			if errors.As(err, new(errStore)) {
				t.Fatalf("%d bytes, %s: %v is reported as the store's", size, name, err)
			}
		}
	}
}

// TestDecryptStreamLongHeader: a header that never ends is refused once it is longer than
// any age header, not read to the end of the object.
func TestDecryptStreamLongHeader(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	src := readerFunc(func(p []byte) (int, error) {
		read += len(p)
		if read > 4*maxHeaderLen {
			t.Fatal("read far past the longest header")
		}
		for i := range p {
			p[i] = 'A'
		}
		return len(p), nil
	})
	_, err = decryptStream(io.NopCloser(io.MultiReader(strings.NewReader("age-encryption.org/v1\n-> X25519 "), src)), id, nil)
	if err == nil || errors.As(err, new(errStore)) {
		t.Fatalf("endless header: %v, want a malformed header", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func must(r io.Reader, err error) io.Reader {
	if err != nil {
		panic(err)
	}
	return r
}

// TestDecryptStreamStoreError: a store that fails mid-stream is reported as the store's
// error, not as tampering.
func TestDecryptStreamStoreError(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	if err := encrypt(&ct, id.Recipient(), bytes.NewReader(make([]byte, 3<<20))); err != nil {
		t.Fatal(err)
	}
	dropped := errors.New("connection reset")
	src := io.MultiReader(bytes.NewReader(ct.Bytes()[:2<<20]), errReader{dropped})
	s, err := decryptStream(io.NopCloser(src), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for {
		b := <-s.out
		if b.err != nil {
			if !b.store || !errors.Is(b.err, dropped) {
				t.Fatalf("got %v (store %v), want the store's error", b.err, b.store)
			}
			return
		}
		if b.last {
			t.Fatal("a cut stream ended as complete")
		}
		b.release()
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestHeaderCapture: the header MAC kept at deposit is the one decryptStream reads back,
// however age's writes are cut, and a stream is refused on any other.
func TestHeaderCapture(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	if err := encrypt(&ct, id.Recipient(), bytes.NewReader([]byte("quittance"))); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := &headerCapture{w: &out}
	for _, x := range ct.Bytes() { // one byte a write: the hardest cut
		if _, err := c.Write([]byte{x}); err != nil {
			t.Fatal(err)
		}
	}
	mac, err := c.mac()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), ct.Bytes()) {
		t.Fatal("the ciphertext was changed on its way")
	}
	s, err := decryptStream(io.NopCloser(bytes.NewReader(ct.Bytes())), id, mac)
	if err != nil {
		t.Fatalf("with its own header MAC: %v", err)
	}
	s.Close()
	other := bytes.Clone(mac)
	other[31] ^= 1
	if _, err := decryptStream(io.NopCloser(bytes.NewReader(ct.Bytes())), id, other); err == nil || errors.As(err, new(errStore)) {
		t.Fatalf("with another header MAC: %v, want a refusal", err)
	}
	if _, err := (&headerCapture{w: io.Discard}).mac(); err == nil {
		t.Fatal("a MAC from no header")
	}
}

// TestFetchSizedLengthLies: a store that gives a wrong length for an object makes the
// stream fail, never give other bytes.
func TestFetchSizedLengthLies(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 100, ageChunk, 3*ageChunk + 7, 9 * ageChunk} {
		var ct bytes.Buffer
		if err := encrypt(&ct, id.Recipient(), bytes.NewReader(make([]byte, size))); err != nil {
			t.Fatal(err)
		}
		for _, delta := range []int64{-1, 1, -encChunk, encChunk, -ageTag} {
			n := int64(ct.Len()) + delta
			if n < 0 {
				continue // a negative length is no length told
			}
			// Told longer, the stream meets the object's end and may give it all, as it
			// is; told shorter, it must fail.
			out, _, err := streamFrom(sizedObject{bytes.NewReader(ct.Bytes()), n}, id)
			if err == nil && (delta < 0 || !bytes.Equal(out, make([]byte, size))) {
				t.Errorf("%d bytes told as %d more: gave %d bytes", size, delta, len(out))
			}
		}
	}
}

// TestStreamWaitsForStart: a stream started before its access is allowed reads and
// decrypts its first aheadBlocks only, then waits for start (or Close), and then gives
// the whole blob.
func TestStreamWaitsForStart(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, 3<<20)
	for i := range plain {
		plain[i] = byte(i * 7)
	}
	var ct bytes.Buffer
	if err := encrypt(&ct, id.Recipient(), bytes.NewReader(plain)); err != nil {
		t.Fatal(err)
	}
	for _, sized := range []bool{true, false} {
		var src io.ReadCloser
		if sized {
			src = sizedObject{bytes.NewReader(ct.Bytes()), int64(ct.Len())}
		} else {
			src = io.NopCloser(bytes.NewReader(ct.Bytes()))
		}
		s, _, err := startStream(src, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		take := func(b *block) {
			for _, seg := range b.segs[:b.nseg] {
				got = append(got, seg...)
			}
			b.release()
		}
		for range aheadBlocks - 1 { // unsized, the last one read is held back
			take(<-s.out)
		}
		if sized {
			take(<-s.out)
		}
		select {
		case b := <-s.out:
			t.Fatalf("sized %v: a block beyond the first %d before start (%d bytes given)", sized, aheadBlocks, len(got)+b.n)
		case <-time.After(200 * time.Millisecond):
		}
		s.start()
		for {
			b := <-s.out
			if b.err != nil {
				t.Fatal(b.err)
			}
			last := b.last
			take(b)
			if last {
				break
			}
		}
		if h := <-s.sum; !bytes.Equal(got, plain) || h.n != int64(len(plain)) {
			t.Fatalf("sized %v: %d bytes back, %d hashed", sized, len(got), h.n)
		}
		s.Close()
	}
}
