package web

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/ingest"
	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// « Recevoir mes papiers »: an issuer deposits a paper into a person's safe through the
// subscription the person gave it (sharing/subscriptions.go). POST
// /api/v1/subscriptions/{subscription}/documents, with a deposit access token
// (client_credentials after private_key_jwt), a multipart body of the fields kind, title,
// issued_on, expires_on and one file (a PDF, a JPEG or a PNG), its Repr-Digest (RFC 9530)
// and an Idempotency-Key. The paper goes through the owners' deposit path (admit,
// readUpload, depositWith: the ingest budget, the per-safe pacing, the sanitising), and
// the issuer gets a signed receipt. Errors are problem+json (RFC 9457). There is no way
// to read, list or delete.

// problem answers with an RFC 9457 problem: a stable type, its status, and one French
// sentence saying what to do.
func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problemDetails{Detail: detail, Status: status, Title: http.StatusText(status), Type: "/api/v1/problems/" + code}) // always encodes; a failed write is a client gone
}

// problemDetails is an RFC 9457 problem; its fields are in the order of their names, as
// the answer always was.
type problemDetails struct {
	Detail string `json:"detail"`
	Status int    `json:"status"`
	Title  string `json:"title"`
	Type   string `json:"type"`
}

// maxIdempotencyKey bounds the Idempotency-Key header (a UUID is 36 characters).
const maxIdempotencyKey = 255

// depositBody is the request body read for its SHA-256, to check Repr-Digest.
type depositBody struct {
	io.ReadCloser
	sum hash.Hash
}

func (b *depositBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.sum.Write(p[:n])
	return n, err
}

// reprDigest reads the sha-256 of a Repr-Digest field (RFC 9530 §3: a dictionary of
// byte sequences); other algorithms are ignored.
func reprDigest(field string) ([]byte, bool) {
	for _, member := range strings.Split(field, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(member), "=")
		if !ok || strings.ToLower(strings.TrimSpace(name)) != "sha-256" {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) < 2 || value[0] != ':' || value[len(value)-1] != ':' {
			return nil, false
		}
		sum, err := base64.StdEncoding.DecodeString(value[1 : len(value)-1])
		return sum, err == nil && len(sum) == sha256.Size
	}
	return nil, false
}

