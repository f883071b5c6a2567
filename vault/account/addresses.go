package account

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
)

// Errors of the addresses a person types for their channels; the web says each in one
// sentence.
var (
	// ErrBadEmail: not an e-mail address such as nom@exemple.fr.
	ErrBadEmail = errors.New("not an e-mail address")
	// ErrBadMobile: not a French mobile number (06 or 07, in France or overseas).
	ErrBadMobile = errors.New("not a French mobile number")
)

// NormalizeEmail checks an e-mail address as a person types it and returns it with its
// domain in lower case. Only a bare address is taken (no name, no angle brackets, no
// quotes, no comment): it goes into a mail header and the SMTP envelope as it is.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || strings.ContainsAny(s, "\"<>(),;:\\[] \t\r\n") {
		return "", fmt.Errorf("e-mail address: %w", ErrBadEmail)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", fmt.Errorf("e-mail address: %w", ErrBadEmail)
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if local == "" || len(local) > 64 || !strings.Contains(domain, ".") {
		return "", fmt.Errorf("e-mail address: %w", ErrBadEmail)
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", fmt.Errorf("e-mail address: %w", ErrBadEmail)
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return "", fmt.Errorf("e-mail address: %w", ErrBadEmail)
			}
		}
	}
	return local + "@" + domain, nil
}

// overseasMobile maps the national prefixes of the overseas departments' mobile numbers
// (06 9x, 06 39) to their country codes: dialled from anywhere, 0692 12 34 56 is
// +262 692 12 34 56, not +33. Every other 06 and 07 number is metropolitan (+33).
var overseasMobile = map[string]string{ //nolint:gochecknoglobals // a constant table
	"0690": "590", "0691": "590", // Guadeloupe, Saint-Martin, Saint-Barthélemy
	"0694": "594",                // Guyane
	"0696": "596", "0697": "596", // Martinique
	"0692": "262", "0693": "262", // La Réunion
	"0639": "262", // Mayotte
}

// NormalizeMobile checks a mobile phone number and returns it in E.164 (+33612345678).
// It takes French mobile numbers only, metropolitan and overseas, typed the national way
// (06 12 34 56 78) or the international one (+33 6 12 34 56 78, 0033…, +262 692…), with
// spaces, dots or dashes. Only mobiles: a message goes to a phone the person holds, and
// no premium-rate or foreign number can be made to receive codes at the service's cost.
func NormalizeMobile(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", fmt.Errorf("mobile number: %w", ErrBadMobile)
		}
	}
	n := b.String()
	if strings.HasPrefix(n, "00") {
		n = "+" + n[2:]
	}
	national := ""
	switch {
	case len(n) == 10 && n[0] == '0':
		national = n
	case strings.HasPrefix(n, "+33"):
		national = "0" + strings.TrimPrefix(n[3:], "0") // +33 (0)6…
	default:
		for _, cc := range []string{"262", "590", "594", "596"} {
			if strings.HasPrefix(n, "+"+cc) {
				national = "0" + strings.TrimPrefix(n[1+len(cc):], "0")
				if overseasMobile[national[:min(4, len(national))]] != cc {
					return "", fmt.Errorf("mobile number: %w", ErrBadMobile)
				}
			}
		}
	}
	if len(national) != 10 || (national[1] != '6' && national[1] != '7') {
		return "", fmt.Errorf("mobile number: %w", ErrBadMobile)
	}
	if cc, ok := overseasMobile[national[:4]]; ok {
		return "+" + cc + national[1:], nil
	}
	return "+33" + national[1:], nil
}

// NationalMobile writes a number NormalizeMobile returned the way French people read it:
// 06 12 34 56 78.
func NationalMobile(e164 string) string {
	if len(e164) < 9 {
		return e164
	}
	national := "0" + e164[len(e164)-9:]
	var b strings.Builder
	for i := 0; i < len(national); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(national[i:min(i+2, len(national))])
	}
	return b.String()
}
