package web

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// Opening a safe at the desk, the access card, the mandate with the person's consent and
// its receipt, and access recovery.

// mandateTextVersion names the text of the mandate shown on the agent's screen (the
// mandate.text.* messages); it is recorded with every mandate as consent evidence. A
// change of those texts must come with a new version.
const mandateTextVersion = "mandat-v1"

// mandateDurations are the durations offered, in the order shown.
var mandateDurations = []sharing.Duration{sharing.OneDay, sharing.OneMonth, sharing.SixMonths, sharing.TwelveMonths} //nolint:gochecknoglobals // a constant list

func (h *handler) agentOpenForm(w http.ResponseWriter, r *http.Request) {
	h.renderAgent(w, r, http.StatusOK, "agent_open", view{Title: "agent.open.title"}, map[string]any{"Login": ""})
}

// codeView is what the page after opening a safe (or recovering an access) shows once.
type codeView struct {
	Owner     *vault.Owner
	Code      string
	ExpiresAt time.Time
	Recovery  bool
}

func (h *handler) agentOpen(w http.ResponseWriter, r *http.Request) {
	login := strings.TrimSpace(r.PostFormValue("login"))
	bad := func(status int, msg string) {
		h.renderAgent(w, r, status, "agent_open", view{Title: "agent.open.title", Error: h.t(r, msg)}, map[string]any{"Login": login})
	}
	o, err := h.share.OpenSafeFor(r.Context(), agentOf(r).Agent, login, h.clientIP(r))
	switch {
	case errors.Is(err, vault.ErrBadLogin):
		bad(http.StatusUnprocessableEntity, "signup.badlogin")
	case errors.Is(err, vault.ErrLoginTaken):
		bad(http.StatusConflict, "agent.open.taken")
	case err != nil:
		h.agentError(w, r, err)
	default:
		h.renderAgent(w, r, http.StatusOK, "agent_code", view{Title: "agent.code.title"},
			map[string]any{"C": codeView{Owner: o.Owner, Code: o.Code.Code, ExpiresAt: o.Code.ExpiresAt}})
	}
}

