package web_test

import (
	"html"
	"net/http"
	"strings"
	"testing"
)

// userAgent is a transport that says it is the browser ua.
type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}

// TestAccountDeviceNames: « Mon compte » names each signed-in device in plain words,
// never by the browser's raw description.
func TestAccountDeviceNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const (
		iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
		laptop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	)
	phone := b.client(t)
	phone.hc.Transport = userAgent{iphone, http.DefaultTransport}
	phone.signup("nadia", "le chat mange la pomme")
	pc := b.client(t)
	pc.hc.Transport = userAgent{laptop, http.DefaultTransport}
	if resp := pc.signIn("nadia", "le chat mange la pomme"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	robot := b.client(t)
	robot.hc.Transport = userAgent{"curl/8.5.0", http.DefaultTransport}
	if resp := robot.signIn("nadia", "le chat mange la pomme"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	_, body := phone.get("/compte")
	body = html.UnescapeString(body)
	for _, want := range []string{"Cet appareil", "Safari sur iPhone", "Chrome sur Linux", "Navigateur inconnu"} {
		if !strings.Contains(body, want) {
			t.Errorf("« Mon compte » does not say %q", want)
		}
	}
	for _, raw := range []string{"Mozilla/5.0", "AppleWebKit", "curl/"} {
		if strings.Contains(body, raw) {
			t.Errorf("« Mon compte » shows the raw description %q", raw)
		}
	}
}
