package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/web"
)

// TestAccessibilityStatement: the statement the law asks for is linked from every page's
// footer with its state, and says, in French and in English, the state of conformity,
// the criteria checked and how, what is left, the date, the technologies, how to reach
// the team and the recourse to the Défenseur des droits.
func TestAccessibilityStatement(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) { c.Contact = "accessibilite@coffre.example.fr" })
	c := b.client(t)
	for _, p := range []string{"/", "/connexion", "/aide"} {
		_, body := c.get(p)
		if !strings.Contains(body, "href=\"/accessibilite\">Accessibilité\u00a0: non conforme</a>") {
			t.Errorf("%s: the footer does not link to the statement with its state", p)
		}
	}
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"fr", []string{"Déclaration d'accessibilité", "article 47 de la loi n°\u00a02005-102", "s'applique à " + b.base,
			"Coffre est non conforme au RGAA 4.1", "106 critères", "Le 29 novembre 2026, nous avons vérifié",
			"axe-core", "clavier seul", "critères 1.1 et 1.2", "critères 12.6, 12.7, 12.8 et 12.9", "Ce qui reste à faire", "critère 13.3",
			"Contenus non soumis à l'obligation", "établie le 29 novembre 2026", "HTML5, CSS, WAI-ARIA et JavaScript", "Pages vérifiées",
			"Pour écrire à l'équipe du service\u00a0: <strong>accessibilite@coffre.example.fr</strong>",
			`href="https://formulaire.defenseurdesdroits.fr/"`, "délégué du Défenseur des droits", "Libre réponse 71120, 75342 Paris CEDEX 07"}},
		{"en", []string{"Accessibility statement", "Coffre is not compliant with the RGAA 4.1", "On 29 November 2026, we checked",
			"criteria 1.1 and 1.2", "What is left to do", "made on 29 November 2026", "accessibilite@coffre.example.fr",
			"Libre réponse 71120", "Accessibility: not compliant"}},
	} {
		u, _ := url.Parse(c.base)
		c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: tc.lang, Path: "/"}})
		resp, body := c.get("/accessibilite")
		body = html.UnescapeString(body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", tc.lang, resp.StatusCode)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the statement does not say %q", tc.lang, w)
			}
		}
	}
	// Without a contact configured, the page sends people to the desk that helps them.
	_, body := setup(t).client(t).get("/accessibilite")
	if strings.Contains(body, "a11y-contact") || !strings.Contains(html.UnescapeString(body), "dites-le à l'accueil qui vous aide") {
		t.Errorf("without a contact, the statement still shows one, or no way to report a problem")
	}
}

// TestOneAlertPerError: a form sent back with an error says it once, so that a screen
// reader reads it once (the layout shows the page's error; a page must not show it again).
func TestOneAlertPerError(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("nadia", "le chat mange la pomme")
	o := ownerOf(t, b, "nadia")
	d := paper(t, b, o, vault.KindCAF, "Attestation CAF")
	resp, body := c.post("/partager", url.Values{"csrf": {c.csrf("/partager")}, "lifetime": {"24h"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("share without a paper: %d", resp.StatusCode)
	}
	if n := strings.Count(body, `role="alert"`); n != 1 {
		t.Errorf("share without a paper: the error is shown %d times", n)
	}
	link, err := b.share.CreateLink(t.Context(), o, vault.Actor{Kind: vault.ActorOwner, ID: o.String()}, sharing.NewLink{Documents: []uuid.UUID{d.ID}, WithCode: true})
	if err != nil {
		t.Fatal(err)
	}
	visitor := b.client(t)
	path := "/p/" + link.Token
	wrong := "000000"
	if link.Code == wrong {
		wrong = "111111"
	}
	resp, body = visitor.post(path, url.Values{"csrf": {visitor.csrf(path)}, "code": {wrong}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
	if n := strings.Count(body, `role="alert"`); n != 1 {
		t.Errorf("wrong code: the error is shown %d times", n)
	}
}
