package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
)

// loginData keeps what the person typed, so that an error loses nothing but the secret.
type loginData struct {
	Login string
}

func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	if stateOf(r).session != nil {
		http.Redirect(w, r, "/papiers", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "home", view{Title: "home.title"})
}

func (h *handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "login", view{Title: "login.title", Nav: "login", Data: loginData{}})
}

// signInForm is what the sign-in form sends.
type signInForm struct {
	Login, Secret string
}

// parseSignInForm reads the sign-in form; the domain judges what was typed.
func parseSignInForm(r *http.Request) (signInForm, error) {
	return signInForm{Login: r.PostFormValue("login"), Secret: r.PostFormValue("secret")}, nil
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	f, _ := parseSignInForm(r)
	data := loginData{Login: f.Login}
	o, err := h.accounts.Authenticate(r.Context(), f.Login, f.Secret, h.clientIP(r))
	if err != nil {
		if _, locked := account.IsLocked(err); locked {
			h.render(w, r, http.StatusTooManyRequests, "login", view{Title: "login.title", Error: h.t(r, "login.locked"), Data: data})
			return
		}
		if errors.Is(err, account.ErrAccessCodeExpired) {
			h.render(w, r, http.StatusUnauthorized, "login", view{Title: "login.title", Error: h.t(r, "login.code_expired"), Data: data})
			return
		}
		if errors.Is(err, account.ErrBadCredentials) {
			h.render(w, r, http.StatusUnauthorized, "login", view{Title: "login.title", Error: h.t(r, "login.wrong"), Data: data})
			return
		}
		h.serverError(w, r, err)
		return
	}
	h.signInWithSecret(w, r, o)
}

// startSession opens a server-side session and sends the person to their papers. The
// "pre" cookie is dropped: a new token after sign-in (no session fixation).
func (h *handler) startSession(w http.ResponseWriter, r *http.Request, o *vault.Owner, method string) {
	if err := h.openSession(w, r, o.ID, method); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, h.afterSignIn(w, r), http.StatusSeeOther)
}

// openSession creates the session and sets its cookie, with the account's language.
func (h *handler) openSession(w http.ResponseWriter, r *http.Request, owner uuid.UUID, method string) error {
	token, _, err := h.accounts.CreateSession(r.Context(), owner, method, r.UserAgent(), h.sessionLength(r))
	if err != nil {
		return err
	}
	// A person who signs in by themselves with a passkey or FranceConnect has activated
	// their safe; sign-in with a secret decides in signInWithSecret (a temporary code
	// given at a desk does not count until it is changed).
	if method != "secret" {
		if _, err := h.vault.MarkActivated(r.Context(), owner); err != nil {
			return err
		}
	}
	h.setCookie(w, "coffre", token, 0)
	h.setCookie(w, "coffre_pre", "", -1)
	if a, err := h.accounts.Account(r.Context(), owner); err == nil {
		h.setLangCookie(w, a.Language)
		// A person who has not chosen a place keeps their device's, so that the
		// messages sent to them are in their time too; Paris's is the default anyway.
		if z := h.deviceZone(r); a.TimeZone == "" && z != "" && z != account.Paris {
			if _, err := h.accounts.KeepTimeZone(r.Context(), owner, z); err != nil {
				h.log.WarnContext(r.Context(), "keep the device's time zone", "err", err)
			}
		}
	}
	return nil
}

func (h *handler) setLangCookie(w http.ResponseWriter, lang string) {
	http.SetCookie(w, &http.Cookie{Name: "lang", Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: h.cfg.BehindTLS, SameSite: http.SameSiteLaxMode})
}

type signupData struct {
	Login string
}

func (h *handler) signupForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "signup", view{Title: "signup.title", Nav: "signup", Data: signupData{}})
}

// signUpForm is what the sign-up form sends.
type signUpForm struct {
	Login, Secret string
}

// parseSignUpForm reads the sign-up form: the secret typed twice must be the same; the
// domain judges the rest.
func parseSignUpForm(r *http.Request) (signUpForm, error) {
	f := signUpForm{Login: r.PostFormValue("login"), Secret: r.PostFormValue("secret")}
	if f.Secret != r.PostFormValue("secret2") {
		return f, errors.New("signup.mismatch")
	}
	return f, nil
}

func (h *handler) signup(w http.ResponseWriter, r *http.Request) {
	f, err := parseSignUpForm(r)
	data := signupData{Login: f.Login}
	bad := func(status int, msg string) {
		h.render(w, r, status, "signup", view{Title: "signup.title", Error: h.t(r, msg), Data: data})
	}
	if err != nil {
		bad(http.StatusUnprocessableEntity, err.Error())
		return
	}
	var locked *account.LockedError
	err = h.accounts.TakeSignUp(r.Context(), h.clientIP(r))
	var o *vault.Owner
	if err == nil {
		o, err = h.accounts.CreateAccount(r.Context(), f.Login, f.Secret, h.actor(r))
	}
	switch {
	case errors.As(err, &locked):
		bad(http.StatusTooManyRequests, "signup.toomany")
	case errors.Is(err, account.ErrBadLogin):
		bad(http.StatusUnprocessableEntity, "signup.badlogin")
	case errors.Is(err, vault.ErrLoginTaken):
		bad(http.StatusConflict, "signup.taken")
	case errors.Is(err, account.ErrSecretTooShort):
		bad(http.StatusUnprocessableEntity, "secret.short")
	case errors.Is(err, account.ErrSecretCommon):
		bad(http.StatusUnprocessableEntity, "secret.common")
	case errors.Is(err, account.ErrSecretHasLogin):
		bad(http.StatusUnprocessableEntity, "secret.haslogin")
	case err != nil:
		h.serverError(w, r, err)
	default:
		if lang := requestLanguage(r); lang != "fr" {
			// The language only spares them choosing it again: the login goes on.
			if err := h.accounts.SetLanguage(r.Context(), o.ID, lang); err != nil {
				h.log.WarnContext(r.Context(), "keep the login's language", "err", err)
			}
		}
		h.startSession(w, r, o, "secret")
	}
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	ev := vault.Event{Actor: h.actor(r), Action: account.ActionLogout}
	if err := h.vault.Record(r.Context(), h.ownerID(r), ev); err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.accounts.EndSession(r.Context(), stateOf(r).token); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.personLeft(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// languagePage is the language chooser the footer of every page leads to.
func (h *handler) languagePage(w http.ResponseWriter, r *http.Request) {
	v := view{Title: "lang.title"}
	h.render(w, r, http.StatusOK, "language", v)
}

// language switches the language from any page (a link, so that it works without a
// form); signed-in owners change it for good in Mon compte.
func (h *handler) language(w http.ResponseWriter, r *http.Request) {
	lang := chi.URLParam(r, "lang")
	if !validLanguage(lang) {
		h.notFound(w, r)
		return
	}
	h.setLangCookie(w, lang)
	back := r.URL.Query().Get("retour")
	if u, err := url.Parse(back); err != nil || back == "" || !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.Contains(back, "\\") || u.Host != "" {
		back = "/"
	}
	// Chosen from a page of the desk, by the agent, it is the desk's language from now
	// on; chosen by a person at the desk (on the sign-in page, say), it is only theirs.
	if h.atDesk(r) && stateOf(r).session == nil && (back == "/agent" || strings.HasPrefix(back, "/agent/")) {
		h.markDesk(w, lang)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (h *handler) help(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "help", view{Title: "help.title", Nav: "help"})
}
