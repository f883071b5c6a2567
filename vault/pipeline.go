package vault

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// Writing a blob chains three kinds of work: reading the body, age encryption, and
// SHA-256. Done one after the other they add up; asyncHash below runs the hash on its own
// goroutine, so that a blob moves at the speed of the slowest stage instead of the sum.
// (Reading a blob has its own pipeline: stream.go.)

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
