package web_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"coffre/web"
)

// syncBuffer is a log destination the server's goroutines may write to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type failingPinger struct{}

func (failingPinger) Ping(context.Context) error {
	return web.NotReady{Reason: "database refuses writes", Err: errors.New("cannot execute UPDATE in a read-only transaction")}
}

func TestRequestIDInHeaderAndLogs(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	b := setup(t, func(c *web.Config) {
		c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
		c.Ready = failingPinger{}
	})
	c := b.client(t)
	resp, body := c.get("/readyz")
	id := resp.Header.Get("X-Request-ID")
	if resp.StatusCode != http.StatusServiceUnavailable || body != "not ready: database refuses writes\n" {
		t.Fatalf("readyz: %d %q", resp.StatusCode, body)
	}
	if len(id) != 24 {
		t.Fatalf("X-Request-ID = %q", id)
	}
	if !strings.Contains(logs.String(), `"msg":"not ready"`) || !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
		t.Fatalf("the log line of the request lacks its ID %s:\n%s", id, logs.String())
	}
	// Each request its own ID; a proxy's plain ID is kept, anything else replaced.
	if resp2, _ := c.get("/readyz"); resp2.Header.Get("X-Request-ID") == id {
		t.Fatal("two requests got the same ID")
	}
	for in, kept := range map[string]bool{"lb-7f3a9c21": true, "bad id; forged=1": false, "x": false} {
		req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/healthz", nil)
		req.Header.Set("X-Request-ID", in)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Request-ID"); (got == in) != kept || got == "" {
			t.Errorf("X-Request-ID %q answered %q", in, got)
		}
	}
}

func TestMetricsLabelNoSecret(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	b := setup(t, func(c *web.Config) { c.Metrics = web.NewMetrics(reg) })
	c := b.client(t)
	c.signup("metrique", "les series ne disent rien de personne")
	photo := sharedFixture(t, "exif-orientation/Landscape_1.jpg")
	resp, body := c.upload("/papiers/ajouter", c.csrf("/papiers/ajouter"), map[string]string{"kind": "caf", "title": "Attestation"}, photo)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deposit: %d %s", resp.StatusCode, body)
	}
	doc := docLinkRE.FindStringSubmatch(resp.Header.Get("Location"))[1]
	c.get("/papiers/" + doc)
	token := strings.Repeat("A", 43)
	c.get("/p/" + token + "/document/" + doc) // an unknown link: refused
	c.get("/nulle-part")

	var out bytes.Buffer
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		out.WriteString(mf.String())
	}
	all := out.String()
	for _, secret := range []string{doc, token, "metrique"} {
		if strings.Contains(all, secret) {
			t.Errorf("a series carries %q", secret)
		}
	}
	if n := counter(t, reg, "coffre_deposits_total", "outcome", "stored"); n != 1 {
		t.Errorf("deposits stored = %v", n)
	}
	for _, want := range []string{`/papiers/{id}`, `/p/{token}/document/{doc}`, `unmatched`, `coffre_link_downloads_total`} {
		if !strings.Contains(all, want) {
			t.Errorf("no series with %s", want)
		}
	}
	for _, stage := range []string{"ingest", "decode", "encode", "store"} {
		if counter(t, reg, "coffre_deposit_stage_seconds", "stage", stage) != 1 {
			t.Errorf("stage %s not timed once", stage)
		}
	}
	if n := counter(t, reg, "coffre_link_downloads_total", "outcome", "refused"); n != 1 {
		t.Errorf("link downloads refused = %v", n)
	}
}

// counter is the value of the counter name with label=value in reg (for a histogram,
// its count of observations).
func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					if h := m.GetHistogram(); h != nil {
						return float64(h.GetSampleCount())
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}
