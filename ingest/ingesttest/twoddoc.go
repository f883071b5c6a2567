package ingesttest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/pem"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math/big"
	"strings"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Authority is a 2D-Doc certification authority made for tests: authority FR00 and its
// signing certificate T001 (« Direction générale des Finances publiques (essai) »),
// valid from 2024 to 2028. Its trust list (PEM) is what ingest.ReadTrustList reads.
type Authority struct {
	key *ecdsa.PrivateKey
	pem []byte
}

// Issuer is the organisation named in the test signing certificate.
const Issuer = "Direction générale des Finances publiques (essai)"

// NewAuthority makes a test authority and its signing certificate.
func NewAuthority() (*Authority, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "FR00", Organization: []string{"Autorité de test"}},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	a := &Authority{}
	if a.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "T001", Organization: []string{Issuer}},
		NotBefore: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &a.key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"CA-ID": "FR00", "Name": "Autorité de test"}, Bytes: caDER})
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"CA-ID": "FR00", "Cert-ID": "T001"}, Bytes: der})
	a.pem = b.Bytes()
	return a, nil
}

// TrustList is the authority and its signing certificate, as a PEM bundle.
func (a *Authority) TrustList() []byte { return a.pem }

// TaxNotice is a signed 2D-Doc of an avis d'impôt sur les revenus (type 28) for the 2025
// income of « MARTIN CLAIRE », issued and signed on day.
func (a *Authority) TaxNotice(day time.Time) (string, error) {
	return a.Sign("28", day, [][2]string{
		{"43", "2,5"}, {"44", "2578012345678"}, {"45", "2025"}, {"46", "MARTIN CLAIRE"},
		{"4A", "31072026"}, {"41", "21450"}, {"47", "3001123456789"},
	})
}

// Sign builds a version 04 2D-Doc of type typ carrying fields (identifier, value), each
// but the last ended by GS, and signs it.
func (a *Authority) Sign(typ string, day time.Time, fields [][2]string) (string, error) {
	days := int(day.Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24)
	var b strings.Builder
	fmt.Fprintf(&b, "DC04FR00T001%04X%04X%s01FR", days, days, typ)
	for i, f := range fields {
		b.WriteString(f[0] + f[1])
		if i < len(fields)-1 {
			b.WriteByte('\x1d')
		}
	}
	h := sha256.Sum256([]byte(b.String()))
	r, s, err := ecdsa.Sign(rand.Reader, a.key, h[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return b.String() + "\x1f" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sig), nil
}

// Paper draws an A4 page (w pixels wide) with a title, lines of text and, top right,
// the code as a DataMatrix about 22 mm wide; code "" leaves it out. Returned as a JPEG:
// a photo of the paper, or the picture a text PDF carries.
func Paper(code string, w int) ([]byte, error) {
	h := w * 297 / 210
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(m, m.Bounds(), &image.Uniform{color.RGBA{246, 245, 240, 255}}, image.Point{}, draw.Src)
	ink := &image.Uniform{color.RGBA{25, 25, 35, 255}}
	scale := max(1, w/800)
	say := func(x, y int, s string) {
		tmp := image.NewRGBA(image.Rect(0, 0, 7*len(s)+2, 16))
		(&font.Drawer{Dst: tmp, Src: ink, Face: basicfont.Face7x13, Dot: fixed.P(0, 12)}).DrawString(s)
		for yy := 0; yy < 16*scale; yy++ {
			for xx := 0; xx < tmp.Rect.Dx()*scale; xx++ {
				if tmp.RGBAAt(xx/scale, yy/scale).A > 0 && x+xx < w && y+yy < h {
					m.Set(x+xx, y+yy, ink.C)
				}
			}
		}
	}
	say(w/11, h/12, "AVIS D'IMPOT 2026 SUR LES REVENUS 2025")
	for y := h / 5; y < h*9/10; y += 22 * scale {
		say(w/11, y, "Revenu fiscal de reference 21450 euros  parts 2,5")
	}
	if code != "" {
		bm, err := datamatrix.NewDataMatrixWriter().Encode(code, gozxing.BarcodeFormat_DATA_MATRIX, 0, 0, nil)
		if err != nil {
			return nil, err
		}
		px := max(2, w*22/210/bm.GetWidth()) // modules of the code, 22 mm wide
		cw := bm.GetWidth() * px
		x0, y0 := w-w/11-cw, h/20
		draw.Draw(m, image.Rect(x0, y0, x0+cw, y0+cw).Inset(-4*px), &image.Uniform{color.White}, image.Point{}, draw.Src)
		for y := 0; y < bm.GetHeight()*px; y++ {
			for x := 0; x < cw; x++ {
				if bm.Get(x/px, y/px) {
					m.Set(x0+x, y0+y, color.Gray{20})
				}
			}
		}
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, m, &jpeg.Options{Quality: 88}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
