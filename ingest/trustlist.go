package ingest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"strings"
	"time"
)

// ErrTrustList reports a trust list that cannot be used: unreadable, a
// certificate without its identifiers, a signing certificate that its
// authority did not issue. A list that fails to load must not replace the
// one in use.
var ErrTrustList = errors.New("unusable 2D-Doc trust list")

// maxTrustList bounds what ReadTrustList reads from each source: the ANTS
// list is about 40 KB, a bundle of every published signing certificate a
// few MB at most.
const maxTrustList = 16 << 20

// TrustList holds the certificates that 2D-Doc signatures are checked
// against: the certification authorities, keyed by their identifier
// ("FR03"), and the signing certificates they issued, keyed by authority
// and certificate identifier ("FR03", "0001"). It is immutable once read
// and safe for concurrent use; to refresh it, read a new one and swap the
// pointer (see the package documentation).
type TrustList struct {
	authorities map[string]*trustAuthority
	signers     map[string]*x509.Certificate // "FR03/0001"
}

type trustAuthority struct {
	name  string
	certs []*x509.Certificate
}

// ReadTrustList reads a trust list from one or more sources, each either
// the ANTS Trust Service Status List (XML, ETSI TS 102 231: the authorities
// and their certificates) or a PEM bundle (authorities and signing
// certificates). In a PEM bundle each CERTIFICATE block is keyed by its
// headers:
//
//	-----BEGIN CERTIFICATE-----
//	CA-ID: FR03
//	Cert-ID: 0001
//
//	MIIB…
//	-----END CERTIFICATE-----
//
// A block with CA-ID and no Cert-ID is an authority (an optional Name
// header gives its name). A block without headers is keyed the way the
// 2D-Doc authorities name their certificates: an authority's common name
// is its identifier (CN=FR03) and a signing certificate's common name is
// its certificate identifier, issued under the authority's name.
//
// When the list holds an authority's certificate, every signing
// certificate keyed under that authority must carry its signature;
// otherwise ReadTrustList fails. Errors wrap ErrTrustList.
func ReadTrustList(sources ...io.Reader) (*TrustList, error) {
	tl := &TrustList{authorities: map[string]*trustAuthority{}, signers: map[string]*x509.Certificate{}}
	for i, r := range sources {
		b, err := io.ReadAll(io.LimitReader(r, maxTrustList+1))
		if err != nil {
			return nil, fmt.Errorf("ingest: trust list %d: %w: %v", i, ErrTrustList, err)
		}
		if len(b) > maxTrustList {
			return nil, fmt.Errorf("ingest: trust list %d: %w: larger than %d bytes", i, ErrTrustList, maxTrustList)
		}
		t := bytes.TrimSpace(b)
		switch {
		case bytes.HasPrefix(t, []byte("<")):
			err = tl.addTSL(t)
		case bytes.HasPrefix(t, []byte("-----BEGIN")):
			err = tl.addPEM(t)
		default:
			err = errors.New("neither a TSL (XML) nor PEM certificates")
		}
		if err != nil {
			return nil, fmt.Errorf("ingest: trust list %d: %w: %v", i, ErrTrustList, err)
		}
	}
	for key, c := range tl.signers {
		ca, _, _ := strings.Cut(key, "/")
		a := tl.authorities[ca]
		if a == nil || len(a.certs) == 0 {
			continue // a list of signing certificates alone: trusted as given
		}
		if !issuedBy(c, a.certs) {
			return nil, fmt.Errorf("ingest: trust list: %w: certificate %s is not issued by authority %s", ErrTrustList, key, ca)
		}
	}
	if len(tl.signers) == 0 && len(tl.authorities) == 0 {
		return nil, fmt.Errorf("ingest: trust list: %w: no certificate", ErrTrustList)
	}
	return tl, nil
}

