package web

import (
	"crypto/ed25519"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// The téléservice API: JSON under /api/v1, described by openapi.json (served as is). It
// never sets cookies and never renders HTML; every response is no-store.

//go:embed openapi.json
var openAPI []byte

func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Robots-Tag", "noindex")
		next.ServeHTTP(w, r)
	})
}

func (h *handler) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(openAPI) // the client has gone: nothing left to tell it
}

// apiError answers with the API's error object: a stable code and one French sentence.
func apiError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": message}) // strings always encode; a failed write is a client gone
}

const unavailableMessage = "Ce lien n'existe pas ou n'est plus valable. Demandez un nouveau lien à la personne."

type apiDocument struct {
	ID          uuid.UUID  `json:"id"`
	Kind        vault.Kind `json:"kind"`
	Title       string     `json:"title"`
	MediaType   string     `json:"media_type"`
	Size        int64      `json:"size"`
	SHA256      string     `json:"sha256"`
	IssuedOn    string     `json:"issued_on,omitempty"`
	ExpiresOn   string     `json:"expires_on,omitempty"`
	DepositedAt time.Time  `json:"deposited_at"`
	Depositor   string     `json:"depositor"`
	Href        string     `json:"href"`
	// Proof is what the paper's 2D-Doc said when it was deposited; absent when the paper
	// has none (proof.go).
	Proof *apiProof `json:"proof,omitempty"`
	// Watermark is written across every page of the copy downloaded (watermark.go).
	Watermark string `json:"watermark,omitempty"`
}

type apiManifest struct {
	Purpose   string        `json:"purpose,omitempty"`
	ExpiresAt time.Time     `json:"expires_at"`
	Documents []apiDocument `json:"documents"`
}

// delivered is the blob a téléservice gets for a document: the PDF rendition made at
// deposit when there is one, else the first original.
func delivered(d *vault.Document) *vault.Blob {
	if b := d.Blob(vault.RoleRendition); b != nil {
		return b
	}
	return d.Blob(vault.RoleOriginal)
}

func manifest(docs []vault.Document, proofs map[uuid.UUID]*vault.Proof, watermark, hrefPrefix string) []apiDocument {
	out := make([]apiDocument, 0, len(docs))
	for i := range docs {
		d := &docs[i]
		b := delivered(d)
		if b == nil {
			continue
		}
		ad := apiDocument{ID: d.ID, Kind: d.Kind, Title: d.Title, MediaType: b.MediaType, Size: b.Size,
			SHA256: hex.EncodeToString(b.SHA256), DepositedAt: d.CreatedAt, Depositor: string(d.Depositor.Kind),
			Href: hrefPrefix + d.ID.String(), Proof: newAPIProof(proofs[d.ID]), Watermark: watermark}
		if d.IssuedOn != nil {
			ad.IssuedOn = d.IssuedOn.Format(time.DateOnly)
		}
		if d.ExpiresOn != nil {
			ad.ExpiresOn = d.ExpiresOn.Format(time.DateOnly)
		}
		out = append(out, ad)
	}
	return out
}

// apiLink resolves the link of the request and checks its code; on failure it has
// answered.
func (h *handler) apiLink(w http.ResponseWriter, r *http.Request) (*sharing.Link, string, bool) {
	token := chi.URLParam(r, "token")
	ip := h.clientIP(r)
	if err := h.accounts.CheckGuesses(r.Context(), "link", ip); err != nil {
		if _, locked := account.IsLocked(err); locked {
			apiError(w, http.StatusTooManyRequests, "too_many_requests", "Trop de liens inconnus depuis ce réseau. Réessayez dans un quart d'heure.")
		} else {
			h.log.ErrorContext(r.Context(), "api: check guesses", "err", err)
			apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		}
		return nil, "", false
	}
	l, err := h.share.Resolve(r.Context(), token)
	if errors.Is(err, sharing.ErrUnavailable) {
		h.countGuess(r)
		apiError(w, http.StatusNotFound, "unavailable", unavailableMessage)
		return nil, "", false
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "api: resolve link", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		return nil, "", false
	}
	if l.HasCode {
		code := r.Header.Get("Coffre-Code")
		if code == "" {
			apiError(w, http.StatusUnauthorized, "code_required", "Ce lien demande le code à 6 chiffres donné par la personne.")
			return nil, "", false
		}
		switch err := h.share.CheckCode(r.Context(), l, token, code, ip); {
		case errors.Is(err, sharing.ErrWrongCode):
			apiError(w, http.StatusUnauthorized, "code_required", "Le code n'est pas le bon. Demandez-le de nouveau à la personne.")
			return nil, "", false
		case errors.Is(err, sharing.ErrUnavailable):
			apiError(w, http.StatusNotFound, "unavailable", unavailableMessage)
			return nil, "", false
		case err != nil:
			h.log.ErrorContext(r.Context(), "api: check code", "err", err)
			apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
			return nil, "", false
		}
	}
	return l, token, true
}

