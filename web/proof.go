package web

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"coffre/ingest"
	"coffre/vault"
)

// Papers that prove themselves: the 2D-Doc of a paper (a signed DataMatrix, ANTS
// specification) is found and checked at deposit, on every deposit path (depositWith),
// against the trust list the service was given (Config.TrustList). The result is kept
// with the paper (vault.Proof, sealed), shown on its page in plain words and given to the
// téléservices that receive it (api.go).

// maxProofPixels bounds a picture searched for a 2D-Doc in a PDF deposited as it is: a
// code is a small picture, a whole page scanned at 300 dpi is 8.7 MP. Larger pictures
// are not searched.
const maxProofPixels = 12_000_000

// proofCost is the memory the search for a 2D-Doc in a deposited PDF may hold beyond what
// the deposit reserved: one picture of maxProofPixels decoded (4 bytes a pixel), and the
// search's working copies, a fraction of it.
const proofCost = 6 * maxProofPixels

// proofTimeout bounds the search like the processing of a file (ingest.DefaultTimeout):
// the search costs about half the CPU of processing a photo (0.15 s for 12 MP, see
// README), so it ends within that time whenever processing did, even on a busy machine
// where a tighter bound would drop the proof of papers deposited under load.
const proofTimeout = ingest.DefaultTimeout

// checkProof looks for a 2D-Doc in the clean rendition of a paper (pdf: the PDF that
// ingest made from photos, or the sanitised PDF deposited) and checks it. nil when the
// service has no trust list, when the paper has no code that could be read, or when the
// search could not be done (busy, too slow): the paper is deposited all the same, without
// a proof. Photos are searched in the rendition's page pictures, which are smaller than
// the photos that Process decoded under the same reservation; a deposited PDF's pictures
// are decoded anew, and the reservation grows for them first.
func (h *handler) checkProof(ctx context.Context, res *ingest.Reservation, pdf []byte, fromPDF bool) *vault.Proof {
	if h.cfg.TrustList == nil {
		return nil
	}
	tl := h.cfg.TrustList()
	if tl == nil {
		return nil
	}
	if fromPDF {
		if err := res.Grow(ctx, proofCost); err != nil {
			h.log.Info("2d-doc: not checked: no memory", "err", err)
			return nil
		}
	}
	now := h.now()
	c, err := ingest.CheckDoc2DPDF(ctx, bytes.NewBuffer(pdf), tl, now, ingest.Options{
		MaxBytes: int64(len(pdf)) + 1, MaxPixels: maxProofPixels, Timeout: proofTimeout,
	})
	switch {
	case errors.Is(err, ingest.ErrNoDoc2D):
		return nil
	case err != nil:
		h.log.Info("2d-doc: not checked", "err", err)
		return nil
	}
	if c.Status != ingest.Doc2DValid {
		// The reason is technical and holds none of the paper's data.
		h.log.Info("2d-doc: does not verify", "status", c.Status, "reason", c.Reason)
	}
	return proofOf(c, now)
}

// proofOf is what the vault keeps of a check.
func proofOf(c *ingest.Doc2DCheck, now time.Time) *vault.Proof {
	p := &vault.Proof{Status: vault.ProofStatus(c.Status), Type: c.TypeName, Issuer: c.Issuer, Authority: c.Authority, CheckedAt: now.UTC()}
	if c.Doc != nil {
		p.TypeCode = c.Doc.Type
		if !c.Doc.Issued.IsZero() {
			day := c.Doc.Issued
			p.IssuedOn = &day
		}
	}
	if c.Status == ingest.Doc2DValid {
		for _, f := range c.Facts {
			p.Facts = append(p.Facts, vault.ProofFact{Label: f.Label, Value: f.Value})
		}
	}
	return p
}

// proofView is what a paper's page says of its 2D-Doc.
type proofView struct {
	Valid bool
	// Type is the type of paper in lower case (« avis d'impôt sur les revenus »), Issuer
	// who signed it.
	Type, Issuer string
	Facts        []vault.ProofFact
	// Failure is the i18n key of the sentence that says why the code does not match.
	// Unknown: the issuer is not in the trust list, which says nothing against the paper.
	Failure string
	Unknown bool
}

func newProofView(p *vault.Proof) *proofView {
	if p == nil {
		return nil
	}
	v := &proofView{Valid: p.Status == vault.ProofValid, Issuer: p.Issuer, Facts: p.Facts, Type: lowerFirst(p.Type)}
	switch p.Status {
	case vault.ProofValid:
	case vault.ProofUnknownCertificate:
		v.Failure, v.Unknown = "proof.unknown", true
	case vault.ProofExpiredCertificate:
		v.Failure = "proof.expired"
	case vault.ProofMalformed:
		v.Failure = "proof.damaged"
	default:
		v.Failure = "proof.altered"
	}
	return v
}

// lowerFirst lowers the first letter of a type name that starts a sentence in ingest's
// table, keeping the rest (« Avis d'impôt » → « avis d'impôt »).
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToLower(string(r[0])) + string(r[1:])
}

// apiProof is the 2D-Doc of a paper as the API gives it to a téléservice: the verdict,
// and the facts only when the signature verified.
type apiProof struct {
	Status    vault.ProofStatus `json:"status"`
	Verified  bool              `json:"verified"`
	Type      string            `json:"type,omitempty"`
	TypeCode  string            `json:"type_code,omitempty"`
	Issuer    string            `json:"issuer,omitempty"`
	Authority string            `json:"authority,omitempty"`
	IssuedOn  string            `json:"issued_on,omitempty"`
	Facts     []vault.ProofFact `json:"facts,omitempty"`
	CheckedAt time.Time         `json:"checked_at"`
}

func newAPIProof(p *vault.Proof) *apiProof {
	if p == nil {
		return nil
	}
	a := &apiProof{Status: p.Status, Verified: p.Status == vault.ProofValid, Type: p.Type, TypeCode: p.TypeCode,
		Issuer: p.Issuer, Authority: p.Authority, Facts: p.Facts, CheckedAt: p.CheckedAt}
	if p.IssuedOn != nil {
		a.IssuedOn = p.IssuedOn.Format(time.DateOnly)
	}
	return a
}
