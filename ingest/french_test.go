package ingest

import (
	"errors"
	"testing"

	"coffre/vault/i18n"
)

// TestFrenchSpaces: the sentences a person reads after sending a photo or a paper (a
// warning on the photo, a refusal, what a 2D-Doc says) are French written outside the
// catalogue, spaced as it is (i18n.FrenchSpaceFaults): a « : » never starts a line.
func TestFrenchSpaces(t *testing.T) {
	var texts []string
	for _, c := range []WarningCode{WarnBlurry, WarnDark, WarnGlare, WarnCutOff, WarnLowRes, WarnNoSheet} {
		if message(c) == "" {
			t.Errorf("%s: no sentence", c)
		}
		texts = append(texts, message(c))
	}
	for _, err := range []error{ErrEmpty, ErrNoPages, ErrUnsupportedType, ErrMixedTypes, ErrBusy, ErrTooLarge,
		ErrTooManyPixels, ErrTooManyPages, ErrEncrypted, ErrCorrupt, ErrTimeout, ErrCanceled, errors.New("other")} {
		texts = append(texts, Message(err))
	}
	for _, s := range []Doc2DStatus{Doc2DValid, Doc2DInvalidSignature, Doc2DUnknownCertificate, Doc2DExpiredCertificate, Doc2DMalformed} {
		texts = append(texts, (&Doc2DCheck{Status: s, Issuer: "CAF du Nord"}).Message())
	}
	texts = append(texts, Fact{Label: "Année des revenus", Value: "2025"}.String())
	for _, s := range texts {
		for _, f := range i18n.FrenchSpaceFaults(s) {
			t.Errorf("%s: %q", f, s)
		}
	}
}
