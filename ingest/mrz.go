package ingest

import (
	"strings"
	"time"
)

// MRZFormat names the layout of a machine-readable zone.
type MRZFormat string

const (
	// MRZTD1 is ICAO 9303 TD1: three lines of 30 characters, on cards —
	// the French identity card since 2021 and residence permits.
	MRZTD1 MRZFormat = "TD1"
	// MRZTD3 is ICAO 9303 TD3: two lines of 44 characters, on passports.
	MRZTD3 MRZFormat = "TD3"
	// MRZFrenchID is the French identity card of 1988–2021: two lines of
	// 36 characters starting with "IDFRA". It carries no expiry date.
	MRZFrenchID MRZFormat = "FR-ID"
)

// MRZ is what a machine-readable zone says, reduced to what the safe needs:
// no name and no birth date are kept.
type MRZ struct {
	Format MRZFormat
	// DocumentType is the document code without filler: "ID" (identity
	// card), "P" (passport), "IR" (residence permit), …
	DocumentType string
	// Country is the issuing state, "FRA" for France.
	Country string
	// Valid is true when every check digit, the composite one included,
	// matches — possibly after Corrected characters were re-read (see
	// ParseMRZ). NumberLast4 and Expiry are only set on a valid zone.
	Valid bool
	// Corrected counts the characters changed from the OCR reading (a
	// filler read as 'K', an 'O' read for a '0', …) among those the check
	// digits cover, each one confirmed by them.
	Corrected int
	// NumberLast4 is the last four characters of the document number,
	// empty when two readings of it pass its check digit.
	NumberLast4 string
	// Expiry is the expiry date; zero for MRZFrenchID, whose zone has none.
	Expiry time.Time
}

// ParseMRZ looks for a machine-readable zone in OCR text and reads it. The
// second result is false when the text has nothing that looks like a zone.
//
// OCR misreads a few characters of the OCR-B font in predictable ways: O
// for 0, I for 1, B for 8, S for 5, Z for 2, G for 6 (and back), a filler
// '<' as 'K' or '«', a run of fillers one too long or too short. ParseMRZ
// tries those readings, fewest changes first, and keeps one only when the
// check digits confirm it: each field's own digit and the composite digit
// together. Digits in numeric fields (dates, check digits) are never
// replaced by other digits, so a zone whose check digits are wrong stays
// invalid, and no date is taken from it. now decides the century of
// two-digit years.
func ParseMRZ(text string, now time.Time) (MRZ, bool) {
	lines := mrzCandidateLines(text)
	var first MRZ
	found := false
	for i := range lines {
		for _, f := range []*mrzLayout{&layoutTD1, &layoutTD3, &layoutFrenchID} {
			if i+f.lines > len(lines) || !f.starts(lines[i]) {
				continue
			}
			z, ok := f.read(lines[i:i+f.lines], now)
			if !ok {
				continue
			}
			if z.Valid {
				return z, true
			}
			if !found {
				first, found = z, true
			}
		}
	}
	return first, found
}

// starts reports whether l could be the first line of the layout.
func (f *mrzLayout) starts(l string) bool {
	if abs(len(l)-f.width) > 2 {
		return false
	}
	head := mapAlpha(l[:5])
	switch f.format {
	case MRZTD3:
		return head[0] == 'P'
	case MRZFrenchID:
		return head == "IDFRA"
	default:
		return strings.ContainsRune("IAC", rune(head[0]))
	}
}

// mrzCandidateLines keeps the lines of text that could belong to a zone:
// long, without spaces, made of the zone's alphabet (after mapping the
// usual stand-ins for '<').
func mrzCandidateLines(text string) []string {
	var out []string
	for _, raw := range strings.Split(text, "\n") {
		var b strings.Builder
		bad := 0
		for _, r := range strings.ToUpper(raw) {
			switch {
			case r == ' ' || r == '\t' || r == '\r':
				continue
			case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '<':
				b.WriteRune(r)
			case r == '«' || r == '‹' || r == '〈' || r == '≤' || r == '£' || r == '(':
				b.WriteByte('<')
			case unaccentUpper(r) != 0:
				b.WriteByte(unaccentUpper(r))
			default:
				bad++
			}
		}
		s := b.String()
		if len(s) >= 25 && len(s) <= 50 && bad*10 <= len(s) {
			out = append(out, s)
		}
	}
	return out
}

