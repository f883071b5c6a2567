package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// What the 2D-Doc of a paper said when it was deposited (column documents.proof_sealed):
// the verdict on its signature and the facts it carries. The facts are personal data (a
// name, an income, an address): the whole proof is sealed with the owner's data key and
// bound to its document, like the title. The check itself is done outside the vault
// (package ingest, called by package web at deposit); the vault only keeps its result.

// ProofStatus is the verdict on a paper's 2D-Doc, in package ingest's words.
type ProofStatus string

// The verdicts; only ProofValid means the paper is what it says.
const (
	ProofValid              ProofStatus = "valid"
	ProofInvalidSignature   ProofStatus = "invalid_signature"
	ProofUnknownCertificate ProofStatus = "unknown_certificate"
	ProofExpiredCertificate ProofStatus = "expired_certificate"
	ProofMalformed          ProofStatus = "malformed"
)

// Limits of a proof: a 2D-Doc holds a few dozen fields of a few dozen characters.
const (
	maxProofFacts = 64
	maxProofText  = 200
)

// Proof is the result of checking a paper's 2D-Doc.
type Proof struct {
	Status ProofStatus `json:"status"`
	// Type is the French name of the document type ("Avis d'impôt sur les revenus"), ""
	// when unknown; TypeCode its code in the 2D-Doc ("28").
	Type     string `json:"type,omitempty"`
	TypeCode string `json:"type_code,omitempty"`
	// Issuer is who signed the paper, Authority who certified the issuer: set only when
	// the certificate is in the trust list.
	Issuer    string `json:"issuer,omitempty"`
	Authority string `json:"authority,omitempty"`
	// IssuedOn is the date of the paper written in the code, if any.
	IssuedOn *time.Time `json:"issued_on,omitempty"`
	// Facts are the data the signature covers, only when Status is ProofValid.
	Facts     []ProofFact `json:"facts,omitempty"`
	CheckedAt time.Time   `json:"checked_at"`
}

// ProofFact is one labelled datum of a verified paper.
type ProofFact struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

func (p *Proof) validate() error {
	switch p.Status {
	case ProofValid, ProofInvalidSignature, ProofUnknownCertificate, ProofExpiredCertificate, ProofMalformed:
	default:
		return fmt.Errorf("proof: status %q: %w", p.Status, ErrInvalid)
	}
	if p.Status != ProofValid && len(p.Facts) > 0 {
		return fmt.Errorf("proof: facts of a paper that did not verify: %w", ErrInvalid)
	}
	if len(p.Facts) > maxProofFacts {
		return fmt.Errorf("proof: %d facts: %w", len(p.Facts), ErrInvalid)
	}
	texts := []string{p.Type, p.TypeCode, p.Issuer, p.Authority}
	for _, f := range p.Facts {
		texts = append(texts, f.Label, f.Value)
	}
	for _, s := range texts {
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxProofText {
			return fmt.Errorf("proof: text too long or not UTF-8: %w", ErrInvalid)
		}
	}
	return nil
}

func proofAD(owner, doc uuid.UUID) string { return "proof:" + owner.String() + ":" + doc.String() }

// sealProof seals p for owner's document doc; nil for no proof.
func sealProof(dataKey []byte, owner, doc uuid.UUID, p *Proof) ([]byte, error) {
	if p == nil {
		return nil, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return seal(dataKey, b, proofAD(owner, doc))
}

// Proofs returns what the 2D-Doc of each of owner's current documents ids said at
// deposit, by document: a document without a proof, deleted, or not the owner's is
// simply absent. The caller has looked the documents up.
func (v *Vault) Proofs(ctx context.Context, owner uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]*Proof, error) {
	out := map[uuid.UUID]*Proof{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := proofRows(ctx, v.db, owner, ids)
	if err != nil {
		return nil, fmt.Errorf("vault: proofs: %w", err)
	}
	type row struct {
		id     uuid.UUID
		sealed []byte
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.sealed)
	})
	if err != nil {
		return nil, fmt.Errorf("vault: proofs: %w", err)
	}
	if len(found) == 0 {
		return out, nil
	}
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: proofs: %w", err)
	}
	for _, f := range found {
		b, err := open(dataKey, f.sealed, proofAD(owner, f.id))
		if err != nil {
			return nil, fmt.Errorf("vault: proof of %s: %w", f.id, err)
		}
		p := &Proof{}
		if err := json.Unmarshal(b, p); err != nil {
			return nil, fmt.Errorf("vault: proof of %s: %v: %w", f.id, err, ErrIntegrity)
		}
		out[f.id] = p
	}
	return out, nil
}