// issuedBy reports whether c carries the signature of one of cas. Only
// the signature is checked: some 2D-Doc authority certificates predate
// the extensions x509 expects of a CA.
func issuedBy(c *x509.Certificate, cas []*x509.Certificate) bool {
	for _, ca := range cas {
		if ca.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil {
			return true
		}
	}
	return false
}

var (
	caIDRe   = regexp.MustCompile(`^[A-Z]{2}[A-Z0-9]{2}$`)
	certIDRe = regexp.MustCompile(`^[A-Z0-9]{4}$`)
)

func (tl *TrustList) authority(id string) *trustAuthority {
	a := tl.authorities[id]
	if a == nil {
		a = &trustAuthority{}
		tl.authorities[id] = a
	}
	return a
}

func (tl *TrustList) addPEM(b []byte) error {
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			if len(bytes.TrimSpace(b)) > 0 {
				return fmt.Errorf("block %d: not PEM", n)
			}
			return nil
		}
		if blk.Type != "CERTIFICATE" {
			return fmt.Errorf("block %d: %s, want CERTIFICATE", n, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return fmt.Errorf("block %d: %v", n, err)
		}
		ca, cert := blk.Headers["CA-ID"], blk.Headers["Cert-ID"]
		if ca == "" && cert == "" {
			switch {
			case c.IsCA && caIDRe.MatchString(c.Subject.CommonName):
				ca = c.Subject.CommonName
			case caIDRe.MatchString(c.Issuer.CommonName) && certIDRe.MatchString(c.Subject.CommonName):
				ca, cert = c.Issuer.CommonName, c.Subject.CommonName
			default:
				return fmt.Errorf("block %d (%s): no CA-ID header", n, c.Subject.CommonName)
			}
		}
		if !caIDRe.MatchString(ca) {
			return fmt.Errorf("block %d: CA-ID %q", n, ca)
		}
		if cert == "" {
			a := tl.authority(ca)
			a.certs = append(a.certs, c)
			if name := blk.Headers["Name"]; name != "" {
				a.name = name
			} else if a.name == "" && len(c.Subject.Organization) > 0 {
				a.name = c.Subject.Organization[0]
			}
			continue
		}
		if !certIDRe.MatchString(cert) {
			return fmt.Errorf("block %d: Cert-ID %q", n, cert)
		}
		if err := checkSigningKey(c); err != nil {
			return fmt.Errorf("block %d (%s/%s): %v", n, ca, cert, err)
		}
		key := ca + "/" + cert
		if _, dup := tl.signers[key]; dup {
			return fmt.Errorf("block %d: %s listed twice", n, key)
		}
		tl.signers[key] = c
	}
}

func checkSigningKey(c *x509.Certificate) error {
	k, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("%T key, want ECDSA", c.PublicKey)
	}
	switch k.Curve {
	case elliptic.P256(), elliptic.P384(), elliptic.P521():
		return nil
	}
	return fmt.Errorf("curve %s not allowed", k.Curve.Params().Name)
}

// tsl is the part of an ETSI TS 102 231 trust list that 2D-Doc uses: each
// provider's trade name is its authority identifier.
type tsl struct {
	Providers []struct {
		Names      []tslName `xml:"TSPInformation>TSPName>Name"`
		TradeNames []tslName `xml:"TSPInformation>TSPTradeName>Name"`
		Services   []struct {
			Certs  []string `xml:"ServiceInformation>ServiceDigitalIdentity>DigitalId>X509Certificate"`
			Status string   `xml:"ServiceInformation>ServiceStatus"`
		} `xml:"TSPServices>TSPService"`
	} `xml:"TrustServiceProviderList>TrustServiceProvider"`
}

type tslName struct {
	Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Text string `xml:",chardata"`
}

func pickName(ns []tslName) string {
	for _, n := range ns {
		if n.Lang == "fr" {
			return strings.TrimSpace(n.Text)
		}
	}
	if len(ns) > 0 {
		return strings.TrimSpace(ns[0].Text)
	}
	return ""
}

