package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// The owner's side of the aidants: signing in with a temporary code given at a desk
// (choose one's own secret at once), the notice of an access recovery, and « Mes
// aidants », where the owner sees and ends the mandates they gave.

// signInWithSecret opens the session of an owner who just typed their secret, then
// sends them where their access state says: choose a new secret when it was a temporary
// code, read the recovery notice, or their papers. Only a sign-in with one's own secret
// activates the safe.
func (h *handler) signInWithSecret(w http.ResponseWriter, r *http.Request, o *vault.Owner) {
	st, err := h.accounts.AccessState(r.Context(), o.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if st.Expired {
		h.render(w, r, http.StatusUnauthorized, "login", view{Title: "login.title", Error: h.t(r, "login.code_expired"), Data: loginData{Login: o.Login}})
		return
	}
	if !st.MustChange {
		if _, err := h.vault.MarkActivated(r.Context(), o.ID); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	method := "secret"
	if st.MustChange {
		method = account.MethodTemporaryCode
	}
	if err := h.openSession(w, r, o.ID, method); err != nil {
		h.serverError(w, r, err)
		return
	}
	switch {
	case st.MustChange, st.Recovered:
		http.Redirect(w, r, "/compte/code", http.StatusSeeOther)
	default:
		http.Redirect(w, r, h.afterSignIn(w, r), http.StatusSeeOther)
	}
}

// requireNewSecret keeps a session opened with a temporary code, and any session of an
// owner whose secret is a temporary code, on the page where they choose their own secret.
// A temporary-code session whose code was changed elsewhere ends: it never becomes an
// ordinary session by someone else's doing (account.MethodTemporaryCode). It also sends an
// owner whose access an agent recovered to the notice saying so, whatever way they signed
// in: it is the first page they see. Cancelling a waiting recovery is always possible.
func (h *handler) requireNewSecret(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		as, restricted, ok := h.onTemporaryCode(w, r)
		if !ok {
			return
		}
		if r.URL.Path == "/compte/code" || r.URL.Path == "/deconnexion" || r.URL.Path == "/compte/recuperation/annuler" {
			next.ServeHTTP(w, r)
			return
		}
		if restricted || (as.Recovered && r.Method == http.MethodGet) {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/compte/code", http.StatusSeeOther)
				return
			}
			h.failJSONOrPage(w, r, http.StatusForbidden, "access.mustchange")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// onTemporaryCode tells whether the signed-in session may only choose the owner's own
// secret. It has answered (ok false) when the session had to end: opened with a
// temporary code that is no longer the owner's secret.
func (h *handler) onTemporaryCode(w http.ResponseWriter, r *http.Request) (as account.AccessState, restricted, ok bool) {
	st := stateOf(r)
	as, err := h.accounts.AccessState(r.Context(), st.owner.ID)
	if err != nil {
		h.serverError(w, r, err)
		return as, false, false
	}
	if st.session.Restricted() && !as.MustChange {
		if err := h.accounts.EndSession(r.Context(), st.token); err != nil {
			h.serverError(w, r, err)
			return as, false, false
		}
		h.personLeft(w, r)
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/connexion", http.StatusSeeOther)
		} else {
			h.failJSONOrPage(w, r, http.StatusUnauthorized, "error.signedout")
		}
		return as, false, false
	}
	return as, st.session.Restricted() || as.MustChange, true
}

// accessView is the page of a temporary code or an access recovery.
type accessView struct {
	MustChange bool
	Recovered  bool
	By         string
	At         time.Time
}

func (h *handler) accessPage(w http.ResponseWriter, r *http.Request) {
	h.renderAccess(w, r, http.StatusOK, "")
}

func (h *handler) renderAccess(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	st, err := h.accounts.AccessState(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if !st.MustChange && !st.Recovered {
		http.Redirect(w, r, "/papiers", http.StatusSeeOther)
		return
	}
	if !st.MustChange {
		// Shown once: the notice is acknowledged as it is displayed.
		if err := h.accounts.AcknowledgeAccessNotice(r.Context(), h.ownerID(r)); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.render(w, r, status, "access_code", view{Title: "access.title", Error: errMsg,
		Data: accessView{MustChange: st.MustChange, Recovered: st.Recovered, By: st.By, At: st.At}})
}

// accessCodeForm is what the owner sends to replace a temporary code with their own
// secret.
type accessCodeForm struct {
	Code, Secret string
}

// parseAccessCodeForm reads the form; the new secret typed twice must match (the domain
// checks the rest).
func parseAccessCodeForm(r *http.Request) (accessCodeForm, error) {
	f := accessCodeForm{Code: r.PostFormValue("code"), Secret: r.PostFormValue("secret")}
	if f.Secret != r.PostFormValue("secret2") {
		return f, errors.New("signup.mismatch")
	}
	return f, nil
}

func (h *handler) accessChange(w http.ResponseWriter, r *http.Request) {
	f, err := parseAccessCodeForm(r)
	if err != nil {
		h.renderAccess(w, r, http.StatusUnprocessableEntity, h.t(r, err.Error()))
		return
	}
	owner := h.ownerID(r)
	st, err := h.accounts.AccessState(r.Context(), owner)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	token, err := h.accounts.ChangeTemporaryCode(r.Context(), owner, f.Code, f.Secret, h.actor(r), stateOf(r).session.ID)
	switch {
	case errors.Is(err, account.ErrBadCredentials):
		h.renderAccess(w, r, http.StatusUnprocessableEntity, h.t(r, "access.wrongcode"))
		return
	case errors.Is(err, account.ErrAccessCodeExpired):
		h.renderAccess(w, r, http.StatusUnprocessableEntity, h.t(r, "login.code_expired"))
		return
	case errors.Is(err, account.ErrSecretTooShort):
		h.renderAccess(w, r, http.StatusUnprocessableEntity, h.t(r, "secret.short"))
		return
	case errors.Is(err, account.ErrSecretCommon):
		h.renderAccess(w, r, http.StatusUnprocessableEntity, h.t(r, "secret.common"))
		return
	case errors.Is(err, account.ErrSecretHasLogin):
		h.renderAccess(w, r, http.StatusUnprocessableEntity, h.t(r, "secret.haslogin"))
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	h.renewCookie(w, r, token)
	if st.Recovered {
		// The notice was on the page just filled in.
		if err := h.accounts.AcknowledgeAccessNotice(r.Context(), owner); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	http.Redirect(w, r, h.afterSignIn(w, r), http.StatusSeeOther)
}

// ownerMandate is one mandate on « Mes aidants ».
type ownerMandate struct {
	sharing.Mandate
	Live, Soon bool
}

// aidantsView is « Mes aidants »: mandates live, ended, and waiting for the owner.
type aidantsView struct {
	Live, Ended []ownerMandate
	Pending     []sharing.Mandate
}

func (h *handler) ownerMandates(w http.ResponseWriter, r *http.Request) {
	ms, err := h.share.Mandates(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	now := h.now()
	var live, ended []ownerMandate
	for _, m := range ms {
		om := ownerMandate{Mandate: m, Live: m.Live(now), Soon: m.ExpiresSoon(now)}
		if om.Live {
			live = append(live, om)
		} else if m.StartsAt != nil {
			ended = append(ended, om)
		}
	}
	v := view{Title: "aidants.title", Nav: "account", Data: aidantsView{Live: live, Ended: ended, Pending: pendingMandates(ms, now)}}
	switch {
	case r.URL.Query().Get("arrete") == "1":
		v.Notice = h.t(r, "aidants.revoked")
	case r.URL.Query().Get("confirme") == "1":
		v.Notice = h.t(r, "aidants.pending.confirmed")
	case r.URL.Query().Get("refuse") == "1":
		v.Notice = h.t(r, "aidants.pending.refused")
	case r.URL.Query().Get("annule") == "1":
		v.Notice = h.t(r, "recovery.cancelled")
	}
	h.render(w, r, http.StatusOK, "aidants", v)
}

func (h *handler) ownerRevokeMandate(w http.ResponseWriter, r *http.Request) {
	h.endOwned(w, r, "mid", h.share.RevokeMandate, "/compte/aidants?arrete=1")
}

// pendingRecovery is the waiting access recovery of a signed-in owner, for the banner on
// every one of their pages; nil when none. A failure is logged and shows no banner.
func (h *handler) pendingRecovery(ctx context.Context, owner uuid.UUID) *account.PendingRecovery {
	p, err := h.accounts.PendingRecovery(ctx, owner)
	if err != nil {
		// A client gone meanwhile is no failure of the service.
		if !errors.Is(err, vault.ErrNotFound) && !errors.Is(err, context.Canceled) {
			h.log.ErrorContext(ctx, "pending recovery", "err", err)
		}
		return nil
	}
	return p
}

// ownerCancelRecovery is the one click that stops a new code an agent asked for after an
// identity check: from any session of the owner, before the code works.
func (h *handler) ownerCancelRecovery(w http.ResponseWriter, r *http.Request) {
	switch err := h.accounts.CancelRecovery(r.Context(), h.ownerID(r), h.actor(r)); {
	case errors.Is(err, vault.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, "recovery.gone")
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/compte/aidants?annule=1", http.StatusSeeOther)
	}
}
