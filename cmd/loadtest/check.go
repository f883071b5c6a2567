package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"coffre/vault"
)

// verdict gathers the failures of the final checks.
type verdict struct {
	w        io.Writer
	failures []string
}

func (v *verdict) line(format string, args ...any) {
	fmt.Fprintf(v.w, "loadtest: "+format+"\n", args...)
}

func (v *verdict) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	v.failures = append(v.failures, msg)
	fmt.Fprintf(v.w, "loadtest: FAILED: %s\n", msg)
}

// finish stops the instances gracefully, checks everything, prints the report and
// returns an error when the outcome is a failure.
func (lt *loadTest) finish(ctx context.Context, elapsed time.Duration) error {
	// The checks run even when the load was interrupted (^C), within ten minutes and
	// within the run's own deadline, if it has one: the caller must still be there to
	// stop what was started.
	limit := 10 * time.Minute
	if d, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(d))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	vd := &verdict{w: lt.opts.Out}
	lt.scrape(vd)
	for _, in := range lt.cluster.instances {
		took, err := lt.cluster.stop(in)
		if err != nil {
			vd.fail("graceful shutdown of %s: %v", in.name, err)
		} else {
			vd.line("graceful shutdown: %s stopped in %s", in.name, took.Round(time.Millisecond))
		}
	}
	_, unexpected := lt.rec.report(lt.opts.Out, elapsed)
	lt.s3Rate(vd, elapsed)
	if unexpected > 0 {
		vd.fail("%d unexpected errors", unexpected)
	}
	if n := lt.rec.graceful(lt.opts.Out); n > 0 {
		vd.fail("%d requests in flight at a graceful restart were not answered", n)
	}
	c := &checker{lt: lt, vd: vd}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.pool.Close()
	c.reaper(ctx)
	c.links(ctx)
	c.locks(ctx)
	lost, corrupted := c.deposits(ctx)
	c.journalEntries(ctx)
	journal := c.verifyJournal(ctx)
	lt.memory(vd)
	if !lt.opts.NoFaults {
		c.heal(ctx)
	}

	lt.led.mu.Lock()
	acked := len(lt.led.deposits)
	lt.led.mu.Unlock()
	outcome := fmt.Sprintf("loadtest: %d deposits acknowledged, %d lost, %d corrupted; %s; %d unexpected errors",
		acked, lost, corrupted, journal, unexpected)
	if n := len(vd.failures); n > 0 {
		outcome += fmt.Sprintf("; %d checks FAILED", n)
	}
	fmt.Fprintln(lt.opts.Out, outcome)
	if len(vd.failures) > 0 {
		return fmt.Errorf("%d checks failed, first: %s", len(vd.failures), vd.failures[0])
	}
	return nil
}

type checker struct {
	lt   *loadTest
	vd   *verdict
	pool *pgxpool.Pool
	v    *vault.Vault
	s3   *minio.Client
	ids  map[string]uuid.UUID // login → owner
	// docs found in the safes: title → document ID and owner login
	found map[string]foundDoc
}

type foundDoc struct {
	id    string
	login string
}

func (c *checker) open(ctx context.Context) error {
	o := c.lt.opts
	pool, err := pgxpool.New(ctx, c.lt.cluster.dbURL)
	if err != nil {
		return err
	}
	c.pool = pool
	keys, err := vault.LoadKeyring(filepath.Join(o.Var, "keys", "master.key"))
	if err != nil {
		return err
	}
	endpoint := fmt.Sprintf("127.0.0.1:%d", o.MinioPort)
	store, err := vault.NewS3Store(vault.S3Config{Endpoint: endpoint, Bucket: "coffre", AccessKey: "coffre-local", SecretKey: "coffre-local-secret"})
	if err != nil {
		return err
	}
	c.v, err = vault.New(ctx, vault.Config{DB: pool, Blobs: store, Keys: keys, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	c.s3, err = minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4("coffre-local", "coffre-local-secret", "")})
	return err
}

