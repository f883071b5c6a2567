package vault

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"
)

// markTimeout bounds an upload marker's insert, which a deposit's cancellation does not
// cut short.
const markTimeout = 30 * time.Second

// smallBlob is how much of a stream of unknown length is read ahead: a file that ends
// within it is sent as one PUT of known size instead of a multipart upload.
const smallBlob = 1 << 20

// putBlob encrypts body to recipient while streaming it to the blob store under a fresh
// random key, and returns the blob's key, plaintext size and SHA-256. The upload marker is
// committed before the upload can complete, so that an upload interrupted at any point is
// found by the reaper.
func (v *Vault) putBlob(ctx context.Context, recipient age.Recipient, body io.Reader, size int64) (Blob, error) {
	b, stored, err := v.startBlob(ctx, recipient, body, size)
	if err != nil {
		return b, err
	}
	if err := stored(); err != nil {
		v.discard([]Blob{b})
		return b, err
	}
	return b, nil
}

// startBlob is putBlob returning as soon as the whole body is encrypted and hashed and
// its upload marker committed: the store's answer comes later, from stored (which may be
// called more than once). The caller can prepare the blob's rows meanwhile; it must wait
// for stored before it commits them, and, if it fails, before it discards the blob (an
// object completed after its deletion would be left to no one). On an error from
// startBlob itself nothing is left to wait for or to discard.
func (v *Vault) startBlob(ctx context.Context, recipient age.Recipient, body io.Reader, size int64) (b Blob, stored func() error, err error) {
	b.ID = uuid.New()
	if size < 0 {
		head := make([]byte, smallBlob)
		n, err := io.ReadFull(body, head)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			body, size = bytes.NewReader(head[:n]), int64(n)
		case err != nil:
			return b, nil, fmt.Errorf("read: %w", err)
		default:
			body = io.MultiReader(bytes.NewReader(head), body)
		}
	}
	// The marker's commit runs while the upload starts; only the upload's last bytes wait
	// for it (markGate), and the store makes no object before it has them all.
	marked := make(chan error, 1)
	go func() {
		// Not cancelled with the deposit: an insert abandoned on its way can still commit
		// after the failed deposit's clean-up has deleted the marker, and leave it for the
		// reaper. Its answer, whichever, is what the clean-up needs.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
		defer cancel()
		marked <- markUpload(mctx, v.db, b.ID)
	}()
	mark := newMarkGate(marked)

	h := newAsyncHash()
	defer h.stop()
	pr, pw := io.Pipe()
	ctSize := int64(-1)
	if size >= 0 {
		ctSize = ciphertextSize(size)
	}
	mark.r, mark.rest = pr, ctSize
	put := make(chan error, 1)
	go func() {
		err := v.blobs.Put(ctx, b.ID.String(), mark, ctSize)
		pr.CloseWithError(errors.New("upload ended")) // unblocks the encryptor if Put returned early
		put <- err
	}()
	stored = sync.OnceValue(func() error { return <-put })
	// The encryptor ends when the store has read the last byte of ciphertext, or has
	// given up.
	// The header's MAC is kept for the row, as it goes by: it binds the object to it.
	hc := &headerCapture{w: pw}
	eerr := encrypt(hc, recipient, io.TeeReader(body, h))
	if eerr == nil {
		if b.headerMAC, eerr = hc.mac(); eerr != nil {
			eerr = fmt.Errorf("encrypt: %w", eerr)
		}
	}
	pw.CloseWithError(eerr)
	merr := mark.wait()
	switch {
	case eerr != nil || merr != nil:
		perr := stored()
		v.discard([]Blob{b})
		if merr != nil {
			return b, nil, fmt.Errorf("mark upload: %w", merr)
		}
		if perr != nil {
			return b, nil, perr
		}
		return b, nil, eerr
	}
	b.SHA256, b.Size = h.Sum()
	if size >= 0 && b.Size != size {
		stored() //nolint:errcheck // the size is the error
		v.discard([]Blob{b})
		return b, nil, fmt.Errorf("read %d bytes, expected %d: %w", b.Size, size, ErrInvalid)
	}
	return b, stored, nil
}

// markGate holds back the end of an upload until its marker is committed: an object the
// store completes always has a marker for the reaper to find.
type markGate struct {
	r    io.Reader
	rest int64 // bytes left to read, or -1 when the size is unknown
	// wait returns once the marker's commit has ended, with its error; the upload and
	// startBlob may both wait.
	wait func() error
}

