package ingest

import (
	"bytes"
	"context"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

//nolint:gochecknoglobals // made once per test binary
var (
	photo12MPOnce sync.Once
	photo12MP     []byte
)

// phone12MP is a 4000×3000 JPEG photo of a document on a wooden table,
// generated once per test binary.
func phone12MP(b testing.TB) []byte {
	photo12MPOnce.Do(func() {
		rng := rand.New(rand.NewPCG(12, 12))
		sc := genScene(rng, sceneOpts{w: 4000, h: 3000, kind: bgWood, noise: 3, shadow: true,
			minFill: 0.75, maxFill: 0.85, rot: 10, persp: 0.05})
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, sc.img, &jpeg.Options{Quality: 92}); err != nil {
			b.Fatal(err)
		}
		photo12MP = buf.Bytes()
	})
	return photo12MP
}

// peakHeap samples the live heap, Go's and C's (libheif, libjpeg-turbo),
// every millisecond until stop is called, and returns the highest value
// seen.
func peakHeap() (stop func() uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64() + cHeapInUse(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// BenchmarkNormalizePhoto12MP turns a 12 MP phone photo into a PDF page and
// a thumbnail. Run with -cpu 1,2: ns/op is wall time per photo, so with 2
// CPUs it measures throughput of two photos in flight.
func BenchmarkNormalizePhoto12MP(b *testing.B) {
	in := phone12MP(b)
	b.SetBytes(int64(len(in)))
	var mu sync.Mutex
	var st StageTimes
	var pageBytes, thumbBytes int64
	stop := peakHeap()
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := Process(context.Background(), []io.Reader{bytes.NewReader(in)}, Options{}, io.Discard, io.Discard)
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			st.Decode += res.Stages.Decode
			st.Detect += res.Stages.Detect
			st.Warp += res.Stages.Warp
			st.Enhance += res.Stages.Enhance
			st.Encode += res.Stages.Encode
			pageBytes += int64(res.Pages[0].Bytes)
			thumbBytes += res.ThumbBytes
			mu.Unlock()
		}
	})
	b.StopTimer()
	cpu := cpuTime() - cpu0
	peak := stop()
	n := float64(b.N)
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/n, "cpu-ms/op")
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / n }
	b.ReportMetric(ms(st.Decode), "decode-ms/op")
	b.ReportMetric(ms(st.Detect), "detect-ms/op")
	b.ReportMetric(ms(st.Warp), "warp-ms/op")
	b.ReportMetric(ms(st.Enhance), "enhance-ms/op")
	b.ReportMetric(ms(st.Encode), "encode-ms/op")
	b.ReportMetric(float64(pageBytes)/n/1024, "page-KB")
	b.ReportMetric(float64(thumbBytes)/n/1024, "thumb-KB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	// The raw component, in the same run: image/jpeg decoding the same file. The
	// ratio follows the machine less than CPU-ms do: on the same code, the decode
	// took 127–190 ms on different days here. The target, 300 CPU-ms when it
	// took 152, is a ratio of 1.97.
	std := decodeCPU(b, func() error { _, err := jpeg.Decode(bytes.NewReader(in)); return err })
	b.ReportMetric(std, "stdjpeg-decode-cpu-ms")
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/n/std, "x-stdjpeg-decode")
}

// decodeCPU is the CPU time of one call of decode, in milliseconds: the least
// of three, after a collection, so that neither the benchmark's garbage nor a
// neighbour's burst is counted in it.
func decodeCPU(b *testing.B, decode func() error) float64 {
	b.Helper()
	runtime.GC()
	best := time.Duration(math.MaxInt64)
	for range 3 {
		cpu0 := cpuTime()
		if err := decode(); err != nil {
			b.Fatal(err)
		}
		best = min(best, cpuTime()-cpu0)
	}
	return float64(best) / float64(time.Millisecond)
}

// BenchmarkNormalizeHEIC turns HEIC photos into a PDF page and a thumbnail,
// one at a time: every HEIC of 8 MP or more in testdata/heic, and the files
// COFFRE_HEIC_SAMPLES lists (separated by colons; real phone photos, which
// the repository does not hold). In the same run it reports the raw
// components on the same file: ingest's HEIC decoding alone, and Debian's
// heif-convert (libheif-examples) decoding it and writing a JPEG, when
// installed.
func BenchmarkNormalizeHEIC(b *testing.B) {
	for _, path := range heicBenchFiles(b) {
		in, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(path), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			var st StageTimes
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				res, err := Process(context.Background(), []io.Reader{bytes.NewReader(in)}, Options{}, io.Discard, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				st.Decode += res.Stages.Decode
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/n, "cpu-ms/op")
			b.ReportMetric(float64(st.Decode)/float64(time.Millisecond)/n, "decode-ms/op")
			b.ReportMetric(decodeCPU(b, func() error { _, err := decodeImage(HEIC, in); return err }), "heic-decode-cpu-ms")
			if conv, err := exec.LookPath("heif-convert"); err == nil {
				out := filepath.Join(b.TempDir(), "out.jpg")
				var cpu time.Duration
				for range 3 {
					cmd := exec.Command(conv, path, out)
					if msg, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("heif-convert: %v: %s", err, msg)
					}
					cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				}
				b.ReportMetric(float64(cpu)/float64(time.Millisecond)/3, "heif-convert-cpu-ms")
			}
		})
	}
}

func heicBenchFiles(b *testing.B) []string {
	files, err := filepath.Glob("testdata/heic/*.heic")
	if err != nil {
		b.Fatal(err)
	}
	var big []string
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if cfg, err := decodeConfig(HEIC, in); err == nil && cfg.Width*cfg.Height >= 8_000_000 {
			big = append(big, f)
		}
	}
	if env := os.Getenv("COFFRE_HEIC_SAMPLES"); env != "" {
		big = append(big, strings.Split(env, ":")...)
	}
	if len(big) == 0 {
		b.Skip("no HEIC of 8 MP or more")
	}
	return big
}

// BenchmarkDecodeJPEG12MP is the raw component for comparison: the
// standard library decoding the same photo, nothing else.
func BenchmarkDecodeJPEG12MP(b *testing.B) {
	in := phone12MP(b)
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSanitizePDF validates, sanitises and rewrites a 20-page scanned
// PDF and extracts its first-page thumbnail.
func BenchmarkSanitizePDF(b *testing.B) {
	in := scanPDF(b, 20)
	b.SetBytes(int64(len(in)))
	b.ReportMetric(float64(len(in))/(1<<20), "input-MB")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Process(context.Background(), []io.Reader{bytes.NewReader(in)}, Options{}, io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if res.PageCount != 20 {
			b.Fatalf("%d pages", res.PageCount)
		}
	}
}
