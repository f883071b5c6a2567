package web

import (
	"errors"
	"net/http"

	"coffre/sharing"
	"coffre/vault"
)

// Agents' sign-in with ProConnect (the State's federation of professionals), or any
// OpenID Connect provider of agents, through the same checks as the owners' FranceConnect
// (franceconnect.go). An agent first links their ProConnect identity from a session
// opened with password and code, checked again within the last minutes; afterwards
// ProConnect alone signs them in (the federation did the checking, sharing.AgentByOIDC).
// A deactivated agent or structure is refused like an unknown identity.

// proConnectScopes are asked for when the configuration names none: ProConnect's
// minimum. Only the subject is used.
var proConnectScopes = []string{"email", "given_name", "usual_name"} //nolint:gochecknoglobals // a constant list

// newProConnect returns the agents' provider, or nil when it is off.
func newProConnect(cfg Config) *openID {
	if cfg.ProConnect == nil || cfg.BaseURL == "" || cfg.Sharing == nil {
		return nil
	}
	oc := *cfg.ProConnect
	if oc.ACR == "" {
		oc.ACR = "eidas1"
	}
	if oc.Scopes == nil {
		oc.Scopes = proConnectScopes
	}
	return &openID{cfg: oc, redirect: cfg.BaseURL + "/agent/connexion/proconnect/retour"}
}

// proConnectCeremony is the kind of the saved ceremony.
const proConnectCeremony = "proconnect"

func (h *handler) proConnectBegin(w http.ResponseWriter, r *http.Request) {
	h.openIDRedirect(w, r, h.proc, proConnectCeremony, false)
}

func (h *handler) proConnectLinkForm(w http.ResponseWriter, r *http.Request) {
	v := view{Title: "pc.link.title"}
	if r.URL.Query().Get("lie") == "1" {
		v.Notice = h.t(r, "pc.link.done")
	}
	h.renderAgent(w, r, http.StatusOK, "agent_proconnect", v, nil)
}

func (h *handler) proConnectLink(w http.ResponseWriter, r *http.Request) {
	h.openIDRedirect(w, r, h.proc, proConnectCeremony, true)
}

// agentSessionOf reads the agent's session from the cookie, outside requireAgent; nil
// when there is none (a failure to read it is logged, and counts as none).
func (h *handler) agentSessionOf(r *http.Request) *sharing.AgentSession {
	c, err := r.Cookie(h.cookieName(agentCookie))
	if err != nil || c.Value == "" {
		return nil
	}
	as, err := h.share.AgentSessionByToken(r.Context(), c.Value)
	if err != nil && !errors.Is(err, vault.ErrNotFound) {
		h.log.ErrorContext(r.Context(), "proconnect: agent session", "err", err)
	}
	return as
}

// proConnectReturn is where ProConnect sends the agent back: the checks of
// openIDCheck, then either the link to the signed-in agent who asked for it, or the
// sign-in of the agent linked to that identity.
func (h *handler) proConnectReturn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	refused := func(status int, why, msg string, err error) {
		h.log.InfoContext(r.Context(), "proconnect sign-in refused", "why", why, "err", err)
		h.render(w, r, status, "agent_login", view{Title: "agent.login.title", Error: h.t(r, msg),
			Data: agentLoginView{ProConnect: true}})
	}
	c, _, idt, _, why, err := h.openIDCheck(r, h.proc, proConnectCeremony)
	if errors.Is(err, errProviderDown) {
		h.log.ErrorContext(r.Context(), "proconnect unreachable", "err", err)
		h.fail(w, r, http.StatusBadGateway, "pc.down")
		return
	}
	if why != "" {
		refused(http.StatusUnauthorized, why, "pc.refused", err)
		return
	}
	issuer := h.proc.cfg.Issuer
	if c.Link {
		as := h.agentSessionOf(r)
		if as == nil || !as.Fresh(h.now()) {
			refused(http.StatusUnauthorized, "link without a fresh agent session", "pc.refused", nil)
			return
		}
		switch err := h.share.LinkAgentOIDC(ctx, as.Agent, issuer, idt.Subject); {
		case errors.Is(err, sharing.ErrTaken):
			h.fail(w, r, http.StatusConflict, "pc.taken")
		case err != nil:
			h.serverError(w, r, err)
		default:
			h.log.InfoContext(r.Context(), "proconnect linked", "agent", as.Agent.ID)
			http.Redirect(w, r, "/agent/proconnect?lie=1", http.StatusSeeOther)
		}
		return
	}
	a, err := h.share.AgentByOIDC(ctx, issuer, idt.Subject)
	if errors.Is(err, vault.ErrNotFound) {
		refused(http.StatusUnauthorized, "no agent for this identity", "pc.unknown", nil)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	token, _, err := h.share.CreateAgentSession(ctx, a)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.startAgentSession(w, r, token); err != nil {
		h.serverError(w, r, err)
		return
	}
	to := "/agent"
	if a.MustChange {
		to = "/agent/mot-de-passe"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
