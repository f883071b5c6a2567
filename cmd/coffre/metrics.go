package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"coffre/vault"
)

// serveMetrics serves the registry's series at /metrics on addr (COFFRE_METRICS_LISTEN),
// apart from the service's own address so that it is never exposed with it. It returns
// the server, to be shut down with the service.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, hinted{err, "choose a free address for COFFRE_METRICS_LISTEN, e.g. 127.0.0.1:9090, or leave it empty"}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics: the server stopped", "err", err)
		}
	}()
	log.Info("metrics", "addr", ln.Addr().String())
	return srv, nil
}

// registerProcess adds to reg the series of the process beside the HTTP side's
// (web.Metrics) and the blob store's (timedStore): the Go runtime's and the process's,
// the database pool's, River's jobs and the journal's.
func registerProcess(reg *prometheus.Registry, pool *pgxpool.Pool) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stat := func(name, help string, f func(*pgxpool.Stat) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(pool.Stat()) })
	}
	reg.MustRegister(
		stat("coffre_db_pool_acquired_connections", "Database connections in use.", func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) }),
		stat("coffre_db_pool_idle_connections", "Database connections open and idle.", func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) }),
		stat("coffre_db_pool_max_connections", "Size of the database pool (pool_max_conns).", func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "coffre_db_pool_acquires_total", Help: "Connections taken from the pool."},
			func() float64 { return float64(pool.Stat().AcquireCount()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "coffre_db_pool_waits_total", Help: "Connections taken after waiting for one to be free or opened."},
			func() float64 { return float64(pool.Stat().EmptyAcquireCount()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "coffre_db_pool_wait_seconds_total", Help: "Time spent waiting for a connection."},
			func() float64 { return pool.Stat().EmptyAcquireWaitTime().Seconds() }),
		dbCollector{pool: pool},
	)
}

// dbCollector reads, at each scrape, what PostgreSQL knows for every instance at once:
// River's jobs by state, the journal's appends (from the table's statistics, all
// instances together) and the age of the last signed checkpoint. Each query is small
// and index-backed, and a scrape gives them two seconds.
type dbCollector struct{ pool *pgxpool.Pool }

//nolint:gochecknoglobals // descriptions and buckets, constant
var (
	riverJobsDesc       = prometheus.NewDesc("coffre_river_jobs", "Background jobs (River) by state, all instances together.", []string{"state"}, nil)
	journalAppendsDesc  = prometheus.NewDesc("coffre_journal_appends_total", "Journal entries appended, all instances together (PostgreSQL's statistics: since they were last reset).", nil, nil)
	checkpointAgeDesc   = prometheus.NewDesc("coffre_journal_checkpoint_age_seconds", "Age of the last signed journal checkpoint.", nil, nil)
	dbScrapeErrorsDesc  = prometheus.NewDesc("coffre_db_scrape_errors", "Queries of this scrape that failed (the database is unreachable or slow).", nil, nil)
	blobDurationBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

func (dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- riverJobsDesc
	ch <- journalAppendsDesc
	ch <- checkpointAgeDesc
	ch <- dbScrapeErrorsDesc
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	failed := 0
	states := map[string]int64{"available": 0, "cancelled": 0, "completed": 0, "discarded": 0, "pending": 0, "retryable": 0, "running": 0, "scheduled": 0}
	rows, err := c.pool.Query(ctx, `SELECT state::text, count(*) FROM river_job GROUP BY state`)
	if err == nil {
		for rows.Next() {
			var state string
			var n int64
			if rows.Scan(&state, &n) == nil {
				states[state] = n
			}
		}
		rows.Close()
		err = rows.Err()
	}
	if err != nil {
		failed++
	} else {
		for state, n := range states {
			ch <- prometheus.MustNewConstMetric(riverJobsDesc, prometheus.GaugeValue, float64(n), state)
		}
	}
	var appends int64
	if err := c.pool.QueryRow(ctx, `SELECT coalesce(sum(n_tup_ins), 0)::bigint FROM pg_stat_user_tables WHERE relname = 'journal'`).Scan(&appends); err == nil {
		ch <- prometheus.MustNewConstMetric(journalAppendsDesc, prometheus.CounterValue, float64(appends))
	} else {
		failed++
	}
	switch age, ok, err := vault.LastCheckpointAge(ctx, c.pool); {
	case err != nil:
		failed++
	case ok:
		ch <- prometheus.MustNewConstMetric(checkpointAgeDesc, prometheus.GaugeValue, age.Seconds())
	}
	ch <- prometheus.MustNewConstMetric(dbScrapeErrorsDesc, prometheus.GaugeValue, float64(failed))
}

// timedStore is a vault.BlobStore that times every request to the store and counts its
// errors. A Get is timed until the object is open (its first bytes), not read.
type timedStore struct {
	vault.BlobStore
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

func newTimedStore(s vault.BlobStore, reg prometheus.Registerer) vault.BlobStore {
	t := &timedStore{BlobStore: s,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "coffre_blob_request_duration_seconds",
			Help: "Time of a request to the blob store, by operation (a get until the object is open).", Buckets: blobDurationBuckets}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "coffre_blob_errors_total",
			Help: "Failed requests to the blob store, by operation."}, []string{"op"}),
	}
	reg.MustRegister(t.duration, t.errors)
	return t
}

func (t *timedStore) observe(op string, start time.Time, err error) {
	t.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, context.Canceled) {
		t.errors.WithLabelValues(op).Inc()
	}
}

func (t *timedStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	start := time.Now()
	err := t.BlobStore.Put(ctx, key, r, size)
	t.observe("put", start, err)
	return err
}

func (t *timedStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := t.BlobStore.Get(ctx, key)
	t.observe("get", start, err)
	return rc, err
}

func (t *timedStore) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := t.BlobStore.Delete(ctx, key)
	t.observe("delete", start, err)
	return err
}
