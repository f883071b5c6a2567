package ingest

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Kind is the kind of a paper, as recognition suggests it. The web layer
// maps it to the vault's kinds; ingest does not import vault.
type Kind string

// The kinds Recognize can suggest.
const (
	KindUnknown         Kind = ""
	KindIdentityCard    Kind = "carte_identite"
	KindResidencePermit Kind = "titre_sejour"
	KindPassport        Kind = "passeport"
	KindTaxNotice       Kind = "avis_imposition"
	KindCAF             Kind = "attestation_caf"
	KindPayslip         Kind = "bulletin_salaire"
	KindFranceTravail   Kind = "attestation_france_travail"
	KindRentReceipt     Kind = "quittance_loyer"
	KindInvoice         Kind = "facture"
	KindBankDetails     Kind = "rib"
)

// RecognizeOptions configures Recognize. The zero value is ready to use.
type RecognizeOptions struct {
	// Now is today: it decides the century of two-digit years in a
	// machine-readable zone and which dates are plausible. Zero means
	// time.Now().
	Now time.Time
	// Page says the image is already a flat, upright page (a rendition),
	// so the sheet is not looked for and the page not turned again.
	Page bool
	// Tesseract is the tesseract program; empty looks it up on PATH.
	Tesseract string
	// Timeout bounds each OCR run (DefaultOCRTimeout when zero) and
	// Memory its address space in bytes (DefaultOCRMemory when zero).
	Timeout time.Duration
	Memory  int64
}

// Recognition is what Recognize suggests about a paper. Nothing in it is
// a decision: the person confirms or corrects each suggestion.
type Recognition struct {
	// Kind is the suggested kind, KindUnknown when nothing fits, and
	// Confidence how sure the suggestion is, from 0 to 1.
	Kind       Kind
	Confidence float64
	// Scores lists every kind with some evidence, best first: the choices
	// to offer when the person corrects the suggestion.
	Scores []KindScore
	// Issued and Expires are the suggested issue and expiry dates.
	Issued, Expires DateSuggestion
	// MRZ is the machine-readable zone, nil when none was found. When its
	// check digits fail (MRZ.Valid is false) no date is taken from it.
	MRZ *MRZ
	// Text is the text read on the page. It is the paper's content: seal
	// it, never log it.
	Text string
	// OCRTime is the time spent in tesseract.
	OCRTime time.Duration
}

// KindScore is the evidence for one kind: the sum of the weights of the
// words and zone found.
type KindScore struct {
	Kind  Kind
	Score float64
}

// DateSource says where a suggested date was read.
type DateSource string

// Where dates come from.
const (
	FromMRZ  DateSource = "mrz"  // the machine-readable zone, check digits verified
	FromText DateSource = "text" // the printed text, next to a label such as « Date d'expiration »
)

// DateSuggestion is a suggested date; Date is zero when there is none.
type DateSuggestion struct {
	Date       time.Time
	Confidence float64
	Source     DateSource
}

// Recognize reads a paper and suggests its kind, its issue and expiry
// dates, and what its machine-readable zone says. img is a photo (the
// sheet is found, straightened and turned upright as Process does) or,
// with opts.Page, a page already made flat and upright.
//
// The text is read by tesseract, locally, as a subprocess bounded in time
// and memory (see runOCR); it is returned in Recognition.Text and never
// written anywhere. Errors wrap ErrOCRUnavailable when tesseract or its
// French data is missing, ErrOCRFailed, ErrTimeout or ErrCanceled.
func Recognize(ctx context.Context, img image.Image, opts RecognizeOptions) (*Recognition, error) {
	if img == nil || img.Bounds().Empty() {
		return nil, fmt.Errorf("ingest: recognize: %w", ErrEmpty)
	}
	var page *image.Gray
	if opts.Page {
		page = recognitionPage(img)
	} else {
		flat, err := flatPage(ctx, normalize(img), 1, true)
		if err != nil {
			return nil, err
		}
		page = recognitionPage(flat)
	}
	return recognize(ctx, page, opts)
}