// reaper runs the reaper as the service's job does (every instance is stopped, so no
// upload is in progress: the grace is zero), then checks that no upload marker is left
// and that the bucket holds exactly the objects of the recorded files.
func (c *checker) reaper(ctx context.Context) {
	markers := c.count(ctx, `SELECT count(*) FROM blob_uploads`)
	n, err := c.v.ReapUploads(ctx, 0)
	if err != nil {
		c.vd.fail("reaper: %v", err)
		return
	}
	left := c.count(ctx, `SELECT count(*) FROM blob_uploads`)
	rows := map[string]bool{}
	docs := map[uuid.UUID]bool{}
	rs, err := c.pool.Query(ctx, `SELECT b.id, b.document_id FROM blobs b JOIN documents d ON d.id = b.document_id WHERE d.purged_at IS NULL`)
	if err != nil {
		c.vd.fail("blobs: %v", err)
		return
	}
	for rs.Next() {
		var id, doc uuid.UUID
		if err := rs.Scan(&id, &doc); err != nil {
			c.vd.fail("blobs: %v", err)
			rs.Close()
			return
		}
		rows[id.String()] = true
		docs[doc] = true
	}
	rs.Close()
	objects := map[string]bool{}
	var size int64
	for o := range c.s3.ListObjects(ctx, "coffre", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			c.vd.fail("list the bucket: %v", o.Err)
			return
		}
		objects[o.Key] = true
		size += o.Size
	}
	if len(docs) > 0 {
		c.vd.line("S3: %d objects, %s for %d documents: %s a document (its file as received, its PDF, its thumbnail; sealed, before erasure coding)",
			len(objects), mb(size), len(docs), kb(size/int64(len(docs))))
	}
	orphans, missing := 0, 0
	for k := range objects {
		if !rows[k] {
			orphans++
		}
	}
	for k := range rows {
		if !objects[k] {
			missing++
		}
	}
	c.vd.line("reaper: %d unfinished uploads left by the faults, %d objects reaped; %d markers left, %d objects without a row, %d rows without an object",
		markers, n, left, orphans, missing)
	if left > 0 || orphans > 0 || missing > 0 {
		c.vd.fail("half-done uploads remain: %d markers, %d orphan objects, %d rows without an object", left, orphans, missing)
	}
	half := c.count(ctx, `SELECT count(*) FROM documents d WHERE d.deleted_at IS NULL AND NOT EXISTS (
		SELECT 1 FROM blobs b WHERE b.document_id = d.id AND b.role = 'rendition')`)
	if half > 0 {
		c.vd.fail("%d documents without their rendition", half)
	}
}

func (c *checker) count(ctx context.Context, sql string, args ...any) int {
	var n int
	if err := c.pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		c.vd.fail("query %q: %v", strings.Fields(sql)[0:4], err)
	}
	return n
}

type manifest struct {
	Documents []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
		Files []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	} `json:"documents"`
}

