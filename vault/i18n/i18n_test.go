package i18n

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readCatalogue reads one catalogue file keeping its keys in order, and fails on a key
// written twice (encoding/json would keep the last one silently).
func readCatalogue(t *testing.T, name string) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(files, name)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s: not a JSON object: %v", name, err)
	}
	m := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		key := tok.(string)
		var val string
		if err := dec.Decode(&val); err != nil {
			t.Fatalf("%s: key %q: the text must be a string: %v", name, key, err)
		}
		if _, dup := m[key]; dup {
			t.Errorf("%s: key %q is written twice", name, key)
		}
		if strings.TrimSpace(val) == "" {
			t.Errorf("%s: key %q has no text", name, key)
		}
		m[key] = val
	}
	return m
}

var placeholderRE = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(?:\.\d+)?([a-zA-Z%])`)

// placeholders lists the arguments a text uses, as "argument number:verb", sorted: a
// translation may put them in another order with explicit indexes (%[2]s … %[1]s).
func placeholders(s string) []string {
	var out []string
	next := 1
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		if m[2] == "%" {
			continue
		}
		n := next
		if m[1] != "" {
			n, _ = strconv.Atoi(strings.Trim(m[1], "[]"))
		}
		out = append(out, fmt.Sprintf("%d:%s", n, m[2]))
		next = n + 1
	}
	sort.Strings(out)
	return out
}

// TestCatalogues checks every catalogue file present in vault/i18n, whichever they are
// (the Languages offered are the files present): each has every French key, no key
// French lacks, no key written twice or empty, and the same placeholders as French (a
// %s less, or a %d for a %s, would show «%!s(MISSING)» to the person).
func TestCatalogues(t *testing.T) {
	names, err := fs.Glob(files, "*.json")
	if err != nil || len(names) < 2 {
		t.Fatalf("catalogues: %v %v", names, err)
	}
	fr := readCatalogue(t, "fr.json")
	for _, name := range names {
		code := strings.TrimSuffix(filepath.Base(name), ".json")
		if !slices.Contains(Languages, code) {
			t.Errorf("%s is not offered: its code has no locale in locale.go", name)
		}
		if code == "fr" {
			continue
		}
		m := readCatalogue(t, name)
		var missing, extra, diff []string
		for k, v := range fr {
			tr, ok := m[k]
			if !ok {
				missing = append(missing, k)
				continue
			}
			if a, b := placeholders(v), placeholders(tr); !slices.Equal(a, b) {
				diff = append(diff, fmt.Sprintf("%s: French %v, here %v", k, a, b))
			}
		}
		for k := range m {
			if _, ok := fr[k]; !ok {
				extra = append(extra, k)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		sort.Strings(diff)
		if len(missing) > 0 {
			t.Errorf("%s lacks %d keys: %s", name, len(missing), strings.Join(missing, ", "))
		}
		if len(extra) > 0 {
			t.Errorf("%s has %d keys French does not: %s", name, len(extra), strings.Join(extra, ", "))
		}
		for _, d := range diff {
			t.Errorf("%s: placeholders differ from French: %s", name, d)
		}
	}
}

// TestPlaceholders shows that the comparison of placeholders catches what it must and
// lets a translation reorder its arguments.
func TestPlaceholders(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"%s a vu « %s ».", "%s saw « %s ».", true},
		{"%s a vu « %s ».", "« %[2]s » vu par %[1]s.", true},
		{"%d papiers", "%s papers", false},
		{"%s a vu « %s ».", "%s saw it.", false},
		{"100 %% sûr", "100 %% sure", true},
		{"100 %% sûr", "100% sure", false}, // "% s" is a verb to fmt
	} {
		if got := slices.Equal(placeholders(c.a), placeholders(c.b)); got != c.same {
			t.Errorf("%q vs %q: same placeholders %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

// TestLocales checks the table of Languages: French first and complete, every language
// offered has its name in its own script and its direction, and dates are written with
// the month in words and the language's digits.
func TestLocales(t *testing.T) {
	if Languages[0] != "fr" || !slices.Contains(Languages, "en") || !slices.Contains(Languages, "ar") {
		t.Fatalf("Languages offered: %v", Languages)
	}
	day := time.Date(2026, time.March, 3, 14, 5, 0, 0, time.UTC)
	for _, c := range []struct{ code, date, datetime, dir string }{
		{"fr", "3 mars 2026", "3 mars 2026 à 14h05", "ltr"},
		{"en", "3 March 2026", "3 March 2026 at 14:05", "ltr"},
		{"ar", "3 مارس 2026", "3 مارس 2026، الساعة 14:05", "rtl"},
		{"fa-AF", "۳ مارچ ۲۰۲۶", "۳ مارچ ۲۰۲۶، ساعت ۱۴:۰۵", "rtl"},
		{"ps", "۳ مارچ ۲۰۲۶", "۳ مارچ ۲۰۲۶، ساعت ۱۴:۰۵", "rtl"},
		{"uk", "3 березня 2026 р.", "3 березня 2026 р. о 14:05", "ltr"},
		{"es", "3 de marzo de 2026", "3 de marzo de 2026 a las 14:05", "ltr"},
	} {
		l := LocaleOf(c.code)
		if l.Code != c.code {
			t.Fatalf("no locale %s", c.code)
		}
		if got := l.Date(day); got != c.date {
			t.Errorf("%s: date %q, want %q", c.code, got, c.date)
		}
		if got := l.DateTime(day); got != c.datetime {
			t.Errorf("%s: datetime %q, want %q", c.code, got, c.datetime)
		}
		if l.Dir() != c.dir {
			t.Errorf("%s: dir %s, want %s", c.code, l.Dir(), c.dir)
		}
	}
	// A month by itself is in the nominative where the language declines it.
	december := time.Date(2025, time.December, 1, 0, 0, 0, 0, time.UTC)
	for code, want := range map[string]string{"fr": "décembre 2025", "uk": "грудень 2025", "ru": "декабрь 2025", "ps": "دسمبر ۲۰۲۵"} {
		if got := LocaleOf(code).Month(december); got != want {
			t.Errorf("%s: month %q, want %q", code, got, want)
		}
	}
	// The first of a month is « 1er » in French, 1 elsewhere.
	for code, want := range map[string]string{"fr": "1er décembre 2025", "en": "1 December 2025", "ps": "۱ دسمبر ۲۰۲۵"} {
		if got := LocaleOf(code).Date(december); got != want {
			t.Errorf("%s: first of the month %q, want %q", code, got, want)
		}
	}
	seen := map[string]bool{}
	for _, l := range locales {
		if l.Name == "" || seen[l.Name] || l.day == "" || l.at == "" || l.months[11] == "" {
			t.Errorf("locale %s is incomplete: %+v", l.Code, l)
		}
		seen[l.Name] = true
	}
	// Integer arguments of a message take the language's digits; strings (a code, the
	// end of a card number) stay as typed.
	c := map[string]map[string]string{"fa-AF": {"x": "%d papers, code %s"}, "fr": {"x": "%d papiers, code %s"}}
	if got := text(c, "fa-AF", "x", 12, "0042"); got != "۱۲ papers, code 0042" {
		t.Errorf("fa-AF number: %q", got)
	}
	if got := text(c, "fr", "x", 12, "0042"); got != "12 papiers, code 0042" {
		t.Errorf("fr number: %q", got)
	}
}

// TestLanguagesFromFiles shows that the Languages offered are the catalogue files
// present, in the order of the table, and that a file with no locale stops the start.
func TestOneFullStop(t *testing.T) {
	c := map[string]map[string]string{
		"fr": {"until": "Valable jusqu'au %s.", "two": "Du %s au %s."},
		"uk": {"until": "Діє до %s.", "two": "З %s до %s."},
	}
	day := LocaleOf("uk").Date(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		lang, id string
		args     []any
		want     string
	}{
		{"uk", "until", []any{day}, "Діє до 3 березня 2026 р."},
		{"uk", "two", []any{day, day}, "З 3 березня 2026 р. до 3 березня 2026 р."},
		{"fr", "until", []any{"3 mars 2026"}, "Valable jusqu'au 3 mars 2026."},
		{"fr", "until", []any{"etc..."}, "Valable jusqu'au etc...."},
	} {
		if got := text(c, tc.lang, tc.id, tc.args...); got != tc.want {
			t.Errorf("text(%s, %s) = %q, want %q", tc.lang, tc.id, got, tc.want)
		}
	}
}

func TestLanguagesFromFiles(t *testing.T) {
	dir := t.TempDir()
	for _, l := range []string{"ps", "en", "fr", "ar"} {
		if err := os.WriteFile(filepath.Join(dir, l+".json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := presentLanguages(os.DirFS(dir)); !slices.Equal(got, []string{"fr", "en", "ar", "ps"}) {
		t.Errorf("Languages %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "xx.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a catalogue without a locale was accepted")
		}
	}()
	presentLanguages(os.DirFS(dir))
}

// TestFrenchSpaces: in the French catalogue, a « : » or a « » » never starts a line, nor
// a « « » ends one, on a narrow phone: the space before « : » and inside « … » is U+00A0,
// the one before « ; ! ? % » U+202F (narrower, as French printers set it). A message
// written with a plain space fails here.
func TestFrenchSpaces(t *testing.T) {
	for _, c := range []struct {
		s      string
		faults int
	}{
		{"Votre identifiant :", 1},
		{"Comment ça marche ?", 1},
		{"Page « Mon compte »", 2},
		{"Voici « %s » ; merci !", 4},
		{"Envoi de %s à %d %%", 1},
		{"%s\u202f%%", 0},
		{"Votre identifiant\u00a0:", 0},
		{"Comment ça marche\u202f?", 0},
		{"Page «\u00a0Mon compte\u00a0»", 0},
		{"Coffre\u00a0: ", 0},
		{"https://coffre.example.fr à 08:44", 0},
		{"Vraiment\u00a0? «\u202fOui\u202f»\u202f: non", 4},
		{"Il marche 15 minutes, %d jours ou %[2]d mois, 200 octets, 50 % et 3 €.", 6},
		{"Il marche 15\u00a0minutes, %d\u00a0jours, 50\u00a0% et %d %s, 6 chiffres.", 0},
		{"la loi n° 2005-102", 1},
		{"la loi n°\u00a02005-102", 0},
	} {
		if got := FrenchSpaceFaults(c.s); len(got) != c.faults {
			t.Errorf("%q: %d faults %v, want %d", c.s, len(got), got, c.faults)
		}
	}
	fr := readCatalogue(t, "fr.json")
	for k, v := range fr {
		for _, f := range FrenchSpaceFaults(v) {
			t.Errorf("fr.json %s: %s (\\u00a0 before « : » and inside « … », \\u202f before « ; ! ? »): %q", k, f, v)
		}
	}
}

// TestForSMS: a text message goes out with plain spaces, the French catalogue's among
// them, and nothing else changed.
func TestForSMS(t *testing.T) {
	for in, want := range map[string]string{
		"Coffre\u00a0: votre code est 123456.":   "Coffre : votre code est 123456.",
		"Vraiment\u202f? «\u00a0%s\u00a0»":       `Vraiment ? "%s"`,
		"Ouvrez «Mon compte».":                   `Ouvrez "Mon compte".`,
		"Il marche 15\u2009minutes.":             "Il marche 15 minutes.",
		"Ligne\nsuivante\u2068x\u2069":           "Ligne\nsuivante\u2068x\u2069",
		"On the “My account” page, it’s „aici”.": `On the "My account" page, it's "aici".`,
		"Le 12\u00a0août 2027.":                  "Le 12 aout 2027.",
	} {
		if got := ForSMS(in); got != want {
			t.Errorf("ForSMS(%q) = %q, want %q", in, got, want)
		}
	}
	for k, v := range readCatalogue(t, "fr.json") {
		if s := ForSMS(v); strings.ContainsAny(s, "\u00a0\u202f«»") {
			t.Errorf("fr.json %s: ForSMS left a no-break space or a guillemet: %q", k, s)
		}
	}
}

