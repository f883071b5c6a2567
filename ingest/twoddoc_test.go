package ingest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The tests make their own certification authority ("FR00": the
// specification reserves XX00 for tests), sign their own 2D-Docs with it,
// draw them on generated papers and photograph those papers.

var testNow = time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // a test constant

type testAuthority struct {
	caKey   *ecdsa.PrivateKey
	ca      *x509.Certificate
	key     *ecdsa.PrivateKey // signing key of certificate FR00/T001
	cert    *x509.Certificate
	pem     []byte // the trust list: authority and signing certificate
	caID    string
	certID  string
	signer  string
	expired *ecdsa.PrivateKey // signing key of FR00/T002, valid in 2020 only
}

func newTestAuthority(t testing.TB) *testAuthority {
	t.Helper()
	a := &testAuthority{caID: "FR00", certID: "T001", signer: "Direction générale des Finances publiques (essai)"}
	var err error
	a.caKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "FR00", Organization: []string{"Autorité de test"}, Country: []string{"FR"}},
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &a.caKey.PublicKey, a.caKey)
	if err != nil {
		t.Fatal(err)
	}
	a.ca, _ = x509.ParseCertificate(der)
	var buf bytes.Buffer
	pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"CA-ID": "FR00", "Name": "Autorité de test"}, Bytes: der})

	leaf := func(id string, key *ecdsa.PrivateKey, from, to time.Time) {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()),
			Subject:      pkix.Name{CommonName: id, Organization: []string{a.signer}, Country: []string{"FR"}},
			NotBefore:    from,
			NotAfter:     to,
			KeyUsage:     x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, a.ca, &key.PublicKey, a.caKey)
		if err != nil {
			t.Fatal(err)
		}
		if id == "T001" {
			a.cert, _ = x509.ParseCertificate(der)
		}
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"CA-ID": "FR00", "Cert-ID": id}, Bytes: der})
	}
	a.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf("T001", a.key, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC))
	a.expired, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf("T002", a.expired, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
	a.pem = buf.Bytes()
	return a
}

func (a *testAuthority) trustList(t testing.TB) *TrustList {
	t.Helper()
	tl, err := ReadTrustList(bytes.NewReader(a.pem))
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// docField is one datum to encode.
type docField struct{ id, value string }

// encodeDoc2D builds and signs a version 04 2D-Doc: fixed-length fields
// are written as they are, variable ones end with GS unless last.
func encodeDoc2D(t testing.TB, key *ecdsa.PrivateKey, ca, cert, typ string, issued, signed time.Time, fields []docField) string {
	t.Helper()
	day := func(d time.Time) string {
		if d.IsZero() {
			return "FFFF"
		}
		return fmt.Sprintf("%04X", int(d.Sub(docEpoch).Hours()/24))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "DC04%s%s%s%s%s01FR", ca, cert, day(issued), day(signed), typ)
	table := docFields()
	for i, f := range fields {
		b.WriteString(f.id + f.value)
		spec, ok := table[f.id]
		fixed := ok && spec.min == spec.max && spec.max > 0
		if !fixed && i < len(fields)-1 && len(f.value) != spec.max {
			b.WriteByte(docGS)
		}
	}
	return signDoc2D(t, key, b.String())
}

func signDoc2D(t testing.TB, key *ecdsa.PrivateKey, data string) string {
	t.Helper()
	n := (key.Curve.Params().BitSize + 7) / 8
	var h []byte
	switch n {
	case 32:
		s := sha256.Sum256([]byte(data))
		h = s[:]
	case 48:
		s := sha512.Sum384([]byte(data))
		h = s[:]
	}
	r, s, err := ecdsa.Sign(rand.Reader, key, h)
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 2*n)
	r.FillBytes(sig[:n])
	s.FillBytes(sig[n:])
	return data + string(docUS) + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sig)
}

// taxNoticeFields is an avis d'impôt (type 28) for the 2025 income.
func taxNoticeFields() []docField {
	return []docField{
		{"43", "2,5"},
		{"44", "2578012345678"},
		{"45", "2025"},
		{"46", "MARTIN CLAIRE"},
		{"4A", "31072026"},
		{"41", "21450"},
		{"47", "3001123456789"},
		{"4V", "1234"},
	}
}