// deposits exports every safe of the test (the export reads every file and checks it
// against the SHA-256 recorded at deposit, and so does this check once more from the
// archive) and looks for every acknowledged deposit in it.
func (c *checker) deposits(ctx context.Context) (lost, corrupted int) {
	led := c.lt.led
	led.mu.Lock()
	defer led.mu.Unlock()
	logins := map[string]bool{}
	for l := range led.owners {
		logins[l] = true
	}
	for _, d := range led.deposits {
		logins[d.login] = true
	}
	c.ids = map[string]uuid.UUID{}
	c.found = map[string]foundDoc{}
	files := 0
	var bytesRead int64
	for login := range logins {
		var id uuid.UUID
		if err := c.pool.QueryRow(ctx, `SELECT id FROM owners WHERE login = $1`, login).Scan(&id); err != nil {
			c.vd.fail("the safe of %s, acknowledged, is missing: %v", login, err)
			continue
		}
		c.ids[login] = id
		var buf bytes.Buffer
		_, err := c.v.Export(ctx, id, vault.Actor{Kind: vault.ActorOperator, ID: "loadtest"}, &buf, vault.ExportOptions{Request: "contrôle du test de charge"})
		if err != nil {
			corrupted++
			c.vd.fail("export of %s: %v", login, err)
			continue
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			corrupted++
			c.vd.fail("archive of %s: %v", login, err)
			continue
		}
		var m manifest
		if f, err := zr.Open("manifest.json"); err == nil {
			if err := json.NewDecoder(f).Decode(&m); err != nil {
				c.vd.fail("archive of %s: manifest.json: %v", login, err)
			}
			f.Close()
		}
		for _, d := range m.Documents {
			c.found[d.Title] = foundDoc{id: d.ID, login: login}
			for _, f := range d.Files {
				data, err := readZip(zr, f.Path)
				sum := sha256.Sum256(data)
				if err != nil || hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
					corrupted++
					c.vd.fail("%s of %s does not read back with its SHA-256", f.Path, login)
				}
				files++
				bytesRead += int64(len(data))
			}
		}
	}
	for title, d := range led.deposits {
		f, ok := c.found[title]
		if !ok || f.login != d.login || d.id != "" && f.id != d.id {
			lost++
			c.vd.fail("acknowledged deposit %q of %s is missing", title, d.login)
		}
	}
	c.vd.line("deposits: %d sent, %d acknowledged, %d in the safes (the rest were cut by faults before their answer, or refused as busy); %d files, %s, read back against their SHA-256",
		led.tried, len(led.deposits), len(c.found), files, mb(bytesRead))
	return lost, corrupted
}

