// Command loadtest proves that Coffre holds under load, across instances and through
// failures, on one machine with the real engines.
//
// It starts, under its own folder and on its own loopback ports, a PostgreSQL and a MinIO
// over four drives (erasure-coded) with the project's scripts, then several
// 'coffre serve' processes on that database and bucket. It plays people — sign-ups and
// sign-ins, deposits of photos, pages, HEIC photos and PDFs, lists, views, share links
// opened by anonymous recipients (with codes, over their limits), « Choisir dans mon
// coffre » pulls by a téléservice, a CCAS agent depositing under mandate, exports —
// spread over the instances. Meanwhile it kills an instance (SIGKILL) in the middle of
// deposits and downloads and restarts it, takes a MinIO drive away and gives it back,
// restarts PostgreSQL, and reads an export and a download slowly.
//
// At the end it stops the instances gracefully and checks that every acknowledged
// deposit is there and reads back with its SHA-256, that nothing half-done is visible and
// the reaper cleaned what it must, that the journal verifies and holds an entry for every
// acknowledged operation, and that download limits and code lockouts held exactly. It
// prints throughput and latencies by kind of request, errors by cause, and each process's
// peak memory, then one line with the outcome. It exits with status 1 when anything was
// lost, corrupted, unjournaled or unexpected.
//
// It sends traffic to loopback addresses only, and stops by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

const usage = `Usage: loadtest [flags]

Runs Coffre under a bounded load with faults, on its own services, and checks that
nothing was lost. 'make loadtest' runs it for about ten minutes; 'make test' runs a short
version. Everything it starts lives under --var and listens on 127.0.0.1 only; it stops
what it started, by PID.

Flags:
    --duration D     how long the load lasts (10m)
    --instances N    coffre serve processes (2)
    --people N       people with a safe, played by as many workers (24)
    --var DIR        its folder (var/loadtest)
    --coffre BIN     the coffre binary (var/bin/coffre)
    --root DIR       the repository, for scripts/ and ingest/testdata (.)
    --shared DIR     the shared fixtures (COFFRE_TEST_SHARED, or ../shared)
    --pg-port N      its PostgreSQL (26432)
    --minio-port N   its MinIO (N and N+1 for the console; 29400)
    --port N         the instances listen on N, N+1…, their metrics on N+100… (28100)

Its ports lie below the kernel's range of ephemeral ports (32768 and up on Linux), so
that no outgoing connection of another program holds one when a process starts.
    --no-faults      no fault: to measure what the instances sustain
    --keep           leave the services running at the end (to look at them)
`

type options struct {
	Duration  time.Duration
	Instances int
	People    int
	Var       string
	Bin       string
	Root      string
	Shared    string
	PGPort    int
	MinioPort int
	Port      int
	Keep      bool
	NoFaults  bool
	Out       io.Writer
}

func main() {
	fs := flag.NewFlagSet("loadtest", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	var o options
	fs.DurationVar(&o.Duration, "duration", 10*time.Minute, "")
	fs.IntVar(&o.Instances, "instances", 2, "")
	fs.IntVar(&o.People, "people", 24, "")
	fs.StringVar(&o.Var, "var", "var/loadtest", "")
	fs.StringVar(&o.Bin, "coffre", "var/bin/coffre", "")
	fs.StringVar(&o.Root, "root", ".", "")
	fs.StringVar(&o.Shared, "shared", os.Getenv("COFFRE_TEST_SHARED"), "")
	fs.IntVar(&o.PGPort, "pg-port", 26432, "")
	fs.IntVar(&o.MinioPort, "minio-port", 29400, "")
	fs.IntVar(&o.Port, "port", 28100, "")
	fs.BoolVar(&o.Keep, "keep", false, "")
	fs.BoolVar(&o.NoFaults, "no-faults", false, "")
	_ = fs.Parse(os.Args[1:]) // ExitOnError: a bad flag exits here
	o.Out = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: error: %v\n", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadtest: "+time.Now().Format("15:04:05")+" "+format+"\n", args...)
}

