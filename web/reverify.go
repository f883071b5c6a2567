package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"coffre/vault/account"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// A fresh proof before a change of credential. Whoever finds a phone left signed in
// must not be able to add their own passkey to the safe, remove the owner's, or set a
// secret on a FranceConnect account: these need the secret typed again, or a sign-in,
// within account.SessionReverify, or one of their passkeys used again. Changing the secret
// asks for the current one, which is the proof itself.

// requireFreshOwner shows the page asking for the secret again when the session's last
// proof is older than account.SessionReverify; the scripts (passkey.js) get the sentence
// and the page's address in JSON. Nothing was done: the person comes back and does it
// again.
func (h *handler) requireFreshOwner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stateOf(r).session.Fresh(h.now()) {
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

// reverifyView is the page asking who is there before a change of credential: with the
// secret, or a passkey, whichever the owner has.
type reverifyView struct {
	HasSecret   bool
	HasPasskeys bool
	Back        string // where to go once done: a page of « Mon compte »
	Minutes     int    // how long a proof counts
}

// proofForm is what the page sends: the secret typed again, and where to go back.
type proofForm struct {
	Secret string
	Back   string // always a page of « Mon compte » (reverifyBack)
}

// parseProofForm reads the page's form; the domain judges the secret.
func parseProofForm(r *http.Request) (proofForm, error) {
	return proofForm{Secret: r.PostFormValue("secret"), Back: reverifyBack(r.PostFormValue("retour"))}, nil
}

func (h *handler) reverifyForm(w http.ResponseWriter, r *http.Request) {
	h.renderReverify(w, r, http.StatusOK, "", r.URL.Query().Get("retour"))
}

func (h *handler) renderReverify(w http.ResponseWriter, r *http.Request, status int, errMsg, back string) {
	a, err := h.accounts.Account(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	keys, err := h.accounts.Passkeys(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, "reverify", view{Title: "reverify.title", Nav: "account", Error: errMsg,
		Data: reverifyView{HasSecret: a.HasSecret, HasPasskeys: h.wa != nil && len(keys) > 0,
			Back: reverifyBack(back), Minutes: int(account.SessionReverify.Minutes())}})
}

// reverify checks the secret typed again, then goes back to the page that asked.
func (h *handler) reverify(w http.ResponseWriter, r *http.Request) {
	f, _ := parseProofForm(r)
	back := f.Back
	err := h.accounts.Reverify(r.Context(), stateOf(r).session, f.Secret, h.clientIP(r))
	if _, locked := account.IsLocked(err); locked {
		h.renderReverify(w, r, http.StatusTooManyRequests, h.t(r, "login.locked"), back)
		return
	}
	switch {
	case errors.Is(err, account.ErrBadCredentials):
		h.renderReverify(w, r, http.StatusUnauthorized, h.t(r, "reverify.wrong"), back)
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

// reverifyPasskeyBegin asks the browser for an assertion by one of the owner's
// passkeys (passkey.js, as at sign-in).
func (h *handler) reverifyPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	if h.passkeysOff(w, r) {
		return
	}
	u, _, err := h.loadWAUser(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if len(u.creds) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": h.t(r, "passkey.refused")})
		return
	}
	assertion, sess, err := h.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.saveCeremony(r, "reverify", sess); err != nil {
		h.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, assertion)
}

// reverifyPasskeyFinish checks the assertion, records the proof, and sends the browser
// back to the page that asked.
func (h *handler) reverifyPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	if h.passkeysOff(w, r) {
		return
	}
	sess, err := h.takeCeremony(r, "reverify")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": h.t(r, "passkey.expired")})
		return
	}
	u, _, err := h.loadWAUser(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	cred, err := h.wa.FinishLogin(u, sess, r)
	if err != nil {
		h.log.InfoContext(r.Context(), "passkey reverification refused", "err", err)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": h.t(r, "passkey.refused")})
		return
	}
	b, err := json.Marshal(cred)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.accounts.ReverifyWithPasskey(r.Context(), stateOf(r).session, cred.ID, b, h.clientIP(r)); err != nil {
		h.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": reverifyBack(r.URL.Query().Get("retour"))})
}

// renewCookie gives the browser the new token of its session after a change of
// credential (vault.ChangeSecret), and the forms of the page being rendered the CSRF
// token that goes with it.
func (h *handler) renewCookie(w http.ResponseWriter, r *http.Request, token string) {
	h.setCookie(w, "coffre", token, 0)
	st := stateOf(r)
	st.token, st.csrf = token, csrfToken(token)
	if st.session != nil {
		st.session.VerifiedAt = h.now()
		if st.session.Restricted() {
			st.session.Method = "secret"
		}
	}
}