func (h *handler) apiLinkManifest(w http.ResponseWriter, r *http.Request) {
	l, token, ok := h.apiLink(w, r)
	if !ok {
		return
	}
	docs, err := h.share.Documents(r.Context(), l)
	var proofs map[uuid.UUID]*vault.Proof
	if err == nil {
		proofs, err = h.vault.Proofs(r.Context(), l.OwnerID, l.Documents)
	}
	if err == nil {
		err = h.share.Opened(r.Context(), l, h.clientIP(r))
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "api: link manifest", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		return
	}
	writeJSON(w, http.StatusOK, apiManifest{Purpose: l.Purpose, ExpiresAt: l.ExpiresAt, Documents: manifest(docs, proofs, l.Watermark, "/api/v1/links/"+token+"/documents/")})
}

func (h *handler) apiLinkDocument(w http.ResponseWriter, r *http.Request) {
	l, _, ok := h.apiLink(w, r)
	if !ok {
		return
	}
	id, err := uuid.Parse(chi.URLParam(r, "document"))
	if err != nil {
		apiError(w, http.StatusNotFound, "unavailable", unavailableMessage)
		return
	}
	d, err := h.share.Document(r.Context(), l, id)
	if err != nil && !errors.Is(err, vault.ErrNotFound) {
		h.log.ErrorContext(r.Context(), "api: link document", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		return
	}
	var blob *vault.Blob
	if d != nil {
		blob = delivered(d)
	}
	if blob == nil {
		// Not one of the link's documents: the sharing service journals the attempt.
		if _, err := h.share.Open(r.Context(), l, id, uuid.Nil, h.clientIP(r), vault.ActionDownload, ""); !errors.Is(err, vault.ErrNotFound) {
			h.log.WarnContext(r.Context(), "api: journal a refused download", "err", err)
		}
		apiError(w, http.StatusNotFound, "unavailable", unavailableMessage)
		return
	}
	recipient := vault.Actor{Kind: vault.ActorLink, ID: l.ID.String()}
	if l.Watermark != "" {
		h.deliverMarked(w, r, d, blob, recipient, l.Watermark, func(note string) (*vault.BlobReader, error) {
			return h.share.Open(r.Context(), l, d.ID, blob.ID, h.clientIP(r), vault.ActionDownload, note)
		}, func(err error) {
			if errors.Is(err, sharing.ErrUnavailable) || errors.Is(err, vault.ErrNotFound) {
				apiError(w, http.StatusNotFound, "unavailable", unavailableMessage)
				return
			}
			h.log.Error("api: marked link document", "err", err)
			apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		})
		return
	}
	receipt, rc, err := sharing.SignReceipt(h.cfg.Signing, recipient, []vault.Document{*d}, blob.Role)
	if err != nil {
		h.log.ErrorContext(r.Context(), "api: receipt", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		return
	}
	rd, err := h.share.Open(r.Context(), l, d.ID, blob.ID, h.clientIP(r), vault.ActionDownload, receiptNote(rc))
	if err != nil {
		if errors.Is(err, sharing.ErrUnavailable) || errors.Is(err, vault.ErrNotFound) {
			apiError(w, http.StatusNotFound, "unavailable", unavailableMessage)
			return
		}
		h.log.ErrorContext(r.Context(), "api: open link document", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		return
	}
	defer rd.Close()
	h.sendDocument(w, d, rd, receipt)
}

// receiptNote is what the journal entry of a download says of its receipt.
func receiptNote(r *sharing.Receipt) string { return "reçu " + r.ID }

// sendDocument streams a document with its digest and its signed receipt. A failed
// integrity check mid-stream aborts the response, so that no one keeps a corrupt file
// believing it whole.
func (h *handler) sendDocument(w http.ResponseWriter, d *vault.Document, rd *vault.BlobReader, receipt string) {
	hd := w.Header()
	hd.Set("Content-Type", rd.MediaType)
	hd.Set("Content-Length", strconv.FormatInt(rd.Size, 10))
	hd.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(rd.SHA256)+":")
	hd.Set("Coffre-Receipt", receipt)
	hd.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", d.ID.String()+extension(rd.MediaType)))
	hd.Set("X-Content-Type-Options", "nosniff")
	if _, err := io.Copy(w, rd); err != nil {
		h.log.Error("api: send document", "document", d.ID, "err", err, "request_id", w.Header().Get(requestIDHeader))
		panic(http.ErrAbortHandler)
	}
}

func findDocument(docs []vault.Document, id uuid.UUID) *vault.Document {
	for i := range docs {
		if docs[i].ID == id {
			return &docs[i]
		}
	}
	return nil
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="coffre"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc}) // strings always encode; a failed write is a client gone
}