// RecognizeFile reads the first page of an uploaded photo or scan (JPEG,
// PNG, HEIC, WebP or TIFF) within Process's default limits — bytes,
// pixels, time — turns it as its EXIF orientation says, and recognises
// it. PDFs are refused with ErrUnsupportedType: there is no PDF renderer
// to make a picture of their page.
func RecognizeFile(ctx context.Context, r io.Reader, opts RecognizeOptions) (*Recognition, error) {
	lim := Options{}.withDefaults()
	b, err := readAll(r, lim.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("ingest: recognize: read: %w", err)
	}
	mt, err := sniff(b[:min(len(b), SniffLen)])
	if err != nil {
		return nil, fmt.Errorf("ingest: recognize: %w", err)
	}
	if mt == PDF {
		return nil, fmt.Errorf("ingest: recognize: a PDF has no picture to read: %w", ErrUnsupportedType)
	}
	dctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	var img image.Image
	orient, detect := 1, true
	if mt == TIFF {
		ifds, err := tiffPages(b, lim.MaxPages)
		if err != nil {
			return nil, fmt.Errorf("ingest: recognize: %w", err)
		}
		err = bounded(dctx, nil, func() error {
			var e error
			img, e = decodeTIFFPage(b, ifds[0], lim.MaxPixels)
			return e
		})
		if err != nil {
			return nil, fmt.Errorf("ingest: recognize: decode: %w", err)
		}
		detect = false // a scan: no sheet to look for
	} else {
		cfg, err := decodeConfig(mt, b)
		if err != nil {
			return nil, fmt.Errorf("ingest: recognize: decode header: %w", err)
		}
		if err := checkPixels(cfg, lim.MaxPixels); err != nil {
			return nil, fmt.Errorf("ingest: recognize: %w", err)
		}
		if mt == JPEG {
			orient = jpegOrientation(b)
		}
		err = bounded(dctx, nil, func() error {
			var e error
			img, e = decodeImage(mt, b)
			return e
		})
		if err != nil {
			return nil, fmt.Errorf("ingest: recognize: decode: %w", err)
		}
	}
	flat, err := flatPage(dctx, normalize(img), orient, detect)
	if err != nil {
		return nil, err
	}
	return recognize(ctx, recognitionPage(flat), opts)
}