// loadTest is one run.
type loadTest struct {
	opts    options
	cluster *cluster
	rec     *recorder
	led     *ledger
	fx      fixtures

	flightMu sync.Mutex
	flight   map[string]int // requests in flight by kind (deposit, download)

	// MinIO's counts of S3 requests by API at the start and the end of the load.
	s3Before, s3After map[string]float64
	s3Err             error
}

func (lt *loadTest) inflight(kind string, d int) {
	lt.flightMu.Lock()
	lt.flight[kind] += d
	lt.flightMu.Unlock()
}

func (lt *loadTest) inFlight(kind string) int {
	lt.flightMu.Lock()
	defer lt.flightMu.Unlock()
	return lt.flight[kind]
}

// run sets up the cluster, plays the load with its faults, checks, and returns an error
// when the outcome is a failure (the report is written to o.Out either way).
func run(ctx context.Context, o options) error {
	for _, p := range []*string{&o.Var, &o.Bin, &o.Root} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	if o.Shared == "" {
		o.Shared = filepath.Join(o.Root, "..", "shared")
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	fx, err := loadFixtures(o.Root, o.Shared)
	if err != nil {
		return err
	}
	lt := &loadTest{opts: o, cluster: newCluster(o), rec: newRecorder(), led: newLedger(), fx: fx, flight: map[string]int{}}
	setupCtx, cancelSetup := context.WithTimeout(ctx, 5*time.Minute)
	defer cancelSetup()
	logf("starting PostgreSQL, MinIO (4 drives) and %d instances under %s", o.Instances, o.Var)
	memCtx, stopMem := context.WithCancel(context.Background())
	defer stopMem()
	if err := lt.cluster.setUp(setupCtx); err != nil {
		lt.cluster.tearDown()
		return err
	}
	go lt.cluster.watchMemory(memCtx)
	if !o.Keep {
		defer lt.cluster.tearDown()
	}
	lt.s3Before, lt.s3Err = s3Requests(o.MinioPort)
	start := time.Now()
	lt.play(ctx)
	elapsed := time.Since(start)
	if lt.s3Err == nil {
		lt.s3After, lt.s3Err = s3Requests(o.MinioPort)
	}
	return lt.finish(ctx, elapsed)
}

// play runs the people and the faults until the duration is over.
func (lt *loadTest) play(ctx context.Context) {
	deadline := time.Now().Add(lt.opts.Duration)
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(3*time.Minute)) // stragglers
	defer cancel()
	var wg sync.WaitGroup
	for i := range lt.opts.People {
		p := &person{login: fmt.Sprintf("personne.%d", i+1), secret: fmt.Sprintf("ma phrase secrète numéro %d pour le coffre", i+1), ip: nextIP()}
		p.b = lt.newBrowser(p.ip)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Start spread over the first seconds, as people arrive.
			time.Sleep(time.Duration(i) * 150 * time.Millisecond)
			lt.live(ctx, p, deadline, i == 0)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		lt.agent(ctx, deadline)
	}()
	if !lt.opts.NoFaults {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lt.faults(ctx, deadline)
		}()
	}
	wg.Wait()
}

// live is one person's life during the test: a safe, papers, and what they do with them.
func (lt *loadTest) live(ctx context.Context, p *person, deadline time.Time, slow bool) {
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if p.b.tok == "" || !p.signedUp {
			if !lt.signIn(ctx, p) {
				time.Sleep(time.Second)
				p.b.tok = ""
				continue
			}
		}
		switch x := randN(100); {
		case len(p.docs) < 3 || x < 45:
			lt.deposit(ctx, p)
		case x < 65:
			lt.browse(ctx, p)
		case x < 75:
			lt.share(ctx, p)
		case x < 85:
			lt.pull(ctx, p)
		case x < 88:
			lt.export(ctx, p, "export", 0)
		case x < 93:
			p.b.tok = "" // signs in again, on a new browser
		default:
			lt.browse(ctx, p)
		}
		if p.b.failed {
			p.b.failed = false
			time.Sleep(time.Duration(1000+randN(1000)) * time.Millisecond)
		}
	}
}
