package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"coffre/vault"
	"coffre/vault/account"
)

// closeWord is what an owner without a secret (FranceConnect only) types to confirm the
// closure of their safe.
const closeWord = "FERMER"

// recoveryPaths are the only owner pages a closed safe still offers: the closed page
// itself, the export, reopening, and signing out.
func recoveryPath(p string) bool {
	switch p {
	case "/compte/ferme", "/compte/export", "/compte/rouvrir", "/deconnexion":
		return true
	}
	return false
}

// requireOpen sends the owner of a closed safe to the closed page, from which they can
// download everything or reopen the safe until it is erased. It runs after
// requireOwner.
func (h *handler) requireOpen(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if recoveryPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		err := h.vault.CheckOpen(r.Context(), h.ownerID(r))
		if err != nil && !errors.Is(err, vault.ErrClosed) && !errors.Is(err, vault.ErrShredded) {
			h.serverError(w, r, err)
			return
		}
		if err != nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/compte/ferme", http.StatusSeeOther)
				return
			}
			h.failJSONOrPage(w, r, http.StatusForbidden, "closed.refused")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// closeData is what the closing page needs: how the owner confirms, and until when the
// papers would be kept.
type closeData struct {
	HasSecret  bool
	Login      string
	Word       string
	EraseAfter time.Time
}

func (h *handler) closeForm(w http.ResponseWriter, r *http.Request) {
	h.renderClose(w, r, http.StatusOK, "", "")
}

func (h *handler) renderClose(w http.ResponseWriter, r *http.Request, status int, errMsg, word string) {
	a, err := h.accounts.Account(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := closeData{HasSecret: a.HasSecret, Login: a.Owner.Login, Word: word,
		EraseAfter: h.localNow(r).AddDate(0, 12, 0)}
	h.render(w, r, status, "close", view{Title: "close.title", Nav: "account", Error: errMsg, Data: d})
}

// closeSafe closes the safe once the owner has confirmed with their secret (or, without
// one, the word FERMER), then ends every session: links and accesses stop at once, and
// the papers stay downloadable for 12 months by signing in again.
// closingForm is what the closing form sends: the owner's secret, or the word FERMER typed
// by an owner who has none.
type closingForm struct {
	Secret, Word string
}

// parseClosingForm reads the closing form; which of the two answers counts is the
// handler's to say (it knows whether the owner has a secret).
func parseClosingForm(r *http.Request) (closingForm, error) {
	return closingForm{Secret: r.PostFormValue("secret"), Word: r.PostFormValue("word")}, nil
}

func (h *handler) closeSafe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, _ := parseClosingForm(r)
	owner := h.ownerID(r)
	a, err := h.accounts.Account(ctx, owner)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if a.HasSecret {
		// Checked without signing in again, against the same lockout as sign-in: a
		// borrowed phone cannot guess the secret here either.
		err := h.accounts.CheckOwnerSecret(ctx, owner, f.Secret, h.clientIP(r))
		if _, locked := account.IsLocked(err); locked {
			h.renderClose(w, r, http.StatusTooManyRequests, h.t(r, "login.locked"), "")
			return
		}
		if errors.Is(err, account.ErrBadCredentials) || errors.Is(err, account.ErrAccessCodeExpired) {
			h.renderClose(w, r, http.StatusUnprocessableEntity, h.t(r, "close.wrongsecret"), "")
			return
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
	} else if strings.ToUpper(strings.TrimSpace(f.Word)) != closeWord {
		h.renderClose(w, r, http.StatusUnprocessableEntity, h.t(r, "close.wrongword"), f.Word)
		return
	}
	s, err := h.vault.CloseSafe(ctx, owner, h.actor(r), 0)
	if errors.Is(err, vault.ErrClosed) {
		http.Redirect(w, r, "/compte/ferme", http.StatusSeeOther)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.personLeft(w, r)
	// The page is shown signed out: the session it came with no longer exists.
	st := stateOf(r)
	st.session, st.owner = nil, nil
	h.render(w, r, http.StatusOK, "closed", view{Title: "closed.title",
		Data: closedData{EraseAfter: *s.EraseAfter}})
}

// closedData is what the closed page shows.
type closedData struct {
	EraseAfter time.Time
	SignedIn   bool
}

// closedPage is where the owner of a closed safe lands: download everything, or reopen.
func (h *handler) closedPage(w http.ResponseWriter, r *http.Request) {
	s, err := h.vault.Status(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if !s.Closed() {
		http.Redirect(w, r, "/compte", http.StatusSeeOther)
		return
	}
	if s.ShreddedAt != nil || s.EraseAfter == nil {
		h.fail(w, r, http.StatusGone, "export.erased")
		return
	}
	h.render(w, r, http.StatusOK, "closed", view{Title: "closed.title",
		Data: closedData{EraseAfter: *s.EraseAfter, SignedIn: true}})
}

// reopen reopens a closed safe during its retention period.
func (h *handler) reopen(w http.ResponseWriter, r *http.Request) {
	err := h.vault.ReopenSafe(r.Context(), h.ownerID(r), h.actor(r))
	switch {
	case errors.Is(err, vault.ErrInvalid): // not closed: nothing to do
		http.Redirect(w, r, "/papiers", http.StatusSeeOther)
	case errors.Is(err, vault.ErrShredded):
		h.fail(w, r, http.StatusGone, "export.erased")
	case err != nil:
		h.serverError(w, r, err)
	default:
		h.renderAccount(w, r, http.StatusOK, "", h.t(r, "closed.reopened"))
	}
}

// closureSentence is the history line of an export, a closure, a reopening or an
// erasure. An operator's export names the written request it answered.
func (h *handler) closureSentence(r *http.Request, e vault.Entry, detail string) string {
	switch {
	case e.Action == vault.ActionErased:
		return h.say(r, "history.erased")
	case e.ActorKind == vault.ActorOwner:
		return h.say(r, "history."+string(e.Action)+".you")
	case e.Action == vault.ActionExport && detail != "":
		return h.say(r, "history.export.request", h.t(r, "history.actor."+string(e.ActorKind)), detail)
	}
	return h.say(r, "history."+string(e.Action)+".other", h.t(r, "history.actor."+string(e.ActorKind)))
}
