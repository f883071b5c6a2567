package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
	"coffre/web"
)

func paperPath(name string) string { return filepath.Join("..", "ingest", "testdata", "papers", name) }

// readingBundle serves the pages over a vault whose database the test reads, with a
// Reader over the same vault, run by hand as the River job runs it.
func readingBundle(t *testing.T) (*testBundle, *pgxpool.Pool, *web.Reader) {
	t.Helper()
	b := setup(t)
	// The date the generated papers of ingest/testdata/papers are read at.
	papersToday := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	return b, b.db, web.NewReader(web.ReaderConfig{Vault: b.v, Now: func() time.Time { return papersToday }})
}

// deposit sends one photo through the add form and returns the new paper's ID.
func (c *client) deposit(fields map[string]string, photo string) uuid.UUID {
	c.t.Helper()
	resp, body := c.upload("/papiers/ajouter", c.csrf("/papiers/ajouter"), fields, photo)
	m := docLinkRE.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		c.t.Fatalf("deposit: %d %s", resp.StatusCode, body)
	}
	return uuid.MustParse(m[1])
}

func readAll(t *testing.T, rd *web.Reader, owner uuid.UUID) {
	t.Helper()
	for i := 0; ; i++ {
		more, err := rd.ReadSome(context.Background(), owner, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			return
		}
		if i > 10 {
			t.Fatal("the reading never ends")
		}
	}
}

