package web_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"coffre/ingest"
	"coffre/vault"
)

// photoPaper deposits one of the generated papers as the deposit form would: its
// rendition and thumbnail, the title given by default.
func photoPaper(t *testing.T, b *testBundle, owner uuid.UUID, photo, title string) uuid.UUID {
	t.Helper()
	src, err := os.ReadFile(paperPath(photo))
	if err != nil {
		t.Fatal(err)
	}
	var pdf, thumb bytes.Buffer
	if _, err := ingest.Process(context.Background(), []io.Reader{bytes.NewReader(src)}, ingest.Options{}, &pdf, &thumb); err != nil {
		t.Fatal(err)
	}
	d, err := b.v.Deposit(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, vault.NewDocument{
		Kind: vault.KindAutre, Title: title, Files: []vault.File{
			{Role: vault.RoleRendition, MediaType: "application/pdf", Body: &pdf, Size: int64(pdf.Len())},
			{Role: vault.RoleThumbnail, MediaType: "image/jpeg", Body: &thumb, Size: int64(thumb.Len())},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// TestBrowserReading walks the reading of papers in headless Chromium, in French and in
// English, with axe-core and the page budgets on every state: the switch on « Mon
// compte », a paper being read, its suggestion, « Oui », the correction form, the search
// box and its results.
func TestBrowserReading(t *testing.T) {
	t.Parallel()
	b, _, rd := readingBundle(t)
	br := newBrowser(t)
	defer br.report()
	base := b.base
	br.signup(base, "Awa", "le chat mange la pomme")
	owner := ownerOf(t, b, "awa")

	br.visit("Mon compte (lecture arrêtée)", base+"/compte")
	br.do("turn reading on", chromedp.Click(chromedp.CSS("form[action='/compte/lecture'] button[type=submit]")))
	br.waitURL(`/compte\?lecture=oui`)
	if s := br.text(); !strings.Contains(s, "La lecture est activée.") {
		t.Fatalf("after turning reading on: %s", s)
	}
	br.visit("Mon compte (lecture activée)", base+"/compte?lecture=oui")

	permit := photoPaper(t, b, owner, "11-titre_sejour.jpg", "Autre papier du 29 novembre 2026")
	passport := photoPaper(t, b, owner, "17-passeport.jpg", "Passeport de ma fille")
	doc := base + "/papiers/" + permit.String()
	br.visit("Le papier (lecture en cours)", doc+"?nouveau=1")
	if !strings.Contains(br.text(), "Coffre lit ce papier") {
		t.Errorf("the paper's page does not say it is being read: %s", br.text())
	}
	readAll(t, rd, owner)
	br.visit("Le papier (proposition)", doc)
	if s := br.text(); !strings.Contains(s, "Est-ce un titre de séjour\u202f?") || !strings.Contains(s, "Ce papier expire le 7 février 2026.") {
		t.Fatalf("no suggestion on the paper's page: %s", s)
	}
	br.do("yes", chromedp.Click(chromedp.CSS("button[name=reponse][value=oui]")))
	br.waitURL(`\?proposition=oui$`)
	if s := br.text(); !strings.Contains(s, "votre papier est à jour") || !strings.Contains(s, "Titre de séjour") {
		t.Fatalf("after « Oui »: %s", s)
	}
	br.visit("Le papier (proposition acceptée)", doc+"?proposition=oui")
	br.visit("Modifier (proposition à corriger)", base+"/papiers/"+passport.String()+"/modifier?proposition=1")
	if s := br.text(); !strings.Contains(s, "Vérifiez ce que nous avons lu") {
		t.Errorf("the correction form does not say what to do: %s", s)
	}
	br.visit("Mes papiers (recherche)", base+"/papiers")
	br.do("search", chromedp.SendKeys(chromedp.CSS("#q"), "SEJOUR"), chromedp.Click(chromedp.CSS("form[role=search] button[type=submit]")))
	br.waitURL(`/papiers/chercher\?q=SEJOUR$`)
	// The kind is a badge, which the page writes in capitals.
	if s := strings.ToLower(br.text()); !strings.Contains(s, "titre de séjour") || !strings.Contains(s, "papiers trouvés") {
		t.Fatalf("search results: %s", s)
	}
	br.visit("Chercher (trouvé)", base+"/papiers/chercher?q=s%C3%A9jour")
	br.visit("Chercher (rien)", base+"/papiers/chercher?q=zebulon")
	br.visit("Chercher (vide)", base+"/papiers/chercher")

	br.do("English", chromedp.Navigate(base+"/langue/en?retour=/compte"))
	br.waitURL(`/compte$`)
	br.visit("My account (reading on)", base+"/compte")
	if s := br.text(); !strings.Contains(s, "this text stays encrypted") {
		t.Errorf("no English sentence for reading: %s", s)
	}
	br.visit("The paper (suggestion)", base+"/papiers/"+passport.String())
	if s := br.text(); !strings.Contains(s, "Is this a passport?") {
		t.Errorf("no English question: %s", s)
	}
	br.visit("Edit (suggestion to correct)", base+"/papiers/"+passport.String()+"/modifier?proposition=1")
	br.visit("Search (found)", base+"/papiers/chercher?q=PASSEPORT")
	if s := br.text(); !strings.Contains(s, "Passeport de ma fille") || !strings.Contains(s, "Papers found") {
		t.Errorf("English search results: %s", s)
	}
	br.visit("Search (nothing)", base+"/papiers/chercher?q=zebulon")
	br.do("turn reading off", chromedp.Navigate(base+"/compte"), chromedp.Click(chromedp.CSS("form[action='/compte/lecture'] button[type=submit]")))
	br.waitURL(`/compte\?lecture=non`)
	br.visit("My account (reading off)", base+"/compte?lecture=non")
	br.visit("Search (titles only)", base+"/papiers/chercher?q=fille")
	if s := br.text(); !strings.Contains(s, "Passeport de ma fille") || !strings.Contains(s, "turn on the reading of your papers") {
		t.Errorf("search with reading off: %s", s)
	}
}
