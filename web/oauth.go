package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// "Choisir dans mon coffre": the authorization endpoint. A téléservice sends the person
// here; they sign in, see who asks and why, pick the matching papers (with a preview),
// and give them or refuse. Only then does the téléservice get a code.

const returnCookie = "coffre_retour"

// authorizeRequest parses the query; when the request cannot be trusted (unknown client,
// unregistered redirect URI) it shows an error page, and when it can, it sends errors back
// to the téléservice. It returns nil when it has answered.
func (h *handler) authorizeRequest(w http.ResponseWriter, r *http.Request, query string) *sharing.AuthorizationRequest {
	q, err := url.ParseQuery(query)
	if err != nil || len(query) > 8<<10 {
		h.fail(w, r, http.StatusBadRequest, "consent.error.request")
		return nil
	}
	req, err := h.share.ParseAuthorization(r.Context(), q)
	var oe *sharing.OAuthError
	switch {
	case err == nil:
		return req
	case errors.As(err, &oe) && oe.Redirect && req != nil:
		http.Redirect(w, r, req.ErrorRedirect(oe), http.StatusSeeOther)
	case errors.As(err, &oe):
		h.fail(w, r, http.StatusBadRequest, "consent.error.request")
	default:
		h.serverError(w, r, err)
	}
	return nil
}

// allowRedirect lets the consent form's answer go to the téléservice: browsers apply the
// form-action directive to the redirect that follows a form.
func allowRedirect(w http.ResponseWriter, redirectURI string) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return
	}
	csp := w.Header().Get("Content-Security-Policy")
	w.Header().Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' "+u.Scheme+"://"+u.Host, 1))
}

// consentView is the consent page of « Choisir dans mon coffre »: the request, the
// owner's papers of the kinds it asks, and the request's parameters to send back.
type consentView struct {
	Request *sharing.AuthorizationRequest
	// Docs are offered as on the share forms (the "sharedocs" template): two papers of the
	// same title read apart, or the person may give the service the wrong one.
	Docs  []shareChoice
	Query string
}

// Thumbnails, Preview and IsChosen are what the "sharedocs" template asks of the page:
// it is the owner's own, so it shows the papers' thumbnails; each paper has a link to
// look at it first; and none is ticked beforehand: the person chooses what the service
// gets.
func (consentView) Thumbnails() bool        { return true }
func (consentView) Preview() bool           { return true }
func (consentView) IsChosen(uuid.UUID) bool { return false }

// consentDocs is the owner's papers of the kinds req asks, as the consent page offers
// them.
func (h *handler) consentDocs(r *http.Request, req *sharing.AuthorizationRequest) ([]shareChoice, error) {
	docs, err := h.vault.Documents(r.Context(), h.ownerID(r))
	if err != nil {
		return nil, err
	}
	var matching []vault.Document
	for _, d := range docs {
		if slices.Contains(req.Kinds, d.Kind) {
			matching = append(matching, d)
		}
	}
	return h.offered(r, matching), nil
}

// consentForm is the person's answer on a consent page (papers to give, or a deposit
// request to accept).
type consentForm struct {
	Query  string // the request's parameters, as the page was given them
	Give   bool   // « Donner »: the papers chosen go to the service
	Accept bool   // « Accepter »: the issuer may deposit (a deposit request)
	Docs   []uuid.UUID
	Mark   watermarkChoice
}

// The refusals of parseConsentForm: no paper chosen (the page is shown again), or a
// choice no page offers.
var (
	errConsentNone   = errors.New("consent.error.none")
	errConsentChoice = errors.New("consent.error.choice")
)

// parseConsentForm reads a consent page's answer. Giving needs at least one paper and a
// watermark choice the page offers; IDs that are no UUID are left out (the domain
// checks the others are the owner's and of the kinds asked).
func parseConsentForm(r *http.Request) (consentForm, error) {
	f := consentForm{Query: r.PostFormValue("q"), Give: r.PostFormValue("decision") == "donner", Accept: r.PostFormValue("decision") == "accepter"}
	if !f.Give {
		return f, nil
	}
	for _, s := range r.PostForm["doc"] {
		if id, err := uuid.Parse(s); err == nil {
			f.Docs = append(f.Docs, id)
		}
	}
	if len(f.Docs) == 0 {
		return f, errConsentNone
	}
	mark, ok := parseWatermarkChoice(r.PostFormValue("mark"))
	if !ok {
		return f, errConsentChoice
	}
	f.Mark = mark
	return f, nil
}

