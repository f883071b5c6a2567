package vault

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"sync"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// fuzzAge is one identity, one valid header and its file key, shared by the fuzz
// iterations: the payload after the header is what the fuzzer builds.
//
//nolint:gochecknoglobals // built once for the fuzz target
var fuzzAge = sync.OnceValues(func() (*age.X25519Identity, []byte) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	if err := encrypt(&b, id.Recipient(), bytes.NewReader(nil)); err != nil {
		panic(err)
	}
	return id, b.Bytes()[:ageHeaderLen()]
})

// fuzzPayload builds an age payload after hdr from ops, 4 bytes a chunk: the chunk's
// counter, its last-chunk flag, and its plaintext length (up to one byte more than a
// chunk). nonceLen cuts the payload nonce; cut, if not zero, truncates the payload; tail
// is appended after it.
func fuzzPayload(t *testing.T, hdr []byte, ops []byte, nonceLen uint8, cut uint32, tail []byte) []byte {
	id, _ := fuzzAge()
	fileKey, err := age.DecryptHeader(hdr, id)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, ageNonce)
	for i := range nonce {
		nonce[i] = byte(i + 1)
	}
	key, err := hkdf.Key(sha256.New, fileKey, nonce, "payload", chacha20poly1305.KeySize)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		t.Fatal(err)
	}
	ct := append(bytes.Clone(hdr), nonce[:min(int(nonceLen), ageNonce)]...)
	for i := 0; i+4 <= len(ops) && i < 4*12; i += 4 {
		var n [chacha20poly1305.NonceSize]byte
		binary.BigEndian.PutUint64(n[3:11], uint64(ops[i]))
		n[11] = ops[i+1] & 1
		size := int(binary.BigEndian.Uint16(ops[i+2:]))
		switch ops[i+1] >> 6 { // a full chunk, or one byte more, more often than at random
		case 1:
			size = ageChunk
		case 2:
			size = ageChunk + 1
		}
		plain := make([]byte, size)
		for j := range plain {
			plain[j] = byte(j) ^ ops[i]
		}
		ct = aead.Seal(ct, n[:], plain, nil)
	}
	if cut != 0 && int(cut) < len(ct)-len(hdr) {
		ct = ct[:len(hdr)+int(cut)]
	}
	return append(ct, tail...)
}

// FuzzDecryptStreamDifferential: the pipeline accepts exactly the payloads age's own
// reader accepts, with the same plaintext, whatever the chunks' counters, flags, sizes,
// truncation and trailing bytes.
func FuzzDecryptStreamDifferential(f *testing.F) {
	full := func(ctr byte, last bool) []byte {
		fl := byte(1 << 6)
		if last {
			fl |= 1
		}
		return []byte{ctr, fl, 0, 0}
	}
	short := func(ctr byte, last bool, n uint16) []byte {
		var fl byte
		if last {
			fl = 1
		}
		return binary.BigEndian.AppendUint16([]byte{ctr, fl}, n)
	}
	cat := func(ops ...[]byte) []byte { return bytes.Join(ops, nil) }
	f.Add(short(0, true, 0), uint8(16), uint32(0), []byte(nil))                                                   // empty file
	f.Add(cat(full(0, false), short(1, true, 0)), uint8(16), uint32(0), []byte(nil))                              // empty final chunk after a full one
	f.Add(cat(full(0, false), full(1, true)), uint8(16), uint32(0), []byte(nil))                                  // full final chunk
	f.Add(cat(full(0, false), full(1, false)), uint8(16), uint32(0), []byte(nil))                                 // no final chunk
	f.Add(cat(full(0, false), full(1, false), full(2, false), full(3, false)), uint8(16), uint32(0), []byte(nil)) // cut at a block boundary
	f.Add(cat(full(0, false), short(1, true, 5)), uint8(16), uint32(0), []byte{0})                                // trailing byte
	f.Add(cat(full(1, false), short(0, true, 5)), uint8(16), uint32(0), []byte(nil))                              // reordered
	f.Add(cat(full(0, false), full(0, false), short(2, true, 5)), uint8(16), uint32(0), []byte(nil))              // duplicated
	f.Add(cat(short(0, false, 5)), uint8(16), uint32(0), []byte(nil))                                             // short chunk without the flag
	f.Add(cat(full(0, true), short(1, true, 5)), uint8(16), uint32(0), []byte(nil))                               // flag before the end
	f.Add(cat(short(0, false, 1), short(1, true, 1)), uint8(16), uint32(0), []byte(nil))                          // short chunk before the end
	f.Add(cat(full(0, false), full(1, false), full(2, false), full(3, false), short(4, true, 9)), uint8(16), uint32(4*encChunk+ageNonce), []byte(nil))
	f.Add([]byte{0, 2 << 6, 0, 0}, uint8(16), uint32(0), []byte(nil)) // oversized chunk
	f.Add(short(0, true, 3), uint8(15), uint32(0), []byte(nil))       // short nonce
	f.Add([]byte(nil), uint8(16), uint32(0), []byte(nil))             // no chunk at all
	f.Fuzz(func(t *testing.T, ops []byte, nonceLen uint8, cut uint32, tail []byte) {
		id, hdr := fuzzAge()
		ct := fuzzPayload(t, hdr, ops, nonceLen, cut, tail)
		var want []byte
		r, err := age.Decrypt(bytes.NewReader(ct), id)
		if err == nil {
			want, err = io.ReadAll(r)
		}
		got, sum, gerr := streamAll(ct, id)
		switch {
		case err == nil && gerr != nil:
			t.Fatalf("age reads %d bytes, the pipeline refuses: %v", len(want), gerr)
		case err != nil && gerr == nil:
			t.Fatalf("age refuses (%v), the pipeline reads %d bytes", err, len(got))
		case err == nil && !bytes.Equal(got, want):
			t.Fatal("the pipeline's plaintext is not age's")
		case err == nil:
			if h := sha256.Sum256(want); !bytes.Equal(sum, h[:]) {
				t.Fatal("the hash stage's digest is not the plaintext's")
			}
		}
	})
}
