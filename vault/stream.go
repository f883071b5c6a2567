package vault

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// Reading a blob runs four stages at once, each on its own goroutine: the store's
// download, the decryption of age's payload, SHA-256, and the caller's reads. They pass
// blocks of a few age chunks from one to the next, decrypted in place in pooled buffers,
// so that a read costs the decryption and the hash, each once, and no copy of its own:
// with age's reader and a separate hash, the profile of a 20 MB read showed a third of
// its time in copies, a 64 KiB allocation per chunk, and their garbage.
//
// age.DecryptHeader authenticates the header and gives the file key; the payload is age's
// STREAM (https://age-encryption.org/v1): a 16-byte nonce, then chunks of 64 KiB of
// plaintext sealed with ChaCha20-Poly1305 under HKDF-SHA-256(file key, nonce, "payload"),
// their nonce an 11-byte big-endian counter and a last byte set to 1 on the final chunk.
// Only the final chunk may be short, and it is empty only in an empty file.

const (
	encChunk     = ageChunk + ageTag
	blockChunks  = 4
	blockSize    = blockChunks * encChunk
	streamDepth  = 3        // blocks queued between two stages
	maxHeaderLen = 64 << 10 // an X25519 header is about 250 bytes
)

// blockBufs recycles the blocks' buffers across reads.
var blockBufs = sync.Pool{New: func() any { return new([blockSize]byte) }} //nolint:gochecknoglobals // a pool is shared by design

// block is a piece of a blob on its way through the stages.
type block struct {
	buf  *[blockSize]byte
	n    int // bytes of ciphertext in buf
	eof  bool
	segs [blockChunks][]byte // the decrypted chunks, in buf
	nseg int
	last bool  // holds the final chunk
	err  error // what stopped the stream here
	// store tells that err is the store's (a dropped connection) rather than a failed
	// authentication.
	store bool
	refs  atomic.Int32 // the stages still reading buf
}

func (b *block) release() {
	if b.buf != nil && b.refs.Add(-1) == 0 {
		blockBufs.Put(b.buf)
	}
}

// hashed is the SHA-256 stage's result.
type hashed struct {
	sum []byte
	n   int64
}

// plainStream is the pipeline reading one blob.
type plainStream struct {
	src  io.Closer
	out  chan *block   // decrypted and in order; ends with a last block or one with err
	sum  chan hashed   // the digest of everything decrypted, once all of it is hashed
	quit chan struct{} // closed by Close: every stage stops
	once sync.Once
	// proceed is closed by start: until then the stages read no more than aheadBlocks,
	// so that a stream started before its access is allowed and journaled costs little
	// memory and work while it waits (the database may be slow), and none if refused.
	proceed chan struct{}
	started sync.Once
}

// aheadBlocks is how many blocks a stream reads before start: with the first blocks
// small (fetchSized), 448 KiB.
const aheadBlocks = 3

// start lets the stages read the whole blob.
func (s *plainStream) start() { s.started.Do(func() { close(s.proceed) }) }

// wait holds the stage that has read n blocks until start, unless the stream is
// closed; it tells whether to go on.
func (s *plainStream) wait(n int) bool {
	if n < aheadBlocks {
		return true
	}
	select {
	case <-s.proceed:
		return true
	case <-s.quit:
		return false
	}
}

// errStore wraps an error of the blob store met while reading the header.
type errStore struct{ err error }

func (e errStore) Error() string { return e.err.Error() }
func (e errStore) Unwrap() error { return e.err }

// startStream reads src's age header with identity, starts the stages, and gives the
// header's MAC. The stages start before the blob's row, which holds the MAC the object
// must have, is read: the caller checks the MAC before it gives anything of the stream
// (another of the owner's objects copied over this one would decrypt too), closes the
// stream if it does not match, and calls start to read past the first aheadBlocks. An
// error that is not an errStore means the ciphertext is not what the identity sealed.
func startStream(src io.ReadCloser, identity age.Identity) (*plainStream, []byte, error) {
	size, sized := objectSize(src)
	br := bufio.NewReaderSize(src, 4096)
	hdr, err := readHeader(br)
	if err != nil {
		return nil, nil, err
	}
	mac, err := headerMAC(hdr)
	if err != nil {
		return nil, nil, err
	}
	fileKey, err := age.DecryptHeader(hdr, identity)
	if err != nil {
		return nil, nil, err
	}
	nonce := make([]byte, ageNonce)
	if n, err := readBlock(br, nonce); n < ageNonce {
		if err == io.EOF { //nolint:errorlint // io.Reader returns io.EOF itself at the end; a wrapped one is a store error
			return nil, nil, errors.New("no payload")
		}
		return nil, nil, errStore{err}
	}
	key, err := hkdf.Key(sha256.New, fileKey, nonce, "payload", chacha20poly1305.KeySize)
	if err != nil {
		return nil, nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, nil, err
	}
	s := &plainStream{
		src:     src,
		out:     make(chan *block, streamDepth),
		sum:     make(chan hashed, 1),
		quit:    make(chan struct{}),
		proceed: make(chan struct{}),
	}
	raw := make(chan *block, streamDepth)
	toHash := make(chan *block, streamDepth)
	if sized {
		go s.fetchSized(br, raw, size-int64(len(hdr))-ageNonce)
	} else {
		go s.fetch(br, raw)
	}
	go s.decrypt(aead, raw, toHash)
	go s.hash(toHash)
	return s, mac, nil
}

