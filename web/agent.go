package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// Aidants at the desk: an agent of a CCAS, France Services or association signs in with
// a login, a password and a code of their authenticator app, under /agent, with a cookie
// of their own (an owner's session and an agent's never mix). Whether they may reach a
// person's safe at all, and what they may do in it, is decided by the domain
// (sharing.Authorize) on every request to /agent/personnes/{owner}/… and on every login
// lookup; a refusal is the same "not found" page as a missing safe or paper.

// agentCookie names the agent's session cookie (with __Host- over TLS, like the owner's).
const agentCookie = "coffre_agent"

type agentKey struct{}

// agentOf returns the signed-in agent's session, or nil.
func agentOf(r *http.Request) *sharing.AgentSession {
	as, _ := r.Context().Value(agentKey{}).(*sharing.AgentSession)
	return as
}

// requireAgent loads the agent's session (15 minutes idle ends it) and sends anyone else
// to the agents' sign-in page. An agent whose password is temporary may do nothing but
// change it.
func (h *handler) requireAgent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var as *sharing.AgentSession
		if c, err := r.Cookie(h.cookieName(agentCookie)); err == nil && c.Value != "" {
			s, err := h.share.AgentSessionByToken(r.Context(), c.Value)
			switch {
			case err == nil:
				as = s
			case errors.Is(err, vault.ErrNotFound):
				h.setCookie(w, agentCookie, "", -1)
			default:
				h.serverError(w, r, err)
				return
			}
		}
		if as == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/agent/connexion", http.StatusSeeOther)
				return
			}
			h.fail(w, r, http.StatusUnauthorized, "agent.signedout")
			return
		}
		if as.Agent.MustChange && r.URL.Path != "/agent/mot-de-passe" && r.URL.Path != "/agent/deconnexion" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/agent/mot-de-passe", http.StatusSeeOther)
				return
			}
			h.fail(w, r, http.StatusForbidden, "agent.mustchange")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), agentKey{}, as)))
	})
}

// agentRoutes are the pages of the desk.
func (h *handler) agentRoutes(r chi.Router) {
	r.Get("/agent/connexion", h.agentLoginForm)
	r.Post("/agent/connexion", h.agentLogin)
	h.proConnectRoutes(r)
	r.Group(func(r chi.Router) {
		r.Use(h.requireAgent)
		r.Post("/agent/deconnexion", h.agentLogout)
		r.Get("/agent/mot-de-passe", h.agentPasswordForm)
		r.Post("/agent/mot-de-passe", h.agentPassword)
		r.Get("/agent", h.agentHome)
		r.Get("/agent/ouvrir", h.agentOpenForm)
		r.With(h.requireFresh).Post("/agent/ouvrir", h.agentOpen)
		r.Post("/agent/verifier", h.agentReverify)
		r.Get("/agent/mandat", h.agentFind)
		r.Post("/agent/mandat", h.agentUnlock)
		r.Post("/agent/personnes/{owner}/carte", h.agentAccessCard)
		r.Get("/agent/personnes/{owner}/mandat", h.agentMandateForm)
		r.With(h.requireFresh).Post("/agent/personnes/{owner}/mandat", h.agentMandate)
		r.Get("/agent/personnes/{owner}/mandat/{mid}/recu.pdf", h.agentMandateReceipt)
		r.Get("/agent/personnes/{owner}/papiers", h.agentPapers)
		r.Get("/agent/personnes/{owner}/papiers/{id}/fichier/{blob}", h.agentFile)
		r.Get("/agent/personnes/{owner}/ajouter", h.agentAddForm)
		r.Post("/agent/personnes/{owner}/ajouter", h.agentAdd)
		r.Get("/agent/personnes/{owner}/partager", h.agentShareForm)
		r.Post("/agent/personnes/{owner}/partager", h.agentShare)
		r.Get("/agent/personnes/{owner}/recuperer", h.agentRecoverForm)
		r.With(h.requireFresh).Post("/agent/personnes/{owner}/recuperer", h.agentRecover)
		h.agentConsentRoutes(r)
		h.referentRoutes(r)
	})
}

// renderAgent renders an agent page with the agent's name for its header.
func (h *handler) renderAgent(w http.ResponseWriter, r *http.Request, status int, page string, v view, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	if as := agentOf(r); as != nil {
		data["Agent"] = as.Agent
	}
	data["ProConnect"] = h.proc != nil
	v.Data = data
	h.render(w, r, status, page, v)
}

func (h *handler) agentLoginForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "agent_login", view{Title: "agent.login.title", Data: map[string]any{"Login": "", "ProConnect": h.proc != nil}})
}

