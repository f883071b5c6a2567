package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// recorder keeps what every request did: latencies and errors by kind of request, and
// the faults injected, so that an error can be told expected (its instance was killed,
// the database was restarting) from unexpected.
type recorder struct {
	mu         sync.Mutex
	kinds      map[string]*kindStats
	causes     map[string]int // errors by cause
	lastPG     time.Time      // the end of the last request failed by the database restart
	unexpected []string       // the first unexpected errors, described
	nUnexp     int
	faults     []fault
	spans      []span // every request, for what was in flight at a graceful restart
}

type span struct {
	instance string
	from, to time.Time
	ok       bool
	cause    string
}

type kindStats struct {
	ok, failed int
	lat        []time.Duration // of the successful requests
}

// fault is one injected failure and the time it lasted.
type fault struct {
	what     string // kill, postgres, drive, slow
	instance string // for kill
	from, to time.Time
}

func newRecorder() *recorder {
	return &recorder{kinds: map[string]*kindStats{}, causes: map[string]int{}}
}

func (r *recorder) beginFault(what, instance string) *fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, fault{what: what, instance: instance, from: time.Now()})
	return &r.faults[len(r.faults)-1]
}

func (r *recorder) endFault(what, instance string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.faults) - 1; i >= 0; i-- {
		if r.faults[i].what == what && r.faults[i].instance == instance && r.faults[i].to.IsZero() {
			r.faults[i].to = time.Now()
			return
		}
	}
}

// within tells whether a fault of kind what (on instance, when given) overlapped
// [from, to], widened by grace after its end.
func (r *recorder) within(what, instance string, from, to time.Time, grace time.Duration) bool {
	for _, f := range r.faults {
		if f.what != what || instance != "" && f.instance != instance {
			continue
		}
		end := f.to
		if end.IsZero() {
			end = time.Now()
		}
		if !from.After(end.Add(grace)) && !to.Before(f.from) {
			return true
		}
	}
	return false
}

// result is what one request gave.
type result struct {
	kind     string
	instance string
	status   int
	err      error
	body     []byte
	header   http.Header
	from, to time.Time
}

// record files a request under its kind; ok says whether it got what it asked for.
// A failure is expected when its cause is a fault injected at the time: a request cut
// or refused by a killed instance, any failure while PostgreSQL restarts (and a few
// seconds after, while pools reconnect), or a "busy, try again" (503 with Retry-After).
func (r *recorder) record(res *result, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ks := r.kinds[res.kind]
	if ks == nil {
		ks = &kindStats{}
		r.kinds[res.kind] = ks
	}
	if ok {
		ks.ok++
		ks.lat = append(ks.lat, res.to.Sub(res.from))
		r.spans = append(r.spans, span{instance: res.instance, from: res.from, to: res.to, ok: true})
		return
	}
	ks.failed++
	cause := r.cause(res)
	r.spans = append(r.spans, span{instance: res.instance, from: res.from, to: res.to, cause: cause})
	r.causes[cause]++
	if cause == causePG && res.to.After(r.lastPG) {
		r.lastPG = res.to
	}
	if strings.HasPrefix(cause, "unexpected") {
		r.nUnexp++
		if len(r.unexpected) < 20 {
			msg := fmt.Sprintf("%s on %s at %s: status %d", res.kind, res.instance, res.from.Format("15:04:05.000"), res.status)
			if res.err != nil {
				msg += ": " + res.err.Error()
			} else if len(res.body) > 0 {
				msg += ": " + snippet(res.body)
			}
			r.unexpected = append(r.unexpected, msg)
		}
	}
}

