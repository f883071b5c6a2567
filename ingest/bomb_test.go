package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"coffre/ingest/ingesttest"
)

// Deposit bombs (see ingesttest): small files that ask for a great deal of memory once
// decoded. Each is refused, or processed within what it reserved.

// liveHeap is the heap in use now, Go's and C's.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + cHeapInUse()
}

// measure runs Process under a Budget and returns the peak heap it added and what it
// reserved. The GC runs eagerly meanwhile, so that the peak is the memory in use rather
// than garbage the collector has not come to yet.
func measure(t *testing.T, inputs ...[]byte) (peak, reserved int64, err error) {
	t.Helper()
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	rs := make([]io.Reader, len(inputs))
	for i, b := range inputs {
		rs[i] = bytes.NewBuffer(b) // read in place, as the web layer hands them
	}
	runtime.GC()
	base := liveHeap()
	budget := NewBudget(4<<30, time.Second)
	r, err := budget.Reserve(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	stop := peakHeap()
	var pdf, th bytes.Buffer
	_, err = Process(context.Background(), rs, Options{MaxBytes: 40 << 20, Reservation: r}, &pdf, &th)
	p := stop()
	return int64(p) - int64(base), r.n - 1, err
}

func TestDepositBombs(t *testing.T) {
	pages := ingesttest.PagePNG(1240, 1754)
	copies := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = pages
		}
		return out
	}
	tests := []struct {
		name   string
		inputs [][]byte
		want   error // nil: processed within what it reserved
	}{
		{"a PDF inflating to 300 MB", [][]byte{ingesttest.InflatingPDF(1, 300<<20)}, ErrTooLarge},
		{"a PDF of 10 streams of 30 MB", [][]byte{ingesttest.InflatingPDF(10, 30<<20)}, ErrTooLarge},
		{"a PDF inflating to 300 MB behind two filters", [][]byte{ingesttest.InflatingPDFA85(300 << 20)}, ErrTooLarge},
		{"a PDF inflating to 300 MB through an indirect filter", [][]byte{ingesttest.InflatingPDFIndirect(300 << 20)}, ErrTooLarge},
		{"a PDF of 200,000 pages", [][]byte{ingesttest.ManyPagesPDF(200_000)}, ErrTooLarge},
		{"a PDF of 20,000 pages", [][]byte{ingesttest.ManyPagesPDF(20_000)}, ErrTooManyPages},
		{"a PNG of 60000×60000 pixels", [][]byte{ingesttest.HugePNG(60000, 60000, DefaultMaxPixels)}, ErrTooManyPixels},
		{"a PNG of 7000×7000 pixels", [][]byte{ingesttest.HugePNG(7000, 7000, DefaultMaxPixels)}, nil},
		{"20 small PNG pages", copies(20), nil},
		{"101 pages", copies(101), ErrTooManyPages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			peak, reserved, err := measure(t, tt.inputs...)
			t.Logf("%d bytes: peak heap %d MB, reserved %d MB, %s, %v", len(bytes.Join(tt.inputs, nil)), peak>>20, reserved>>20, time.Since(start).Round(time.Millisecond), err)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("%v, want %v", err, tt.want)
				}
				if peak > 64<<20 {
					t.Errorf("refused after taking %d MB", peak>>20)
				}
				return
			}
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatal(err)
			}
			if peak > reserved {
				t.Errorf("peak heap %d MB above the %d MB reserved", peak>>20, reserved>>20)
			}
		})
	}
}

// The reservation covers what processing really takes, for every kind of input.
func TestCostCovers(t *testing.T) {
	text := ingesttest.InflatingPDF(3, 2<<20)
	heic, err := os.ReadFile("testdata/test8.heic")
	if err != nil {
		t.Fatal(err)
	}
	grid, err := os.ReadFile("testdata/heic/grid-12mp.heic")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := os.ReadFile("testdata/heic/grid-rotated.heic")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		inputs [][]byte
	}{
		{"photo 12 MP", [][]byte{phone12MP(t)}},
		{"PNG 3000×2000", [][]byte{ingesttest.PagePNG(3000, 2000)}},
		{"TIFF 3 pages", [][]byte{multiPageTIFF(t, 3)}},
		{"scanned PDF, 20 pages", [][]byte{scanPDF(t, 20)}},
		{"text PDF", [][]byte{text}},
		{"HEIC", [][]byte{heic}},
		{"HEIC 12 MP grid", [][]byte{grid}},
		{"HEIC grid turned", [][]byte{rotated}},
	}
	if env := os.Getenv("COFFRE_HEIC_SAMPLES"); env != "" {
		for _, f := range strings.Split(env, ":") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tests = append(tests, struct {
				name   string
				inputs [][]byte
			}{filepath.Base(f), [][]byte{b}})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peak, reserved, err := measure(t, tt.inputs...)
			t.Logf("peak heap %d MB, reserved %d MB", peak>>20, reserved>>20)
			if err != nil {
				t.Fatal(err)
			}
			if peak > reserved {
				t.Errorf("peak heap %d MB above the %d MB reserved", peak>>20, reserved>>20)
			}
		})
	}
}

// decodeChain decodes every filter that inflates as pdfcpu does, streaming.
func TestDecodeChain(t *testing.T) {
	data := bytes.Repeat([]byte("BT /F1 12 Tf 72 700 Td (Attestation de droits) Tj ET\n"), 2000)
	data = append(data, make([]byte, 5000)...) // runs, for RunLength
	for _, chain := range [][]string{
		{filter.Flate}, {filter.LZW}, {filter.ASCII85}, {filter.ASCIIHex}, {filter.RunLength},
		{filter.ASCII85, filter.Flate}, {filter.ASCIIHex, filter.LZW}, {filter.ASCII85, filter.RunLength},
	} {
		t.Run(fmt.Sprint(chain), func(t *testing.T) {
			enc := data
			fs := make([]types.PDFFilter, len(chain))
			for i := len(chain) - 1; i >= 0; i-- {
				f, err := filter.NewFilter(chain[i], nil)
				if err != nil {
					t.Fatal(err)
				}
				r, err := f.Encode(bytes.NewReader(enc))
				if err != nil {
					t.Fatal(err)
				}
				if enc, err = io.ReadAll(r); err != nil {
					t.Fatal(err)
				}
				fs[i].Name = chain[i]
			}
			r, ok := decodeChain(enc, fs)
			if !ok {
				t.Fatal("unknown filter")
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("decoded %d bytes, want the %d encoded", len(got), len(data))
			}
		})
	}
	if _, ok := decodeChain(nil, []types.PDFFilter{{Name: filter.CCITTFax}}); ok {
		t.Error("fax compression is decoded")
	}
}
