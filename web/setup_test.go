package web_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/vaulttest"
	"coffre/web"
)

type testBundle struct {
	v       *vault.Vault
	a       *account.Service
	share   *sharing.Service
	signing ed25519.PrivateKey
	srv     *httptest.Server
	base    string // http://localhost:PORT
	queue   *readQueue
	// clock is the time of v, a and the pages: a test moves it rather than sleeping or
	// rewriting timestamps.
	clock *vaulttest.Clock
	db    *pgxpool.Pool // v's database, for tests that look at rows
}

// readQueue records the owners whose papers the pages asked to read; tests run the
// Reader themselves (reading_test.go), as the River job would.
type readQueue struct {
	mu     sync.Mutex
	owners []uuid.UUID
}

func (q *readQueue) QueueReading(_ context.Context, owner uuid.UUID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.owners = append(q.owners, owner)
	return nil
}

// queued returns how many times owner's papers were queued for reading.
func (q *readQueue) queued(owner uuid.UUID) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, o := range q.owners {
		if o == owner {
			n++
		}
	}
	return n
}

// setup serves the real pages over a real vault (PostgreSQL and MinIO) of its own: a
// fresh database and bucket, so that tests calling it may run in parallel.
func setup(t testing.TB, tweak ...func(*web.Config)) *testBundle {
	t.Helper()
	return serve(t, vaulttest.NewVault(t), tweak...)
}

// serve serves the real pages over vb, with a sharing service on it; the pages' clock is
// vb's (b.clock), so a test that moves it moves the vault, the accounts and the pages.
// Everything it builds is the test's own: nothing is shared between parallel tests.
func serve(t testing.TB, vb *vaulttest.Bundle, tweak ...func(*web.Config)) *testBundle {
	t.Helper()
	// The server is reached as localhost: passkeys need a domain, not an IP address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	share := sharing.New(vb.DB, vb.V, vb.A)
	vb.V.AddParticipant(share)
	queue := &readQueue{}
	cfg := web.Config{Ready: vb.V, Vault: vb.V, Accounts: vb.A, BaseURL: base, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Sharing: share, Signing: vb.Signing,
		Reading: queue, Now: vb.Clock.Now}
	if testing.Verbose() {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	for _, f := range tweak {
		f(&cfg)
	}
	srv := httptest.NewUnstartedServer(web.New(cfg))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &testBundle{v: vb.V, a: vb.A, share: share, signing: vb.Signing, srv: srv, base: base, queue: queue, clock: vb.Clock, db: vb.DB}
}

// client is a browser-like client: cookies, no automatic redirects.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func (b *testBundle) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: b.srv.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the token from a page's form.
func (c *client) csrf(path string) string {
	c.t.Helper()
	_, body := c.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no CSRF token in %s", path)
	}
	return m[1]
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) signup(login, secret string) {
	c.t.Helper()
	tok := c.csrf("/inscription")
	resp, body := c.post("/inscription", url.Values{"csrf": {tok}, "login": {login}, "secret": {secret}, "secret2": {secret}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/papiers" {
		c.t.Fatalf("signup: %d %s", resp.StatusCode, body)
	}
}

// sharedFixture finds a file of the shared fixtures: COFFRE_TEST_SHARED, or a folder
// "shared" beside one of the package's parents.
func sharedFixture(t testing.TB, rel string) string {
	t.Helper()
	if d := os.Getenv("COFFRE_TEST_SHARED"); d != "" {
		if p := filepath.Join(d, "fixtures", rel); exists(p) {
			return p
		}
	}
	dir, _ := os.Getwd()
	for {
		for _, cand := range []string{filepath.Join(dir, "shared", "fixtures", rel), filepath.Join(dir, "fixtures", rel)} {
			if strings.Contains(cand, string(filepath.Separator)+"shared"+string(filepath.Separator)) && exists(cand) {
				return cand
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("shared fixture %s not found: set COFFRE_TEST_SHARED to the shared folder", rel)
		}
		dir = parent
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