func countRows(t *testing.T, db *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var docTitleRE = regexp.MustCompile(`<span class="cf-doc-title"><bdi>([^<]*)</bdi></span>`)

// searchTitles runs the search page and returns the titles it lists.
func (c *client) searchTitles(q string) []string {
	c.t.Helper()
	resp, body := c.get("/papiers/chercher?q=" + url.QueryEscape(q))
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("search %q: %d", q, resp.StatusCode)
	}
	var out []string
	for _, m := range docTitleRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// The switch of « Mon compte »: off by default with its sentence; on, it queues the
// reading and the texts read are searched; off, every text read is erased from the
// tables and only titles and kinds are found. Both switches are in the history.
func TestReadingSwitchAndSearch(t *testing.T) {
	t.Parallel()
	b, db, rd := readingBundle(t)
	c := b.client(t)
	c.signup("lea.martin", "une phrase secrète assez longue")
	owner := mustOwner(t, b, "lea.martin")
	_, page := c.get("/compte")
	for _, want := range []string{"Coffre peut lire le texte de vos papiers", "ce texte reste chiffré", "La lecture est arrêtée.", `name="lecture" value="oui"`} {
		if !strings.Contains(page, want) {
			t.Errorf("« Mon compte » lacks %q", want)
		}
	}
	payslip := c.deposit(map[string]string{"kind": "logement", "title": "Quittance de mars"}, paperPath("31-bulletin_salaire.jpg"))
	if n := b.queue.queued(owner); n != 0 {
		t.Fatalf("papers queued for reading while reading is off: %d", n)
	}
	// Titles and kinds are found at once, whatever the accents and capitals.
	for _, q := range []string{"quittance", "MARS", "Quittances", "loyer", "logement"} {
		if got := c.searchTitles(q); len(got) != 1 || got[0] != "Quittance de mars" {
			t.Errorf("search %q: %q", q, got)
		}
	}
	if got := c.searchTitles("paie"); len(got) != 0 {
		t.Errorf("a text is searched before reading was turned on: %q", got)
	}
	if _, body := c.get("/papiers/chercher?q=paie"); !strings.Contains(body, "activez la lecture de vos papiers") {
		t.Error("the search page does not say that the texts are not searched")
	}
	readAll(t, rd, owner)
	if _, err := b.v.Text(context.Background(), owner, payslip); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("a paper was read while reading is off: %v", err)
	}

	tok := c.csrf("/compte")
	resp, _ := c.post("/compte/lecture", url.Values{"csrf": {tok}, "lecture": {"oui"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte?lecture=oui#s-reading" {
		t.Fatalf("turn on: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := b.queue.queued(owner); n != 1 {
		t.Fatalf("turning reading on queued %d readings, want 1", n)
	}
	if _, page := c.get("/compte?lecture=oui"); !strings.Contains(page, "La lecture est activée.") || !strings.Contains(page, "Coffre va lire vos papiers") {
		t.Error("« Mon compte » does not say that reading is on")
	}
	readAll(t, rd, owner)
	text, err := b.v.Text(context.Background(), owner, payslip)
	if err != nil || !strings.Contains(strings.ToLower(text), "bulletin de paie") {
		t.Fatalf("text read: %q, %v", text, err)
	}
	for _, q := range []string{"paie", "BULLETIN", "Bulletins de paie", "impot a payer"} {
		if got := c.searchTitles(q); len(got) != 1 || got[0] != "Quittance de mars" {
			t.Errorf("search of the text %q: %q", q, got)
		}
	}
	// Another owner searching the same words finds nothing of Léa's.
	other := b.client(t)
	other.signup("paul.autre", "une autre phrase assez longue")
	if got := other.searchTitles("paie"); len(got) != 0 {
		t.Errorf("another owner finds %q", got)
	}

	tok = c.csrf("/compte")
	resp, _ = c.post("/compte/lecture", url.Values{"csrf": {tok}, "lecture": {"non"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte?lecture=non#s-reading" {
		t.Fatalf("turn off: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := countRows(t, db, `SELECT count(*) FROM document_texts WHERE owner_id = $1`, owner); n != 0 {
		t.Errorf("%d texts left after reading was turned off", n)
	}
	if got := c.searchTitles("paie"); len(got) != 0 {
		t.Errorf("an erased text is still found: %q", got)
	}
	if got := c.searchTitles("quittance"); len(got) != 1 {
		t.Errorf("the title is not found any more: %q", got)
	}
	_, hist := c.get("/historique")
	for _, want := range []string{"Vous avez activé la lecture de vos papiers.", "Vous avez arrêté la lecture de vos papiers.", "Coffre a lu le texte de «\u00a0Quittance de mars\u00a0»"} {
		if !strings.Contains(hist, want) {
			t.Errorf("the history lacks %q", want)
		}
	}
	// A search box sent empty, or with nothing to look for, gets a sentence.
	if _, body := c.get("/papiers/chercher?q=a"); !strings.Contains(body, "Tapez au moins un mot de deux lettres") {
		t.Error("a one-letter search gets no sentence")
	}
	if resp, body := c.get("/papiers/chercher"); resp.StatusCode != http.StatusOK || strings.Contains(body, "Papiers trouvés") {
		t.Errorf("an empty search: %d", resp.StatusCode)
	}
}

// Papers deposited before reading was turned on are read in the background, a few at a
// time, the newest first; each reading is journaled.
func TestReadingExistingDeposits(t *testing.T) {
	t.Parallel()
	b, _, rd := readingBundle(t)
	ctx := context.Background()
	c := b.client(t)
	c.signup("omar.b", "une phrase secrète assez longue")
	owner := mustOwner(t, b, "omar.b")
	first := c.deposit(map[string]string{"kind": "caf"}, paperPath("27-attestation_caf.jpg"))
	second := c.deposit(map[string]string{"kind": "banque"}, paperPath("47-rib.jpg"))
	if err := b.v.SetReading(ctx, owner, vault.System, true); err != nil {
		t.Fatal(err)
	}
	more, err := rd.ReadSome(ctx, owner, 1)
	if err != nil || !more {
		t.Fatalf("first batch: more=%v, %v", more, err)
	}
	if _, err := b.v.Text(ctx, owner, second); err != nil {
		t.Errorf("the newest paper was not read first: %v", err)
	}
	if _, err := b.v.Text(ctx, owner, first); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("more than one paper read in a batch of one: %v", err)
	}
	if more, err = rd.ReadSome(ctx, owner, 1); err != nil || more {
		t.Fatalf("second batch: more=%v, %v", more, err)
	}
	for _, d := range []uuid.UUID{first, second} {
		if txt, err := b.v.Text(ctx, owner, d); err != nil || txt == "" {
			t.Errorf("paper %s: text %q, %v", d, txt, err)
		}
	}
	entries, err := b.v.Journal(ctx, owner, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, e := range entries {
		if e.Action == vault.ActionRead && e.ActorKind == vault.ActorSystem {
			reads++
		}
	}
	if reads != 2 {
		t.Errorf("%d readings journaled, want 2", reads)
	}
}

// After a photo arrives, its page asks « Est-ce un titre de séjour ? » with the date read;
// « Oui » applies it through the paper's update (its name too, when the person typed
// none), « Corriger » opens the form filled with it, « Non, ignorer » changes nothing.
func TestSuggestionsThroughThePages(t *testing.T) {
	t.Parallel()
	b, _, rd := readingBundle(t)
	ctx := context.Background()
	c := b.client(t)
	c.signup("awa.d", "une phrase secrète assez longue")
	owner := mustOwner(t, b, "awa.d")
	if err := b.v.SetReading(ctx, owner, vault.System, true); err != nil {
		t.Fatal(err)
	}
	permit := c.deposit(nil, paperPath("11-titre_sejour.jpg"))
	if n := b.queue.queued(owner); n != 1 {
		t.Fatalf("the deposit queued %d readings, want 1", n)
	}
	_, page := c.get("/papiers/" + permit.String() + "?nouveau=1")
	if !strings.Contains(page, "Coffre lit ce papier") {
		t.Error("the new paper's page does not say it is being read")
	}
	readAll(t, rd, owner)
	_, page = c.get("/papiers/" + permit.String())
	for _, want := range []string{"Est-ce un titre de séjour\u202f?", "Ce papier expire le 7 février 2026.", "Son numéro finit par", `value="oui"`, "/modifier?proposition=1"} {
		if !strings.Contains(page, want) {
			t.Errorf("the paper's page lacks %q", want)
		}
	}
	d, err := b.v.Document(ctx, owner, permit, vault.System)
	if err != nil || d.Kind != vault.KindAutre || d.ExpiresOn != nil {
		t.Fatalf("the suggestion was applied before the person answered: %+v, %v", d, err)
	}
	tok := c.csrf("/papiers/" + permit.String())
	resp, _ := c.post("/papiers/"+permit.String()+"/proposition", url.Values{"csrf": {tok}, "reponse": {"oui"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/papiers/"+permit.String()+"?proposition=oui" {
		t.Fatalf("yes: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	d, err = b.v.Document(ctx, owner, permit, vault.System)
	if err != nil || d.Kind != vault.KindTitreSejour || d.ExpiresOn == nil || d.ExpiresOn.Format(time.DateOnly) != "2026-02-07" || d.Title != "Titre de séjour" {
		t.Fatalf("after « Oui »: %+v, %v", d, err)
	}
	_, page = c.get("/papiers/" + permit.String() + "?proposition=oui")
	if !strings.Contains(page, "votre papier est à jour") || strings.Contains(page, "Est-ce un titre de séjour\u202f?") {
		t.Error("after « Oui » the page still asks, or does not say it is done")
	}
	if _, hist := c.get("/historique"); !strings.Contains(hist, "Vous avez modifié «\u00a0Titre de séjour\u00a0»") {
		t.Error("the change is not in the history")
	}

	// « Corriger »: the form holds what was read; the name the person typed stays.
	passport := c.deposit(map[string]string{"title": "Mon passeport"}, paperPath("17-passeport.jpg"))
	readAll(t, rd, owner)
	if _, page = c.get("/papiers/" + passport.String()); !strings.Contains(page, "Est-ce un passeport\u202f?") {
		t.Fatal("the passport's page does not ask")
	}
	_, form := c.get("/papiers/" + passport.String() + "/modifier?proposition=1")
	for _, want := range []string{`value="2026-03-20"`, `name="proposition" value="1"`, `value="identite" checked`, `value="Mon passeport"`} {
		if !strings.Contains(form, want) {
			t.Errorf("the correction form lacks %q", want)
		}
	}
	tok = c.csrf("/papiers/" + passport.String() + "/modifier?proposition=1")
	resp, body := c.post("/papiers/"+passport.String()+"/modifier", url.Values{"csrf": {tok}, "title": {"Mon passeport"}, "kind": {"identite"},
		"expires_on": {"2026-03-21"}, "proposition": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("correct: %d %s", resp.StatusCode, body)
	}
	d, err = b.v.Document(ctx, owner, passport, vault.System)
	if err != nil || d.Kind != vault.KindIdentite || d.ExpiresOn.Format(time.DateOnly) != "2026-03-21" || d.Title != "Mon passeport" {
		t.Fatalf("after « Corriger »: %+v, %v", d, err)
	}
	if _, err := b.v.Suggestion(ctx, owner, passport); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("the corrected suggestion stays: %v", err)
	}

	// « Non, ignorer »: nothing changes, and the question goes.
	rib := c.deposit(map[string]string{"title": "Papier de la banque"}, paperPath("47-rib.jpg"))
	readAll(t, rd, owner)
	tok = c.csrf("/papiers/" + rib.String())
	resp, _ = c.post("/papiers/"+rib.String()+"/proposition", url.Values{"csrf": {tok}, "reponse": {"non"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/papiers/"+rib.String()+"?proposition=non" {
		t.Fatalf("no: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	d, err = b.v.Document(ctx, owner, rib, vault.System)
	if err != nil || d.Kind != vault.KindAutre || d.Title != "Papier de la banque" {
		t.Fatalf("after « Non »: %+v, %v", d, err)
	}
	if _, page = c.get("/papiers/" + rib.String()); strings.Contains(page, "Est-ce un RIB") {
		t.Error("the dismissed question is asked again")
	}
	// A forged answer is refused with a sentence.
	if resp, _ := c.post("/papiers/"+rib.String()+"/proposition", url.Values{"csrf": {tok}, "reponse": {"peut-etre"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a forged answer: %d", resp.StatusCode)
	}
}