func TestParseDoc2D(t *testing.T) {
	a := newTestAuthority(t)
	issued := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	text := encodeDoc2D(t, a.key, "FR00", "T001", "28", issued, issued.AddDate(0, 0, 1), taxNoticeFields())
	d, err := ParseDoc2D(text)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 4 || d.CA != "FR00" || d.CertID != "T001" || d.Type != "28" || d.Perimeter != "01" || d.Country != "FR" {
		t.Errorf("header = %+v", d)
	}
	if !d.Issued.Equal(issued) || !d.Signed.Equal(issued.AddDate(0, 0, 1)) {
		t.Errorf("dates = %v, %v", d.Issued, d.Signed)
	}
	if len(d.Signature) != 64 {
		t.Errorf("signature of %d bytes", len(d.Signature))
	}
	got := map[string]string{}
	for _, f := range d.Fields {
		got[f.Label] = f.Text()
	}
	want := map[string]string{
		"Nombre de parts":              "2,5",
		"Référence d’avis d’impôt":     "2578012345678",
		"Année des revenus":            "2025",
		"Déclarant 1":                  "MARTIN CLAIRE",
		"Date de mise en recouvrement": "31/07/2026",
		"Revenu fiscal de référence":   "21450",
		"Impôt sur le revenu net":      "1234",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}

	// The example of the specification (section 3.3): header of a version
	// 02 and 03 code, a facture signed by certificate XT4A of FR0A.
	for _, h := range []string{"DC02FR0AXT4A0E840E8A01", "DC03FR0AXT4A0E840E8A0101"} {
		d, err := ParseDoc2D(h + "247500110M/MONTPARNASSE/GILLES\x1f" + strings.Repeat("A", 103))
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		if d.CA != "FR0A" || d.CertID != "XT4A" || d.Type != "01" || d.Perimeter != "01" ||
			d.Issued.Format(time.DateOnly) != "2010-03-05" || d.Signed.Format(time.DateOnly) != "2010-03-11" {
			t.Errorf("%s: %+v", h, d)
		}
		if len(d.Fields) != 2 || d.Fields[0].Value != "75001" || d.Fields[1].Text() != "M MONTPARNASSE GILLES" {
			t.Errorf("%s: fields %+v", h, d.Fields)
		}
	}

	// The encoding example of the specification (section 13): the last
	// field, the invoice number, was truncated to fit.
	ex, err := ParseDoc2D("DC02FR011204103D103E0126FR247500110M/MONTPARNASSE/GILLES\x1d22352 AVENUE DES CHAMPS ELYSEES\x1d25PARIS\x1d1898\x1e\x1f" + strings.Repeat("A", 103))
	if err != nil {
		t.Fatal(err)
	}
	var got2 []string
	for _, f := range ex.Fields {
		got2 = append(got2, f.ID+"="+f.Text())
	}
	if want := "26=FR 24=75001 10=M MONTPARNASSE GILLES 22=352 AVENUE DES CHAMPS ELYSEES 25=PARIS 18=98…"; strings.Join(got2, " ") != want {
		t.Errorf("specification example: %s, want %s", strings.Join(got2, " "), want)
	}
	sig := "\x1f" + strings.Repeat("A", 103)
	for name, s := range map[string]string{
		"empty":              "",
		"not a 2D-Doc":       "HELLO WORLD, THIS IS NOT A 2D-DOC AT ALL" + sig,
		"version 01":         "DC01FR0AXT4A0E840E8A012475001" + sig,
		"version 05":         "DC05FR0AXT4A0E840E8A0101FR2475001" + sig,
		"short header":       "DC04FR0AXT4A0E840E8A01",
		"bad issue date":     "DC04FR0AXT4A0G840E8A0101FR2475001" + sig,
		"undated signature":  "DC04FR0AXT4A0E84FFFF0101FR2475001" + sig,
		"lower-case CA":      "DC04fr0aXT4A0E840E8A0101FR2475001" + sig,
		"no signature":       "DC04FR0AXT4A0E840E8A0101FR2475001",
		"signature not b32":  "DC04FR0AXT4A0E840E8A0101FR2475001\x1f" + strings.Repeat("1", 103),
		"short signature":    "DC04FR0AXT4A0E840E8A0101FR2475001\x1f" + strings.Repeat("A", 80),
		"fixed field cut":    "DC04FR0AXT4A0E840E8A0101FR24750" + sig,
		"empty message":      "DC04FR0AXT4A0E840E8A0101FR" + sig,
		"control in value":   "DC04FR0AXT4A0E840E8A0101FR18AB\x01CD" + sig,
		"annex in version 3": "DC03FR0AXT4A0E840E8A01012475001" + sig + "\x1d1812",
		"truncated code":     text[:len(text)-40],
		"cut in the message": text[:40],
	} {
		if _, err := ParseDoc2D(s); !errors.Is(err, ErrDoc2DMalformed) {
			t.Errorf("%s: err = %v, want ErrDoc2DMalformed", name, err)
		}
	}
}