// recognize reads a grey page made by recognitionPage.
func recognize(ctx context.Context, page *image.Gray, opts RecognizeOptions) (*Recognition, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	rec := &Recognition{}
	req := ocrRequest{path: opts.Tesseract, lang: "fra", tsv: true, timeout: opts.Timeout, memory: opts.Memory}
	t := time.Now()
	out, err := runOCR(ctx, page, req)
	rec.OCRTime += time.Since(t)
	if err != nil {
		return nil, err
	}
	lines := groupLines(parseTSV(out))
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = l.text
	}
	rec.Text = strings.Join(texts, "\n")

	// Tesseract may give a page's blocks out of order: the zone's lines
	// are taken top to bottom.
	byY := append([]ocrLine(nil), lines...)
	sort.SliceStable(byY, func(i, j int) bool { return byY[i].box.Min.Y < byY[j].box.Min.Y })
	zt := make([]string, len(byY))
	for i, l := range byY {
		zt[i] = l.text
	}
	z, found := ParseMRZ(strings.Join(zt, "\n"), opts.Now)
	r, zone := mrzRegion(lines, page.Rect)
	if !zone {
		// No line looked like a zone, but an identity paper has one: look
		// in the lower part of the page, where ICAO puts it.
		switch k, _ := pickKind(scoreKinds(normalizeText(rec.Text), nil)); k {
		case KindIdentityCard, KindResidencePermit, KindPassport:
			b := page.Rect
			r, zone = image.Rect(b.Min.X, b.Max.Y-b.Dy()*2/5, b.Max.X, b.Max.Y), true
		}
	}
	if zone && !z.Valid {
		// Read the zone's glyphs against OCR-B's.
		band := page.SubImage(r).(*image.Gray)
		if z2, ok := ParseMRZ(strings.Join(readMRZGlyphs(band), "\n"), opts.Now); ok && (z2.Valid || !found) {
			z, found = z2, true
		}
	}
	if zone && !z.Valid {
		// Read the zone again on its own, with only its alphabet allowed:
		// tesseract reads OCR-B better without the rest of the page. The
		// French model first, then the English one, which misreads other
		// characters.
		for _, lang := range []string{"fra", "eng"} {
			req := ocrRequest{path: opts.Tesseract, lang: lang, psm: 6, whitelist: mrzAlphabet, timeout: opts.Timeout, memory: opts.Memory}
			t := time.Now()
			out, err := runOCR(ctx, page.SubImage(r).(*image.Gray), req)
			rec.OCRTime += time.Since(t)
			if errors.Is(err, ErrOCRUnavailable) && lang != "fra" {
				break // the English data is optional
			}
			if err != nil {
				return nil, err
			}
			if z2, ok := ParseMRZ(string(out), opts.Now); ok && (z2.Valid || !found) {
				z, found = z2, true
			}
			if z.Valid {
				break
			}
		}
	}
	if found {
		rec.MRZ = &z
	}
	norm := normalizeText(rec.Text)
	rec.Scores = scoreKinds(norm, rec.MRZ)
	rec.Kind, rec.Confidence = pickKind(rec.Scores)
	rec.Issued, rec.Expires = suggestDates(lines, rec.MRZ, rec.Kind, opts.Now)
	return rec, nil
}

const mrzAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"

// flatPage makes the page Process would make of a photo: the sheet found,
// straightened, turned upright and evened out (shadows and colour casts
// removed).
func flatPage(ctx context.Context, img image.Image, orient int, detect bool) (image.Image, error) {
	var st StageTimes
	opts := Options{}.withDefaults()
	var pg *page
	err := bounded(ctx, nil, func() error {
		var e error
		pg, e = photoPage(ctx, img, orient, detect, &opts, 0, &st)
		return e
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: recognize: %w", err)
	}
	return pg.img, nil
}

// recognitionPage makes the grey page that tesseract reads from a flat,
// upright page. (Enlarging cards, whose small print is a few pixels
// high, was tried: on the evaluation set it read fewer zones, slower.)
func recognitionPage(img image.Image) *image.Gray {
	return toGray(img)
}

func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	switch m := img.(type) {
	case *image.RGBA:
		for y := 0; y < b.Dy(); y++ {
			row := m.Pix[y*m.Stride:]
			out := g.Pix[y*g.Stride:]
			for x := 0; x < b.Dx(); x++ {
				out[x] = uint8((299*int(row[4*x]) + 587*int(row[4*x+1]) + 114*int(row[4*x+2]) + 500) / 1000)
			}
		}
	default:
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				r, gg, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				g.Pix[y*g.Stride+x] = uint8((299*r + 587*gg + 114*bb + 500) / 1000 >> 8)
			}
		}
	}
	return g
}

// mrzRegion finds where a machine-readable zone is on the page: the band,
// across the whole page, around the lines that look like one (long runs
// of capitals, digits and '<'), with two lines' height above and below
// for a zone line that was read as something else.
func mrzRegion(lines []ocrLine, page image.Rectangle) (image.Rectangle, bool) {
	var r image.Rectangle
	h, n := 0, 0
	for _, l := range lines {
		if looksLikeMRZ(l.text) {
			r = r.Union(l.box)
			h += l.box.Dy()
			n++
		}
	}
	if n == 0 {
		return r, false
	}
	h = 2 * h / n
	r = image.Rect(page.Min.X, r.Min.Y-h, page.Max.X, r.Max.Y+h).Intersect(page)
	return r, !r.Empty()
}

