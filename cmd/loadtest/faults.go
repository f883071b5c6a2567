package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/minio/minio-go/v7/pkg/signer"
)

func randN(n int) int { return rand.IntN(n) }

// faults injects each failure at least once, at fixed points of the run:
//
//	15 %  kill -9 of an instance while deposits and downloads are in flight, restarted
//	30 %  a MinIO drive taken away for 15 % of the run, then given back
//	50 %  PostgreSQL restarted
//	60 %  an export and a large download read slowly
//	70 %  kill -9 of another instance, restarted
//	85 %  graceful restart (SIGTERM) of an instance while deposits are in flight
func (lt *loadTest) faults(ctx context.Context, deadline time.Time) {
	d := lt.opts.Duration
	start := time.Now()
	at := func(f float64) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Until(start.Add(time.Duration(f * float64(d))))):
			return true
		}
	}
	// Someone whose safe the slow readers read: a few papers deposited early.
	slow := &person{login: "personne.lente", secret: "je lis lentement sur mon vieux téléphone", ip: nextIP()}
	slow.b = lt.newBrowser(slow.ip)
	if lt.signIn(ctx, slow) {
		for range 4 {
			lt.deposit(ctx, slow)
		}
	}
	if !at(0.15) {
		return
	}
	lt.killDuring(ctx, lt.cluster.instances[len(lt.cluster.instances)-1])
	if !at(0.30) {
		return
	}
	logf("fault: MinIO drive 3 taken away")
	lt.rec.beginFault("drive", "")
	if err := lt.cluster.driveOffline(3); err != nil {
		logf("drive offline: %v", err)
	}
	if !at(0.45) {
		if err := lt.cluster.driveOnline(3); err != nil {
			logf("drive online: %v", err)
		}
		return
	}
	if err := lt.cluster.driveOnline(3); err != nil {
		logf("drive online: %v", err)
	}
	lt.rec.endFault("drive", "")
	logf("fault: MinIO drive 3 back")
	if !at(0.50) {
		return
	}
	logf("fault: PostgreSQL restart")
	lt.rec.beginFault("postgres", "")
	if err := lt.cluster.restartPostgres(ctx); err != nil {
		logf("restart PostgreSQL: %v", err)
	}
	lt.rec.endFault("postgres", "")
	logf("fault: PostgreSQL back")
	if !at(0.60) {
		return
	}
	// Slow for a tenth of the run (10 s to 60 s), then at full speed: a phone that
	// lost its signal for a while. The export reads 24 KB/s, above the pace under which
	// the service cuts an export off; the download 8 KB/s.
	slowFor := min(max(d/10, 10*time.Second), 60*time.Second)
	logf("fault: slow clients for %s", slowFor)
	lt.rec.beginFault("slow", "")
	done := make(chan struct{}, 2)
	go func() {
		lt.slowDownload(withSlowFor(ctx, slowFor), slow, 8<<10)
		done <- struct{}{}
	}()
	go func() {
		lt.export(withSlowFor(ctx, slowFor), slow, "slow export", 24<<10)
		done <- struct{}{}
	}()
	<-done
	<-done
	lt.rec.endFault("slow", "")
	if !at(0.70) {
		return
	}
	lt.killDuring(ctx, lt.cluster.instances[0])
	if !at(0.85) {
		return
	}
	lt.restartDuring(ctx, lt.cluster.instances[len(lt.cluster.instances)-1])
}

// restartDuring stops in with SIGTERM while deposits are in flight, as a rolling
// deployment does, and starts it again.
func (lt *loadTest) restartDuring(ctx context.Context, in *instance) {
	until := time.Now().Add(15 * time.Second)
	for time.Now().Before(until) && lt.inFlight("deposit") < 2 {
		time.Sleep(20 * time.Millisecond)
	}
	logf("fault: SIGTERM %s (%d deposits in flight)", in.name, lt.inFlight("deposit"))
	lt.rec.beginFault("term", in.name)
	c := lt.cluster
	c.mu.Lock()
	in.up = false // the load balancer stops sending to it
	c.mu.Unlock()
	took, err := c.stop(in)
	if err != nil {
		logf("graceful stop of %s: %v", in.name, err)
	}
	logf("fault: %s stopped in %s", in.name, took.Round(time.Millisecond))
	if err := c.start(ctx, in); err != nil {
		logf("restart %s: %v", in.name, err)
	}
	lt.rec.endFault("term", in.name)
}

type slowKey struct{}

// withSlowFor tells slowCopy to read slowly only for the first d.
func withSlowFor(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, slowKey{}, time.Now().Add(d))
}

