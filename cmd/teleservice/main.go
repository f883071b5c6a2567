// Command teleservice is an example téléservice: a tiny back-end with a "Choisir dans mon
// coffre" button. It shows, as a téléservice's developers would write it, the whole
// exchange with Coffre: OAuth 2.0 authorization code with PKCE (S256) and
// authorization_details, the token request with the client secret, the manifest, the
// downloads, and the checks a téléservice must make — each file's SHA-256 against the
// manifest and the Repr-Digest header, and the delivery receipt's signature against
// Coffre's published key.
//
// It depends on nothing of Coffre's code: only the HTTP API described in
// /api/v1/openapi.json.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const usage = `Usage: teleservice [flags]

An example téléservice for "Choisir dans mon coffre". Register it first:

    coffre clients add --name "Téléservice d'exemple" --kinds caf,impots \
        --redirect-uri http://127.0.0.1:8090/retour

then run it with the client ID and secret printed:

    teleservice --coffre http://127.0.0.1:8080 --client-id ts_… --client-secret … \
        --listen 127.0.0.1:8090

Flags (or environment variables):
    --coffre URL           Coffre's base URL (TELESERVICE_COFFRE, http://127.0.0.1:8080)
    --client-id ID         (TELESERVICE_CLIENT_ID)
    --client-secret S      (TELESERVICE_CLIENT_SECRET)
    --listen ADDR          (TELESERVICE_LISTEN, 127.0.0.1:8090)
    --kinds K,K            document kinds to ask for (TELESERVICE_KINDS, caf)
`

func main() {
	fs := flag.NewFlagSet("teleservice", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	env := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	cfg := Config{}
	fs.StringVar(&cfg.Coffre, "coffre", env("TELESERVICE_COFFRE", "http://127.0.0.1:8080"), "")
	fs.StringVar(&cfg.ClientID, "client-id", env("TELESERVICE_CLIENT_ID", ""), "")
	fs.StringVar(&cfg.ClientSecret, "client-secret", env("TELESERVICE_CLIENT_SECRET", ""), "")
	listen := fs.String("listen", env("TELESERVICE_LISTEN", "127.0.0.1:8090"), "")
	kinds := fs.String("kinds", env("TELESERVICE_KINDS", "caf"), "")
	_ = fs.Parse(os.Args[1:]) // ExitOnError: a bad flag exits here
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		fmt.Fprint(os.Stderr, usage)
		fmt.Fprintln(os.Stderr, "teleservice: error: --client-id and --client-secret are required")
		os.Exit(1)
	}
	cfg.Kinds = strings.Split(*kinds, ",")
	cfg.Self = "http://" + *listen
	fmt.Printf("teleservice: http://%s/\n", *listen)
	// A client that sends its headers slowly must not hold a connection for ever.
	srv := &http.Server{Addr: *listen, Handler: New(cfg, slog.Default()), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "teleservice: error:", err)
		os.Exit(1)
	}
}

// Config is the téléservice's registration with Coffre.
type Config struct {
	Coffre       string // Coffre's base URL
	ClientID     string
	ClientSecret string
	Self         string // this service's base URL; the redirect URI is Self + "/retour"
	Kinds        []string
	HTTP         *http.Client
}

type service struct {
	cfg     Config
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string]string // state → PKCE verifier, for 10 minutes at most
}

// New returns the téléservice's HTTP handler.
func New(cfg Config, log *slog.Logger) http.Handler {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	s := &service{cfg: cfg, log: log, pending: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /choisir", s.start)
	mux.HandleFunc("GET /retour", s.back)
	return mux
}

// page is the téléservice's one page, in French spaced as Coffre's catalogue (package
// i18n): &nbsp; before « : », inside « … », between a number and its unit;
// TestPageFrenchSpaces fails on a plain space there.
//
//nolint:gochecknoglobals // a template parsed once
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="fr"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demande d'aide au logement</title>
<main>
<h1>Demande d'aide au logement</h1>
{{if .Error}}<p id="erreur" role="alert">{{.Error}}</p>{{end}}
{{if .Documents}}
<p id="resultat">Nous avons bien reçu {{len .Documents}} document(s).</p>
<ul>{{range .Documents}}<li class="document" data-verified="{{.Verified}}">{{.Title}} — {{.Size}}&nbsp;octets — {{if .Verified}}empreinte et reçu vérifiés{{else}}NON VÉRIFIÉ&nbsp;: {{.Problem}}{{end}}
{{with .Proof}}{{if .Verified}}<p class="proof" data-status="{{.Status}}">Document authentique&nbsp;: {{.Type}}, émis par {{.Issuer}}</p>
<ul class="facts">{{range .Facts}}<li>{{.Label}}&nbsp;: {{.Value}}</li>{{end}}</ul>{{else}}<p class="proof" data-status="{{.Status}}">Le code 2D-Doc ne correspond pas ({{.Status}})</p>{{end}}{{end}}
{{with .Watermark}}<p class="watermark">Copie marquée&nbsp;: «&nbsp;{{.}}&nbsp;»</p>{{end}}</li>{{end}}</ul>
{{else}}
<p>Pour votre demande, il nous faut votre attestation CAF.</p>
<p><a id="choisir" href="/choisir">Choisir dans mon coffre</a></p>
{{end}}
</main></html>`))

type received struct {
	Title    string
	Size     int
	Verified bool
	Problem  string
	// Proof is what the paper's 2D-Doc said, checked by Coffre at deposit: the
	// téléservice need not check the paper by hand. Watermark is written on every page.
	Proof     *proof
	Watermark string
}

