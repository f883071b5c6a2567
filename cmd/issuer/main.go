// Command issuer is an example issuer for « Recevoir mes papiers »: the tiny back-end of
// an organisation (here a CAF) that puts the papers it makes into its users' safes. It
// shows, as an issuer's developers would write it, the whole exchange with Coffre:
//
//   - the person's consent, once: OAuth 2.0 authorization code with PKCE (S256) and
//     authorization_details of type coffre_deposit naming the kinds of paper; the code,
//     exchanged with a private_key_jwt client assertion, names the subscription, which
//     the issuer keeps with its file of the person;
//   - each deposit: an access token of the client_credentials grant (private_key_jwt
//     again), then one multipart POST per paper with its Repr-Digest (RFC 9530) and an
//     Idempotency-Key kept with the paper, so that a retry never makes two papers;
//   - the checks an issuer must make on the answer: the receipt's signature against
//     Coffre's published key, and that it names the SHA-256 of the file sent.
//
// It depends on nothing of Coffre's code: only the HTTP API described in
// /api/v1/openapi.json.
package main

import (
	"bytes"
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
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const usage = `Usage: issuer [flags]
       issuer --new-key FILE

An example issuer for « Recevoir mes papiers ». Make its key pair first:

    issuer --new-key issuer.jwk          # writes the private key, prints the public JWKS

register it with the public JWKS printed:

    coffre clients add --name "CAF (exemple)" --deposit-kinds caf \
        --redirect-uri http://127.0.0.1:8091/retour --jwks-file issuer-public.json

then run it with the client ID printed (Coffre needs COFFRE_BASE_URL for private_key_jwt):

    issuer --coffre http://127.0.0.1:8080 --client-id ts_… --key-file issuer.jwk \
        --listen 127.0.0.1:8091

Flags (or environment variables):
    --coffre URL           Coffre's base URL (ISSUER_COFFRE, http://127.0.0.1:8080)
    --client-id ID         (ISSUER_CLIENT_ID)
    --key-file FILE        the private key, a JWK (ISSUER_KEY_FILE)
    --listen ADDR          (ISSUER_LISTEN, 127.0.0.1:8091)
    --new-key FILE         write a new Ed25519 private key to FILE, print its public JWKS, and exit
`

func main() {
	fs := flag.NewFlagSet("issuer", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	env := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	cfg := Config{}
	fs.StringVar(&cfg.Coffre, "coffre", env("ISSUER_COFFRE", "http://127.0.0.1:8080"), "")
	fs.StringVar(&cfg.ClientID, "client-id", env("ISSUER_CLIENT_ID", ""), "")
	keyFile := fs.String("key-file", env("ISSUER_KEY_FILE", ""), "")
	listen := fs.String("listen", env("ISSUER_LISTEN", "127.0.0.1:8091"), "")
	newKey := fs.String("new-key", "", "")
	_ = fs.Parse(os.Args[1:]) // ExitOnError: a bad flag exits here
	if *newKey != "" {
		if err := writeNewKey(*newKey, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "issuer: error:", err)
			os.Exit(1)
		}
		return
	}
	if cfg.ClientID == "" || *keyFile == "" {
		fmt.Fprint(os.Stderr, usage)
		fmt.Fprintln(os.Stderr, "issuer: error: --client-id and --key-file are required")
		os.Exit(1)
	}
	raw, err := os.ReadFile(*keyFile)
	if err == nil {
		err = cfg.Key.UnmarshalJSON(raw)
	}
	if err != nil || cfg.Key.IsPublic() {
		fmt.Fprintln(os.Stderr, "issuer: error: --key-file must hold a private JWK:", err)
		os.Exit(1)
	}
	cfg.Self = "http://" + *listen
	fmt.Printf("issuer: http://%s/\n", *listen)
	// A client that sends its headers slowly must not hold a connection for ever.
	srv := &http.Server{Addr: *listen, Handler: New(cfg, slog.Default()), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "issuer: error:", err)
		os.Exit(1)
	}
}

// writeNewKey writes a new Ed25519 private JWK to path (mode 0600) and its public JWKS
// to w, for `coffre clients add --jwks-file`.
func writeNewKey(path string, w io.Writer) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	kid := random()[:8]
	private, err := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"})
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, private, 0o600); err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"}}})
}

// Config is the issuer's registration with Coffre.
type Config struct {
	Coffre   string // Coffre's base URL
	ClientID string
	Key      jose.JSONWebKey // the private key whose public half Coffre has
	Self     string          // this service's base URL; the redirect URI is Self + "/retour"
	Kinds    []string        // what it deposits; default caf
	HTTP     *http.Client
}

// person is the issuer's file of one person: here, only what links it to their safe.
type person struct {
	subscription string
	result       *deposited
}

