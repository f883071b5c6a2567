package web

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"coffre/vault"
)

// TestDefaultTitlePlain: a title given by default is plain text in every language, with
// no mark of isolation (shown on pages of either direction and naming the file); one
// given before, with the marks, is still known as the default.
func TestDefaultTitlePlain(t *testing.T) {
	t.Parallel()
	h := &handler{pages: parsePages(loadAssets()), log: slog.New(slog.DiscardHandler)}
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for _, lang := range languages {
		title := h.defaultTitle(lang, vault.KindCAF, at)
		if strings.ContainsAny(title, "\u2068\u2069") || title == "" {
			t.Errorf("%s: %q", lang, title)
		}
	}
	old := h.pages.cat.text("ar", "doc.defaulttitle", h.pages.cat.text("ar", "kind.caf"), localeOf("ar").Date(at))
	if !strings.Contains(old, "\u2068") || !h.isDefaultTitle(old, vault.KindCAF, at) {
		t.Errorf("a default title with its marks is not known: %q", old)
	}
	first := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if !h.isDefaultTitle("Attestation CAF du 1 décembre 2026", vault.KindCAF, first) || !h.isDefaultTitle(h.defaultTitle("fr", vault.KindCAF, first), vault.KindCAF, first) || !h.isDefaultTitle(h.defaultTitle("en", vault.KindCAF, first), vault.KindCAF, first) {
		t.Error("a French default title of the first of a month, « 1 » or « 1er », is not known")
	}
	if cd := contentDisposition("attachment", old+".pdf"); strings.Contains(cd, "%E2%81%A8") || strings.Contains(cd, "%E2%81%A9") {
		t.Errorf("marks of isolation in the file's name: %s", cd)
	}
}
