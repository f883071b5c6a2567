package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
)

var pendingRE = regexp.MustCompile(`name="pending" value="([^"]+)"`)

// addPageForm posts "Ajouter un papier" as a browser without JavaScript does: the token
// first, then the fields and the photo, and the button pressed.
func (c *client) addPageForm(pending string, photo []byte, button ...string) (*http.Response, string) {
	c.t.Helper()
	tok := c.csrf("/papiers/ajouter")
	parts := []part{{"csrf", "", []byte(tok)}}
	if pending != "" {
		parts = append(parts, part{"pending", "", []byte(pending)})
	}
	parts = append(parts, part{"pages", "photo.jpg", photo}, part{"kind", "", []byte("impots")}, part{"title", "", []byte("Avis d'imposition")})
	if len(button) == 2 {
		parts = append(parts, part{button[0], "", []byte(button[1])})
	}
	return c.send("/papiers/ajouter", parts, nil)
}

func pendingOf(t *testing.T, body string) string {
	t.Helper()
	m := pendingRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no waiting pages in the form: %s", body)
	}
	return m[1]
}

func uploadMarkers(t *testing.T, db *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM blob_uploads`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Without JavaScript, « Ajouter une page » builds a paper one photo at a time: each page
// waits encrypted in the vault, nothing is a paper until « Mettre dans mon coffre »,
// a page can be taken out, and the waiting pages are gone once sent. The list of
// waiting pages only works for its owner and cannot be changed.
func TestAddPageOneAtATime(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	c := b.client(t)
	c.signup("amina", "le chat mange la pomme")
	owner := ownerOf(t, b, "amina")
	photo := func(name string) []byte {
		raw, _ := paperPhoto(t, name)
		return raw
	}
	docs := func() []vault.Document {
		t.Helper()
		ds, err := b.v.Documents(context.Background(), owner)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}

	// Page 1, page 2, page 3: each waits; no paper yet.
	resp, body := c.addPageForm("", photo("23-avis_imposition.jpg"), "addpage", "1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "La page 1 est prête") || !strings.Contains(body, `value="Avis d&#39;imposition"`) || !strings.Contains(body, `id="kind-impots" name="kind" value="impots" checked`) {
		t.Fatalf("after page 1: %d %s", resp.StatusCode, body)
	}
	pending := pendingOf(t, body)
	resp, body = c.addPageForm(pending, photo("24-avis_imposition.jpg"), "addpage", "1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "La page 2 est prête") {
		t.Fatalf("after page 2: %d %s", resp.StatusCode, body)
	}
	pending = pendingOf(t, body)
	resp, body = c.addPageForm(pending, photo("25-avis_imposition.jpg"), "addpage", "1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "La page 3 est prête") || strings.Count(body, `name="retirer"`) != 3 {
		t.Fatalf("after page 3: %d %s", resp.StatusCode, body)
	}
	pending = pendingOf(t, body)
	if len(docs()) != 0 {
		t.Fatal("waiting pages became a paper before it was sent")
	}
	if n := uploadMarkers(t, db); n != 3 {
		t.Fatalf("%d uploads wait, want 3", n)
	}
	// « Ajouter une page » without a photo says what to do.
	if resp, body := c.addPageForm(pending, nil, "addpage", "1"); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "prenez la page en photo, puis appuyez sur «\u00a0Ajouter une page\u00a0»") || pendingOf(t, body) == "" {
		t.Fatalf("a page without a photo: %d %s", resp.StatusCode, body)
	}

	// Another owner cannot use the list; a changed list is refused; nothing moves.
	other := b.client(t)
	other.signup("karim", "le chien boit du lait")
	if resp, body := other.addPageForm(pending, photo("26-avis_imposition.jpg")); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("another owner's waiting pages: %d %s", resp.StatusCode, body)
	}
	changed := []byte(pending)
	changed[len(changed)/2] ^= 1
	if resp, _ := c.addPageForm(string(changed), photo("26-avis_imposition.jpg")); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a changed list of waiting pages: %d", resp.StatusCode)
	}
	if n := uploadMarkers(t, db); n != 3 || len(docs()) != 0 {
		t.Fatalf("refused forms left %d uploads and %d papers", n, len(docs()))
	}

	// Take page 2 out.
	tok := c.csrf("/papiers/ajouter")
	resp, body = c.send("/papiers/ajouter", []part{{"csrf", "", []byte(tok)}, {"pending", "", []byte(pending)}, {"pages", "", nil}, {"kind", "", []byte("impots")}, {"title", "", []byte("Avis d'imposition")}, {"retirer", "", []byte("1")}}, nil)
	if resp.StatusCode != http.StatusOK || strings.Count(body, `name="retirer"`) != 2 {
		t.Fatalf("taking page 2 out: %d %s", resp.StatusCode, body)
	}
	pending = pendingOf(t, body)
	if n := uploadMarkers(t, db); n != 2 {
		t.Fatalf("%d uploads wait after taking one out, want 2", n)
	}

	// Send: the two waiting pages and the last photo are one paper of three pages.
	resp, body = c.addPageForm(pending, photo("26-avis_imposition.jpg"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sending the paper: %d %s", resp.StatusCode, body)
	}
	ds := docs()
	if len(ds) != 1 {
		t.Fatalf("%d papers, want 1", len(ds))
	}
	originals := 0
	for _, bl := range ds[0].Blobs {
		if bl.Role == vault.RoleOriginal {
			originals++
		}
	}
	if originals != 3 {
		t.Errorf("the paper has %d pages, want 3", originals)
	}
	if n := uploadMarkers(t, db); n != 0 {
		t.Errorf("%d uploads still wait after the paper was sent", n)
	}
	// The same list again: its pages are gone, and the form says so.
	if resp, body := c.addPageForm(pending, photo("26-avis_imposition.jpg")); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Une page prise plus tôt n&#39;est plus là") || pendingRE.MatchString(body) {
		t.Fatalf("a list already sent: %d %s", resp.StatusCode, body)
	}
	if len(docs()) != 1 {
		t.Error("a list already sent made another paper")
	}

	// A page reaped meanwhile (the person came back two days later): the form comes
	// back with the page that remains, and the paper is sent with it.
	_, body = c.addPageForm("", photo("27-attestation_caf.jpg"), "addpage", "1")
	_, body = c.addPageForm(pendingOf(t, body), photo("28-attestation_caf.jpg"), "addpage", "1")
	pending = pendingOf(t, body)
	if _, err := db.Exec(context.Background(), `UPDATE blob_uploads SET started_at = now() - interval '2 days' WHERE id = (SELECT id FROM blob_uploads ORDER BY started_at LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	if n, err := b.v.ReapUploads(context.Background(), 24*time.Hour); err != nil || n != 1 {
		t.Fatalf("reaped %d: %v", n, err)
	}
	resp, body = c.addPageForm(pending, photo("29-attestation_caf.jpg"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "voici celles qui restent") || strings.Count(body, `name="retirer"`) != 1 {
		t.Fatalf("a page reaped meanwhile: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.addPageForm(pendingOf(t, body), photo("29-attestation_caf.jpg")); resp.StatusCode != http.StatusSeeOther || len(docs()) != 2 {
		t.Fatalf("sending the pages that remain: %d %s", resp.StatusCode, body)
	}
}
