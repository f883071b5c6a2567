package web

import (
	"bytes"
	"io/fs"
	"regexp"
	"strings"
)

// The DSFR's stylesheets style every component of the design system, in every theme;
// the pages use a few of them. usedCSS keeps, at start, the rules that can match
// something the pages contain — the classes, ids, elements and attributes written in
// the templates, in the pages' scripts and in the inline icons — and the custom
// properties those rules read. The DSFR files stay the source (scripts/assets.sh copies
// them from npm); only what is served is smaller, and it follows the templates without
// a build step: a class added to a template is kept at the next start.
//
// A rule is dropped only when one of the names its selectors need appears nowhere in
// the pages' sources, which is how PurgeCSS judges; a rule kept by mistake only costs
// bytes. A selector list is kept whole when one of its selectors can match, so that no
// rule changes meaning (a list with a selector the browser does not know is ignored
// whole, and must stay so).
//
// What the scan cannot see, and why nothing is lost:
//   - Classes added by JavaScript: the pages' scripts (static/*.js) are scanned with the
//     templates, so a class they add must be written whole in them (upload.js writes
//     'fr-btn fr-btn--sm fr-btn--tertiary'). safelistCSS lists the names built in pieces.
//   - The DSFR's own behaviours (its JavaScript opens menus and modals, sets
//     data-fr-theme for the dark theme): the pages do not load the DSFR's JavaScript, so
//     the classes and attributes it would add never appear.
//   - Elements the browser adds on its own: html, head and body, and tbody in a table.
//   - A class built in a template from pieces (fr-badge--{{.Color}}) would be missed:
//     TestTemplateClassesWhole refuses them.

// safelistCSS are names the pages use that their sources do not spell whole. It is
// empty today; a name goes here with the reason it cannot be written whole.
var safelistCSS = []string{} //nolint:gochecknoglobals // a constant list

// alwaysThere are elements every page has although no template writes them.
var alwaysThere = []string{"html", "head", "body", "tbody"} //nolint:gochecknoglobals // a constant list

var wordRE = regexp.MustCompile(`[A-Za-z0-9_-]+`)

// pageSources are the texts that say what the pages contain: the templates, the
// pages' scripts and the inline icons.
func pageSources(icons []string) [][]byte {
	var srcs [][]byte
	files, _ := fs.Glob(templateFiles, "templates/*.html")
	for _, f := range files {
		b, _ := templateFiles.ReadFile(f)
		srcs = append(srcs, b)
	}
	scripts, _ := fs.Glob(static, "static/*.js")
	for _, f := range scripts {
		b, _ := static.ReadFile(f)
		srcs = append(srcs, b)
	}
	for _, s := range icons {
		srcs = append(srcs, []byte(s))
	}
	return srcs
}

// pageWords is every word of the sources, with the elements every page has and the
// safelist: what a selector may ask for.
func pageWords(sources ...[]byte) map[string]bool {
	words := map[string]bool{}
	for _, b := range sources {
		for _, w := range wordRE.FindAll(b, -1) {
			words[string(w)] = true
			words[strings.ToLower(string(w))] = true
		}
	}
	for _, w := range append(append([]string(nil), alwaysThere...), safelistCSS...) {
		words[w] = true
	}
	return words
}

// cssNode is a rule or an at-rule of a stylesheet: its prelude (selectors, or the
// at-rule's name and condition) and its block, if it has one.
type cssNode struct {
	prelude  string
	block    string
	hasBlock bool
	children []cssNode // parsed block of a conditional at-rule
}

