package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// TestTitlesInReadersLanguage: a paper added without a title, on a page in Arabic, is named
// by default in Arabic; read in French, on every page that names it, it is named in
// French, and a link's holder reading English reads it in English. A title the person
// wrote is shown as written. What is stored does not change.
func TestTitlesInReadersLanguage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("amal.h", "une phrase secrète assez longue")
	owner := mustOwner(t, b, "amal.h")
	c.get("/langue/ar")
	given := c.deposit(map[string]string{"kind": "caf"}, paperPath("27-attestation_caf.jpg"))
	written := c.deposit(map[string]string{"kind": "banque", "title": "RIB La Poste"}, paperPath("47-rib.jpg"))
	ctx := context.Background()
	d, err := b.v.Document(ctx, owner, given, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()})
	if err != nil || !strings.HasPrefix(d.Title, "شهادة CAF بتاريخ ") {
		t.Fatalf("the title given in Arabic: %q %v", d.Title, err)
	}
	l, err := b.share.CreateLink(ctx, owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, sharing.NewLink{Documents: []uuid.UUID{given, written}})
	if err != nil {
		t.Fatal(err)
	}

	c.get("/langue/fr")
	const fr = "Attestation CAF du "
	for _, p := range []struct {
		path string
		both bool // the paper whose title the person wrote is on the page too
	}{
		{"/papiers", true}, {"/papiers?type=caf", false}, {"/papiers/" + given.String(), false},
		{"/papiers/" + given.String() + "/imprimer", false}, {"/papiers/chercher?q=caf", false},
		{"/partager", true}, {"/partages", true}, {"/historique", false},
	} {
		resp, body := c.get(p.path)
		page := html.UnescapeString(body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, fr) || strings.Contains(page, "شهادة CAF") {
			t.Errorf("%s in French: %d, the paper is not named « %s… », or still in Arabic", p.path, resp.StatusCode, fr)
		}
		if p.both && !strings.Contains(page, "RIB La Poste") {
			t.Errorf("%s: the title the person wrote is not shown as written", p.path)
		}
	}
	// The form that edits it offers the French name; the file is named by it.
	if _, body := c.get("/papiers/" + given.String() + "/modifier"); !strings.Contains(html.UnescapeString(body), `value="`+fr) {
		t.Error("the edit form does not offer the French name")
	}
	resp, _ := c.get("/papiers/" + given.String() + "/fichier/" + d.Blob(vault.RoleRendition).ID.String() + "?a=telecharger")
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, url.PathEscape("Attestation CAF du")) && !strings.Contains(cd, "Attestation CAF du") {
		t.Errorf("the downloaded file is named %s", cd)
	}

	// A link's holder reading English.
	holder := b.client(t)
	holder.get("/langue/en")
	if _, body := holder.get("/p/" + l.Token); !strings.Contains(html.UnescapeString(body), "CAF certificate of ") || !strings.Contains(body, "RIB La Poste") {
		t.Error("the link's page in English does not name the paper in English")
	}

	// Stored as it was given.
	if d, err := b.v.Document(ctx, owner, given, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}); err != nil || !strings.HasPrefix(d.Title, "شهادة CAF") {
		t.Errorf("the stored title changed: %q %v", d.Title, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("download: %d", resp.StatusCode)
	}
}