// killDuring waits (15 s at most) until deposits and downloads are in flight, kills in
// with SIGKILL, and restarts it.
func (lt *loadTest) killDuring(ctx context.Context, in *instance) {
	until := time.Now().Add(15 * time.Second)
	for time.Now().Before(until) && (lt.inFlight("deposit") < 2 || lt.inFlight("download") < 1) {
		time.Sleep(20 * time.Millisecond)
	}
	logf("fault: kill -9 %s (%d deposits and %d downloads in flight)", in.name, lt.inFlight("deposit"), lt.inFlight("download"))
	lt.rec.beginFault("kill", in.name)
	lt.cluster.kill(in)
	time.Sleep(3 * time.Second)
	if err := lt.cluster.start(ctx, in); err != nil {
		logf("restart %s: %v", in.name, err)
	}
	lt.rec.endFault("kill", in.name)
	logf("fault: %s restarted", in.name)
}

// loadFixtures reads the photos people deposit and makes multi-page PDFs of paper pages.
func loadFixtures(root, shared string) (fixtures, error) {
	var fx fixtures
	read := func(pattern string) []payload {
		paths, _ := filepath.Glob(pattern)
		sort.Strings(paths)
		var out []payload
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				out = append(out, payload{name: filepath.Base(p), data: b})
			}
		}
		return out
	}
	fx.pages = read(filepath.Join(root, "ingest", "testdata", "papers", "*.jpg"))
	fx.photos = read(filepath.Join(shared, "fixtures", "exif-orientation", "*.jpg"))
	fx.heic = read(filepath.Join(root, "ingest", "testdata", "*.heic"))
	if len(fx.pages) == 0 {
		return fx, fmt.Errorf("no paper photos in %s", filepath.Join(root, "ingest", "testdata", "papers"))
	}
	if len(fx.photos) == 0 {
		fx.photos = fx.pages // without the shared fixtures, the papers' photos alone
	}
	for i := range 4 {
		pdf, err := pagesPDF(fx.pages, 2+i, i)
		if err != nil {
			return fx, err
		}
		fx.pdfs = append(fx.pdfs, payload{name: fmt.Sprintf("scan-%d.pdf", i+1), data: pdf})
	}
	return fx, nil
}

// pagesPDF is an n-page scanned PDF of paper photos, as a scanner at a CCAS makes.
func pagesPDF(pages []payload, n, offset int) ([]byte, error) {
	doc := fpdf.New("P", "mm", "A4", "")
	for i := range n {
		p := pages[(offset*7+i)%len(pages)]
		doc.AddPage()
		name := fmt.Sprintf("p%d", i)
		opt := fpdf.ImageOptions{ImageType: "JPG"}
		doc.RegisterImageOptionsReader(name, opt, bytes.NewReader(p.data))
		doc.ImageOptions(name, 10, 10, 190, 0, false, opt, 0, "")
	}
	var buf bytes.Buffer
	if err := doc.Output(&buf); err != nil {
		return nil, fmt.Errorf("make a PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// adminHeal heals the whole bucket, as 'mc admin heal -r' does, through MinIO's admin
// API (requests signed like any S3 request), and returns when the heal is over with the
// number of objects it looked at. The heal's results must be read as it goes, as mc
// does: MinIO pauses a heal that holds 1000 results nobody read.
func adminHeal(ctx context.Context, port int) (int, error) {
	path := fmt.Sprintf("http://127.0.0.1:%d/minio/admin/v3/heal/coffre", port)
	var start struct {
		ClientToken string `json:"clientToken"`
	}
	if err := adminPost(ctx, path+"?forceStart=true", []byte(`{"recursive":true,"dryRun":false,"remove":false,"scanMode":1}`), &start); err != nil {
		return 0, fmt.Errorf("start: %w", err)
	}
	items := 0
	for {
		var status struct {
			Summary string            `json:"summary"`
			Detail  string            `json:"detail"`
			Items   []json.RawMessage `json:"items"`
		}
		if err := adminPost(ctx, path+"?clientToken="+url.QueryEscape(start.ClientToken), nil, &status); err != nil {
			return items, fmt.Errorf("status: %w", err)
		}
		items += len(status.Items)
		switch status.Summary {
		case "finished":
			return items, nil
		case "stopped", "failed":
			return items, fmt.Errorf("heal %s: %s", status.Summary, status.Detail)
		}
		select {
		case <-ctx.Done():
			return items, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func adminPost(ctx context.Context, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req = signer.SignV4(*req, "coffre-local", "coffre-local-secret", "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, snippet(b))
	}
	return json.Unmarshal(b, out)
}

// driveObjects counts the objects each MinIO drive holds for the bucket: after a drive
// came back, MinIO heals onto it what was written meanwhile.
func driveObjects(c *cluster) []int {
	var out []int
	for n := 1; n <= 4; n++ {
		count := 0
		_ = filepath.WalkDir(filepath.Join(c.drive(n), "coffre"), func(path string, d os.DirEntry, err error) error { // counts what it can read
			if err == nil && !d.IsDir() && strings.HasSuffix(path, "xl.meta") {
				count++
			}
			return nil
		})
		out = append(out, count)
	}
	return out
}