// readHeader reads age's header: text lines up to the one starting with "---", its MAC.
func readHeader(br *bufio.Reader) ([]byte, error) {
	var hdr []byte
	for {
		line, err := br.ReadSlice('\n')
		hdr = append(hdr, line...)
		switch {
		case err == nil && bytes.HasPrefix(line, []byte("---")):
			return hdr, nil
		case err == io.EOF || len(hdr) > maxHeaderLen:
			return nil, errors.New("malformed header")
		case err != nil && err != bufio.ErrBufferFull: //nolint:errorlint // bufio returns ErrBufferFull itself
			return nil, errStore{err}
		}
	}
}

// headerMAC returns the MAC of a whole age header (as readHeader gives it): its last line
// is "--- " and the MAC in unpadded base64. Keyed by the file's random key, it is unique
// to the file.
func headerMAC(hdr []byte) ([]byte, error) {
	if len(hdr) == 0 || hdr[len(hdr)-1] != '\n' {
		return nil, errors.New("malformed header")
	}
	line := hdr[bytes.LastIndexByte(hdr[:len(hdr)-1], '\n')+1 : len(hdr)-1]
	b64, ok := bytes.CutPrefix(line, []byte("--- "))
	if !ok {
		return nil, errors.New("malformed header MAC")
	}
	mac, err := base64.RawStdEncoding.Strict().DecodeString(string(b64))
	if err != nil || len(mac) != sha256.Size {
		return nil, errors.New("malformed header MAC")
	}
	return mac, nil
}

// headerCapture passes what age.Encrypt writes on to w, keeping a copy of the header (its
// first lines, up to the one of its MAC) on the way.
type headerCapture struct {
	w    io.Writer
	hdr  []byte
	done bool
}

func (c *headerCapture) Write(p []byte) (int, error) {
	for q := p; !c.done && len(q) > 0 && len(c.hdr) <= maxHeaderLen; {
		i := bytes.IndexByte(q, '\n')
		if i < 0 {
			c.hdr = append(c.hdr, q...)
			break
		}
		c.hdr = append(c.hdr, q[:i+1]...)
		q = q[i+1:]
		line := c.hdr[bytes.LastIndexByte(c.hdr[:len(c.hdr)-1], '\n')+1:]
		c.done = bytes.HasPrefix(line, []byte("---"))
	}
	return c.w.Write(p)
}

// mac returns the MAC of the header written.
func (c *headerCapture) mac() ([]byte, error) {
	if !c.done {
		return nil, errors.New("no age header written")
	}
	return headerMAC(c.hdr)
}

// fetch reads the ciphertext into blocks. A block is marked eof when nothing follows
// it, so that the next stage knows the final chunk before it opens it.
func (s *plainStream) fetch(src io.Reader, raw chan<- *block) {
	var held *block // read, sent once it is known whether more follows
	for n := 0; ; n++ {
		if !s.wait(n) {
			return
		}
		b := &block{buf: blockBufs.Get().(*[blockSize]byte)}
		var err error
		b.n, err = readBlock(src, b.buf[:])
		switch {
		case err == io.EOF: //nolint:errorlint // io.Reader returns io.EOF itself at the end; a wrapped one is a store error
			b.eof = true
		case err != nil:
			b.err, b.store = err, true
		}
		if held != nil {
			if b.err != nil {
				// Whether held ends the blob is unknown: opened as if more followed, its
				// final chunk would fail as tampered.
				held.refs.Store(1)
				held.release()
				held = nil
			} else if b.n == 0 && b.eof {
				held.eof = true
				b.refs.Store(1)
				b.release()
				b, held = held, nil
			}
		}
		if held != nil {
			if !s.send(raw, held) {
				return
			}
		}
		if b.eof || b.err != nil {
			s.send(raw, b)
			return
		}
		held = b
	}
}