func readZip(zr *zip.Reader, name string) ([]byte, error) {
	f, err := zr.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// links checks that no link gave more downloads than its limit, and that each counted
// download has its journal entry.
func (c *checker) links(ctx context.Context) {
	led := c.lt.led
	led.mu.Lock()
	defer led.mu.Unlock()
	exact, held := 0, 0
	for _, l := range led.links {
		sum := sha256.Sum256([]byte(l.token))
		var id, owner uuid.UUID
		var downloads, max int
		err := c.pool.QueryRow(ctx, `SELECT id, owner_id, downloads, max_downloads FROM links WHERE token_sha256 = $1`, sum[:]).Scan(&id, &owner, &downloads, &max)
		if err != nil {
			c.vd.fail("link: %v", err)
			continue
		}
		journaled := c.count(ctx, `SELECT count(*) FROM journal WHERE owner_id = $1 AND actor_kind = 'link' AND actor_id = $2 AND action IN ('view', 'download')`, owner, id.String())
		switch {
		case l.successes > l.limit || downloads > l.limit:
			c.vd.fail("link with a limit of %d gave %d downloads (%d counted)", l.limit, l.successes, downloads)
		case journaled != downloads:
			c.vd.fail("link counted %d downloads but journaled %d", downloads, journaled)
		case l.unexpected == 0 && (l.successes != l.limit || downloads != l.limit):
			c.vd.fail("link with a limit of %d and %d recipients gave %d downloads (%d counted)", l.limit, l.attempts, l.successes, downloads)
		case l.successes > downloads:
			c.vd.fail("link gave %d downloads but counted %d", l.successes, downloads)
		case l.unexpected == 0:
			exact++
		default:
			held++
		}
	}
	c.vd.line("download limits: %d links, %d recipients more than allowed; %d gave exactly their limit, %d (with requests cut by faults) stayed within it; every counted download journaled",
		len(led.links), 2*len(led.links), exact, held)
}

// locks checks that a code said wrong by many at once locked the link after exactly
// five failures, and that the right code then did not open it.
func (c *checker) locks(ctx context.Context) {
	led := c.lt.led
	led.mu.Lock()
	defer led.mu.Unlock()
	ok, short := 0, 0
	for _, l := range led.locks {
		sum := sha256.Sum256([]byte(l.token))
		var id, owner uuid.UUID
		var failures int
		if err := c.pool.QueryRow(ctx, `SELECT id, owner_id, code_failures FROM links WHERE token_sha256 = $1`, sum[:]).Scan(&id, &owner, &failures); err != nil {
			c.vd.fail("locked link: %v", err)
			continue
		}
		journaled := c.count(ctx, `SELECT count(*) FROM journal WHERE owner_id = $1 AND actor_kind = 'link' AND actor_id = $2 AND action IN ('link_code_failed', 'link_locked')`, owner, id.String())
		switch {
		case failures > 5 || journaled != failures:
			c.vd.fail("code lockout: %d failures counted, %d journaled (5 at most, all journaled)", failures, journaled)
		case failures == 5 && !l.rightRefused:
			c.vd.fail("code lockout: the right code opened a locked link")
		case failures == 5:
			ok++
		default:
			short++ // wrong codes cut by a fault before they counted: not locked, rightly
		}
	}
	c.vd.line("code lockouts: %d links attacked by 7 wrong codes at once; %d locked after exactly 5 failures, all journaled, the right code refused after; %d with fewer than 5 counted (codes cut by faults), not locked",
		len(led.locks), ok, short)
}

// journalEntries checks that every acknowledged operation has its journal entry.
func (c *checker) journalEntries(ctx context.Context) {
	led := c.lt.led
	led.mu.Lock()
	defer led.mu.Unlock()
	missing := 0
	for title, d := range led.deposits {
		f, ok := c.found[title]
		if !ok {
			continue // already counted as lost
		}
		id, _ := uuid.Parse(f.id)
		if c.count(ctx, `SELECT count(*) FROM journal WHERE owner_id = $1 AND action = 'deposit' AND document_id = $2`, c.ids[d.login], id) != 1 {
			missing++
			c.vd.fail("deposit %q has no journal entry", title)
		}
	}
	delivered := map[string]int{}
	for _, g := range led.grants {
		delivered[g.login] += g.delivered
	}
	ndel := 0
	for login, n := range delivered {
		ndel += n
		if got := c.count(ctx, `SELECT count(*) FROM journal WHERE owner_id = $1 AND actor_kind = 'client' AND action = 'download'`, c.ids[login]); got < n {
			missing++
			c.vd.fail("%s: %d documents delivered to the téléservice, %d journaled", login, n, got)
		}
	}
	nexp := 0
	for login, n := range led.exports {
		nexp += n
		if got := c.count(ctx, `SELECT count(*) FROM journal WHERE owner_id = $1 AND actor_kind = 'owner' AND action = 'export'`, c.ids[login]); got < n {
			missing++
			c.vd.fail("%s: %d exports, %d journaled", login, n, got)
		}
	}
	for login := range led.owners {
		if id, ok := c.ids[login]; ok && c.count(ctx, `SELECT count(*) FROM journal WHERE owner_id = $1 AND action = 'owner_created'`, id) != 1 {
			missing++
			c.vd.fail("%s: no journal entry for the opening of the safe", login)
		}
	}
	c.vd.line("journal entries: %d deposits, %d documents delivered to the téléservice, %d exports, %d safes opened: %d missing",
		len(led.deposits), ndel, nexp, len(led.owners), missing)
}

// heal checks that the drive taken away holds every object again. MinIO heals on its
// own, in the background; what it has not reached by the end of the run is healed the
// way an operator does after a drive comes back ('mc admin heal -r'), then counted.
func (c *checker) heal(ctx context.Context) {
	before := driveObjects(c.lt.cluster)
	hctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	started := time.Now()
	looked, err := adminHeal(hctx, c.lt.opts.MinioPort)
	if err != nil {
		c.vd.fail("MinIO heal: %v", err)
		return
	}
	after := driveObjects(c.lt.cluster)
	c.vd.line("MinIO: objects per drive at the end of the run %v, after healing %v (drive 3 was away; the heal looked at %d items in %s)",
		before, after, looked, time.Since(started).Round(100*time.Millisecond))
	if after[2] != after[0] || after[0] != after[1] || after[0] != after[3] {
		c.vd.fail("MinIO did not heal drive 3: %v objects per drive", after)
	}
}

// verifyJournal signs a checkpoint and runs 'coffre journal verify', as an operator does.
func (c *checker) verifyJournal(ctx context.Context) string {
	if _, err := c.lt.cluster.coffre(ctx, "", "journal", "checkpoint"); err != nil {
		c.vd.fail("journal checkpoint: %v", err)
	}
	out, err := c.lt.cluster.coffre(ctx, "", "journal", "verify")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		c.vd.line("journal verify: %s", strings.TrimPrefix(l, "coffre: "))
	}
	if err != nil || !strings.Contains(out, "journal intact") {
		c.vd.fail("coffre journal verify: %v", err)
		return "journal NOT verified"
	}
	return "journal verified"
}

