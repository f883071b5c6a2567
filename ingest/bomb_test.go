package ingest

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// Deposit bombs, built here: small files that ask for a great deal of memory once
// decoded. Each is refused, or processed within what it reserved.

// zeros is n bytes of zeros compressed with zlib: 1000 times smaller.
func zeros(n int) []byte {
	var b bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	chunk := make([]byte, 1<<20)
	for ; n > 0; n -= len(chunk) {
		zw.Write(chunk[:min(n, len(chunk))])
	}
	zw.Close()
	return b.Bytes()
}

// inflatingPDF has pages whose content streams each inflate to each bytes.
func inflatingPDF(pages, each int) []byte {
	z := zeros(each)
	var kids bytes.Buffer
	for i := range pages {
		fmt.Fprintf(&kids, "%d 0 R ", 3+2*i)
	}
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), pages)}
	for i := range pages {
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>", 4+2*i),
			fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", len(z), z))
	}
	return rawPDF(objs...)
}

// manyPagesPDF has n empty pages.
func manyPagesPDF(n int) []byte {
	var kids bytes.Buffer
	for i := range n {
		fmt.Fprintf(&kids, "%d 0 R ", 3+i)
	}
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] >>", kids.String(), n)}
	for range n {
		objs = append(objs, "<< /Type /Page /Parent 2 0 R >>")
	}
	return rawPDF(objs...)
}

// hugePNG declares w×h pixels in its header; its data, w×h white pixels, is a thousand
// times smaller. Past the pixel limit, the data stops short.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	writePNGChunk(&b, "IHDR", ihdr)
	n := int(h) * (1 + 3*int(w)) // a filter byte per row, then the pixels
	if int64(w)*int64(h) > DefaultMaxPixels {
		n = 1 << 20
	}
	writePNGChunk(&b, "IDAT", zeros(n))
	writePNGChunk(&b, "IEND", nil)
	return b.Bytes()
}

// pagePNG is a small PNG of a printed page, as a scanner or a screenshot gives.
func pagePNG(t testing.TB, w, h int) []byte {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := uint8(255)
			if (y/20)%3 == 0 && x%50 < 40 && x > w/10 && x < 9*w/10 {
				c = 30
			}
			m.SetRGBA(x, y, color.RGBA{c, c, c, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// liveHeap is the heap in use now.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
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
	pages := pagePNG(t, 1240, 1754)
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
		{"a PDF inflating to 300 MB", [][]byte{inflatingPDF(1, 300<<20)}, ErrTooLarge},
		{"a PDF of 10 streams of 30 MB", [][]byte{inflatingPDF(10, 30<<20)}, ErrTooLarge},
		{"a PDF of 200,000 pages", [][]byte{manyPagesPDF(200_000)}, ErrTooLarge},
		{"a PDF of 20,000 pages", [][]byte{manyPagesPDF(20_000)}, ErrTooManyPages},
		{"a PNG of 60000×60000 pixels", [][]byte{hugePNG(60000, 60000)}, ErrTooManyPixels},
		{"a PNG of 7000×7000 pixels", [][]byte{hugePNG(7000, 7000)}, nil},
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
	text := inflatingPDF(3, 2<<20)
	tests := []struct {
		name   string
		inputs [][]byte
	}{
		{"photo 12 MP", [][]byte{phone12MP(t)}},
		{"PNG 3000×2000", [][]byte{pagePNG(t, 3000, 2000)}},
		{"TIFF 3 pages", [][]byte{multiPageTIFF(t, 3)}},
		{"scanned PDF, 20 pages", [][]byte{scanPDF(t, 20)}},
		{"text PDF", [][]byte{text}},
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