func (h *handler) authorize(w http.ResponseWriter, r *http.Request) {
	req := h.authorizeRequest(w, r, r.URL.RawQuery)
	if req == nil {
		return
	}
	if stateOf(r).session == nil {
		// Back here after signing in: only this path may be a return address.
		http.SetCookie(w, &http.Cookie{Name: h.cookieName(returnCookie), Value: "/oauth/authorize?" + r.URL.RawQuery, Path: "/",
			MaxAge: 900, HttpOnly: true, Secure: h.cfg.BehindTLS, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/connexion", http.StatusSeeOther)
		return
	}
	if req.Deposit {
		allowRedirect(w, req.RedirectURI)
		h.render(w, r, http.StatusOK, "subscribe", view{Title: "subscribe.title", Data: subscribeView{Request: req, Query: r.URL.RawQuery}})
		return
	}
	docs, err := h.consentDocs(r, req)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	allowRedirect(w, req.RedirectURI)
	h.render(w, r, http.StatusOK, "consent", view{Title: "consent.title", Data: consentView{Request: req, Docs: docs, Query: r.URL.RawQuery}})
}

func (h *handler) authorizeAnswer(w http.ResponseWriter, r *http.Request) {
	f, ferr := parseConsentForm(r)
	req := h.authorizeRequest(w, r, f.Query)
	if req == nil {
		return
	}
	owner := h.ownerID(r)
	var back string
	var err error
	if req.Deposit {
		h.subscribeAnswer(w, r, req, f.Accept)
		return
	}
	if !f.Give {
		back, err = h.share.Refuse(r.Context(), req, owner, h.actor(r))
	} else {
		ids, mark := f.Docs, f.Mark
		if errors.Is(ferr, errConsentNone) {
			docs, derr := h.consentDocs(r, req)
			if derr != nil {
				h.serverError(w, r, derr)
				return
			}
			allowRedirect(w, req.RedirectURI)
			h.render(w, r, http.StatusUnprocessableEntity, "consent", view{Title: "consent.title", Error: h.refusalText(r, ferr),
				Data: consentView{Request: req, Docs: docs, Query: f.Query}})
			return
		}
		if ferr != nil {
			h.fail(w, r, http.StatusUnprocessableEntity, ferr.Error())
			return
		}
		var watermark string
		if mark != markNo {
			docs, derr := h.vault.DocumentsIn(r.Context(), owner, ids)
			if derr != nil {
				h.serverError(w, r, derr)
				return
			}
			watermark = watermarkFor(mark, docs, func(vault.Document) bool { return true }, req.Client.Name, req.Purpose, h.localNow(r))
		}
		back, err = h.share.ApproveMarked(r.Context(), req, owner, h.actor(r), ids, watermark)
	}
	switch {
	case errors.Is(err, vault.ErrNotFound), errors.Is(err, sharing.ErrInvalid):
		h.fail(w, r, http.StatusUnprocessableEntity, "consent.error.choice")
	case err != nil:
		h.serverError(w, r, err)
	default:
		allowRedirect(w, req.RedirectURI)
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

// subscribeView is the consent page of an issuer's deposit request (« Recevoir mes
// papiers »): who will deposit which kinds of paper.
type subscribeView struct {
	Request *sharing.AuthorizationRequest
	Query   string
}

// subscribeAnswer records the person's answer to a deposit request and sends it back
// to the issuer: the code of the subscription, or access_denied.
func (h *handler) subscribeAnswer(w http.ResponseWriter, r *http.Request, req *sharing.AuthorizationRequest, accept bool) {
	var back string
	var err error
	if accept {
		back, err = h.share.Subscribe(r.Context(), req, h.ownerID(r), h.actor(r))
	} else {
		back, err = h.share.RefuseSubscription(r.Context(), req, h.ownerID(r), h.actor(r))
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	allowRedirect(w, req.RedirectURI)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// afterSignIn is where a fresh session goes: back to a pending "Choisir dans mon coffre"
// request, or to the papers.
func (h *handler) afterSignIn(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(h.cookieName(returnCookie))
	if err != nil || !strings.HasPrefix(c.Value, "/oauth/authorize?") {
		return "/papiers"
	}
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(returnCookie), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.cfg.BehindTLS, SameSite: http.SameSiteLaxMode})
	return c.Value
}
