package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"coffre/vault"
)

// A fresh proof before a change of credential. Whoever finds a phone left signed in
// must not be able to add their own passkey to the safe, remove the owner's, or set a
// secret on a FranceConnect account: these need the secret typed again, or a sign-in,
// within vault.SessionReverify. Changing the secret asks for the current one, which is
// the proof itself.

// requireFreshOwner shows the page asking for the secret again when the session's last
// proof is older than vault.SessionReverify; the scripts (passkey.js) get the sentence
// and the page's address in JSON. Nothing was done: the person comes back and does it
// again.
func (h *handler) requireFreshOwner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stateOf(r).session.Fresh(time.Now()) {
			next.ServeHTTP(w, r)
			return
		}
		h.askReverify(w, r, "/compte")
	})
}

// askReverify answers a change of credential made without a fresh proof.
func (h *handler) askReverify(w http.ResponseWriter, r *http.Request, back string) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": h.t(r, "reverify.needed"), "redirect": "/compte/verifier?retour=" + back})
		return
	}
	h.renderReverify(w, r, http.StatusForbidden, h.t(r, "reverify.needed"), back)
}

// reverifyBack keeps the return address to Mon compte's pages.
func reverifyBack(back string) string {
	if !strings.HasPrefix(back, "/compte") || strings.Contains(back, "//") || strings.Contains(back, "\\") {
		return "/compte"
	}
	return back
}

func (h *handler) reverifyForm(w http.ResponseWriter, r *http.Request) {
	h.renderReverify(w, r, http.StatusOK, "", r.URL.Query().Get("retour"))
}

func (h *handler) renderReverify(w http.ResponseWriter, r *http.Request, status int, errMsg, back string) {
	a, err := h.vault.Account(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, "reverify", view{Title: "reverify.title", Nav: "account", Error: errMsg,
		Data: map[string]any{"HasSecret": a.HasSecret, "Back": reverifyBack(back), "Minutes": int(vault.SessionReverify.Minutes())}})
}

// reverify checks the secret typed again, then goes back to the page that asked.
func (h *handler) reverify(w http.ResponseWriter, r *http.Request) {
	back := reverifyBack(r.PostFormValue("retour"))
	err := h.vault.Reverify(r.Context(), stateOf(r).session, r.PostFormValue("secret"), h.clientIP(r))
	if _, locked := vault.IsLocked(err); locked {
		h.renderReverify(w, r, http.StatusTooManyRequests, h.t(r, "login.locked"), back)
		return
	}
	switch {
	case errors.Is(err, vault.ErrBadCredentials):
		h.renderReverify(w, r, http.StatusUnauthorized, h.t(r, "reverify.wrong"), back)
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

// renewCookie gives the browser the new token of its session after a change of
// credential (vault.ChangeSecret), and the forms of the page being rendered the CSRF
// token that goes with it.
func (h *handler) renewCookie(w http.ResponseWriter, r *http.Request, token string) {
	h.setCookie(w, "coffre", token, 0)
	st := stateOf(r)
	st.token, st.csrf = token, csrfToken(token)
	if st.session != nil {
		st.session.VerifiedAt = time.Now()
		if st.session.Restricted() {
			st.session.Method = "secret"
		}
	}
}