// tokenForm is what a client sends to the token endpoint (RFC 6749 §4.1.3, §4.4.2): the
// grant, and how the client authenticates (with r.BasicAuth).
type tokenForm struct {
	GrantType    string // authorization_code or client_credentials
	Code         string
	CodeVerifier string
	RedirectURI  string
	// Client authentication in the body: a secret (client_secret_post) or an assertion
	// (private_key_jwt). HasClientID and HasSecret tell a field sent empty from none.
	ClientID, ClientSecret         string
	HasClientID, HasSecret         bool
	ClientAssertion, AssertionType string
}

// parseTokenForm reads the token request's form (the body is bounded by the caller); an
// error is the OAuth error to answer (RFC 6749 §5.2).
func parseTokenForm(r *http.Request) (tokenForm, error) {
	if err := r.ParseForm(); err != nil {
		return tokenForm{}, &sharing.OAuthError{Code: "invalid_request", Description: "malformed form"}
	}
	p := r.PostForm
	f := tokenForm{GrantType: p.Get("grant_type"), Code: p.Get("code"), CodeVerifier: p.Get("code_verifier"), RedirectURI: p.Get("redirect_uri"),
		ClientID: p.Get("client_id"), ClientSecret: p.Get("client_secret"), HasClientID: p.Has("client_id"), HasSecret: p.Has("client_secret"),
		ClientAssertion: p.Get("client_assertion"), AssertionType: p.Get("client_assertion_type")}
	if f.GrantType != "authorization_code" && f.GrantType != "client_credentials" {
		return f, &sharing.OAuthError{Code: "unsupported_grant_type", Description: "only authorization_code and client_credentials are supported"}
	}
	return f, nil
}

// tokenAnswer is the token endpoint's answer (RFC 6749 §5.1), with what the token allows
// (RFC 9396 authorization details: grantDetails or depositDetails). Its fields are in
// the order of their names, as the answer always was.
type tokenAnswer struct {
	AccessToken          string `json:"access_token"`
	AuthorizationDetails []any  `json:"authorization_details,omitempty"`
	ExpiresIn            int    `json:"expires_in"`
	TokenType            string `json:"token_type"`
}

// grantDetails are the documents a téléservice's token reads.
type grantDetails struct {
	Documents []string `json:"documents"`
	Type      string   `json:"type"`
}

// depositDetails are the subscription an issuer's token, after a person's consent,
// deposits through.
type depositDetails struct {
	Subscription string `json:"subscription"`
	Type         string `json:"type"`
}

