package sharing

import (
	"bytes"
	"compress/zlib"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/uuid"

	"coffre/vault/account"
	"coffre/vault/i18n"
)

// cardWordsIn are the card's words in lang, as the desk's page gives them (web's
// cardWords).
func cardWordsIn(lang string) *CardWords {
	t := func(id string) string { return i18n.Text(lang, id) }
	loc := i18n.LocaleOf(lang)
	return &CardWords{Title: t("card.title"), RecoveryTitle: t("card.recoverytitle"), Login: t("card.login"), Code: t("card.code"),
		WorksFrom: t("card.worksfrom"), Expires: t("card.expires"), Enter: t("card.enter"), Helped: t("card.helped"), Keep: t("card.keep"),
		Date: loc.Date, DateTime: loc.DateTime}
}

func testCard(tr *CardWords) AccessCard {
	return AccessCard{Login: "0612345678", Code: "k7qa-m9xp-2htw", CodeExpiresAt: time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC),
		WorksFrom: time.Date(2026, 3, 1, 13, 5, 0, 0, time.UTC), LoginURL: "https://coffre.example.fr/connexion",
		StructureName: "CCAS de Lille", StructureContact: "2 rue de l'Hôtel de Ville, 59000 Lille — 03 20 00 00 00", Translation: tr}
}

func testMandate() *Mandate {
	start := time.Date(2026, 3, 1, 13, 5, 0, 0, time.UTC)
	end := start.AddDate(0, 6, 0)
	return &Mandate{ID: uuid.New(), OwnerID: uuid.New(), OwnerLogin: "0612345678", StructureName: "CCAS de Lille", StructureSIRET: "21590350100017",
		Scopes: []Scope{ScopeDeposit, ScopeRead, ScopeShare, ScopeRecover}, StartsAt: &start, ExpiresAt: &end,
		ConsentMethod: ConsentSecret, ConsentText: "mandat-v2"}
}

// pdfText is the text pdftotext (poppler) reads on page n of the PDF b, in reading
// order, spaces and line ends made single spaces. The PDF is kept in dir.
func pdfText(t *testing.T, dir, name string, b []byte, n int) string {
	t.Helper()
	f := filepath.Join(dir, name+".pdf")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-enc", "UTF-8", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils, installed by scripts/deps.sh): %v: %s", err, out)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// missingWords are the words of phrase that text lacks. Both are compared without
// spaces, marks of vowels, joiners and direction controls: poppler writes a mark before
// its letter and cuts a word at a zero-width non-joiner. A word holding lam-alef is not
// looked for: poppler writes the two letters of that one glyph backwards (ال for لا).
func missingWords(text, phrase string) []string {
	norm := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r) {
				return -1
			}
			return r
		}, s)
	}
	text = norm(text)
	var missing []string
	for _, w := range strings.Fields(phrase) {
		if strings.ContainsAny(w, "ل") && strings.ContainsAny(w, "اأإآى") {
			continue
		}
		if n := norm(strings.Trim(w, ":.,،")); n != "" && !strings.Contains(text, n) {
			missing = append(missing, w)
		}
	}
	return missing
}

func pages(b []byte) int { return bytes.Count(b, []byte("/Type /Page\n")) }

// keyWords are words of each language a reader must find on the translated page, in
// the letters that matter: Cyrillic, Romanian's ș and ț, Arabic, and the letters of
// Dari (ی) and Pashto (ډ ټ ښ).
var keyWords = map[string][]string{ //nolint:gochecknoglobals // test table
	"en":    {"Your digital safe", "Your temporary code"},
	"ar":    {"خزنتك الرقمية", "اسم الدخول", "رمزك المؤقت"},
	"uk":    {"Ваш цифровий сейф", "Ваш тимчасовий код", "Зберігайте цю картку вдома"},
	"ru":    {"Ваш цифровой сейф", "Ваш временный код", "Храните эту карточку дома"},
	"fa-AF": {"صندوق امن دیجیتل شما", "کود موقت شما", "نام کاربری شما"},
	"ps":    {"ستاسو ډیجیټل خوندي صندوق", "ستاسو کارن نوم", "ستاسو لنډمهاله کوډ"},
	"es":    {"Su caja fuerte digital", "Su código temporal"},
	"ro":    {"Seiful dumneavoastră digital", "Păstrați acest card acasă"},
	"pt":    {"O seu cofre digital"},
}

