package web

import "strings"

// A device on « Mon compte » is named by its browser and its system in plain words
// (« Chrome sur Linux », « Safari sur iPhone »), read from the description the browser
// gave when it signed in (its User-Agent), which means nothing to most people.
// account.DeviceFamily reduces the same description for the new-device notice; it is
// kept apart because what it stores must not change when a name here gets better.

// uaName is one row of a table: the name said when the description holds one of marks.
type uaName struct {
	name  string
	marks []string
}

// uaSystems are tried in order: the first that matches names the system. Android
// phones say "Linux" too, iPads "Mac OS X", and KaiOS phones "Android".
var uaSystems = []uaName{ //nolint:gochecknoglobals // a constant table
	{"KaiOS", []string{"KAIOS", "KaiOS"}},
	{"iPhone", []string{"iPhone", "iPod"}},
	{"iPad", []string{"iPad"}},
	{"Android", []string{"Android"}},
	{"ChromeOS", []string{"CrOS"}},
	{"Windows", []string{"Windows"}},
	{"Mac", []string{"Macintosh", "Mac OS X"}},
	{"Linux", []string{"Linux", "X11"}},
}

// uaBrowsers are tried in order: browsers built on Chrome or Safari say "Chrome" or
// "Safari" too, so they come first.
var uaBrowsers = []uaName{ //nolint:gochecknoglobals // a constant table
	{"Edge", []string{"Edg/", "EdgA/", "EdgiOS/", "Edge/"}},
	{"Opera", []string{"OPR/", "OPiOS/", "OPT/", "Opera"}},
	{"Samsung Internet", []string{"SamsungBrowser/"}},
	{"Yandex", []string{"YaBrowser/"}},
	{"UC Browser", []string{"UCBrowser/"}},
	{"Firefox", []string{"Firefox/", "FxiOS/"}},
	{"Chromium", []string{"Chromium/"}},
	{"Chrome", []string{"CriOS/", "Chrome/"}},
	{"Safari", []string{"Safari/"}},
}

func uaLookup(table []uaName, userAgent string) string {
	for _, row := range table {
		for _, m := range row.marks {
			if strings.Contains(userAgent, m) {
				return row.name
			}
		}
	}
	return ""
}

// parseDevice returns the browser and the system a User-Agent names; "" for what it
// does not know.
func parseDevice(userAgent string) (browser, system string) {
	return uaLookup(uaBrowsers, userAgent), uaLookup(uaSystems, userAgent)
}

// deviceName is the plain name of the device that gave userAgent, in lang: « Chrome
// sur Linux », « Firefox », « Navigateur inconnu sur iPhone », « Navigateur inconnu »;
// "" when it gave no description at all.
func (c catalogue) deviceName(lang, userAgent string) string {
	if strings.TrimSpace(userAgent) == "" {
		return ""
	}
	browser, system := parseDevice(userAgent)
	if browser == "" {
		browser = c.text(lang, "account.unknownbrowser")
	}
	if system == "" {
		return browser
	}
	return c.text(lang, "account.devicename", browser, system)
}
