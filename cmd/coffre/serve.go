package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"coffre/sharing"
	"coffre/vault"
	"coffre/web"
)

const serveUsage = `Usage: coffre serve

Runs the HTTP server on COFFRE_LISTEN and the background jobs (reaping unfinished uploads,
purging deleted documents and what has served its time, erasing closed safes at the end of
COFFRE_RETENTION, giving effect to desk recoveries whose waiting period is over, signing
journal checkpoints, sending the owners' messages and reminders, reading the papers of the
owners who asked for it — with tesseract, which scripts/ocr.sh installs; without it the
service does not offer to read papers). Several 'coffre serve'
processes can share one database and one bucket. /healthz answers while the process
lives; /readyz answers 200 only while PostgreSQL takes writes, the bucket exists and the
key files can be read, and says why not otherwise. With COFFRE_METRICS_LISTEN, /metrics
(Prometheus) is served on that address. Every response carries an X-Request-ID, which
every log line of that request carries too.

With COFFRE_2DDOC_TRUST, the 2D-Doc code of each paper deposited is checked against that
trust list, read at start (an unreadable list stops the start) and again every
COFFRE_2DDOC_REFRESH. To load and refresh it from the ANTS publication, see the README,
« Papiers authentiques (2D-Doc) ».

Refuses to start, with one line saying why, when the master key file does not match the
database. Stops gracefully on SIGINT or SIGTERM: /readyz answers 503 at once, requests
are still taken for COFFRE_SHUTDOWN_DRAIN (3s) while load balancers notice, then in-flight
requests (deposits among them) get 20 seconds to finish, then those left are cut (a
deposit cut leaves nothing visible; the reaper removes its files), and the background
jobs stop.

Its addresses and its shutdown (coffre --help lists every setting):
    COFFRE_LISTEN             HTTP listen address (127.0.0.1:8080)
    COFFRE_METRICS_LISTEN     address of /metrics (Prometheus), apart from the service's;
                              empty: off (empty)
    COFFRE_SHUTDOWN_DRAIN     after SIGTERM, how long serve keeps answering while /readyz
                              says it is shutting down, so that load balancers stop sending
                              requests before it stops taking them (3s)
`

func runServe(ctx context.Context, cfg Config, _ *flag.FlagSet, _ []string, stdout io.Writer) error {
	log := slog.New(web.WithRequestIDs(newLogger(cfg).Handler()))
	var timed func(vault.BlobStore) vault.BlobStore
	var reg *prometheus.Registry
	if cfg.MetricsListen != "" {
		reg = prometheus.NewRegistry()
		timed = func(s vault.BlobStore) vault.BlobStore { return newTimedStore(s, reg) }
	}
	v, pool, svc, err := openVault(ctx, cfg, log, timed)
	if err != nil {
		return err
	}
	defer pool.Close()
	ready := &readiness{v: v, pool: pool, cfg: cfg}
	var metrics *web.Metrics
	if reg != nil {
		registerProcess(reg, pool)
		metrics = web.NewMetrics(reg)
		msrv, err := serveMetrics(cfg.MetricsListen, reg, log)
		if err != nil {
			return err
		}
		defer msrv.Close()
	}
	signing, err := loadSigningKey(cfg)
	if err != nil {
		return err
	}
	// One memory budget for deposits and the background reading of papers.
	budget := web.NewBudget(web.Config{IngestMemory: cfg.IngestMemory})
	var reader *web.Reader
	if ocrInstalled() {
		reader = web.NewReader(web.ReaderConfig{Vault: v, Budget: budget, Log: log})
	} else {
		log.Warn("tesseract is not installed: the service does not offer to read papers (scripts/ocr.sh installs it)")
	}
	var trust *trustList
	if cfg.TrustList != "" {
		if trust, err = loadTrustList(cfg.TrustList); err != nil {
			return err
		}
		if cfg.TrustRefresh > 0 {
			go trust.refresh(ctx, cfg.TrustRefresh, log)
		}
	} else {
		log.Warn("COFFRE_2DDOC_TRUST is empty: the 2D-Doc codes of papers are not checked")
	}
	go sharing.PreloadFonts() // warns of missing fonts at start, without delaying it
	// The jobs' context outlives the signal: at shutdown, Stop lets a running job finish
	// (cancelling Start's context would cut it).
	jobs, err := startJobs(context.WithoutCancel(ctx), pool, v, svc, signing, cfg, log, reader, reg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return hinted{fmt.Errorf("COFFRE_LISTEN: %w", err), "choose a free address, e.g. COFFRE_LISTEN=127.0.0.1:8081"}
	}
	var openID *web.OpenIDConfig
	if cfg.FCIssuer != "" {
		openID = &web.OpenIDConfig{Issuer: cfg.FCIssuer, ClientID: cfg.FCClientID, ClientSecret: cfg.FCClientSecret, ACR: cfg.FCACR}
	}
	var proConnect *web.OpenIDConfig
	if cfg.PCIssuer != "" {
		proConnect = &web.OpenIDConfig{Issuer: cfg.PCIssuer, ClientID: cfg.PCClientID, ClientSecret: cfg.PCClientSecret}
	}
	wcfg := web.Config{
		Ready: ready, Log: log, Metrics: metrics, Vault: v, Accounts: svc.accounts, MaxUpload: cfg.MaxUpload, IngestMemory: cfg.IngestMemory, BehindTLS: cfg.BehindTLS,
		IdleTimeout: cfg.SessionIdle, AbsoluteTimeout: cfg.SessionMax, BaseURL: strings.TrimSuffix(cfg.BaseURL, "/"),
		Contact: cfg.Contact, OpenID: openID, ProConnect: proConnect, Sharing: svc.sharing, Signing: signing, Budget: budget,
		Channels: svc.notify.Kinds(),
	}
	if trust != nil {
		wcfg.TrustList = trust.Get
	}
	if reader != nil {
		wcfg.Reading = riverReading{client: jobs}
	}
	if debug.SetMemoryLimit(-1) == math.MaxInt64 { // no GOMEMLIMIT given
		// Garbage is collected before the process nears the bound the README states
		// (web.MemoryBound), rather than when the heap has doubled.
		debug.SetMemoryLimit(web.GCLimit(wcfg))
	}
	srv := &http.Server{
		Handler:           web.New(wcfg),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	log.Info("serving", "addr", ln.Addr().String())
	fmt.Fprintf(stdout, "coffre: listening on http://%s/\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down", "drain", cfg.ShutdownDrain.String())
		ready.draining.Store(true)
		// Keep answering while load balancers see /readyz fail and stop sending requests
		// here: a request sent on a kept-alive connection just as Shutdown closes it
		// would be lost unread (found by the load test's graceful restart).
		time.Sleep(cfg.ShutdownDrain)
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err = srv.Shutdown(sctx); errors.Is(err, context.DeadlineExceeded) {
			// What is still running is cut: a deposit's context ends, its transaction
			// is rolled back, its uploaded files are left to the reaper.
			log.Warn("requests still running after 20 s are cut")
			err = srv.Close()
		}
	}
	jobsCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if jerr := jobs.Stop(jobsCtx); jerr != nil {
		log.Warn("stopping jobs", "err", jerr)
	}
	log.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
