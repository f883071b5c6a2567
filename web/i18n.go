package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"coffre/vault/i18n"
)

// The words of the pages come from coffre/vault/i18n; these are the web's names for it.
var languages = i18n.Languages //nolint:gochecknoglobals // fixed at build time

// catalogue gives the templates and handlers the words of each language.
type catalogue struct{}

func loadCatalogue() catalogue { return catalogue{} }

// text is the message id in lang, each text inserted into the sentence (a paper's
// title, a person's or a structure's name, a link's purpose) isolated where its direction
// would upset the sentence's (i18n.Isolated).
func (catalogue) text(lang, id string, args ...any) string {
	return i18n.Isolated(lang, id, args...)
}

// forScript is the message id in lang for a page's script to complete: its placeholder
// holds "{}", not isolated, for the script puts a number there that must stay by its
// sign on a right-to-left page too (« 42 % », "42%", "۴۲٪").
func (catalogue) forScript(lang, id string) string { return i18n.Text(lang, id, "{}") }

// has tells whether the French catalogue, the complete one, has the message id.
func (catalogue) has(id string) bool { return i18n.Has(id) }

func localeOf(code string) i18n.Locale { return i18n.LocaleOf(code) }

// requestLanguage picks the language: the "lang" cookie (set at sign-in from the
// account's choice, and by the language chooser), then the browser's Accept-Language,
// then French.
func requestLanguage(r *http.Request) string {
	if c, err := r.Cookie("lang"); err == nil && validLanguage(c.Value) {
		return c.Value
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}

// acceptLanguage picks the language the browser prefers most among those offered
// (quality values honoured, ties in the header's order): a full tag first ("fa-AF"),
// else its main language ("pt-BR" is Portuguese, "fa" is Dari: Persian read in
// Afghanistan, the nearest offered), else French.
func acceptLanguage(header string) string {
	type choice struct {
		lang string
		q    float64
	}
	var choices []choice
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(part, ";")
		tag := strings.TrimSpace(fields[0])
		q := 1.0
		for _, p := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		if lang := matchLanguage(tag); lang != "" && q > 0 {
			choices = append(choices, choice{lang, q})
		}
	}
	sort.SliceStable(choices, func(i, j int) bool { return choices[i].q > choices[j].q })
	if len(choices) > 0 {
		return choices[0].lang
	}
	return "fr"
}

// matchLanguage returns the offered language a BCP 47 tag asks for, or "".
func matchLanguage(tag string) string {
	for _, l := range languages {
		if strings.EqualFold(l, tag) {
			return l
		}
	}
	main, _, _ := strings.Cut(strings.ToLower(tag), "-")
	if main == "prs" { // Dari's own code
		main = "fa"
	}
	for _, l := range languages {
		if m, _, _ := strings.Cut(strings.ToLower(l), "-"); m == main {
			return l
		}
	}
	return ""
}

// validLanguage tells whether l is the exact code of an offered language.
func validLanguage(l string) bool { return i18n.Valid(l) }

// languageChoice is one entry of the language chooser.
type languageChoice struct {
	i18n.Locale
	Current bool
}

// languageChoices lists the offered languages for the chooser, current one marked.
func languageChoices(current string) []languageChoice {
	out := make([]languageChoice, 0, len(languages))
	for _, code := range languages {
		out = append(out, languageChoice{Locale: localeOf(code), Current: code == current})
	}
	return out
}
