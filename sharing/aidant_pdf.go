package sharing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/google/uuid"
	"golang.org/x/text/encoding/charmap"

	"coffre/vault/account"
	"coffre/vault/i18n"
)

// What is printed at the desk: the access card of a new safe (or of a recovered access)
// and the mandate receipt, in A6 (a card the person keeps) or A4 (a sheet). Both are
// plain PDFs with a QR code; the French page is written with the core Helvetica font
// (Windows-1252 covers French). Each adds a page in the person's language after the
// French one, written with the fonts of pdffont.go (every language Coffre speaks,
// Arabic script shaped and right to left). The mandate receipt is a legal text: its
// translated page says that it is a translation for information and that the French
// text is the one that counts. Without those fonts, a translation is printed with the
// core font when it can write it (CardPrintable) and left out otherwise.

// PaperSize is the printed format.
type PaperSize string

// Paper sizes.
const (
	A6 PaperSize = "A6"
	A4 PaperSize = "A4"
)

// mandateReceiptType is the JWS type of mandate receipts; verifyJWS checks it, so that a
// mandate receipt never passes for a delivery receipt.
const mandateReceiptType = "coffre-mandate+jwt"

// MandateStatement is what a mandate receipt attests, signed by the service key.
type MandateStatement struct {
	ID             string    `json:"jti"` // the mandate ID
	Issuer         string    `json:"iss"`
	IssuedAt       int64     `json:"iat"`
	Owner          uuid.UUID `json:"owner"`
	StructureName  string    `json:"structure"`
	StructureSIRET string    `json:"siret"`
	Scopes         []Scope   `json:"scopes"`
	StartsAt       time.Time `json:"starts_at"`
	ExpiresAt      time.Time `json:"expires_at"`
	ConsentMethod  string    `json:"consent"`
	ConsentText    string    `json:"consent_text"`
	Agent          uuid.UUID `json:"agent,omitempty"`
}

// MandateReceipt signs the statement of a started mandate (compact JWS, EdDSA, type
// coffre-mandate+jwt). Put it in the receipt's QR code; VerifyMandateReceipt checks it.
func MandateReceipt(key ed25519.PrivateKey, m *Mandate) (string, *MandateStatement, error) {
	if m.StartsAt == nil {
		return "", nil, fmt.Errorf("sharing: mandate receipt: mandate %s not confirmed yet: %w", m.ID, ErrBadRequest)
	}
	st := &MandateStatement{ID: m.ID.String(), Issuer: ReceiptIssuer, IssuedAt: time.Now().Unix(), Owner: m.OwnerID,
		StructureName: m.StructureName, StructureSIRET: m.StructureSIRET, Scopes: m.Scopes,
		StartsAt: m.StartsAt.UTC(), ExpiresAt: m.ExpiresAt.UTC(), ConsentMethod: string(m.ConsentMethod), ConsentText: m.ConsentText, Agent: m.GrantedBy}
	payload, err := json.Marshal(st)
	if err != nil {
		return "", nil, fmt.Errorf("sharing: mandate receipt: %w", err)
	}
	compact, err := signJWS(key, mandateReceiptType, payload)
	if err != nil {
		return "", nil, fmt.Errorf("sharing: mandate receipt: %w", err)
	}
	return compact, st, nil
}

// VerifyMandateReceipt checks a mandate receipt with the service's public key. It says
// what was signed; whether the mandate is still live is Mandates' business.
func VerifyMandateReceipt(compact string, pub ed25519.PublicKey) (*MandateStatement, error) {
	payload, err := verifyJWS(strings.TrimSpace(compact), pub, mandateReceiptType)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	var st MandateStatement
	if err := json.Unmarshal(payload, &st); err != nil || st.Issuer != ReceiptIssuer || st.ID == "" {
		return nil, fmt.Errorf("%w: malformed payload", ErrBadReceipt)
	}
	return &st, nil
}

// AccessCard is what the access card of a safe shows.
type AccessCard struct {
	Login            string
	Code             string    // the temporary code
	CodeExpiresAt    time.Time // printed as a date
	LoginURL         string    // the QR code's target: the sign-in page
	StructureName    string
	StructureContact string
	Recovery         bool      // a new code for an existing safe
	WorksFrom        time.Time // after an identity check at the desk: the code works from then (zero: at once)
	// Translation, when set, is printed on a second page, the French one first: the
	// words of the card in the person's language. Without the fonts of translated pages
	// (pdffont.go), a translation the core font cannot write is left out (CardPrintable).
	Translation *CardWords
	// Zone is the time the card's hours are printed in, the person's; nil is Paris's.
	Zone *time.Location
}