func (r *recorder) cause(res *result) string {
	switch {
	case res.err == nil && res.status == http.StatusServiceUnavailable && res.header.Get("Retry-After") != "":
		return "busy, asked to try again (503)"
	case r.within("kill", res.instance, res.from, res.to, 0) && (res.err != nil || res.status == 0):
		return "cut by a killed instance"
	case r.within("term", res.instance, res.from, res.to, 0) && res.err != nil && res.from.After(r.faultStart("term", res.instance, res.from)):
		// Sent after SIGTERM, on a connection the instance was closing: a load balancer
		// sends it again elsewhere. What was in flight at SIGTERM must have finished.
		return "sent to an instance shutting down"
	case r.within("postgres", "", res.from, res.to, 8*time.Second) && (res.err != nil || res.status >= 500):
		return causePG
	case res.err != nil && errors.Is(res.err, context.DeadlineExceeded):
		return "unexpected: timeout"
	case res.err != nil:
		return "unexpected: transport error"
	case res.status >= 500:
		return fmt.Sprintf("unexpected: %d on a healthy instance", res.status)
	}
	return fmt.Sprintf("unexpected: status %d", res.status)
}

// faultStart is the start of the fault of kind what on instance that was under way at t.
func (r *recorder) faultStart(what, instance string, t time.Time) time.Time {
	for _, f := range r.faults {
		if f.what == what && f.instance == instance && !t.Before(f.from) && (f.to.IsZero() || !t.After(f.to)) {
			return f.from
		}
	}
	return t
}

// graceful reports, for each graceful restart, the requests in flight on the instance
// at SIGTERM and how they ended: every one must have been answered.
func (r *recorder) graceful(w io.Writer) (lost int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.faults {
		if f.what != "term" {
			continue
		}
		n, ok := 0, 0
		for _, s := range r.spans {
			if s.instance == f.instance && s.from.Before(f.from) && s.to.After(f.from) {
				n++
				if s.ok {
					ok++
				} else {
					fmt.Fprintf(w, "loadtest: graceful restart: a request in flight failed: %s\n", s.cause)
				}
			}
		}
		fmt.Fprintf(w, "loadtest: graceful restart of %s (SIGTERM): %d requests in flight, %d answered in full\n", f.instance, n, ok)
		lost += n - ok
	}
	return lost
}

const causePG = "database restarting"

func snippet(b []byte) string {
	s := string(b)
	if i := strings.Index(s, "fr-alert"); i >= 0 {
		s = s[i:]
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

// percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d)-1) * p)
	return d[i]
}

func (r *recorder) report(w io.Writer, elapsed time.Duration) (total, unexpected int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.kinds))
	for k := range r.kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "loadtest: %-16s %7s %7s %8s %9s %9s\n", "request", "ok", "failed", "per s", "p50", "p99")
	for _, k := range names {
		ks := r.kinds[k]
		slices.Sort(ks.lat)
		total += ks.ok + ks.failed
		fmt.Fprintf(w, "loadtest: %-16s %7d %7d %8.2f %9s %9s\n", k, ks.ok, ks.failed,
			float64(ks.ok)/elapsed.Seconds(), percentile(ks.lat, 0.5).Round(time.Millisecond), percentile(ks.lat, 0.99).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "loadtest: %d requests in %s, %.1f per second\n", total, elapsed.Round(time.Second), float64(total)/elapsed.Seconds())
	causes := make([]string, 0, len(r.causes))
	for c := range r.causes {
		causes = append(causes, c)
	}
	sort.Strings(causes)
	if len(causes) == 0 {
		fmt.Fprintln(w, "loadtest: errors: none")
	}
	for _, c := range causes {
		fmt.Fprintf(w, "loadtest: errors: %d %s\n", r.causes[c], c)
	}
	for _, f := range r.faults {
		if f.what == "postgres" && !r.lastPG.IsZero() {
			fmt.Fprintf(w, "loadtest: PostgreSQL was down %s; the last request it failed ended %s after it was back\n",
				f.to.Sub(f.from).Round(100*time.Millisecond), max(r.lastPG.Sub(f.to), 0).Round(100*time.Millisecond))
		}
	}
	for _, u := range r.unexpected {
		fmt.Fprintf(w, "loadtest: unexpected: %s\n", u)
	}
	return total, r.nUnexp
}