func TestGSMSeptets(t *testing.T) {
	for _, c := range []struct {
		s       string
		septets int
		outside string
	}{
		{"Coffre : code 123456, à 15h04 (Ça marche !)", 43, ""},
		{"10 € [ok]", 12, ""},
		{"s'arrête, dépôts, «oui», ça, œuvre, août", 33, "êô«»çœû"},
		{"Su código", 8, "ó"},
	} {
		septets, outside := GSMSeptets(c.s)
		if septets != c.septets || string(outside) != c.outside {
			t.Errorf("GSMSeptets(%q) = %d, %q; want %d, %q", c.s, septets, string(outside), c.septets, c.outside)
		}
	}
}

// smsMessage tells whether a message goes out as a text message: what notify sends (its
// notify.* lines and prefix, not the e-mail's subjects and footer, and the kinds named
// by a reminder) and the link's ready-made message (share.message*, web).
func smsMessage(id string) bool {
	switch {
	case strings.HasPrefix(id, "notify."):
		return !strings.HasSuffix(id, ".subject") && !strings.HasPrefix(id, "notify.footer")
	case strings.HasPrefix(id, "reminder.subject."), strings.HasPrefix(id, "share.message"):
		return true
	}
	return false
}

// TestSMSAlphabet: every message that goes out as a text message in French or English,
// and every date it may name, has only characters of the GSM 03.38 alphabet once through
// ForSMS, so that it costs 160 characters a part, not 70. Its extension table (€ [ ] …)
// counts two (GSMSeptets); none is used today.
func TestSMSAlphabet(t *testing.T) {
	// French and English keep to it. Spanish (á í ó ú), Romanian (ă â î ș ț) and
	// Portuguese (ã õ ç á ê) need those letters in nearly every sentence: their messages
	// go out in UCS-2, spelt right.
	for _, lang := range []string{"fr", "en"} {
		n := 0
		for id, v := range readCatalogue(t, lang+".json") {
			if !smsMessage(id) {
				continue
			}
			n++
			if _, outside := GSMSeptets(ForSMS(v)); len(outside) > 0 {
				t.Errorf("%s.json %s: %q is not in the GSM alphabet: %q", lang, id, string(outside), ForSMS(v))
			}
		}
		if n < 40 {
			t.Errorf("%s: only %d text messages found", lang, n)
		}
		loc := LocaleOf(lang)
		for m := time.January; m <= time.December; m++ {
			at := time.Date(2027, m, 1, 8, 44, 0, 0, time.UTC)
			if _, outside := GSMSeptets(ForSMS(loc.DateTime(at))); len(outside) > 0 {
				t.Errorf("%s: the date %q has %q, not in the GSM alphabet", lang, loc.DateTime(at), string(outside))
			}
		}
	}
}