// CardWords are the words of the access card in one language. WorksFrom, Expires and
// Enter are fmt formats of one %s: a date and time, a date, the sign-in address. Date and
// DateTime write a time as it is given, in the card's zone already.
type CardWords struct {
	Title, RecoveryTitle, Login, Code, WorksFrom, Expires, Enter, Helped, Keep string
	Date, DateTime                                                             func(time.Time) string
}

// frenchCard are the card's words in French, always printed.
var frenchCard = CardWords{ //nolint:gochecknoglobals // a constant table
	Title: "Votre coffre-fort numérique", RecoveryTitle: "Votre nouveau code pour entrer dans votre coffre",
	Login: "Votre identifiant\u00a0:", Code: "Votre code temporaire\u00a0:", WorksFrom: "Ce code marchera à partir du %s.",
	Expires: "À changer à votre première connexion. Valable jusqu'au %s.", Enter: "Pour entrer dans votre coffre\u00a0: %s",
	Helped: "Qui vous a aidé\u00a0:", Keep: "Gardez cette carte chez vous. Ne donnez votre code à personne, même à un agent.",
	Date: frenchDate, DateTime: frenchDateTime,
}

// CardPrintable tells whether the card's core font can write w: Windows-1252 letters
// only (French, English, Spanish, Portuguese; not Romanian's ș and ț, nor Cyrillic or
// Arabic script). It matters only when the fonts of translated pages are missing.
func CardPrintable(w CardWords, sample time.Time) bool {
	enc := charmap.Windows1252.NewEncoder()
	for _, s := range []string{w.Title, w.RecoveryTitle, w.Login, w.Code, w.WorksFrom, w.Expires, w.Enter, w.Helped, w.Keep, w.Date(sample), w.DateTime(sample)} {
		if _, err := enc.String(s); err != nil {
			return false
		}
	}
	return true
}

// AccessCardPDF writes the access card of a safe: identifier, temporary code to change at
// first sign-in, QR code to the sign-in page, and the structure's contact.
func AccessCardPDF(w io.Writer, c AccessCard, size PaperSize) error {
	return accessCardPDF(w, c, size, fonts())
}

// accessCardPDF is AccessCardPDF with the fonts of translated pages, nil when missing.
func accessCardPDF(w io.Writer, c AccessCard, size PaperSize, fs *pdfFonts) error {
	p, err := newPage(size)
	if err != nil {
		return err
	}
	if err := p.card(c, frenchCard); err != nil {
		return err
	}
	if tr := c.Translation; tr != nil {
		words := []string{tr.Title, tr.RecoveryTitle, tr.Login, tr.Code, tr.WorksFrom, tr.Expires, tr.Enter, tr.Helped, tr.Keep,
			tr.Date(c.CodeExpiresAt), tr.DateTime(c.CodeExpiresAt)}
		if p.translated(fs, strings.Join(words, " ")) {
			if err := p.card(c, *tr); err != nil {
				return err
			}
		}
	}
	return p.write(w)
}

// card lays out one side of the access card in the words w.
func (p *page) card(c AccessCard, w CardWords) error {
	title := w.Title
	if c.Recovery {
		title = w.RecoveryTitle
	}
	p.heading(title)
	p.line(w.Login)
	p.big(c.Login)
	p.line(w.Code)
	p.big(c.Code)
	if !c.WorksFrom.IsZero() {
		p.line(fmt.Sprintf(w.WorksFrom, w.DateTime(in(c.Zone, c.WorksFrom))))
	}
	p.small(fmt.Sprintf(w.Expires, w.Date(in(c.Zone, c.CodeExpiresAt))))
	if err := p.qr(c.LoginURL, 40); err != nil {
		return err
	}
	p.small(fmt.Sprintf(w.Enter, c.LoginURL))
	p.gap()
	p.line(w.Helped)
	p.text(c.StructureName)
	if c.StructureContact != "" {
		p.small(c.StructureContact)
	}
	p.gap()
	p.small(w.Keep)
	return nil
}

// MandateReceiptDoc is what the printed mandate receipt shows.
type MandateReceiptDoc struct {
	Mandate   *Mandate
	JWS       string // from MandateReceipt
	VerifyURL string // the page that checks a receipt; the QR code holds VerifyURL?r=JWS
	// Lang is the person's language (a code of coffre/vault/i18n): other than French,
	// a page follows the French one with the same words in that language, marked as a
	// translation for information, the French text being the one that counts.
	Lang string
	// Zone is the time the mandate's days are printed in, the person's; nil is Paris's.
	Zone *time.Location
}

// scopeLabels say each scope in plain French.
var scopeLabels = map[Scope]string{ //nolint:gochecknoglobals // a constant table
	ScopeDeposit: "ajouter des documents dans votre coffre",
	ScopeRead:    "voir et imprimer vos documents",
	ScopeShare:   "envoyer vos documents (lien ou QR code) pour vous",
	ScopeRecover: "vous redonner l'accès à votre coffre si vous perdez votre code secret\u00a0: ils vous donneront un nouveau code, " +
		"votre ancien code secret et vos clés d'accès ne marcheront plus, tous vos appareils seront déconnectés, et vous en serez prévenu",
}

