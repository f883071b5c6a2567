package web

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
)

type sessionView struct {
	account.Session
	Current bool
	Name    string // the device in plain words (deviceName); "" when it did not say
}

// accountView is the data of « Mon compte ».
type accountView struct {
	Account     *account.Account
	Sessions    []sessionView
	PasskeyList []account.Passkey
	Fresh       bool // the session's proof is recent: credentials may change without asking again
	Messages    *messagesView
	Reading     *readingSwitch
	Deposits    *subscriptionsView
	Zones       []zoneChoice
	// MessagesIn names the account's language when the pages are read in another (the
	// footer's « Langue » changes the pages only): messages still come in it.
	MessagesIn string
}

func (h *handler) account(w http.ResponseWriter, r *http.Request) {
	h.renderAccount(w, r, http.StatusOK, "", "")
}

func (h *handler) renderAccount(w http.ResponseWriter, r *http.Request, status int, errMsg, notice string) {
	st := stateOf(r)
	a, err := h.accounts.Account(r.Context(), st.owner.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	list, err := h.accounts.Sessions(r.Context(), st.owner.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	passkeys, err := h.accounts.Passkeys(r.Context(), st.owner.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	reading, err := h.readingOf(r.Context(), st.owner.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	sessions := make([]sessionView, len(list))
	for i, s := range list {
		sessions[i] = sessionView{Session: s, Current: s.ID == st.session.ID, Name: h.pages.cat.deviceName(requestLanguage(r), s.Device)}
	}
	messages, err := h.messagesView(r, a)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	deposits, err := h.subscriptionsOf(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	lang := requestLanguage(r)
	data := accountView{Account: a, Sessions: sessions, PasskeyList: passkeys, Fresh: st.session.Fresh(h.now()), Messages: messages, Reading: reading,
		Deposits: deposits, Zones: zoneChoices(lang, h.requestZone(r), h.now())}
	if a.Language != "" && a.Language != lang {
		data.MessagesIn = localeOf(a.Language).Name
	}
	v := view{Title: "account.title", Nav: "account", Error: errMsg, Notice: notice, Data: data}
	if notice == "" && r.URL.Query().Get("cle") == "1" {
		v.Notice = h.t(r, "account.passkeyadded")
	}
	if v.Notice == "" && errMsg == "" {
		v.Notice = h.messagesNotice(r)
	}
	if v.Notice == "" {
		v.Notice = h.readingNotice(r)
	}
	h.render(w, r, status, "account", v)
}

// secretForm is what the change of secret sends: the current secret (none when the owner
// has none yet) and the new one.
type secretForm struct {
	Current, Next string
}

// parseSecretForm reads the change of secret: the new secret typed twice must be the
// same; the domain judges the rest.
func parseSecretForm(r *http.Request) (secretForm, error) {
	f := secretForm{Current: r.PostFormValue("current"), Next: r.PostFormValue("secret")}
	if f.Next != r.PostFormValue("secret2") {
		return f, errors.New("signup.mismatch")
	}
	return f, nil
}

func (h *handler) changeSecret(w http.ResponseWriter, r *http.Request) {
	f, err := parseSecretForm(r)
	if err != nil {
		h.renderAccount(w, r, http.StatusUnprocessableEntity, h.refusalText(r, err), "")
		return
	}
	st := stateOf(r)
	a, err := h.accounts.Account(r.Context(), st.owner.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if !a.HasSecret && !st.session.Fresh(h.now()) {
		// No current secret to type: the proof is a recent sign-in or passkey.
		h.askReverify(w, r, "/compte")
		return
	}
	token, err := h.accounts.ChangeSecret(r.Context(), st.owner.ID, f.Current, f.Next, h.actor(r), st.session.ID)
	switch {
	case errors.Is(err, account.ErrBadCredentials):
		h.renderAccount(w, r, http.StatusUnprocessableEntity, h.t(r, "account.wrongcurrent"), "")
	case errors.Is(err, account.ErrSecretTooShort):
		h.renderAccount(w, r, http.StatusUnprocessableEntity, h.t(r, "secret.short"), "")
	case errors.Is(err, account.ErrSecretCommon):
		h.renderAccount(w, r, http.StatusUnprocessableEntity, h.t(r, "secret.common"), "")
	case errors.Is(err, account.ErrSecretHasLogin):
		h.renderAccount(w, r, http.StatusUnprocessableEntity, h.t(r, "secret.haslogin"), "")
	case err != nil:
		h.serverError(w, r, err)
	default:
		h.renewCookie(w, r, token)
		h.renderAccount(w, r, http.StatusOK, "", h.t(r, "account.secretchanged"))
	}
}

// languageForm is the language chosen on « Mon compte ».
type languageForm struct {
	Lang string
}

// parseLanguageForm reads the language chosen: one the service speaks.
func parseLanguageForm(r *http.Request) (languageForm, error) {
	f := languageForm{Lang: r.PostFormValue("lang")}
	if !validLanguage(f.Lang) {
		return f, errors.New("account.badlang")
	}
	return f, nil
}

func (h *handler) setLanguage(w http.ResponseWriter, r *http.Request) {
	f, err := parseLanguageForm(r)
	if err != nil {
		h.renderAccount(w, r, http.StatusUnprocessableEntity, h.refusalText(r, err), "")
		return
	}
	lang := f.Lang
	if err := h.accounts.SetLanguage(r.Context(), h.ownerID(r), lang); err != nil {
		if errors.Is(err, vault.ErrInvalid) {
			h.renderAccount(w, r, http.StatusUnprocessableEntity, h.t(r, "account.badlang"), "")
			return
		}
		h.serverError(w, r, err)
		return
	}
	h.setLangCookie(w, lang)
	http.Redirect(w, r, "/compte", http.StatusSeeOther)
}

// setTimeZone records the place whose time the person reads dates and hours in.
func (h *handler) setTimeZone(w http.ResponseWriter, r *http.Request) {
	err := h.accounts.SetTimeZone(r.Context(), h.ownerID(r), r.PostFormValue("zone"))
	switch {
	case errors.Is(err, vault.ErrInvalid):
		h.renderAccount(w, r, http.StatusUnprocessableEntity, h.t(r, "account.badzone"), "")
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/compte#heure", http.StatusSeeOther)
	}
}

func (h *handler) endSession(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(chi.URLParam(r, "sid"))
	if err != nil {
		h.notFound(w, r)
		return
	}
	if err := h.accounts.EndSessionID(r.Context(), h.ownerID(r), id); err != nil {
		if errors.Is(err, vault.ErrNotFound) {
			h.notFound(w, r)
			return
		}
		h.serverError(w, r, err)
		return
	}
	if id == stateOf(r).session.ID {
		h.personLeft(w, r)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/compte", http.StatusSeeOther)
}

// endAllSessions is "log out everywhere": every session of the owner, this one included.
func (h *handler) endAllSessions(w http.ResponseWriter, r *http.Request) {
	if _, err := h.accounts.EndAllSessions(r.Context(), h.ownerID(r), h.actor(r)); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.personLeft(w, r)
	http.Redirect(w, r, "/connexion", http.StatusSeeOther)
}
