package web

import (
	"errors"
	"net/http"
	"time"

	"coffre/vault"
)

// What recognition suggests about a paper, shown on its page with « Oui », « Corriger »
// and « Non, ignorer »: plain forms, nothing applied without the person's answer
// (reader.go makes the suggestions).

// suggestionView is the question asked on a paper's page.
type suggestionView struct {
	Question  string // « Est-ce un titre de séjour ? », translated
	IssuedOn  *time.Time
	ExpiresOn *time.Time
	NumberEnd string
}

// readingView says, for a paper's page, what waits for the person: a suggestion, or the
// paper being read. Errors are logged: the page shows without them.
func (h *handler) readingView(r *http.Request, d *vault.Document) (*suggestionView, bool) {
	if h.cfg.Reading == nil {
		return nil, false
	}
	st, err := h.vault.ReadingOf(r.Context(), h.ownerID(r), d.ID)
	if err != nil {
		h.log.ErrorContext(r.Context(), "reading state", "document", d.ID, "err", err)
		return nil, false
	}
	s := st.Suggestion
	if s == nil {
		return nil, st.Pending
	}
	v := &suggestionView{IssuedOn: s.IssuedOn, ExpiresOn: s.ExpiresOn, NumberEnd: s.NumberEnd}
	switch {
	case s.Kind != "" && s.Paper != "" && h.pages.cat.has("paper."+s.Paper):
		v.Question = h.t(r, "suggest.kind", h.t(r, "paper."+s.Paper))
	case s.Kind != "":
		v.Question = h.t(r, "suggest.kindname", h.t(r, "kind."+string(s.Kind)))
	default:
		v.Question = h.t(r, "suggest.dates")
	}
	return v, false
}

// suggestionNotice is the sentence shown once a suggestion was answered.
func (h *handler) suggestionNotice(r *http.Request) string {
	switch r.URL.Query().Get("proposition") {
	case "oui":
		return h.t(r, "suggest.done")
	case "non":
		return h.t(r, "suggest.dismissed")
	}
	return ""
}

// suggestionForm is the answer to a suggestion.
type suggestionForm struct {
	Yes bool
}

// parseSuggestionForm reads the answer to a suggestion: « oui » or « non ».
func parseSuggestionForm(r *http.Request) (suggestionForm, error) {
	switch r.PostFormValue("reponse") {
	case "oui":
		return suggestionForm{Yes: true}, nil
	case "non":
		return suggestionForm{Yes: false}, nil
	}
	return suggestionForm{}, errors.New("error.badrequest")
}

// answerSuggestion applies the suggestion the person confirmed, through the paper's
// update (journaled as a change of the paper), or forgets the one they turned down.
func (h *handler) answerSuggestion(w http.ResponseWriter, r *http.Request) {
	d, ok := h.loadDocument(w, r)
	if !ok {
		return
	}
	f, err := parseSuggestionForm(r)
	yes := f.Yes
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	back := "/papiers/" + d.ID.String()
	owner := h.ownerID(r)
	s, err := h.vault.Suggestion(r.Context(), owner, d.ID)
	if errors.Is(err, vault.ErrNotFound) {
		http.Redirect(w, r, back, http.StatusSeeOther) // already answered
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if !yes {
		if err := h.vault.DismissSuggestion(r.Context(), owner, d.ID); err != nil && !errors.Is(err, vault.ErrNotFound) {
			h.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, back+"?proposition=non", http.StatusSeeOther)
		return
	}
	_, err = h.vault.UpdateDocument(r.Context(), owner, d.ID, h.actor(r), h.suggestedUpdate(r, d, s))
	if errors.Is(err, vault.ErrInvalid) {
		// The suggestion does not fit what the paper says (an issue date after its expiry):
		// the person sees it in the form and corrects it.
		http.Redirect(w, r, back+"/modifier?proposition=1", http.StatusSeeOther)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, back+"?proposition=oui", http.StatusSeeOther)
}

// suggestedUpdate is the change a confirmed suggestion makes: its kind and dates, and
// the paper's own name as title when the person typed none (defaultTitle).
func (h *handler) suggestedUpdate(r *http.Request, d *vault.Document, s *vault.Suggestion) vault.Update {
	u := vault.Update{IssuedOn: s.IssuedOn, ExpiresOn: s.ExpiresOn, SettleSuggestion: true}
	if s.Kind != "" {
		u.Kind = &s.Kind
	}
	if t, ok := h.suggestedTitle(r, d, s); ok {
		u.Title = &t
	}
	return u
}

// suggestedTitle is the paper's name as recognition gives it (« Titre de séjour »), when
// the paper still has the title given by default.
func (h *handler) suggestedTitle(r *http.Request, d *vault.Document, s *vault.Suggestion) (string, bool) {
	key := "papertitle." + s.Paper
	if s.Paper == "" || !h.pages.cat.has(key) || !h.isDefaultTitle(d.Title, d.Kind, d.CreatedAt, h.readerOf(r).zone) {
		return "", false
	}
	return h.t(r, key), true
}

// suggestedEdit fills the edit form with what recognition suggests, for « Corriger ».
func (h *handler) suggestedEdit(r *http.Request, d *vault.Document, e *editData) {
	s, err := h.vault.Suggestion(r.Context(), h.ownerID(r), d.ID)
	if err != nil {
		if !errors.Is(err, vault.ErrNotFound) {
			h.log.ErrorContext(r.Context(), "suggestion", "document", d.ID, "err", err)
		}
		return
	}
	e.Suggestion = true
	if s.Kind != "" {
		e.Kind = s.Kind
	}
	if s.IssuedOn != nil {
		e.IssuedOn = s.IssuedOn.Format(time.DateOnly)
	}
	if s.ExpiresOn != nil {
		e.ExpiresOn = s.ExpiresOn.Format(time.DateOnly)
	}
	if t, ok := h.suggestedTitle(r, d, s); ok {
		e.Title = t
	}
}
