package ingest

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrDoc2DMalformed reports text that is not a well-formed 2D-Doc (C40
// format, versions 02 to 04): bad header, a field that runs past the end,
// no signature, a signature of the wrong size.
var ErrDoc2DMalformed = errors.New("malformed 2D-Doc")

// 2D-Doc control characters (ASCII group, record and unit separators).
const (
	docGS = '\x1d' // end of a variable-length field
	docRS = '\x1e' // end of a truncated field
	docUS = '\x1f' // end of the message, start of the signature
)

// docEpoch is day 0 of the dates in a 2D-Doc header (hexadecimal days).
var docEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // a constant date

// Doc2D is a 2D-Doc as read from a paper: the header, the data it carries
// and the issuer's signature. Parsing checks the structure only; whether
// the paper is genuine is decided by TrustList.Verify.
type Doc2D struct {
	// Text is the whole code as read from the DataMatrix.
	Text string
	// Version is 2, 3 or 4.
	Version int
	// CA identifies the certification authority ("FR03") and CertID the
	// certificate, within that authority, that signed the code ("0001").
	CA, CertID string
	// Issued is the date of the paper (zero when the paper is not dated);
	// Signed is the date of the signature. Both are UTC midnights.
	Issued, Signed time.Time
	// Type is the document type ("28": avis d'impôt sur les revenus);
	// Perimeter the table it is defined in ("01" for versions 02 and the
	// ANTS perimeter); Country the issuing country (version 04 only).
	Type, Perimeter, Country string
	// Fields are the data of the message zone, in the order of the code;
	// they are covered by the signature. Annex fields (version 04) follow
	// the signature and are not covered by it.
	Fields, Annex []Doc2DField
	// Signature is the raw ECDSA signature (r ‖ s).
	Signature []byte

	signed string // header and message: the bytes the signature covers
}

// Doc2DField is one datum of a 2D-Doc.
type Doc2DField struct {
	ID    string // data identifier, two characters ("45")
	Label string // French label from the specification ("Année des revenus")
	Value string // as encoded ("2025", "31072022")
	// Truncated reports a value cut by the issuer to fit the code (RS).
	Truncated bool
	kind      fieldKind
}

// fieldKind says how a value is shown to a person.
type fieldKind int

const (
	fieldText     fieldKind = iota
	fieldName               // "M/MARTIN/JEAN": slashes separate title, name, first name
	fieldHexDate            // days since 2000-01-01 in hexadecimal
	fieldDate               // JJMMAAAA
	fieldDateTime           // JJMMAAAAHHmm
	fieldTime               // HHMMSS
	fieldBase32             // UTF-8 text in Base32 (URLs)
)

type fieldSpec struct {
	min, max int // max -1: no bound
	label    string
	kind     fieldKind
}

// Text returns the value as shown to a person: dates as 31/07/2022,
// slashes in names as spaces, Base32 URLs decoded; otherwise the value.
func (f Doc2DField) Text() string {
	v := f.Value
	switch f.kind {
	case fieldName:
		v = strings.Join(strings.Fields(strings.ReplaceAll(v, "/", " ")), " ")
	case fieldHexDate:
		if t, ok := hexDate(v); ok && !t.IsZero() {
			v = t.Format("02/01/2006")
		}
	case fieldDate:
		if t, err := time.Parse("02012006", v); err == nil {
			v = t.Format("02/01/2006")
		}
	case fieldDateTime:
		if t, err := time.Parse("020120061504", v); err == nil {
			v = t.Format("02/01/2006 15:04")
		}
	case fieldTime:
		if t, err := time.Parse("150405", v); err == nil {
			v = t.Format("15:04:05")
		}
	case fieldBase32:
		if b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(v, "=")); err == nil {
			v = string(b)
		}
	}
	if f.Truncated {
		v += "…"
	}
	return v
}

// ParseDoc2D parses the text of a 2D-Doc (C40 format, versions 02, 03 and
// 04). Errors wrap ErrDoc2DMalformed. Version 01 (binary signature) and the
// binary format of version 04 are not supported: no paper in circulation
// that Coffre's users keep uses them.
func ParseDoc2D(text string) (*Doc2D, error) {
	d := &Doc2D{Text: text}
	if err := d.parse(); err != nil {
		return nil, fmt.Errorf("ingest: 2d-doc: %w: %s", ErrDoc2DMalformed, err)
	}
	return d, nil
}