// unaccentUpper maps an accented capital, which OCR in French sometimes
// reads for a plain one, to that capital; 0 for other runes.
func unaccentUpper(r rune) byte {
	switch r {
	case 'É', 'È', 'Ê', 'Ë':
		return 'E'
	case 'À', 'Â':
		return 'A'
	case 'Î', 'Ï':
		return 'I'
	case 'Ô':
		return 'O'
	case 'Ù', 'Û', 'Ü':
		return 'U'
	case 'Ç':
		return 'C'
	}
	return 0
}

// Position classes of a zone.
const (
	posAlpha   = 'A' // letters and filler: state codes, names
	posNumeric = 'N' // digits: dates
	posCheck   = 'C' // a check digit, or '<' standing for 0
	posAlnum   = 'X' // letters, digits and filler: numbers, optional data
	posSex     = 'S' // M, F, X or '<'
)

// mrzCheck is one check digit: the value at pos covers the ranges.
type mrzCheck struct {
	pos    int
	ranges [][2]int // half-open ranges of the joined lines
}

// mrzLayout describes one format. Positions are indexes into the lines
// joined together.
type mrzLayout struct {
	format  MRZFormat
	lines   int
	width   int
	classes string     // one class per position
	checks  []mrzCheck // field checks first, the composite last
	number  [2]int     // the document number's range (may continue, see long)
	birth   int        // start of the birth date's YYMMDD
	expiry  int        // start of YYMMDD, or -1
	long    bool       // TD1: a number longer than 9 continues in the optional data
}

//nolint:gochecknoglobals // constant layouts
var (
	layoutTD1 = mrzLayout{
		format: MRZTD1, lines: 3, width: 30,
		classes: "AAAAA" + "XXXXXXXXX" + "C" + "XXXXXXXXXXXXXXX" +
			"NNNNNN" + "C" + "S" + "NNNNNN" + "C" + "AAA" + "XXXXXXXXXXX" + "C" +
			strings.Repeat("A", 30),
		checks: []mrzCheck{
			{14, [][2]int{{5, 14}}},
			{36, [][2]int{{30, 36}}},
			{44, [][2]int{{38, 44}}},
			{59, [][2]int{{5, 30}, {30, 37}, {38, 45}, {48, 59}}},
		},
		number: [2]int{5, 14}, birth: 30, expiry: 38, long: true,
	}
	layoutTD3 = mrzLayout{
		format: MRZTD3, lines: 2, width: 44,
		classes: "AAAAA" + strings.Repeat("A", 39) +
			"XXXXXXXXX" + "C" + "AAA" + "NNNNNN" + "C" + "S" + "NNNNNN" + "C" + strings.Repeat("X", 14) + "C" + "C",
		checks: []mrzCheck{
			{53, [][2]int{{44, 53}}},
			{63, [][2]int{{57, 63}}},
			{71, [][2]int{{65, 71}}},
			{86, [][2]int{{72, 86}}},
			{87, [][2]int{{44, 54}, {57, 64}, {65, 87}}},
		},
		number: [2]int{44, 53}, birth: 57, expiry: 65,
	}
	layoutFrenchID = mrzLayout{
		format: MRZFrenchID, lines: 2, width: 36,
		// The number is the year and month of issue, the department (2A
		// and 2B for Corsica) and office, and a sequence: digits but for
		// the department.
		classes: "AAAAA" + strings.Repeat("A", 25) + "XXXXXX" +
			"NNNN" + "XXX" + "NNNNN" + "C" + strings.Repeat("A", 14) + "NNNNNN" + "C" + "S" + "C",
		checks: []mrzCheck{
			{48, [][2]int{{36, 48}}},
			{69, [][2]int{{63, 69}}},
			{71, [][2]int{{0, 71}}},
		},
		number: [2]int{36, 48}, birth: 63, expiry: -1,
	}
)