func TestVerifyDoc2D(t *testing.T) {
	a := newTestAuthority(t)
	tl := a.trustList(t)
	day := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	good := encodeDoc2D(t, a.key, "FR00", "T001", "28", day, day, taxNoticeFields())

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tampered := strings.Replace(good, "4121450", "4191450", 1) // revenu fiscal changed after signing
	if tampered == good {
		t.Fatal("tampering did nothing")
	}
	for _, tc := range []struct {
		name string
		text string
		now  time.Time
		want Doc2DStatus
	}{
		{"valid", good, testNow, Doc2DValid},
		{"one field changed after signing", tampered, testNow, Doc2DInvalidSignature},
		{"signed by another key", encodeDoc2D(t, other, "FR00", "T001", "28", day, day, taxNoticeFields()), testNow, Doc2DInvalidSignature},
		{"P-384 signature for a P-256 key", encodeDoc2D(t, p384, "FR00", "T001", "28", day, day, taxNoticeFields()), testNow, Doc2DInvalidSignature},
		{"unknown certificate", encodeDoc2D(t, other, "FR00", "T009", "28", day, day, taxNoticeFields()), testNow, Doc2DUnknownCertificate},
		{"unknown authority", encodeDoc2D(t, other, "FR77", "T001", "28", day, day, taxNoticeFields()), testNow, Doc2DUnknownCertificate},
		{"signed after the certificate expired", encodeDoc2D(t, a.expired, "FR00", "T002", "28", day, day, taxNoticeFields()), testNow, Doc2DExpiredCertificate},
		{"signed before the certificate", encodeDoc2D(t, a.key, "FR00", "T001", "28", day.AddDate(-3, 0, 0), day.AddDate(-3, 0, 0), taxNoticeFields()), testNow, Doc2DExpiredCertificate},
		{"signature dated in the future", good, day.AddDate(0, 0, -3), Doc2DMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDoc2D(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			c := tl.Verify(d, tc.now)
			if c.Status != tc.want {
				t.Fatalf("status = %s (%s), want %s", c.Status, c.Reason, tc.want)
			}
			if c.Message() == "" {
				t.Error("no message")
			}
			if tc.want != Doc2DValid {
				if len(c.Facts) != 0 {
					t.Errorf("facts shown for a %s code: %v", c.Status, c.Facts)
				}
				return
			}
			if c.TypeName != "Avis d'impôt sur les revenus" || c.Issuer != a.signer || c.Authority != "Autorité de test" {
				t.Errorf("type %q, issuer %q, authority %q", c.TypeName, c.Issuer, c.Authority)
			}
			if !hasFact(c, "Année des revenus\u00a0: 2025") || !hasFact(c, "Déclarant 1\u00a0: MARTIN CLAIRE") {
				t.Errorf("facts = %v", c.Facts)
			}
			if !strings.Contains(c.Message(), a.signer) {
				t.Errorf("message %q does not name the issuer", c.Message())
			}
		})
	}
	if c := tl.Verify(nil, testNow); c.Status != Doc2DMalformed {
		t.Errorf("nil: %s", c.Status)
	}
}

func hasFact(c *Doc2DCheck, s string) bool {
	for _, f := range c.Facts {
		if f.String() == s {
			return true
		}
	}
	return false
}