// tslActive reports service statuses under which an authority's
// certificates are trusted; withdrawn, revoked or deprecated services are
// left out of the list.
func tslActive(status string) bool {
	s := status[strings.LastIndexByte(status, '/')+1:]
	switch strings.ToLower(s) {
	case "inaccord", "granted", "accredited", "undersupervision", "recognisedatnationallevel":
		return true
	}
	return false
}

func (tl *TrustList) addTSL(b []byte) error {
	var l tsl
	if err := xml.Unmarshal(b, &l); err != nil {
		return err
	}
	if len(l.Providers) == 0 {
		return errors.New("no trust service provider")
	}
	for _, p := range l.Providers {
		id := pickName(p.TradeNames)
		if !caIDRe.MatchString(id) {
			continue // not a 2D-Doc authority
		}
		a := tl.authority(id)
		if a.name == "" {
			a.name = pickName(p.Names)
		}
		for _, s := range p.Services {
			if !tslActive(s.Status) {
				continue
			}
			for _, c64 := range s.Certs {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c64), ""))
				if err != nil {
					return fmt.Errorf("authority %s: %v", id, err)
				}
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return fmt.Errorf("authority %s: %v", id, err)
				}
				a.certs = append(a.certs, c)
			}
		}
	}
	return nil
}

// Doc2DStatus is the verdict on a 2D-Doc.
type Doc2DStatus string

const (
	// Doc2DValid: the signature verifies under a signing certificate of the
	// trust list that was valid on the signature date. Nothing else is
	// ever called valid.
	Doc2DValid Doc2DStatus = "valid"
	// Doc2DInvalidSignature: the certificate is known but the signature
	// does not match the data: the code was altered or forged.
	Doc2DInvalidSignature Doc2DStatus = "invalid_signature"
	// Doc2DUnknownCertificate: the trust list has no such certificate
	// (an unknown issuer, a forged code, or a list to refresh).
	Doc2DUnknownCertificate Doc2DStatus = "unknown_certificate"
	// Doc2DExpiredCertificate: the signature verifies, but the certificate
	// was not valid on the signature date written in the code.
	Doc2DExpiredCertificate Doc2DStatus = "expired_certificate"
	// Doc2DMalformed: the code was read but is not a well-formed 2D-Doc
	// (truncated, damaged, unsupported version).
	Doc2DMalformed Doc2DStatus = "malformed"
)

// Fact is one labelled datum of a verified paper, for display.
type Fact struct {
	Label, Value string
}

// String returns « Label : Value », a no-break space before the colon as French wants.
func (f Fact) String() string { return f.Label + "\u00a0: " + f.Value }

// Doc2DCheck is the result of verifying a 2D-Doc.
type Doc2DCheck struct {
	Status Doc2DStatus
	// Doc is the parsed code; nil when Status is Doc2DMalformed.
	Doc *Doc2D
	// TypeName is the French name of the document type ("Avis d'impôt
	// sur les revenus"); empty for types this package does not know.
	TypeName string
	// Issuer is who signed the paper: the organisation named in the
	// signing certificate. Authority is the certification authority that
	// issued that certificate. Both are set only when the certificate is
	// in the trust list.
	Issuer, Authority string
	// Facts are the data of the paper as labelled fields, in the order of
	// the code, only when Status is Doc2DValid: unverified data is never
	// presented as a fact. Annex data, which the signature does not
	// cover, is never among them.
	Facts []Fact
	// Reason is a short technical explanation for logs. It never contains
	// the paper's data.
	Reason string
}