// maxTries bounds the re-readings ParseMRZ may try in one zone (each
// alternative character taken, each filler added or removed): the more
// readings are tried, the likelier a wrong one passes a check digit by
// chance (one in ten per check, which is why a date needs its own check
// and the composite one).
const maxTries = 3

// maxReadings bounds the combinations of line readings tried: each one
// costs a search, and that many doubts about the lengths mean the lines
// were not read.
const maxReadings = 400

// maxForced bounds the characters read otherwise because of their
// position (a letter where a digit must be): beyond it the zone is more
// guessed than read.
const maxForced = 6

// maxValidityYears bounds how far ahead an expiry date can be: French
// identity cards are valid 15 years, passports and residence permits 10.
const maxValidityYears = 16

// read parses the zone's lines. It returns ok when the lines fit the
// layout at all (even with failing check digits).
func (f *mrzLayout) read(lines []string, now time.Time) (MRZ, bool) {
	// Each line may have a run of fillers one or two too long or short.
	// Every zone has fillers (at least between surname and given names):
	// long lines of capitals without any are other text.
	if strings.Count(strings.Join(lines, ""), "<") < 2 {
		return MRZ{}, false
	}
	// Edits of a line no check digit covers (the names) cost nothing:
	// they cannot make a wrong reading pass.
	var cands [][]string
	edits, n := 0, 1
	for i, l := range lines {
		c := fitLength(l, f.width)
		if len(c) == 0 {
			return MRZ{}, false
		}
		if f.checkedLine(i) {
			edits += abs(len(l) - f.width)
		} else {
			c = c[:1] // no check digit: any fitting reading will do
		}
		cands = append(cands, c)
		n *= len(c)
	}
	if n > maxReadings {
		return MRZ{}, false // too many ways to read it: not a reading
	}
	var best *solution
	ambiguous, numberAmbiguous := false, false
	var walk func(i int, parts []string)
	walk = func(i int, parts []string) {
		if i == len(cands) {
			s := f.solve(strings.Join(parts, ""), maxTries-edits)
			switch {
			case s == nil:
			case best == nil || s.better(best):
				best, ambiguous, numberAmbiguous = s, false, false
			case s.valid && best.valid && s.tries == best.tries:
				// Two readings of the line lengths pass with the same
				// effort: what they disagree on is not trusted. (The
				// composite check digit cannot tell numbers apart: the
				// number's own check digit already fixes its share.)
				if !f.sameDates(s.text, best.text) {
					ambiguous = true
				} else if s.text[f.number[0]:f.number[1]] != best.text[f.number[0]:f.number[1]] {
					numberAmbiguous = true
				}
			}
			return
		}
		for _, c := range cands[i] {
			walk(i+1, append(parts, c))
		}
	}
	walk(0, nil)
	if best == nil {
		return MRZ{}, false
	}
	z := MRZ{Format: f.format, Country: strings.Trim(best.text[2:5], "<"), DocumentType: strings.Trim(best.text[0:2], "<")}
	if !best.valid || ambiguous {
		return z, true
	}
	num := best.text[f.number[0]:f.number[1]]
	if f.long && best.text[14] == '<' {
		// TD1 numbers of more than 9 characters: the rest is at the start
		// of the optional data, followed by their check digit.
		if rest := strings.SplitN(best.text[15:30], "<", 2)[0]; len(rest) >= 2 {
			num += rest[:len(rest)-1]
		}
	}
	num = strings.Trim(num, "<")
	// Two misread digits can fool a check digit and the composite one
	// together; a date that makes no sense is a sign of it.
	birth, ok := mrzDate(best.text[f.birth:f.birth+6], now, true)
	if !ok {
		return z, true
	}
	if f.expiry >= 0 {
		d, ok := mrzDate(best.text[f.expiry:f.expiry+6], now, false)
		if !ok || !d.After(birth) || d.After(now.AddDate(maxValidityYears, 0, 0)) {
			return z, true
		}
		z.Expiry = d
	}
	z.Valid, z.Corrected = true, best.changes+edits
	if !numberAmbiguous {
		z.NumberLast4 = num[max(0, len(num)-4):]
	}
	return z, true
}

