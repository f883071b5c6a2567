package web

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/i18n"
)

// Opening a safe at the desk, the access card, the mandate with the person's consent and
// its receipt, and access recovery.

// mandateTextVersion names the text of the mandate shown on the agent's screen (the
// mandate.text.* messages); it is recorded with every mandate as consent evidence. A
// change of those texts must come with a new version.
// v2: access recovery is a scope of its own, with its own sentence.
const mandateTextVersion = "mandat-v2"

// mandateDurations are the durations offered, in the order shown.
var mandateDurations = []sharing.Duration{sharing.OneDay, sharing.OneMonth, sharing.SixMonths, sharing.TwelveMonths} //nolint:gochecknoglobals // a constant list

// agentOpenView is the form opening a safe at the desk, which also finds a safe by its
// login (agentFind, agentUnlock).
type agentOpenView struct {
	agentFrame
	Login string
	Lang  string // the language chosen with the person
}

func (h *handler) agentOpenForm(w http.ResponseWriter, r *http.Request) {
	h.renderAgent(w, r, http.StatusOK, "agent_open", view{Title: "agent.open.title"}, &agentOpenView{Lang: "fr"})
}

// openSafeForm is what the form opening a safe sends.
type openSafeForm struct {
	Login string
	Lang  string
}

// parseOpenSafeForm reads the form opening a safe: the login chosen with the person (the
// domain checks it) and their language, French when none is chosen.
func parseOpenSafeForm(r *http.Request) (openSafeForm, error) {
	f := openSafeForm{Login: strings.TrimSpace(r.PostFormValue("login")), Lang: r.PostFormValue("lang")}
	if f.Lang == "" {
		f.Lang = "fr"
	}
	if !validLanguage(f.Lang) {
		return f, errors.New("account.badlang")
	}
	return f, nil
}

// codeView is what the page after opening a safe (or recovering an access) shows once.
type codeView struct {
	Owner     *vault.Owner
	Code      string
	ExpiresAt time.Time
	Recovery  bool
	WorksFrom time.Time // after a desk identity check: the code works from then
}

// agentCodeView is the page showing a new temporary code.
type agentCodeView struct {
	agentFrame
	C codeView
}

func (h *handler) agentOpen(w http.ResponseWriter, r *http.Request) {
	f, err := parseOpenSafeForm(r)
	bad := func(status int, msg string) {
		h.renderAgent(w, r, status, "agent_open", view{Title: "agent.open.title", Error: h.t(r, msg)}, &agentOpenView{Login: f.Login, Lang: f.Lang})
	}
	if err != nil {
		bad(http.StatusUnprocessableEntity, err.Error())
		return
	}
	o, err := h.share.OpenSafeFor(r.Context(), agentOf(r).Agent, f.Login, h.clientIP(r))
	if err == nil && f.Lang != "fr" {
		// The person reads their safe in the language chosen with them at the desk from
		// their first sign-in on.
		err = h.accounts.SetLanguage(r.Context(), o.Owner.ID, f.Lang)
	}
	switch {
	case errors.Is(err, account.ErrBadLogin):
		bad(http.StatusUnprocessableEntity, "signup.badlogin")
	case errors.Is(err, vault.ErrLoginTaken):
		bad(http.StatusConflict, "agent.open.taken")
	case err != nil:
		h.agentError(w, r, err)
	default:
		h.renderAgent(w, r, http.StatusOK, "agent_code", view{Title: "agent.code.title"},
			&agentCodeView{C: codeView{Owner: o.Owner, Code: o.Code.Code, ExpiresAt: o.Code.ExpiresAt}})
	}
}

