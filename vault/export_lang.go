package vault

import (
	"strings"

	"coffre/vault/i18n"
)

// What of the export speaks the owner's language: the notice beside LISEZMOI.txt and
// manifest.csv's column names and kind labels. The words are in coffre/vault/i18n
// (export.readme.*, export.csv.*, kind.*), like the pages'.

// exportLang is lang if Coffre speaks it, French otherwise.
func exportLang(lang string) string {
	if lang == "" || !i18n.Valid(lang) {
		return "fr"
	}
	return lang
}

// readmeParagraphs are the notice's paragraphs, in order; export.readme.count takes the
// numbers of documents and files.
var readmeParagraphs = []string{ //nolint:gochecknoglobals // a constant table
	"export.readme.title", "export.readme.intro", "export.readme.count", "export.readme.keep", "export.readme.documents",
	"export.readme.pdf", "export.readme.journal", "export.readme.check", "export.readme.french",
}

// readmeTranslation is the archive's notice in lang (LISEZMOI-<lang>.txt): what the
// files are, the technical details staying in LISEZMOI.txt. The numbers are written as
// "Number of documents: 1", which needs no plural in any language.
func readmeTranslation(lang string, documents, files int) string {
	var b strings.Builder
	for _, id := range readmeParagraphs {
		if id == "export.readme.count" {
			b.WriteString(i18n.Text(lang, id, documents, files))
		} else {
			b.WriteString(i18n.Text(lang, id))
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

// csvColumns name manifest.csv's columns (export.csv.<name>), sha256 last.
var csvColumns = []string{ //nolint:gochecknoglobals // a constant table
	"document", "kind", "kindlabel", "title", "issued", "expires", "deposited", "depositorkind", "depositorid",
	"file", "role", "position", "mediatype", "originalname", "size",
}

// csvHeader is manifest.csv's first line in lang.
func csvHeader(lang string) []string {
	h := make([]string, 0, len(csvColumns)+1)
	for _, c := range csvColumns {
		h = append(h, i18n.Text(lang, "export.csv."+c))
	}
	return append(h, "sha256")
}

// kindLabel is the kind's name in lang, as the pages show it.
func kindLabel(lang string, k Kind) string { return i18n.Text(lang, "kind."+string(k)) }
