package vault

import (
	"crypto/sha256"
	"hash"
	"io"
	"sync"
)

// Reading and writing blobs chains three kinds of work: network I/O, age encryption or
// decryption, and SHA-256. Done one after the other they add up; the two helpers below
// let each run on its own goroutine, so that a blob moves at the speed of the slowest
// stage instead of the sum of all three. Both hold a few buffers at most.

const (
	pipeBuf   = 256 << 10
	pipeDepth = 4
)

// pipeBufs recycles the stages' buffers across reads and deposits: allocated afresh,
// they were the read path's main garbage (several times the bytes read).
var pipeBufs = sync.Pool{New: func() any { return new([pipeBuf]byte) }} //nolint:gochecknoglobals // a pool is shared by design

func getBuf() []byte  { return pipeBufs.Get().(*[pipeBuf]byte)[:] }
func putBuf(b []byte) { pipeBufs.Put((*[pipeBuf]byte)(b[:pipeBuf])) }

// asyncHash hashes what is written to it on its own goroutine.
type asyncHash struct {
	ch    chan []byte
	done  chan struct{}
	h     hash.Hash
	n     int64
	cur   []byte // filling, not yet queued
	close sync.Once
}

func newAsyncHash() *asyncHash {
	a := &asyncHash{
		ch:   make(chan []byte, pipeDepth),
		done: make(chan struct{}),
		h:    sha256.New(),
	}
	go func() {
		defer close(a.done)
		for b := range a.ch {
			a.h.Write(b)
			a.n += int64(len(b))
			putBuf(b)
		}
	}()
	return a
}

// Write copies p and queues it for hashing, a full buffer at a time; it never fails.
func (a *asyncHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if a.cur == nil {
			a.cur = getBuf()[:0]
		}
		k := min(len(p), cap(a.cur)-len(a.cur))
		a.cur = append(a.cur, p[:k]...)
		p = p[k:]
		if len(a.cur) == cap(a.cur) {
			a.ch <- a.cur
			a.cur = nil
		}
	}
	return n, nil
}

// Sum waits for everything written to be hashed and returns the digest and byte count.
func (a *asyncHash) Sum() ([]byte, int64) {
	if len(a.cur) > 0 {
		a.ch <- a.cur
		a.cur = nil
	}
	a.stop()
	<-a.done
	return a.h.Sum(nil), a.n
}

func (a *asyncHash) stop() { a.close.Do(func() { close(a.ch) }) }

// prefetcher reads ahead from src on its own goroutine.
type prefetcher struct {
	src  io.ReadCloser
	ch   chan chunk
	buf  []byte // the buffer p.cur points into, returned to pipeBufs once read
	quit chan struct{}
	cur  []byte
	err  error
	once sync.Once
}

type chunk struct {
	b   []byte
	err error
}

func newPrefetcher(src io.ReadCloser) *prefetcher {
	p := &prefetcher{src: src, ch: make(chan chunk, pipeDepth), quit: make(chan struct{})}
	go func() {
		for {
			b := getBuf()
			n, err := io.ReadFull(src, b)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			select {
			case p.ch <- chunk{b[:n], err}:
			case <-p.quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *prefetcher) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.buf != nil {
			putBuf(p.buf)
			p.buf = nil
		}
		c := <-p.ch
		p.cur, p.buf, p.err = c.b, c.b, c.err
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// Close stops the read-ahead and closes src.
func (p *prefetcher) Close() error {
	p.once.Do(func() { close(p.quit) })
	return p.src.Close()
}
