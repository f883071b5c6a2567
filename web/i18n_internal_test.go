package web

import (
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"coffre/ingest"
	"coffre/vault/i18n"
)

// usedKeys gathers what the code and the templates can name as a message: every string
// of the Go code of the packages that use the catalogue (tests aside) and every quoted string of the templates. A
// string ending with "." or holding a %s is a family built at run time ("kind."+k,
// printf "identity.doc.%s"), which uses every key it starts.
func usedKeys(t *testing.T) (exact map[string]bool, prefixes []string) {
	t.Helper()
	exact = map[string]bool{}
	add := func(s string) {
		if i := strings.Index(s, "%"); i >= 0 {
			prefixes = append(prefixes, s[:i])
			return
		}
		if strings.HasSuffix(s, ".") && !strings.Contains(s, " ") {
			prefixes = append(prefixes, s)
		}
		exact[s] = true
	}
	// The packages that take words from coffre/vault/i18n: the pages, the messages sent
	// outside the app, the PDFs printed at the desk (sharing), the export (vault) and the
	// names of the time zones (vault/account).
	var files []string
	for _, dir := range []string{".", filepath.Join("..", "vault", "account", "notify"), filepath.Join("..", "sharing"), filepath.Join("..", "vault"), filepath.Join("..", "vault", "account")} {
		fs, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					add(s)
				}
			}
			return true
		})
	}
	quoted := regexp.MustCompile(`"([^"{}<>\s]+)"`)
	tmpls, _ := fs.Glob(templateFiles, "templates/*.html")
	for _, f := range tmpls {
		b, _ := templateFiles.ReadFile(f)
		for _, m := range quoted.FindAllSubmatch(b, -1) {
			add(string(m[1]))
		}
	}
	return exact, prefixes
}

// TestCataloguesUsed fails on a French key that no template or code can name: a text
// left behind when its page changed, which translators would translate for nothing.
// French has every key (TestCatalogues), so this holds for every language.
func TestCataloguesUsed(t *testing.T) {
	t.Parallel()
	b, err := fs.ReadFile(i18n.Files(), "fr.json")
	if err != nil {
		t.Fatal(err)
	}
	fr := map[string]string{}
	if err := json.Unmarshal(b, &fr); err != nil {
		t.Fatal(err)
	}
	exact, prefixes := usedKeys(t)
	var unused []string
	for k := range fr {
		if exact[k] {
			continue
		}
		if slices.ContainsFunc(prefixes, func(p string) bool { return p != "" && strings.HasPrefix(k, p) }) {
			continue
		}
		unused = append(unused, k)
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("%d keys no template or code uses: %s", len(unused), strings.Join(unused, ", "))
	}
}

// TestRequestLanguage: the cookie first, then the browser's preference among the
// languages offered, then French.
func TestRequestLanguage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ cookie, accept, want string }{
		{"", "", "fr"},
		{"", "en-GB,en;q=0.9", "en"},
		{"", "ar-MA,ar;q=0.9,fr;q=0.8", "ar"},
		{"", "de-DE,de;q=0.9,ar;q=0.5,en;q=0.8", "en"},
		{"", "fa-AF", "fa-AF"},
		{"", "fa-IR,fa;q=0.9", "fa-AF"},
		{"", "prs", "fa-AF"},
		{"", "de", "fr"},
		{"ar", "en", "ar"},
		{"fa-af", "en", "en"}, // the cookie holds the exact code, or nothing
		{"xx", "", "fr"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		if c.cookie != "" {
			r.Header.Set("Cookie", "lang="+c.cookie)
		}
		want := c.want
		if !validLanguage(want) { // a language whose file is not in this build yet
			continue
		}
		if got := requestLanguage(r); got != want {
			t.Errorf("cookie %q, Accept-Language %q: %s, want %s", c.cookie, c.accept, got, want)
		}
	}
}

// TestIngestMessages: every refusal of ingest has its sentence in the catalogue, the
// same in French as ingest.Message, so that a person reads it in their language.
func TestIngestMessages(t *testing.T) {
	t.Parallel()
	for _, err := range []error{ingest.ErrEmpty, ingest.ErrNoPages, ingest.ErrUnsupportedType, ingest.ErrMixedTypes,
		ingest.ErrBusy, ingest.ErrTooLarge, ingest.ErrTooManyPixels, ingest.ErrTooManyPages, ingest.ErrEncrypted,
		ingest.ErrCorrupt, ingest.ErrTimeout, ingest.ErrCanceled, context.DeadlineExceeded, errors.New("other")} {
		key := "ingest." + ingest.Code(err)
		if !i18n.Has(key) {
			t.Errorf("%v: no message %s", err, key)
			continue
		}
		if got, want := i18n.Text("fr", key), ingest.Message(err); got != want {
			t.Errorf("%v: the catalogue says %q, ingest.Message %q", err, got, want)
		}
		if i18n.Text("ar", key) == i18n.Text("fr", key) {
			t.Errorf("%v: not translated into Arabic", err)
		}
	}
}

// TestRightToLeftIsolatesArguments: on a right-to-left page a title in Latin letters is
// isolated inside the sentence; elsewhere the sentence is left as it is.
func TestRightToLeftIsolatesArguments(t *testing.T) {
	t.Parallel()
	c := loadCatalogue()
	for _, tc := range []struct {
		lang string
		want bool
	}{{"ar", true}, {"fa-AF", true}, {"ps", true}, {"fr", false}, {"en", false}, {"uk", false}} {
		got := c.text(tc.lang, "search.none", "Attestation CAF")
		if isolated := strings.Contains(got, "\u2068Attestation CAF\u2069"); isolated != tc.want || !strings.Contains(got, "Attestation CAF") {
			t.Errorf("%s: %q", tc.lang, got)
		}
	}
}

// TestRightToLeftIsolatesOnce: a placeholder the translator isolated already is not
// isolated twice (a date isolated twice is drawn with its digits moved).
func TestRightToLeftIsolatesOnce(t *testing.T) {
	t.Parallel()
	c := loadCatalogue()
	for _, lang := range []string{"ps", "fa-AF", "ar"} {
		got := c.text(lang, "doc.deposited", "۳۰ نومبر ۲۰۲۶، ساعت ۰۸:۳۳")
		if strings.Count(got, "\u2068") != 1 || strings.Count(got, "\u2069") != 1 || !strings.Contains(got, "\u2068۳۰ نومبر ۲۰۲۶، ساعت ۰۸:۳۳\u2069") {
			t.Errorf("%s: %q", lang, got)
		}
		// A title pasted from a right-to-left page, with its own marks, is left whole.
		if got := c.text(lang, "doc.deposited", "x \u2068y\u2069"); !strings.Contains(got, "\u2068x \u2068y\u2069\u2069") {
			t.Errorf("%s: an argument's own marks: %q", lang, got)
		}
	}
}

// TestLeftToRightIsolatesRightToLeft: on a left-to-right page a title written right to left
// is isolated, else its words come in the wrong order; a Latin one is left as it is.
func TestLeftToRightIsolatesRightToLeft(t *testing.T) {
	t.Parallel()
	c := loadCatalogue()
	title := "شهادة CAF بتاريخ 30 نوفمبر 2026"
	for _, lang := range []string{"fr", "en", "uk"} {
		if got := c.text(lang, "search.none", title); !strings.Contains(got, "\u2068"+title+"\u2069") {
			t.Errorf("%s: %q", lang, got)
		}
		if got := c.text(lang, "search.none", "Attestation CAF"); strings.ContainsAny(got, "\u2068\u2069") {
			t.Errorf("%s: a Latin title isolated: %q", lang, got)
		}
	}
}
