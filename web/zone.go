package web

import (
	"net/http"
	"strings"
	"time"

	"coffre/vault/account"
)

// A page gives its dates and hours in the time of the place the reader lives in, one of
// account.TimeZones: the person's choice (Mon compte), else their device's, else
// metropolitan France's. Overseas, Paris's hours are off by up to twelve, and a paper
// added in the evening in Martinique was dated the next day.

// zoneCookie holds the device's time zone, as zone.js reads it from the browser: a plain
// preference, like the language's, that the server checks against account.TimeZones.
// Over TLS it is __Host-tz (cookieName), which a neighbouring subdomain cannot plant: the
// zone kept at sign-in dates the person's security messages.
const zoneCookie = "tz"

// zoneAliases are the other names a device may give to the offered zones.
var zoneAliases = map[string]string{ //nolint:gochecknoglobals // a constant table
	"America/Marigot":       "America/Guadeloupe", // Saint-Martin
	"America/St_Barthelemy": "America/Guadeloupe",
}

// deviceZone is the zone r's browser said it is in, if it is one Coffre offers.
func (h *handler) deviceZone(r *http.Request) string {
	c, err := r.Cookie(h.cookieName(zoneCookie))
	if err != nil {
		return ""
	}
	name := strings.TrimSpace(c.Value)
	if alias, ok := zoneAliases[name]; ok {
		name = alias
	}
	if !account.ValidTimeZone(name) {
		return ""
	}
	return name
}

// requestZone is the name of the zone r's page gives its hours in.
func (h *handler) requestZone(r *http.Request) string {
	if st := stateOf(r); st.session != nil && st.session.TimeZone != "" {
		return st.session.TimeZone
	}
	if z := h.deviceZone(r); z != "" {
		return z
	}
	return account.Paris
}

// localNow is the time now in r's reader's time.
func (h *handler) localNow(r *http.Request) time.Time {
	return h.now().In(account.Location(h.requestZone(r)))
}

// personZone is the time a paper printed at a desk for a person gives its hours in: the
// person's, else the desk's (its browser's), else Paris's.
func (h *handler) personZone(r *http.Request, a *account.Account) *time.Location {
	if a != nil && a.TimeZone != "" {
		return account.Location(a.TimeZone)
	}
	return account.Location(h.requestZone(r))
}

// reader is who a page is written for: their language and their time.
type reader struct {
	lang string
	zone *time.Location
}

func (h *handler) readerOf(r *http.Request) reader {
	return reader{lang: requestLanguage(r), zone: account.Location(h.requestZone(r))}
}

// orParis is zone, or Paris's for a view that was given none: a date is never a reason
// for a page to fail.
func orParis(zone *time.Location) *time.Location {
	if zone == nil {
		return account.Location(account.Paris)
	}
	return zone
}

// localDay is t in zone, unless t is a calendar day (midnight UTC, as PostgreSQL gives a
// date: a paper's expiry): that day is the same everywhere, where converting it would
// give the evening before west of Greenwich.
func localDay(t time.Time, zone *time.Location) time.Time {
	if t.Location() == time.UTC && t.Equal(t.Truncate(24*time.Hour)) {
		return t
	}
	return t.In(zone)
}

// zoneChoice is one place of Mon compte's choice of time.
type zoneChoice struct {
	Name    string // the IANA name, the form's value
	Label   string // a catalogue ID
	Clock   string // the time it is there, in the page's language
	Current bool
}

// zoneChoices lists the places whose time a person may choose, with the time it is there:
// a person who does not know the name of their zone knows the time on their phone.
func zoneChoices(lang, current string, now time.Time) []zoneChoice {
	if current == "" {
		current = account.Paris
	}
	loc := localeOf(lang)
	out := make([]zoneChoice, len(account.TimeZones))
	for i, name := range account.TimeZones {
		out[i] = zoneChoice{Name: name, Label: account.TimeZoneLabel(name), Clock: loc.Clock(now.In(account.Location(name))), Current: name == current}
	}
	return out
}