func TestReadTrustList(t *testing.T) {
	a := newTestAuthority(t)
	day := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	good := encodeDoc2D(t, a.key, "FR00", "T001", "28", day, day, taxNoticeFields())
	d, err := ParseDoc2D(good)
	if err != nil {
		t.Fatal(err)
	}
	blocks := pemBlocks(t, a.pem) // authority, T001, T002

	t.Run("TSL and signing certificates", func(t *testing.T) {
		tl, err := ReadTrustList(bytes.NewReader(testTSL(a.ca.Raw, "inaccord")), bytes.NewReader(pemOf(blocks[1])))
		if err != nil {
			t.Fatal(err)
		}
		c := tl.Verify(d, testNow)
		if c.Status != Doc2DValid || c.Authority != "Autorité de test (TSL)" {
			t.Errorf("status %s, authority %q", c.Status, c.Authority)
		}
	})
	t.Run("withdrawn authority leaves its certificates unchecked", func(t *testing.T) {
		// The authority's certificate is dropped: the signing certificate
		// is then accepted only because the operator listed it.
		tl, err := ReadTrustList(bytes.NewReader(testTSL(a.ca.Raw, "withdrawn")))
		if err != nil {
			t.Fatal(err)
		}
		if c := tl.Verify(d, testNow); c.Status != Doc2DUnknownCertificate {
			t.Errorf("status %s", c.Status)
		}
	})
	t.Run("certificates keyed by their names", func(t *testing.T) {
		var plain bytes.Buffer
		for _, b := range blocks {
			pem.Encode(&plain, &pem.Block{Type: b.Type, Bytes: b.Bytes})
		}
		tl, err := ReadTrustList(&plain)
		if err != nil {
			t.Fatal(err)
		}
		if c := tl.Verify(d, testNow); c.Status != Doc2DValid {
			t.Errorf("status %s (%s)", c.Status, c.Reason)
		}
	})
	t.Run("signing certificate from another authority", func(t *testing.T) {
		b := newTestAuthority(t)
		_, err := ReadTrustList(bytes.NewReader(pemOf(blocks[0])), bytes.NewReader(pemOf(pemBlocks(t, b.pem)[1])))
		if !errors.Is(err, ErrTrustList) {
			t.Errorf("err = %v", err)
		}
	})
	for name, src := range map[string]string{
		"empty":        "",
		"garbage":      "hello",
		"not PEM cert": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"bad XML":      "<tsl:TrustServiceStatusList>",
		"no provider":  "<TrustServiceStatusList></TrustServiceStatusList>",
		"bad CA-ID":    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"CA-ID": "x"}, Bytes: blocks[0].Bytes})),
	} {
		if _, err := ReadTrustList(strings.NewReader(src)); !errors.Is(err, ErrTrustList) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func pemBlocks(t testing.TB, b []byte) []*pem.Block {
	t.Helper()
	var out []*pem.Block
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		out = append(out, blk)
	}
}

func pemOf(b *pem.Block) []byte { return pem.EncodeToMemory(b) }

