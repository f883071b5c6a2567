package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"coffre/web"
)

// oidcProvider starts a real OpenID Connect provider (zitadel/oidc's op package, with its
// example in-memory storage and login form) on localhost, and records the authorization
// requests it receives.
//
// The example keeps its clients in a process-wide map that nothing guards
// (storage.RegisterClients): a test holds oidcOne from here to its end, so that tests
// with a provider run one at a time even when they are parallel to the others.
func oidcProvider(t *testing.T) (issuer string, authQueries func() []url.Values) {
	t.Helper()
	oidcOne.Lock()
	t.Cleanup(oidcOne.Unlock)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/"
	router := exampleop.SetupServer(issuer, storage.NewStorage(storage.NewUserStore(issuer)), nil, false)
	var mu sync.Mutex
	var seen []url.Values
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth" {
			mu.Lock()
			seen = append(seen, r.URL.Query())
			mu.Unlock()
		}
		router.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }() // ends with ErrServerClosed at Close, below
	t.Cleanup(func() { srv.Close() })
	return issuer, func() []url.Values {
		mu.Lock()
		defer mu.Unlock()
		return append([]url.Values(nil), seen...)
	}
}

var oidcOne sync.Mutex //nolint:gochecknoglobals // guards the example provider's global clients

var opLoginIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

// fcLogin goes through the whole flow as a browser would: Coffre → provider → its login
// form → back to Coffre.
func fcLogin(t *testing.T, hc *http.Client, base, issuer string) *http.Response {
	t.Helper()
	resp, err := hc.Get(base + "/connexion/franceconnect")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := opLoginIDRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no login form at the provider (%s): %s", resp.Request.URL, body)
	}
	resp, err = hc.PostForm(issuer+"login/username", url.Values{"username": {"test-user@localhost"}, "password": {"verysecure"}, "id": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestFranceConnect(t *testing.T) {
	t.Parallel()
	issuer, authQueries := oidcProvider(t)
	b := setup(t, func(c *web.Config) {
		storage.RegisterClients(storage.WebClient("coffre-test", "client-secret", c.BaseURL+"/connexion/franceconnect/retour"))
		// The test provider hands out names under the standard "profile" scope, where
		// FranceConnect has one scope per pivot claim: ask for both.
		c.OpenID = &web.OpenIDConfig{Issuer: issuer, ClientID: "coffre-test", ClientSecret: "client-secret",
			Scopes: []string{"profile", "given_name", "family_name", "preferred_username", "birthdate", "gender", "birthplace", "birthcountry"}}
	})
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}

	_, login := b.client(t).get("/connexion")
	if !strings.Contains(login, `href="/connexion/franceconnect"`) || !strings.Contains(login, "FranceConnect") {
		t.Fatal("no FranceConnect button on the sign-in page")
	}

	resp := fcLogin(t, hc, b.base, issuer)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/papiers" || !strings.Contains(string(body), "Votre coffre est vide") {
		t.Fatalf("after FranceConnect: %s %d", resp.Request.URL, resp.StatusCode)
	}
	qs := authQueries()
	if len(qs) != 1 {
		t.Fatalf("%d authorization requests", len(qs))
	}
	q := qs[0]
	for k, want := range map[string]string{"acr_values": "eidas1", "response_type": "code", "code_challenge_method": "S256", "client_id": "coffre-test"} {
		if q.Get(k) != want {
			t.Errorf("authorization request %s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 40 {
			t.Errorf("authorization request %s = %q: missing or short", k, q.Get(k))
		}
	}
	for _, s := range []string{"openid", "given_name", "family_name", "birthdate", "birthplace", "gender"} {
		if !strings.Contains(" "+q.Get("scope")+" ", " "+s+" ") {
			t.Errorf("scope %q lacks %s", q.Get("scope"), s)
		}
	}

	// The identity is linked to one safe, its claims sealed, the sign-in journaled.
	ctx := context.Background()
	owner, err := b.a.OwnerByOpenID(ctx, issuer, "id1")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.a.OpenIDClaims(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("claims kept: %v %s", err, raw)
	}
	if claims["given_name"] != "Test" || claims["family_name"] != "User" {
		t.Errorf("claims kept: %s", raw)
	}
	if _, ok := claims["email"]; ok {
		t.Errorf("a claim outside the identity pivot was kept: %s", raw)
	}

	t.Run("account page without login", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, b.base+"/compte", nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "Vous vous connectez avec FranceConnect") {
			t.Fatalf("account page: %d", resp.StatusCode)
		}
	})

	t.Run("second sign-in finds the same safe", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		resp := fcLogin(t, &http.Client{Jar: jar}, b.base, issuer)
		resp.Body.Close()
		if resp.Request.URL.Path != "/papiers" {
			t.Fatalf("second sign-in ended at %s", resp.Request.URL)
		}
		again, err := b.a.OwnerByOpenID(ctx, issuer, "id1")
		if err != nil || again != owner {
			t.Fatalf("another safe: %v %v", again, err)
		}
		entries, err := b.v.Journal(ctx, owner, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		logins := 0
		for _, e := range entries {
			if e.Action == "login" {
				logins++
			}
		}
		if logins != 2 {
			t.Errorf("%d sign-ins journaled, want 2", logins)
		}
	})

	t.Run("forged state is refused", func(t *testing.T) {
		c := b.client(t)
		c.get("/connexion") // a visitor cookie
		resp, body := c.get("/connexion/franceconnect/retour?state=forged&code=whatever")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "FranceConnect n’a pas abouti") {
			t.Fatalf("forged state: %d", resp.StatusCode)
		}
	})
}

// A person who takes three minutes at their provider (FranceConnect sends them through
// their own identity provider's pages) still comes back signed in; after the state's
// lifetime they are refused. The time spent at the provider is moved, not waited for.
func TestFranceConnectSlowSignIn(t *testing.T) {
	t.Parallel()
	issuer, _ := oidcProvider(t)
	b := setup(t, func(c *web.Config) {
		storage.RegisterClients(storage.WebClient("coffre-slow", "client-secret", c.BaseURL+"/connexion/franceconnect/retour"))
		c.OpenID = &web.OpenIDConfig{Issuer: issuer, ClientID: "coffre-slow", ClientSecret: "client-secret", Scopes: []string{"profile"}}
	})
	for _, tc := range []struct {
		spent time.Duration
		ok    bool
	}{{3 * time.Minute, true}, {11 * time.Minute, false}} {
		t.Run(tc.spent.String(), func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar}
			resp, err := hc.Get(b.base + "/connexion/franceconnect")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := opLoginIDRE.FindSubmatch(body)
			if m == nil {
				t.Fatalf("no login form at the provider: %s", resp.Request.URL)
			}
			b.clock.Advance(tc.spent)
			resp, err = hc.PostForm(issuer+"login/username", url.Values{"username": {"test-user@localhost"}, "password": {"verysecure"}, "id": {string(m[1])}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Request.URL.Path == "/papiers" && resp.StatusCode == http.StatusOK; got != tc.ok {
				t.Errorf("back after %s at the provider: %s %d", tc.spent, resp.Request.URL.Path, resp.StatusCode)
			}
		})
	}
}