// The access card has a second page in each of the 9 other languages, in its own
// letters: poppler reads the words back (Arabic script in logical order, the cluster
// text of each shaped glyph), and the login, code and address are there.
// PDFLANG_OUT, when set, keeps the PDFs there (to look at them with pdftoppm).
func TestAccessCardEveryLanguage(t *testing.T) {
	t.Parallel()
	fs := fonts()
	if fs == nil {
		t.Fatalf("no fonts in %s: install fonts-noto-core (scripts/deps.sh) or set %s", DefaultFontDir, FontsEnv)
	}
	dir := os.Getenv("PDFLANG_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, lang := range i18n.Languages[1:] {
		var buf bytes.Buffer
		if err := AccessCardPDF(&buf, testCard(cardWordsIn(lang)), A6); err != nil {
			t.Fatal(err)
		}
		if n := pages(buf.Bytes()); n != 2 {
			t.Errorf("%s: %d pages, want the French one and a translated one", lang, n)
			continue
		}
		fr := pdfText(t, dir, "card-"+lang, buf.Bytes(), 1)
		text := pdfText(t, dir, "card-"+lang, buf.Bytes(), 2)
		if !strings.Contains(fr, "Votre coffre-fort numérique") {
			t.Errorf("%s: the first page is not the French card: %s", lang, fr)
		}
		want := append([]string{"0612345678", "k7qa-m9xp-2htw", "https://coffre.example.fr/connexion", "CCAS de Lille"}, keyWords[lang]...)
		if len(keyWords[lang]) == 0 {
			t.Errorf("%s: no words to look for", lang)
		}
		for _, w := range want {
			if m := missingWords(text, w); len(m) > 0 {
				t.Errorf("%s: the translated page lacks %q of %q:\n%s", lang, m, w, text)
			}
		}
		if !strings.Contains(text, keyWords[lang][0]) {
			t.Errorf("%s: the title does not read in order %q:\n%s", lang, keyWords[lang][0], text)
		}
		if strings.Contains(text, "Votre") {
			t.Errorf("%s: French on the translated page:\n%s", lang, text)
		}
	}
}

// The mandate receipt has a page in the person's language after the French one, which
// says it is a translation and that the French text counts.
// TestPrintedInPersonsTime: the card's hours and the receipt's days are printed in the
// person's time, on the French page and the translated one; without a zone, in Paris's.
func TestPrintedInPersonsTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reunion, wallis := account.Location("Indian/Reunion"), account.Location("Pacific/Wallis")
	for _, c := range []struct {
		zone     *time.Location
		fr, en   string
		from, to string
	}{
		// 13:05 UTC on 1 March: 14:05 in Paris, 17:05 in La Réunion, 01:05 on 2 March in Wallis.
		{nil, "01/03/2026 à 14 h 05", "1 March 2026", "01/03/2026", "01/09/2026"},
		{reunion, "01/03/2026 à 17 h 05", "1 March 2026", "01/03/2026", "01/09/2026"},
		{wallis, "02/03/2026 à 01 h 05", "2 March 2026", "02/03/2026", "02/09/2026"},
	} {
		card := testCard(cardWordsIn("en"))
		card.Zone = c.zone
		var buf bytes.Buffer
		if err := AccessCardPDF(&buf, card, A6); err != nil {
			t.Fatal(err)
		}
		if fr, en := pdfText(t, dir, "card", buf.Bytes(), 1), pdfText(t, dir, "card", buf.Bytes(), 2); !strings.Contains(fr, c.fr) || !strings.Contains(en, c.en) {
			t.Errorf("card in %v: want %q and %q: %s | %s", c.zone, c.fr, c.en, fr, en)
		}
		buf.Reset()
		if err := MandateReceiptPDF(&buf, MandateReceiptDoc{Mandate: testMandate(), JWS: "x.y.z", VerifyURL: "https://coffre.example.fr/mandat/verifier", Zone: c.zone}, A4); err != nil {
			t.Fatal(err)
		}
		if want, text := "Du "+c.from+" au "+c.to+".", pdfText(t, dir, "receipt", buf.Bytes(), 1); !strings.Contains(text, want) {
			t.Errorf("receipt in %v: want %q: %s", c.zone, want, text)
		}
	}
}

