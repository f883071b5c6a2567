package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Budget is the memory, in bytes, that deposits may use together in one process: the
// uploaded files, the decoded pixels and inflated PDF streams, the documents being
// written. Every way into the safe (an owner's upload, an agent's, an issuer's) takes
// its share from the same Budget before it holds the memory, so that a burst of uploads
// or a decompression bomb is answered with ErrBusy or ErrTooLarge rather than by the
// kernel killing the process.
//
// Shares are weighed in bytes, not counted in requests: a one-page photo and a
// hundred-page scan do not cost the same. A Budget is safe for concurrent use.
type Budget struct {
	sem  *semaphore.Weighted
	size int64
	wait time.Duration
}

// NewBudget returns a budget of size bytes. A reservation waits at most wait for memory
// to come back before giving up with ErrBusy.
func NewBudget(size int64, wait time.Duration) *Budget {
	return &Budget{sem: semaphore.NewWeighted(size), size: size, wait: wait}
}

// Size is the budget's total, in bytes.
func (b *Budget) Size() int64 { return b.size }

// Reserve takes n bytes of the budget. It waits for other deposits to give memory back,
// at most the budget's wait or until ctx ends, then gives up with an error wrapping
// ErrBusy; a share larger than the whole budget is refused at once with ErrTooLarge.
// The caller must Release the reservation.
func (b *Budget) Reserve(ctx context.Context, n int64) (*Reservation, error) {
	r := &Reservation{b: b}
	if err := r.Grow(ctx, n); err != nil {
		return nil, err
	}
	return r, nil
}

// Reservation is one deposit's share of a Budget. Its methods do nothing on a nil
// Reservation, which is how Process runs without a budget.
type Reservation struct {
	b *Budget

	mu       sync.Mutex
	n        int64 // bytes held
	running  int   // decoders still running, see hold
	released bool  // the owner called Release
}

// Grow adds n bytes to the reservation, on the same terms as Budget.Reserve.
func (r *Reservation) Grow(ctx context.Context, n int64) error {
	if r == nil || n <= 0 {
		return nil
	}
	r.mu.Lock()
	held := r.n
	r.mu.Unlock()
	if held+n > r.b.size {
		return fmt.Errorf("ingest: %d bytes needed, %d in the whole budget: %w", held+n, r.b.size, ErrTooLarge)
	}
	wctx, cancel := context.WithTimeout(ctx, r.b.wait)
	defer cancel()
	if err := r.b.sem.Acquire(wctx, n); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("ingest: waiting for memory: %w", ctxErr(ctx))
		}
		return fmt.Errorf("ingest: %d bytes not available after %s: %w", n, r.b.wait, ErrBusy)
	}
	r.mu.Lock()
	r.n += n
	r.mu.Unlock()
	return nil
}

// Release gives the reservation back to the budget. When Process left a decoder running
// after a timeout (decoders cannot be interrupted), the memory comes back only when that
// decoder has finished, so that the budget never counts as free memory still in use.
// Release may be called more than once.
func (r *Reservation) Release() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.released = true
	r.giveBack()
}

// hold keeps the reservation while a decoder runs; done lets it go.
func (r *Reservation) hold() (done func()) {
	if r == nil {
		return func() {}
	}
	r.mu.Lock()
	r.running++
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.running--
			r.giveBack()
		})
	}
}

// giveBack returns the memory once the owner has released it and no decoder runs; r.mu
// is held.
func (r *Reservation) giveBack() {
	if !r.released || r.running > 0 || r.n == 0 {
		return
	}
	r.b.sem.Release(r.n)
	r.n = 0
}