// apiToken is the OAuth token endpoint.
func (h *handler) apiToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	f, err := parseTokenForm(r)
	var fe *sharing.OAuthError
	if errors.As(err, &fe) {
		oauthError(w, http.StatusBadRequest, fe.Code, fe.Description)
		return
	}
	client, err := h.authenticateClient(r, f)
	if err != nil && !errors.Is(err, sharing.ErrClientAuth) {
		h.log.ErrorContext(r.Context(), "api: client authentication", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "try again later")
		return
	}
	if err != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if f.GrantType == "client_credentials" {
		h.apiDepositToken(w, client, nil)
		return
	}
	token, g, err := h.share.Exchange(r.Context(), client, f.Code, f.CodeVerifier, f.RedirectURI)
	var oe *sharing.OAuthError
	if errors.As(err, &oe) {
		oauthError(w, http.StatusBadRequest, oe.Code, oe.Description)
		return
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "api: token", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "try again later")
		return
	}
	if g.Subscription.Valid {
		h.apiDepositToken(w, client, g)
		return
	}
	ids := make([]string, len(g.Documents))
	for i, d := range g.Documents {
		ids[i] = d.String()
	}
	writeJSON(w, http.StatusOK, tokenAnswer{AccessToken: token, TokenType: "Bearer", ExpiresIn: int(g.ExpiresAt.Sub(h.now()).Seconds()),
		AuthorizationDetails: []any{grantDetails{Type: sharing.AuthorizationDetailsType, Documents: ids}}})
}

// apiDepositToken answers a token request of an issuer (issuer_api.go): an access token
// to deposit through its subscriptions, for the client_credentials grant (RFC 6749
// §4.4), or for the code of a person's consent, which also names the new subscription.
// Issuers authenticate with private_key_jwt only (sharing.NewClient).
func (h *handler) apiDepositToken(w http.ResponseWriter, c *sharing.Client, g *sharing.Grant) {
	token, exp, err := sharing.DepositToken(h.cfg.Signing, c, h.now())
	if errors.Is(err, sharing.ErrClientAuth) {
		oauthError(w, http.StatusBadRequest, "unauthorized_client", "this client deposits nothing")
		return
	}
	if err != nil {
		h.log.Error("api: deposit token", "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "try again later")
		return
	}
	answer := tokenAnswer{AccessToken: token, TokenType: "Bearer", ExpiresIn: int(exp.Sub(h.now()).Seconds())}
	if g != nil {
		answer.AuthorizationDetails = []any{depositDetails{Type: sharing.DepositDetailsType, Subscription: g.Subscription.UUID.String()}}
	}
	writeJSON(w, http.StatusOK, answer)
}

// authenticateClient accepts client_secret_basic, client_secret_post and private_key_jwt,
// each only for a client registered with it.
func (h *handler) authenticateClient(r *http.Request, f tokenForm) (*sharing.Client, error) {
	id, secret, basic := r.BasicAuth()
	if a := f.ClientAssertion; a != "" {
		// One method per request (RFC 6749 §2.3), and an audience that names this
		// service: without a public address, private_key_jwt is off.
		if basic || f.HasSecret || h.cfg.BaseURL == "" ||
			f.AssertionType != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return nil, sharing.ErrClientAuth
		}
		c, err := h.share.AuthenticateAssertion(r.Context(), a, h.cfg.BaseURL+"/api/v1/oauth/token")
		if err != nil || (f.HasClientID && f.ClientID != c.ID) {
			return nil, sharing.ErrClientAuth
		}
		return c, nil
	}
	if basic && f.HasSecret {
		return nil, sharing.ErrClientAuth
	}
	method := sharing.AuthSecretBasic
	if !basic {
		id, secret, method = f.ClientID, f.ClientSecret, sharing.AuthSecretPost
	}
	c, err := h.share.AuthenticateSecret(r.Context(), id, secret)
	if err != nil {
		return nil, err
	}
	if c.AuthMethod != method {
		return nil, sharing.ErrClientAuth
	}
	return c, nil
}

