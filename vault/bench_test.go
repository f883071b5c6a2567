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
	"slices"
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

var benchSizes = []int{1 << 20, 20 << 20} //nolint:gochecknoglobals // the sizes every benchmark is run at

// Issue 12, measured 2026-11-29 on the shared 2-core machine (load 8–25: ratios swing 2–4×
// from run to run, so these are medians of 3–5 runs, the landed code (9039010) and this
// one alternating; vault/raw unless said).
//
//	                      before   after   what the profile / stage timings showed
//	Deposit 1 MB           1.62     1.54   11 sequential DB round trips, 2 commits: now 6,
//	                                       the rows in one batch, the upload marker committed
//	                                       while uploading (its last bytes wait for it)
//	Deposit 20 MB          1.66     1.47   same
//	Open 1 MB              2.84     4.03   absolute 35 → 27 ms; the floor is the journal's
//	                                       commit (fsync, 2–40 ms here) before the first byte
//	Open 20 MB             2.7      2.4    sha256 20 ms, chacha20 15 ms, memmove 11 ms per
//	                                       read; allocation of the stages' buffers (pooled now)
//	List+deposit p50/p99   see BenchmarkListAndDepositUnderLoad's metrics (report)
//
// Measured again 2026-11-30 (load 9–17; 1194ae8 and this code alternating, 3 runs of 30
// iterations; the median of the three runs' vault/raw-median, then of their vault/raw):
//
//	                      before       after        what changed, and why
//	Open 20 MB            2.48 / 2.39  1.82 / 1.64  client CPU per read 42–45 → 31–32 ms (raw
//	                                                GET: 13–16): age's reader copied each chunk
//	                                                twice and allocated 64 KiB per chunk, the
//	                                                hash copied it again; now decrypted in place
//	                                                in pooled blocks, hashed and served from
//	                                                them (stream.go). Read heap peak (200 MB):
//	                                                13.9 → 2.1 MB
//	Open 1 MB             2.87 / 3.11  2.58 / 2.65  the row is read in the journal's first round
//	                                                trip; what is left is two round trips and
//	                                                the commit's WAL flush before the first
//	                                                byte, which the law requires
//	Deposit 1 MB          1.91 / 1.78  1.45 / 1.56  the rows and the journal entry are written
//	Deposit 20 MB         1.44 / 1.40  1.22 / 1.30  while the store finishes the upload (12–17 ms
//	                                                after the last byte is read, under load);
//	                                                only the commit waits for it
//
// Measured again 2026-11-30 (second session; f1d72b6's vault and this one built with the
// same benchmarks and alternating, 5 to 22 runs each at load 1–6; the median of the
// runs' vault/raw). The CPU metrics (vaulttest.CPUComparison) showed why the ratios
// stop where they do: a 20 MB read costs MinIO 13–17 ms of CPU and us 25–30 (ChaCha20-
// Poly1305 10, SHA-256 14, reading the socket 5), against 13–16 and 14–17 for a raw GET
// (whose client reads 8 KiB at a time); on two cores that is 21–23 ms at best, against
// 18–20 for the raw GET.
//
//	                      before  after  what changed, and why
//	Deposit 1 MB          1.48    1.30   minio-go signed every 64 KiB of a body over plain
//	Deposit 20 MB         1.32    1.04   HTTP with SHA-256, checked again by MinIO: uploads
//	                                     now go unsigned with a trailing CRC32C (over HTTPS
//	                                     or to loopback, NewS3Store); whether the safe is
//	                                     open is asked during the upload. Against the
//	                                     store's own PUT (-store): 1.43 → 1.27, 1.20 → 1.30
//	Open 1 MB             1.77    1.62   the object is decrypted and hashed while the access
//	Open 20 MB            1.34    1.31   is journaled (448 KiB at most before it is
//	                                     allowed), and with the object's length known, each
//	                                     block goes on as soon as it is read, the first ones
//	                                     small