// memory prints the peak resident memory of every process.
func (lt *loadTest) memory(vd *verdict) {
	lt.cluster.mu.Lock()
	defer lt.cluster.mu.Unlock()
	names := make([]string, 0, len(lt.cluster.mem))
	for n := range lt.cluster.mem {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %s", n, mb(lt.cluster.mem[n])))
	}
	vd.line("peak memory: %s", strings.Join(parts, ", "))
}

var stageRE = regexp.MustCompile(`^coffre_deposit_stage_seconds_(sum|count)\{stage="([a-z]+)"\} ([0-9.e+]+)$`)

// scrape reads every instance's /metrics before they stop (since their last start) and
// prints the mean time of each stage of a deposit.
func (lt *loadTest) scrape(vd *verdict) {
	sums, counts := map[string]float64{}, map[string]float64{}
	series := 0
	hc := http.Client{Timeout: 10 * time.Second}
	for _, in := range lt.cluster.instances {
		resp, err := hc.Get("http://" + in.metrics + "/metrics")
		if err != nil {
			vd.fail("metrics of %s: %v", in.name, err)
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "#") {
				series++
			}
			if m := stageRE.FindStringSubmatch(line); m != nil {
				f, _ := strconv.ParseFloat(m[3], 64)
				if m[1] == "sum" {
					sums[m[2]] += f
				} else {
					counts[m[2]] += f
				}
			}
		}
		resp.Body.Close()
	}
	var parts []string
	for _, st := range []string{"ingest", "decode", "detect", "warp", "enhance", "encode", "store"} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", st, time.Duration(sums[st]/counts[st]*float64(time.Second)).Round(time.Millisecond)))
		}
	}
	vd.line("metrics: %d series scraped; mean time of a deposit's stages (since each instance's last start): %s", series, strings.Join(parts, ", "))
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

func kb(b int64) string { return fmt.Sprintf("%.0f KB", float64(b)/(1<<10)) }

var minioRequestsRE = regexp.MustCompile(`^minio_s3_requests_total\{(?:[^}]*,)?api="([a-z0-9]+)"[^}]*\} ([0-9.e+]+)$`)

// s3Requests reads MinIO's own count of the S3 requests it answered since it started,
// by API (putobject, getobject…).
func s3Requests(port int) (map[string]float64, error) {
	hc := http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/minio/v2/metrics/cluster", port))
	if err != nil {
		return nil, fmt.Errorf("MinIO metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("MinIO metrics: status %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := minioRequestsRE.FindStringSubmatch(sc.Text()); m != nil {
			f, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] += f
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("MinIO metrics: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("MinIO metrics: no minio_s3_requests_total")
	}
	return out, nil
}

// s3Rate prints the S3 requests MinIO answered during the load, by API, and their rate.
func (lt *loadTest) s3Rate(vd *verdict, elapsed time.Duration) {
	if lt.s3Before == nil || lt.s3After == nil {
		vd.line("S3: request counts unavailable (%v)", lt.s3Err)
		return
	}
	total := 0.0
	apis := make([]string, 0, len(lt.s3After))
	for api, n := range lt.s3After {
		if n -= lt.s3Before[api]; n > 0 {
			apis = append(apis, api)
			total += n
		}
	}
	diff := func(api string) float64 { return lt.s3After[api] - lt.s3Before[api] }
	sort.Slice(apis, func(i, j int) bool { return diff(apis[i]) > diff(apis[j]) })
	var parts []string
	for _, api := range apis {
		parts = append(parts, fmt.Sprintf("%s %.0f", api, diff(api)))
	}
	vd.line("S3: %.0f requests to MinIO during the load, %.1f per second (%s)", total, total/elapsed.Seconds(), strings.Join(parts, ", "))
}