func (d *Doc2D) parse() error {
	s := d.Text
	if len(s) < 22 || s[:2] != "DC" {
		return errors.New("no DC header")
	}
	v, err := strconv.Atoi(s[2:4])
	if err != nil || !isDigits(s[2:4]) {
		return fmt.Errorf("version %q", s[2:4])
	}
	var n int
	switch v {
	case 2:
		n = 22
	case 3:
		n = 24
	case 4:
		n = 26
	default:
		return fmt.Errorf("unsupported version %02d", v)
	}
	if len(s) < n {
		return fmt.Errorf("header of %d characters, want %d", len(s), n)
	}
	h := s[:n]
	d.Version = v
	d.CA, d.CertID, d.Type = h[4:8], h[8:12], h[20:22]
	d.Perimeter = "01"
	if v >= 3 {
		d.Perimeter = h[22:24]
	}
	if v == 4 {
		d.Country = h[24:26]
	}
	for _, f := range []string{d.CA, d.CertID, d.Type, d.Perimeter, d.Country} {
		if !isUpperAlnum(f) {
			return fmt.Errorf("header field %q", f)
		}
	}
	var ok bool
	if d.Issued, ok = hexDate(h[12:16]); !ok {
		return fmt.Errorf("issue date %q", h[12:16])
	}
	if d.Signed, ok = hexDate(h[16:20]); !ok || d.Signed.IsZero() {
		return fmt.Errorf("signature date %q", h[16:20])
	}

	us := strings.IndexByte(s, docUS)
	if us < 0 {
		return errors.New("no signature (US)")
	}
	d.signed = s[:us]
	table := map[string]fieldSpec{}
	if d.Perimeter == "01" {
		table = docFields()
	}
	if d.Fields, err = parseDocFields(s[n:us], table); err != nil {
		return fmt.Errorf("message: %w", err)
	}
	if len(d.Fields) == 0 {
		return errors.New("empty message")
	}

	rest := s[us+1:]
	sig, annex, _ := strings.Cut(rest, string(docGS))
	sig = strings.TrimRight(sig, "=")
	if d.Signature, err = base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(sig); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	switch len(d.Signature) {
	case 64, 96, 132: // P-256, P-384, P-521
	default:
		return fmt.Errorf("signature of %d bytes", len(d.Signature))
	}
	if annex != "" {
		if v < 4 {
			return errors.New("annex before version 04")
		}
		if d.Annex, err = parseDocFields(annex, table); err != nil {
			return fmt.Errorf("annex: %w", err)
		}
	}
	return nil
}