// sameDates reports whether two readings of a zone give the same dates.
func (f *mrzLayout) sameDates(a, b string) bool {
	return a[f.birth:f.birth+6] == b[f.birth:f.birth+6] && (f.expiry < 0 || a[f.expiry:f.expiry+6] == b[f.expiry:f.expiry+6])
}

// checkedLine reports whether a check digit covers some of line i.
func (f *mrzLayout) checkedLine(i int) bool {
	lo, hi := i*f.width, (i+1)*f.width
	for _, ch := range f.checks {
		for _, r := range ch.ranges {
			if r[0] < hi && r[1] > lo {
				return true
			}
		}
	}
	return false
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// fitLength returns the readings of a line at exactly width characters:
// the line itself when it fits; otherwise, when it is at most two
// characters off, the line with fillers removed from or added to the end of
// one run of '<', characters removed from or fillers added to its end, or,
// one character too long, any one character removed.
func fitLength(l string, width int) []string {
	d := len(l) - width
	if d == 0 {
		return []string{l}
	}
	if abs(d) > 2 {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) == width && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if d > 0 {
		add(l[:width])
	} else {
		add(l + strings.Repeat("<", -d))
	}
	for e := 1; e <= len(l); e++ {
		if l[e-1] != '<' || (e < len(l) && l[e] == '<') {
			continue // e is not the end of a run of fillers
		}
		s := e - 1
		for s > 0 && l[s-1] == '<' {
			s--
		}
		if d > 0 && e-s >= d {
			add(l[:e-d] + l[e:])
		} else if d < 0 {
			add(l[:e] + strings.Repeat("<", -d) + l[e:])
		}
	}
	if d == 1 {
		// One character read twice or made up from a speck: any one may
		// be the extra one. The check digits decide, and read() refuses
		// two different readings that both pass.
		for i := 0; i < len(l); i++ {
			add(l[:i] + l[i+1:])
		}
	}
	return out
}

type solution struct {
	text    string
	changes int // characters changed from the reading
	tries   int // of which alternatives searched for (not forced by the position)
	valid   bool
}

func (s *solution) better(o *solution) bool {
	if s.valid != o.valid {
		return s.valid
	}
	if s.tries != o.tries {
		return s.tries < o.tries
	}
	return s.changes < o.changes
}

// solve reads a zone of exactly the layout's size: each position is first
// read as its class requires (a letter in a digit position becomes the
// digit it looks like); then the fewest alternatives (at most budget) that
// satisfy every check digit are looked for. It returns nil when the text
// is not the layout's size.
func (f *mrzLayout) solve(z string, budget int) *solution {
	if len(z) != len(f.classes) {
		return nil
	}
	b := []byte(z)
	alts := make([]byte, len(b)) // the other reading of each position, or 0
	covered := make([]bool, len(b))
	for _, ch := range f.checks {
		covered[ch.pos] = true
		for _, r := range ch.ranges {
			for i := r[0]; i < r[1]; i++ {
				covered[i] = true
			}
		}
	}
	changes := 0
	bad := false
	for i := range b {
		c := b[i]
		if !covered[i] {
			// Names and such: read, never checked, never returned.
			if m := letterFor(c); m != 0 && f.classes[i] == posAlpha {
				b[i] = m
			}
			continue
		}
		switch f.classes[i] {
		case posNumeric, posCheck:
			if c == '<' && f.classes[i] == posCheck {
				break
			}
			m := digitFor(c)
			if m == 0 {
				bad = true
				break
			}
			if m != c {
				b[i] = m
				changes++
			}
		case posAlpha:
			if m := letterFor(c); m != 0 && m != c {
				b[i] = m
				changes++
			}
			if b[i] == 'K' && f.inFiller(z, i) {
				b[i] = '<'
				changes++
			}
		case posSex:
			switch c {
			case 'M', 'F', 'X', '<':
			case 'H': // M at low resolution
				b[i] = 'M'
				changes++
			case 'K':
				b[i] = '<'
				changes++
			default:
				bad = true
			}
		case posAlnum:
			if c == 'K' && f.inFiller(z, i) {
				b[i] = '<'
				changes++
				break
			}
			alts[i] = lookalike(c)
		}
	}
	s := &solution{text: string(b), changes: changes}
	if bad || budget < 0 || changes > maxForced {
		return s
	}
	// Field checks first, each over positions no other field check
	// covers; the composite then decides the positions only it covers.
	fixed := make([]bool, len(b))
	valid := true
	tries := 0
	for _, ch := range f.checksFor(b) {
		var free []int
		for _, r := range ch.ranges {
			for i := r[0]; i < r[1]; i++ {
				if !fixed[i] && alts[i] != 0 {
					free = append(free, i)
				}
			}
		}
		if alts[ch.pos] != 0 && !fixed[ch.pos] {
			free = append(free, ch.pos)
		}
		n, ok := satisfy(b, alts, free, ch, budget-tries)
		if !ok {
			valid = false
			break
		}
		tries += n
		for _, r := range ch.ranges {
			for i := r[0]; i < r[1]; i++ {
				fixed[i] = true
			}
		}
		fixed[ch.pos] = true
	}
	s.text, s.changes, s.tries, s.valid = string(b), changes+tries, tries, valid
	return s
}

// checksFor returns the layout's checks for this zone: a TD1 document
// number longer than 9 characters has '<' in place of its check digit and
// continues in the optional data, up to its check digit.
func (f *mrzLayout) checksFor(b []byte) []mrzCheck {
	if !f.long || b[14] != '<' {
		return f.checks
	}
	e := 15
	for e < 30 && b[e] != '<' {
		e++
	}
	if e < 17 {
		return f.checks // nothing after the '<': let the check fail
	}
	checks := append([]mrzCheck(nil), f.checks...)
	checks[0] = mrzCheck{pos: e - 1, ranges: [][2]int{{5, 14}, {15, e - 1}}}
	return checks
}

// satisfy changes at most budget of the free positions to their
// alternatives, fewest first, until the check passes; b is left with the
// passing reading. It reports how many positions were changed. When two
// readings with the fewest changes both pass, the check cannot choose and
// satisfy fails.
func satisfy(b []byte, alts []byte, free []int, ch mrzCheck, budget int) (int, bool) {
	if ch.passes(b) {
		return 0, true
	}
	if len(free) > 16 {
		free = free[:16] // more doubt than this is not a reading
	}
	orig := make([]byte, len(free))
	for j, i := range free {
		orig[j] = b[i]
	}
	for n := 1; n <= budget && n <= len(free); n++ {
		var found []int
		idx := make([]int, n)
		for j := range idx {
			idx[j] = j
		}
		for {
			for _, j := range idx {
				b[free[j]] = alts[free[j]]
			}
			if ch.passes(b) {
				if found != nil {
					return 0, false // two readings pass
				}
				found = append([]int{}, idx...)
			}
			for _, j := range idx {
				b[free[j]] = orig[j]
			}
			// The next combination of n positions among len(free).
			j := n - 1
			for j >= 0 && idx[j] == len(free)-n+j {
				j--
			}
			if j < 0 {
				break
			}
			idx[j]++
			for k := j + 1; k < n; k++ {
				idx[k] = idx[k-1] + 1
			}
		}
		if found != nil {
			for _, j := range found {
				b[free[j]] = alts[free[j]]
			}
			return n, true
		}
	}
	return 0, false
}

func (ch mrzCheck) passes(b []byte) bool {
	sum := 0
	w := 0
	for _, r := range ch.ranges {
		for i := r[0]; i < r[1]; i++ {
			v, ok := mrzValue(b[i])
			if !ok {
				return false
			}
			sum += v * [3]int{7, 3, 1}[w%3]
			w++
		}
	}
	want, ok := mrzValue(b[ch.pos])
	return ok && want < 10 && sum%10 == want
}

// MRZCheckDigit computes the ICAO 9303 check digit of s (weights 7, 3, 1;
// digits at face value, A–Z as 10–35, '<' as 0). It returns -1 when s has
// another character.
func MRZCheckDigit(s string) int {
	sum := 0
	for i := 0; i < len(s); i++ {
		v, ok := mrzValue(s[i])
		if !ok {
			return -1
		}
		sum += v * [3]int{7, 3, 1}[i%3]
	}
	return sum % 10
}

func mrzValue(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10, true
	case c == '<':
		return 0, true
	}
	return 0, false
}

