package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// The papers of a link merge into one valid PDF, their pages in order.
func TestMergePDFs(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	sc := genScene(rng, sceneOpts{w: 800, h: 600, kind: bgWood, noise: 3, minFill: 0.6, maxFill: 0.8})
	var photo bytes.Buffer
	if _, err := Process(context.Background(), []io.Reader{bytes.NewReader(encodeJPEG(t, sc.img, 90))}, Options{}, &photo, nil); err != nil {
		t.Fatal(err)
	}
	scan := scanPDF(t, 3)
	var out bytes.Buffer
	if err := MergePDFs(context.Background(), [][]byte{photo.Bytes(), scan}, &out); err != nil {
		t.Fatal(err)
	}
	checkPDF(t, out.Bytes(), 4)

	if err := MergePDFs(context.Background(), [][]byte{photo.Bytes(), []byte("%PDF-1.4\nnot a pdf")}, io.Discard); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a damaged part: %v, want ErrCorrupt", err)
	}
	if err := MergePDFs(context.Background(), nil, io.Discard); !errors.Is(err, ErrNoPages) {
		t.Errorf("no part: %v, want ErrNoPages", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := MergePDFs(ctx, [][]byte{scan, scan}, io.Discard); !errors.Is(err, ErrCanceled) {
		t.Errorf("canceled: %v, want ErrCanceled", err)
	}
}

// What merging holds is reserved from the deposits' budget.
func TestReserveMerge(t *testing.T) {
	b := NewBudget(200<<20, 10*time.Millisecond)
	r, err := b.ReserveMerge(context.Background(), 30<<20)
	if err != nil {
		t.Fatal(err)
	}
	if r.n != mergeCost(30<<20) || r.n < 3*(30<<20) {
		t.Errorf("reserved %d bytes for 30 MB of parts", r.n)
	}
	if _, err := b.ReserveMerge(context.Background(), 30<<20); !errors.Is(err, ErrBusy) {
		t.Errorf("second merge while the first runs: %v, want ErrBusy", err)
	}
	r.Release()
	if _, err := b.ReserveMerge(context.Background(), 100<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("merge larger than the budget: %v, want ErrTooLarge", err)
	}
}