// usedCSS returns the rules of css that can match a page, given the words of the pages
// (pageWords) and the custom properties read outside css (alsoReads: the pages' own
// stylesheet).
func usedCSS(css []byte, words map[string]bool, alsoReads []byte) []byte {
	nodes := parseCSS(string(css))
	nodes = keepMatching(nodes, words)
	// Custom properties: those read by what is kept, and by what they read in turn.
	defs := map[string][]string{}
	var reads []string
	collectVars(nodes, defs, &reads)
	reads = append(reads, varRefs(string(alsoReads))...)
	used := map[string]bool{}
	for len(reads) > 0 {
		n := reads[len(reads)-1]
		reads = reads[:len(reads)-1]
		if used[n] {
			continue
		}
		used[n] = true
		for _, v := range defs[n] {
			reads = append(reads, varRefs(v)...)
		}
	}
	nodes = dropVars(nodes, used)
	// Animations named by what is kept.
	var kept bytes.Buffer
	writeCSS(&kept, nodes)
	nodes = keepKeyframes(nodes, kept.String())
	var out bytes.Buffer
	writeCSS(&out, nodes)
	return out.Bytes()
}

// parseCSS splits a stylesheet into rules and at-rules. Comments go, except those the
// author marked to keep (/*! … */: the DSFR's licence).
func parseCSS(s string) []cssNode {
	var nodes []cssNode
	i := 0
	for i < len(s) {
		// Whitespace and comments between rules.
		if c := s[i]; c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "/*") {
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				break
			}
			if strings.HasPrefix(s[i:], "/*!") {
				nodes = append(nodes, cssNode{prelude: s[i : i+2+end+2]})
			}
			i += 2 + end + 2
			continue
		}
		start := i
		j := scanTo(s, i, "{;")
		if j >= len(s) {
			nodes = append(nodes, cssNode{prelude: strings.TrimSpace(s[start:])})
			break
		}
		prelude := strings.TrimSpace(s[start:j])
		if s[j] == ';' {
			nodes = append(nodes, cssNode{prelude: prelude + ";"})
			i = j + 1
			continue
		}
		end := matchBrace(s, j)
		n := cssNode{prelude: prelude, block: s[j+1 : end], hasBlock: true}
		if conditional(prelude) {
			n.children = parseCSS(n.block)
		}
		nodes = append(nodes, n)
		i = end + 1
	}
	return nodes
}

// conditional tells the at-rules whose block holds rules, to be filtered like the
// stylesheet itself.
func conditional(prelude string) bool {
	for _, at := range []string{"@media", "@supports", "@layer", "@container", "@document", "@-moz-document"} {
		if strings.HasPrefix(prelude, at) && (len(prelude) == len(at) || !isIdent(prelude[len(at)])) {
			return true
		}
	}
	return false
}

// scanTo returns the index of the first of stops at nesting depth 0 from i, skipping
// strings, comments, escapes and brackets; len(s) when there is none.
func scanTo(s string, i int, stops string) int {
	depth := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\':
			i += 2
			continue
		case c == '"' || c == '\'':
			i = skipString(s, i)
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return len(s)
			}
			i += 2 + end + 2
			continue
		case depth <= 0 && strings.IndexByte(stops, c) >= 0:
			return i
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		}
		i++
	}
	return len(s)
}

// matchBrace returns the index of the } closing the { at i (len(s)-1 at worst).
func matchBrace(s string, i int) int {
	depth := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\':
			i += 2
			continue
		case c == '"' || c == '\'':
			i = skipString(s, i)
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return len(s) - 1
			}
			i += 2 + end + 2
			continue
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return len(s) - 1
}

func skipString(s string, i int) int {
	q := s[i]
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i + 1
		}
	}
	return len(s)
}

// keepMatching drops the rules no page can match, and the conditional at-rules left
// empty.
func keepMatching(nodes []cssNode, words map[string]bool) []cssNode {
	out := nodes[:0:0]
	for _, n := range nodes {
		switch {
		case n.children != nil || (n.hasBlock && conditional(n.prelude)):
			n.children = keepMatching(n.children, words)
			if len(n.children) == 0 {
				continue
			}
		case !n.hasBlock || strings.HasPrefix(n.prelude, "@"):
			// @charset, @import, @font-face, @keyframes (judged later), @page…
		default:
			if !selectorListMatches(n.prelude, words) {
				continue
			}
		}
		out = append(out, n)
	}
	return out
}

