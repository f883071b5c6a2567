// Package web is Coffre's HTTP side: the router, the pages and the API. Handlers parse,
// authorise, call one domain method, then render or redirect. Every route is listed in
// routes.go.
//
// Four kinds of people come in, each their own way: owners, with their session
// (account.go, auth.go, passkey.go, franceconnect.go); agents at a CCAS desk, with a
// session of their own that never mixes with an owner's (agent*.go, referent.go: a
// password and an authenticator code, or ProConnect), whose every request to a person's
// safe is authorised by the domain (sharing.Authorize); the person at a counter holding a
// share link, whose token is the key (recipient.go: the papers, watermarked with who they
// were given to and why, one by one or merged into one PDF by ingest); and téléservices
// and issuers, through the JSON API under /api/v1 (api.go, oauth.go, issuer_api.go:
// OAuth 2 tokens, signed delivery receipts, deposits through a subscription).
//
// Pages are rendered on the server with html/template and the French State design system
// (DSFR), work without JavaScript, and stay under 150 KB and 10 requests per page and do
// not move while they load: the DSFR rules the templates can use are bundled into one
// stylesheet at start (assets_css.go), served compressed under a content hash.
// Every page that shows a person's data is reached through a server-side session
// (PostgreSQL, see account.Service.CreateSession); every form carries a CSRF token tied
// to the session, masked afresh in every response (maskCSRF); every document is looked up
// with the session's owner, so another owner's document ID gives the same "not found" page
// as a missing one. A change of credential ends the owner's other sessions and renews
// the token of this one; adding or removing a passkey needs a recent proof (reverify.go).
//
// The search box of « Mes papiers » (search.go) is answered by the vault's blind index.
// An owner who turns on the reading of their papers (reading.go) gets them read in the
// background, a few at a time (Reader, reader.go: local OCR, sealed text), and the kind
// and dates recognised are suggested on each paper's page, applied only when the person
// says « Oui » or corrects them (suggestion.go).
package web

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-webauthn/webauthn/webauthn"

	"coffre/ingest"
	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// Pinger is what readiness needs of the domain: does every dependency answer?
type Pinger interface {
	Ping(ctx context.Context) error
}

// Normalizer turns the photos or the PDF of a paper into one PDF and a thumbnail, with
// quality warnings; ingest.Process is the real one (see IngestProcess).
type Normalizer interface {
	Process(ctx context.Context, inputs []io.Reader, opts ingest.Options, pdf, thumb io.Writer) (*ingest.Result, error)
}

// IngestProcess is the Normalizer of package ingest.
type IngestProcess struct{}

// Process implements Normalizer with ingest.Process.
func (IngestProcess) Process(ctx context.Context, inputs []io.Reader, opts ingest.Options, pdf, thumb io.Writer) (*ingest.Result, error) {
	return ingest.Process(ctx, inputs, opts, pdf, thumb)
}

// Defaults of Config.
const (
	DefaultMaxUpload       = 40 << 20
	DefaultIngestMemory    = 512 << 20
	DefaultAdmissionWait   = 10 * time.Second
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
)

// What a process holds beside the ingest budget: templates and assets, database and S3
// clients, sessions, exports streaming (a few megabytes each), requests in flight (gcSlack
// of it at most), and the garbage the collector has not reached yet.
const (
	gcSlack    = 128 << 20
	baseMemory = 320 << 20
)

// MemoryBound is the memory a process serving cfg stays under (what it maps from the
// system, about its resident size): the ingest budget, through which every deposit, merge
// of a link's papers and other large piece of work passes, plus baseMemory.
func MemoryBound(cfg Config) int64 {
	if cfg.IngestMemory <= 0 {
		cfg.IngestMemory = DefaultIngestMemory
	}
	return cfg.IngestMemory + baseMemory
}

// NewBudget is the memory budget of deposits a process serving cfg has: IngestMemory
// bytes, waited for AdmissionWait at most (defaults when zero). cmd/coffre makes it once
// and hands it to Config.Budget and to the Reader, which share it.
func NewBudget(cfg Config) *ingest.Budget {
	if cfg.IngestMemory <= 0 {
		cfg.IngestMemory = DefaultIngestMemory
	}
	if cfg.AdmissionWait <= 0 {
		cfg.AdmissionWait = DefaultAdmissionWait
	}
	return ingest.NewBudget(cfg.IngestMemory, cfg.AdmissionWait)
}

