// Package i18n holds the words of Coffre in every language it speaks, for the pages
// (coffre/web) and for what Coffre sends or prints (messages outside the app: notify).
//
// One catalogue file per language, <code>.json beside this file: message ID → text,
// a fmt format when the caller passes arguments. French is complete and is the
// fallback. The languages offered are those whose file is present, in the order of the
// table of locales (locale.go), which tells each language's name in its own script, its
// direction, and how it writes dates and numbers.
//
// French is written as French printers write it, so that a sign never starts a line on a
// narrow phone: U+00A0 (no-break space) before « : », inside « … », between a number and
// its unit; U+202F (narrow no-break space) before « ; ! ? ». fr.json writes them \u00a0
// and \u202f, to be seen; TestFrenchSpaces fails on a plain space there. A text message
// takes them out (ForSMS). Signs written between messages (a label and its value, a
// quoted title) are messages too: site.colon, site.quoted. French written outside the
// catalogues (the export's LISEZMOI.txt, ingest's sentences, the demo téléservice)
// follows the same rule, checked by the same function (FrenchSpaceFaults).
//
// What goes out as a text message (notify.* but the subjects and the e-mail's footer,
// reminder.subject.*, share.message*) keeps, in French and English, to the GSM 03.38
// alphabet once through ForSMS: one letter outside it (ê, ô, î, â, ç, œ, “…) sends the
// whole message in UCS-2, 70 characters a part instead of 160. French says it in other
// words (« se termine », not « s'arrête »); TestSMSAlphabet walks those messages.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

//go:embed *.json
var files embed.FS

// Languages are the codes of the languages offered, French first: those of the table of
// locales that have a catalogue file.
var Languages = presentLanguages(files) //nolint:gochecknoglobals // fixed at build time

// texts are the catalogues, language → message ID → text.
var texts = load(files, Languages) //nolint:gochecknoglobals // fixed at build time

// Files are the catalogue files, for the tests that check them.
func Files() fs.FS { return files }

// presentLanguages lists the languages of the table that have a catalogue file in fsys.
// A file of a language Coffre has no locale for is a mistake made when adding it: start
// fails rather than show a language with no name, direction or dates.
func presentLanguages(fsys fs.FS) []string {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		panic(err)
	}
	present := map[string]bool{}
	for _, n := range names {
		code := strings.TrimSuffix(n, ".json")
		if LocaleOf(code).Code != code {
			panic(fmt.Sprintf("i18n: catalogue %s has no locale in locale.go", n))
		}
		present[code] = true
	}
	var langs []string
	for _, l := range locales {
		if present[l.Code] {
			langs = append(langs, l.Code)
		}
	}
	if len(langs) == 0 || langs[0] != "fr" {
		panic("i18n: no French catalogue")
	}
	return langs
}

func load(fsys fs.FS, langs []string) map[string]map[string]string {
	c := map[string]map[string]string{}
	for _, l := range langs {
		b, err := fs.ReadFile(fsys, l+".json")
		if err != nil {
			panic(fmt.Sprintf("i18n: catalogue %s: %v", l, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("i18n: catalogue %s: %v", l, err))
		}
		c[l] = m
	}
	return c
}

// Text returns the message id in lang, falling back to French, then to the ID itself (a
// missing text shows as its ID in tests rather than as nothing). Integer arguments are
// written with the language's digits.
func Text(lang, id string, args ...any) string {
	return text(texts, lang, id, args...)
}

// Isolated is Text for a page, each string argument that would upset the sentence's
// direction isolated (U+2068…U+2069), once: on a right-to-left page every one (a title in
// Latin letters carries the sentence's quotes and full stop to the wrong end of the line),
// on a left-to-right page one written right to left (an Arabic title's words come in the
// wrong order); others are left as they are (a link's address in a ready-made SMS). A
// placeholder the translator isolated already (many Dari and Pashto messages do) loses
// its own marks first, for Chromium draws a date isolated twice with its digits moved
// ("۰ نومبر … ۳۰۸:۳۳" for "۳۰ نومبر … ۰۸:۳۳"). The arguments' own marks are left whole.
func Isolated(lang, id string, args ...any) string {
	if len(args) == 0 {
		return text(texts, lang, id)
	}
	rtl := LocaleOf(lang).RTL
	isolated := make([]any, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok && s != "" && (rtl || rightToLeft(s)) {
			a = "\u2068" + s + "\u2069"
		}
		isolated[i] = a
	}
	return format(placeholderMarks.Replace(message(texts, lang, id)), lang, isolated)
}

// rightToLeft tells whether s has a letter written right to left.
func rightToLeft(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Arabic, unicode.Hebrew, unicode.Syriac, unicode.Thaana, unicode.Nko) {
			return true
		}
	}
	return false
}