func TestMandateReceiptTranslated(t *testing.T) {
	t.Parallel()
	if fonts() == nil {
		t.Fatalf("no fonts in %s: install fonts-noto-core (scripts/deps.sh) or set %s", DefaultFontDir, FontsEnv)
	}
	dir := os.Getenv("PDFLANG_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, lang := range i18n.Languages {
		for _, size := range []PaperSize{A6, A4} {
			var buf bytes.Buffer
			if err := MandateReceiptPDF(&buf, MandateReceiptDoc{Mandate: testMandate(), JWS: "x.y.z", VerifyURL: "https://coffre.example.fr/mandat/verifier", Lang: lang}, size); err != nil {
				t.Fatal(err)
			}
			name := "receipt-" + lang + "-" + string(size)
			all := pdfText(t, dir, name, buf.Bytes(), 1)
			for i := 2; i <= pages(buf.Bytes()); i++ {
				all += " " + pdfText(t, dir, name, buf.Bytes(), i)
			}
			french := "Les agents de cette structure peuvent"
			if !strings.Contains(all, french) || !strings.Contains(all, "Mandat donné à CCAS de Lille") {
				t.Errorf("%s %s: no French receipt:\n%s", lang, size, all)
			}
			if lang == "fr" {
				if strings.Contains(all, i18n.Text("fr", "mandate.receipt.translation")) {
					t.Errorf("fr %s: a translation of French:\n%s", size, all)
				}
				continue
			}
			_, tr, _ := strings.Cut(all, french)
			for _, id := range []string{"mandate.receipt.translation", "mandate.receipt.can", "mandate.scope.read.long", "mandate.scope.recover.long",
				"card.login", "mandate.receipt.consent.secret", "mandate.receipt.qr"} {
				if m := missingWords(tr, i18n.Text(lang, id)); len(m) > 0 {
					t.Errorf("%s %s: the translation lacks %q of %s:\n%s", lang, size, m, id, tr)
				}
			}
			if !strings.Contains(tr, "0612345678") || !strings.Contains(tr, "21590350100017") || !strings.Contains(tr, "mandat-v2") {
				t.Errorf("%s %s: the translation lacks the login, the SIRET or the text's version:\n%s", lang, size, tr)
			}
		}
	}
}

// Without the fonts the desk still prints: the French page, and the translation only
// where the core font can write it.
func TestCardWithoutFonts(t *testing.T) {
	t.Parallel()
	if _, err := loadFonts(t.TempDir()); err == nil {
		t.Error("fonts loaded from an empty directory")
	}
	for _, c := range []struct {
		lang  string
		pages int
	}{{"es", 2}, {"pt", 2}, {"ar", 1}, {"uk", 1}, {"ro", 1}, {"ps", 1}} {
		var buf bytes.Buffer
		if err := accessCardPDF(&buf, testCard(cardWordsIn(c.lang)), A6, nil); err != nil {
			t.Fatal(err)
		}
		if n := pages(buf.Bytes()); n != c.pages {
			t.Errorf("%s without fonts: %d pages, want %d", c.lang, n, c.pages)
		}
		var fr bytes.Buffer
		if err := mandateReceiptPDF(&fr, MandateReceiptDoc{Mandate: testMandate(), JWS: "x.y.z", VerifyURL: "https://coffre.example.fr/mandat/verifier"}, A6, nil); err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		if err := mandateReceiptPDF(&buf, MandateReceiptDoc{Mandate: testMandate(), JWS: "x.y.z", VerifyURL: "https://coffre.example.fr/mandat/verifier", Lang: c.lang}, A6, nil); err != nil {
			t.Fatal(err)
		}
		if translated := pages(buf.Bytes()) > pages(fr.Bytes()); translated != (c.pages == 2) {
			t.Errorf("%s receipt without fonts: %d pages, %d in French", c.lang, pages(buf.Bytes()), pages(fr.Bytes()))
		}
	}
}

