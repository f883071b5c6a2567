package web

import (
	"testing"
	"time"

	"coffre/ingest"
	"coffre/vault"
)

// A suggestion asks only what differs from what the paper already says, and keeps of the
// document number only its last letters and digits.
func TestSuggest(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	exp := day("2027-03-12")
	zone := &ingest.MRZ{Valid: true, NumberLast4: "94C<X2"}
	for _, c := range []struct {
		name string
		rec  ingest.Recognition
		doc  vault.Document
		want *vault.Suggestion
	}{
		{"new kind and expiry", ingest.Recognition{Kind: ingest.KindResidencePermit, Expires: ingest.DateSuggestion{Date: exp}, MRZ: zone},
			vault.Document{Kind: vault.KindAutre},
			&vault.Suggestion{Kind: vault.KindTitreSejour, Paper: "titre_sejour", ExpiresOn: &exp, NumberEnd: "4CX2"}},
		{"nothing new", ingest.Recognition{Kind: ingest.KindResidencePermit, Expires: ingest.DateSuggestion{Date: exp}},
			vault.Document{Kind: vault.KindTitreSejour, ExpiresOn: &exp}, nil},
		{"only the date", ingest.Recognition{Kind: ingest.KindPassport, Expires: ingest.DateSuggestion{Date: exp}},
			vault.Document{Kind: vault.KindIdentite},
			&vault.Suggestion{Paper: "passeport", ExpiresOn: &exp}},
		{"a zone that failed its check digits gives no number", ingest.Recognition{Kind: ingest.KindIdentityCard, MRZ: &ingest.MRZ{NumberLast4: "1234"}},
			vault.Document{Kind: vault.KindAutre},
			&vault.Suggestion{Kind: vault.KindIdentite, Paper: "carte_identite"}},
		{"unknown kind, no date", ingest.Recognition{}, vault.Document{Kind: vault.KindAutre}, nil},
	} {
		got := suggest(&c.rec, &c.doc)
		switch {
		case (got == nil) != (c.want == nil):
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		case got != nil && (got.Kind != c.want.Kind || got.Paper != c.want.Paper || got.NumberEnd != c.want.NumberEnd ||
			(got.ExpiresOn == nil) != (c.want.ExpiresOn == nil) || got.IssuedOn != nil):
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	for k := range paperKinds {
		if _, err := vault.ParseKind(string(paperKinds[k])); err != nil {
			t.Errorf("%s maps to %v", k, err)
		}
	}
}