// TestPageSpaceFaults: a page's text is checked line by line, tags out and entities read.
func TestPageSpaceFaults(t *testing.T) {
	if got := PageSpaceFaults(`<p>Reçu&nbsp;: «&nbsp;<b>RIB</b>&nbsp;»</p>`); len(got) != 0 {
		t.Errorf("a well spaced page: %q", got)
	}
	got := PageSpaceFaults("<p>Reçu :</p>\n<p>« RIB »</p>")
	if len(got) != 3 || !strings.Contains(got[0], `"Reçu :"`) {
		t.Errorf("a page with plain spaces: %q", got)
	}
}

// TestGSMSpelling: the letters GSM 03.38 lacks are written as the letter under their
// accent, and œ as oe; GSM's own accented letters and other scripts are kept.
func TestGSMSpelling(t *testing.T) {
	for in, want := range map[string]string{
		"CCAS de Mâcon":              "CCAS de Macon",
		"Besançon":                   "Besancon",
		"Nîmes, Hôtel-Dieu, Zoë":     "Nimes, Hotel-Dieu, Zoe",
		"Cœur de ville, ŒUVRE":       "Coeur de ville, OEUVRE",
		"Âge d'Or, Île-de-France":    "Age d'Or, Ile-de-France",
		"Saint-Étienne, Sète, où":    "Saint-Étienne, Sète, où",
		"Peña, Müller, Ærø":          "Peña, Müller, Ærø",
		"Ramón Gómez, María":         "Ramon Gomez, Maria",
		"بلدية ليل":                  "بلدية ليل",
		"Київ":                       "Київ",
		"CCAS – Mâcon…, Łódź, Đorđe": "CCAS - Macon..., Lodz, Dorde",
		"":                           "",
	} {
		if got := GSMSpelling(in); got != want {
			t.Errorf("GSMSpelling(%q) = %q, want %q", in, got, want)
		}
	}
}