var consentLabels = map[ConsentMethod]string{ //nolint:gochecknoglobals // a constant table
	ConsentSecret:  "vous avez tapé votre code secret",
	ConsentPasskey: "vous avez utilisé votre clé d'accès",
	ConsentPhone:   "vous avez confirmé sur votre téléphone",
}

// MandateReceiptPDF writes the printable receipt of a mandate: who may do what until
// when, how consent was given, and a QR code with the signed statement.
func MandateReceiptPDF(w io.Writer, d MandateReceiptDoc, size PaperSize) error {
	return mandateReceiptPDF(w, d, size, fonts())
}

func mandateReceiptPDF(w io.Writer, d MandateReceiptDoc, size PaperSize, fs *pdfFonts) error {
	m := d.Mandate
	if m == nil || m.StartsAt == nil {
		return fmt.Errorf("sharing: mandate receipt pdf: mandate not started: %w", ErrBadRequest)
	}
	p, err := newPage(size)
	if err != nil {
		return err
	}
	p.heading("Mandat donné à " + m.StructureName)
	p.small("SIRET " + m.StructureSIRET)
	if m.OwnerLogin != "" {
		p.line("Votre identifiant\u00a0: " + m.OwnerLogin)
	}
	p.line("Les agents de cette structure peuvent\u00a0:")
	for _, sc := range m.Scopes {
		p.text("• " + scopeLabels[sc])
	}
	if m.Has(ScopeRecover) {
		p.line("Ils ne peuvent pas supprimer vos documents, ni voir votre code secret.")
	} else {
		p.line("Ils ne peuvent pas supprimer vos documents, ni changer votre code secret.")
	}
	p.line(fmt.Sprintf("Du %s au %s.", frenchDate(in(d.Zone, *m.StartsAt)), frenchDate(in(d.Zone, *m.ExpiresAt))))
	p.small(fmt.Sprintf("Votre accord\u00a0: %s (texte %s).", consentLabels[m.ConsentMethod], m.ConsentText))
	// The statement is long (a signed JWS): a larger code keeps its modules readable. At
	// 44 mm, about 97 modules are still 0.45 mm each, read by phones from print; below, the
	// code goes onto a page of its own. Room is kept for the line under it.
	if err := p.qrFit(d.VerifyURL+"?r="+d.JWS, 58, 44, 9); err != nil {
		return err
	}
	p.small("Ce QR code prouve ce mandat. Vous pouvez l'arrêter à tout moment dans votre coffre, rubrique «\u00a0Mes aidants\u00a0».")
	if d.Lang != "" && d.Lang != "fr" && i18n.Valid(d.Lang) {
		lines := receiptTranslation(d.Lang, m, d.Zone)
		if p.translated(fs, strings.Join(lines, " ")) {
			p.small(lines[0]) // a translation, for information
			p.gap()
			p.heading(lines[1])
			for _, l := range lines[2:] {
				p.text(l)
			}
		}
	}
	return p.write(w)
}

// receiptTranslation are the lines of the mandate receipt in lang: the notice that it is
// a translation, the title, then the rest.
func receiptTranslation(lang string, m *Mandate, zone *time.Location) []string {
	t := func(id string, args ...any) string { return i18n.Text(lang, id, args...) }
	loc := i18n.LocaleOf(lang)
	lines := []string{t("mandate.receipt.translation"), t("mandate.receipt.title", m.StructureName), "SIRET " + m.StructureSIRET}
	if m.OwnerLogin != "" {
		lines = append(lines, t("card.login")+" "+m.OwnerLogin)
	}
	lines = append(lines, t("mandate.receipt.can"))
	for _, sc := range m.Scopes {
		lines = append(lines, "• "+t("mandate.scope."+string(sc)+".long"))
	}
	return append(lines, t("mandate.text.2"),
		t("mandate.verify.period", loc.Date(in(zone, *m.StartsAt)), loc.Date(in(zone, *m.ExpiresAt))),
		t("mandate.receipt.consent", t("mandate.receipt.consent."+string(m.ConsentMethod)), m.ConsentText),
		t("mandate.receipt.qr"), t("mandate.text.3"))
}

// translated starts a page for a translation written with the fonts of translated pages,
// when they are there and have every letter of text; otherwise, without fonts, a page
// with the core font when it can write text. It tells whether the page was started.
func (p *page) translated(fs *pdfFonts, text string) bool {
	if fs != nil {
		if p.shaper == nil {
			p.shaper = newShaper(fs)
		}
		if p.shaper.covers(text) {
			p.pdf.AddPage()
			p.rtl = rtlText(text, false)
			return true
		}
		return false
	}
	if _, err := charmap.Windows1252.NewEncoder().String(text); err != nil {
		return false
	}
	p.pdf.AddPage()
	return true
}