// digitFor reads c in a position that must be a digit; 0 when it cannot be
// one.
func digitFor(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c
	case c == 'O' || c == 'Q' || c == 'D' || c == 'U':
		return '0'
	case c == 'I' || c == 'L' || c == 'J' || c == 'T':
		return '1'
	case c == 'Z':
		return '2'
	case c == 'A':
		return '4'
	case c == 'S':
		return '5'
	case c == 'G' || c == 'C' || c == 'E':
		return '6'
	case c == 'B':
		return '8'
	}
	return 0
}

// letterFor reads c in a position that must be a letter or filler.
func letterFor(c byte) byte {
	switch c {
	case '0':
		return 'O'
	case '1':
		return 'I'
	case '2':
		return 'Z'
	case '5':
		return 'S'
	case '6':
		return 'G'
	case '8':
		return 'B'
	}
	if c >= '0' && c <= '9' {
		return 0
	}
	return c
}

// lookalike is the other reading of an ambiguous character in a position
// where both letters and digits are allowed. G and 6 are not there: their
// values are equal modulo 10, so no check digit can choose between them.
func lookalike(c byte) byte {
	switch c {
	case '0':
		return 'O'
	case 'O':
		return '0'
	case '1':
		return 'I'
	case 'I':
		return '1'
	case '8':
		return 'B'
	case 'B':
		return '8'
	case '5':
		return 'S'
	case 'S':
		return '5'
	case '2':
		return 'Z'
	case 'Z':
		return '2'
	}
	return 0
}