// testTSL is a trust list in the ANTS format (ETSI TS 102 231) with one
// provider, trading as FR00.
func testTSL(caDER []byte, status string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<tsl:TrustServiceStatusList xmlns:tsl="http://uri.etsi.org/02231/v2#">
 <tsl:SchemeInformation><tsl:TSLSequenceNumber>1</tsl:TSLSequenceNumber></tsl:SchemeInformation>
 <tsl:TrustServiceProviderList>
  <tsl:TrustServiceProvider>
   <tsl:TSPInformation>
    <tsl:TSPName><tsl:Name xml:lang="en">Test authority</tsl:Name><tsl:Name xml:lang="fr">Autorité de test (TSL)</tsl:Name></tsl:TSPName>
    <tsl:TSPTradeName><tsl:Name xml:lang="en">FR00</tsl:Name></tsl:TSPTradeName>
   </tsl:TSPInformation>
   <tsl:TSPServices><tsl:TSPService><tsl:ServiceInformation>
    <tsl:ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/CA/PKC</tsl:ServiceTypeIdentifier>
    <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>` + base64.StdEncoding.EncodeToString(caDER) + `</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity>
    <tsl:ServiceStatus>http://uri.etsi.org/TrstSvc/Svcstatus/` + status + `</tsl:ServiceStatus>
   </tsl:ServiceInformation></tsl:TSPService></tsl:TSPServices>
  </tsl:TrustServiceProvider>
 </tsl:TrustServiceProviderList>
</tsl:TrustServiceStatusList>`)
}

// --- Papers and photos -------------------------------------------------

// dataMatrix renders text as a DataMatrix (ECC 200) with square modules of
// px pixels, without quiet zone.
func dataMatrix(t testing.TB, text string, px int) *image.Gray {
	t.Helper()
	bm, err := datamatrix.NewDataMatrixWriter().Encode(text, gozxing.BarcodeFormat_DATA_MATRIX, 0, 0,
		nil)
	if err != nil {
		t.Fatal(err)
	}
	w, h := bm.GetWidth(), bm.GetHeight()
	g := image.NewGray(image.Rect(0, 0, w*px, h*px))
	for y := 0; y < h*px; y++ {
		for x := 0; x < w*px; x++ {
			if bm.Get(x/px, y/px) {
				g.Pix[y*g.Stride+x] = 20
			} else {
				g.Pix[y*g.Stride+x] = 250
			}
		}
	}
	return g
}

// paperWithCode draws an A4 page at 200 dpi (1654×2339): a letterhead, a
// title, lines of text and, top right, the code 22 mm wide.
func paperWithCode(t testing.TB, code string, rng *mrand.Rand) *image.RGBA {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, a4PxW, a4PxH))
	draw.Draw(m, m.Bounds(), &image.Uniform{color.RGBA{246, 245, 240, 255}}, image.Point{}, draw.Src)
	ink := &image.Uniform{color.RGBA{25, 25, 35, 255}}
	say := func(x, y, scale int, s string) {
		// basicfont is small: draw it scaled so lines look like 10 pt print.
		tmp := image.NewRGBA(image.Rect(0, 0, 7*len(s)+2, 16))
		draw.Draw(tmp, tmp.Bounds(), image.Transparent, image.Point{}, draw.Src)
		(&font.Drawer{Dst: tmp, Src: ink, Face: basicfont.Face7x13, Dot: fixed.P(0, 12)}).DrawString(s)
		for yy := 0; yy < 16*scale; yy++ {
			for xx := 0; xx < tmp.Rect.Dx()*scale; xx++ {
				if tmp.RGBAAt(xx/scale, yy/scale).A > 0 && x+xx < a4PxW && y+yy < a4PxH {
					m.Set(x+xx, y+yy, ink.C)
				}
			}
		}
	}
	draw.Draw(m, image.Rect(150, 120, 330, 240), &image.Uniform{color.RGBA{20, 60, 140, 255}}, image.Point{}, draw.Src)
	say(150, 330, 4, "AVIS D'IMPOT 2026")
	for y := 480; y < 2150; y += 44 {
		var b strings.Builder
		for b.Len() < 60 {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		say(150, y, 2, b.String()[:60])
	}
	if code != "" {
		dm := dataMatrix(t, code, 4)
		// 2D-Doc asks for 4 mm of quiet zone; the code goes top right.
		r := dm.Bounds().Add(image.Pt(a4PxW-150-dm.Rect.Dx(), 110))
		draw.Draw(m, r.Inset(-40), &image.Uniform{color.RGBA{250, 250, 250, 255}}, image.Point{}, draw.Src)
		draw.Draw(m, r, dm, image.Point{}, draw.Src)
	}
	return m
}

// photographDoc2D puts the paper on a table in a 2200×2900 photo, turned by
// rot degrees, with perspective, uneven light, blur, noise and JPEG
// compression.
func photographDoc2D(t testing.TB, paper *image.RGBA, rng *mrand.Rand, rot, blur float64) image.Image {
	t.Helper()
	const W, H = 2200, 2900
	bg := renderBackground(rng, bgWood, W, H)
	pw, ph := float64(paper.Rect.Dx()), float64(paper.Rect.Dy())
	// The sheet fills about 80 % of the frame; turned sideways it is
	// shrunk to fit.
	sc := 0.8 * math.Min(W/pw, H/ph)
	sa, ca := math.Sincos(rot * math.Pi / 180)
	if math.Abs(sa) > 0.5 {
		sc = 0.8 * math.Min(W/ph, H/pw)
	}
	var q quad
	for i, c := range [4]point{{-pw / 2, -ph / 2}, {pw / 2, -ph / 2}, {pw / 2, ph / 2}, {-pw / 2, ph / 2}} {
		x, y := c.X*sc, c.Y*sc
		q[i] = point{W/2 + x*ca - y*sa + (rng.Float64()*2-1)*50, H/2 + x*sa + y*ca + (rng.Float64()*2-1)*50}
	}
	hm, _ := homography(q, [4]point{{0, 0}, {pw, 0}, {pw, ph}, {0, ph}})
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			s := hm.apply(point{float64(x) + 0.5, float64(y) + 0.5})
			if s.X < 0 || s.Y < 0 || s.X >= pw-1 || s.Y >= ph-1 {
				continue
			}
			x0, y0 := int(s.X), int(s.Y)
			fx, fy := s.X-float64(x0), s.Y-float64(y0)
			l := 1 - 0.15*float64(y)/H // light falls off towards the bottom
			o := y*bg.Stride + 4*x
			for c := 0; c < 3; c++ {
				at := func(xx, yy int) float64 { return float64(paper.Pix[yy*paper.Stride+4*xx+c]) }
				v := (at(x0, y0)*(1-fx)+at(x0+1, y0)*fx)*(1-fy) + (at(x0, y0+1)*(1-fx)+at(x0+1, y0+1)*fx)*fy
				bg.Pix[o+c] = uint8(math.Min(255, v*l))
			}
		}
	}
	img := bg
	if blur > 0 {
		img = gaussian(img, blur)
	}
	for i := range img.Pix {
		if i%4 != 3 {
			img.Pix[i] = uint8(math.Max(0, math.Min(255, float64(img.Pix[i])+rng.NormFloat64()*4)))
		}
	}
	out, err := jpeg.Decode(bytes.NewReader(encodeJPEG(t, img, 80)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDoc2DOnPaper draws signed codes on generated papers, photographs
// them, and checks what CheckDoc2D finds.
func TestDoc2DOnPaper(t *testing.T) {
	t.Parallel() // shares nothing with the other slow tests: they run side by side
	if testing.Short() {
		t.Skip("renders 8 MP photos")
	}
	a := newTestAuthority(t)
	tl := a.trustList(t)
	day := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	good := encodeDoc2D(t, a.key, "FR00", "T001", "28", day, day, taxNoticeFields())
	tampered := strings.Replace(good, "MARTIN CLAIRE", "MARTIN CLAUDE", 1)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	unknown := encodeDoc2D(t, other, "FR00", "T009", "28", day, day, taxNoticeFields())
	truncated := good[:len(good)-30]

	for _, tc := range []struct {
		name  string
		code  string
		photo bool
		rot   float64     // degrees
		blur  float64     // Gaussian σ, pixels
		want  Doc2DStatus // "" for "no code found"
	}{
		{"page raster", good, false, 0, 0, Doc2DValid},
		{"photo", good, true, 6, 0.8, Doc2DValid},
		{"blurred photo, turned", good, true, -14, 1.4, Doc2DValid},
		{"photo of a paper lying sideways", good, true, 90, 0.8, Doc2DValid},
		{"photo of a tampered code", tampered, true, 3, 0.8, Doc2DInvalidSignature},
		{"unknown certificate", unknown, false, 0, 0, Doc2DUnknownCertificate},
		{"truncated code", truncated, false, 0, 0, Doc2DMalformed},
		{"photo of a paper without code", "", true, 0, 0.8, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := mrand.New(mrand.NewPCG(7, uint64(len(tc.name))))
			var img image.Image = paperWithCode(t, tc.code, rng)
			if tc.photo {
				img = photographDoc2D(t, img.(*image.RGBA), rng, tc.rot, tc.blur)
			}
			t0 := time.Now()
			c, err := CheckDoc2D(context.Background(), img, tl, testNow)
			t.Logf("%s: %v", tc.name, time.Since(t0))
			if tc.want == "" {
				if !errors.Is(err, ErrNoDoc2D) {
					t.Fatalf("err = %v, want ErrNoDoc2D", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != tc.want {
				t.Fatalf("status = %s (%s), want %s", c.Status, c.Reason, tc.want)
			}
			if tc.want == Doc2DValid && !hasFact(c, "Année des revenus\u00a0: 2025") {
				t.Errorf("facts = %v", c.Facts)
			}
		})
	}
}

func TestCheckDoc2DCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := CheckDoc2D(ctx, image.NewGray(image.Rect(0, 0, 100, 100)), nil, testNow)
	if !errors.Is(err, ErrCanceled) {
		t.Errorf("err = %v", err)
	}
	if _, err := ReadDoc2D(context.Background(), image.NewGray(image.Rect(0, 0, 0, 0))); !errors.Is(err, ErrNoDoc2D) {
		t.Errorf("empty image: %v", err)
	}
}

// FuzzParseDoc2D: the parser must never panic, and whatever it accepts
// must verify only under the right key.
func FuzzParseDoc2D(f *testing.F) {
	f.Add("DC02FR0AXT4A0E840E8A01247500110M/MONTPARNASSE/GILLES\x1f" + strings.Repeat("A", 103))
	f.Add("DC04FR000001FFFF25472801FR432,75\x1d4422780123456784520214\x1f" + strings.Repeat("B", 103) + "\x1d1812")
	a := newTestAuthority(f)
	tl := a.trustList(f)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDoc2D(s)
		if err != nil {
			if !errors.Is(err, ErrDoc2DMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !strings.HasPrefix(s, d.signed) || len(d.Fields) == 0 {
			t.Fatalf("signed part %q of %q", d.signed, s)
		}
		for _, fl := range d.Fields {
			_ = fl.Text()
		}
		if c := tl.Verify(d, testNow); c.Status == Doc2DValid {
			t.Fatalf("random input verified: %q", s)
		}
	})
}

// taxNoticePDF is a text PDF as the tax office sends it: text, and the
// code drawn as a picture (code "" leaves it out).
func taxNoticePDF(t testing.TB, code string) []byte {
	t.Helper()
	p := fpdf.New("P", "pt", "A4", "")
	tr := p.UnicodeTranslatorFromDescriptor("")
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	p.Text(72, 100, tr("Avis d'impôt 2026 sur les revenus de l'année 2025"))
	p.Text(72, 130, tr("Revenu fiscal de référence : 21 450 €"))
	if code != "" {
		var b bytes.Buffer
		if err := png.Encode(&b, dataMatrix(t, code, 2)); err != nil {
			t.Fatal(err)
		}
		p.RegisterImageOptionsReader("code", fpdf.ImageOptions{ImageType: "PNG"}, &b)
		p.ImageOptions("code", 440, 60, 80, 80, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	}
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestCheckDoc2DPDF(t *testing.T) {
	a := newTestAuthority(t)
	tl := a.trustList(t)
	day := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	good := encodeDoc2D(t, a.key, "FR00", "T001", "28", day, day, taxNoticeFields())
	c, err := CheckDoc2DPDF(context.Background(), bytes.NewReader(taxNoticePDF(t, good)), tl, testNow, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != Doc2DValid || !hasFact(c, "Année des revenus\u00a0: 2025") {
		t.Errorf("status %s (%s), facts %v", c.Status, c.Reason, c.Facts)
	}
	tampered := strings.Replace(good, "MARTIN CLAIRE", "MARTIN CLAUDE", 1)
	c, err = CheckDoc2DPDF(context.Background(), bytes.NewReader(taxNoticePDF(t, tampered)), tl, testNow, Options{})
	if err != nil || c.Status != Doc2DInvalidSignature {
		t.Errorf("tampered: %v, %v", c, err)
	}
	if _, err := CheckDoc2DPDF(context.Background(), bytes.NewReader(taxNoticePDF(t, "")), tl, testNow, Options{}); !errors.Is(err, ErrNoDoc2D) {
		t.Errorf("no code: %v", err)
	}
	if _, err := CheckDoc2DPDF(context.Background(), strings.NewReader("hello"), tl, testNow, Options{}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("not a PDF: %v", err)
	}
}
