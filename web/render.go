package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"coffre/vault"
	"coffre/vault/account"
)

//go:embed templates
var templateFiles embed.FS

// pages holds every page's template, parsed at start once per language so that the
// translation function is bound at parse time. The reader's time zone is not bound: each
// page gives it to the date functions (view.Zone), so that a zone costs no templates.
type pages struct {
	cat  catalogue
	sets map[string]map[string]*template.Template // language → page → template
}

func parsePages(a *assets) *pages {
	p := &pages{cat: loadCatalogue(), sets: map[string]map[string]*template.Template{}}
	for _, lang := range languages {
		p.sets[lang] = p.parse(a, lang)
	}
	return p
}

func (p *pages) parse(a *assets, lang string) map[string]*template.Template {
	files, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	loc := localeOf(lang)
	funcs := template.FuncMap{
		"t": func(id string, args ...any) string { return p.cat.text(lang, id, args...) },
		// tfr is a text in French whatever the page's language: a legal text that
		// must stay in French (the mandate's consent), shown with its translation.
		"tfr": func(id string, args ...any) string { return p.cat.text("fr", id, args...) },
		// tin is a text in another language than the page's (a consent translated
		// into the person's), langdir its direction.
		"tin":     func(l, id string, args ...any) string { return p.cat.text(l, id, args...) },
		"langdir": func(l string) string { return localeOf(l).Dir() },
		"icon":    a.icon,
		"asset":   a.url,
		"kind":    func(k vault.Kind) string { return p.cat.text(lang, "kind."+string(k)) },
		// date is the day of t in the reader's time zone (view.Zone): an instant (when a
		// paper was added) late in the evening in Martinique is the next day in Paris; a
		// calendar day (midnight UTC) stays its day (localDay).
		"date": func(zone *time.Location, t *time.Time) string {
			if t == nil {
				return ""
			}
			return loc.Date(localDay(*t, orParis(zone)))
		},
		"datetime":  func(zone *time.Location, t time.Time) string { return loc.DateTime(t.In(orParis(zone))) },
		"clock":     func(zone *time.Location, t time.Time) string { return loc.Clock(t.In(orParis(zone))) },
		"num":       func(n int) string { return loc.Digits(strconv.Itoa(n)) },
		"dir":       loc.Dir,
		"languages": func() []languageChoice { return languageChoices(lang) },
		"isodate": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.Format(time.DateOnly)
		},
		"kinds":    func() []vault.Kind { return vault.Kinds },
		"kindIcon": kindIcon,
		"ptr":      func(t time.Time) *time.Time { return &t },
		"list":     func(s ...string) []string { return s },
		"inc":      func(i int) int { return i + 1 },
		// tjs and digits are for a page's script: a message whose "{}" it fills, and
		// the language's digits from 0 to 9.
		"tjs":    func(id string) string { return p.cat.forScript(lang, id) },
		"digits": func() string { return loc.Digits("0123456789") },
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html"))
	set := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		set[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFiles, f))
	}
	return set
}

// kindIcon is the pictogram of each kind of paper.
func kindIcon(k vault.Kind) string {
	switch k {
	case vault.KindIdentite:
		return "user-line"
	case vault.KindTitreSejour:
		return "passport-line"
	case vault.KindDomicile:
		return "home-4-line"
	case vault.KindRessources:
		return "money-euro-circle-line"
	case vault.KindImpots:
		return "government-line"
	case vault.KindCAF:
		return "parent-line"
	case vault.KindFranceTravail:
		return "briefcase-line"
	case vault.KindSante:
		return "heart-pulse-line"
	case vault.KindFamille:
		return "account-circle-line"
	case vault.KindLogement:
		return "building-line"
	case vault.KindBanque:
		return "bank-line"
	}
	return "file-text-line"
}

// view is what every page template receives.
type view struct {
	Lang     string
	Zone     *time.Location // the reader's time: every date template function is given it
	Title    string         // a message ID
	LoggedIn bool
	Login    string
	CSRF     string // masked for this response (maskCSRF)
	Nav      string // the current section, for aria-current
	Error    string // one translated sentence
	Notice   string // one translated sentence
	Path     string
	Passkeys bool // passkeys are configured (Config.BaseURL)
	OpenID   bool // FranceConnect is configured
	// Shutdown is the announced end of the service, shown to signed-in owners (export.go).
	Shutdown *vault.Notice
	// Aidants tells, on the papers and account pages, of mandates waiting for the owner
	// or ending soon (agent_consent.go).
	Aidants *aidantNotice
	// Recovery is a new code an agent asked for after an identity check, shown with its
	// cancel button on every page of the owner until it works (agent_owner.go).
	Recovery *account.PendingRecovery
	// DeskEnds is when the session of a person signed in on an agent's browser ends at
	// the latest, told on each of their pages (agent.go, handOver).
	DeskEnds *time.Time
	// AtDesk tells a page served on a browser an agent signed in on: no passkey is
	// offered there, nor a secret to save.
	AtDesk bool
	Data   any
}

// render writes a page. Pages that show a person's data are never cached.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	st := stateOf(r)
	v.Lang = requestLanguage(r)
	v.CSRF = maskCSRF(st.csrf)
	v.LoggedIn = st.session != nil
	v.Path = r.URL.Path
	v.Passkeys = h.wa != nil
	v.OpenID = h.oidc != nil
	v.AtDesk = h.atDesk(r)
	if st.owner != nil {
		v.Shutdown = h.shutdownNotice(r.Context())
		v.Login = st.owner.Login
		v.Recovery = h.pendingRecovery(r.Context(), st.owner.ID)
		if st.session != nil && v.AtDesk {
			v.DeskEnds = &st.session.ExpiresAt
		}
		if h.share != nil && (v.Path == "/papiers" || v.Path == "/compte") {
			v.Aidants = h.aidantNotices(r.Context(), st.owner.ID)
		}
	}
	v.Zone = account.Location(h.requestZone(r))
	t, ok := h.pages.sets[v.Lang][page]
	if !ok {
		h.log.ErrorContext(r.Context(), "no such page template", "page", page)
		http.Error(w, h.t(r, "error.internal"), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.ErrorContext(r.Context(), "render page", "page", page, "err", err)
		http.Error(w, h.t(r, "error.internal"), http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client has gone: nothing left to tell it
}

// fail shows an error page: one sentence saying what happened and what to do.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, msgID string) {
	h.render(w, r, status, "error", view{Title: "error.title", Error: h.t(r, msgID)})
}

// serverError logs err and shows the generic sentence: nothing internal reaches the page.
// Too many secrets checked at once in this process (account.ErrBusy) is no failure: the
// person is asked to try again (503).
func (h *handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, account.ErrBusy) {
		h.log.WarnContext(r.Context(), "request refused: secret checks busy", "method", r.Method, "route", routePattern(r))
		w.Header().Set("Retry-After", "60")
		h.failJSONOrPage(w, r, http.StatusServiceUnavailable, "error.busy")
		return
	}
	// The route pattern, not the path: a share link's path is its capability.
	h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", routePattern(r), "err", err)
	h.fail(w, r, http.StatusInternalServerError, "error.internal")
}

// t translates a message for the request's language.
func (h *handler) t(r *http.Request, id string, args ...any) string {
	return h.pages.cat.text(requestLanguage(r), id, args...)
}

func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		return rc.RoutePattern()
	}
	return ""
}