// apiDepositClient is the issuer of the request's deposit access token; on failure it
// has answered.
func (h *handler) apiDepositClient(w http.ResponseWriter, r *http.Request) (*sharing.Client, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") && token != "" {
		c, err := h.share.DepositClient(r.Context(), h.cfg.Signing.Public().(ed25519.PublicKey), token, h.now())
		if err == nil {
			return c, true
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="coffre", error="invalid_token"`)
	problem(w, http.StatusUnauthorized, "invalid-token", "Le jeton d'accès manque, est faux ou a expiré\u00a0: demandez-en un nouveau (client_credentials).")
	return nil, false
}

const noSubscription = "Cet abonnement n'existe pas ou n'est pas le vôtre."

// apiDeposit is an issuer's deposit through a subscription.
func (h *handler) apiDeposit(w http.ResponseWriter, r *http.Request) {
	c, ok := h.apiDepositClient(w, r)
	if !ok {
		return
	}
	ip := h.clientIP(r)
	// The subscription IDs are random: a client trying IDs is throttled like a link
	// guesser.
	if err := h.accounts.CheckGuesses(r.Context(), "subscription", ip); err != nil {
		if _, locked := account.IsLocked(err); locked {
			w.Header().Set("Retry-After", "900")
			problem(w, http.StatusTooManyRequests, "too-many-requests", "Trop d'abonnements inconnus depuis ce réseau\u00a0: réessayez dans un quart d'heure.")
			return
		}
		h.apiDepositFailed(w, err)
		return
	}
	var sub *sharing.Subscription
	id, err := uuid.Parse(chi.URLParam(r, "subscription"))
	if err != nil {
		err = sharing.ErrUnavailable
	} else {
		sub, err = h.share.SubscriptionFor(r.Context(), c, id, ip)
	}
	if errors.Is(err, sharing.ErrUnavailable) {
		if err := h.accounts.CountGuess(r.Context(), "subscription", ip); err != nil {
			h.log.WarnContext(r.Context(), "count subscription guess", "err", err)
		}
	}
	if err != nil {
		h.depositRefused(w, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" || len(key) > maxIdempotencyKey {
		problem(w, http.StatusBadRequest, "idempotency-key", "L'en-tête Idempotency-Key manque ou dépasse 255 caractères\u00a0: donnez à chaque dépôt une clé unique, la même quand vous le renvoyez.")
		return
	}
	want, ok := reprDigest(r.Header.Get("Repr-Digest"))
	if !ok {
		problem(w, http.StatusBadRequest, "digest-required", "L'en-tête Repr-Digest manque ou est mal formé\u00a0: envoyez le SHA-256 du corps de la requête (sha-256=:…:).")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		problem(w, http.StatusUnsupportedMediaType, "multipart-required", "Envoyez le papier en multipart/form-data\u00a0: les champs kind, title, issued_on, expires_on, puis le fichier (file).")
		return
	}
	body := &depositBody{ReadCloser: http.MaxBytesReader(w, r.Body, h.cfg.MaxUpload), sum: sha256.New()}
	r.Body = body
	if r, err = streamParts(r); err != nil {
		problem(w, http.StatusBadRequest, "malformed", "Le corps multipart est mal formé.")
		return
	}
	again := func(status int, msg string) {
		code := map[int]string{http.StatusRequestEntityTooLarge: "too-large", http.StatusServiceUnavailable: "busy",
			http.StatusUnprocessableEntity: "unreadable", http.StatusBadRequest: "malformed"}[status]
		problem(w, status, orDefault(code, "refused"), msg)
	}
	res, done := h.admit(w, r, sub.OwnerID, again)
	if res == nil {
		return
	}
	defer done()
	up, ok := h.readPages(r, again)
	if !ok {
		return
	}
	// Whatever follows the last part counts in the digest too.
	if _, err := io.Copy(io.Discard, body); err != nil {
		again(http.StatusBadRequest, h.t(r, "error.badrequest"))
		return
	}
	if subtle.ConstantTimeCompare(body.sum.Sum(nil), want) != 1 {
		problem(w, http.StatusBadRequest, "digest-mismatch", "Le corps reçu ne correspond pas à son Repr-Digest\u00a0: il a été abîmé en chemin. Rien n'a été déposé\u202f; renvoyez-le.")
		return
	}
	form, err := parseIssuerDeposit(up)
	if err != nil {
		var pe depositProblem
		errors.As(err, &pe)
		problem(w, pe.status, pe.code, pe.detail)
		return
	}
	fileSum := sha256.Sum256(up.pages[0].body)
	dep := sharing.IssuerDeposit{Subscription: sub.ID, Kind: form.kind, Key: key,
		Request: sharing.RequestDigest(fileSum[:], string(form.kind), form.title, form.issuedOn, form.expiresOn)}
	_, replay, err := h.share.CheckDeposit(r.Context(), c, dep, ip)
	if err == nil && replay != "" {
		h.depositReceipt(w, replay, true)
		return
	}
	if err != nil {
		h.depositRefused(w, err)
		return
	}
	var receipt string
	var replayed bool
	d := addData{Kind: form.kind, Title: form.title}
	_, _, err = h.depositWith(r, res, d, up.pages, func(nd vault.NewDocument) (*vault.Document, error) {
		nd.IssuedOn, nd.ExpiresOn = form.issued, form.expires
		doc, rc, earlier, derr := h.share.DepositThrough(r.Context(), h.cfg.Signing, c, dep, nd, ip)
		receipt, replayed = rc, earlier
		if doc == nil && derr == nil {
			doc = &vault.Document{OwnerID: sub.OwnerID} // the same request, deposited meanwhile
		}
		return doc, derr
	})
	var ie ingestError
	switch {
	case errors.As(err, &ie):
		if errors.Is(ie.err, ingest.ErrBusy) {
			h.refused(w, r, ie.err, again)
			return
		}
		problem(w, http.StatusUnprocessableEntity, "unreadable", ingest.Message(ie.err))
	case err != nil:
		h.depositRefused(w, err)
	default:
		h.depositReceipt(w, receipt, replayed)
	}
}

// depositRefused answers a deposit the sharing service refused.
func (h *handler) depositRefused(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, sharing.ErrUnavailable):
		problem(w, http.StatusNotFound, "unknown-subscription", noSubscription)
	case errors.Is(err, sharing.ErrStopped):
		problem(w, http.StatusForbidden, "subscription-stopped", "La personne a arrêté cet abonnement, ou fermé son coffre\u00a0: ne déposez plus rien pour elle.")
	case errors.Is(err, sharing.ErrKindNotConsented):
		problem(w, http.StatusForbidden, "kind-not-consented", "La personne n'a pas accepté ce type de papier de votre part\u00a0: demandez-lui son accord pour ce type.")
	case errors.Is(err, sharing.ErrIdempotencyConflict):
		problem(w, http.StatusUnprocessableEntity, "idempotency-key-reused", "Cette Idempotency-Key a déjà servi pour un autre dépôt\u00a0: prenez une nouvelle clé pour un nouveau papier.")
	case errors.Is(err, vault.ErrInvalid), errors.Is(err, sharing.ErrInvalid):
		problem(w, http.StatusUnprocessableEntity, "invalid", "Le titre ou les dates ne sont pas valables\u00a0: un titre de 200 caractères au plus, une fin après le début.")
	default:
		h.apiDepositFailed(w, err)
	}
}

func (h *handler) apiDepositFailed(w http.ResponseWriter, err error) {
	h.log.Error("api: issuer deposit", "err", err)
	problem(w, http.StatusInternalServerError, "internal", "Le service a un problème\u00a0: réessayez dans quelques minutes, avec la même Idempotency-Key.")
}

// depositReceipt answers a deposit made now (201), or made before with the same key
// and the same request (201 too, with Idempotent-Replayed): the same receipt.
func (h *handler) depositReceipt(w http.ResponseWriter, receipt string, replayed bool) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Coffre-Receipt", receipt)
	writeJSON(w, http.StatusCreated, map[string]string{"receipt": receipt})
}

// issuerDeposit is the form of an issuer's deposit.
type issuerDeposit struct {
	kind                vault.Kind
	title               string
	issuedOn, expiresOn string // as sent, for the request's digest
	issued, expires     *time.Time
}

type depositProblem struct {
	status       int
	code, detail string
}

func (p depositProblem) Error() string { return p.code }

// issuerTypes are the files an issuer may send: a PDF, or a photo or scan.
var issuerTypes = []ingest.MediaType{ingest.PDF, ingest.JPEG, ingest.PNG} //nolint:gochecknoglobals // a constant list

// parseIssuerDeposit reads the fields and the one file of an issuer's deposit.
func parseIssuerDeposit(up *upload) (issuerDeposit, error) {
	bad := func(code, detail string) (issuerDeposit, error) {
		return issuerDeposit{}, depositProblem{http.StatusUnprocessableEntity, code, detail}
	}
	f := issuerDeposit{title: strings.TrimSpace(up.fields["title"]), issuedOn: up.fields["issued_on"], expiresOn: up.fields["expires_on"]}
	kind, err := vault.ParseKind(up.fields["kind"])
	if err != nil {
		return bad("invalid-kind", "Le champ kind manque ou n'est pas un type de papier connu (voir l'OpenAPI).")
	}
	f.kind = kind
	if f.title == "" || utf8Len(f.title) > vault.MaxTitleLen {
		return bad("invalid-title", "Le champ title manque ou dépasse 200 caractères\u00a0: nommez le papier comme la personne le reconnaîtra.")
	}
	if f.issued, err = parseDate(f.issuedOn); err != nil {
		return bad("invalid-date", "Le champ issued_on doit être une date AAAA-MM-JJ.")
	}
	if f.expires, err = parseDate(f.expiresOn); err != nil {
		return bad("invalid-date", "Le champ expires_on doit être une date AAAA-MM-JJ.")
	}
	if len(up.pages) != 1 {
		return bad("one-file", "Envoyez un seul fichier, dans la partie file.")
	}
	mt, err := ingest.Sniff(up.pages[0].body[:min(len(up.pages[0].body), ingest.SniffLen)])
	if err != nil || !contains(issuerTypes, mt) {
		return issuerDeposit{}, depositProblem{http.StatusUnsupportedMediaType, "unsupported-type", "Ce fichier n'est ni un PDF, ni une image JPEG ou PNG."}
	}
	return f, nil
}

func contains[T comparable](list []T, x T) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}