func (h *handler) agentLogin(w http.ResponseWriter, r *http.Request) {
	login := r.PostFormValue("login")
	again := func(status int, msg string) {
		h.render(w, r, status, "agent_login", view{Title: "agent.login.title", Error: h.t(r, msg), Data: map[string]any{"Login": login, "ProConnect": h.proc != nil}})
	}
	a, err := h.share.AuthenticateAgent(r.Context(), login, r.PostFormValue("password"), r.PostFormValue("code"), h.clientIP(r))
	if err != nil {
		if _, locked := account.IsLocked(err); locked {
			again(http.StatusTooManyRequests, "agent.login.locked")
			return
		}
		if errors.Is(err, sharing.ErrAgentCredentials) || errors.Is(err, sharing.ErrBadTOTP) {
			again(http.StatusUnauthorized, "agent.login.wrong")
			return
		}
		h.serverError(w, r, err)
		return
	}
	token, _, err := h.share.CreateAgentSession(r.Context(), a)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.setCookie(w, agentCookie, token, 0)
	to := "/agent"
	if a.MustChange {
		to = "/agent/mot-de-passe"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (h *handler) agentLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(h.cookieName(agentCookie)); err == nil {
		if err := h.share.EndAgentSession(r.Context(), c.Value); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.setCookie(w, agentCookie, "", -1)
	http.Redirect(w, r, "/agent/connexion", http.StatusSeeOther)
}

func (h *handler) agentPasswordForm(w http.ResponseWriter, r *http.Request) {
	h.renderAgent(w, r, http.StatusOK, "agent_password", view{Title: "agent.password.title"}, nil)
}

func (h *handler) agentPassword(w http.ResponseWriter, r *http.Request) {
	as := agentOf(r)
	next := r.PostFormValue("password")
	bad := func(msg string) {
		h.renderAgent(w, r, http.StatusUnprocessableEntity, "agent_password", view{Title: "agent.password.title", Error: h.t(r, msg)}, nil)
	}
	if next != r.PostFormValue("password2") {
		bad("signup.mismatch")
		return
	}
	err := h.share.ChangeAgentPassword(r.Context(), as.Agent, r.PostFormValue("current"), next)
	switch {
	case errors.Is(err, sharing.ErrAgentCredentials):
		bad("account.wrongcurrent")
	case errors.Is(err, account.ErrSecretTooShort):
		bad("secret.short")
	case errors.Is(err, account.ErrSecretCommon):
		bad("secret.common")
	case errors.Is(err, account.ErrSecretHasLogin):
		bad("secret.haslogin")
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/agent", http.StatusSeeOther)
	}
}

// mandateItem is one person the structure helps, for the agent's home.
type mandateItem struct {
	sharing.Mandate
	Soon                 bool
	Deposit, Read, Share bool
	Recover              bool
}

func (h *handler) agentHome(w http.ResponseWriter, r *http.Request) {
	ms, err := h.share.StructureMandates(r.Context(), agentOf(r).Agent)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	now := h.now()
	items := make([]mandateItem, len(ms))
	for i, m := range ms {
		items[i] = mandateItem{Mandate: m, Soon: m.ExpiresSoon(now),
			Deposit: m.Has(sharing.ScopeDeposit), Read: m.Has(sharing.ScopeRead), Share: m.Has(sharing.ScopeShare),
			Recover: m.Has(sharing.ScopeRecover)}
	}
	v := view{Title: "agent.home.title"}
	if r.URL.Query().Get("arrete") == "1" {
		v.Notice = h.t(r, "agent.revoke.done")
	}
	h.renderAgent(w, r, http.StatusOK, "agent_home", v, map[string]any{"People": items})
}

// agentOwner reads the {owner} of the path; a malformed one is "not found".
func (h *handler) agentOwner(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "owner"))
	if err != nil {
		h.notFound(w, r)
		return uuid.Nil, false
	}
	return id, true
}

// agentAuthorize asks the domain whether the agent may do scope in owner's safe; a
// refusal (journaled by the domain in the owner's history) is the "not found" page.
func (h *handler) agentAuthorize(w http.ResponseWriter, r *http.Request, owner uuid.UUID, scope sharing.Scope) bool {
	err := h.share.Authorize(r.Context(), agentOf(r).Agent, owner, scope, h.clientIP(r))
	if errors.Is(err, vault.ErrNotFound) {
		h.notFound(w, r)
		return false
	}
	if err != nil {
		h.serverError(w, r, err)
		return false
	}
	return true
}

// agentError answers a domain error of an agent action. A safe closed meanwhile is "not
// found", like any safe the agent may not reach.
func (h *handler) agentError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, vault.ErrNotFound), errors.Is(err, sharing.ErrForbidden), errors.Is(err, vault.ErrClosed):
		h.notFound(w, r)
	default:
		h.serverError(w, r, err)
	}
}

// requireFresh asks the agent for their password and code again before a sensitive
// action (opening a safe, recording consent, recovering access) when the last check is
// older than sharing.AgentReverify. The form is shown again afterwards: nothing was done.
func (h *handler) requireFresh(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if agentOf(r).Fresh(h.now()) {
			next.ServeHTTP(w, r)
			return
		}
		h.renderAgent(w, r, http.StatusForbidden, "agent_reverify", view{Title: "agent.reverify.title"}, map[string]any{"Back": r.URL.Path})
	})
}

// agentReverify checks the agent's password and code again, then goes back to the form
// of the action that asked.
func (h *handler) agentReverify(w http.ResponseWriter, r *http.Request) {
	back := r.PostFormValue("retour")
	if !strings.HasPrefix(back, "/agent/") || strings.HasPrefix(back, "//") || strings.Contains(back, "\\") {
		back = "/agent"
	}
	err := h.share.Reverify(r.Context(), agentOf(r), r.PostFormValue("password"), r.PostFormValue("code"), h.clientIP(r))
	again := func(status int, msg string) {
		h.renderAgent(w, r, status, "agent_reverify", view{Title: "agent.reverify.title", Error: h.t(r, msg)}, map[string]any{"Back": back})
	}
	if _, locked := account.IsLocked(err); locked {
		again(http.StatusTooManyRequests, "agent.login.locked")
		return
	}
	switch {
	case errors.Is(err, sharing.ErrAgentCredentials), errors.Is(err, sharing.ErrBadTOTP):
		again(http.StatusUnauthorized, "agent.login.wrong")
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}