// selectorListMatches tells whether one selector of a comma-separated list can match.
func selectorListMatches(list string, words map[string]bool) bool {
	for _, sel := range splitTop(list, ',') {
		if selectorMatches(sel, words) {
			return true
		}
	}
	return false
}

// splitTop splits s at sep outside brackets and strings.
func splitTop(s string, sep byte) []string {
	var parts []string
	for {
		j := scanTo(s, 0, string(sep))
		parts = append(parts, s[:j])
		if j >= len(s) {
			return parts
		}
		s = s[j+1:]
	}
}

func isIdent(c byte) bool {
	return c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// ident reads an identifier at i, unescaping backslashes.
func ident(s string, i int) (string, int) {
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			b.WriteByte(s[i+1])
			i += 2
		case isIdent(c):
			b.WriteByte(c)
			i++
		default:
			return b.String(), i
		}
	}
	return b.String(), i
}

// selectorMatches tells whether one complex selector can match: every class, id,
// element and attribute it needs must appear in words. Pseudo-classes other than
// :is() and :where() are taken to match (:not(.x) matches where .x is absent).
// Anything it does not understand counts as a match.
func selectorMatches(sel string, words map[string]bool) bool {
	i := 0
	for i < len(sel) {
		c := sel[i]
		switch {
		case c == ' ' || c == '>' || c == '+' || c == '~' || c == '*' || c == '|' || c == '\n' || c == '\t':
			i++
		case c == '.' || c == '#':
			name, j := ident(sel, i+1)
			if name == "" {
				return true
			}
			if !words[name] {
				return false
			}
			i = j
		case c == '[':
			end := scanTo(sel, i+1, "]")
			if end >= len(sel) {
				return true
			}
			if !attributeMatches(sel[i+1:end], words) {
				return false
			}
			i = end + 1
		case c == ':':
			for i < len(sel) && sel[i] == ':' {
				i++
			}
			name, j := ident(sel, i)
			i = j
			if i < len(sel) && sel[i] == '(' {
				end := scanTo(sel, i+1, ")")
				args := sel[i+1 : min(end, len(sel))]
				i = end + 1
				switch strings.ToLower(name) {
				case "is", "where", "matches", "-webkit-any", "-moz-any", "has":
					if !selectorListMatches(args, words) {
						return false
					}
				}
			}
		case isIdent(c) || c == '\\':
			name, j := ident(sel, i)
			if !words[strings.ToLower(name)] {
				return false
			}
			i = j
		default:
			return true
		}
	}
	return true
}

// attributeMatches judges an attribute selector (the text between its brackets). The
// attribute must be written somewhere; a class or id it compares must be too, and so
// must a plain word compared with =.
func attributeMatches(a string, words map[string]bool) bool {
	a = strings.TrimSpace(a)
	opAt := strings.IndexAny(a, "=")
	if opAt < 0 {
		name := a
		if k := strings.LastIndexByte(name, '|'); k >= 0 {
			name = name[k+1:]
		}
		return words[strings.ToLower(strings.TrimSpace(name))]
	}
	name, op := a[:opAt], "="
	if opAt > 0 && strings.IndexByte("~|^$*", a[opAt-1]) >= 0 {
		name, op = a[:opAt-1], a[opAt-1:opAt+1]
	}
	if k := strings.LastIndexByte(name, '|'); k >= 0 && op != "|=" {
		name = name[k+1:]
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if !words[name] {
		return false
	}
	value := strings.TrimSpace(a[opAt+1:])
	// A flag after the value: [a="b" i].
	if n := len(value); n > 2 && (value[n-1] == 'i' || value[n-1] == 's') && value[n-2] == ' ' {
		value = strings.TrimSpace(value[:n-2])
	}
	if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
		value = value[1 : len(value)-1]
	}
	value = strings.TrimSpace(value)
	if value == "" || wordRE.FindString(value) != value {
		return true // not a plain word: not judged
	}
	if name != "class" && name != "id" {
		return op != "=" || words[value] || words[strings.ToLower(value)]
	}
	for w := range words {
		switch op {
		case "=", "~=", "|=":
			if w == value {
				return true
			}
		case "^=":
			if strings.HasPrefix(w, value) {
				return true
			}
		case "$=":
			if strings.HasSuffix(w, value) {
				return true
			}
		case "*=":
			if strings.Contains(w, value) {
				return true
			}
		}
	}
	return false
}