// Measured again 2026-11-30 (load about 1, 3 runs of 200–300 reads): Open 1 MB 1.44–1.73
// (median of the pairs 1.46–1.63), 20 MB 1.22–1.37. The primitives run at the hardware's
// speed: crypto/sha256 1.71–1.76 GB/s with SHA-NI (minio/sha256-simd the same, 1.68–1.76),
// ChaCha20-Poly1305 2.3–2.7 GB/s. The object's layout costs MinIO a little on each GET: the
// same bytes put as the store puts them (6 MiB parts, a trailing CRC32C) take MinIO
// 0.05–0.3 ms more CPU to GET at 1 MB and 1.1–1.8 ms at 20 MB than after minio-go's
// default PutObject, and the GET 1 % and 3–5 % longer; the parts stay at 6 MiB, which
// bound a deposit's memory.
//
// Where a 1 MB read's time goes (third session, idle; the first-byte metrics): after the
// first byte, ours takes what the raw GET takes (0.9–1.1 ms for the rest of the MB); the
// whole gap is before it, 3.2–3.8 ms against 1.9–2.4. An instrumented build showed the
// journal committed 2.2–2.5 ms after the call and the object's header 2.5–2.8 ms after it,
// although the store's GET alone answers in 1.24 ms (the same for an object put as the
// store puts it or by minio-go's default: 1.24 / 1.23 ms, 300 GETs each): the GET's
// first byte waits for MinIO's CPU, which the journal's transaction (this process and
// PostgreSQL) shares on two cores. Reading further ahead before the commit (aheadBlocks
// 3 → 6) changed nothing, and was not kept.

// BenchmarkDepositVsRawPut puts the same bytes through the vault (encrypt, hash, upload,
// commit with journal) and through a plain minio-go PutObject to the same MinIO, in the
// same run, and reports both times and their ratio (target: vault ≤ 1.25 × raw at 20 MB).
//
// The two sides run in alternating batches of 10, so that the CPU each spends can be read
// over whole batches (/proc counts in 10 ms ticks). Per operation, raw-cpu-ms/op and
// vault-cpu-ms/op are the CPU of this process, MinIO and PostgreSQL together, and
// raw-/vault-self-, -minio- and -pg-cpu-ms/op each one's share (MinIO's and PostgreSQL's
// are left out without COFFRE_VAR; they include other tests' load on the shared services);
// raw-cores and vault-cores are CPU / wall time; cpu-ceiling is raw CPU / vault CPU, the
// best raw/vault time ratio a CPU-saturated machine could give (vaulttest.CPUComparison).
//
// In the -store runs, the raw side is the vault's own store's Put of the same bytes: the
// same upload as a deposit's (an unsigned body with a trailing CRC32C checksum, see
// NewS3Store), where minio-go's default over plain HTTP signs every 64 KiB with SHA-256.
func BenchmarkDepositVsRawPut(b *testing.B) {
	for _, size := range benchSizes {
		for _, store := range []bool{false, true} {
			name := fmt.Sprintf("%dMB", size>>20)
			if store {
				name += "-store"
			}
			benchDeposit(b, name, size, store)
		}
	}
}