// placeholderMarks takes the marks of isolation off a message's placeholders.
var placeholderMarks = strings.NewReplacer("\u2068%s\u2069", "%s") //nolint:gochecknoglobals // a fixed replacer

func text(c map[string]map[string]string, lang, id string, args ...any) string {
	return format(message(c, lang, id), lang, args)
}

// message is the message id in lang, else in French, else the ID itself.
func message(c map[string]map[string]string, lang, id string) string {
	if s, ok := c[lang][id]; ok {
		return s
	}
	if s, ok := c["fr"][id]; ok {
		return s
	}
	return id
}

// format fills a message's placeholders, integers in the language's digits.
func format(s, lang string, args []any) string {
	if len(args) > 0 {
		return oneFullStop(fmt.Sprintf(s, LocaleOf(lang).localArgs(args)...), args)
	}
	return s
}

// oneFullStop drops the sentence's full stop after an argument that already ends with one:
// a Ukrainian or Russian date ends with "р." or "г.", and "… до %s." must not print "р..".
func oneFullStop(s string, args []any) string {
	for _, a := range args {
		if v, ok := a.(string); ok && strings.HasSuffix(v, ".") && !strings.HasSuffix(v, "..") {
			s = strings.ReplaceAll(s, v+".", v)
		}
	}
	return s
}

// ForSMS is s for a text message: plain spaces for every other space (U+00A0 and
// U+202F, which French puts before « : ; ! ? » and inside « … »; the rest of Unicode's
// Zs), straight quotes for « », “ ” and „, an apostrophe for ‘ and ’, and « aout » for
// « août », its spelling since the 1990 reform (rectifications orthographiques), the one
// word of a French date GSM cannot write. None of these is in the GSM 03.38 alphabet,
// and a single one sends the whole message in UCS-2, 70 characters a part instead of
// 160, which the person and the service pay for: a French or English message then goes
// out in GSM. E-mails and pages keep them.
func ForSMS(s string) string {
	s = strings.Map(func(r rune) rune {
		if r != ' ' && unicode.Is(unicode.Zs, r) {
			return ' '
		}
		return r
	}, s)
	return smsReplacer.Replace(s)
}

// smsReplacer puts GSM's straight quotes for guillemets and curly quotes (and the spaces
// inside guillemets out), and août's 1990 spelling.
var smsReplacer = strings.NewReplacer("« ", `"`, " »", `"`, "«", `"`, "»", `"`, //nolint:gochecknoglobals // a fixed replacer
	"“", `"`, "”", `"`, "„", `"`, "‘", "'", "’", "'", "août", "aout")

// GSMSpelling is s with each letter GSM 03.38 lacks written as the letter under its
// accent (â, ê, î, ô, û, ë, ï, ç, á, ó…: Mâcon → Macon, Besançon → Besancon), œ as oe,
// ł as l, a dash as a hyphen (gsmLetters); the letters GSM has (é, è, à, ù, ñ, ü…) and those of other scripts are kept. It is
// for a name in a text message whose words are GSM's: a single such letter sends the
// whole message in UCS-2, 70 characters a part instead of 160.
func GSMSpelling(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case strings.ContainsRune(gsmBasic, r) || strings.ContainsRune(gsmExtension, r):
			b.WriteRune(r)
		case gsmLetters[r] != "":
			b.WriteString(gsmLetters[r])
		default:
			base := []rune(norm.NFD.String(string(r)))
			if len(base) > 1 && strings.ContainsRune(gsmBasic, base[0]) && !slices.ContainsFunc(base[1:], func(m rune) bool { return !unicode.Is(unicode.Mn, m) }) {
				b.WriteRune(base[0])
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// gsmLetters are the letters without an accent to take off, and the punctuation of
// names, that GSM lacks, with what it writes for them.
var gsmLetters = map[rune]string{ //nolint:gochecknoglobals // a constant table
	'œ': "oe", 'Œ': "OE", 'ł': "l", 'Ł': "L", 'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D", 'ı': "i",
	'þ': "th", 'Þ': "Th", 'ħ': "h", 'Ħ': "H", 'ŋ': "n", 'Ŋ': "N",
	'–': "-", '—': "-", '‐': "-", '‑': "-", '…': "...", '°': "o", '`': "'", '·': ".",
}

// gsmBasic is the default alphabet of GSM 03.38 (3GPP TS 23.038): one septet each.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is its extension table: two septets each (an escape, then the character).
const gsmExtension = "\f^{}\\[~]|€"

// GSMSeptets is how long s is in a text message's GSM 03.38 alphabet, in septets (160
// for a message in one part, 153 a part beyond): one for a character of the default
// alphabet, two for one of its extension table (€ [ ] { } \ ~ ^ | and the form feed).
// outside lists, once each, the characters of s in neither: any one of them sends the
// whole message in UCS-2.
func GSMSeptets(s string) (septets int, outside []rune) {
	for _, r := range s {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtension, r):
			septets += 2
		case !strings.ContainsRune(string(outside), r):
			outside = append(outside, r)
		}
	}
	return septets, outside
}

