package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// An agent acting on a person's safe: every route under /agent/personnes/{owner}/ goes
// through agentActing, which reads the person's ID, asks the domain whether the agent may
// act there (sharing.Authorize: a refusal is journaled in the person's history, once),
// loads the person, and hands both to the handler (safeOf). The handler then calls the
// domain's agent method, which checks again for what it does.

// agentSafe is the safe an agent acts on, authorized by agentActing.
type agentSafe struct {
	Owner *vault.Owner
	// Scope is what the agent was authorized for on this route (sharing.Authorize).
	Scope sharing.Scope
}

type agentSafeKey struct{}

// safeOf returns the safe the request acts on. Only handlers mounted under agentActing
// may call it.
func safeOf(r *http.Request) *agentSafe {
	return r.Context().Value(agentSafeKey{}).(*agentSafe)
}

// agentActing authorizes the signed-in agent (requireAgent) for scope in the safe of
// the path's {owner}, and loads that person. A malformed ID, a missing safe, a closed
// one and a safe the agent may not reach are the same "not found" page; only a refusal
// in an existing safe is journaled, by the domain.
func (h *handler) agentActing(scope sharing.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := uuid.Parse(chi.URLParam(r, "owner"))
			if err != nil {
				h.agentNotFound(w, r)
				return
			}
			if err := h.share.Authorize(r.Context(), agentOf(r).Agent, id, scope, h.clientIP(r)); err != nil {
				h.agentError(w, r, err)
				return
			}
			o, err := h.vault.Owner(r.Context(), id)
			if err != nil {
				h.agentError(w, r, err)
				return
			}
			s := &agentSafe{Owner: o, Scope: scope}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), agentSafeKey{}, s)))
		})
	}
}

// agentError answers a domain error of an agent action. A safe closed meanwhile is "not
// found", like any safe the agent may not reach.
func (h *handler) agentError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, vault.ErrNotFound), errors.Is(err, sharing.ErrForbidden), errors.Is(err, vault.ErrClosed), errors.Is(err, vault.ErrShredded):
		h.agentNotFound(w, r)
	default:
		h.serverError(w, r, err)
	}
}

// agentNotFound is the desk's "not found": the same page whether the safe is missing,
// closed, or not open to the agent for this, in the desk's frame and words (an owner's
// "not in your safe" misleads an agent).
func (h *handler) agentNotFound(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": h.t(r, "agent.notfound")})
		return
	}
	f := &agentFrame{}
	if agentOf(r) == nil {
		f.Agent = h.linkAgent(r) // a path no page of the desk has: requireAgent did not run
	}
	h.renderAgent(w, r, http.StatusNotFound, "agent_error", view{Title: "error.title", Error: h.t(r, "agent.notfound")}, f)
}
