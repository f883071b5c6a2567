package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// Aidants at the desk: an agent of a CCAS, France Services or association signs in with
// a login, a password and a code of their authenticator app, under /agent, with a cookie
// of their own (an owner's session and an agent's never mix). Whether they may reach a
// person's safe at all, and what they may do in it, is decided by the domain
// (sharing.Authorize) on every request to /agent/personnes/{owner}/… (agentActing,
// agent_reach.go) and on every login lookup; a refusal is the same "not found" page as a
// missing safe or paper.

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

// At a desk, a person with no phone of their own signs in on the agent's computer, to
// choose their secret or look at their papers with the agent. Their session must not stay
// behind in the agent's browser: whoever used it next would have their whole safe, beyond
// any mandate. So a browser an agent signed in on carries a mark of the desk
// (deskCookie), kept when the agent signs out; a session opened there is short
// (deskSessionLength), says so on every page (view.DeskEnds), and ends as soon as any page
// of the desk is used there again (handOver); no passkey is registered there (passkey.go).

// deskCookie marks a browser an agent signed in on, for a year: it outlives the agent's
// session, which ends on sign-out, after 15 idle minutes, or with the browser. Its value
// is no secret: the desk's language, kept when the agent signs in and when they choose a
// language from a page of the desk. A person's sign-in there sets their own; the desk's
// is given back when their session ends, whichever way (deskLanguageBack).
const deskCookie = "coffre_guichet"

// markDesk marks this browser as a desk's whose pages are in lang.
func (h *handler) markDesk(w http.ResponseWriter, lang string) {
	h.setCookie(w, deskCookie, lang, 365*24*3600)
}

// deskLanguage is the language the desk keeps, "" if none.
func (h *handler) deskLanguage(r *http.Request) string {
	if c, err := r.Cookie(h.cookieName(deskCookie)); err == nil && validLanguage(c.Value) {
		return c.Value
	}
	return ""
}

// deskLanguageBack gives the desk its language back as a person's session there ends:
// the agent's pages and the next visitor's sign-in page are not in the person's.
func (h *handler) deskLanguageBack(w http.ResponseWriter, r *http.Request) {
	if lang := h.deskLanguage(r); lang != "" {
		h.setLangCookie(w, lang)
	}
}

// personLeft tells the browser that the session of the person signed in on it has ended,
// whichever way (a sign-out, « everywhere », a session that ran out, a safe closed, the
// agent taking their computer back): the person's cookie goes, and so does a
// téléservice's request waiting for them (it must not pass to the next person at a
// desk), and a desk gets its language back. A desk's browser is also told to empty its
// cache (Clear-Site-Data: "cache"; Chromium and Safari drop with it the pages kept for
// the Back button): nothing of the person's stays there for the next one. Neither
// "cookies" nor "storage": the agent stays signed in. Elsewhere the cache is left alone:
// the person's pages are in no cache (no-store), and Chromium can hold a response
// seconds while it empties one, which every sign-out would wait for.
func (h *handler) personLeft(w http.ResponseWriter, r *http.Request) {
	h.setCookie(w, "coffre", "", -1)
	h.setCookie(w, returnCookie, "", -1)
	h.deskLanguageBack(w, r)
	if h.atDesk(r) {
		clearCache(w)
	}
}

// clearCache tells a desk's browser to empty its cache (see personLeft).
func clearCache(w http.ResponseWriter) {
	w.Header().Set("Clear-Site-Data", `"cache"`)
}

// deskSessionLength is the longest a person's session opened on an agent's browser lasts:
// enough to choose a secret and go through one's papers with the agent.
const deskSessionLength = 15 * time.Minute

// atDesk tells whether r comes from a browser an agent signed in on.
func (h *handler) atDesk(r *http.Request) bool {
	for _, name := range []string{deskCookie, agentCookie} {
		if c, err := r.Cookie(h.cookieName(name)); err == nil && c.Value != "" {
			return true
		}
	}
	return false
}

// sessionLength is how long a session opened by r may last.
func (h *handler) sessionLength(r *http.Request) time.Duration {
	if h.atDesk(r) {
		return min(h.cfg.AbsoluteTimeout, deskSessionLength)
	}
	return h.cfg.AbsoluteTimeout
}

