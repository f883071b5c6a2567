package web

import (
	"testing"

	"coffre/vault"
)

// TestShareChoicesSameTitle: titles that read the same to a person (case and spaces
// aside) get the hour; different ones do not.
func TestShareChoicesSameTitle(t *testing.T) {
	docs := []vault.Document{{Title: "RIB"}, {Title: " rib  "}, {Title: "Attestation CAF"}, {Title: "Attestation  caf"}, {Title: "Quittance"}}
	want := []bool{true, true, true, true, false}
	for i, c := range shareChoices(docs) {
		if c.SameTitle != want[i] {
			t.Errorf("%q: SameTitle %v, want %v", docs[i].Title, c.SameTitle, want[i])
		}
	}
}
