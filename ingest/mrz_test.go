package ingest

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// mrzNow is the "today" of the MRZ tests: two-digit years are read
// relative to it.
var mrzNow = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // a test constant

// mrzIdentity is a made-up holder for generated zones.
type mrzIdentity struct {
	docType   string // "ID", "IR", "P"
	number    string
	surname   string
	given     []string
	birth     time.Time
	expiry    time.Time
	sex       byte
	office    string // FR-ID: department and office, 6 digits
	personal  string // TD3: optional personal number
	optional1 string // TD1: optional data, line 1
}

func mrzField(s string, n int) string {
	s = strings.ToUpper(s)
	s = strings.NewReplacer(" ", "<", "-", "<", "'", "").Replace(s)
	if len(s) > n {
		return s[:n]
	}
	return s + strings.Repeat("<", n-len(s))
}

func mrzNames(surname string, given []string, n int) string {
	return mrzField(surname+"<<"+strings.Join(given, "<"), n)
}

func yymmdd(t time.Time) string { return t.Format("060102") }

func check(s string) string { return string(rune('0' + MRZCheckDigit(s))) }

// td1 builds a valid three-line TD1 zone (numbers of up to 14 characters).
func (p mrzIdentity) td1() []string {
	var l1 string
	head := mrzField(p.docType, 2) + "FRA"
	if len(p.number) <= 9 {
		n := mrzField(p.number, 9)
		l1 = head + n + check(n) + mrzField(p.optional1, 15)
	} else {
		n, rest := p.number[:9], p.number[9:]
		l1 = head + n + "<" + mrzField(rest+check(p.number), 15)
	}
	b, e := yymmdd(p.birth), yymmdd(p.expiry)
	l2 := b + check(b) + string(p.sex) + e + check(e) + "FRA" + mrzField("", 11)
	l2 += check(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
	return []string{l1, l2, mrzNames(p.surname, p.given, 30)}
}

// td3 builds a valid two-line passport zone.
func (p mrzIdentity) td3() []string {
	l1 := mrzField(p.docType, 2) + "FRA" + mrzNames(p.surname, p.given, 39)
	n := mrzField(p.number, 9)
	b, e := yymmdd(p.birth), yymmdd(p.expiry)
	pn := mrzField(p.personal, 14)
	pc := check(pn)
	if strings.Trim(pn, "<") == "" {
		pc = "<"
	}
	l2 := n + check(n) + "FRA" + b + check(b) + string(p.sex) + e + check(e) + pn + pc
	l2 += check(l2[0:10] + l2[13:20] + l2[21:43])
	return []string{l1, l2}
}

// frenchID builds a valid zone of the 1988–2021 French identity card.
func (p mrzIdentity) frenchID() []string {
	l1 := "IDFRA" + mrzField(p.surname, 25) + mrzField(p.office, 6)
	n := mrzField(p.number, 12)
	b := yymmdd(p.birth)
	l2 := n + check(n) + mrzField(strings.Join(p.given, "<<"), 14) + b + check(b) + string(p.sex)
	l2 += check(l1 + l2)
	return []string{l1, l2}
}

func testIdentity() mrzIdentity {
	return mrzIdentity{
		docType: "ID", number: "X4RTBPFW4", surname: "Martin", given: []string{"Maelys", "Gaelle"},
		birth: time.Date(1990, 7, 13, 0, 0, 0, 0, time.UTC), expiry: time.Date(2030, 2, 11, 0, 0, 0, 0, time.UTC),
		sex: 'F', office: "920023",
	}
}

func TestParseMRZ(t *testing.T) {
	id := testIdentity()
	permit := id
	permit.docType, permit.number = "IR", "1234567890"
	pass := id
	pass.docType, pass.number, pass.personal = "P", "21AB18345", ""
	old := id
	old.number = "880692310285"
	expiry := time.Date(2030, 2, 11, 0, 0, 0, 0, time.UTC)
	join := func(l []string) string { return strings.Join(l, "\n") }
	tests := []struct {
		name   string
		text   string
		want   MRZ
		wantOK bool
	}{
		{"ICAO TD1 example", "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<",
			MRZ{Format: MRZTD1, DocumentType: "I", Country: "UTO", Valid: true, NumberLast4: "5890", Expiry: time.Date(2012, 4, 15, 0, 0, 0, 0, time.UTC)}, true},
		{"ICAO TD3 example", "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10",
			MRZ{Format: MRZTD3, DocumentType: "P", Country: "UTO", Valid: true, NumberLast4: "02C3", Expiry: time.Date(2012, 4, 15, 0, 0, 0, 0, time.UTC)}, true},
		{"French identity card 1988", "IDFRADOUEL<<<<<<<<<<<<<<<<<<<<932013\n0506932020438CHRISTIANE<<NI2906209F3",
			MRZ{Format: MRZFrenchID, DocumentType: "ID", Country: "FRA", Valid: true, NumberLast4: "2043"}, true},
		{"identity card 2021", join(id.td1()), MRZ{Format: MRZTD1, DocumentType: "ID", Country: "FRA", Valid: true, NumberLast4: "PFW4", Expiry: expiry}, true},
		{"residence permit, 10-digit number", join(permit.td1()), MRZ{Format: MRZTD1, DocumentType: "IR", Country: "FRA", Valid: true, NumberLast4: "7890", Expiry: expiry}, true},
		{"passport", join(pass.td3()), MRZ{Format: MRZTD3, DocumentType: "P", Country: "FRA", Valid: true, NumberLast4: "8345", Expiry: expiry}, true},
		{"old identity card", join(old.frenchID()), MRZ{Format: MRZFrenchID, DocumentType: "ID", Country: "FRA", Valid: true, NumberLast4: "0285"}, true},
		{"zone among other text", "RÉPUBLIQUE FRANÇAISE\nNom: MARTIN\n" + join(id.td1()) + "\nsignature",
			MRZ{Format: MRZTD1, DocumentType: "ID", Country: "FRA", Valid: true, NumberLast4: "PFW4", Expiry: expiry}, true},
		{"spaces and guillemets", strings.ReplaceAll(strings.ReplaceAll(join(id.td1()), "<<<", "<« <"), "MARTIN", "MAR TIN"),
			MRZ{Format: MRZTD1, DocumentType: "ID", Country: "FRA", Valid: true, NumberLast4: "PFW4", Expiry: expiry}, true},
		{"O for 0 and I for 1 in dates", join(replaceAt(id.td1(), 1, 2, 'O', 12, 'I')),
			MRZ{Format: MRZTD1, DocumentType: "ID", Country: "FRA", Valid: true, Corrected: 2, NumberLast4: "PFW4", Expiry: expiry}, true},
		{"B for 8 in the passport number", join(replaceAt(pass.td3(), 1, 5, 'B')),
			MRZ{Format: MRZTD3, DocumentType: "P", Country: "FRA", Valid: true, Corrected: 1, NumberLast4: "8345", Expiry: expiry}, true},
		{"S for 5 in the number, K for filler", join(replaceAt(permit.td1(), 0, 9, 'S', 20, 'K')),
			MRZ{Format: MRZTD1, DocumentType: "IR", Country: "FRA", Valid: true, Corrected: 2, NumberLast4: "7890", Expiry: expiry}, true},
		{"K for filler in the old card's name", join(replaceAt(old.frenchID(), 0, 12, 'K')),
			MRZ{Format: MRZFrenchID, DocumentType: "ID", Country: "FRA", Valid: true, Corrected: 1, NumberLast4: "0285"}, true},
		{"one filler too many", join(insertAt(id.td1(), 0, 20, '<')),
			MRZ{Format: MRZTD1, DocumentType: "ID", Country: "FRA", Valid: true, Corrected: 1, NumberLast4: "PFW4", Expiry: expiry}, true},
		{"two fillers missing", join(deleteAt(deleteAt(pass.td3(), 1, 30), 1, 30)),
			MRZ{Format: MRZTD3, DocumentType: "P", Country: "FRA", Valid: true, Corrected: 2, NumberLast4: "8345", Expiry: expiry}, true},
		{"expiry year changed, check digits left", join(replaceAt(id.td1(), 1, 9, '3')),
			MRZ{Format: MRZTD1, DocumentType: "ID", Country: "FRA"}, true},
		{"composite check digit wrong", join(replaceAt(id.td1(), 1, 29, '0')),
			MRZ{Format: MRZTD1, DocumentType: "ID", Country: "FRA"}, true},
		{"passport expiry changed", join(replaceAt(pass.td3(), 1, 22, '4')),
			MRZ{Format: MRZTD3, DocumentType: "P", Country: "FRA"}, true},
		{"impossible date with valid checks", join(dateFix(id, "301311")),
			MRZ{Format: MRZTD1, DocumentType: "ID", Country: "FRA"}, true},
		{"no zone", "AVIS D'IMPOT 2024\nSUR LES REVENUS 2023", MRZ{}, false},
		{"empty", "", MRZ{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseMRZ(tt.text, mrzNow)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("ParseMRZ = %+v, %v\nwant       %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// dateFix builds a TD1 zone whose expiry field is e, check digits computed.
func dateFix(p mrzIdentity, e string) []string {
	l := p.td1()
	l2 := l[1][:8] + e + check(e) + l[1][15:29]
	l2 += check(l[0][5:30] + l2[0:7] + l2[8:15] + l2[18:29])
	return []string{l[0], l2, l[2]}
}

// replaceAt sets characters of line li: pairs of position and character.
func replaceAt(lines []string, li int, pc ...any) []string {
	out := append([]string(nil), lines...)
	b := []byte(out[li])
	for i := 0; i < len(pc); i += 2 {
		b[pc[i].(int)] = byte(pc[i+1].(rune))
	}
	out[li] = string(b)
	return out
}

func insertAt(lines []string, li, pos int, c byte) []string {
	out := append([]string(nil), lines...)
	out[li] = out[li][:pos] + string(c) + out[li][pos:]
	return out
}

func deleteAt(lines []string, li, pos int) []string {
	out := append([]string(nil), lines...)
	out[li] = out[li][:pos] + out[li][pos+1:]
	return out
}

// TestMRZConfusions reads thousands of zones with OCR confusions thrown
// in at random. With the confusions ParseMRZ knows (O for 0, B for 8, K
// for a filler…) a reading is either trusted and right, or not trusted.
// With digits misread as other digits, which no rule can undo, the number
// may come out wrong (its check digit is one chance in ten), but the
// expiry date — which needs its own check digit and the composite one —
// must never be wrong.
func TestMRZConfusions(t *testing.T) {
	known := map[byte][]string{'0': {"O"}, 'O': {"0"}, '1': {"I"}, 'I': {"1"}, '8': {"B"}, 'B': {"8"},
		'5': {"S"}, 'S': {"5"}, '<': {"K", "«"}, '2': {"Z"}, 'Z': {"2"}}
	unknown := map[byte][]string{'8': {"3", "6"}, '5': {"6"}, '2': {"7"}, '6': {"5", "8"}, '7': {"1"}, '0': {"D", "8"},
		'3': {"8"}, '9': {"4"}, '<': {"K"}}
	for _, tc := range []struct {
		name         string
		confuse      map[byte][]string
		minTrusted   int
		maxWrongNum  int
		maxWrongDate int
	}{
		{"known confusions", known, 2500, 5, 0},
		// Three or four digits misread in one date can still agree with
		// both check digits by chance (about one in a hundred such zones,
		// fewer with the plausibility of the dates): a residual risk of
		// the ICAO scheme, measured here.
		{"digits misread", unknown, 300, 250, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			trusted, wrongNum, wrongDate := 0, 0, 0
			for n := 0; n < 3000; n++ {
				p := randomIdentity(rng, n%4)
				var lines []string
				switch n % 4 {
				case 0, 3:
					lines = p.td1()
				case 1:
					p.docType = "P"
					lines = p.td3()
				default:
					lines = p.frenchID()
				}
				want, ok := ParseMRZ(strings.Join(lines, "\n"), mrzNow)
				if !ok || !want.Valid || want.Corrected != 0 {
					t.Fatalf("clean zone not read: %q → %+v", lines, want)
				}
				for k := 1 + rng.IntN(4); k > 0; k-- {
					li := rng.IntN(len(lines))
					pos := rng.IntN(len(lines[li]))
					if alts, ok := tc.confuse[lines[li][pos]]; ok {
						lines[li] = lines[li][:pos] + alts[rng.IntN(len(alts))] + lines[li][pos+1:]
					}
				}
				got, _ := ParseMRZ(strings.Join(lines, "\n"), mrzNow)
				if !got.Valid {
					continue
				}
				trusted++
				if !got.Expiry.Equal(want.Expiry) || got.Format != want.Format {
					wrongDate++
					t.Logf("wrong date trusted: %q → %+v, want %+v", lines, got, want)
				}
				if got.NumberLast4 != "" && got.NumberLast4 != want.NumberLast4 {
					wrongNum++
				}
			}
			t.Logf("%d of 3000 confused zones trusted, %d with a wrong number, %d with a wrong date", trusted, wrongNum, wrongDate)
			if trusted < tc.minTrusted {
				t.Errorf("only %d of 3000 confused zones read, want ≥ %d", trusted, tc.minTrusted)
			}
			if wrongNum > tc.maxWrongNum || wrongDate > tc.maxWrongDate {
				t.Errorf("%d wrong numbers and %d wrong dates, want ≤ %d and ≤ %d", wrongNum, wrongDate, tc.maxWrongNum, tc.maxWrongDate)
			}
		})
	}
}

// randomIdentity makes a holder with a number of the French shape of
// kind: 9 characters for cards and passports (kind 0 and 1), 12 digits for
// the 1988 card (2), 10 digits for a residence permit (3).
func randomIdentity(rng *rand.Rand, kind int) mrzIdentity {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	const digits = "0123456789"
	pick := func(set string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = set[rng.IntN(len(set))]
		}
		return string(b)
	}
	p := testIdentity()
	switch kind {
	case 0, 1:
		p.number = pick(alnum, 9)
	case 2:
		p.number = pick(digits, 12)
	default:
		p.docType, p.number = "IR", pick(digits, 10)
	}
	p.surname = []string{"Bernard", "Nguyen", "Okafor", "Lefebvre", "Diallo", "Kowalski"}[rng.IntN(6)]
	p.given = [][]string{{"Ines"}, {"Karim", "Samir"}, {"Zoe", "Lou"}, {"Bakary"}}[rng.IntN(4)]
	p.birth = time.Date(1940+rng.IntN(80), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	p.expiry = time.Date(2020+rng.IntN(20), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	p.sex = "MF"[rng.IntN(2)]
	return p
}

// TestMRZTamperedDigits changes one digit of the expiry date (or its check
// digit) of valid zones, leaving the check digits as they were: no such
// zone may be trusted.
func TestMRZTamperedDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 2000; n++ {
		p := randomIdentity(rng, n%2)
		var lines []string
		var at int // position of YYMMDDc in line 2
		if n%2 == 0 {
			lines, at = p.td1(), 8
		} else {
			p.docType = "P"
			lines, at = p.td3(), 21
		}
		b := []byte(lines[1])
		i := at + rng.IntN(7)
		b[i] = byte('0' + (int(b[i]-'0')+1+rng.IntN(9))%10)
		lines[1] = string(b)
		if got, _ := ParseMRZ(strings.Join(lines, "\n"), mrzNow); got.Valid || !got.Expiry.IsZero() {
			t.Fatalf("tampered zone trusted: %q → %+v", lines, got)
		}
	}
}

func TestMRZCheckDigit(t *testing.T) {
	for s, want := range map[string]int{"D23145890": 7, "740812": 2, "120415": 9, "L898902C3": 6, "<<<<": 0, "a": -1} {
		if got := MRZCheckDigit(s); got != want {
			t.Errorf("MRZCheckDigit(%q) = %d, want %d", s, got, want)
		}
	}
}

// FuzzMRZ: whatever the text, ParseMRZ returns quickly, and a trusted
// zone has a consistent reading.
func FuzzMRZ(f *testing.F) {
	id := testIdentity()
	f.Add(strings.Join(id.td1(), "\n"))
	f.Add("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10")
	f.Fuzz(func(t *testing.T, text string) {
		z, ok := ParseMRZ(text, mrzNow)
		if !ok && z != (MRZ{}) {
			t.Fatalf("no zone but %+v", z)
		}
		if !z.Valid {
			if !z.Expiry.IsZero() || z.NumberLast4 != "" {
				t.Fatalf("untrusted zone with data: %+v", z)
			}
			return
		}
		if len(z.NumberLast4) > 4 || z.Corrected > maxForced+maxTries+6 {
			t.Fatalf("odd trusted zone: %+v", z)
		}
		if z.Format != MRZFrenchID && z.Expiry.IsZero() {
			t.Fatalf("trusted %s zone without expiry: %+v", z.Format, z)
		}
	})
}