// handOver ends the session of a person signed in on an agent's browser before any page
// of the desk is served there: the agent takes their computer back, and the page comes
// again, in the desk's language. On anyone else's
// browser a page of the desk changes nothing, so that a link to one cannot sign a person
// out; an agent who signs in on a browser where a person is signed in signs them out
// (startAgentSession). A page the browser only fetches ahead (prefetch, prerender) ends
// nothing, and is not given: the agent's own visit will be.
func (h *handler) handOver(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.atDesk(r) && stateOf(r).session != nil {
			if speculative(r) {
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if err := h.signOutPerson(w, r); err != nil {
				h.serverError(w, r, err)
				return
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, r.URL.RequestURI(), http.StatusSeeOther)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// speculative tells a request the browser sends ahead of the person (Sec-Purpose, or
// Purpose in older browsers: prefetch, prerender).
func speculative(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Sec-Purpose"), "prefetch") || r.Header.Get("Purpose") == "prefetch"
}

// signOutPerson ends the session of the person signed in on this browser, if any. The
// forms of the page served get a new CSRF token, the person's being gone: derived from
// the ended session's token (preAfter), so that pages of the desk loaded at once agree
// on it.
func (h *handler) signOutPerson(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	if st.session == nil {
		return nil
	}
	if err := h.accounts.EndSession(r.Context(), st.token); err != nil {
		return err
	}
	h.personLeft(w, r)
	// The browser becomes a desk now, if it was not one: the person's pages go from its
	// cache as at any desk.
	clearCache(w)
	st.session, st.owner = nil, nil
	st.token = preAfter(st.token)
	st.csrf = csrfToken(st.token)
	h.setCookie(w, "coffre_pre", st.token, 0)
	return nil
}

// startAgentSession signs out the person signed in on this browser, if any, and sets the
// agent's cookie and the mark of the desk.
func (h *handler) startAgentSession(w http.ResponseWriter, r *http.Request, token string) error {
	// The desk's language: the one it kept, given back if a person was signed in here,
	// else the page's.
	lang := h.deskLanguage(r)
	if stateOf(r).session == nil || lang == "" {
		lang = requestLanguage(r)
	}
	if err := h.signOutPerson(w, r); err != nil {
		return err
	}
	h.setCookie(w, agentCookie, token, 0)
	h.markDesk(w, lang)
	return nil
}

// agentFrame is what every page of the desk shows around its content: the agent's name
// and structure (the "agentbar" of layout.html) and the ProConnect links. Each page's view
// embeds it; renderAgent fills it.
type agentFrame struct {
	Agent      *sharing.Agent
	ProConnect bool
}

func (f *agentFrame) frame() *agentFrame { return f }

// agentPage is the view of a page of the desk: a struct embedding agentFrame, passed by
// pointer.
type agentPage interface{ frame() *agentFrame }

// renderAgent renders an agent page with the agent's name for its header; data nil is a
// page with nothing but the frame.
func (h *handler) renderAgent(w http.ResponseWriter, r *http.Request, status int, page string, v view, data agentPage) {
	if data == nil {
		data = &agentFrame{}
	}
	f := data.frame()
	if as := agentOf(r); as != nil {
		f.Agent = as.Agent
	}
	f.ProConnect = h.proc != nil
	v.Data = data
	h.render(w, r, status, page, v)
}

// agentLoginView is the agents' sign-in page.
type agentLoginView struct {
	Login      string
	ProConnect bool
}

// agentSignInForm is what the agents' sign-in form sends.
type agentSignInForm struct {
	Login, Password, Code string
}

// parseAgentSignInForm reads the agents' sign-in form; the domain checks everything.
func parseAgentSignInForm(r *http.Request) agentSignInForm {
	return agentSignInForm{Login: r.PostFormValue("login"), Password: r.PostFormValue("password"), Code: r.PostFormValue("code")}
}

func (h *handler) agentLoginForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "agent_login", view{Title: "agent.login.title", Data: agentLoginView{ProConnect: h.proc != nil}})
}

func (h *handler) agentLogin(w http.ResponseWriter, r *http.Request) {
	f := parseAgentSignInForm(r)
	again := func(status int, msg string) {
		h.render(w, r, status, "agent_login", view{Title: "agent.login.title", Error: h.t(r, msg), Data: agentLoginView{Login: f.Login, ProConnect: h.proc != nil}})
	}
	a, err := h.share.AuthenticateAgent(r.Context(), f.Login, f.Password, f.Code, h.clientIP(r))
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

func (h *handler) agentLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(h.cookieName(agentCookie)); err == nil {
		if err := h.share.EndAgentSession(r.Context(), c.Value); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.setCookie(w, agentCookie, "", -1)
	clearCache(w) // the agent's pages showed people's papers
	http.Redirect(w, r, "/agent/connexion", http.StatusSeeOther)
}

func (h *handler) agentPasswordForm(w http.ResponseWriter, r *http.Request) {
	h.renderAgent(w, r, http.StatusOK, "agent_password", view{Title: "agent.password.title"}, nil)
}

// agentNewPasswordForm is what the agent's new password form sends.
type agentNewPasswordForm struct {
	Current, Next string
}

// parseAgentPasswordForm reads the new password form: the new password typed twice must
// match (the domain checks the rest).
func parseAgentPasswordForm(r *http.Request) (agentNewPasswordForm, error) {
	f := agentNewPasswordForm{Current: r.PostFormValue("current"), Next: r.PostFormValue("password")}
	if f.Next != r.PostFormValue("password2") {
		return f, errors.New("signup.mismatch")
	}
	return f, nil
}

func (h *handler) agentPassword(w http.ResponseWriter, r *http.Request) {
	bad := func(msg string) {
		h.renderAgent(w, r, http.StatusUnprocessableEntity, "agent_password", view{Title: "agent.password.title", Error: h.t(r, msg)}, nil)
	}
	f, err := parseAgentPasswordForm(r)
	if err != nil {
		bad(err.Error())
		return
	}
	err = h.share.ChangeAgentPassword(r.Context(), agentOf(r).Agent, f.Current, f.Next)
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

// agentHomeView is the agent's home: the people their structure helps.
type agentHomeView struct {
	agentFrame
	People []mandateItem
	// Find is the login typed in the find form, shown again when it found nothing.
	Find string
}

func (h *handler) agentHome(w http.ResponseWriter, r *http.Request) {
	v := view{Title: "agent.home.title"}
	if r.URL.Query().Get("arrete") == "1" {
		v.Notice = h.t(r, "agent.revoke.done")
	}
	h.renderAgentHome(w, r, http.StatusOK, v, "")
}

// renderAgentHome shows the desk's home: the find form (with find typed in it) and the
// people the structure helps.
func (h *handler) renderAgentHome(w http.ResponseWriter, r *http.Request, status int, v view, find string) {
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
	h.renderAgent(w, r, status, "agent_home", v, &agentHomeView{People: items, Find: find})
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
		h.renderAgent(w, r, http.StatusForbidden, "agent_reverify", view{Title: "agent.reverify.title"}, &agentReverifyView{Back: r.URL.Path})
	})
}

// agentReverifyView is the form asking an agent for their password and code again,
// and the page it goes back to.
type agentReverifyView struct {
	agentFrame
	Back string
}

// agentReverifyForm is what the reverify form sends.
type agentReverifyForm struct {
	Back, Password, Code string
}

// parseAgentReverifyForm reads the reverify form; a page to go back to that is not one
// of the desk's is the desk's home.
func parseAgentReverifyForm(r *http.Request) agentReverifyForm {
	f := agentReverifyForm{Back: r.PostFormValue("retour"), Password: r.PostFormValue("password"), Code: r.PostFormValue("code")}
	if !strings.HasPrefix(f.Back, "/agent/") || strings.HasPrefix(f.Back, "//") || strings.Contains(f.Back, "\\") {
		f.Back = "/agent"
	}
	return f
}

// agentReverify checks the agent's password and code again, then goes back to the form
// of the action that asked.
func (h *handler) agentReverify(w http.ResponseWriter, r *http.Request) {
	f := parseAgentReverifyForm(r)
	err := h.share.Reverify(r.Context(), agentOf(r), f.Password, f.Code, h.clientIP(r))
	again := func(status int, msg string) {
		h.renderAgent(w, r, status, "agent_reverify", view{Title: "agent.reverify.title", Error: h.t(r, msg)}, &agentReverifyView{Back: f.Back})
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
		http.Redirect(w, r, f.Back, http.StatusSeeOther)
	}
}
