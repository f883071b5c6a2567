package vault_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/i18n"
	"coffre/vault/vaulttest"
)

// textPaper deposits a document of kind with a title, and a tiny rendition.
func (b *testBundle) textPaper(t testing.TB, owner uuid.UUID, by vault.Actor, kind vault.Kind, title string) *vault.Document {
	t.Helper()
	d, err := b.v.Deposit(context.Background(), owner, by, vault.NewDocument{Kind: kind, Title: title,
		Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: bytes.NewReader([]byte("%PDF-1.4")), Size: 8}}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// found searches owner's safe and returns the titles found, in order.
func (b *testBundle) found(t testing.TB, owner uuid.UUID, query string) []string {
	t.Helper()
	f, err := b.v.Search(context.Background(), owner, query, 50)
	if err != nil {
		t.Fatalf("search %q: %v", query, err)
	}
	titles := []string{}
	for _, d := range f.Docs {
		titles = append(titles, d.Title)
	}
	if f.Total != len(f.Docs) {
		t.Fatalf("search %q: total %d, %d shown", query, f.Total, len(f.Docs))
	}
	return titles
}

func (b *testBundle) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func day(s string) *time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &d
}

// TestSearchInEveryLanguage: in every language Coffre speaks, each word people search a
// kind of paper by (search.kind.*) finds the paper of that kind, and each example the
// search page gives (search.hint, after its colon) finds a paper.
func TestSearchInEveryLanguage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner, by := b.owner(t)
	for _, k := range vault.Kinds {
		b.textPaper(t, owner, by, k, "Papier "+string(k))
	}
	for _, l := range i18n.Languages {
		for _, k := range vault.Kinds {
			for _, w := range strings.Fields(i18n.Text(l, "search.kind."+string(k))) {
				if got := b.found(t, owner, w); !slices.Contains(got, "Papier "+string(k)) {
					t.Errorf("[%s] %q finds %q, not the paper of kind %s", l, w, got, k)
				}
			}
		}
		hint := i18n.Text(l, "search.hint")
		_, examples, ok := strings.Cut(hint, ":")
		if !ok {
			t.Errorf("[%s] the search hint gives no example after a colon: %q", l, hint)
			continue
		}
		for _, w := range strings.FieldsFunc(examples, func(r rune) bool { return r == ',' || r == '،' || r == '.' }) {
			if w = strings.TrimSpace(w); len(b.found(t, owner, w)) == 0 {
				t.Errorf("[%s] the search hint's example %q finds nothing", l, w)
			}
		}
	}
}

