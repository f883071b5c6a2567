package web

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"testing"
)

// The token a page carries is masked afresh in every response and unmasks to the
// session's token; nothing else passes.
func TestMaskedCSRF(t *testing.T) {
	t.Parallel()
	cookie, other := randomToken(), randomToken()
	r := httptest.NewRequest("POST", "/", nil)
	r = r.WithContext(context.WithValue(context.Background(), stateKey{}, &state{token: cookie, csrf: csrfToken(cookie)}))
	a, b := maskCSRF(csrfToken(cookie)), maskCSRF(csrfToken(cookie))
	if a == b {
		t.Fatal("two responses carry the same bytes")
	}
	for _, got := range []string{a, b} {
		if !validCSRF(r, got) {
			t.Errorf("masked token %q refused", got)
		}
	}
	raw, _ := base64.RawURLEncoding.DecodeString(a)
	raw[len(raw)-1] ^= 1
	for name, got := range map[string]string{
		"unmasked":             csrfToken(cookie),
		"another session's":    maskCSRF(csrfToken(other)),
		"tampered":             base64.RawURLEncoding.EncodeToString(raw),
		"cut":                  a[:len(a)-4],
		"empty":                "",
		"not base64":           "!!" + a[2:],
		"the pad alone, twice": a[:43] + a[:43],
	} {
		if validCSRF(r, got) {
			t.Errorf("%s token accepted", name)
		}
	}
}
