package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/vaulttest"
	"coffre/web"
)

// shareBench is a served Coffre with one owner, docs documents of size bytes, and a link
// to all of them.
type shareBench struct {
	vb    *vaulttest.Bundle
	srv   *httptest.Server
	docs  []*vault.Document
	token string
}

func newShareBench(b *testing.B, docs, size int) *shareBench {
	b.Helper()
	ctx := context.Background()
	sb := &shareBench{vb: vaulttest.NewVault(b)}
	share := sharing.New(sb.vb.DB, sb.vb.V, sb.vb.A)
	_, signing, _ := ed25519.GenerateKey(rand.Reader)
	sb.srv = httptest.NewServer(web.New(web.Config{Ready: sb.vb.V, Vault: sb.vb.V, Accounts: sb.vb.A, Log: slog.New(slog.DiscardHandler), Sharing: share, Signing: signing}))
	b.Cleanup(sb.srv.Close)
	o, err := sb.vb.V.CreateOwner(ctx, "", vault.System)
	if err != nil {
		b.Fatal(err)
	}
	by := vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}
	var ids []uuid.UUID
	for i := 0; i < docs; i++ {
		data := make([]byte, size)
		rand.Read(data)
		d, err := sb.vb.V.Deposit(ctx, o.ID, by, vault.NewDocument{Kind: vault.KindCAF, Title: fmt.Sprint("doc ", i),
			Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: bytesReader(data), Size: int64(size)}}})
		if err != nil {
			b.Fatal(err)
		}
		sb.docs = append(sb.docs, d)
		ids = append(ids, d.ID)
	}
	c, err := share.CreateLink(ctx, o.ID, by, sharing.NewLink{Documents: ids, Lifetime: 7 * 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	sb.token = c.Token
	return sb
}

func bytesReader(b []byte) io.Reader { return &sliceReader{b: b} }

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// Issue 12, same machine and method as vault/bench_test.go: link/raw 0.22 → 0.40 (median),
// link-MB/s 37 → 76. Stage timings per request showed 135 of 204 ms waiting for the
// journal: the 32 downloads of one safe each locked its chain head for three round trips
// and a commit, holding 16 pool connections that the other requests' queries then waited
// for (synchronous_commit off changed nothing: round trips, not fsync). Now a burst is
// journaled in one transaction of two round trips (vault/access_queue.go), the download
// reads one document instead of all 32 of the link (5% of CPU), the role is not queried
// twice, and the GET starts with the row's query: 11 sequential round trips → 6.
//
// Measured again 2026-11-30 (second session, load about 1): link/raw 0.35–0.40 → 0.39–0.43,
// cpu-ceiling 0.40–0.42: both sides keep the two cores busy (1.85–1.9 cores), and a
// download costs 4.9–5.1 ms of CPU (ours 2.8, MinIO 1.35–1.4, PostgreSQL 0.75–0.85)
// against 2.05–2.15 for a raw GET (MinIO 1.2, its client 0.8). What the law and the
// design require alone (the same GET, our reading it, ChaCha20-Poly1305 and SHA-256 of
// every byte, and sending it on to the client, who reads it as the raw client does)
// comes to about 4.1 ms: on this machine the ratio cannot pass about 0.5.
//
// Third session (idle): link/raw 0.38–0.47, cpu-ceiling 0.38–0.49. PostgreSQL's log of one
// download: five statements of its own (the guesses' throttle, the link, the document
// and its blobs in one batch, the blob's row) and its share of the burst's journal
// transaction, 0.86–1.1 ms of PostgreSQL's CPU of 6.2–7.6 ms. Putting them in fewer round
// trips would leave the statements, and their cost, as they are.
//
// BenchmarkLinkDownload: 32 clients at once each download a 1 MB document through the
// link API (token check, download count, journal, decryption, SHA-256 check, receipt),
// beside 32 plain MinIO GETs of the same objects, in the same run. Target: ≥ 0.7 × the
// raw throughput.
//
// The rounds run in alternating batches of 10 raw, 10 link, and the CPU of each side is
// read over its batches (vaulttest.CPUComparison). Per request, raw-cpu-ms/op and
// link-cpu-ms/op are the CPU of this process (client and server), MinIO and PostgreSQL
// together; raw-/link-self-, -minio- and -pg-cpu-ms/op are each one's share (MinIO's and
// PostgreSQL's are left out without COFFRE_VAR, and include other tests' load on the
// shared services); raw-cores and link-cores are CPU / wall time. When both sides keep
// the machine's cores busy, link/raw is bounded by cpu-ceiling, raw CPU per request / link
// CPU per request: a regression of any process lowers it.
func BenchmarkLinkDownload(b *testing.B) {
	const clients, size = 32, 1 << 20
	sb := newShareBench(b, clients, size)
	mc := vaulttest.Client(b, sb.vb.S3)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	ctx := context.Background()
	round := func(fetch func(i int) error) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fetch(i); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	viaLink := func(i int) error {
		resp, err := hc.Get(sb.srv.URL + "/api/v1/links/" + sb.token + "/documents/" + sb.docs[i].ID.String())
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil && (resp.StatusCode != http.StatusOK || n != size) {
			err = fmt.Errorf("status %d, %d bytes", resp.StatusCode, n)
		}
		return err
	}
	raw := func(i int) error {
		obj, err := mc.GetObject(ctx, sb.vb.S3.Bucket, sb.docs[i].Blobs[0].ID.String(), minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer obj.Close()
		_, err = io.Copy(io.Discard, obj)
		return err
	}
	var tRaw, tLink time.Duration
	var cpu vaulttest.CPUComparison
	b.SetBytes(clients * size)
	b.ResetTimer()
	cpu.Alternate(b.N, clients, func(int) { tRaw += round(raw) }, func(int) { tLink += round(viaLink) })
	mb := float64(clients*size*b.N) / (1 << 20)
	b.ReportMetric(mb/tRaw.Seconds(), "raw-MB/s")
	b.ReportMetric(mb/tLink.Seconds(), "link-MB/s")
	b.ReportMetric(tRaw.Seconds()/tLink.Seconds(), "link/raw")
	cpu.Report(b, "link")
}

// BenchmarkManifest sends link manifest requests at 200 per second on loopback and
// reports the latency percentiles.
func BenchmarkManifest(b *testing.B) {
	sb := newShareBench(b, 5, 10<<10)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := sb.srv.URL + "/api/v1/links/" + sb.token
	n := max(b.N, 400)
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / 200)
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			resp, err := hc.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				b.Error(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
			}
			lat[i] = time.Since(start)
		}()
	}
	wg.Wait()
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
}