// Words typed with or without accents or capitals find papers by title, kind and the
// text read; every word must match; another owner's words never match.
func TestSearch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	other, otherBy := b.owner(t)
	permit := b.textPaper(t, owner, by, vault.KindTitreSejour, "Carte de résident")
	b.textPaper(t, owner, by, vault.KindLogement, "Quittance de mars")
	b.textPaper(t, owner, by, vault.KindLogement, "Quittance d'avril")
	payslip := b.textPaper(t, owner, by, vault.KindRessources, "Paie Leclerc")
	// Common French words of the kinds' names, in a paper of no such kind.
	b.textPaper(t, owner, by, vault.KindBanque, "Pièce France titre logement autre santé")
	b.textPaper(t, other, otherBy, vault.KindAutre, "Zébulon et Séjour")
	if err := b.v.SetReading(ctx, owner, by, true); err != nil {
		t.Fatal(err)
	}
	if err := b.v.StoreReading(ctx, owner, payslip.ID, vault.Reading{Text: "BULLETIN DE PAIE\nNet à payer : 1 234,56 €\nÉtablissement Hypermarché Villeneuve"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"résident", []string{"Carte de résident"}},
		{"RESIDENT", []string{"Carte de résident"}},
		{"Résidents", []string{"Carte de résident"}},
		{"titre de séjour", []string{"Carte de résident"}},                // the kind's name
		{"TITRE SEJOUR", []string{"Carte de résident"}},                   // the kind, no accents, capitals
		{"residence permit", []string{"Carte de résident"}},               // the kind, in English
		{"quittance", []string{"Quittance d'avril", "Quittance de mars"}}, // newest first
		{"quittance mars", []string{"Quittance de mars"}},                 // every word
		{"loyer", []string{"Quittance d'avril", "Quittance de mars"}},     // the kind's words
		{"hypermarche", []string{"Paie Leclerc"}},                         // the text read
		{"Villeneuve HYPERMARCHÉ", []string{"Paie Leclerc"}},              // the text, any order
		{"bulletin", []string{"Paie Leclerc"}},                            // the kind (ressources) and the text
		{"zébulon", []string{}},                                           // another owner's word
		{"séjour zebulon", []string{}},
		{"quittance juin", []string{}},
		{"إيصال", []string{"Quittance d'avril", "Quittance de mars"}}, // the kind, in Arabic
		{"квитанция апреля", []string{}},                              // every word still
		{"رسید", []string{"Quittance d'avril", "Quittance de mars"}},  // in Dari
		{"chitanță mars", []string{"Quittance de mars"}},              // in Romanian, with a word of the title
		{"residence card", []string{"Carte de résident"}},             // two words naming one kind
		{"tarjeta residencia", []string{"Carte de résident"}},
		{"паспорт", []string{}}, // a kind's word in Russian finds only papers of the kind
		{"бумага", []string{}},
		{"france travail", []string{}},
		{"квитанция пièce", []string{}},
	} {
		if got := b.found(t, owner, c.query); !slices.Equal(got, c.want) {
			t.Errorf("search %q: %q, want %q", c.query, got, c.want)
		}
	}
	if got := b.found(t, other, "zebulon"); !slices.Equal(got, []string{"Zébulon et Séjour"}) {
		t.Errorf("the other owner finds %q", got)
	}
	for _, q := range []string{"", "  ", "a b", "de la"} {
		if _, err := b.v.Search(ctx, owner, q, 50); !errors.Is(err, vault.ErrInvalid) {
			t.Errorf("search %q: %v, want ErrInvalid", q, err)
		}
	}
	f, err := b.v.Search(ctx, owner, "quittance", 1)
	if err != nil || len(f.Docs) != 1 || f.Total != 2 {
		t.Fatalf("limited search: %+v, %v", f, err)
	}

	// A new title and kind are found, the old ones no more; the text still is.
	kind := vault.KindImpots
	title := "Avis de taxe"
	if _, err := b.v.UpdateDocument(ctx, owner, payslip.ID, by, vault.Update{Title: &title, Kind: &kind}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{"leclerc": {}, "taxe": {"Avis de taxe"}, "imposition": {"Avis de taxe"}, "hypermarche": {"Avis de taxe"}, "fiche paie": {}} {
		if got := b.found(t, owner, q); !slices.Equal(got, want) {
			t.Errorf("after the change, search %q: %q, want %q", q, got, want)
		}
	}

	// A deleted paper is found no more, and leaves no term.
	if err := b.v.DeleteDocument(ctx, owner, permit.ID, by); err != nil {
		t.Fatal(err)
	}
	if got := b.found(t, owner, "resident"); len(got) != 0 {
		t.Errorf("a deleted paper is found: %q", got)
	}
	if n := b.count(t, `SELECT count(*) FROM search_terms WHERE document_id = $1`, permit.ID); n != 0 {
		t.Errorf("a deleted paper keeps %d terms", n)
	}
	if err := b.v.DeleteDocument(ctx, owner, payslip.ID, by); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM document_texts WHERE document_id = $1`, payslip.ID); n != 0 {
		t.Errorf("a deleted paper keeps its text (%d rows)", n)
	}
}

// Reading is off until the owner turns it on; turning it off erases every text read and
// every term taken from one in one transaction, while titles and kinds stay searchable.
// Both switches are journaled.
func TestReadingOnOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	notice := b.textPaper(t, owner, by, vault.KindImpots, "Avis 2025")
	card := b.textPaper(t, owner, by, vault.KindIdentite, "Ma carte")

	if on, err := b.v.ReadsPapers(ctx, owner); err != nil || on {
		t.Fatalf("reading on by default: %v, %v", on, err)
	}
	if ids, err := b.v.UnreadDocuments(ctx, owner, 10); err != nil || len(ids) != 0 {
		t.Fatalf("papers to read while reading is off: %v, %v", ids, err)
	}
	if err := b.v.StoreReading(ctx, owner, notice.ID, vault.Reading{Text: "revenu fiscal de référence"}); !errors.Is(err, vault.ErrReadingOff) {
		t.Fatalf("a text stored while reading is off: %v", err)
	}
	titleTerms := b.count(t, `SELECT count(*) FROM search_terms WHERE owner_id = $1`, owner)

	if err := b.v.SetReading(ctx, owner, by, true); err != nil {
		t.Fatal(err)
	}
	if err := b.v.SetReading(ctx, owner, by, true); err != nil { // again: nothing happens
		t.Fatal(err)
	}
	ids, err := b.v.UnreadDocuments(ctx, owner, 10)
	if err != nil || !slices.Equal(ids, []uuid.UUID{card.ID, notice.ID}) {
		t.Fatalf("papers to read: %v, %v; want the newest first", ids, err)
	}
	if owners, err := b.v.OwnersToRead(ctx, 100); err != nil || !slices.Contains(owners, owner) {
		t.Fatalf("owners to read: %v, %v", owners, err)
	}
	sug := &vault.Suggestion{Kind: vault.KindImpots, Paper: "avis_imposition", IssuedOn: day("2025-08-28")}
	if err := b.v.StoreReading(ctx, owner, notice.ID, vault.Reading{Text: "Revenu fiscal de référence : 12 345", Suggestion: sug}); err != nil {
		t.Fatal(err)
	}
	if err := b.v.StoreReading(ctx, owner, card.ID, vault.Reading{}); err != nil { // nothing could be read
		t.Fatal(err)
	}
	if ids, err := b.v.UnreadDocuments(ctx, owner, 10); err != nil || len(ids) != 0 {
		t.Fatalf("papers read are to read again: %v, %v", ids, err)
	}
	if got := b.found(t, owner, "fiscal reference"); !slices.Equal(got, []string{"Avis 2025"}) {
		t.Fatalf("the text is not found: %q", got)
	}
	if txt, err := b.v.Text(ctx, owner, notice.ID); err != nil || txt != "Revenu fiscal de référence : 12 345" {
		t.Fatalf("text: %q, %v", txt, err)
	}

	if err := b.v.SetReading(ctx, owner, by, false); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM document_texts WHERE owner_id = $1`, owner); n != 0 {
		t.Errorf("%d texts left after reading was turned off", n)
	}
	if n := b.count(t, `SELECT count(*) FROM search_terms WHERE owner_id = $1`, owner); n != titleTerms {
		t.Errorf("%d terms after reading was turned off, want the %d of titles and kinds", n, titleTerms)
	}
	// « référence » is a word of the text alone (« fiscal » names tax notices too).
	if got := b.found(t, owner, "reference"); len(got) != 0 {
		t.Errorf("an erased text is found: %q", got)
	}
	if got := b.found(t, owner, "avis"); !slices.Equal(got, []string{"Avis 2025"}) {
		t.Errorf("the title is not found any more: %q", got)
	}
	if _, err := b.v.Suggestion(ctx, owner, notice.ID); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("a suggestion survives: %v", err)
	}
	if err := b.v.StoreReading(ctx, owner, notice.ID, vault.Reading{Text: "revenu"}); !errors.Is(err, vault.ErrReadingOff) {
		t.Errorf("a reading finishing after reading was turned off is kept: %v", err)
	}
	got := b.actions(t, owner)
	if !slices.Equal(got[len(got)-2:], []vault.Action{vault.ActionReadingOn, vault.ActionReadingOff}) {
		t.Errorf("journal ends with %v, want one reading_on then reading_off", got)
	}

	// A closed safe cannot be switched.
	if _, err := b.v.CloseSafe(ctx, owner, by, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.v.SetReading(ctx, owner, by, true); !errors.Is(err, vault.ErrClosed) {
		t.Errorf("reading turned on in a closed safe: %v", err)
	}
}