// fetchSized is fetch for a payload whose length the store told: the final chunk is the
// one that ends it, so a block goes on as soon as it is read. The first blocks are small,
// so that decryption starts after one chunk has arrived rather than a whole block.
// A payload that proves shorter ends as fetch's would (a store's truncated body is an
// error of the store's); chunks misplaced by a length that lies fail their
// authentication.
func (s *plainStream) fetchSized(src io.Reader, raw chan<- *block, rest int64) {
	want := encChunk
	for n := 0; ; n++ {
		if !s.wait(n) {
			return
		}
		b := &block{buf: blockBufs.Get().(*[blockSize]byte)}
		var err error
		b.n, err = readBlock(src, b.buf[:min(int64(want), max(rest, 0))])
		rest -= int64(b.n)
		switch {
		case err == io.EOF: //nolint:errorlint // io.Reader returns io.EOF itself at the end; a wrapped one is a store error
			b.eof = true
		case err != nil:
			b.err, b.store = err, true
		case rest <= 0:
			b.eof = true
		}
		if !s.send(raw, b) || b.eof || b.err != nil {
			return
		}
		want = min(2*want, blockSize)
	}
}

// readBlock fills buf from src, and says io.EOF only where src ended: unlike
// io.ReadFull, it keeps src's own io.ErrUnexpectedEOF (an HTTP body cut before its
// Content-Length) an error of the store's, not the end of the ciphertext.
func readBlock(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// send passes b to the next stage, unless the stream was closed.
func (s *plainStream) send(to chan<- *block, b *block) bool {
	select {
	case to <- b:
		return true
	case <-s.quit:
		return false
	}
}

// decrypt opens each chunk in place, then passes the block both to the hash and to the
// reader.
func (s *plainStream) decrypt(aead cipher.AEAD, raw <-chan *block, toHash chan<- *block) {
	defer close(toHash)
	var nonce [chacha20poly1305.NonceSize]byte
	for {
		var b *block
		select {
		case b = <-raw:
		case <-s.quit:
			return
		}
		if b.err == nil {
			b.err = openChunks(aead, &nonce, b)
		}
		if b.err != nil {
			s.send(s.out, &block{err: b.err, store: b.store})
			return
		}
		b.refs.Store(2)
		if !s.send(toHash, b) || !s.send(s.out, b) {
			return
		}
		if b.last {
			return
		}
	}
}

// openChunks decrypts b's chunks in place, advancing the chunk counter in nonce.
func openChunks(aead cipher.AEAD, nonce *[chacha20poly1305.NonceSize]byte, b *block) error {
	data := b.buf[:b.n]
	if len(data) == 0 {
		return errors.New("truncated: no final chunk")
	}
	for len(data) > 0 {
		c := data[:min(len(data), encChunk)]
		data = data[len(c):]
		final := b.eof && len(data) == 0
		if final {
			if len(c) == ageTag && *nonce != [chacha20poly1305.NonceSize]byte{} {
				return errors.New("empty final chunk")
			}
			nonce[len(nonce)-1] = 1
		}
		p, err := aead.Open(c[:0], nonce[:], c, nil)
		if err != nil {
			return errors.New("a chunk failed its authentication")
		}
		b.segs[b.nseg] = p[:len(p):len(p)] // a writer given it cannot reach past it
		b.nseg++
		if final {
			b.last = true
			return nil
		}
		for i := len(nonce) - 2; i >= 0; i-- {
			nonce[i]++
			if nonce[i] != 0 {
				break
			}
		}
	}
	return nil
}

// hash hashes the decrypted blocks; its digest is sent once all are hashed.
func (s *plainStream) hash(toHash <-chan *block) {
	h := sha256.New()
	var n int64
	complete := false
	for b := range toHash {
		for _, seg := range b.segs[:b.nseg] {
			h.Write(seg)
			n += int64(len(seg))
		}
		complete = b.last
		b.release()
	}
	if complete {
		s.sum <- hashed{h.Sum(nil), n}
	}
}

// Close stops the stages and closes the store's reader.
func (s *plainStream) Close() error {
	s.once.Do(func() { close(s.quit) })
	return s.src.Close()
}

// errClosed is what a BlobReader gives once closed.
var errClosed = fmt.Errorf("read after close: %w", io.ErrClosedPipe)
