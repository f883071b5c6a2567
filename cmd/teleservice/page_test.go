package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"coffre/vault/i18n"
)

// TestPageFrenchSpaces: the téléservice's page is French written outside Coffre's
// catalogue, spaced as it is (i18n.FrenchSpaceFaults), whatever it shows: the papers
// received, checked or not, their 2D-Doc's facts and marked copy, or an error.
func TestPageFrenchSpaces(t *testing.T) {
	verified := &proof{Status: "valid", Verified: true, Type: "Attestation de paiement", Issuer: "CAF du Nord"}
	verified.Facts = append(verified.Facts, struct {
		Label string `json:"label"`
		Value string `json:"value"`
	}{"Montant versé", "312,00\u00a0€"})
	docs := []received{
		{Title: "Attestation CAF", Size: 52300, Verified: true, Proof: verified, Watermark: "Transmis à Mairie de Lille"},
		{Title: "Avis d'impôt", Size: 1200, Problem: checkReceipt("", nil, "", "", ""), Proof: &proof{Status: "invalid_signature"}},
	}
	var pages []string
	var b bytes.Buffer
	if err := page.Execute(&b, map[string]any{"Documents": docs}); err != nil {
		t.Fatal(err)
	}
	pages = append(pages, b.String())
	h := New(Config{Coffre: "http://127.0.0.1:1", Self: "http://127.0.0.1:2"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, target := range []string{"/", "/retour?state=inconnu"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", target, rec.Code)
		}
		pages = append(pages, rec.Body.String())
	}
	for _, p := range pages {
		for _, f := range i18n.PageSpaceFaults(p) {
			t.Error(f)
		}
	}
	if !strings.Contains(pages[0], "52300&nbsp;octets") || !strings.Contains(pages[0], "Copie marquée&nbsp;: «&nbsp;Transmis à Mairie de Lille&nbsp;»") ||
		!strings.Contains(pages[0], "NON VÉRIFIÉ&nbsp;: reçu illisible") || !strings.Contains(pages[2], "aucune demande en cours") {
		t.Errorf("the pages: %s", pages)
	}
}
