package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"coffre/vault"
	"coffre/vault/account"
)

// state is what the middleware learns about a request: the session, if any, and the
// CSRF token its forms must carry.
type state struct {
	token   string // the cookie value: session token or, before sign-in, a random value
	session *account.Session
	owner   *vault.Owner
	csrf    string
}

type stateKey struct{}

func stateOf(r *http.Request) *state {
	if st, ok := r.Context().Value(stateKey{}).(*state); ok {
		return st
	}
	return &state{}
}

// cookieName is prefixed __Host- over TLS: such a cookie must be Secure, set by this host
// only, for the whole site, so a sibling subdomain cannot plant one.
func (h *handler) cookieName(base string) string {
	if h.cfg.BehindTLS {
		return "__Host-" + base
	}
	return base
}

func (h *handler) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.cfg.BehindTLS, SameSite: http.SameSiteLaxMode,
	})
}

// csrfToken derives the forms' token from the cookie value (synchronizer token without
// storage): it changes with each session, and cannot be computed without the cookie.
func csrfToken(cookie string) string {
	m := hmac.New(sha256.New, []byte(cookie))
	m.Write([]byte("coffre csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// maskCSRF is the token as a page carries it: a fresh random pad followed by the token
// XORed with it, base64url. Pages are compressed (middleware.Compress) and some reflect
// what the visitor typed or asked for; a fixed token beside that reflection would leak
// byte by byte through the compressed size (BREACH). Masked, the token is different
// bytes in every response and compresses against nothing. Masking rather than not
// compressing keeps the pages light on a prepaid 3G plan.
func maskCSRF(token string) string {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return ""
	}
	out := make([]byte, 2*len(raw))
	rand.Read(out[:len(raw)])
	for i, c := range raw {
		out[len(raw)+i] = out[i] ^ c
	}
	return base64.RawURLEncoding.EncodeToString(out)
}

// validCSRF tells whether got, a masked token from a form field or the X-CSRF-Token
// header of the scripts, unmasks to the token of the request's cookie. The comparison
// is in constant time; an unmasked token is refused.
func validCSRF(r *http.Request, got string) bool {
	want, err := base64.RawURLEncoding.DecodeString(stateOf(r).csrf)
	if err != nil || len(want) == 0 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(got)
	if err != nil || len(b) != 2*len(want) {
		return false
	}
	pad, masked := b[:len(want)], b[len(want):]
	for i := range masked {
		masked[i] ^= pad[i]
	}
	return hmac.Equal(masked, want)
}

// preAfter is the "pre" token of a browser whose session (token) has just ended: derived
// from it, so that pages loaded at once as it ended (signOutPerson) all get the same, and
// as secret as the session's.
func preAfter(token string) string {
	sum := sha256.Sum256([]byte("coffre pre after a session\x00" + token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// session loads the session named by the cookie. Visitors who are not signed in get a
// random "pre" cookie so that the sign-in and sign-up forms carry a CSRF token too.
func (h *handler) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{}
		if c, err := r.Cookie(h.cookieName("coffre")); err == nil && c.Value != "" {
			s, err := h.accounts.SessionByToken(r.Context(), c.Value, h.cfg.IdleTimeout)
			switch {
			case err == nil:
				st.token, st.session = c.Value, s
				st.owner = &vault.Owner{ID: s.OwnerID, Login: s.Login}
			case !errors.Is(err, vault.ErrNotFound):
				h.serverError(w, r, err)
				return
			default:
				h.personLeft(w, r) // a session that ran out
			}
		}
		if st.session == nil {
			if c, err := r.Cookie(h.cookieName("coffre_pre")); err == nil && len(c.Value) >= 43 {
				st.token = c.Value
			} else {
				st.token = randomToken()
				if c, err := r.Cookie(h.cookieName("coffre")); err == nil && len(c.Value) >= 43 {
					st.token = preAfter(c.Value)
				}
				h.setCookie(w, "coffre_pre", st.token, 0)
			}
		}
		st.csrf = csrfToken(st.token)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	})
}

// maxFormBody bounds a request body that is not a deposit: a form, the JSON of the
// pages' scripts (passkeys). Reading the CSRF token of a form reads the whole body into
// memory first (Request.ParseForm, up to 10 MB otherwise).
const maxFormBody = 64 << 10

// bodyLimit bounds every request body: MaxUpload for a deposit (a multipart body,
// streamed: upload.go), maxFormBody for anything else. A body above the limit gets one
// sentence.
func (h *handler) bodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			limit := int64(maxFormBody)
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
				limit = h.cfg.MaxUpload
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// paceBody cuts off a client that sends its request body too slowly (pacedBody), on
// every route: a body held half-sent holds the request's memory, its connection, and for
// a deposit its share of the ingest budget.
func (h *handler) paceBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &pacedBody{ReadCloser: r.Body, rc: http.NewResponseController(w), start: time.Now(), // pacing measures the network: the wall clock, not Config.Now
				grace: h.uploadGrace(), rate: h.uploadRate()}
		}
		next.ServeHTTP(w, r)
	})
}

// csrf refuses every POST whose token does not match the cookie's, and every
// cross-origin POST (Sec-Fetch-Site, Origin).
func (h *handler) csrf(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		if err := cop.Check(r); err != nil {
			h.fail(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		// A multipart body is streamed, never parsed into a form (upload.go).
		r, err := streamParts(r)
		if err != nil {
			h.bodyError(w, r, err)
			return
		}
		// A form body is read before its token is checked: within maxFormBody, else one
		// sentence (bodyLimit), and cut off when it comes too slowly (paceBody).
		if err := r.ParseForm(); err != nil {
			h.bodyError(w, r, err)
			return
		}
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			got = formToken(r)
		}
		if !validCSRF(r, got) {
			// A form of the desk the agent loaded before a person signed in on their
			// browser (same origin: a stale tab) still takes the computer back, as any
			// page of the desk does (handOver, which comes after this check).
			if strings.HasPrefix(r.URL.Path, "/agent/") && h.atDesk(r) && stateOf(r).session != nil {
				if err := h.signOutPerson(w, r); err != nil {
					h.serverError(w, r, err)
					return
				}
			}
			h.fail(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bodyError answers a body that could not be read: too large, or cut off.
func (h *handler) bodyError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		h.failJSONOrPage(w, r, http.StatusRequestEntityTooLarge, "error.toolarge")
		return
	}
	h.failJSONOrPage(w, r, http.StatusBadRequest, "error.badrequest")
}

// requireOwner sends visitors who are not signed in to the sign-in page.
func (h *handler) requireOwner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stateOf(r).session == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/connexion", http.StatusSeeOther)
				return
			}
			h.fail(w, r, http.StatusUnauthorized, "error.signedout")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address of the client. Behind a proxy (BehindTLS), the last address of
// X-Forwarded-For is the one the proxy saw.
func (h *handler) clientIP(r *http.Request) netip.Addr {
	if h.cfg.BehindTLS {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				return a.Unmap()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// actor is the signed-in owner, for the journal.
func (h *handler) actor(r *http.Request) vault.Actor {
	st := stateOf(r)
	a := vault.Actor{Kind: vault.ActorVisitor, ID: "-", IP: h.clientIP(r)}
	if st.owner != nil {
		a.Kind, a.ID = vault.ActorOwner, st.owner.ID.String()
	}
	return a
}

// wantsJSON tells a request from the upload script, which reads JSON answers.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}
