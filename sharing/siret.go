package sharing

import (
	"fmt"
	"strings"
)

// laPosteSIREN is the one SIREN whose establishments' SIRETs do not all follow the Luhn
// check: La Poste has more establishments than one check digit could number, so INSEE
// numbers them so that the sum of the 14 digits is a multiple of 5 instead. Its head
// office (356 000 000 00048) does pass Luhn: both rules are accepted for this SIREN.
const laPosteSIREN = "356000000"

// ParseSIRET returns the 14 digits of a SIRET written with or without spaces, after the
// Luhn check (La Poste's exception: sum of digits % 5).
func ParseSIRET(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '\u00a0' || r == '\u202f':
			continue
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("siret: character %q: %w", r, ErrBadSIRET)
		}
		if b.Len() > 14 {
			return "", fmt.Errorf("siret: more than 14 digits: %w", ErrBadSIRET)
		}
	}
	d := b.String()
	if len(d) != 14 {
		return "", fmt.Errorf("siret: %d digits instead of 14: %w", len(d), ErrBadSIRET)
	}
	if luhn(d) {
		return d, nil
	}
	if d[:9] == laPosteSIREN {
		sum := 0
		for i := range 14 {
			sum += int(d[i] - '0')
		}
		if sum%5 == 0 {
			return d, nil
		}
	}
	return "", fmt.Errorf("siret: check digit: %w", ErrBadSIRET)
}

// luhn is the Luhn mod-10 check over a string of ASCII digits.
func luhn(d string) bool {
	sum := 0
	for i := range len(d) {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}
