package sharing

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
	"coffre/vault/account"
)

// Deposits through a subscription: the client's access token, the checks, the deposit
// itself with its idempotency record, and the signed receipt. This file holds the SQL
// of the table subscription_deposits.

var (
	// ErrKindNotConsented: the person did not consent to papers of this kind from this
	// client.
	ErrKindNotConsented = errors.New("kind not consented")
	// ErrIdempotencyConflict: the Idempotency-Key was used before for another request.
	ErrIdempotencyConflict = errors.New("idempotency key used for another request")
)

// DepositTokenLifetime is how long a deposit access token works.
const DepositTokenLifetime = 10 * time.Minute

const depositTokenType = "coffre-deposit-token+jwt"

type depositClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"` // the client
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	ID       string `json:"jti"`
}

// DepositToken signs an access token with which client c deposits through its
// subscriptions for DepositTokenLifetime (OAuth 2.0 client_credentials, RFC 6749 §4.4,
// after authentication with private_key_jwt). It names the client only: each deposit
// names its subscription, which must be the client's. Signed by the service's key, it
// needs no table; removing the client stops it at once (DepositClient).
func DepositToken(key ed25519.PrivateKey, c *Client, now time.Time) (string, time.Time, error) {
	if len(c.DepositKinds) == 0 {
		return "", time.Time{}, fmt.Errorf("sharing: deposit token: %s deposits nothing: %w", c.ID, ErrClientAuth)
	}
	exp := now.Add(DepositTokenLifetime).Truncate(time.Second)
	payload, err := json.Marshal(depositClaims{Issuer: ReceiptIssuer, Subject: c.ID, IssuedAt: now.Unix(), Expiry: exp.Unix(), ID: uuid.NewString()})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sharing: deposit token: %w", err)
	}
	tok, err := signJWS(key, depositTokenType, payload)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sharing: deposit token: %w", err)
	}
	return tok, exp, nil
}

// DepositClient returns the client of a valid deposit token: signed by the service,
// not expired at now, of a client still registered to deposit. Anything else is
// ErrClientAuth.
func (s *Service) DepositClient(ctx context.Context, pub ed25519.PublicKey, token string, now time.Time) (*Client, error) {
	payload, err := verifyJWS(token, pub, depositTokenType)
	if err != nil {
		return nil, ErrClientAuth
	}
	var claims depositClaims
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Issuer != ReceiptIssuer || now.Unix() >= claims.Expiry {
		return nil, ErrClientAuth
	}
	c, err := s.Client(ctx, claims.Subject)
	if err != nil || len(c.DepositKinds) == 0 {
		return nil, ErrClientAuth
	}
	return c, nil
}

// DepositReceipt is the signed statement of a deposit through a subscription: which
// paper, with which files and hashes, the client deposited, when. The client keeps it as
// proof; it reads nothing else of the safe.
type DepositReceipt struct {
	ID           string        `json:"jti"`
	Issuer       string        `json:"iss"`
	IssuedAt     int64         `json:"iat"`
	Depositor    string        `json:"depositor"` // "client:" + the client's ID
	Subscription uuid.UUID     `json:"subscription"`
	Document     uuid.UUID     `json:"document"`
	Kind         vault.Kind    `json:"kind"`
	Deposited    time.Time     `json:"deposited_at"`
	Files        []ReceiptFile `json:"files"`
}

// ReceiptFile is one file kept of a deposited paper: the original as received (a PDF
// byte for byte; a photo without its metadata) and the clean rendition made of it.
type ReceiptFile struct {
	Role      vault.Role `json:"role"`
	MediaType string     `json:"media_type"`
	Size      int64      `json:"size"`
	SHA256    string     `json:"sha256"` // hex
}

const depositReceiptType = "coffre-deposit-receipt+jwt"

