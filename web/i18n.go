package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The catalogues: message ID → text, one JSON file per language. French is complete and
// is the fallback; English proves the mechanism. Texts are fmt formats when the caller
// passes arguments.
//
//go:embed i18n/*.json
var catalogueFiles embed.FS

// languages are the ones a person may choose, French first.
var languages = []string{"fr", "en"} //nolint:gochecknoglobals // a constant list

type catalogue map[string]map[string]string

func loadCatalogue() catalogue {
	c := catalogue{}
	for _, l := range languages {
		b, err := catalogueFiles.ReadFile("i18n/" + l + ".json")
		if err != nil {
			panic(fmt.Sprintf("web: catalogue %s: %v", l, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("web: catalogue %s: %v", l, err))
		}
		c[l] = m
	}
	return c
}

// text returns the message id in lang, falling back to French, then to the ID itself (a
// missing text shows as its ID in tests rather than as nothing).
func (c catalogue) text(lang, id string, args ...any) string {
	s, ok := c[lang][id]
	if !ok {
		if s, ok = c["fr"][id]; !ok {
			s = id
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// has tells whether the French catalogue, the complete one, has the message id.
func (c catalogue) has(id string) bool {
	_, ok := c["fr"][id]
	return ok
}

// requestLanguage picks the language: the "lang" cookie (set at sign-in from the
// account's choice, and by the language links), then the browser's Accept-Language,
// then French.
func requestLanguage(r *http.Request) string {
	if c, err := r.Cookie("lang"); err == nil && validLanguage(c.Value) {
		return c.Value
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		tag = strings.SplitN(tag, "-", 2)[0]
		if validLanguage(tag) {
			return tag
		}
	}
	return "fr"
}

func validLanguage(l string) bool {
	for _, x := range languages {
		if x == l {
			return true
		}
	}
	return false
}
