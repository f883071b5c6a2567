package sharing

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
)

// Receipt is the signed statement of a delivery: which documents, with which hashes, went
// to whom, when. The téléservice keeps it as proof of origin and integrity; the owner's
// journal records it.
type Receipt struct {
	ID        string            `json:"jti"`
	Issuer    string            `json:"iss"`
	IssuedAt  int64             `json:"iat"`
	Recipient string            `json:"recipient"` // client ID, or "link:<id>"
	Documents []ReceiptDocument `json:"documents"`
}

// ReceiptDocument is one delivered document in a receipt.
type ReceiptDocument struct {
	ID        uuid.UUID  `json:"id"`
	Kind      vault.Kind `json:"kind"`
	MediaType string     `json:"media_type"`
	Size      int64      `json:"size"`
	SHA256    string     `json:"sha256"` // hex
	Deposited time.Time  `json:"deposited_at"`
	Depositor string     `json:"depositor"` // actor kind: owner, aidant…
	// Watermark is the text written across every page of the copy delivered, "" when
	// the paper went as it is; MediaType, Size and SHA256 are then the marked copy's.
	Watermark string `json:"watermark,omitempty"`
}

// ErrBadReceipt: the receipt is malformed or its signature does not verify.
var ErrBadReceipt = errors.New("receipt does not verify")

// ReceiptIssuer names the service in receipts.
const ReceiptIssuer = "coffre"

// IssueReceipt signs a receipt (compact JWS, EdDSA) for the delivery of docs (their
// delivered blobs: role) to recipient, and records it in the owner's journal.
func (s *Service) IssueReceipt(ctx context.Context, key ed25519.PrivateKey, owner uuid.UUID, recipient vault.Actor, docs []vault.Document, role vault.Role) (string, *Receipt, error) {
	compact, r, err := SignReceipt(key, recipient, docs, role)
	if err != nil {
		return "", nil, err
	}
	if err := s.vault.Record(ctx, owner, vault.Event{Actor: recipient, Action: ActionDelivered, Detail: r.ID}); err != nil {
		return "", nil, fmt.Errorf("sharing: receipt: %w", err)
	}
	return compact, r, nil
}

// SignReceipt signs a receipt without journaling it: for a download, whose own journal
// entry then carries the receipt's number (see Open and OpenGranted).
func SignReceipt(key ed25519.PrivateKey, recipient vault.Actor, docs []vault.Document, role vault.Role) (string, *Receipt, error) {
	r := &Receipt{ID: uuid.NewString(), Issuer: ReceiptIssuer, IssuedAt: time.Now().Unix(), Recipient: string(recipient.Kind) + ":" + recipient.ID}
	for _, d := range docs {
		b := d.Blob(role)
		if b == nil {
			continue
		}
		r.Documents = append(r.Documents, ReceiptDocument{ID: d.ID, Kind: d.Kind, MediaType: b.MediaType, Size: b.Size,
			SHA256: hex.EncodeToString(b.SHA256), Deposited: d.CreatedAt, Depositor: string(d.Depositor.Kind)})
	}
	return signReceipt(key, r)
}

// MarkedCopy is a watermarked copy of a document, delivered instead of its blob.
type MarkedCopy struct {
	MediaType string
	Size      int64
	SHA256    []byte
	Watermark string
}

// SignMarkedReceipt signs receipt id for a watermarked copy of d: the receipt names the
// copy's hash and the text written across it. The id is chosen before the copy is made,
// so that the journal entry of the download can name it.
func SignMarkedReceipt(key ed25519.PrivateKey, id string, recipient vault.Actor, d *vault.Document, c MarkedCopy) (string, *Receipt, error) {
	r := &Receipt{ID: id, Issuer: ReceiptIssuer, IssuedAt: time.Now().Unix(), Recipient: string(recipient.Kind) + ":" + recipient.ID,
		Documents: []ReceiptDocument{{ID: d.ID, Kind: d.Kind, MediaType: c.MediaType, Size: c.Size, SHA256: hex.EncodeToString(c.SHA256),
			Deposited: d.CreatedAt, Depositor: string(d.Depositor.Kind), Watermark: c.Watermark}}}
	return signReceipt(key, r)
}

func signReceipt(key ed25519.PrivateKey, r *Receipt) (string, *Receipt, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return "", nil, fmt.Errorf("sharing: receipt: %w", err)
	}
	compact, err := signJWS(key, "coffre-receipt+jwt", payload)
	if err != nil {
		return "", nil, fmt.Errorf("sharing: receipt: %w", err)
	}
	return compact, r, nil
}

// VerifyReceipt checks a receipt's signature with the service's public key and returns it.
func VerifyReceipt(compact string, pub ed25519.PublicKey) (*Receipt, error) {
	payload, err := verifyJWS(compact, pub, "coffre-receipt+jwt")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	var r Receipt
	if err := json.Unmarshal(payload, &r); err != nil || r.Issuer != ReceiptIssuer || r.ID == "" {
		return nil, fmt.Errorf("%w: malformed payload", ErrBadReceipt)
	}
	return &r, nil
}