func newMarkGate(marked <-chan error) *markGate {
	return &markGate{rest: -1, wait: sync.OnceValue(func() error { return <-marked })}
}

func (g *markGate) Read(p []byte) (int, error) {
	if g.rest >= 0 && int64(len(p)) >= g.rest {
		if err := g.wait(); err != nil {
			return 0, err
		}
	}
	n, err := g.r.Read(p)
	if g.rest >= 0 {
		g.rest -= int64(n)
	}
	if err == io.EOF {
		if werr := g.wait(); werr != nil {
			return 0, werr
		}
	}
	return n, err
}

func encrypt(dst io.Writer, recipient age.Recipient, src io.Reader) error {
	w, err := age.Encrypt(dst, recipient)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if _, err := io.Copy(w, src); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	return nil
}

// age's format, for one X25519 recipient: a header of fixed length, a 16-byte nonce, then
// the payload in chunks of 64 KiB, each with a 16-byte tag; an empty payload is one empty
// chunk. Knowing the ciphertext length up front lets the S3 store send a single PUT.
const (
	ageChunk = 64 << 10
	ageTag   = 16
	ageNonce = 16
)

//nolint:gochecknoglobals // computed once from the age library itself
var (
	headerOnce sync.Once
	headerLen  int64
)

func ageHeaderLen() int64 {
	headerOnce.Do(func() {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			panic(err)
		}
		var b bytes.Buffer
		if err := encrypt(&b, id.Recipient(), bytes.NewReader(nil)); err != nil {
			panic(err)
		}
		headerLen = int64(b.Len()) - ageNonce - ageTag
	})
	return headerLen
}

func ciphertextSize(n int64) int64 {
	chunks := (n + ageChunk - 1) / ageChunk
	if chunks == 0 {
		chunks = 1
	}
	return ageHeaderLen() + ageNonce + n + chunks*ageTag
}

// BlobReader streams a decrypted blob. Every chunk is authenticated before it is given,
// and the final one is held back until the whole blob matches the SHA-256 recorded at
// deposit: a mismatch, like any failed authentication of the ciphertext, is an
// ErrIntegrity error, journaled in the owner's history.
type BlobReader struct {
	Blob
	Document uuid.UUID

	s     *plainStream
	queue []*block // decrypted, waiting for cur to be read
	cur   *block   // the block being read
	seg   int      // the chunk of cur being read
	rest  []byte   // what is left of it
	// gather holds back the first blocks until they make a whole block's worth of
	// chunks (or the whole blob, checked against its SHA-256): a row written without
	// its object's header MAC (before migration 00020) has nothing but the SHA-256 to
	// tell its object from another of the owner's copied over it, and the first blocks
	// of a stream are small (fetchSized).
	gather  bool
	err     error
	onError func(error)
}