// The French pages, in the core Helvetica, keep a colon and a closing « » » on the line
// of their words: the space before them is U+00A0, byte A0 in Windows-1252, which fpdf
// does not break at (U+202F has no byte there: it would print as a full stop). The page's
// content is read as written: pdftotext gives a no-break space back as a plain one.
func TestFrenchPagesNoBreakSpaces(t *testing.T) {
	t.Parallel()
	var card, receipt bytes.Buffer
	if err := accessCardPDF(&card, testCard(nil), A6, nil); err != nil {
		t.Fatal(err)
	}
	if err := mandateReceiptPDF(&receipt, MandateReceiptDoc{Mandate: testMandate(), JWS: "x.y.z", VerifyURL: "https://coffre.example.fr/mandat/verifier"}, A6, nil); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		pdf  []byte
		want []string
	}{
		"card":    {card.Bytes(), []string{"Votre identifiant\xa0:", "Qui vous a aid\xe9\xa0:", "coffre\xa0:"}},
		"receipt": {receipt.Bytes(), []string{"peuvent\xa0:", "\xab\xa0Mes aidants\xa0\xbb", "Votre accord\xa0:", "secret\xa0:"}},
	} {
		content := pageContent(t, c.pdf)
		for _, w := range c.want {
			if !bytes.Contains(content, []byte(w)) {
				t.Errorf("the French %s lacks %q:\n%q", name, w, content)
			}
		}
	}
}

// pageContent is the uncompressed content of the PDF's streams, one after the other.
func pageContent(t *testing.T, pdf []byte) []byte {
	t.Helper()
	var all []byte
	for _, m := range regexp.MustCompile(`(?s)stream\r?\n(.*?)endstream`).FindAllSubmatch(pdf, -1) {
		z, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			continue // not a deflated stream: an image
		}
		b, _ := io.ReadAll(z) // a font's stream may be cut short of its checksum: what was read is enough
		all = append(all, b...)
	}
	if len(all) == 0 {
		t.Fatal("no content in the PDF")
	}
	return all
}

// Every letter of the card's and the receipt's words, in every language, has a glyph in
// the fonts: a missing one would print as an empty box.
func TestFontsCoverEveryLanguage(t *testing.T) {
	t.Parallel()
	if !PreloadFonts() {
		t.Fatal("no fonts")
	}
	fs := fonts()
	s := newShaper(fs)
	for _, lang := range i18n.Languages {
		w := cardWordsIn(lang)
		text := strings.Join(append([]string{w.Title, w.RecoveryTitle, w.Login, w.Code, w.WorksFrom, w.Expires, w.Enter, w.Helped, w.Keep,
			w.Date(time.Now()), w.DateTime(time.Now())}, receiptTranslation(lang, testMandate(), nil)...), " ")
		for _, r := range text {
			if !s.covers(string(r)) {
				t.Errorf("%s: no glyph for %q (U+%04X)", lang, r, r)
			}
		}
	}
}

// glyphCmap refuses what is not a TrueType font rather than give fpdf a broken one.
func TestGlyphCmap(t *testing.T) {
	t.Parallel()
	for _, b := range [][]byte{nil, []byte("OTTO\x00\x01"), bytes.Repeat([]byte{0}, 64)} {
		if _, err := glyphCmap(b); err == nil {
			t.Errorf("%q: accepted", b)
		}
	}
}

// A font file fpdf cannot read is refused at load: the desk then prints in French
// rather than fail.
func TestLoadFontsRefusesBadFiles(t *testing.T) {
	t.Parallel()
	src := os.Getenv(FontsEnv)
	if src == "" {
		src = DefaultFontDir
	}
	dir := t.TempDir()
	for _, files := range fontFiles {
		for _, name := range files {
			b, err := os.ReadFile(filepath.Join(src, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := loadFonts(dir); err != nil {
		t.Fatalf("good fonts: %v", err)
	}
	bad := filepath.Join(dir, fontFiles[1][0])
	b, _ := os.ReadFile(bad)
	if err := os.WriteFile(bad, b[:len(b)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadFonts(dir); err == nil {
		t.Error("a truncated font was loaded")
	}
}
