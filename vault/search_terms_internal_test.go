package vault

import (
	"bytes"
	"slices"
	"testing"
)

func TestSearchWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"Titre de séjour", []string{"titre", "sejour"}},
		{"TITRE DE SÉJOUR", []string{"titre", "sejour"}},
		{"titre de sejour", []string{"titre", "sejour"}},
		{"Carte nationale d'identité", []string{"carte", "nationale", "identite"}},
		{"Avis d’impôt 2025 — impôts", []string{"avi", "impot", "2025"}},
		{"Cœur ÆTHER straße", []string{"coeur", "aether", "strasse"}},
		{"Pôle-emploi, Noël", []string{"pole", "emploi", "noel"}},
		{"a b c 1 x", nil},
		{"P<FRAMARTIN<<JEAN<PIERRE<<<<<", []string{"framartin", "jean", "pierre"}},
		{"prix taux 1990s", []string{"pri", "tau", "1990s"}},
		{"", nil},
	} {
		if got := searchWords(c.in); !slices.Equal(got, c.want) {
			t.Errorf("searchWords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := searchWords("IDFRAX4RTBPFW46AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	if len(long) != 1 || len([]rune(long[0])) != maxWordLen {
		t.Errorf("a long run gives %q, want one word of %d letters", long, maxWordLen)
	}
}

// The same word gives the same term for one owner, another term under another owner's
// key: nobody can tell that two owners share a word.
func TestTermsPerOwner(t *testing.T) {
	k1, k2 := searchKey(bytes.Repeat([]byte{1}, 32)), searchKey(bytes.Repeat([]byte{2}, 32))
	a, b, c := terms(k1, []string{"sejour"}), terms(k1, []string{"sejour"}), terms(k2, []string{"sejour"})
	if !bytes.Equal(a[0], b[0]) || bytes.Equal(a[0], c[0]) || len(a[0]) != termLen {
		t.Errorf("terms: %x %x %x", a, b, c)
	}
	if bytes.Equal(searchKey(bytes.Repeat([]byte{1}, 32)), blobMACKey(bytes.Repeat([]byte{1}, 32))) {
		t.Error("the search key is the blob MAC key")
	}
}

// Every kind has a word of its own in the index, that a word naming it in another
// language stands for.
func TestKindKeys(t *testing.T) {
	for _, k := range Kinds {
		key, ok := kindKeys[k]
		if !ok {
			t.Errorf("%s has no word of its own", k)
			continue
		}
		if !slices.Contains(searchWords(kindSearchWords(k)), key) {
			t.Errorf("%s's word %q is not among those it is indexed by: %q", k, key, searchWords(kindSearchWords(k)))
		}
		for _, o := range Kinds {
			if o != k && slices.Contains(searchWords(kindSearchWords(o)), key) {
				t.Errorf("%s's word %q is %s's too", k, key, o)
			}
		}
	}
}

// A word people search kinds by names at most two of them, in every language together:
// one naming more would find papers of every sort.
func TestNameKindsNarrow(t *testing.T) {
	for w, kinds := range nameKinds() {
		if len(kinds) > 2 {
			t.Errorf("%q names %d kinds: %v", w, len(kinds), kinds)
		}
	}
	if len(nameKinds()) < 500 {
		t.Errorf("only %d words name kinds: are search.kind.* in the catalogues?", len(nameKinds()))
	}
}

func TestKindAlternatives(t *testing.T) {
	for _, c := range []struct {
		words []string
		alts  []string
		masks []int32
	}{
		{[]string{"квитанция"}, []string{"квитанция", "housing"}, []int32{1, 1}},
		{[]string{"france", "travail"}, []string{"france", "travail"}, []int32{1, 2}}, // the kind's own names: no alternative
		// « card » names identity papers, indexed by it already, and residence permits.
		{[]string{"residence", "card"}, []string{"residence", "card", "permit"}, []int32{1, 2, 2}},
		{[]string{"тарjeta"}, []string{"тарjeta"}, []int32{1}},
		{[]string{"паспорт", "permit"}, []string{"паспорт", "passport", "permit"}, []int32{1, 1, 2}},
		{[]string{"zebulon"}, []string{"zebulon"}, []int32{1}},
	} {
		alts, masks := kindAlternatives(c.words)
		if !slices.Equal(alts, c.alts) || !slices.Equal(masks, c.masks) {
			t.Errorf("kindAlternatives(%q) = %q %v, want %q %v", c.words, alts, masks, c.alts, c.masks)
		}
	}
}
