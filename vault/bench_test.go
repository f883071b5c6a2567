package vault_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"coffre/vault"
	"coffre/vault/vaulttest"
)

var benchSizes = []int{1 << 20, 20 << 20}

// BenchmarkDepositVsRawPut puts the same bytes through the vault (encrypt, hash, upload,
// commit with journal) and through a plain minio-go PutObject to the same MinIO, in the
// same run, and reports both times and their ratio (target: vault ≤ 1.25 × raw at 20 MB).
func BenchmarkDepositVsRawPut(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			tb := setup(b)
			owner, by := tb.owner(b)
			client := vaulttest.Client(b, tb.s3)
			data := make([]byte, size)
			newPattern(int64(size)).Read(data)
			ctx := context.Background()
			var raw, vlt time.Duration
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, err := client.PutObject(ctx, tb.s3.Bucket, uuid.NewString(), bytes.NewReader(data), int64(size), minio.PutObjectOptions{}); err != nil {
					b.Fatal(err)
				}
				raw += time.Since(start)
				start = time.Now()
				if _, err := tb.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindAutre, Title: "bench",
					Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: bytes.NewReader(data), Size: int64(size)}}}); err != nil {
					b.Fatal(err)
				}
				vlt += time.Since(start)
			}
			b.ReportMetric(float64(raw.Milliseconds())/float64(b.N), "raw-ms/op")
			b.ReportMetric(float64(vlt.Milliseconds())/float64(b.N), "vault-ms/op")
			b.ReportMetric(float64(vlt)/float64(raw), "vault/raw")
		})
	}
}

// BenchmarkOpenVsRawGet reads the same bytes back through the vault (journal entry,
// download, decrypt, SHA-256 check) and with a plain minio-go GetObject.
func BenchmarkOpenVsRawGet(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			tb := setup(b)
			owner, by := tb.owner(b)
			client := vaulttest.Client(b, tb.s3)
			data := make([]byte, size)
			newPattern(int64(size)).Read(data)
			ctx := context.Background()
			rawKey := uuid.NewString()
			if _, err := client.PutObject(ctx, tb.s3.Bucket, rawKey, bytes.NewReader(data), int64(size), minio.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
			d := tb.deposit(b, owner, by, "bench", data)
			var raw, vlt time.Duration
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				obj, err := client.GetObject(ctx, tb.s3.Bucket, rawKey, minio.GetObjectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, obj); err != nil || n != int64(size) {
					b.Fatal(n, err)
				}
				obj.Close()
				raw += time.Since(start)
				start = time.Now()
				r, err := tb.v.Open(ctx, owner, d.ID, d.Blobs[0].ID, by, vault.ActionDownload)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != int64(size) {
					b.Fatal(n, err)
				}
				r.Close()
				vlt += time.Since(start)
			}
			b.ReportMetric(float64(raw.Milliseconds())/float64(b.N), "raw-ms/op")
			b.ReportMetric(float64(vlt.Milliseconds())/float64(b.N), "vault-ms/op")
			b.ReportMetric(float64(vlt)/float64(raw), "vault/raw")
		})
	}
}

// heapPeak samples the live heap every millisecond while f runs and returns the peak
// above the heap at the start.
func heapPeak(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if h := read(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// BenchmarkMemory200MB reports how much the heap grows while depositing and while reading
// a 200 MB stream of unknown length (target: ≤ 32 MB each).
func BenchmarkMemory200MB(b *testing.B) {
	tb := setup(b)
	owner, by := tb.owner(b)
	ctx := context.Background()
	const size = 200 << 20
	var depositPeak, readPeak uint64
	for i := 0; i < b.N; i++ {
		var d *vault.Document
		depositPeak = max(depositPeak, heapPeak(func() {
			var err error
			d, err = tb.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindAutre, Title: "big",
				Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: newPattern(size), Size: -1}}})
			if err != nil {
				b.Fatal(err)
			}
		}))
		readPeak = max(readPeak, heapPeak(func() {
			r, err := tb.v.Open(ctx, owner, d.ID, d.Blobs[0].ID, by, vault.ActionDownload)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, r); err != nil || n != size {
				b.Fatal(n, err)
			}
			r.Close()
		}))
	}
	b.ReportMetric(float64(depositPeak)/(1<<20), "deposit-peak-MB")
	b.ReportMetric(float64(readPeak)/(1<<20), "read-peak-MB")
}

// BenchmarkJournalAppend appends from parallel goroutines, each to its own owners' chains
// (target: ≥ 2,000 entries/s on 2 cores).
func BenchmarkJournalAppend(b *testing.B) {
	tb := setup(b)
	ctx := context.Background()
	b.SetParallelism(8) // appends wait on commits, not on CPU
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		owners := make([]uuid.UUID, 50)
		for i := range owners {
			owners[i] = uuid.New()
		}
		i := 0
		for pb.Next() {
			o := owners[i%len(owners)]
			i++
			if err := tb.v.Record(ctx, o, vault.Event{Actor: vault.Actor{Kind: vault.ActorOwner, ID: o.String()}, Action: vault.ActionView, DocumentID: o}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}

// BenchmarkJournalVerify verifies a journal of COFFRE_BENCH_JOURNAL_ENTRIES entries
// (default 1,000,000, in chains of 100) and a checkpoint over it (target: ≤ 10 s for 1M).
func BenchmarkJournalVerify(b *testing.B) {
	total := 1_000_000
	if s := os.Getenv("COFFRE_BENCH_JOURNAL_ENTRIES"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	tb := setup(b)
	ctx := context.Background()
	vault.FillJournal(b, tb.v, total/100, 100)
	if _, err := tb.v.Checkpoint(ctx, tb.signing); err != nil {
		b.Fatal(err)
	}
	if _, err := tb.db.Exec(ctx, `ANALYZE journal`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var rep *vault.VerifyReport
	for i := 0; i < b.N; i++ {
		var err error
		if rep, err = tb.v.VerifyJournal(ctx, tb.signing.Public().(ed25519.PublicKey)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if len(rep.Breaks) != 0 || rep.Entries < int64(total) {
		b.Fatalf("verify: %d entries, breaks %v", rep.Entries, rep.Breaks)
	}
	b.ReportMetric(float64(rep.Entries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/verify")
}
