package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/google/uuid"

	"coffre/ingest"
	"coffre/ingest/ingesttest"
	"coffre/sharing"
	"coffre/vault"
	"coffre/web"
)

// proofBundle serves the pages with the trust list of a test 2D-Doc authority.
func proofBundle(t *testing.T) (*testBundle, *ingesttest.Authority) {
	t.Helper()
	a, err := ingesttest.NewAuthority()
	if err != nil {
		t.Fatal(err)
	}
	tl, err := ingest.ReadTrustList(bytes.NewReader(a.TrustList()))
	if err != nil {
		t.Fatal(err)
	}
	return setup(t, func(c *web.Config) { c.TrustList = func() *ingest.TrustList { return tl } }), a
}

// taxNotice signs a tax notice's 2D-Doc dated a few days ago.
func taxNotice(t *testing.T, a *ingesttest.Authority) string {
	t.Helper()
	code, err := a.TaxNotice(time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// noticePDF is a text PDF as the tax office sends it: text, and the code drawn as a
// picture of the page.
func noticePDF(t *testing.T, code string) []byte {
	t.Helper()
	pic, err := ingesttest.Paper(code, 1240)
	if err != nil {
		t.Fatal(err)
	}
	p := fpdf.New("P", "pt", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	p.Text(72, 60, "Avis d'impot 2026")
	p.RegisterImageOptionsReader("page", fpdf.ImageOptions{ImageType: "JPG"}, bytes.NewReader(pic))
	p.ImageOptions("page", 0, 80, 595, 0, false, fpdf.ImageOptions{ImageType: "JPG"}, 0, "")
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// The 2D-Doc of a paper is checked on deposit, from a photo or a PDF, and the page says
// in plain words whether the paper is genuine; a paper without code says nothing of it.
func TestDepositProof(t *testing.T) {
	t.Parallel()
	b, a := proofBundle(t)
	c := b.client(t)
	c.signup("claire", "le chat mange la pomme")
	owner := mustOwner(t, b, "claire")
	good := taxNotice(t, a)
	tampered := strings.Replace(good, "MARTIN CLAIRE", "MARTIN CLAUDE", 1)
	photo := func(code string) []byte {
		b, err := ingesttest.Paper(code, 1654)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name, file string
		body       []byte
		want       []string // on the paper's page
		wantNot    []string
		status     vault.ProofStatus // "" for no proof kept
	}{
		{"photo", "avis.jpg", photo(good),
			[]string{"Document authentique\u00a0: avis d'impôt sur les revenus, émis par " + ingesttest.Issuer, "Année des revenus\u00a0: 2025", "MARTIN CLAIRE"},
			[]string{"ne correspond pas"}, vault.ProofValid},
		{"photo of a tampered code", "faux.jpg", photo(tampered),
			[]string{"Le code 2D-Doc ne correspond pas", "a peut-être été modifié"},
			[]string{"Document authentique", "MARTIN"}, vault.ProofInvalidSignature},
		{"pdf", "avis.pdf", noticePDF(t, good),
			[]string{"Document authentique\u00a0: avis d'impôt sur les revenus", "Revenu fiscal de référence\u00a0: 21450"},
			nil, vault.ProofValid},
		{"photo without code", "rien.jpg", photo(""), nil,
			[]string{"Document authentique", "2D-Doc"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := c.csrf("/papiers/ajouter")
			resp, body := c.send("/papiers/ajouter", []part{{"csrf", "", []byte(tok)}, {"pages", tc.file, tc.body}, {"kind", "", []byte("impots")}}, nil)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("deposit: %d %s", resp.StatusCode, body)
			}
			m := docLinkRE.FindStringSubmatch(resp.Header.Get("Location"))
			if m == nil {
				t.Fatalf("redirected to %q", resp.Header.Get("Location"))
			}
			id := uuid.MustParse(m[1])
			_, page := c.get("/papiers/" + id.String())
			page = html.UnescapeString(page)
			for _, s := range tc.want {
				if !strings.Contains(page, s) {
					t.Errorf("the page does not say %q", s)
				}
			}
			for _, s := range tc.wantNot {
				if strings.Contains(page, s) {
					t.Errorf("the page says %q", s)
				}
			}
			proofs, err := b.v.Proofs(context.Background(), owner, []uuid.UUID{id})
			if err != nil {
				t.Fatal(err)
			}
			switch p := proofs[id]; {
			case tc.status == "" && p != nil:
				t.Errorf("a proof was kept: %+v", p)
			case tc.status != "" && (p == nil || p.Status != tc.status):
				t.Errorf("proof %+v, want %s", p, tc.status)
			}
		})
	}
}

// A téléservice receiving a paper through the API gets the verified facts and the
// verdict, described by the OpenAPI document.
func TestProofInAPI(t *testing.T) {
	t.Parallel()
	b, a := proofBundle(t)
	check := schemas(t)
	c := b.client(t)
	c.signup("claire", "le chat mange la pomme")
	owner := mustOwner(t, b, "claire")
	tok := c.csrf("/papiers/ajouter")
	pic, err := ingesttest.Paper(taxNotice(t, a), 1654)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := c.send("/papiers/ajouter", []part{{"csrf", "", []byte(tok)}, {"pages", "avis.jpg", pic}, {"kind", "", []byte("impots")}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deposit: %d %s", resp.StatusCode, body)
	}
	plain := paper(t, b, owner, vault.KindCAF, "Attestation CAF")
	docs, err := b.v.Documents(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	ids := []uuid.UUID{}
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	l, err := b.share.CreateLink(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, sharing.NewLink{Documents: ids})
	if err != nil {
		t.Fatal(err)
	}
	resp, raw := apiGet(t, b, "/api/v1/links/"+l.Token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("manifest: %d %s", resp.StatusCode, raw)
	}
	check("Manifest", raw)
	var m struct {
		Documents []struct {
			ID    uuid.UUID `json:"id"`
			Proof *struct {
				Status   string `json:"status"`
				Verified bool   `json:"verified"`
				Type     string `json:"type"`
				Issuer   string `json:"issuer"`
				Facts    []struct{ Label, Value string }
			} `json:"proof"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, d := range m.Documents {
		if d.ID == plain.ID {
			if d.Proof != nil {
				t.Errorf("a paper without code has a proof: %s", raw)
			}
			continue
		}
		seen++
		p := d.Proof
		if p == nil || p.Status != "valid" || !p.Verified || p.Type != "Avis d'impôt sur les revenus" || p.Issuer != ingesttest.Issuer {
			t.Fatalf("proof: %s", raw)
		}
		found := false
		for _, f := range p.Facts {
			found = found || f.Label == "Année des revenus" && f.Value == "2025"
		}
		if !found {
			t.Errorf("facts: %+v", p.Facts)
		}
	}
	if seen != 1 {
		t.Fatalf("%d papers with a code in the manifest: %s", seen, raw)
	}
}