// unitSpace is a number and its unit (a duration, a size, a share) with a plain space
// between them, where French wants U+00A0: "15 minutes", "%d octets".
var unitSpace = regexp.MustCompile(`(?:\d|%(?:\[\d+\])?d) (?:(?:minutes?|heures?|jours?|semaines?|mois|ans|années?|pixels?|octets?|[KMG]o|px)\b|€|%(?:$|[^[a-zA-Z%]))`)

// FrenchSpaceFaults lists where French text s is not spaced as French printers space it
// (the rule of the package doc): a plain space, or the wrong no-break one, before « : ; !
// ? », after « « » or before « » »; a plain space before « % », between a number and its
// unit, after « n° ». An empty list is text well spaced. The catalogue's French is
// checked with it, and so is French written elsewhere.
func FrenchSpaceFaults(s string) []string {
	var faults []string
	r := []rune(s)
	for i, c := range r {
		switch {
		case strings.ContainsRune(":»", c) && i > 0 && (r[i-1] == ' ' || r[i-1] == '\u202f'):
			faults = append(faults, fmt.Sprintf("%q before %q, not U+00A0", r[i-1], c))
		case strings.ContainsRune(";!?", c) && i > 0 && (r[i-1] == ' ' || r[i-1] == '\u00a0'):
			faults = append(faults, fmt.Sprintf("%q before %q, not U+202F", r[i-1], c))
		case c == '«' && i+1 < len(r) && (r[i+1] == ' ' || r[i+1] == '\u202f'):
			faults = append(faults, fmt.Sprintf("%q after «, not U+00A0", r[i+1]))
		case c == '%' && i > 0 && r[i-1] == ' ' && i+1 < len(r) && r[i+1] == '%':
			// A percent sign is written %% in a message (fmt); « de %s » is a placeholder.
			faults = append(faults, "a plain space before %")
		}
	}
	for _, m := range unitSpace.FindAllString(s, -1) {
		faults = append(faults, fmt.Sprintf("a plain space in %q, not U+00A0", m))
	}
	if strings.Contains(s, "n° ") {
		faults = append(faults, "a plain space after « n° », not U+00A0")
	}
	return faults
}

// PageSpaceFaults is FrenchSpaceFaults for an HTML page in French written outside the
// catalogue (the demo services'): its text, tags taken out and entities read, line by
// line; each fault names the line it is in.
func PageSpaceFaults(page string) []string {
	var faults []string
	text := html.UnescapeString(htmlTag.ReplaceAllString(page, "\n"))
	for _, line := range strings.Split(text, "\n") {
		for _, f := range FrenchSpaceFaults(line) {
			faults = append(faults, fmt.Sprintf("%s: %q", f, line))
		}
	}
	return faults
}

// htmlTag is an HTML tag, for PageSpaceFaults: the pages it reads are our own.
var htmlTag = regexp.MustCompile(`<[^>]*>`)

// Has tells whether the French catalogue, the complete one, has the message id.
func Has(id string) bool {
	_, ok := texts["fr"][id]
	return ok
}

// Valid tells whether l is the exact code of an offered language.
func Valid(l string) bool {
	for _, x := range Languages {
		if x == l {
			return true
		}
	}
	return false
}
