package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// A mandate the person confirms from their own phone (signed in to their safe) rather
// than by typing their secret on the agent's screen; the agent ending a mandate; and the
// owner told of mandates waiting for them or ending soon.

// pendingWithin is how long a mandate waits for the person's phone: the domain's limit
// (sharing.ConfirmMandate refuses later confirmations), shown to both.
const pendingWithin = 15 * time.Minute

// structureMandate finds the mandate {mid} of the person {owner} held by the agent's
// structure, when the agent reaches the safe; anything else is "not found", journaled
// in the person's history (sharing.StructureMandate).
func (h *handler) structureMandate(w http.ResponseWriter, r *http.Request) (*sharing.Mandate, bool) {
	id, _ := uuid.Parse(chi.URLParam(r, "mid")) // a malformed ID is refused like a missing one
	m, err := h.share.StructureMandate(r.Context(), agentOf(r).Agent, safeOf(r).Owner.ID, id, h.clientIP(r))
	if err != nil {
		h.agentError(w, r, err)
		return nil, false
	}
	return m, true
}

// mandateState says where a mandate stands, for the agent waiting for the phone.
type mandateState struct {
	M                              *sharing.Mandate
	Live, Pending, Refused, Lapsed bool
	Ended                          bool // started, then revoked or expired
	Read, Deposit, Share           bool
	Until                          time.Time
}

// agentPendingView is the page of a mandate waiting for the person's phone.
type agentPendingView struct {
	agentFrame
	S mandateState
}

// agentRevokeView asks the agent to confirm the end of a mandate.
type agentRevokeView struct {
	agentFrame
	M *sharing.Mandate
}

func stateOfMandate(m *sharing.Mandate, now time.Time) mandateState {
	s := mandateState{M: m, Live: m.Live(now), Read: m.Has(sharing.ScopeRead), Deposit: m.Has(sharing.ScopeDeposit), Share: m.Has(sharing.ScopeShare)}
	switch {
	case s.Live:
	case m.StartsAt == nil && m.RevokedAt != nil:
		s.Refused = true
	case m.StartsAt == nil && now.Sub(m.CreatedAt) < pendingWithin:
		s.Pending, s.Until = true, m.CreatedAt.Add(pendingWithin)
	case m.StartsAt == nil:
		s.Lapsed = true
	default:
		s.Ended = true
	}
	return s
}

// agentMandateState is the page the agent reloads while the person confirms on their
// phone; it also says when the mandate was refused, lapsed or ended.
func (h *handler) agentMandateState(w http.ResponseWriter, r *http.Request) {
	m, ok := h.structureMandate(w, r)
	if !ok {
		return
	}
	h.renderAgent(w, r, http.StatusOK, "agent_pending", view{Title: "agent.pending.title"}, &agentPendingView{S: stateOfMandate(m, h.now())})
}

func (h *handler) agentRevokeForm(w http.ResponseWriter, r *http.Request) {
	m, ok := h.structureMandate(w, r)
	if !ok {
		return
	}
	if m.RevokedAt != nil || (m.ExpiresAt != nil && !h.now().Before(*m.ExpiresAt)) {
		h.agentNotFound(w, r)
		return
	}
	h.renderAgent(w, r, http.StatusOK, "agent_revoke", view{Title: "agent.revoke.title"}, &agentRevokeView{M: m})
}

func (h *handler) agentRevoke(w http.ResponseWriter, r *http.Request) {
	m, ok := h.structureMandate(w, r)
	if !ok {
		return
	}
	if err := h.share.RevokeMandateAsAgent(r.Context(), agentOf(r).Agent, m.OwnerID, m.ID, h.clientIP(r)); err != nil {
		h.agentError(w, r, err)
		return
	}
	// Home, not the mandate's page: ending the mandate may have ended the agent's reach.
	http.Redirect(w, r, "/agent?arrete=1", http.StatusSeeOther)
}

// ownerMandateID reads the {mid} of an owner's mandate path.
func (h *handler) ownerMandateID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "mid"))
	if err != nil {
		h.notFound(w, r)
		return uuid.Nil, false
	}
	return id, true
}

// ownerConfirmMandate is the person saying yes, from their own session, to a mandate an
// agent asked for at the desk within the last minutes.
func (h *handler) ownerConfirmMandate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.ownerMandateID(w, r)
	if !ok {
		return
	}
	_, err := h.share.ConfirmMandate(r.Context(), h.ownerID(r), id, h.clientIP(r))
	switch {
	case errors.Is(err, vault.ErrNotFound):
		// Too late, already answered, or not theirs: the page says what to do.
		h.fail(w, r, http.StatusNotFound, "aidants.pending.gone")
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/compte/aidants?confirme=1", http.StatusSeeOther)
	}
}

// ownerRefuseMandate is the person saying no: the pending mandate is ended before it
// ever started (journaled as revoked by the owner).
func (h *handler) ownerRefuseMandate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.ownerMandateID(w, r)
	if !ok {
		return
	}
	ms, err := h.share.Mandates(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	pending := false
	for _, m := range ms {
		if m.ID == id && m.StartsAt == nil && m.RevokedAt == nil {
			pending = true
		}
	}
	if !pending {
		h.fail(w, r, http.StatusNotFound, "aidants.pending.gone")
		return
	}
	switch err := h.share.RevokeMandate(r.Context(), h.ownerID(r), id, h.actor(r)); {
	case errors.Is(err, vault.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, "aidants.pending.gone")
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/compte/aidants?refuse=1", http.StatusSeeOther)
	}
}

// pendingMandates keeps the mandates still waiting for the owner's answer.
func pendingMandates(ms []sharing.Mandate, now time.Time) []sharing.Mandate {
	var out []sharing.Mandate
	for _, m := range ms {
		if m.StartsAt == nil && m.RevokedAt == nil && now.Sub(m.CreatedAt) < pendingWithin {
			out = append(out, m)
		}
	}
	return out
}

// aidantNotice is the banner on the owner's papers and account pages: mandates waiting
// for their answer, and mandates ending soon (sharing.Mandate.ExpiresSoon).
type aidantNotice struct {
	Pending  int
	Expiring []sharing.Mandate
}

// aidantNotices reads the owner's mandates for the banner; only the papers and account
// pages show it, so it costs one indexed query on those pages alone. A failure is
// logged and shows no banner: the page itself must not fail for it.
func (h *handler) aidantNotices(ctx context.Context, owner uuid.UUID) *aidantNotice {
	ms, err := h.share.Mandates(ctx, owner)
	if err != nil {
		h.log.ErrorContext(ctx, "aidant notice", "err", err)
		return nil
	}
	now := h.now()
	n := &aidantNotice{Pending: len(pendingMandates(ms, now))}
	for _, m := range ms {
		if m.ExpiresSoon(now) {
			n.Expiring = append(n.Expiring, m)
		}
	}
	if n.Pending == 0 && len(n.Expiring) == 0 {
		return nil
	}
	return n
}
