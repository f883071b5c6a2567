package web

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// Sharing, the owner's side: choose papers, make a link (with its QR code for the
// counter), see every link and end any of them at once.

// shareForm is the form that makes a link: what was chosen and typed (parseShareForm),
// and the papers the page offers (Docs).
type shareForm struct {
	Docs []shareChoice
	// Thumbnails is whether the page shows the papers' thumbnails: the owner's does; the
	// agents' desk shows no picture of a paper, as on its list of them.
	Thumbnails   bool
	Chosen       []uuid.UUID
	Purpose      string
	Lifetime     string // "1h", "24h", "7j"
	MaxDownloads int
	WithCode     bool
	// Mark is the watermark choice (watermark.go) and Recipient the name written on the
	// copies.
	Mark      watermarkChoice
	Recipient string
}

// maxRecipient bounds the name written on marked copies, in characters: with the date
// and a purpose of 120, the text stays within what a watermark holds.
const maxRecipient = 80

var lifetimes = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7j": 7 * 24 * time.Hour} //nolint:gochecknoglobals // a constant table

func (f shareForm) IsChosen(id uuid.UUID) bool { return slices.Contains(f.Chosen, id) }

// Preview is whether the "sharedocs" template gives each paper a link to its page: the
// consent page's does (consentView), not the share forms.
func (shareForm) Preview() bool { return false }

// shareChoice is a paper as the share forms offer it, with what a person needs to tell it
// from the others: two « Attestation CAF » added the same day read the same, and ticking
// the wrong one gives a stranger a paper the person did not mean to give.
type shareChoice struct {
	vault.Summary
	// SameTitle is whether another paper offered has the same title, to the eye (case and
	// spaces aside): the hour it was added is shown too.
	SameTitle bool
	// Zone is the reader's time (requestZone), for the "sharedocs" template, which is
	// given the form rather than the page.
	Zone *time.Location
}

// offered is docs as r's share form offers them, by the titles the page shows
// (showTitles).
func (h *handler) offered(r *http.Request, docs []vault.Document) []shareChoice {
	h.showTitles(r, docs)
	zone := account.Location(h.requestZone(r))
	out := shareChoices(docs)
	for i := range out {
		out[i].Zone = zone
	}
	return out
}

// shareChoices is docs as the share forms offer them, in the same order.
func shareChoices(docs []vault.Document) []shareChoice {
	seen := func(title string) string { return strings.ToLower(strings.Join(strings.Fields(title), " ")) }
	titles := make(map[string]int, len(docs))
	for _, d := range docs {
		titles[seen(d.Title)]++
	}
	out := make([]shareChoice, len(docs))
	for i := range docs {
		out[i] = shareChoice{Summary: summary(&docs[i]), SameTitle: titles[seen(docs[i].Title)] > 1}
	}
	return out
}

func (h *handler) shareForm(w http.ResponseWriter, r *http.Request) {
	f := shareForm{Lifetime: "24h", Mark: markAuto, Thumbnails: true}
	if chi.URLParam(r, "id") != "" {
		// From a paper's page: the paper must be the owner's, as on its other pages.
		d, ok := h.loadDocument(w, r)
		if !ok {
			return
		}
		f.Chosen = []uuid.UUID{d.ID}
	}
	docs, err := h.vault.Documents(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	f.Docs = h.offered(r, docs)
	h.render(w, r, http.StatusOK, "share", view{Title: "share.title", Nav: "list", Data: f})
}

func (h *handler) createLink(w http.ResponseWriter, r *http.Request) {
	owner := h.ownerID(r)
	docs, err := h.vault.Documents(r.Context(), owner)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	f, err := parseShareForm(r)
	f.Docs, f.Thumbnails = h.offered(r, docs), true
	again := func(msg string) {
		h.render(w, r, http.StatusUnprocessableEntity, "share", view{Title: "share.title", Nav: "list", Error: msg, Data: f})
	}
	if err != nil {
		again(h.refusalText(r, err))
		return
	}
	c, err := h.share.CreateLink(r.Context(), owner, h.actor(r), sharing.NewLink{
		Documents: f.Chosen, Purpose: f.Purpose, Lifetime: f.lifetime(), MaxDownloads: f.MaxDownloads, WithCode: f.WithCode,
		Watermark: watermarkFor(f.Mark, docs, func(d vault.Document) bool { return f.IsChosen(d.ID) }, f.Recipient, f.Purpose, h.localNow(r)),
	})
	switch {
	case errors.Is(err, sharing.ErrInvalid):
		again(h.t(r, "share.error.invalid"))
		return
	case errors.Is(err, vault.ErrNotFound):
		h.notFound(w, r)
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	v, err := h.createdLink(r, c)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "shared", view{Title: "shared.title", Nav: "list", Data: v})
}

// baseURL is the address people reach the service at, for links given to others.
func (h *handler) baseURL(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return h.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil || h.cfg.BehindTLS {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// qrDataURI is sharing's QR code of text in a PNG data: URI, so that the token never goes
// into a URL of its own.
func qrDataURI(text string) (string, error) {
	code, err := sharing.QRCode(text)
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(code), nil
}

type linkItem struct {
	sharing.Link
	Status string // active, expired, revoked, used
	Titles []string
}

func (h *handler) links(w http.ResponseWriter, r *http.Request) {
	owner := h.ownerID(r)
	links, err := h.share.Links(r.Context(), owner)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	docs, err := h.vault.Documents(r.Context(), owner)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.showTitles(r, docs)
	titles := map[uuid.UUID]string{}
	for _, d := range docs {
		titles[d.ID] = d.Title
	}
	now := h.now()
	items := make([]linkItem, 0, len(links))
	for _, l := range links {
		it := linkItem{Link: l, Status: "active"}
		switch {
		case l.RevokedAt != nil:
			it.Status = "revoked"
		case !now.Before(l.ExpiresAt):
			it.Status = "expired"
		case l.MaxDownloads > 0 && l.Downloads >= l.MaxDownloads:
			it.Status = "used"
		}
		for _, id := range l.Documents {
			if t, ok := titles[id]; ok {
				it.Titles = append(it.Titles, t)
			}
		}
		items = append(items, it)
	}
	h.render(w, r, http.StatusOK, "links", view{Title: "links.title", Nav: "links", Data: items})
}

// endOwned ends one of the signed-in owner's things named by the route's param (a link,
// a mandate, a subscription) with end, then sends the owner to done. What is not an ID,
// and another owner's ID, is not found.
func (h *handler) endOwned(w http.ResponseWriter, r *http.Request, param string, end func(ctx context.Context, owner, id uuid.UUID, by vault.Actor) error, done string) {
	id, err := uuid.Parse(chi.URLParam(r, param))
	if err != nil {
		h.notFound(w, r)
		return
	}
	switch err := end(r.Context(), h.ownerID(r), id, h.actor(r)); {
	case errors.Is(err, vault.ErrNotFound):
		h.notFound(w, r)
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, done, http.StatusSeeOther)
	}
}

func (h *handler) revokeLink(w http.ResponseWriter, r *http.Request) {
	h.endOwned(w, r, "lid", h.share.RevokeLink, "/partages")
}
