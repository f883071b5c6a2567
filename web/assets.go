package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/go-chi/chi/v5"
)

// static holds the pages' own CSS and JavaScript, and vendor/, filled by
// scripts/assets.sh with the parts of the DSFR in use.
//
//go:embed static
var static embed.FS

// asset is one file served under /static/{hash}/{name}: the hash changes with the
// content, so browsers may keep it a year.
type asset struct {
	name, contentType string
	body, gzipped     []byte
	hash              string
}

type assets struct {
	byName   map[string]*asset
	icons    map[string]template.HTML
	fontFace string // the @font-face of the one font, with its hashed address
}

// arabicRange are the characters of the Arabic-script font: the Arabic blocks, which
// Dari and Pashto use too, and the joiners (from @fontsource/noto-sans-arabic).
const arabicRange = `unicode-range:U+0600-06FF,U+0750-077F,U+0870-088E,U+0890-0891,U+0897-08E1,U+08E3-08FF,U+200C-200E,U+2010-2011,U+204F,U+2E41,U+FB50-FDFF,U+FE70-FE74,U+FE76-FEFC`

var (
	fontFaceRE = regexp.MustCompile(`@font-face\{[^}]*\}`)
	iconURLRE  = regexp.MustCompile(`url\((?:\.\./)+icons/([a-z]+/[a-z0-9-]+)\.svg\)`)
)

// loadAssets builds the served files from the embedded ones. The DSFR's CSS files are
// concatenated into one stylesheet (one request), cut down to the rules the pages can
// use (412 KB to 99 KB, 55 KB to 16 KB compressed: assets_css.go), their icons inlined
// as data URIs (no request each), and only the regular Marianne font is declared: the
// other weights are drawn from it, which saves 170 KB per first visit on a prepaid data
// plan.
func loadAssets() *assets {
	a := &assets{byName: map[string]*asset{}, icons: map[string]template.HTML{}}
	read := func(name string) []byte {
		b, err := static.ReadFile(name)
		if err != nil {
			return nil
		}
		return b
	}
	add := func(name, ctype string, body []byte, compress bool) *asset {
		sum := sha256.Sum256(body)
		as := &asset{name: name, contentType: ctype, body: body, hash: hex.EncodeToString(sum[:6])}
		if compress {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(body) // into memory: cannot fail
			zw.Close()
			as.gzipped = buf.Bytes()
		}
		a.byName[name] = as
		return as
	}
	// Icons, for the pages (inline SVG) and for the CSS (data URIs).
	// Without the DSFR's files (scripts/assets.sh not run) the pages go without icons.
	_ = fs.WalkDir(static, "static/vendor/icons", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".svg") {
			return nil
		}
		svg := string(read(p))
		name := strings.TrimSuffix(path.Base(p), ".svg")
		class := "ic"
		if strings.HasPrefix(name, "arrow-") {
			class = "ic ic-flip" // an arrow points the other way in a page read right to left (app.css)
		}
		inline := strings.Replace(svg, "<svg ", `<svg aria-hidden="true" focusable="false" class="`+class+`" fill="currentColor" `, 1)
		icon := template.HTML(inline) //nolint:gosec // an SVG file built into the program (the DSFR's), not anyone's text
		a.icons[name] = icon
		a.icons[strings.TrimSuffix(strings.TrimPrefix(p, "static/vendor/icons/"), ".svg")] = icon
		return nil
	})
	if font := read("static/vendor/fonts/Marianne-Regular.woff2"); font != nil {
		f := add("Marianne-Regular.woff2", "font/woff2", font, false)
		a.fontFace = `@font-face{font-family:Marianne;src:url(/static/` + f.hash + `/Marianne-Regular.woff2) format("woff2");font-weight:400;font-style:normal;font-display:optional}`
	}
	// Marianne has no Arabic letters. Only the pages written right to left name this font
	// (app.css), and the browser fetches it only when such a page has letters in its
	// unicode-range: a French page that shows « العربية » in the language chooser draws it
	// with the phone's own font and costs nothing more.
	if font := read("static/vendor/fonts/NotoSansArabic-Regular.woff2"); font != nil {
		f := add("NotoSansArabic-Regular.woff2", "font/woff2", font, false)
		a.fontFace += `@font-face{font-family:"Noto Sans Arabic";src:url(/static/` + f.hash + `/NotoSansArabic-Regular.woff2) format("woff2");font-weight:400;font-style:normal;font-display:optional;` + arabicRange + `}`
	}
	css := a.stylesheet(true)
	add("coffre.css", "text/css; charset=utf-8", css, true)
	add("upload.js", "text/javascript; charset=utf-8", read("static/upload.js"), true)
	add("precheck.js", "text/javascript; charset=utf-8", read("static/precheck.js"), true)
	add("passkey.js", "text/javascript; charset=utf-8", read("static/passkey.js"), true)
	add("share.js", "text/javascript; charset=utf-8", read("static/share.js"), true)
	add("listen.js", "text/javascript; charset=utf-8", read("static/listen.js"), true)
	add("zone.js", "text/javascript; charset=utf-8", read("static/zone.js"), true)
	return a
}

// stylesheet is the one stylesheet of the pages: the font, the DSFR's components (with
// subset, only the rules the pages can use: assets_css.go) with their icons inlined, and
// the pages' own rules.
func (a *assets) stylesheet(subset bool) []byte {
	entries, _ := static.ReadDir("static/vendor/css")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var dsfr bytes.Buffer
	for _, n := range names {
		b, _ := static.ReadFile("static/vendor/css/" + n)
		dsfr.Write(fontFaceRE.ReplaceAll(b, nil))
		dsfr.WriteByte('\n')
	}
	own, _ := static.ReadFile("static/app.css")
	used := dsfr.Bytes()
	if subset {
		icons := make([]string, 0, len(a.icons))
		for _, svg := range a.icons {
			icons = append(icons, string(svg))
		}
		used = usedCSS(used, pageWords(pageSources(icons)...), append([]byte(a.fontFace), own...))
	}
	var css bytes.Buffer
	css.WriteString(a.fontFace)
	css.Write(iconURLRE.ReplaceAllFunc(used, func(m []byte) []byte {
		sub := iconURLRE.FindSubmatch(m)
		svg, err := static.ReadFile("static/vendor/icons/" + string(sub[1]) + ".svg")
		if err != nil {
			return []byte("none")
		}
		return []byte(`url("data:image/svg+xml;base64,` + base64.StdEncoding.EncodeToString(svg) + `")`)
	}))
	css.WriteByte('\n')
	css.Write(own)
	return css.Bytes()
}

// url is the address of a named asset, with its content hash.
func (a *assets) url(name string) string {
	as, ok := a.byName[name]
	if !ok {
		return "/static/missing/" + name
	}
	return "/static/" + as.hash + "/" + name
}

// icon is a DSFR icon as inline SVG, hidden from screen readers: the words beside it
// carry the meaning.
func (a *assets) icon(name string) template.HTML { return a.icons[name] }

func (h *handler) static(w http.ResponseWriter, r *http.Request) {
	as, ok := h.assets.byName[chi.URLParam(r, "name")]
	if !ok || as.hash != chi.URLParam(r, "hash") {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", as.contentType)
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("Vary", "Accept-Encoding")
	body := as.body
	if as.gzipped != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		hd.Set("Content-Encoding", "gzip")
		body = as.gzipped
	}
	_, _ = w.Write(body) // the client has gone: nothing left to tell it
}
