package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"coffre/vault/i18n"
)

// TestPageFrenchSpaces: the issuer's page is French written outside Coffre's catalogue,
// spaced as it is (i18n.FrenchSpaceFaults), whatever it shows: a paper deposited, its
// receipt checked or not, or an error.
func TestPageFrenchSpaces(t *testing.T) {
	s := &service{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var pages []string
	for _, c := range []struct {
		p   *person
		err string
	}{
		{&person{subscription: "s", result: &deposited{Title: "Attestation de paiement – mars", SHA256: "ab12", Verified: true}}, ""},
		{&person{subscription: "s", result: &deposited{Title: "Attestation de paiement – mars", Problem: checkReceipt("", nil, "", "")}}, ""},
		{&person{subscription: "s"}, depositFailed + "délai dépassé"},
		{nil, "Vous avez refusé. Vous pouvez recommencer quand vous voulez."},
	} {
		rec := httptest.NewRecorder()
		s.render(rec, c.p, c.err)
		pages = append(pages, rec.Body.String())
	}
	for _, p := range pages {
		for _, f := range i18n.PageSpaceFaults(p) {
			t.Error(f)
		}
	}
	if !strings.Contains(pages[0], "«&nbsp;Attestation de paiement – mars&nbsp;»") || !strings.Contains(pages[1], "NON VÉRIFIÉ&nbsp;: reçu illisible") {
		t.Errorf("the pages: %s", pages)
	}
}