type proof struct {
	Status   string `json:"status"`
	Verified bool   `json:"verified"`
	Type     string `json:"type"`
	Issuer   string `json:"issuer"`
	Facts    []struct {
		Label string `json:"label"`
		Value string `json:"value"`
	} `json:"facts"`
}

func (s *service) render(w http.ResponseWriter, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'")
	if err := page.Execute(w, data); err != nil {
		s.log.Error("render", "err", err)
	}
}

func (s *service) home(w http.ResponseWriter, r *http.Request) { s.render(w, map[string]any{}) }

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start sends the person to Coffre with a PKCE challenge and the kinds we need.
func (s *service) start(w http.ResponseWriter, r *http.Request) {
	state, verifier := random(), random()
	s.mu.Lock()
	s.pending[state] = verifier
	s.mu.Unlock()
	time.AfterFunc(10*time.Minute, func() { s.mu.Lock(); delete(s.pending, state); s.mu.Unlock() })
	sum := sha256.Sum256([]byte(verifier))
	details, _ := json.Marshal([]map[string]any{{"type": "coffre_documents", "kinds": s.cfg.Kinds, "purpose": "Demande d'aide au logement"}})
	q := url.Values{
		"client_id": {s.cfg.ClientID}, "redirect_uri": {s.cfg.Self + "/retour"}, "response_type": {"code"},
		"state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"authorization_details": {string(details)},
	}
	http.Redirect(w, r, s.cfg.Coffre+"/oauth/authorize?"+q.Encode(), http.StatusSeeOther)
}

// back receives the code, fetches the documents and checks every one of them.
func (s *service) back(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	verifier, ok := s.pending[q.Get("state")]
	delete(s.pending, q.Get("state"))
	s.mu.Unlock()
	switch {
	case !ok:
		s.render(w, map[string]any{"Error": "Cette réponse ne correspond à aucune demande en cours. Recommencez."})
		return
	case q.Get("error") == "access_denied":
		s.render(w, map[string]any{"Error": "Vous avez refusé de partager vos documents. Vous pouvez recommencer quand vous voulez."})
		return
	case q.Get("error") != "":
		s.render(w, map[string]any{"Error": "Coffre a refusé la demande (" + q.Get("error") + ")."})
		return
	}
	docs, err := s.fetch(r.Context(), q.Get("code"), verifier)
	if err != nil {
		s.log.Error("fetch documents", "err", err)
		s.render(w, map[string]any{"Error": "Nous n'avons pas pu récupérer vos documents. Réessayez."})
		return
	}
	s.render(w, map[string]any{"Documents": docs})
}

func (s *service) fetch(ctx context.Context, code, verifier string) ([]received, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {s.cfg.Self + "/retour"}, "code_verifier": {verifier}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Coffre+"/api/v1/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.cfg.ClientID, s.cfg.ClientSecret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := s.call(req, &tok); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	key, err := s.coffreKey(ctx)
	if err != nil {
		return nil, err
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.Coffre+"/api/v1/grant", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	var m struct {
		Documents []struct {
			ID     string `json:"id"`
			Title  string `json:"title"`
			Size   int    `json:"size"`
			SHA256 string `json:"sha256"`
			Href   string `json:"href"`
			// A marked copy's hash is in its Repr-Digest and its receipt, not here.
			Watermark string `json:"watermark"`
			Proof     *proof `json:"proof"`
		} `json:"documents"`
	}
	if err := s.call(req, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var out []received
	for _, d := range m.Documents {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.Coffre+d.Href, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := s.cfg.HTTP.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("document %s: status %d, %v", d.ID, resp.StatusCode, err)
		}
		rc := received{Title: d.Title, Size: len(body), Proof: d.Proof, Watermark: d.Watermark}
		sum := sha256.Sum256(body)
		got := hex.EncodeToString(sum[:])
		switch {
		case d.Watermark == "" && got != d.SHA256:
			rc.Problem = "l'empreinte ne correspond pas au manifeste"
		case resp.Header.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":":
			rc.Problem = "l'en-tête Repr-Digest ne correspond pas"
		default:
			rc.Problem = checkReceipt(resp.Header.Get("Coffre-Receipt"), key, d.ID, got, d.Watermark)
		}
		rc.Verified = rc.Problem == ""
		out = append(out, rc)
	}
	return out, nil
}

// checkReceipt verifies the receipt's signature and that it names this document, the
// hash of what was received and the watermark written on it ("" for none).
func checkReceipt(compact string, key ed25519.PublicKey, id, sha, watermark string) string {
	jws, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return "reçu illisible"
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return "la signature du reçu est fausse"
	}
	var rc struct {
		Documents []struct {
			ID        string `json:"id"`
			SHA256    string `json:"sha256"`
			Watermark string `json:"watermark"`
		} `json:"documents"`
	}
	if json.Unmarshal(payload, &rc) != nil {
		return "reçu illisible"
	}
	for _, d := range rc.Documents {
		if d.ID == id && d.SHA256 == sha && d.Watermark == watermark {
			return ""
		}
	}
	return "le reçu ne mentionne pas ce document"
}

// coffreKey fetches Coffre's signing key from its JWKS.
func (s *service) coffreKey(ctx context.Context) (ed25519.PublicKey, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.Coffre+"/.well-known/jwks.json", nil)
	var set jose.JSONWebKeySet
	if err := s.call(req, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	for _, k := range set.Keys {
		if pub, ok := k.Key.(ed25519.PublicKey); ok {
			return pub, nil
		}
	}
	return nil, errors.New("jwks: no Ed25519 key")
}

func (s *service) call(req *http.Request, into any) error {
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}
