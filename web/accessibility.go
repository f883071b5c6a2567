package web

import (
	"net/http"
	"time"
)

// The accessibility statement (« Déclaration d'accessibilité »), which the law (article
// 47 of law 2005-102, RGAA 4.1) asks every public service online to publish and to link
// from every page: its state of conformity, the criteria checked and how, what is left,
// the date of the check, the technologies, a means of contact and the recourse to the
// Défenseur des droits, in the order of the RGAA's model.

// a11yChecked is the day the criteria listed on the page were last checked (the tests
// TestBrowser, TestBrowserKeyboard, TestBrowserReflow and TestBrowserListen, and a
// review of the templates): change it with the page when they are checked again.
var a11yChecked = time.Date(2026, time.November, 29, 0, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // a constant date

// accessibilityView is what the statement shows besides its texts.
type accessibilityView struct {
	Checked time.Time
	Site    string // the address the statement applies to (Config.BaseURL); "" when not set
	Contact string // how to reach the service's team (Config.Contact); "" when not set
}

func (h *handler) accessibility(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "accessibility", view{Title: "a11y.title",
		Data: accessibilityView{Checked: a11yChecked, Site: h.cfg.BaseURL, Contact: h.cfg.Contact}})
}