// agentAccessCard prints the access card of a safe just opened or recovered. The code is
// posted back by the page that showed it (it is stored only hashed) and checked like a
// secret: only who holds the code gets a card, which shows nothing else they do not know
// but the login, read from the database.
func (h *handler) agentAccessCard(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok {
		return
	}
	st, err := h.vault.AccessState(r.Context(), owner)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	o, err := h.vault.Owner(r.Context(), owner)
	if err != nil || !st.TemporaryCode || st.Expired {
		h.notFound(w, r)
		return
	}
	if err := h.vault.CheckOwnerSecret(r.Context(), owner, r.PostFormValue("code"), h.clientIP(r)); err != nil {
		if errors.Is(err, vault.ErrBadCredentials) || errors.Is(err, vault.ErrNotFound) {
			h.notFound(w, r)
			return
		}
		if _, locked := vault.IsLocked(err); locked {
			h.fail(w, r, http.StatusTooManyRequests, "login.locked")
			return
		}
		h.serverError(w, r, err)
		return
	}
	size := sharing.A6
	if r.PostFormValue("format") == "A4" {
		size = sharing.A4
	}
	a := agentOf(r).Agent
	stc, err := h.share.Structure(r.Context(), a.StructureID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	var buf bytes.Buffer
	err = sharing.AccessCardPDF(&buf, sharing.AccessCard{Login: o.Login, Code: r.PostFormValue("code"), CodeExpiresAt: st.ExpiresAt,
		LoginURL: h.baseURL(r) + "/connexion", StructureName: stc.Name, StructureContact: stc.Contact, Recovery: st.Recovered}, size)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	writePDF(w, &buf, "carte-coffre.pdf")
}

func writePDF(w http.ResponseWriter, buf *bytes.Buffer, name string) {
	hd := w.Header()
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Disposition", contentDisposition("inline", name))
	w.Write(buf.Bytes())
}

// agentFind sends the agent from a person's login to their mandate form.
func (h *handler) agentFind(w http.ResponseWriter, r *http.Request) {
	login := r.URL.Query().Get("identifiant")
	o, err := h.vault.OwnerByLogin(r.Context(), login)
	if err != nil {
		if errors.Is(err, vault.ErrNotFound) || errors.Is(err, vault.ErrBadLogin) {
			h.renderAgent(w, r, http.StatusNotFound, "agent_open", view{Title: "agent.open.title", Error: h.t(r, "agent.find.none")}, map[string]any{"Login": login})
			return
		}
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/agent/personnes/"+o.ID.String()+"/mandat", http.StatusSeeOther)
}

// mandateForm is the mandate form's state.
type mandateForm struct {
	Owner     *vault.Owner
	Scopes    map[string]bool
	Duration  string
	Durations []sharing.Duration
	Version   string
}

func (h *handler) agentMandateForm(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok {
		return
	}
	o, err := h.vault.Owner(r.Context(), owner)
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	f := mandateForm{Owner: o, Scopes: map[string]bool{"deposit": true, "read": true}, Duration: string(sharing.SixMonths),
		Durations: mandateDurations, Version: mandateTextVersion}
	h.renderAgent(w, r, http.StatusOK, "agent_mandate", view{Title: "agent.mandate.title"}, map[string]any{"F": f})
}

func (h *handler) agentMandate(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok {
		return
	}
	o, err := h.vault.Owner(r.Context(), owner)
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	f := mandateForm{Owner: o, Scopes: map[string]bool{}, Duration: r.PostFormValue("duration"), Durations: mandateDurations, Version: mandateTextVersion}
	nm := sharing.NewMandate{Duration: sharing.Duration(f.Duration)}
	for _, s := range r.PostForm["scope"] {
		f.Scopes[s] = true
		nm.Scopes = append(nm.Scopes, sharing.Scope(s))
	}
	bad := func(status int, msg string) {
		h.renderAgent(w, r, status, "agent_mandate", view{Title: "agent.mandate.title", Error: h.t(r, msg)}, map[string]any{"F": f})
	}
	m, err := h.share.GrantMandate(r.Context(), agentOf(r).Agent, owner, nm, mandateConsent(r), h.clientIP(r))
	if _, locked := vault.IsLocked(err); locked {
		bad(http.StatusTooManyRequests, "login.locked")
		return
	}
	switch {
	case errors.Is(err, sharing.ErrBadRequest):
		bad(http.StatusUnprocessableEntity, "agent.mandate.choose")
	case errors.Is(err, vault.ErrBadCredentials):
		bad(http.StatusUnprocessableEntity, "agent.mandate.wrongsecret")
	case err != nil:
		h.agentError(w, r, err)
	case m.StartsAt == nil: // waiting for the person's phone
		http.Redirect(w, r, "/agent/personnes/"+owner.String()+"/mandat/"+m.ID.String(), http.StatusSeeOther)
	default:
		h.renderAgent(w, r, http.StatusOK, "agent_mandated", view{Title: "agent.mandated.title"},
			map[string]any{"M": m, "Verify": h.baseURL(r) + "/mandat/verifier"})
	}
}

// agentMandateReceipt prints the receipt of a mandate held by the agent's structure.
func (h *handler) agentMandateReceipt(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok {
		return
	}
	id, err := uuid.Parse(chi.URLParam(r, "mid"))
	if err != nil {
		h.notFound(w, r)
		return
	}
	ms, err := h.share.Mandates(r.Context(), owner)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	var m *sharing.Mandate
	for i := range ms {
		if ms[i].ID == id && ms[i].StructureID == agentOf(r).Agent.StructureID && ms[i].StartsAt != nil {
			m = &ms[i]
		}
	}
	if m == nil {
		h.notFound(w, r)
		return
	}
	jws, _, err := sharing.MandateReceipt(h.cfg.Signing, m)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	size := sharing.A6
	if r.URL.Query().Get("format") == "A4" {
		size = sharing.A4
	}
	var buf bytes.Buffer
	if err := sharing.MandateReceiptPDF(&buf, sharing.MandateReceiptDoc{Mandate: m, JWS: jws, VerifyURL: h.baseURL(r) + "/mandat/verifier"}, size); err != nil {
		h.serverError(w, r, err)
		return
	}
	writePDF(w, &buf, "mandat.pdf")
}

// mandateVerify is the page a mandate receipt's QR code opens: what the service signed.
func (h *handler) mandateVerify(w http.ResponseWriter, r *http.Request) {
	var pub ed25519.PublicKey
	if h.cfg.Signing != nil {
		pub = h.cfg.Signing.Public().(ed25519.PublicKey)
	}
	st, err := sharing.VerifyMandateReceipt(r.URL.Query().Get("r"), pub)
	if err != nil {
		h.fail(w, r, http.StatusNotFound, "mandate.verify.bad")
		return
	}
	h.render(w, r, http.StatusOK, "mandate_verify", view{Title: "mandate.verify.title", Data: st})
}

func (h *handler) agentRecoverForm(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok {
		return
	}
	if !h.agentAuthorize(w, r, owner, sharing.ScopeRecover) {
		return
	}
	o, err := h.vault.Owner(r.Context(), owner)
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	h.renderAgent(w, r, http.StatusOK, "agent_recover", view{Title: "agent.recover.title"}, map[string]any{"Owner": o})
}

func (h *handler) agentRecover(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok {
		return
	}
	ac, err := h.share.RecoverAccess(r.Context(), agentOf(r).Agent, owner, h.clientIP(r))
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	o, err := h.vault.Owner(r.Context(), owner)
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	h.renderAgent(w, r, http.StatusOK, "agent_code", view{Title: "agent.code.title"},
		map[string]any{"C": codeView{Owner: o, Code: ac.Code, ExpiresAt: ac.ExpiresAt, Recovery: true}})
}
