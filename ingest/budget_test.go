package ingest

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	ctx := context.Background()
	b := NewBudget(100, 20*time.Millisecond)
	r1, err := b.Reserve(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reserve(ctx, 50); !errors.Is(err, ErrBusy) {
		t.Fatalf("over the budget: %v, want ErrBusy", err)
	}
	if _, err := b.Reserve(ctx, 101); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("more than the whole budget: %v, want ErrTooLarge", err)
	}
	if err := r1.Grow(ctx, 41); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("growing past the whole budget: %v, want ErrTooLarge", err)
	}
	if err := r1.Grow(ctx, 40); err != nil {
		t.Fatal(err)
	}
	// A decoder still running after a timeout keeps the memory after Release.
	done := r1.hold()
	r1.Release()
	r1.Release() // twice is harmless
	if _, err := b.Reserve(ctx, 1); !errors.Is(err, ErrBusy) {
		t.Fatalf("memory given back while a decoder runs: %v", err)
	}
	done()
	r2, err := b.Reserve(ctx, 100)
	if err != nil {
		t.Fatalf("memory not given back once the decoder ended: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Reserve(cctx, 1); !errors.Is(err, ErrCanceled) {
		t.Fatalf("canceled while waiting: %v, want ErrCanceled", err)
	}
	r2.Release()
	var none *Reservation // Process without a budget
	if err := none.Grow(ctx, 1<<40); err != nil {
		t.Fatal(err)
	}
	none.hold()()
	none.Release()
}

// Process grows the reservation before decoding, and a page that cannot be admitted is
// refused with ErrBusy without being decoded.
func TestProcessReserves(t *testing.T) {
	ctx := context.Background()
	photo := docPhoto(t, 7, 1600, 1200)
	b := NewBudget(1<<30, 10*time.Millisecond)
	r, err := b.Reserve(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Process(ctx, []io.Reader{bytes.NewReader(photo)}, Options{Reservation: r}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := int64(1600*1200*3) + pageWork + pageOut + 1000
	if r.n != want {
		t.Errorf("reserved %d bytes, want %d", r.n, want)
	}
	r.Release()

	small := NewBudget(pageWork, 10*time.Millisecond)
	r, err = small.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Process(ctx, []io.Reader{bytes.NewReader(photo)}, Options{Reservation: r}, io.Discard, io.Discard)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("a page larger than the whole budget: %v, want ErrTooLarge", err)
	}
	r.Release()
	b = NewBudget(256<<20, 10*time.Millisecond)
	blocker, err := b.Reserve(ctx, 200<<20)
	if err != nil {
		t.Fatal(err)
	}
	r, _ = b.Reserve(ctx, 1)
	_, err = Process(ctx, []io.Reader{bytes.NewReader(photo)}, Options{Reservation: r}, io.Discard, io.Discard)
	if !errors.Is(err, ErrBusy) || Message(err) != "Le service est très occupé en ce moment. Réessayez dans une minute." {
		t.Errorf("no memory left: %v (%q), want ErrBusy", err, Message(err))
	}
	r.Release()
	blocker.Release()
}

// A decode that runs past the timeout is abandoned by Process, which returns at once,
// but its memory stays reserved until the decoder has really finished.
func TestTimeoutKeepsReservation(t *testing.T) {
	ctx := context.Background()
	m := image.NewRGBA(image.Rect(0, 0, 6000, 4000))
	var enc bytes.Buffer
	if err := png.Encode(&enc, m); err != nil {
		t.Fatal(err)
	}
	b := NewBudget(1<<30, time.Millisecond)
	r, err := b.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Process(ctx, []io.Reader{bytes.NewReader(enc.Bytes())}, Options{Timeout: time.Millisecond, Reservation: r}, io.Discard, io.Discard)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("%v, want ErrTimeout", err)
	}
	returned := time.Since(start)
	r.Release()
	if b.sem.TryAcquire(b.size) {
		t.Fatal("the memory of a decoder still running was given back")
	}
	for !b.sem.TryAcquire(b.size) {
		if time.Since(start) > time.Minute {
			t.Fatal("the memory never came back")
		}
		time.Sleep(5 * time.Millisecond) // polls for the decoder's end
	}
	t.Logf("Process returned after %s, the decoder ended after %s", returned, time.Since(start))
}

// A canceled context stops the work between pages and between stages.
func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	photo := docPhoto(t, 8, 800, 600)
	_, err := Process(ctx, []io.Reader{bytes.NewReader(photo)}, Options{}, io.Discard, io.Discard)
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("%v, want ErrCanceled", err)
	}
}
