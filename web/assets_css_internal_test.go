package web

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// FullStylesheet is the pages' stylesheet with every rule of the DSFR, as it was served
// before usedCSS: TestBrowserStylesheetSubset compares the pages under both.
func FullStylesheet() []byte { return loadAssets().stylesheet(false) }

// ServedStylesheet is the stylesheet the pages get.
func ServedStylesheet() []byte { return loadAssets().byName["coffre.css"].body }

func TestUsedCSS(t *testing.T) {
	t.Parallel()
	words := pageWords([]byte(`<main><div class="fr-card cf-doc"><h2 class="fr-card__title">{{.Title}}</h2>
<p hidden data-fr-scheme="light"><a class="fr-btn fr-btn--lg fr-mt-2w" href="/aide" aria-current="page">{{icon "x"}}</a></p></div>
<ul><li><input type="checkbox"></li></ul></main>`), []byte(`b.className = 'fr-btn--sm'; b.disabled = true`))
	for _, tc := range []struct {
		name, in, want string
	}{
		{"a class of the pages stays", `.fr-btn{color:red}`, `.fr-btn{color:red}`},
		{"a class no page has goes", `.fr-tabs{color:red}`, ``},
		{"every compound of a selector must be there", `.fr-card .fr-tabs__list{color:red}.fr-card>.fr-btn{margin:0}`, `.fr-card>.fr-btn{margin:0}`},
		{"a list stays whole when one selector can match", `.fr-tabs,.fr-btn:hover{color:red}`, `.fr-tabs,.fr-btn:hover{color:red}`},
		{"elements", `table td{padding:0}ul li{margin:0}`, `ul li{margin:0}`},
		{"elements the browser adds", `tbody{x:1}html{y:2}`, `tbody{x:1}html{y:2}`},
		{"ids", `#contenu{x:1}#nowhere{x:2}`, ``},
		{"pseudo-classes and elements match", `a:not(.fr-tabs):focus-visible::before{x:1}`, `a:not(.fr-tabs):focus-visible::before{x:1}`},
		{":where and :is need one of their selectors", `:root:where([data-fr-theme=dark]){x:1}:root:where([data-fr-scheme=light]){y:2}:is(.fr-tabs,.fr-btn){z:3}`, `:root:where([data-fr-scheme=light]){y:2}:is(.fr-tabs,.fr-btn){z:3}`},
		{"attributes", `[hidden]{display:none}[dir=rtl] .fr-btn{x:1}input[type=checkbox]{y:2}input[type=radio]{z:3}[aria-current=page]{w:4}`, `[hidden]{display:none}input[type=checkbox]{y:2}[aria-current=page]{w:4}`},
		{"class attributes compared", `[class^=fr-icon-]:before{x:1}[class*=" fr-btn"]{y:2}[class$=__title]{z:3}`, `[class*=" fr-btn"]{y:2}[class$=__title]{z:3}`},
		{"attribute values not plain words are kept", `a[href^="mailto:"]{x:1}`, `a[href^="mailto:"]{x:1}`},
		{"empty conditions go", `@media (min-width:48em){.fr-tabs{x:1}}@media print{.fr-btn{y:2}}`, `@media print{.fr-btn{y:2}}`},
		{"nested conditions", `@supports (display:grid){@media (min-width:1px){.fr-tabs{x:1}.cf-doc{y:2}}}`, `@supports (display:grid){@media (min-width:1px){.cf-doc{y:2}}}`},
		{"custom properties nothing reads go", `:root{--a:1px;--b:var(--c);--c:red;--d:blue}.fr-btn{margin:var(--a);color:var(--b)}`, `:root{--a:1px;--b:var(--c);--c:red}.fr-btn{margin:var(--a);color:var(--b)}`},
		{"a rule of unread properties goes", `:root{--x:1}.fr-btn{y:2}`, `.fr-btn{y:2}`},
		{"properties read by the pages' own stylesheet stay", `:root{--own:1;--x:2}`, `:root{--own:1}`},
		{"animations", `@keyframes spin{to{x:1}}@keyframes fade{to{y:1}}.fr-btn{animation:spin 1s}`, `@keyframes spin{to{x:1}}.fr-btn{animation:spin 1s}`},
		{"kept comments", `/*! licence */.fr-tabs{x:1}/* gone */`, `/*! licence */`},
		{"escapes and strings", `.fr-col\@md{x:1}.fr-btn:after{content:"}{"}`, `.fr-btn:after{content:"}{"}`},
		{"statements", `@charset "UTF-8";.fr-btn{x:1}`, `@charset "UTF-8";.fr-btn{x:1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(usedCSS([]byte(tc.in), words, []byte(`.cf{a:var(--own)}`))); got != tc.want {
				t.Errorf("usedCSS(%s)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

// The served stylesheet is a fraction of the DSFR and still has what every page needs.
func TestStylesheetSubset(t *testing.T) {
	t.Parallel()
	full, served := FullStylesheet(), ServedStylesheet()
	gz := func(b []byte) int {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b) // into memory: cannot fail
		zw.Close()
		return buf.Len()
	}
	t.Logf("stylesheet: all of the DSFR %d bytes (%d compressed), served %d bytes (%d compressed)", len(full), gz(full), len(served), gz(served))
	if len(served) > len(full)/3 {
		t.Errorf("the served stylesheet is %d bytes, more than a third of the DSFR's %d", len(served), len(full))
	}
	for _, want := range []string{".fr-btn{", ".fr-header__brand", ".fr-alert--error", ".fr-input-group--error", ".fr-card__title", "@font-face{font-family:Marianne", ".cf-doc", "--background-action-high-blue-france:"} {
		if !strings.Contains(string(served), want) {
			t.Errorf("the served stylesheet lacks %q", want)
		}
	}
	for _, gone := range []string{".fr-tabs", ".fr-modal", ":root[data-fr-theme=dark]{", ".fr-icon-zoom"} {
		if strings.Contains(string(served), gone) {
			t.Errorf("the served stylesheet still has %q", gone)
		}
	}
	for _, w := range safelistCSS {
		if !strings.Contains(string(full), w) {
			t.Errorf("safelisted %q is not in the DSFR", w)
		}
	}
}

// A class name built in a template from pieces (fr-badge--{{.Color}}) is not seen by
// pageWords, and its rules would be dropped: templates write class names whole and
// choose between them ({{if .Error}} fr-input--error{{end}}).
func TestTemplateClassesWhole(t *testing.T) {
	t.Parallel()
	classAttr := regexp.MustCompile(`class="[^"]*"`)
	action := regexp.MustCompile(`\{\{-?\s*([a-z]*)[^}]*\}\}`)
	files, _ := fs.Glob(templateFiles, "templates/*.html")
	for _, f := range files {
		b, _ := templateFiles.ReadFile(f)
		for _, c := range classAttr.FindAllString(string(b), -1) {
			for _, m := range action.FindAllStringSubmatch(c, -1) {
				switch m[1] {
				case "if", "else", "end":
				default:
					t.Errorf("%s: %s writes a class name the stylesheet cannot see; write each name whole and choose with {{if}}", f, c)
				}
			}
		}
	}
}