// GCLimit is the soft memory limit cmd/coffre gives the Go runtime, gcSlack above the
// budget: from there the collector runs as often as it must. The rest of baseMemory is
// for overshoot: a large allocation (a decoded page of 200 MB) lands before the collector
// has freed the garbage of the one before (TestDepositGuard measured up to 90 MB).
func GCLimit(cfg Config) int64 { return MemoryBound(cfg) - baseMemory + gcSlack }

// Config is what the HTTP side is built from.
type Config struct {
	Ready Pinger
	Log   *slog.Logger
	// Vault serves the pages; without it only /healthz and /readyz answer.
	Vault *vault.Vault
	// Accounts signs owners in (sessions, passkeys, FranceConnect, temporary codes); it
	// comes with Vault.
	Accounts *account.Service
	// Ingest normalises deposits; nil means IngestProcess.
	Ingest Normalizer
	// MaxUpload bounds one request body (all the pages of one deposit), in bytes.
	MaxUpload int64
	// IngestMemory is the memory, in bytes, that deposits and merges of a link's papers
	// may hold together (an ingest.Budget shared by every deposit path); beyond it they
	// wait up to AdmissionWait, then are answered "busy, try again" (503).
	IngestMemory  int64
	AdmissionWait time.Duration
	// ExportGrace and ExportMinRate pace an export (export.go): a client that has not
	// taken ExportMinRate bytes per second on average after ExportGrace is cut off.
	// Zero: 2 minutes and 16 KB/s.
	ExportGrace   time.Duration
	ExportMinRate int64
	// UploadGrace and UploadMinRate pace every request body (upload.go): a client that
	// has not sent UploadMinRate bytes per second on average after UploadGrace is cut
	// off, and a deposit's memory is given back. Zero: 30 seconds and 16 KB/s.
	UploadGrace   time.Duration
	UploadMinRate int64
	// BehindTLS says the service is reached over HTTPS, even when a proxy terminates TLS:
	// cookies become Secure with the __Host- prefix, and HSTS is sent.
	BehindTLS bool
	// IdleTimeout and AbsoluteTimeout end sessions: after IdleTimeout without a request,
	// and AbsoluteTimeout after sign-in whatever the activity.
	IdleTimeout, AbsoluteTimeout time.Duration
	// BaseURL is the address people reach the service at (https://coffre.example.fr).
	// Passkeys need it (their relying party is its host); without it they are off.
	BaseURL string
	// Contact is how people reach the service's team (an e-mail address, a phone, a postal
	// address), shown on the accessibility statement, which must give one; empty: the page
	// sends them to the desk that helps them.
	Contact string
	// OpenID turns on sign-in with FranceConnect (needs BaseURL); nil: off.
	OpenID *OpenIDConfig
	// ProConnect turns on agents' sign-in with ProConnect, or any OpenID Connect
	// provider of agents (needs BaseURL and Sharing); nil: off (proconnect.go).
	ProConnect *OpenIDConfig
	// Sharing serves share links, "Choisir dans mon coffre" and the téléservice API;
	// nil: off.
	Sharing *sharing.Service
	// Signing signs delivery receipts; its public half is published as a JWKS. Required
	// with Sharing.
	Signing ed25519.PrivateKey
	// Metrics records requests, deposits and refusals (metrics.go); nil: off.
	Metrics *Metrics
	// Channels are the kinds of channel the service can send messages to (package
	// notify): owners may add those on « Mon compte ». None: the section is not shown.
	Channels []account.ChannelKind
	// Budget is the memory budget of deposits, shared with the background reading of
	// papers (Reader); nil makes one of IngestMemory bytes.
	Budget *ingest.Budget
	// Reading queues the background reading of an owner's papers (reader.go); nil: the
	// service does not offer to read papers.
	Reading ReadingQueue
	// TrustList gives the 2D-Doc trust list in use (it is refreshed while the service
	// runs: see cmd/coffre); nil, or a nil list: the 2D-Doc of papers is not checked
	// (proof.go).
	TrustList func() *ingest.TrustList
	// Now is the clock of every decision the pages take from the time: proofs of
	// presence that are fresh or not, expiries shown and checked, dates of exports and
	// default titles, tokens' lifetimes. nil: time.Now. Tests move it instead of
	// sleeping; give vault.Config.Now and account.Config.Now the same clock. The pacing
	// of request and response bodies and the durations of metrics follow the wall clock
	// whatever Now says: they measure the network and the machine.
	Now func() time.Time
}