// Message returns one plain French sentence for the person.
func (c *Doc2DCheck) Message() string {
	switch c.Status {
	case Doc2DValid:
		return fmt.Sprintf("Ce papier est authentique\u00a0: son code est signé par %s.", c.Issuer)
	case Doc2DInvalidSignature:
		return "Le code de ce papier ne correspond pas à son contenu\u00a0: le papier a peut-être été modifié. Demandez l'original à l'organisme qui l'a fait."
	case Doc2DUnknownCertificate:
		return "Le code de ce papier vient d'un organisme inconnu\u00a0: on ne peut pas dire s'il est authentique."
	case Doc2DExpiredCertificate:
		return "Le code de ce papier a été signé avec une clé qui n'était plus valable\u00a0: demandez un papier plus récent à l'organisme."
	}
	return "Le code de ce papier est abîmé ou incomplet\u00a0: reprenez la photo de plus près, bien à plat."
}

// Verify checks a 2D-Doc's signature against the trust list. now is the
// current time: a signature dated after it is refused. The verdict is
// Doc2DValid only when the signature verifies under a signing certificate
// of the list that was valid on the signature date. A nil list knows no
// certificate.
func (tl *TrustList) Verify(d *Doc2D, now time.Time) *Doc2DCheck {
	c := &Doc2DCheck{Doc: d}
	if d == nil || d.signed == "" {
		c.Status, c.Doc, c.Reason = Doc2DMalformed, nil, "not parsed"
		return c
	}
	c.TypeName = Doc2DTypeName(d.Perimeter, d.Type)
	// A day of margin: the header date is a calendar day, in the issuer's
	// time zone.
	if d.Signed.After(now.Add(24 * time.Hour)) {
		c.Status, c.Reason = Doc2DMalformed, "signature date in the future"
		return c
	}
	key := d.CA + "/" + d.CertID
	var cert *x509.Certificate
	if tl != nil {
		cert = tl.signers[key]
	}
	if cert == nil {
		c.Status, c.Reason = Doc2DUnknownCertificate, "certificate "+key+" not in the trust list"
		return c
	}
	c.Issuer = certOrg(cert)
	if a := tl.authorities[d.CA]; a != nil { // tl != nil: it had the certificate
		c.Authority = a.name
	}
	if c.Authority == "" && len(cert.Issuer.Organization) > 0 {
		c.Authority = cert.Issuer.Organization[0]
	}
	if !verifyDocSignature(cert, d.signed, d.Signature) {
		c.Status, c.Reason = Doc2DInvalidSignature, "signature does not verify under "+key
		return c
	}
	// The header gives the day only: the certificate must cover some part
	// of it.
	day := d.Signed
	if cert.NotAfter.Before(day) || !cert.NotBefore.Before(day.AddDate(0, 0, 1)) {
		c.Status, c.Reason = Doc2DExpiredCertificate, fmt.Sprintf("certificate %s valid %s to %s, signature dated %s",
			key, cert.NotBefore.Format(time.DateOnly), cert.NotAfter.Format(time.DateOnly), day.Format(time.DateOnly))
		return c
	}
	c.Status = Doc2DValid
	for _, f := range d.Fields {
		c.Facts = append(c.Facts, Fact{Label: f.Label, Value: f.Text()})
	}
	return c
}

// certOrg names the organisation of a signing certificate.
func certOrg(c *x509.Certificate) string {
	if len(c.Subject.Organization) > 0 && c.Subject.Organization[0] != "" {
		return c.Subject.Organization[0]
	}
	return c.Subject.CommonName
}

// verifyDocSignature checks an ECDSA signature (r ‖ s, each as long as
// the curve's order) over the header and message, hashed with the hash
// that goes with the curve.
func verifyDocSignature(cert *x509.Certificate, signed string, sig []byte) bool {
	k, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return false
	}
	n := (k.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*n {
		return false
	}
	var h []byte
	switch n {
	case 32:
		s := sha256.Sum256([]byte(signed))
		h = s[:]
	case 48:
		s := sha512.Sum384([]byte(signed))
		h = s[:]
	case 66:
		s := sha512.Sum512([]byte(signed))
		h = s[:]
	default:
		return false
	}
	r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
	return ecdsa.Verify(k, h, r, s)
}