type service struct {
	cfg     Config
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string]string  // state → PKCE verifier, for 10 minutes at most
	people  map[string]*person // by the cookie "dossier"
}

// New returns the issuer's HTTP handler.
func New(cfg Config, log *slog.Logger) http.Handler {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = []string{"caf"}
	}
	s := &service{cfg: cfg, log: log, pending: map[string]string{}, people: map[string]*person{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /recevoir", s.start)
	mux.HandleFunc("GET /retour", s.back)
	mux.HandleFunc("POST /deposer", s.deposit)
	return mux
}

//nolint:gochecknoglobals // a template parsed once
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="fr"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mon espace CAF (exemple)</title>
<main>
<h1>Mon espace CAF (exemple)</h1>
{{if .Error}}<p id="erreur" role="alert">{{.Error}}</p>{{end}}
{{if .Person}}
<p id="abonne">Vos attestations arrivent maintenant dans votre coffre.</p>
{{with .Person.Result}}<p id="resultat">«&nbsp;{{.Title}}&nbsp;» est dans votre coffre — {{if .Verified}}reçu vérifié (empreinte {{.SHA256}}){{else}}NON VÉRIFIÉ&nbsp;: {{.Problem}}{{end}}</p>{{end}}
<form method="post" action="/deposer"><button id="deposer" type="submit">Envoyer l'attestation de paiement de mars</button></form>
{{else}}
<p>Recevez vos attestations directement dans votre coffre-fort numérique.</p>
<p><a id="recevoir" href="/recevoir">Recevoir mes papiers dans mon coffre</a></p>
{{end}}
</main></html>`))

// depositFailed starts the sentence of a deposit that failed, before Coffre's reason.
const depositFailed = "Le dépôt n'a pas marché\u00a0: "

type deposited struct {
	Title    string
	SHA256   string
	Verified bool
	Problem  string
}

func (s *service) render(w http.ResponseWriter, p *person, errMsg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'")
	data := map[string]any{"Error": errMsg}
	if p != nil && p.subscription != "" {
		data["Person"] = map[string]any{"Result": p.result}
	}
	if err := page.Execute(w, data); err != nil {
		s.log.Error("render", "err", err)
	}
}

// file is the person of the request's cookie, made on first visit.
func (s *service) file(w http.ResponseWriter, r *http.Request) *person {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, err := r.Cookie("dossier"); err == nil && s.people[c.Value] != nil {
		return s.people[c.Value]
	}
	id := random()
	s.people[id] = &person{}
	http.SetCookie(w, &http.Cookie{Name: "dossier", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return s.people[id]
}

func (s *service) home(w http.ResponseWriter, r *http.Request) { s.render(w, s.file(w, r), "") }

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start sends the person to Coffre to consent, with a PKCE challenge and the kinds of
// paper we deposit.
func (s *service) start(w http.ResponseWriter, r *http.Request) {
	s.file(w, r)
	state, verifier := random(), random()
	s.mu.Lock()
	s.pending[state] = verifier
	s.mu.Unlock()
	time.AfterFunc(10*time.Minute, func() { s.mu.Lock(); delete(s.pending, state); s.mu.Unlock() })
	sum := sha256.Sum256([]byte(verifier))
	details, _ := json.Marshal([]map[string]any{{"type": "coffre_deposit", "kinds": s.cfg.Kinds}})
	q := url.Values{
		"client_id": {s.cfg.ClientID}, "redirect_uri": {s.cfg.Self + "/retour"}, "response_type": {"code"},
		"state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"authorization_details": {string(details)},
	}
	http.Redirect(w, r, s.cfg.Coffre+"/oauth/authorize?"+q.Encode(), http.StatusSeeOther)
}

// back receives the code and trades it for the subscription, kept with the person's file.
func (s *service) back(w http.ResponseWriter, r *http.Request) {
	p := s.file(w, r)
	q := r.URL.Query()
	s.mu.Lock()
	verifier, ok := s.pending[q.Get("state")]
	delete(s.pending, q.Get("state"))
	s.mu.Unlock()
	switch {
	case !ok:
		s.render(w, p, "Cette réponse ne correspond à aucune demande en cours. Recommencez.")
		return
	case q.Get("error") == "access_denied":
		s.render(w, p, "Vous avez refusé. Vous pouvez recommencer quand vous voulez.")
		return
	case q.Get("error") != "":
		s.render(w, p, "Coffre a refusé la demande ("+q.Get("error")+").")
		return
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {s.cfg.Self + "/retour"}, "code_verifier": {verifier}}
	var tok struct {
		Details []struct {
			Type         string `json:"type"`
			Subscription string `json:"subscription"`
		} `json:"authorization_details"`
	}
	if err := s.token(r.Context(), form, &tok); err != nil || len(tok.Details) != 1 || tok.Details[0].Subscription == "" {
		s.log.Error("code exchange", "err", err)
		s.render(w, p, "Nous n'avons pas pu relier votre coffre. Réessayez.")
		return
	}
	s.mu.Lock()
	p.subscription = tok.Details[0].Subscription
	s.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// token calls Coffre's token endpoint, authenticated with a fresh private_key_jwt
// assertion (RFC 7523): signed with our key, for the token endpoint, single-use.
func (s *service) token(ctx context.Context, form url.Values, into any) error {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: s.cfg.Key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return err
	}
	now := time.Now()
	assertion, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: s.cfg.ClientID, Subject: s.cfg.ClientID, ID: random(),
		Audience: jwt.Audience{s.cfg.Coffre + "/api/v1/oauth/token"}, IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}).Serialize()
	if err != nil {
		return err
	}
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", assertion)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Coffre+"/api/v1/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("token: status %d: %s", resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// deposit sends this month's attestation to the person's safe and checks the receipt.
func (s *service) deposit(w http.ResponseWriter, r *http.Request) {
	p := s.file(w, r)
	s.mu.Lock()
	sub := p.subscription
	s.mu.Unlock()
	if sub == "" {
		s.render(w, p, "Reliez d'abord votre coffre.")
		return
	}
	const title = "Attestation de paiement – mars"
	pdf := attestationPDF("Attestation de paiement - mars 2026")
	// The key is made once per paper and kept with it: a retry sends the same one.
	key := random()
	result, err := s.send(r.Context(), sub, key, title, pdf)
	if err != nil {
		s.log.Error("deposit", "err", err)
		s.render(w, p, depositFailed+err.Error())
		return
	}
	s.mu.Lock()
	p.result = result
	s.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// send deposits one paper, retrying once with the same Idempotency-Key when the answer
// is lost or the service is busy, and checks the receipt.
func (s *service) send(ctx context.Context, subscription, key, title string, pdf []byte) (*deposited, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := s.token(ctx, url.Values{"grant_type": {"client_credentials"}}, &tok); err != nil {
		return nil, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	// Writes into memory: none of them can fail.
	_ = mw.WriteField("kind", "caf")
	_ = mw.WriteField("title", title)
	_ = mw.WriteField("issued_on", "2026-03-31")
	fw, _ := mw.CreateFormFile("file", "attestation.pdf")
	_, _ = fw.Write(pdf)
	mw.Close()
	digest := sha256.Sum256(body.Bytes())
	var resp *http.Response
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Coffre+"/api/v1/subscriptions/"+url.PathEscape(subscription)+"/documents", bytes.NewReader(body.Bytes()))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(digest[:])+":")
		req.Header.Set("Idempotency-Key", key)
		resp, err = s.cfg.HTTP.Do(req)
		if err == nil && resp.StatusCode != http.StatusServiceUnavailable {
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		var problem struct {
			Type, Detail string
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&problem) // the status alone is the error without it
		return nil, fmt.Errorf("%d %s: %s", resp.StatusCode, problem.Type, problem.Detail)
	}
	var answer struct {
		Receipt string `json:"receipt"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, err
	}
	coffreKey, err := s.coffreKey(ctx)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pdf)
	d := &deposited{Title: title, SHA256: hex.EncodeToString(sum[:])[:16] + "…"}
	d.Problem = checkReceipt(answer.Receipt, coffreKey, subscription, hex.EncodeToString(sum[:]))
	d.Verified = d.Problem == ""
	return d, nil
}