func (h *handler) apiGrant(w http.ResponseWriter, r *http.Request) (*sharing.Grant, bool) {
	// The scheme is case-insensitive (RFC 6750 §2.1, RFC 9110 §11.1).
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	ok = ok && strings.EqualFold(scheme, "Bearer") && token != ""
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="coffre"`)
		apiError(w, http.StatusUnauthorized, "invalid_token", "Le jeton d'accès manque.")
		return nil, false
	}
	g, err := h.share.GrantByToken(r.Context(), token)
	if err != nil && !errors.Is(err, sharing.ErrUnavailable) {
		// The token could not be checked: "try again", not "ask the person again".
		h.log.ErrorContext(r.Context(), "api: grant", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		return nil, false
	}
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="coffre", error="invalid_token"`)
		apiError(w, http.StatusUnauthorized, "invalid_token", "Le jeton d'accès est inconnu ou expiré. Demandez de nouveau l'accord de la personne.")
		return nil, false
	}
	return g, true
}

func (h *handler) apiGrantManifest(w http.ResponseWriter, r *http.Request) {
	g, ok := h.apiGrant(w, r)
	if !ok {
		return
	}
	docs, err := h.share.GrantDocuments(r.Context(), g)
	var proofs map[uuid.UUID]*vault.Proof
	if err == nil {
		proofs, err = h.vault.Proofs(r.Context(), g.OwnerID, g.Documents)
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "api: grant manifest", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		return
	}
	writeJSON(w, http.StatusOK, apiManifest{ExpiresAt: g.ExpiresAt, Documents: manifest(docs, proofs, g.Watermark, "/api/v1/grant/documents/")})
}

func (h *handler) apiGrantDocument(w http.ResponseWriter, r *http.Request) {
	g, ok := h.apiGrant(w, r)
	if !ok {
		return
	}
	id, err := uuid.Parse(chi.URLParam(r, "document"))
	if err != nil {
		apiError(w, http.StatusNotFound, "unavailable", "Ce document n'existe pas ou ne vous a pas été confié.")
		return
	}
	docs, err := h.share.GrantDocuments(r.Context(), g)
	if err != nil {
		h.log.ErrorContext(r.Context(), "api: grant document", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		return
	}
	d := findDocument(docs, id)
	if d == nil || delivered(d) == nil {
		// Journals the attempt, and refuses it: any other error is the journal's.
		if _, err := h.share.OpenGranted(r.Context(), g, id, uuid.Nil, h.clientIP(r), ""); !errors.Is(err, vault.ErrNotFound) {
			h.log.WarnContext(r.Context(), "api: journal a refused download", "err", err)
		}
		apiError(w, http.StatusNotFound, "unavailable", "Ce document n'existe pas ou ne vous a pas été confié.")
		return
	}
	if g.Watermark != "" {
		h.deliverMarked(w, r, d, delivered(d), vault.Actor{Kind: vault.ActorClient, ID: g.ClientID}, g.Watermark, func(note string) (*vault.BlobReader, error) {
			return h.share.OpenGranted(r.Context(), g, d.ID, delivered(d).ID, h.clientIP(r), note)
		}, func(err error) {
			if errors.Is(err, vault.ErrNotFound) {
				apiError(w, http.StatusNotFound, "unavailable", "Ce document n'existe pas ou ne vous a pas été confié.")
				return
			}
			h.log.Error("api: marked granted document", "err", err)
			apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		})
		return
	}
	receipt, rc, err := sharing.SignReceipt(h.cfg.Signing, vault.Actor{Kind: vault.ActorClient, ID: g.ClientID}, []vault.Document{*d}, delivered(d).Role)
	if err != nil {
		h.log.ErrorContext(r.Context(), "api: receipt", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		return
	}
	rd, err := h.share.OpenGranted(r.Context(), g, d.ID, delivered(d).ID, h.clientIP(r), receiptNote(rc))
	if errors.Is(err, vault.ErrNotFound) {
		// Deleted between the manifest and this request.
		apiError(w, http.StatusNotFound, "unavailable", "Ce document n'existe pas ou ne vous a pas été confié.")
		return
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "api: open granted document", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "Le service a un problème. Réessayez dans quelques minutes.")
		return
	}
	defer rd.Close()
	h.sendDocument(w, d, rd, receipt)
}

// apiJWKS publishes the service's public signing key, with which receipts (and journal
// checkpoints) verify.
func (h *handler) apiJWKS(w http.ResponseWriter, r *http.Request) {
	pub := h.cfg.Signing.Public().(ed25519.PublicKey)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, Algorithm: string(jose.EdDSA), Use: "sig", KeyID: "coffre"}}})
}
