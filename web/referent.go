package web

import (
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault/account"
)

// The référent's pages: the structure's agents (invite, deactivate) and its monthly
// figures. A plain agent gets the "not found" page, as for anything they may not see;
// the domain checks the role again on every call (sharing.checkReferent).

// requireReferent lets only référents through (the role is read afresh with the
// session, so a role taken away counts at once).
func (h *handler) requireReferent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if as := agentOf(r); as == nil || as.Agent.Role != sharing.RoleReferent {
			h.agentNotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// agentRow is one agent of the structure on the référent's page.
type agentRow struct {
	sharing.Agent
	Self bool
}

// referentAgentsView is the list of the structure's agents.
type referentAgentsView struct {
	agentFrame
	Agents []agentRow
}

func (h *handler) referentAgents(w http.ResponseWriter, r *http.Request) {
	me := agentOf(r).Agent
	as, err := h.share.Agents(r.Context(), me)
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	rows := make([]agentRow, len(as))
	for i, a := range as {
		rows[i] = agentRow{Agent: a, Self: a.ID == me.ID}
	}
	v := view{Title: "referent.title"}
	if r.URL.Query().Get("desactive") == "1" {
		v.Notice = h.t(r, "referent.deactivated")
	}
	h.renderAgent(w, r, http.StatusOK, "referent_agents", v, &referentAgentsView{Agents: rows})
}

// inviteForm is the invitation form's state.
type inviteForm struct {
	Login, Name, Role string
}

// parseInviteForm reads the invitation form; the domain checks it (sharing.InviteAgent).
func parseInviteForm(r *http.Request) inviteForm {
	return inviteForm{Login: r.PostFormValue("login"), Name: r.PostFormValue("name"), Role: r.PostFormValue("role")}
}

// referentInviteView is the invitation form.
type referentInviteView struct {
	agentFrame
	F inviteForm
}

func (h *handler) referentInviteForm(w http.ResponseWriter, r *http.Request) {
	h.renderAgent(w, r, http.StatusOK, "referent_invite", view{Title: "referent.invite.title"},
		&referentInviteView{F: inviteForm{Role: string(sharing.RoleAgent)}})
}

// enrolmentView is what the page after an invitation shows once.
type enrolmentView struct {
	Agent    *sharing.Agent
	Password string
	Secret   string
	URI      string
	QR       template.URL
}

// referentInvitedView is the page after an invitation.
type referentInvitedView struct {
	agentFrame
	E enrolmentView
}

func (h *handler) referentInvite(w http.ResponseWriter, r *http.Request) {
	f := parseInviteForm(r)
	bad := func(status int, msg string) {
		h.renderAgent(w, r, status, "referent_invite", view{Title: "referent.invite.title", Error: h.t(r, msg)}, &referentInviteView{F: f})
	}
	a, enr, err := h.share.InviteAgent(r.Context(), agentOf(r).Agent, sharing.NewAgent{Login: f.Login, Name: f.Name, Role: sharing.Role(f.Role)})
	switch {
	case errors.Is(err, account.ErrBadLogin):
		bad(http.StatusUnprocessableEntity, "signup.badlogin")
		return
	case errors.Is(err, sharing.ErrBadRequest):
		bad(http.StatusUnprocessableEntity, "referent.invite.bad")
		return
	case errors.Is(err, sharing.ErrTaken):
		bad(http.StatusConflict, "referent.invite.taken")
		return
	case err != nil:
		h.agentError(w, r, err)
		return
	}
	qr, err := qrDataURI(enr.TOTPURI)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "agent invited", "structure", a.StructureID, "agent", a.ID, "by", agentOf(r).Agent.ID)
	h.renderAgent(w, r, http.StatusOK, "referent_invited", view{Title: "referent.invited.title"}, &referentInvitedView{
		E: enrolmentView{Agent: a, Password: enr.TemporaryPassword, Secret: enr.TOTPSecret, URI: enr.TOTPURI, QR: template.URL(qr)}}) //nolint:gosec // a data: URI of our PNG, in base64: html/template would refuse it as a string
}

// structureAgent finds the {aid} of the path among the référent's structure's agents.
func (h *handler) structureAgent(w http.ResponseWriter, r *http.Request) (*sharing.Agent, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "aid"))
	if err != nil {
		h.agentNotFound(w, r)
		return nil, false
	}
	as, err := h.share.Agents(r.Context(), agentOf(r).Agent)
	if err != nil {
		h.agentError(w, r, err)
		return nil, false
	}
	for i := range as {
		if as[i].ID == id && as[i].DeactivatedAt == nil && id != agentOf(r).Agent.ID {
			return &as[i], true
		}
	}
	h.agentNotFound(w, r)
	return nil, false
}

// referentDeactivateView asks the référent to confirm an agent's deactivation.
type referentDeactivateView struct {
	agentFrame
	Target *sharing.Agent
}

func (h *handler) referentDeactivateForm(w http.ResponseWriter, r *http.Request) {
	a, ok := h.structureAgent(w, r)
	if !ok {
		return
	}
	h.renderAgent(w, r, http.StatusOK, "referent_deactivate", view{Title: "referent.deactivate.title"}, &referentDeactivateView{Target: a})
}

func (h *handler) referentDeactivate(w http.ResponseWriter, r *http.Request) {
	a, ok := h.structureAgent(w, r)
	if !ok {
		return
	}
	if err := h.share.DeactivateAgent(r.Context(), agentOf(r).Agent, a.ID); err != nil {
		h.agentError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "agent deactivated", "structure", a.StructureID, "agent", a.ID, "by", agentOf(r).Agent.ID)
	http.Redirect(w, r, "/agent/structure?desactive=1", http.StatusSeeOther)
}

// statsMonths is how many months the dashboard shows, the current one included.
const statsMonths = 12

// statsRow is one month of the dashboard, with its label.
type statsRow struct {
	sharing.MonthStats
	Label string
}

// referentStatsView is the structure's dashboard: a row per month, and their total.
type referentStatsView struct {
	agentFrame
	Rows  []statsRow
	Total sharing.MonthStats
}

func (h *handler) referentStats(w http.ResponseWriter, r *http.Request) {
	now := h.now().UTC()
	from := time.Date(now.Year(), now.Month()-statsMonths+1, 1, 0, 0, 0, 0, time.UTC)
	ms, err := h.share.StructureStats(r.Context(), agentOf(r).Agent, from, now)
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	rows := make([]statsRow, len(ms))
	var total sharing.MonthStats
	for i, m := range ms {
		rows[i] = statsRow{MonthStats: m, Label: h.monthLabel(r, m.Month)}
		total.SafesOpened += m.SafesOpened
		total.SafesActivated += m.SafesActivated
		total.Deposits += m.Deposits
		total.LinksCreated += m.LinksCreated
		total.LinksUsed += m.LinksUsed
		total.Prints += m.Prints
		total.MandatesGranted += m.MandatesGranted
	}
	h.renderAgent(w, r, http.StatusOK, "referent_stats", view{Title: "referent.stats.title"}, &referentStatsView{Rows: rows, Total: total})
}

// monthLabel names a month as the table shows it: "novembre 2026".
func (h *handler) monthLabel(r *http.Request, m time.Time) string {
	return localeOf(requestLanguage(r)).Month(m)
}