// checkReceipt verifies the receipt's signature and that it names this subscription and
// the SHA-256 of the file sent (kept as the original, byte for byte).
func checkReceipt(compact string, key ed25519.PublicKey, subscription, sha string) string {
	jws, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return "reçu illisible"
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return "la signature du reçu est fausse"
	}
	var rc struct {
		Subscription string `json:"subscription"`
		Files        []struct {
			Role   string `json:"role"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	if json.Unmarshal(payload, &rc) != nil || rc.Subscription != subscription {
		return "le reçu ne correspond pas"
	}
	for _, f := range rc.Files {
		if f.Role == "original" && f.SHA256 == sha {
			return ""
		}
	}
	return "le reçu ne mentionne pas le fichier envoyé"
}

// coffreKey fetches Coffre's signing key from its JWKS.
func (s *service) coffreKey(ctx context.Context) (ed25519.PublicKey, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.Coffre+"/.well-known/jwks.json", nil)
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	for _, k := range set.Keys {
		if pub, ok := k.Key.(ed25519.PublicKey); ok {
			return pub, nil
		}
	}
	return nil, errors.New("jwks: no Ed25519 key")
}

// attestationPDF is a one-page PDF with a line of text, as an issuer's software makes
// them (with a real cross-reference table).
func attestationPDF(text string) []byte {
	content := "BT /F1 18 Tf 72 760 Td (" + text + ") Tj ET"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