// in is t in zone, the person's; in Paris's time when no zone is given.
func in(zone *time.Location, t time.Time) time.Time {
	if zone == nil {
		zone = account.Location(account.Paris)
	}
	return t.In(zone)
}

// frenchDate prints a date as in France, in t's zone (in).
func frenchDate(t time.Time) string { return t.Format("02/01/2006") }

// frenchDateTime prints a date and time as in France, in t's zone: "03/02/2026 à 14 h 05".
func frenchDateTime(t time.Time) string { return t.Format("02/01/2006 à 15 h 04") }

// page is a one-page document being laid out top to bottom.
type page struct {
	pdf   *fpdf.Fpdf
	tr    func(string) string
	scale float64 // 1 for A6, larger for A4
	width float64
	n     int // QR images registered
	// shaper, once a translated page is started with the fonts of translated pages,
	// writes the text from then on; rtl tells that page reads right to left.
	shaper *shaper
	rtl    bool
}

func newPage(size PaperSize) (*page, error) {
	var init fpdf.InitType
	p := &page{}
	switch size {
	case A6:
		init = fpdf.InitType{UnitStr: "mm", Size: fpdf.SizeType{Wd: 105, Ht: 148}}
		p.scale, p.width = 1, 105
	case A4:
		init = fpdf.InitType{UnitStr: "mm", SizeStr: "A4"}
		p.scale, p.width = 1.6, 210
	default:
		return nil, fmt.Errorf("sharing: paper size %q is not A6 or A4: %w", size, ErrBadRequest)
	}
	p.pdf = fpdf.NewCustom(&init)
	margin := 8 * p.scale
	p.pdf.SetMargins(margin, margin, margin)
	p.pdf.SetAutoPageBreak(true, margin)
	p.pdf.SetCreator("Coffre", true)
	p.pdf.AddPage()
	p.tr = p.pdf.UnicodeTranslatorFromDescriptor("")
	return p, nil
}

func (p *page) inner() float64 { return p.width - 16*p.scale }

func (p *page) block(style string, pt, lineMM float64, s string) {
	if p.shaper != nil {
		p.paragraph(style == "B", pt*p.scale, lineMM*p.scale, s)
		return
	}
	p.pdf.SetFont("Helvetica", style, pt*p.scale)
	p.pdf.MultiCell(p.inner(), lineMM*p.scale, p.tr(s), "", "L", false)
}

func (p *page) heading(s string) { p.block("B", 12, 6, s); p.gap() }
func (p *page) line(s string)    { p.block("", 9, 4.5, s) }
func (p *page) text(s string)    { p.block("", 9, 4.5, s) }
func (p *page) small(s string)   { p.block("", 7, 3.5, s) }
func (p *page) gap()             { p.pdf.Ln(2 * p.scale) }

// big writes an identifier or a code, ASCII, in the core Courier: 0 and O, 1 and l
// differ. On a right-to-left page it sits on the right, under its label.
func (p *page) big(s string) {
	align := "L"
	if p.rtl {
		align = "R"
	}
	p.pdf.SetFont("Courier", "B", 14*p.scale)
	p.pdf.MultiCell(p.inner(), 7*p.scale, p.tr(s), "", align, false)
}

// qrFit is qr at the largest side from side down to least that leaves reserve
// millimetres (all three on A6, scaled on A4) on the page under the code: the French
// receipt used to print its code alone on a second A6 page.
func (p *page) qrFit(content string, side, least, reserve float64) error {
	_, height := p.pdf.GetPageSize()
	_, _, _, bottom := p.pdf.GetMargins()
	room := (height-bottom-p.pdf.GetY())/p.scale - 4 - reserve // 4: qr's gaps
	return p.qr(content, max(least, min(side, room)))
}

// qr draws a QR code of content, side millimetres wide on A6 (scaled on A4), centred,
// with medium error correction (a printed card gets creased).
func (p *page) qr(content string, side float64) error {
	code, err := QRCode(content)
	if err != nil {
		return err
	}
	p.n++
	name := fmt.Sprintf("qr%d", p.n)
	opts := fpdf.ImageOptions{ImageType: "PNG"}
	p.pdf.RegisterImageOptionsReader(name, opts, bytes.NewReader(code))
	side *= p.scale
	p.gap()
	p.pdf.ImageOptions(name, (p.width-side)/2, p.pdf.GetY(), side, side, true, opts, 0, "")
	p.gap() // a code needs a blank margin all round: text against it can spoil the reading
	return nil
}

func (p *page) write(w io.Writer) error {
	if err := p.pdf.Output(w); err != nil {
		return fmt.Errorf("sharing: pdf: %w", err)
	}
	return nil
}