// looksLikeMRZ: at least 20 characters of the zone's alphabet with a few
// fillers (or their usual misreadings), and few other characters.
func looksLikeMRZ(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	n, fill, other := 0, 0, 0
	for _, r := range s {
		switch {
		case r == '<' || r == '«' || r == '‹':
			fill++
			n++
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			n++
		default:
			other++
		}
	}
	return n >= 20 && fill >= 2 && other*5 <= n
}

// --- kinds -----------------------------------------------------------------

// kindWords are the words and phrases that point to each kind, with
// weights: a paper's own title weighs most, the vocabulary of its kind
// less. They are matched on normalised text (lower case, no accents).
var kindWords = map[Kind]map[string]float64{ //nolint:gochecknoglobals // a constant table
	KindIdentityCard: {"carte nationale d'identite": 7, "nationale d'identite": 4, "identity card": 4, "carte d'identite": 4},
	KindResidencePermit: {"titre de sejour": 7, "residence permit": 5, "carte de sejour": 5, "carte de resident": 5,
		"type de titre": 3, "type of permit": 3, "recepisse": 3},
	KindPassport: {"passeport": 6, "passport": 5, "code du pays": 2, "country code": 2, "place of birth": 1},
	KindTaxNotice: {"avis d'impot": 7, "impot sur le revenu": 4, "revenu fiscal de reference": 4, "finances publiques": 3,
		"numero fiscal": 3, "impots.gouv": 3, "reference de l'avis": 3, "mise en recouvrement": 2, "nombre de parts": 2,
		"avis de situation declarative": 6},
	KindCAF: {"allocations familiales": 6, "caisse d'allocations": 5, "allocataire": 3, "caf.fr": 3, "quotient familial": 2,
		"prime d'activite": 2, "aide personnalisee au logement": 2, "prestations": 1},
	KindPayslip: {"bulletin de paie": 7, "bulletin de salaire": 7, "salaire de base": 3, "net a payer": 3, "net imposable": 2,
		"cotisations": 2, "convention collective": 2, "urssaf": 1, "securite sociale": 1},
	KindFranceTravail: {"france travail": 7, "pole emploi": 7, "francetravail": 4, "demandeur d'emploi": 3,
		"retour a l'emploi": 3},
	KindRentReceipt: {"quittance de loyer": 8, "quittance": 4, "locataire": 2, "bailleur": 2, "provision pour charges": 2,
		"loyer": 1},
	KindInvoice: {"facture": 5, "montant ttc": 3, "total ht": 2, "tva": 2, "date d'echeance": 2, "reference client": 2,
		"abonnement": 1, "consommation": 1, "kwh": 1},
	KindBankDetails: {"releve d'identite bancaire": 8, "iban": 4, "code banque": 3, "code guichet": 3, "cle rib": 3,
		"rib": 3, "bic": 2, "titulaire du compte": 2, "domiciliation": 2},
}

// kindMatcher is one phrase of kindWords, compiled.
type kindMatcher struct {
	kind    Kind
	weight  float64
	re      *regexp.Regexp
	compact string // letters only, for phrases long enough to match that way
}

var kindMatchers = func() []kindMatcher { //nolint:gochecknoglobals // compiled once from kindWords
	var ms []kindMatcher
	for k, words := range kindWords {
		for w, weight := range words {
			m := kindMatcher{kind: k, weight: weight, re: regexp.MustCompile(`(^|[^a-z0-9])` + regexp.QuoteMeta(w) + `($|[^a-z0-9])`)}
			if c := lettersOnly(w); len(c) >= 10 {
				m.compact = c
			}
			ms = append(ms, m)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].re.String() < ms[j].re.String() })
	return ms
}()