type handler struct {
	ready    Pinger
	log      *slog.Logger
	vault    *vault.Vault
	accounts *account.Service
	ingest   Normalizer
	cfg      Config
	assets   *assets
	pages    *pages
	wa       *webauthn.WebAuthn // nil when passkeys are off
	oidc     *openID            // nil when FranceConnect is off
	proc     *openID            // nil when ProConnect is off
	share    *sharing.Service   // nil when sharing is off
	budget   *ingest.Budget     // memory of deposits and merges (upload.go)

	deposits slots // deposits in progress per safe (upload.go)
	merges   slots // merges of a link's papers in progress per link (recipient.go)

	recovery recovery // export slots and the cached service notice (export.go)
	metrics  *Metrics // nil when off (metrics.go)
}

// New returns the HTTP handler of the service.
func New(cfg Config) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Ingest == nil {
		cfg.Ingest = IngestProcess{}
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.IngestMemory <= 0 {
		cfg.IngestMemory = DefaultIngestMemory
	}
	if cfg.AdmissionWait <= 0 {
		cfg.AdmissionWait = DefaultAdmissionWait
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if _, ok := cfg.Log.Handler().(requestIDHandler); !ok {
		cfg.Log = slog.New(WithRequestIDs(cfg.Log.Handler()))
	}
	if cfg.Metrics != nil {
		cfg.Ingest = timedIngest{cfg.Ingest, cfg.Metrics}
	}
	if cfg.Budget == nil {
		cfg.Budget = NewBudget(cfg)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &handler{ready: cfg.Ready, log: cfg.Log, vault: cfg.Vault, accounts: cfg.Accounts, ingest: cfg.Ingest, cfg: cfg, share: cfg.Sharing,
		budget: cfg.Budget, metrics: cfg.Metrics}
	r := chi.NewRouter()
	r.Use(h.requestID, middleware.Recoverer, h.securityHeaders, h.paceBody, cfg.Metrics.middleware)
	if h.vault != nil {
		h.prepare()
	}
	h.routes(r)
	return r
}

// prepare sets up what the pages need beside Config: passkeys, FranceConnect, ProConnect,
// assets and templates.
func (h *handler) prepare() {
	cfg := h.cfg
	wa, err := newWebAuthn(cfg.BaseURL)
	if err != nil {
		// A wrong address is a configuration error that cmd/coffre reports at start.
		h.log.Error("passkeys off", "err", err)
	}
	h.wa = wa
	if cfg.OpenID != nil && cfg.BaseURL != "" {
		oc := *cfg.OpenID
		if oc.ACR == "" {
			oc.ACR = "eidas1"
		}
		if oc.Scopes == nil {
			oc.Scopes = pivotClaims
		}
		h.oidc = &openID{cfg: oc, redirect: cfg.BaseURL + "/connexion/franceconnect/retour"}
	}
	h.proc = newProConnect(cfg)
	h.assets = loadAssets()
	h.pages = parsePages(h.assets)
}

// now is the time by the service's clock (Config.Now; time.Now for a handler built
// without New, as internal tests do).
func (h *handler) now() time.Time {
	if h.cfg.Now == nil {
		return time.Now()
	}
	return h.cfg.Now()
}

// securityHeaders applies the headers every response carries: no framing, no sniffing,
// no referrer, and a strict CSP with no inline script.
func (h *handler) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil || h.cfg.BehindTLS {
			hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// healthz says the process is alive; it checks nothing else, so that an orchestrator does
// not restart every instance when the database blinks.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n")) // the client has gone: nothing left to tell it
}

// NotReady is a readiness failure with a reason /readyz may tell the orchestrator
// ("database refuses writes", "bucket missing"); the error itself is only logged.
type NotReady struct {
	Reason string
	Err    error
}

func (e NotReady) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e NotReady) Unwrap() error { return e.Err }

// readyz says whether this instance can serve: PostgreSQL and the blob store answer
// (cmd/coffre's Pinger checks more: writes, the bucket, the keys).
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := h.ready.Ping(ctx); err != nil {
		h.log.WarnContext(r.Context(), "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		msg := "not ready\n"
		var nr NotReady
		if errors.As(err, &nr) {
			msg = "not ready: " + nr.Reason + "\n"
		}
		_, _ = w.Write([]byte(msg)) // the client has gone: nothing left to tell it
		return
	}
	_, _ = w.Write([]byte("ready\n")) // the client has gone: nothing left to tell it
}

func (h *handler) placeholder(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(`<!doctype html><html lang="fr"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Coffre</title><h1>Coffre</h1><p>Le coffre-fort numérique fonctionne.</p></html>`))
}