// benchDeposit runs one of BenchmarkDepositVsRawPut's comparisons; store says which raw
// PUT.
func benchDeposit(b *testing.B, name string, size int, store bool) {
	b.Run(name, func(b *testing.B) {
		tb := setup(b)
		owner, by := tb.owner(b)
		client := vaulttest.Client(b, tb.s3)
		data := make([]byte, size)
		_, _ = newPattern(int64(size)).Read(data) // a pattern never fails
		ctx := context.Background()
		raw := func() {
			if _, err := client.PutObject(ctx, tb.s3.Bucket, uuid.NewString(), bytes.NewReader(data), int64(size), minio.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		if store {
			raw = func() {
				if err := tb.store.Put(ctx, uuid.NewString(), bytes.NewReader(data), int64(size)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.SetBytes(int64(size))
		b.ResetTimer()
		reportVsRaw(b, raw, func() {
			if _, err := tb.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindAutre, Title: "bench",
				Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: bytes.NewReader(data), Size: int64(size)}}}); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkOpenVsRawGet reads the same bytes back through the vault (journal entry,
// download, decrypt, SHA-256 check) and with a plain minio-go GetObject. Its metrics are
// those of BenchmarkDepositVsRawPut, and raw- and vault-first-byte-ms: the mean time from
// the call to the first byte read, what a person waits before a paper starts to arrive
// (for the vault, the journal entry committed and the object's header authenticated).
func BenchmarkOpenVsRawGet(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			tb := setup(b)
			owner, by := tb.owner(b)
			client := vaulttest.Client(b, tb.s3)
			data := make([]byte, size)
			_, _ = newPattern(int64(size)).Read(data) // a pattern never fails
			ctx := context.Background()
			rawKey := uuid.NewString()
			if _, err := client.PutObject(ctx, tb.s3.Bucket, rawKey, bytes.NewReader(data), int64(size), minio.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
			d := tb.deposit(b, owner, by, "bench", data)
			var rawFirst, vaultFirst time.Duration
			b.SetBytes(int64(size))
			b.ResetTimer()
			reportVsRaw(b, func() {
				start := time.Now()
				obj, err := client.GetObject(ctx, tb.s3.Bucket, rawKey, minio.GetObjectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				// Read through firstByte as before through io.Discard: 8 KiB at a time.
				if n, err := io.Copy(io.Discard, &firstByte{r: obj, start: start, took: &rawFirst}); err != nil || n != int64(size) {
					b.Fatal(n, err)
				}
				obj.Close()
			}, func() {
				start := time.Now()
				r, err := tb.v.Open(ctx, owner, d.ID, d.Blobs[0].ID, by, vault.ActionDownload)
				if err != nil {
					b.Fatal(err)
				}
				// Written to firstByte by the reader's WriteTo, as before to io.Discard.
				if n, err := io.Copy(&firstByte{w: io.Discard, start: start, took: &vaultFirst}, r); err != nil || n != int64(size) {
					b.Fatal(n, err)
				}
				r.Close()
			})
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
			b.ReportMetric(ms(rawFirst), "raw-first-byte-ms")
			b.ReportMetric(ms(vaultFirst), "vault-first-byte-ms")
		})
	}
}

// firstByte adds to took the time from start to the first bytes read from r, or written
// to w: each side of BenchmarkOpenVsRawGet is read as it was without it.
type firstByte struct {
	r     io.Reader
	w     io.Writer
	start time.Time
	took  *time.Duration
	seen  bool
}

func (f *firstByte) mark(n int) {
	if n > 0 && !f.seen {
		f.seen = true
		*f.took += time.Since(f.start)
	}
}

func (f *firstByte) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.mark(n)
	return n, err
}

func (f *firstByte) Write(p []byte) (int, error) {
	f.mark(len(p))
	return f.w.Write(p)
}

// reportVsRaw runs raw and ours b.N times each, in alternating batches (vaulttest's
// CPUComparison), and reports their times per operation (raw-ms/op, vault-ms/op), the ratio
// of the totals (vault/raw), the median of the ratios of each operation's pair
// (vault/raw-median: the i-th of ours over the i-th raw, run one batch apart), and the CPU
// metrics.
func reportVsRaw(b *testing.B, raw, ours func()) {
	rawT, vltT := make([]time.Duration, b.N), make([]time.Duration, b.N)
	timed := func(f func(), into []time.Duration) func(int) {
		return func(i int) {
			start := time.Now()
			f()
			into[i] = time.Since(start)
		}
	}
	var c vaulttest.CPUComparison
	c.Alternate(b.N, 1, timed(raw, rawT), timed(ours, vltT))
	var rawSum, vltSum time.Duration
	ratios := make([]float64, b.N)
	for i := range ratios {
		rawSum, vltSum = rawSum+rawT[i], vltSum+vltT[i]
		ratios[i] = float64(vltT[i]) / float64(rawT[i])
	}
	b.ReportMetric(float64(rawSum.Milliseconds())/float64(b.N), "raw-ms/op")
	b.ReportMetric(float64(vltSum.Milliseconds())/float64(b.N), "vault-ms/op")
	b.ReportMetric(float64(vltSum)/float64(rawSum), "vault/raw")
	b.ReportMetric(median(ratios), "vault/raw-median")
	c.Report(b, "vault")
}

// median is the median of the ratios of each iteration: on a shared machine a burst of
// load that hits one side of one iteration moves it less than the ratio of the totals.
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
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

// BenchmarkListAndDepositUnderLoad: 32 people list their papers (Shelves, what the list
// page shows) while 8 others deposit a 1 MB paper each, all at once; then the same load
// on the raw components (the list's SQL without decryption, a plain PUT), in the same
// run. Reports p50 and p99 of each, so that a path that degrades under the other's load
// shows.
func BenchmarkListAndDepositUnderLoad(b *testing.B) {
	const listers, depositors, papers, size = 32, 8, 8, 1 << 20
	tb := setup(b)
	client := vaulttest.Client(b, tb.s3)
	ctx := context.Background()
	type person struct {
		id uuid.UUID
		by vault.Actor
	}
	people := make([]person, listers+depositors)
	for i := range people {
		people[i].id, people[i].by = tb.owner(b)
	}
	small := make([]byte, 20<<10)
	_, _ = newPattern(int64(len(small))).Read(small) // a pattern never fails
	var wg sync.WaitGroup
	for i := range listers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range papers {
				tb.deposit(b, people[i].id, people[i].by, fmt.Sprint("papier ", j), small)
			}
		}()
	}
	wg.Wait()
	data := make([]byte, size)
	_, _ = newPattern(size).Read(data) // a pattern never fails

	// round runs list on every lister and deposit on every depositor at once, and
	// returns their latencies.
	round := func(list func(p person) error, deposit func(p person) error) (lists, deposits []time.Duration) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		run := func(p person, f func(person) error, into *[]time.Duration) {
			defer wg.Done()
			start := time.Now()
			if err := f(p); err != nil {
				b.Error(err)
			}
			mu.Lock()
			*into = append(*into, time.Since(start))
			mu.Unlock()
		}
		for i, p := range people {
			wg.Add(1)
			if i < listers {
				go run(p, list, &lists)
			} else {
				go run(p, deposit, &deposits)
			}
		}
		wg.Wait()
		return lists, deposits
	}
	vaultList := func(p person) error {
		shelves, _, err := tb.v.Shelves(ctx, p.id, 3, time.Now())
		if err == nil && (len(shelves) != 1 || shelves[0].Total != papers) {
			err = fmt.Errorf("shelves %+v", shelves)
		}
		return err
	}
	vaultDeposit := func(p person) error {
		_, err := tb.v.Deposit(ctx, p.id, p.by, vault.NewDocument{Kind: vault.KindAutre, Title: "bench",
			Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: bytes.NewReader(data), Size: size}}})
		return err
	}
	rawList := func(p person) error {
		rows, err := tb.db.Query(ctx, `
			SELECT d.id, d.kind_sealed, d.title_sealed, d.issued_on, d.expires_on, d.created_at,
				EXISTS (SELECT 1 FROM blobs b WHERE b.document_id = d.id AND b.owner_id = d.owner_id AND b.role = 'thumbnail')
			FROM documents d WHERE d.owner_id = $1 AND d.deleted_at IS NULL
			ORDER BY d.created_at DESC, d.id`, p.id)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n != papers {
			return fmt.Errorf("%d rows", n)
		}
		return nil
	}
	rawPut := func(p person) error {
		_, err := client.PutObject(ctx, tb.s3.Bucket, uuid.NewString(), bytes.NewReader(data), size, minio.PutObjectOptions{})
		return err
	}
	var vl, vd, rl, rp []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, d := round(rawList, rawPut)
		rl, rp = append(rl, l...), append(rp, d...)
		l, d = round(vaultList, vaultDeposit)
		vl, vd = append(vl, l...), append(vd, d...)
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		lat  []time.Duration
	}{{"list", vl}, {"deposit", vd}, {"raw-list", rl}, {"raw-put", rp}} {
		slices.Sort(m.lat)
		b.ReportMetric(float64(m.lat[len(m.lat)/2].Microseconds())/1000, m.name+"-p50-ms")
		b.ReportMetric(float64(m.lat[len(m.lat)*99/100].Microseconds())/1000, m.name+"-p99-ms")
	}
}