// inFiller reports whether position i of zone z lies in a run of fillers,
// where a 'K' is a '<' misread. Check digits cannot tell them apart (K is
// 20, '<' is 0: the same modulo 10), so the position decides: a '<' on the
// left and, on the right, a '<', a check digit or the end of the line; or
// the start of a line on the left and a '<' on the right.
func (f *mrzLayout) inFiller(z string, i int) bool {
	start, end := i%f.width == 0, (i+1)%f.width == 0
	left := !start && z[i-1] == '<'
	right := !end && (z[i+1] == '<' || f.classes[i+1] == posCheck)
	return left && (right || end) || start && !end && z[i+1] == '<'
}

func mapAlpha(s string) string {
	b := []byte(s)
	for i, c := range b {
		if m := letterFor(c); m != 0 {
			b[i] = m
		}
	}
	return string(b)
}

// mrzDate reads YYMMDD. Expiry dates are put in the century that places
// them at most 30 years after now; birth dates (past) at or before now.
func mrzDate(s string, now time.Time, past bool) (time.Time, bool) {
	if len(s) != 6 {
		return time.Time{}, false
	}
	n := [3]int{}
	for k := 0; k < 3; k++ {
		a, b := s[2*k], s[2*k+1]
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return time.Time{}, false
		}
		n[k] = int(a-'0')*10 + int(b-'0')
	}
	y := 2000 + n[0]
	if past && y > now.Year() || !past && y > now.Year()+30 {
		y -= 100
	}
	d := time.Date(y, time.Month(n[1]), n[2], 0, 0, 0, 0, time.UTC)
	if d.Month() != time.Month(n[1]) || d.Day() != n[2] {
		return time.Time{}, false
	}
	return d, true
}
