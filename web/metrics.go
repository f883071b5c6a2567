package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"coffre/ingest"
)

// Metrics are the Prometheus series of the HTTP side of one process: requests by route
// and status with their latency, deposits and the time of each stage of their ingest,
// link downloads and refusals. cmd/coffre adds the blob store, the database pool,
// River's jobs and the journal, and serves them on a separate address
// (COFFRE_METRICS_LISTEN). No label carries a person, a token or a document ID: a route
// is chi's pattern ("/p/{token}/document/{doc}"), never the path. Recording is a counter
// increment or a histogram observation: nothing is added to a request's work.
type Metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	deposits      *prometheus.CounterVec
	stages        *prometheus.HistogramVec
	linkDownloads *prometheus.CounterVec
	refusals      *prometheus.CounterVec
}

// latencyBuckets reach two minutes: exports and large downloads stream for long.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120} //nolint:gochecknoglobals // a constant list

// NewMetrics registers the HTTP side's series in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffre_http_requests_total", Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "coffre_http_request_duration_seconds", Help: "Time to answer an HTTP request, body included, by route pattern and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "coffre_http_requests_in_flight", Help: "HTTP requests being answered.",
		}),
		deposits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffre_deposits_total", Help: "Deposits (owners' and agents'), by outcome: stored, failed (storing), refused (ingest said no), busy (no memory to take it now).",
		}, []string{"outcome"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "coffre_deposit_stage_seconds", Help: "Time of each stage of a deposit: ingest (all of it, and its decode, detect, warp, enhance, encode stages), then store (encrypt, upload, commit).",
			Buckets: latencyBuckets,
		}, []string{"stage"}),
		linkDownloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffre_link_downloads_total", Help: "Files asked for through share links, by outcome: served, or refused (unknown, expired, used up, locked, wrong code).",
		}, []string{"outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffre_refusals_total", Help: "Requests refused, by reason: rate_limited (429), busy (503), too_large (413), forbidden (403: CSRF, cross-origin), unauthenticated (401).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.deposits, m.stages, m.linkDownloads, m.refusals)
	return m
}

// middleware times and counts every request under its route pattern, known once chi
// has routed it.
func (m *Metrics) middleware(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		route := routePattern(r)
		if route == "" {
			route = "unmatched"
		}
		method := r.Method
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost:
		default:
			method = "other"
		}
		m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		switch route {
		case "/p/{token}/document/{doc}", "/p/{token}/tout.pdf", "/api/v1/links/{token}/documents/{document}":
			if r.URL.Query().Get("a") != "vignette" {
				outcome := "refused"
				if status == http.StatusOK {
					outcome = "served"
				}
				m.linkDownloads.WithLabelValues(outcome).Inc()
			}
		}
		if reason := refusal(status); reason != "" {
			m.refusals.WithLabelValues(reason).Inc()
		}
	})
}

func refusal(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "busy"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusUnauthorized:
		return "unauthenticated"
	}
	return ""
}

// stored counts a deposit that reached the vault, and times its store stage.
func (m *Metrics) stored(took time.Duration, err error) {
	if m == nil {
		return
	}
	m.stages.WithLabelValues("store").Observe(took.Seconds())
	outcome := "stored"
	if err != nil {
		outcome = "failed"
	}
	m.deposits.WithLabelValues(outcome).Inc()
}

// timedIngest is a Normalizer that records the time of each stage of ingest.
type timedIngest struct {
	Normalizer
	m *Metrics
}

func (t timedIngest) Process(ctx context.Context, inputs []io.Reader, opts ingest.Options, pdf, thumb io.Writer) (*ingest.Result, error) {
	start := time.Now()
	res, err := t.Normalizer.Process(ctx, inputs, opts, pdf, thumb)
	switch {
	case errors.Is(err, ingest.ErrBusy):
		t.m.deposits.WithLabelValues("busy").Inc()
	case err != nil:
		t.m.deposits.WithLabelValues("refused").Inc()
	default:
		t.m.stages.WithLabelValues("ingest").Observe(time.Since(start).Seconds())
		for stage, d := range map[string]time.Duration{"decode": res.Stages.Decode, "detect": res.Stages.Detect,
			"warp": res.Stages.Warp, "enhance": res.Stages.Enhance, "encode": res.Stages.Encode} {
			if d > 0 {
				t.m.stages.WithLabelValues(stage).Observe(d.Seconds())
			}
		}
	}
	return res, err
}