// Read implements io.Reader.
func (r *BlobReader) Read(p []byte) (int, error) {
	for len(r.rest) == 0 {
		if err := r.advance(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: io.Copy writes the decrypted chunks straight from the
// pipeline's buffers. w must keep nothing of the slices it is given once its Write
// returns (io.Writer's contract): their buffers are reused by the next reads, of anyone's
// papers.
func (r *BlobReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.rest) > 0 {
			n, err := w.Write(r.rest)
			total += int64(n)
			r.rest = r.rest[n:]
			if err != nil {
				return total, err
			}
		}
		if err := r.advance(); errors.Is(err, io.EOF) {
			return total, nil
		} else if err != nil {
			return total, err
		}
	}
}

// advance moves to the next decrypted chunk.
func (r *BlobReader) advance() error {
	if r.err != nil {
		return r.err
	}
	if r.cur != nil {
		if r.seg+1 < r.cur.nseg {
			r.seg++
			r.rest = r.cur.segs[r.seg]
			return nil
		}
		last := r.cur.last
		r.cur.release()
		r.cur = nil
		if last {
			r.err = io.EOF
			return r.err
		}
	}
	for n := 0; len(r.queue) == 0 || r.gather; {
		b, err := r.receive()
		if err != nil {
			return err
		}
		r.queue = append(r.queue, b)
		if n += b.nseg; b.last || n >= blockChunks {
			r.gather = false
		}
	}
	r.cur, r.queue = r.queue[0], r.queue[1:]
	r.seg, r.rest = 0, r.cur.segs[0]
	return nil
}

// receive takes the next decrypted block from the stream; the final one only once the
// whole blob matched its SHA-256.
func (r *BlobReader) receive() (*block, error) {
	var b *block
	select {
	case b = <-r.s.out:
	case <-r.s.quit:
		r.err = errClosed
		return nil, r.err
	}
	switch {
	case b.err != nil && b.store:
		r.err = fmt.Errorf("vault: blob %s: %w", r.ID, b.err)
		return nil, r.err
	case b.err != nil:
		r.fail(fmt.Errorf("vault: blob %s: %v: %w", r.ID, b.err, ErrIntegrity))
		return nil, r.err
	}
	if b.last {
		var h hashed
		select {
		case h = <-r.s.sum:
		case <-r.s.quit:
			r.err = errClosed
			return nil, r.err
		}
		if h.n != r.Size || subtle.ConstantTimeCompare(h.sum, r.SHA256) != 1 {
			b.release()
			r.fail(fmt.Errorf("vault: blob %s: content does not match its SHA-256: %w", r.ID, ErrIntegrity))
			return nil, r.err
		}
	}
	return b, nil
}

func (r *BlobReader) fail(err error) {
	r.err = err
	if r.onError != nil {
		r.onError(err)
		r.onError = nil
	}
}

// Close releases the connection to the blob store.
func (r *BlobReader) Close() error {
	if r.cur != nil {
		r.cur.release()
		r.cur = nil
	}
	for _, b := range r.queue {
		b.release()
	}
	r.queue = nil
	r.rest = nil
	if r.err == nil {
		r.err = errClosed
	}
	return r.s.Close()
}

// Open starts reading one blob of one of owner's documents, and journals the access
// (action: view, download or print). A blob that is not the owner's gives ErrNotFound
// and is journaled as a failed attempt.
func (v *Vault) Open(ctx context.Context, owner, doc, blob uuid.UUID, by Actor, action Action) (*BlobReader, error) {
	return v.OpenAccess(ctx, owner, doc, blob, Access{Actor: by, Action: action})
}

// Access describes one access to a blob: who, why, a note for the journal (a receipt
// number, say), and what must commit together with its journal entry.
type Access struct {
	Actor  Actor
	Action Action
	Detail string
	// Private goes into the journal entry sealed (Event.Private): what the copy given
	// carried written across it (a watermark naming the recipient and the purpose).
	Private string
	// Require, if set, gives what must commit together with the access's journal entry,
	// for the blob opened (b, as its row says): a share link counts its downloads there,
	// so that the count and the trace commit as one. Nil means nothing.
	Require func(b *Blob) *Requirement
}

// Requirement is one SQL statement an access requires, run in the transaction of its
// journal entry, before it. It must change exactly one row, else the access is refused
// with Refused. The transaction may journal other accesses to the same safe, and be
// rolled back and retried without them: the statement must depend on nothing else.
type Requirement struct {
	SQL     string
	Args    []any
	Refused error
}

// OpenAccess is Open with the details of the access.
func (v *Vault) OpenAccess(ctx context.Context, owner, doc, blob uuid.UUID, a Access) (*BlobReader, error) {
	by := a.Actor
	// The round trip to the blob store starts with the row's, and the object is
	// decrypted and hashed while the access is journaled: nothing of it is given unless
	// the row allows the access and the object is the row's (openBlob).
	got := make(chan fetched, 1)
	identities := make(chan age.Identity, 1)
	go func() { got <- v.fetch(ctx, blob, identities) }()
	refuse := func(err error) (*BlobReader, error) {
		go func() { (<-got).close() }()
		return nil, err
	}
	identity, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		close(identities)
		return refuse(fmt.Errorf("vault: open %s: %w", blob, err))
	}
	identities <- identity
	r := &BlobReader{Document: doc}
	// The row is read in the first round trip of the access's journal transaction, unless
	// what must commit with the access depends on it.
	row := &blobRow{owner: owner, doc: doc, blob: blob, dataKey: dataKey, into: &r.Blob}
	if a.Require != nil {
		if err := row.read(v.db.QueryRow(ctx, blobRowSQL, row.args()...)); err != nil {
			return refuse(v.refused(ctx, owner, doc, blob, by, err))
		}
		row = nil
	}
	// The access is journaled before any byte is returned; the round trip to the blob
	// store runs meanwhile.
	if err := v.journalAccess(ctx, owner, doc, &r.Blob, row, a, dataKey); err != nil {
		if errors.Is(err, errNoBlobRow) || errors.Is(err, errBlobRowMAC) {
			return refuse(v.refused(ctx, owner, doc, blob, by, err))
		}
		return refuse(fmt.Errorf("vault: open %s: %w", blob, err))
	}
	return v.openBlob(ctx, r, <-got, owner, doc, blob)
}