// agentAccessCard prints the access card of a safe just opened or recovered. The code is
// posted back by the page that showed it (it is stored only hashed) and checked like a
// secret: only who holds the code gets a card, which shows nothing else they do not know
// but the login, read from the database. A code after a desk identity check is not the
// secret yet: the card says from when it works.
func (h *handler) agentAccessCard(w http.ResponseWriter, r *http.Request) {
	o := safeOf(r).Owner
	owner := o.ID
	f := parseCardForm(r)
	code := f.Code
	card := sharing.AccessCard{Code: code, LoginURL: h.baseURL(r) + "/connexion"}
	pending, err := h.accounts.CheckRecoveryCode(r.Context(), owner, code, h.clientIP(r))
	switch {
	case err == nil:
		card.Recovery, card.WorksFrom, card.CodeExpiresAt = true, pending.EffectiveAt, pending.CodeExpiresAt
	case errors.Is(err, vault.ErrNotFound):
		st, err := h.accounts.AccessState(r.Context(), owner)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		if !st.TemporaryCode || st.Expired {
			h.codeError(w, r, owner, vault.ErrNotFound)
			return
		}
		if err := h.accounts.CheckOwnerSecret(r.Context(), owner, code, h.clientIP(r)); err != nil {
			h.codeError(w, r, owner, err)
			return
		}
		card.Recovery, card.CodeExpiresAt = st.Recovered, st.ExpiresAt
	default:
		h.codeError(w, r, owner, err)
		return
	}
	stc, err := h.share.Structure(r.Context(), agentOf(r).Agent.StructureID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	card.Login, card.StructureName, card.StructureContact = o.Login, stc.Name, stc.Contact
	a, err := h.accounts.Account(r.Context(), owner)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if a.Language != "fr" && validLanguage(a.Language) {
		card.Translation = cardWords(a.Language)
	}
	card.Zone = h.personZone(r, a)
	var buf bytes.Buffer
	if err := sharing.AccessCardPDF(&buf, card, f.Size); err != nil {
		h.serverError(w, r, err)
		return
	}
	writePDF(w, &buf, "carte-coffre.pdf")
}

// cardForm is what the page of a new code posts to print the access card.
type cardForm struct {
	Code string // the temporary code shown, checked like a secret
	Size sharing.PaperSize
}

// parseCardForm reads the access card form; the code is checked by the handler.
func parseCardForm(r *http.Request) cardForm {
	return cardForm{Code: r.PostFormValue("code"), Size: paperSize(r.PostFormValue("format"))}
}

// paperSize is the size asked for a card or a receipt: A4, or else A6.
func paperSize(s string) sharing.PaperSize {
	if s == "A4" {
		return sharing.A4
	}
	return sharing.A6
}

// codeError answers a wrong temporary code on the access card form: "not found",
// journaled in the person's history like any refusal.
func (h *handler) codeError(w http.ResponseWriter, r *http.Request, owner uuid.UUID, err error) {
	if errors.Is(err, account.ErrBadCredentials) || errors.Is(err, vault.ErrNotFound) {
		h.agentError(w, r, h.share.RefuseCode(r.Context(), agentOf(r).Agent, owner, h.clientIP(r)))
		return
	}
	if _, locked := account.IsLocked(err); locked {
		h.fail(w, r, http.StatusTooManyRequests, "login.locked")
		return
	}
	h.serverError(w, r, err)
}

func writePDF(w http.ResponseWriter, buf *bytes.Buffer, name string) {
	hd := w.Header()
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Disposition", contentDisposition("inline", name))
	_, _ = w.Write(buf.Bytes()) // the client has gone: nothing left to tell it
}

// agentFind sends the agent from a person's login to their mandate form, when their
// structure already reaches the safe (it opened it, or holds a mandate). Anything else
// is the same "no safe with this login" as a missing one (journaled in an existing safe).
func (h *handler) agentFind(w http.ResponseWriter, r *http.Request) {
	f := parseFindForm(r)
	o, err := h.vault.OwnerByLogin(r.Context(), f.Login)
	if err == nil {
		err = h.share.Authorize(r.Context(), agentOf(r).Agent, o.ID, sharing.ScopeReach, h.clientIP(r))
	}
	h.foundOrNot(w, r, f.Login, o, err)
}

// findForm is what the agent types to find a safe: the person's login, and their secret
// or the code of their access card when the person unlocks it at the desk.
type findForm struct {
	Login, Secret string
}

// parseFindForm reads the login looked up (?identifiant=).
func parseFindForm(r *http.Request) findForm {
	return findForm{Login: r.URL.Query().Get("identifiant")}
}

// parseUnlockForm reads the login and the secret typed at the desk.
func parseUnlockForm(r *http.Request) findForm {
	return findForm{Login: r.PostFormValue("identifiant"), Secret: r.PostFormValue("secret")}
}

// agentUnlock is the person typing their login and their secret (or the code of their
// access card) on the agent's screen: the agent then reaches the safe for
// sharing.DeskUnlockTTL, to ask for a mandate. Without a secret, it looks the login up
// like agentFind.
func (h *handler) agentUnlock(w http.ResponseWriter, r *http.Request) {
	f := parseUnlockForm(r)
	if f.Secret == "" {
		o, err := h.vault.OwnerByLogin(r.Context(), f.Login)
		if err == nil {
			err = h.share.Authorize(r.Context(), agentOf(r).Agent, o.ID, sharing.ScopeReach, h.clientIP(r))
		}
		h.foundOrNot(w, r, f.Login, o, err)
		return
	}
	id, err := h.share.DeskUnlock(r.Context(), agentOf(r).Agent, f.Login, f.Secret, h.clientIP(r))
	if _, locked := account.IsLocked(err); locked {
		h.renderAgentHome(w, r, http.StatusTooManyRequests, view{Title: "agent.home.title", Error: h.t(r, "login.locked")}, f.Login)
		return
	}
	h.foundOrNot(w, r, f.Login, &vault.Owner{ID: id}, err)
}

// foundOrNot sends the agent to the mandate form of o, or says no safe was found, or
// why the secret typed did not unlock it: wrong (for an agent who reaches the safe
// anyway: sharing.DeskUnlock), or the code of an access card. The message comes with
// the find form, the login in it, so that the person can type their secret again.
func (h *handler) foundOrNot(w http.ResponseWriter, r *http.Request, login string, o *vault.Owner, err error) {
	again := func(status int, msg string) {
		h.renderAgentHome(w, r, status, view{Title: "agent.home.title", Error: h.t(r, msg)}, login)
	}
	switch {
	case errors.Is(err, vault.ErrNotFound), errors.Is(err, account.ErrBadLogin):
		again(http.StatusNotFound, "agent.find.none")
	case errors.Is(err, account.ErrBadCredentials):
		again(http.StatusUnprocessableEntity, "agent.mandate.wrongsecret")
	case errors.Is(err, sharing.ErrTemporarySecret):
		again(http.StatusUnprocessableEntity, "agent.find.temporary")
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/agent/personnes/"+o.ID.String()+"/mandat", http.StatusSeeOther)
	}
}

// mandateForm is the mandate form's state.
type mandateForm struct {
	Owner     *vault.Owner
	Scopes    map[string]bool
	Duration  string
	Durations []sharing.Duration
	Version   string
	// Translation is the language the consent's French text is translated into, beside
	// it: the person's own, else the page's ("fr": none).
	Translation string
	// What the form asks for, and how the person consents. Unexported: a template cannot
	// show the secret typed.
	mandate sharing.NewMandate
	consent sharing.Consent
}

// parseMandateForm reads the mandate form: the scopes ticked, the duration, and how the
// person consents, their secret typed on the agent's screen or later from their phone.
// The domain checks the choice (sharing.GrantMandate).
func parseMandateForm(r *http.Request) mandateForm {
	f := mandateForm{Scopes: map[string]bool{}, Duration: r.PostFormValue("duration"), Durations: mandateDurations, Version: mandateTextVersion}
	f.mandate.Duration = sharing.Duration(f.Duration)
	for _, s := range r.PostForm["scope"] {
		f.Scopes[s] = true
		f.mandate.Scopes = append(f.mandate.Scopes, sharing.Scope(s))
	}
	f.consent = sharing.Consent{Method: sharing.ConsentSecret, TextVersion: mandateTextVersion, Secret: r.PostFormValue("secret")}
	if r.PostFormValue("consent") == string(sharing.ConsentPhone) {
		f.consent = sharing.Consent{Method: sharing.ConsentPhone, TextVersion: mandateTextVersion}
	}
	return f
}

// agentMandateView is the mandate form with the person's consent.
type agentMandateView struct {
	agentFrame
	F mandateForm
}

// agentMandatedView is the page of a mandate just given, with its receipt.
type agentMandatedView struct {
	agentFrame
	M      *sharing.Mandate
	Verify string // where the receipt's QR code leads
}

func (h *handler) agentMandateForm(w http.ResponseWriter, r *http.Request) {
	f := mandateForm{Owner: safeOf(r).Owner, Scopes: map[string]bool{"deposit": true, "read": true}, Duration: string(sharing.SixMonths),
		Durations: mandateDurations, Version: mandateTextVersion, Translation: h.consentLanguage(r, safeOf(r).Owner)}
	h.renderAgent(w, r, http.StatusOK, "agent_mandate", view{Title: "agent.mandate.title"}, &agentMandateView{F: f})
}

// consentLanguage is the language a person reads the consent in: their account's, which
// the agent's page need not be in; else the page's.
func (h *handler) consentLanguage(r *http.Request, o *vault.Owner) string {
	if a, err := h.accounts.Account(r.Context(), o.ID); err == nil && validLanguage(a.Language) && a.Language != "fr" {
		return a.Language
	}
	return requestLanguage(r)
}

func (h *handler) agentMandate(w http.ResponseWriter, r *http.Request) {
	o := safeOf(r).Owner // authorized before an error shows the login again
	owner := o.ID
	f := parseMandateForm(r)
	f.Owner, f.Translation = o, h.consentLanguage(r, o)
	bad := func(status int, msg string) {
		h.renderAgent(w, r, status, "agent_mandate", view{Title: "agent.mandate.title", Error: h.t(r, msg)}, &agentMandateView{F: f})
	}
	m, err := h.share.GrantMandate(r.Context(), agentOf(r).Agent, owner, f.mandate, f.consent, h.clientIP(r))
	if _, locked := account.IsLocked(err); locked {
		bad(http.StatusTooManyRequests, "login.locked")
		return
	}
	switch {
	case errors.Is(err, sharing.ErrBadRequest):
		bad(http.StatusUnprocessableEntity, "agent.mandate.choose")
	case errors.Is(err, account.ErrBadCredentials):
		bad(http.StatusUnprocessableEntity, "agent.mandate.wrongsecret")
	case errors.Is(err, sharing.ErrTemporarySecret):
		bad(http.StatusUnprocessableEntity, "agent.mandate.temporary")
	case err != nil:
		h.agentError(w, r, err)
	case m.StartsAt == nil: // waiting for the person's phone
		http.Redirect(w, r, "/agent/personnes/"+owner.String()+"/mandat/"+m.ID.String(), http.StatusSeeOther)
	default:
		h.renderAgent(w, r, http.StatusOK, "agent_mandated", view{Title: "agent.mandated.title"},
			&agentMandatedView{M: m, Verify: h.baseURL(r) + "/mandat/verifier"})
	}
}

// agentMandateReceipt prints the receipt of a mandate held by the agent's structure.
func (h *handler) agentMandateReceipt(w http.ResponseWriter, r *http.Request) {
	m, ok := h.structureMandate(w, r)
	if !ok {
		return
	}
	if m.StartsAt == nil { // waiting for the person's phone: no receipt yet
		h.agentNotFound(w, r)
		return
	}
	jws, _, err := sharing.MandateReceipt(h.cfg.Signing, m)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	var buf bytes.Buffer
	doc := sharing.MandateReceiptDoc{Mandate: m, JWS: jws, VerifyURL: h.baseURL(r) + "/mandat/verifier"}
	a, err := h.accounts.Account(r.Context(), m.OwnerID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if validLanguage(a.Language) {
		doc.Lang = a.Language // a translated page after the French one
	}
	doc.Zone = h.personZone(r, a)
	if err := sharing.MandateReceiptPDF(&buf, doc, paperSize(r.URL.Query().Get("format"))); err != nil {
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

// recoverForm is the recovery form's state: at once under a mandate with the recovery
// right (Now), else after an identity check at the desk.
type recoverForm struct {
	Owner     *vault.Owner
	Now       bool
	Documents []sharing.IdentityDocument
	Document  string
	NumberEnd string
	Len       int
}

// parseRecoverForm reads the identity check at the desk: the kind of document seen and
// the end of its number (the domain checks them), and the agent's word that they checked
// the person's face against it.
func parseRecoverForm(r *http.Request) (recoverForm, error) {
	f := recoverForm{Document: r.PostFormValue("document"), NumberEnd: r.PostFormValue("fin")}
	if r.PostFormValue("verifie") != "oui" {
		return f, errors.New("agent.recover.attest")
	}
	return f, nil
}

// agentRecoverView is the access recovery form.
type agentRecoverView struct {
	agentFrame
	F recoverForm
}

// recoverNow tells whether the agent's structure holds the recovery right for owner;
// otherwise the desk path applies. Each path is then authorized (and a refusal
// journaled) by the domain.
func (h *handler) recoverNow(w http.ResponseWriter, r *http.Request, owner uuid.UUID) (now, ok bool) {
	now, err := h.share.Allows(r.Context(), agentOf(r).Agent, owner, sharing.ScopeRecover)
	if err != nil {
		h.serverError(w, r, err)
		return false, false
	}
	return now, true
}

func (h *handler) agentRecoverForm(w http.ResponseWriter, r *http.Request) {
	now, ok := h.recoverNow(w, r, safeOf(r).Owner.ID)
	if !ok {
		return
	}
	h.renderRecover(w, r, http.StatusOK, "", recoverForm{Now: now})
}

func (h *handler) renderRecover(w http.ResponseWriter, r *http.Request, status int, errMsg string, f recoverForm) {
	f.Owner, f.Documents, f.Len = safeOf(r).Owner, sharing.IdentityDocuments, sharing.NumberEndLen
	h.renderAgent(w, r, status, "agent_recover", view{Title: "agent.recover.title", Error: errMsg}, &agentRecoverView{F: f})
}

func (h *handler) agentRecover(w http.ResponseWriter, r *http.Request) {
	owner := safeOf(r).Owner.ID
	now, ok := h.recoverNow(w, r, owner)
	if !ok {
		return
	}
	agent, ip := agentOf(r).Agent, h.clientIP(r)
	if now {
		ac, err := h.share.RecoverAccess(r.Context(), agent, owner, ip)
		if err != nil {
			h.agentError(w, r, err)
			return
		}
		h.renderCode(w, r, codeView{Code: ac.Code, ExpiresAt: ac.ExpiresAt, Recovery: true})
		return
	}
	f, err := parseRecoverForm(r)
	if err != nil {
		h.renderRecover(w, r, http.StatusUnprocessableEntity, h.t(r, err.Error()), f)
		return
	}
	p, err := h.share.RecoverAfterIdentityCheck(r.Context(), agent, owner,
		sharing.IdentityCheck{Document: sharing.IdentityDocument(f.Document), NumberEnd: f.NumberEnd}, ip)
	switch {
	case errors.Is(err, sharing.ErrBadRequest):
		h.renderRecover(w, r, http.StatusUnprocessableEntity, h.t(r, "agent.recover.badcheck", sharing.NumberEndLen), f)
	case err != nil:
		h.agentError(w, r, err)
	default:
		h.renderCode(w, r, codeView{Code: p.Code, ExpiresAt: p.CodeExpiresAt, Recovery: true, WorksFrom: p.EffectiveAt})
	}
}

// renderCode shows a new temporary code, once.
func (h *handler) renderCode(w http.ResponseWriter, r *http.Request, c codeView) {
	c.Owner = safeOf(r).Owner
	h.renderAgent(w, r, http.StatusOK, "agent_code", view{Title: "agent.code.title"}, &agentCodeView{C: c})
}

// cardWords are the words of the access card in the person's language, printed on its
// second page (sharing.AccessCard.Translation).
func cardWords(lang string) *sharing.CardWords {
	t := func(id string) string { return i18n.Text(lang, id) }
	loc := i18n.LocaleOf(lang)
	return &sharing.CardWords{Title: t("card.title"), RecoveryTitle: t("card.recoverytitle"), Login: t("card.login"), Code: t("card.code"),
		WorksFrom: t("card.worksfrom"), Expires: t("card.expires"), Enter: t("card.enter"), Helped: t("card.helped"), Keep: t("card.keep"),
		Date: loc.Date, DateTime: loc.DateTime}
}