// scoreKinds adds up the evidence for each kind.
func scoreKinds(norm string, z *MRZ) []KindScore {
	score := map[Kind]float64{}
	compact := lettersOnly(norm)
	for _, m := range kindMatchers {
		switch {
		case m.re.MatchString(norm):
			score[m.kind] += m.weight
		case m.compact == "":
		case strings.Contains(compact, m.compact):
			// Spaces or apostrophes lost: the letters in a row still count.
			score[m.kind] += m.weight
		case fuzzyContains(compact, m.compact, len(m.compact)/4):
			// A long phrase with a letter misread here and there.
			score[m.kind] += 0.8 * m.weight
		}
	}
	if z != nil {
		w := 4.0 // the layout of a zone, even unread, says what the paper is
		if z.Valid {
			w = 12
		}
		if k := mrzKind(z); k != KindUnknown {
			score[k] += w
		}
	}
	var out []KindScore
	for k, s := range score {
		out = append(out, KindScore{k, s})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// mrzKind maps a zone's format and document code to a kind.
func mrzKind(z *MRZ) Kind {
	switch {
	case z.Format == MRZFrenchID:
		return KindIdentityCard
	case z.Format == MRZTD3 && strings.HasPrefix(z.DocumentType, "P"):
		return KindPassport
	case z.Format == MRZTD1:
		switch z.DocumentType {
		case "IR", "RP", "TS", "AR", "RT":
			return KindResidencePermit
		}
		return KindIdentityCard
	}
	return KindUnknown
}

// minKindScore is the evidence below which no kind is suggested: one
// word of a kind's vocabulary is not enough.
const minKindScore = 4

// pickKind turns scores into a suggestion: the best kind, with a
// confidence that grows with its evidence and with its lead over the next.
func pickKind(scores []KindScore) (Kind, float64) {
	if len(scores) == 0 || scores[0].Score < minKindScore {
		return KindUnknown, 0
	}
	b, c := scores[0].Score, 0.0
	if len(scores) > 1 {
		c = scores[1].Score
	}
	conf := (1 - math.Exp(-b/5)) * b / (b + c)
	return scores[0].Kind, math.Round(conf*100) / 100
}

// normalizeText lowers case, removes accents and unifies apostrophes and
// spaces, so that words match whatever OCR did with them.
func normalizeText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r == '\n':
			b.WriteByte('\n')
			space = false
			continue
		case unicode.IsSpace(r):
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		case r == '’' || r == '‘' || r == '`' || r == '´':
			r = '\''
		}
		space = false
		if a, ok := unaccent[r]; ok {
			b.WriteString(a)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var unaccent = map[rune]string{ //nolint:gochecknoglobals // a constant table
	'à': "a", 'â': "a", 'ä': "a", 'á': "a", 'ç': "c", 'é': "e", 'è': "e", 'ê': "e", 'ë': "e",
	'î': "i", 'ï': "i", 'í': "i", 'ô': "o", 'ö': "o", 'ó': "o", 'ù': "u", 'û': "u", 'ü': "u", 'ú': "u",
	'ÿ': "y", 'œ': "oe", 'æ': "ae", 'ñ': "n",
}

// fuzzyContains reports whether text contains pat with at most maxErr
// letters changed, added or left out (Sellers' approximate matching).
func fuzzyContains(text, pat string, maxErr int) bool {
	m := len(pat)
	prev := make([]int, m+1)
	cur := make([]int, m+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 0; i < len(text); i++ {
		cur[0] = 0
		for j := 1; j <= m; j++ {
			cost := 1
			if pat[j-1] == text[i] {
				cost = 0
			}
			cur[j] = min(prev[j-1]+cost, prev[j]+1, cur[j-1]+1)
		}
		if cur[m] <= maxErr {
			return true
		}
		prev, cur = cur, prev
	}
	return false
}

func lettersOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// --- dates -----------------------------------------------------------------

// A date as printed: 03/06/2025, 03.06.2025, 03-06-2025, 03 06 2025 (on
// cards), 3 juin 2025, 1er juin 2025.
// OCR sometimes loses the space between month and year ("02 052025"):
// a two-digit month may run into the year.
var dateRe = regexp.MustCompile(`(^|[^0-9])(1er|[0-3]?[0-9])(?:\s*[/.\-]\s*|\s+)(0[1-9]|1[0-2]|[1-9]|janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre)(?:\s*[/.\-]\s*|\s+|)((?:19|20)[0-9]{2})($|[^0-9])`)

var monthNames = map[string]int{"janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, //nolint:gochecknoglobals // a constant table
	"juillet": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12}

// dateRole is what a date is, according to the words before it.
type dateRole int

const (
	roleOther dateRole = iota
	roleIssue
	roleExpiry
	roleIgnore // birth, due date, a period's bounds
)

// Labels, on normalised text, most specific first.
var dateLabels = []struct { //nolint:gochecknoglobals // a constant table
	re     *regexp.Regexp
	role   dateRole
	weight float64
}{
	{regexp.MustCompile(`naiss|birth|\bnee?\b|\bne\(e\)`), roleIgnore, 0},
	{regexp.MustCompile(`echeance|recouvrement|periode|\bdu\s*$|\bau\s*$|\bentre\b`), roleIgnore, 0},
	{regexp.MustCompile(`expir|jusqu|valid until|fin de validite|valable|expiry|date d'ex`), roleExpiry, 0.75},
	{regexp.MustCompile(`delivr|date of issue|etabli|emission|emis le|date de paiement|date de facture|date d'etablissement`), roleIssue, 0.8},
	{regexp.MustCompile(`fait le|fait a\b.*\ble\s*$|, le\s*$`), roleIssue, 0.75},
}

// foundDate is one date read on the page.
type foundDate struct {
	date   time.Time
	role   dateRole
	weight float64
}

// suggestDates picks the issue and expiry dates: a verified zone's expiry
// first, then dates next to a label.
func suggestDates(lines []ocrLine, z *MRZ, kind Kind, now time.Time) (issued, expires DateSuggestion) {
	dates := findDates(lines, now)
	for _, d := range dates {
		switch d.role {
		case roleExpiry:
			if expires.Date.IsZero() || d.weight > expires.Confidence {
				expires = DateSuggestion{Date: d.date, Confidence: d.weight, Source: FromText}
			}
		case roleIssue:
			if !d.date.After(now) && (issued.Date.IsZero() || d.weight > issued.Confidence) {
				issued = DateSuggestion{Date: d.date, Confidence: d.weight, Source: FromText}
			}
		}
	}
	if expires.Date.IsZero() && (kind == KindIdentityCard || kind == KindResidencePermit || kind == KindPassport) {
		// On an identity paper the only date still to come is its expiry
		// (births and issues are past): the label above it may be too
		// small to read.
		for _, d := range dates {
			if d.role != roleIgnore && d.date.After(now) && d.date.After(expires.Date) {
				expires = DateSuggestion{Date: d.date, Confidence: 0.5, Source: FromText}
			}
		}
	}
	if z != nil && z.Valid && !z.Expiry.IsZero() {
		c := 0.95
		if expires.Date.Equal(z.Expiry) {
			c = 0.99 // the printed date says the same
		}
		expires = DateSuggestion{Date: z.Expiry, Confidence: c, Source: FromMRZ}
	}
	if issued.Date.IsZero() && !expires.Date.IsZero() {
		// French identity papers run for whole years less a day: a date
		// that many years before the expiry is the issue date.
		for _, d := range dates {
			for _, years := range []int{10, 15, 5, 4, 2, 1} {
				if d.role != roleIgnore && d.date.AddDate(years, 0, -1).Equal(expires.Date) {
					issued = DateSuggestion{Date: d.date, Confidence: 0.6, Source: FromText}
				}
			}
		}
	}
	if issued.Date.IsZero() {
		switch kind {
		case KindIdentityCard, KindResidencePermit, KindPassport, KindBankDetails:
			// Their unlabelled dates are birth dates and the like.
		default:
			// A letter's most recent date is usually the day it was
			// written.
			for _, d := range dates {
				if d.role == roleOther && !d.date.After(now) && d.date.After(issued.Date) {
					issued = DateSuggestion{Date: d.date, Confidence: 0.35, Source: FromText}
				}
			}
		}
	}
	return issued, expires
}

// findDates reads every date on the page with the label before it: the
// words before it on its line or, for a value printed under its label (on
// cards), the words of the line above that start where it starts.
func findDates(lines []ocrLine, now time.Time) []foundDate {
	var out []foundDate
	for i, l := range lines {
		norm := normalizeText(l.text)
		for _, m := range findAllDates(norm) {
			d, ok := parseFoundDate(norm, m)
			if !ok || d.Year() < now.Year()-80 || d.Year() > now.Year()+30 {
				continue
			}
			before := norm[:m[4]]
			role, w := labelRole(before)
			if role == roleOther && i > 0 && lettersOnly(before[max(0, len(before)-30):]) == "" {
				role, w = labelRole(labelAbove(lines[i-1], l, m[4]))
			}
			out = append(out, foundDate{date: d, role: role, weight: w})
		}
	}
	return out
}

// labelAbove returns the label printed above the value that starts at
// offset off of line l: the words of the line above that start near the
// value's first word, up to a wide gap.
func labelAbove(above, l ocrLine, off int) string {
	if above.box.Max.Y > l.box.Min.Y+l.box.Dy()/2 || l.box.Min.Y-above.box.Max.Y > 4*l.box.Dy() {
		return "" // not the line just above
	}
	// The value's first word: words are joined with single spaces, and
	// normalising keeps their count.
	wi, pos := 0, 0
	for k, w := range l.words {
		if pos > off {
			break
		}
		wi = k
		pos += len(normalizeText(w.text)) + 1
	}
	if wi >= len(l.words) {
		return ""
	}
	x := l.words[wi].box.Min.X
	tol := max(l.box.Dy(), 12)
	start := -1
	for k, w := range above.words {
		if abs(w.box.Min.X-x) <= tol {
			start = k
			break
		}
	}
	if start < 0 {
		return ""
	}
	parts := []string{above.words[start].text}
	for k := start + 1; k < len(above.words) && k < start+6; k++ {
		if above.words[k].box.Min.X-above.words[k-1].box.Max.X > 2*above.words[k].box.Dy() {
			break
		}
		parts = append(parts, above.words[k].text)
	}
	return normalizeText(strings.Join(parts, " "))
}

// findAllDates is dateRe.FindAllStringSubmatchIndex, except that a date
// may start right after the separator that ended the previous one ("04 05
// 2018 03 05 2028": two dates under two labels).
func findAllDates(s string) [][]int {
	var out [][]int
	for pos := 0; pos < len(s); {
		m := dateRe.FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		for i := range m {
			if m[i] >= 0 {
				m[i] += pos
			}
		}
		out = append(out, m)
		pos = m[9] // after the year
	}
	return out
}

func parseFoundDate(s string, m []int) (time.Time, bool) {
	day := s[m[4]:m[5]]
	if day == "1er" {
		day = "1"
	}
	mon := s[m[6]:m[7]]
	if m[7] == m[8] && len(mon) == 1 {
		return time.Time{}, false // "3 12025" is no date
	}
	// Atoi, not Sscan: "08" is not octal here.
	dd, _ := strconv.Atoi(day)
	yy, _ := strconv.Atoi(s[m[8]:m[9]])
	mm, ok := monthNames[mon]
	if !ok {
		mm, _ = strconv.Atoi(mon)
	}
	t := time.Date(yy, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	if dd < 1 || t.Day() != dd || int(t.Month()) != mm {
		return time.Time{}, false
	}
	return t, true
}

// labelRole reads the end of the text before a date.
func labelRole(before string) (dateRole, float64) {
	tail := before
	if len(tail) > 60 {
		tail = tail[len(tail)-60:]
	}
	for _, l := range dateLabels {
		if l.re.MatchString(tail) {
			return l.role, l.weight
		}
	}
	return roleOther, 0
}
