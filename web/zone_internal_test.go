package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"coffre/vault"
)

// TestDeviceZone: the device's zone is read from tz, or from __Host-tz only over TLS (a
// neighbouring subdomain can plant the first, not the second); another zone's name, or
// one Coffre does not offer, is ignored; Saint-Martin's names Guadeloupe's.
func TestDeviceZone(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		tls          bool
		cookie, zone string
		want         string
	}{
		{false, "tz", "Indian/Reunion", "Indian/Reunion"},
		{false, "tz", "America/Marigot", "America/Guadeloupe"},
		{false, "tz", "America/St_Barthelemy", "America/Guadeloupe"},
		{false, "tz", "Europe/Berlin", ""},
		{false, "tz", "Local", ""},
		{false, "tz", "", ""},
		{false, "__Host-tz", "Indian/Reunion", ""},
		{true, "tz", "Indian/Reunion", ""},
		{true, "__Host-tz", "Indian/Mayotte", "Indian/Mayotte"},
	} {
		h := &handler{cfg: Config{BehindTLS: c.tls}}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: c.cookie, Value: c.zone})
		if got := h.deviceZone(r); got != c.want {
			t.Errorf("TLS %v, %s=%q: %q, want %q", c.tls, c.cookie, c.zone, got, c.want)
		}
		want := c.want
		if want == "" {
			want = "Europe/Paris"
		}
		if got := h.requestZone(r); got != want {
			t.Errorf("TLS %v, %s=%q: the page's zone is %q, want %q", c.tls, c.cookie, c.zone, got, want)
		}
	}
}

// TestExpiredWhereReaderLives: a paper has expired once its expiry day is over where its
// reader lives: on its last day it has not, in Paris at 01:30 as at 14:00, while in
// Nouméa the next day has begun.
func TestExpiredWhereReaderLives(t *testing.T) {
	t.Parallel()
	h := &handler{pages: parsePages(loadAssets()), log: slog.New(slog.DiscardHandler)}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		zone    string
		now     time.Time
		expired bool
	}{
		{"Europe/Paris", time.Date(2026, 3, 1, 0, 30, 0, 0, time.UTC), false},
		{"Europe/Paris", time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC), false},
		{"Pacific/Noumea", time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC), true},
		{"America/Cayenne", time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), false},
		{"Europe/Paris", time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), true},
	} {
		r := httptest.NewRequest(http.MethodGet, "/papiers", nil)
		r.AddCookie(&http.Cookie{Name: zoneCookie, Value: c.zone})
		it := h.item(r, vault.Summary{Title: "Carte", Kind: vault.KindIdentite, ExpiresOn: &day, CreatedAt: day}, c.now)
		if it.Expired != c.expired || !it.Expired && !it.Expiring {
			t.Errorf("in %s at %s: expired %v, expiring %v; want expired %v", c.zone, c.now, it.Expired, it.Expiring, c.expired)
		}
	}
}