// parseDocFields reads a message zone: a two-character identifier, then
// the value — a fixed number of characters, or up to GS (end of field),
// RS (truncated field), the end of the zone, or the field's maximum
// length, whichever comes first. Identifiers not in the table are read as
// unbounded variable-length fields.
func parseDocFields(s string, table map[string]fieldSpec) ([]Doc2DField, error) {
	var out []Doc2DField
	for i := 0; i < len(s); {
		if s[i] == docGS { // a separator after a fixed field is tolerated
			i++
			continue
		}
		if i+2 > len(s) {
			return nil, fmt.Errorf("identifier cut at offset %d", i)
		}
		id := s[i : i+2]
		if !isUpperAlnum(id) {
			return nil, fmt.Errorf("identifier %q at offset %d", id, i)
		}
		i += 2
		spec, known := table[id]
		if !known {
			spec = fieldSpec{max: -1, label: "Donnée " + id}
		}
		f := Doc2DField{ID: id, Label: spec.label, kind: spec.kind}
		if spec.min == spec.max && spec.max > 0 {
			if i+spec.max > len(s) {
				return nil, fmt.Errorf("field %s: %d characters, want %d", id, len(s)-i, spec.max)
			}
			f.Value = s[i : i+spec.max]
			i += spec.max
		} else {
			j := i
			for j < len(s) && s[j] != docGS && s[j] != docRS && (spec.max < 0 || j-i < spec.max) {
				j++
			}
			f.Value = s[i:j]
			if j < len(s) && s[j] == docRS {
				f.Truncated = true
			}
			i = j
			if j < len(s) && (s[j] == docGS || s[j] == docRS) {
				i++
			}
			if !f.Truncated && len(f.Value) < spec.min {
				return nil, fmt.Errorf("field %s: %d characters, want at least %d", id, len(f.Value), spec.min)
			}
		}
		for k := 0; k < len(f.Value); k++ {
			if c := f.Value[k]; c < 0x20 || c > 0x7e {
				return nil, fmt.Errorf("field %s: control or non-ASCII character", id)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// hexDate decodes a header date: four uppercase hexadecimal digits counting
// days from 2000-01-01; FFFF means "not dated" and gives the zero time.
func hexDate(s string) (time.Time, bool) {
	if len(s) != 4 || strings.ToUpper(s) != s {
		return time.Time{}, false
	}
	n, err := strconv.ParseUint(s, 16, 16)
	if err != nil {
		return time.Time{}, false
	}
	if n == 0xFFFF {
		return time.Time{}, true
	}
	return docEpoch.AddDate(0, 0, int(n)), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isUpperAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Doc2DTypeName returns the French name of a document type of perimeter
// '01' ("04" → "Avis d'impôt sur les revenus"), or "" when unknown.
func Doc2DTypeName(perimeter, typ string) string {
	if perimeter != "01" {
		return ""
	}
	switch typ {
	case "00":
		return "Justificatif de domicile"
	case "01":
		return "Facture (justificatif de domicile)"
	case "02":
		return "Avis de taxe d'habitation"
	case "03":
		return "Relevé d'identité bancaire"
	case "04":
		return "Avis d'impôt sur les revenus"
	case "05":
		return "Relevé d'identité SEPAmail"
	case "06":
		return "Bulletin de salaire"
	case "07":
		return "Titre d'identité"
	case "08":
		return "Bande MRZ d'un titre d'identité"
	case "09":
		return "Facture étendue"
	case "10":
		return "Contrat de travail"
	case "11":
		return "Relevé de compte"
	case "12":
		return "Acte d'huissier"
	case "13":
		return "Document étranger"
	case "14":
		return "Attestation DICEM"
	case "15":
		return "Décision favorable d'autorisation de travail"
	case "16":
		return "Attestation de demande d'asile"
	case "17":
		return "Attestation de fin de droit à l'allocation pour demandeur d'asile"
	case "18":
		return "Avis de situation déclarative à l'impôt sur les revenus"
	case "19":
		return "Déclaration de dons"
	case "20":
		return "Déclaration de cession de droits sociaux"
	case "21":
		return "Attestation 2041-ASK"
	case "24":
		return "Avis de situation déclarative à l'impôt sur les revenus"
	case "25":
		return "Autorisation de travail (métier en tension)"
	case "27":
		return "Avis de situation déclarative à l'impôt sur les revenus"
	case "28":
		return "Avis d'impôt sur les revenus"
	case "29":
		return "Attestation d'activité professionnelle"
	case "A0", "A7":
		return "Certificat de qualité de l'air (Crit'Air)"
	case "A1":
		return "Courrier permis à points"
	case "A2":
		return "Carte mobilité inclusion"
	case "A3":
		return "Macaron VTC"
	case "A4", "AE":
		return "Certificat de décès"
	case "A5":
		return "Carte T3P"
	case "A6":
		return "Carte professionnelle de sapeur-pompier"
	case "A8":
		return "Certificat de cession électronique"
	case "A9":
		return "Permis de chasser"
	case "AA":
		return "Arrêté relatif au permis de conduire"
	case "AB":
		return "Relevé d'information du permis de conduire"
	case "AC":
		return "Licence de conducteur de train"
	case "AD":
		return "Certificat de réussite à l'examen du permis de conduire"
	case "B0":
		return "Diplôme"
	case "B1":
		return "Attestation de contribution vie étudiante (CVEC)"
	case "B2":
		return "Résultat de test virologique"
	case "L1":
		return "Attestation vaccinale"
	}
	return ""
}
