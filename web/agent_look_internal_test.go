package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestDeskClassesStyled: the DSFR files the service serves are a chosen few of the
// design system's components; a desk page that asks for a component left out (a notice,
// a callout, a tag) shows it as plain text run together. Every fr- class the desk's
// templates write must have a rule in the served stylesheet.
func TestDeskClassesStyled(t *testing.T) {
	t.Parallel()
	css := string(ServedStylesheet())
	classAttr := regexp.MustCompile(`class="([^"{]*)`)
	for _, pattern := range []string{"templates/agent*.html", "templates/referent*.html", "templates/aidants.html"} {
		files, _ := fs.Glob(templateFiles, pattern)
		if len(files) == 0 {
			t.Fatalf("no template matches %s", pattern)
		}
		for _, f := range files {
			b, _ := templateFiles.ReadFile(f)
			for _, m := range classAttr.FindAllStringSubmatch(string(b), -1) {
				for _, c := range strings.Fields(m[1]) {
					if strings.HasPrefix(c, "fr-") && !regexp.MustCompile(`\.`+regexp.QuoteMeta(c)+`([^\w-]|$)`).MatchString(css) {
						t.Errorf("%s: class %s has no rule in the served stylesheet", f, c)
					}
				}
			}
		}
	}
}