var varRE = regexp.MustCompile(`var\(\s*(--[A-Za-z0-9_-]+)`)

func varRefs(s string) []string {
	var out []string
	for _, m := range varRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// declarations splits a rule's block at its semicolons.
func declarations(block string) []string { return splitTop(block, ';') }

// customProperty returns the name a declaration defines, if it is a custom property.
func customProperty(d string) (string, string, bool) {
	d = strings.TrimSpace(d)
	if !strings.HasPrefix(d, "--") {
		return "", "", false
	}
	k := strings.IndexByte(d, ':')
	if k < 0 {
		return "", "", false
	}
	return strings.TrimSpace(d[:k]), d[k+1:], true
}

// collectVars gathers the custom properties defined by the rules, and what the other
// declarations read.
func collectVars(nodes []cssNode, defs map[string][]string, reads *[]string) {
	for _, n := range nodes {
		if n.children != nil {
			collectVars(n.children, defs, reads)
			continue
		}
		if !n.hasBlock {
			continue
		}
		if strings.HasPrefix(n.prelude, "@") || strings.ContainsRune(n.block, '{') {
			*reads = append(*reads, varRefs(n.block)...)
			continue
		}
		for _, d := range declarations(n.block) {
			if name, v, ok := customProperty(d); ok {
				defs[name] = append(defs[name], v)
			} else {
				*reads = append(*reads, varRefs(d)...)
			}
		}
	}
}

// dropVars removes the definitions of custom properties nothing reads, and the rules
// left empty.
func dropVars(nodes []cssNode, used map[string]bool) []cssNode {
	out := nodes[:0:0]
	for _, n := range nodes {
		switch {
		case n.children != nil:
			n.children = dropVars(n.children, used)
			if len(n.children) == 0 {
				continue
			}
		case n.hasBlock && !strings.HasPrefix(n.prelude, "@") && !strings.ContainsRune(n.block, '{'):
			var kept []string
			for _, d := range declarations(n.block) {
				if name, _, ok := customProperty(d); ok && !used[name] {
					continue
				}
				if strings.TrimSpace(d) != "" {
					kept = append(kept, d)
				}
			}
			if len(kept) == 0 {
				continue
			}
			n.block = strings.Join(kept, ";")
		}
		out = append(out, n)
	}
	return out
}

// keepKeyframes drops the @keyframes whose name the kept rules never mention.
func keepKeyframes(nodes []cssNode, kept string) []cssNode {
	out := nodes[:0:0]
	for _, n := range nodes {
		if n.children != nil {
			n.children = keepKeyframes(n.children, kept)
			if len(n.children) == 0 {
				continue
			}
		}
		if rest, ok := strings.CutPrefix(n.prelude, "@keyframes"); ok || strings.HasPrefix(n.prelude, "@-webkit-keyframes") {
			if !ok {
				rest = strings.TrimPrefix(n.prelude, "@-webkit-keyframes")
			}
			name := strings.Trim(strings.TrimSpace(rest), `"'`)
			if strings.Count(kept, name) < 2 { // its own prelude is one mention
				continue
			}
		}
		out = append(out, n)
	}
	return out
}

func writeCSS(b *bytes.Buffer, nodes []cssNode) {
	for _, n := range nodes {
		b.WriteString(n.prelude)
		switch {
		case n.children != nil:
			b.WriteByte('{')
			writeCSS(b, n.children)
			b.WriteByte('}')
		case n.hasBlock:
			b.WriteByte('{')
			b.WriteString(n.block)
			b.WriteByte('}')
		}
	}
}