// refused journals an access refused on its blob row (a failed attempt, or a row that
// failed its MAC), and returns the error to give.
func (v *Vault) refused(ctx context.Context, owner, doc, blob uuid.UUID, by Actor, err error) error {
	switch {
	case errors.Is(err, errNoBlobRow):
		v.deny(ctx, owner, doc, by)
		return fmt.Errorf("vault: open %s: %w", blob, ErrNotFound)
	case errors.Is(err, errBlobRowMAC):
		v.integrityFailed(ctx, owner, doc, blob, "blob row failed its MAC")
		return fmt.Errorf("vault: blob %s: the row does not match its MAC: %w", blob, ErrIntegrity)
	}
	return fmt.Errorf("vault: open %s: %w", blob, err)
}

// fetched is a blob's object as the store gave it, its decryption started.
type fetched struct {
	src io.ReadCloser
	s   *plainStream
	mac []byte // the MAC of the object's age header
	err error  // the store's, or what startStream found
}

// fetch gets blob's object and starts decrypting it with the identity it is sent (none,
// when identities is closed).
func (v *Vault) fetch(ctx context.Context, blob uuid.UUID, identities <-chan age.Identity) fetched {
	src, err := v.blobs.Get(ctx, blob.String())
	if err != nil {
		return fetched{err: err}
	}
	identity, ok := <-identities
	if !ok {
		src.Close()
		return fetched{err: errors.New("no identity")}
	}
	s, mac, err := startStream(src, identity)
	if err != nil {
		return fetched{src: src, err: err}
	}
	return fetched{src: src, s: s, mac: mac}
}

// fetchAs is fetch for a caller that has the identity already.
func (v *Vault) fetchAs(ctx context.Context, blob uuid.UUID, identity age.Identity) fetched {
	identities := make(chan age.Identity, 1)
	identities <- identity
	return v.fetch(ctx, blob, identities)
}

// close stops what fetch started.
func (f fetched) close() {
	switch {
	case f.s != nil:
		f.s.Close()
	case f.src != nil:
		f.src.Close()
	}
}

// objectSize is the length of an object a store opened, when the store tells it.
func objectSize(src io.Reader) (int64, bool) {
	switch o := src.(type) {
	case interface{ ObjectSize() int64 }:
		return o.ObjectSize(), o.ObjectSize() >= 0
	case *os.File:
		if fi, err := o.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size(), true
		}
	}
	return 0, false
}

func (v *Vault) openBlob(ctx context.Context, r *BlobReader, f fetched, owner, doc, blob uuid.UUID) (*BlobReader, error) {
	// A caller that journals failures itself (BindOldBlobs) sets onError; by default a
	// failure is journaled in the owner's history.
	integrityFailed := r.onError
	if integrityFailed == nil {
		integrityFailed = func(error) { v.integrityFailed(ctx, owner, doc, blob, "blob failed its integrity check") }
		r.onError = integrityFailed
	}
	if err := f.err; err != nil {
		f.close()
		se := errStore{}
		switch {
		case errors.Is(err, ErrBlobNotFound):
			integrityFailed(err)
			return nil, fmt.Errorf("vault: open %s: object missing: %w", blob, ErrIntegrity)
		case errors.As(err, &se):
			return nil, fmt.Errorf("vault: open %s: %w", blob, se.err)
		case f.src == nil:
			return nil, fmt.Errorf("vault: open %s: %w", blob, err)
		}
		integrityFailed(err)
		return nil, fmt.Errorf("vault: open %s: %v: %w", blob, err, ErrIntegrity)
	}
	// Another of the owner's blobs copied over this one decrypts, and only its SHA-256
	// at the end would tell: one of another length is refused before any byte is given,
	// and one of the same length by its header's MAC, when the row has one.
	if n, ok := objectSize(f.src); ok && n != ciphertextSize(r.Size) {
		f.close()
		integrityFailed(nil)
		return nil, fmt.Errorf("vault: open %s: object of %d bytes, %d expected: %w", blob, n, ciphertextSize(r.Size), ErrIntegrity)
	}
	if len(r.headerMAC) > 0 && !hmac.Equal(f.mac, r.headerMAC) {
		f.close()
		integrityFailed(nil)
		return nil, fmt.Errorf("vault: open %s: the object's header is not the one its row was written for: %w", blob, ErrIntegrity)
	}
	r.s, r.gather = f.s, len(r.headerMAC) == 0
	r.s.start()
	return r, nil
}
