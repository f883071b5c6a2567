package web

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"coffre/vault"
	"coffre/vault/account"
)

// TestDefaultTitlePlain: a title given by default is plain text in every language, with
// no mark of isolation (shown on pages of either direction and naming the file); one
// given before, with the marks, is still known as the default.
func TestDefaultTitlePlain(t *testing.T) {
	t.Parallel()
	h := &handler{pages: parsePages(loadAssets()), log: slog.New(slog.DiscardHandler)}
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for _, lang := range languages {
		title := h.defaultTitle(reader{lang, account.Location(account.Paris)}, vault.KindCAF, at)
		if strings.ContainsAny(title, "\u2068\u2069") || title == "" {
			t.Errorf("%s: %q", lang, title)
		}
	}
	old := h.pages.cat.text("ar", "doc.defaulttitle", h.pages.cat.text("ar", "kind.caf"), localeOf("ar").Date(at))
	if !strings.Contains(old, "\u2068") || !h.isDefaultTitle(old, vault.KindCAF, at, nil) {
		t.Errorf("a default title with its marks is not known: %q", old)
	}
	first := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fr, en := reader{"fr", account.Location(account.Paris)}, reader{"en", account.Location(account.Paris)}
	if !h.isDefaultTitle("Attestation CAF du 1 décembre 2026", vault.KindCAF, first, nil) || !h.isDefaultTitle(h.defaultTitle(fr, vault.KindCAF, first), vault.KindCAF, first, nil) || !h.isDefaultTitle(h.defaultTitle(en, vault.KindCAF, first), vault.KindCAF, first, nil) {
		t.Error("a French default title of the first of a month, « 1 » or « 1er », is not known")
	}
	if cd := contentDisposition("attachment", old+".pdf"); strings.Contains(cd, "%E2%81%A8") || strings.Contains(cd, "%E2%81%A9") {
		t.Errorf("marks of isolation in the file's name: %s", cd)
	}
}

// TestDefaultTitleZones: a paper added late in the evening overseas is dated that day
// there and the next day in Paris; its default title is known to a reader in Paris or in
// its zone, the year's last evening included, and each sees it dated in their time. A
// title a person wrote with the day before is theirs.
func TestDefaultTitleZones(t *testing.T) {
	t.Parallel()
	h := &handler{pages: parsePages(loadAssets()), log: slog.New(slog.DiscardHandler)}
	paris, martinique := account.Location(account.Paris), account.Location("America/Martinique")
	for _, c := range []struct {
		at                    time.Time
		inParis, inMartinique string
	}{
		// 23:30 in Martinique, 04:30 in Paris.
		{time.Date(2026, 11, 30, 3, 30, 0, 0, time.UTC), "Attestation CAF du 30 novembre 2026", "Attestation CAF du 29 novembre 2026"},
		// New Year's Eve in Martinique, New Year's Day in Paris.
		{time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC), "Attestation CAF du 1er janvier 2027", "Attestation CAF du 31 décembre 2026"},
	} {
		there := h.defaultTitle(reader{"fr", martinique}, vault.KindCAF, c.at)
		if there != c.inMartinique {
			t.Errorf("%s in Martinique: %q, want %q", c.at, there, c.inMartinique)
		}
		if !h.isDefaultTitle(there, vault.KindCAF, c.at, martinique) || !h.isDefaultTitle(c.inParis, vault.KindCAF, c.at, martinique) {
			t.Errorf("%q or %q is not known as a default title in Martinique", there, c.inParis)
		}
		if got := h.shownTitle(reader{"fr", martinique}, c.inParis, vault.KindCAF, c.at); got != there {
			t.Errorf("%q read in Martinique: %q, want %q", c.inParis, got, there)
		}
		if got := h.shownTitle(reader{"fr", paris}, there, vault.KindCAF, c.at); got != there {
			t.Errorf("%q, given in Martinique, read in Paris: %q; a reader in Paris cannot tell it from a title written", there, got)
		}
		if en := h.shownTitle(reader{"en", martinique}, there, vault.KindCAF, c.at); !strings.Contains(en, "CAF") || en == there {
			t.Errorf("%q read in English in Martinique: %q", there, en)
		}
	}
	// A person in Paris who writes the paper's own date, the day before, keeps it.
	mine, added := "Attestation CAF du 29 novembre 2026", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for _, zone := range []*time.Location{paris, nil} {
		if h.isDefaultTitle(mine, vault.KindCAF, added, zone) || h.shownTitle(reader{"fr", paris}, mine, vault.KindCAF, added) != mine {
			t.Errorf("%q, written on 30 November in Paris, is taken for a default title", mine)
		}
	}
}

// TestLocalDay: an instant is shown in the reader's time, a calendar day (midnight UTC, a
// paper's expiry) stays its day west of Greenwich.
func TestLocalDay(t *testing.T) {
	t.Parallel()
	cayenne := account.Location("America/Cayenne")
	day := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	if got := localDay(day, cayenne); got.Day() != 1 || got.Month() != time.March {
		t.Errorf("the calendar day 1 March is %s in Guyane", got)
	}
	instant := time.Date(2027, 3, 1, 2, 0, 0, 0, time.UTC)
	if got := localDay(instant, cayenne); got.Day() != 28 || got.Hour() != 23 {
		t.Errorf("2:00 UTC on 1 March is %s in Guyane, want 28 February at 23:00", got)
	}
	if got := localDay(day.In(time.Local).Add(time.Nanosecond), cayenne); got.Location() != cayenne {
		t.Errorf("an instant is not converted: %s", got)
	}
}