// A suggestion waits, sealed, until the person answers: a change that settles it, or a
// dismissal. A malformed one is refused.
func TestSuggestion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	d := b.textPaper(t, owner, by, vault.KindAutre, "Autre papier du 3 mars 2026")
	if err := b.v.SetReading(ctx, owner, by, true); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []vault.Suggestion{
		{Kind: "carte_grise"},
		{Kind: vault.KindIdentite, NumberEnd: "123456"},
		{Kind: vault.KindIdentite, Paper: "Passeport!"},
		{IssuedOn: day("2030-01-01"), ExpiresOn: day("2020-01-01")},
	} {
		if err := b.v.StoreReading(ctx, owner, d.ID, vault.Reading{Suggestion: &bad}); !errors.Is(err, vault.ErrInvalid) {
			t.Errorf("suggestion %+v: %v, want ErrInvalid", bad, err)
		}
	}
	want := vault.Suggestion{Kind: vault.KindTitreSejour, Paper: "titre_sejour", ExpiresOn: day("2027-03-12"), NumberEnd: "4CX2"}
	if err := b.v.StoreReading(ctx, owner, d.ID, vault.Reading{Text: "TITRE DE SEJOUR", Suggestion: &want}); err != nil {
		t.Fatal(err)
	}
	got, err := b.v.Suggestion(ctx, owner, d.ID)
	if err != nil || got.Kind != want.Kind || got.Paper != want.Paper || !got.ExpiresOn.Equal(*want.ExpiresOn) || got.NumberEnd != "4CX2" || got.IssuedOn != nil {
		t.Fatalf("suggestion: %+v, %v", got, err)
	}
	// Someone else asking about the paper learns nothing.
	stranger, _ := b.owner(t)
	if _, err := b.v.Suggestion(ctx, stranger, d.ID); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("another owner reads the suggestion: %v", err)
	}
	// A change that does not answer it leaves it; one that does settles it.
	title := "Ma carte"
	if _, err := b.v.UpdateDocument(ctx, owner, d.ID, by, vault.Update{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.Suggestion(ctx, owner, d.ID); err != nil {
		t.Fatalf("the suggestion went with an unrelated change: %v", err)
	}
	if _, err := b.v.UpdateDocument(ctx, owner, d.ID, by, vault.Update{Kind: &want.Kind, ExpiresOn: want.ExpiresOn, SettleSuggestion: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.Suggestion(ctx, owner, d.ID); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("the suggestion stays after it was answered: %v", err)
	}
	if txt, err := b.v.Text(ctx, owner, d.ID); err != nil || txt != "TITRE DE SEJOUR" {
		t.Errorf("the text went with the suggestion: %q, %v", txt, err)
	}
	// Read again, then dismissed: the paper does not change.
	if err := b.v.StoreReading(ctx, owner, d.ID, vault.Reading{Text: "x", Suggestion: &vault.Suggestion{Kind: vault.KindIdentite}}); err != nil {
		t.Fatal(err)
	}
	if err := b.v.DismissSuggestion(ctx, stranger, d.ID); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("another owner dismisses the suggestion: %v", err)
	}
	if err := b.v.DismissSuggestion(ctx, owner, d.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.v.DismissSuggestion(ctx, owner, d.ID); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("dismissed twice: %v", err)
	}
	doc, err := b.v.Document(ctx, owner, d.ID, by)
	if err != nil || doc.Kind != vault.KindTitreSejour {
		t.Errorf("a dismissal changed the paper: %+v, %v", doc, err)
	}
	// An empty suggestion is no suggestion.
	if err := b.v.StoreReading(ctx, owner, d.ID, vault.Reading{Text: "x", Suggestion: &vault.Suggestion{Paper: "rib"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.Suggestion(ctx, owner, d.ID); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("an empty suggestion is kept: %v", err)
	}
}

// Erasing a safe deletes the texts read, the suggestions, the consent and the index.
func TestErasureDeletesReadings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	d := b.textPaper(t, owner, by, vault.KindTitreSejour, "Carte de résident")
	if err := b.v.SetReading(ctx, owner, by, true); err != nil {
		t.Fatal(err)
	}
	if err := b.v.StoreReading(ctx, owner, d.ID, vault.Reading{Text: "RESIDENCE PERMIT", Suggestion: &vault.Suggestion{Kind: vault.KindTitreSejour}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.CloseSafe(ctx, owner, by, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if owners, err := b.v.OwnersToRead(ctx, 100); err != nil || slices.Contains(owners, owner) {
		t.Fatalf("a closed safe is to read: %v, %v", owners, err)
	}
	b.clock.Advance(time.Second)
	if n, err := b.v.EraseDue(ctx); err != nil || n != 1 {
		t.Fatalf("erase: %d, %v", n, err)
	}
	vaulttest.AssertErased(t, b.db, owner)
	for _, table := range []string{"reading_consents", "document_texts", "search_terms"} {
		if n := b.count(t, `SELECT count(*) FROM `+table+` WHERE owner_id = $1`, owner); n != 0 {
			t.Errorf("%s keeps %d rows of an erased safe", table, n)
		}
	}
}

// Papers deposited before the index existed get their titles and kinds indexed by
// 'coffre migrate' (IndexDocuments), once.
func TestIndexDocuments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	b.textPaper(t, owner, by, vault.KindCAF, "Attestation de mai")
	b.textPaper(t, owner, by, vault.KindBanque, "RIB La Poste")
	if _, err := b.db.Exec(ctx, `DELETE FROM search_terms WHERE owner_id = $1`, owner); err != nil {
		t.Fatal(err)
	}
	if got := b.found(t, owner, "poste"); len(got) != 0 {
		t.Fatalf("found without an index: %q", got)
	}
	if n, err := b.v.IndexDocuments(ctx); err != nil || n < 2 {
		t.Fatalf("index documents: %d, %v", n, err)
	}
	if got := b.found(t, owner, "poste"); !slices.Equal(got, []string{"RIB La Poste"}) {
		t.Errorf("search after indexing: %q", got)
	}
	if got := b.found(t, owner, "allocations"); !slices.Equal(got, []string{"Attestation de mai"}) {
		t.Errorf("search of a kind after indexing: %q", got)
	}
	if n, err := b.v.IndexDocuments(ctx); err != nil || n != 0 {
		t.Errorf("second run: %d, %v", n, err)
	}
}