func signDepositReceipt(key ed25519.PrivateKey, c *Client, sub uuid.UUID, d *vault.Document) (string, error) {
	r := DepositReceipt{ID: uuid.NewString(), Issuer: ReceiptIssuer, IssuedAt: time.Now().Unix(), Depositor: string(vault.ActorClient) + ":" + c.ID,
		Subscription: sub, Document: d.ID, Kind: d.Kind, Deposited: d.CreatedAt}
	for _, b := range d.Blobs {
		if b.Role == vault.RoleOriginal || b.Role == vault.RoleRendition {
			r.Files = append(r.Files, ReceiptFile{Role: b.Role, MediaType: b.MediaType, Size: b.Size, SHA256: hex.EncodeToString(b.SHA256)})
		}
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	return signJWS(key, depositReceiptType, payload)
}

// VerifyDepositReceipt checks a deposit receipt's signature with the service's public
// key and returns it.
func VerifyDepositReceipt(compact string, pub ed25519.PublicKey) (*DepositReceipt, error) {
	payload, err := verifyJWS(compact, pub, depositReceiptType)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	var r DepositReceipt
	if err := json.Unmarshal(payload, &r); err != nil || r.Issuer != ReceiptIssuer || r.ID == "" {
		return nil, fmt.Errorf("%w: malformed payload", ErrBadReceipt)
	}
	return &r, nil
}

// IssuerDeposit is a deposit request of a client through a subscription.
type IssuerDeposit struct {
	Subscription uuid.UUID
	Kind         vault.Kind
	// Key is the request's Idempotency-Key; Request the SHA-256 of what was sent (the
	// file and the fields), which a retry with the same key must repeat.
	Key     string
	Request []byte
}

func receiptAD(owner, sub uuid.UUID, keyHash []byte) string {
	return "subscription-deposit:" + owner.String() + ":" + sub.String() + ":" + hex.EncodeToString(keyHash)
}

// CheckDeposit decides, before the paper is processed, whether client c may make dep:
// the subscription must be c's and live (SubscriptionFor), and the kind one the person
// consented to (ErrKindNotConsented, journaled). A request already made with the same
// key gets its receipt back (replay non-empty); the key with another request is
// ErrIdempotencyConflict.
func (s *Service) CheckDeposit(ctx context.Context, c *Client, dep IssuerDeposit, ip netip.Addr) (sub *Subscription, replay string, err error) {
	if sub, err = s.SubscriptionFor(ctx, c, dep.Subscription, ip); err != nil {
		return nil, "", err
	}
	if !slices.Contains(sub.Kinds, dep.Kind) {
		return nil, "", s.denyDeposit(ctx, sub.OwnerID, vault.Actor{Kind: vault.ActorClient, ID: c.ID, IP: ip}, ErrKindNotConsented)
	}
	replay, err = s.earlierDeposit(ctx, sub, dep)
	return sub, replay, err
}

// earlierDeposit is the receipt of the deposit made with dep's key, if any.
func (s *Service) earlierDeposit(ctx context.Context, sub *Subscription, dep IssuerDeposit) (string, error) {
	keyHash := sha(dep.Key)
	var request, sealed []byte
	err := s.db.QueryRow(ctx, `SELECT request_sha256, receipt_sealed FROM subscription_deposits WHERE subscription_id = $1 AND key_sha256 = $2`,
		sub.ID, keyHash).Scan(&request, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sharing: earlier deposit: %w", err)
	}
	if subtle.ConstantTimeCompare(request, dep.Request) != 1 {
		return "", ErrIdempotencyConflict
	}
	sealer, err := s.vault.Sealer(ctx, sub.OwnerID)
	if err != nil {
		return "", fmt.Errorf("sharing: earlier deposit: %w", err)
	}
	receipt, err := sealer.Open(sealed, receiptAD(sub.OwnerID, sub.ID, keyHash))
	if err != nil {
		return "", fmt.Errorf("sharing: earlier deposit: %w", err)
	}
	return string(receipt), nil
}

// errRaced: another request with the same key committed first.
var errRaced = errors.New("idempotency key taken meanwhile")

// DepositThrough puts nd into the safe of dep's subscription for client c, checked as
// CheckDeposit does, and returns the paper and the signed receipt; replayed says the
// receipt is that of an earlier request with the same key, and nothing was deposited now
// (doc is nil). The
// subscription is checked again, locked, inside the deposit's transaction, and the key
// recorded there: a stop or a closure at the same moment, or the same request sent twice
// at once, leaves one paper or none. The owner is told by their channels, if any.
func (s *Service) DepositThrough(ctx context.Context, key ed25519.PrivateKey, c *Client, dep IssuerDeposit, nd vault.NewDocument, ip netip.Addr) (doc *vault.Document, receipt string, replayed bool, err error) {
	if nd.Kind != dep.Kind {
		return nil, "", false, fmt.Errorf("sharing: deposit: kind %q is not the request's: %w", nd.Kind, ErrInvalid)
	}
	sub, replay, err := s.CheckDeposit(ctx, c, dep, ip)
	if err != nil || replay != "" {
		return nil, replay, replay != "", err
	}
	sealer, err := s.vault.Sealer(ctx, sub.OwnerID)
	if err != nil {
		return nil, "", false, fmt.Errorf("sharing: deposit: %w", err)
	}
	by := vault.Actor{Kind: vault.ActorClient, ID: c.ID, IP: ip}
	keyHash := sha(dep.Key)
	doc, err = s.vault.DepositWithin(ctx, sub.OwnerID, by, nd, func(ctx context.Context, tx pgx.Tx, d *vault.Document) error {
		live, err := liveSubscription(ctx, tx, sub.ID, c.ID)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !live {
			return ErrStopped
		}
		if err != nil {
			return err
		}
		if receipt, err = signDepositReceipt(key, c, sub.ID, d); err != nil {
			return err
		}
		sealed, err := sealer.Seal([]byte(receipt), receiptAD(sub.OwnerID, sub.ID, keyHash))
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO subscription_deposits (subscription_id, key_sha256, owner_id, request_sha256, document_id, receipt_sealed, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			sub.ID, keyHash, sub.OwnerID, dep.Request, d.ID, sealed, d.CreatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errRaced
		}
		return s.accounts.NotifyTx(ctx, tx, sub.OwnerID, account.Notice{What: account.NoticeIssuerDeposit,
			Key: string(account.NoticeIssuerDeposit) + ":" + d.ID.String(), At: d.CreatedAt, Detail: c.Name, Document: d.ID})
	})
	switch {
	case errors.Is(err, errRaced):
		replay, err := s.earlierDeposit(ctx, sub, dep)
		return nil, replay, err == nil, err
	case errors.Is(err, ErrStopped), errors.Is(err, vault.ErrClosed), errors.Is(err, vault.ErrShredded), errors.Is(err, vault.ErrNotFound):
		return nil, "", false, ErrStopped
	case err != nil:
		return nil, "", false, fmt.Errorf("sharing: deposit: %w", err)
	}
	return doc, receipt, false, nil
}

// RequestDigest is the SHA-256 that names a deposit request for its Idempotency-Key:
// over the file's SHA-256 and the fields, each length-prefixed, so that a retry built
// anew (another multipart boundary) is the same request.
func RequestDigest(fileSHA256 []byte, fields ...string) []byte {
	h := sha256.New()
	h.Write(fileSHA256)
	for _, f := range fields {
		fmt.Fprintf(h, "%d:%s", len(f), f)
	}
	return h.Sum(nil)
}

// forgetSubscriptionDeposits deletes the record of what was deposited through owner's
// subscriptions (the papers stay until the safe's).
func forgetSubscriptionDeposits(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM subscription_deposits WHERE owner_id = $1`, owner)
	return err
}