// browser is one person's (or agent's, or anonymous recipient's) HTTP client: its own
// cookies, and its own source address on the loopback network, so that the service sees
// as many networks as people (its rate limits count per /24).
type browser struct {
	lt  *loadTest
	hc  *http.Client
	ip  string
	tok string // the CSRF token of the current session's pages
	// failed says a request failed since the person last looked: a person waits a
	// little before trying again, rather than hammering a service that is down.
	failed bool
}

func (lt *loadTest) newBrowser(ip string) *browser {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second,
		ResponseHeaderTimeout: 90 * time.Second, DisableCompression: false}
	return &browser{lt: lt, ip: ip, hc: &http.Client{Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// request is one HTTP request to send to the service through its "load balancer".
type request struct {
	kind   string
	method string
	path   string
	body   []byte
	ctype  string
	header map[string]string
	// read consumes the body instead of reading it into result.body (slow readers).
	read func(io.Reader) error
}

// do sends req to one live instance, chosen at random as a load balancer would; a
// connection refused (an instance just killed) is tried once more on another, as a load
// balancer does. The request is recorded by the caller (check).
func (b *browser) do(ctx context.Context, req request) *result {
	res := &result{kind: req.kind, from: time.Now()}
	for attempt := 0; attempt < 3; attempt++ {
		live := b.lt.cluster.live()
		if len(live) == 0 {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		in := live[rand.IntN(len(live))]
		res.instance = in.name
		res.status, res.body, res.header, res.err = b.send(ctx, in, req)
		if res.err != nil && errors.Is(res.err, syscall.ECONNREFUSED) {
			continue
		}
		break
	}
	res.to = time.Now()
	if res.instance == "" {
		res.err = errors.New("no live instance")
	}
	return res
}

func (b *browser) send(ctx context.Context, in *instance, req request) (int, []byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, in.base()+req.path, body)
	if err != nil {
		return 0, nil, nil, err
	}
	if req.ctype != "" {
		hr.Header.Set("Content-Type", req.ctype)
	}
	for k, v := range req.header {
		hr.Header.Set(k, v)
	}
	resp, err := b.hc.Do(hr)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var data []byte
	if req.read != nil && resp.StatusCode == http.StatusOK {
		err = req.read(resp.Body)
	} else {
		data, err = io.ReadAll(resp.Body)
	}
	if err != nil {
		return resp.StatusCode, data, resp.Header, err
	}
	return resp.StatusCode, data, resp.Header, nil
}

// check records res, successful when it has no error and one of the statuses wanted.
func (b *browser) check(res *result, want ...int) bool {
	ok := res.err == nil && slices.Contains(want, res.status)
	b.lt.rec.record(res, ok)
	if !ok {
		b.failed = true
	}
	return ok
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page gets a page and keeps the CSRF token its forms carry.
func (b *browser) page(ctx context.Context, kind, path string, want ...int) (*result, bool) {
	if len(want) == 0 {
		want = []int{http.StatusOK}
	}
	res := b.do(ctx, request{kind: kind, method: http.MethodGet, path: path})
	ok := b.check(res, want...)
	if m := csrfRE.FindSubmatch(res.body); ok && m != nil {
		b.tok = string(m[1])
	}
	return res, ok
}

// form posts a form with the session's CSRF token.
func (b *browser) form(ctx context.Context, kind, path string, v map[string][]string) *result {
	vals := make([]string, 0, len(v)+1)
	vals = append(vals, "csrf="+urlEscape(b.tok))
	for k, vs := range v {
		for _, x := range vs {
			vals = append(vals, urlEscape(k)+"="+urlEscape(x))
		}
	}
	return b.do(ctx, request{kind: kind, method: http.MethodPost, path: path,
		body: []byte(strings.Join(vals, "&")), ctype: "application/x-www-form-urlencoded"})
}
