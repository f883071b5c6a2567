package sharing

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// Client authentication methods, as named by OAuth 2.0 (RFC 7591).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
)

// ErrClientAuth: the client is unknown, removed, or failed to authenticate.
var ErrClientAuth = errors.New("client authentication failed")

// Client is a téléservice registered for "Choisir dans mon coffre", or an issuer that
// deposits papers through subscriptions (« Recevoir mes papiers »), or both.
type Client struct {
	ID           string
	Name         string
	RedirectURIs []string
	AllowedKinds []vault.Kind // what it may ask for
	DepositKinds []vault.Kind // what it may deposit
	AuthMethod   string
	JWKS         *jose.JSONWebKeySet // private_key_jwt only
	CreatedAt    time.Time
}

// NewClient is what the operator registers.
type NewClient struct {
	Name         string
	RedirectURIs []string
	AllowedKinds []vault.Kind
	// DepositKinds are the kinds it may deposit; an issuer authenticates with
	// private_key_jwt only: a leaked shared secret would let anyone plant papers.
	DepositKinds []vault.Kind
	AuthMethod   string // default client_secret_basic
	JWKS         []byte // public keys, for private_key_jwt
}

func (nc *NewClient) validate() error {
	if strings.TrimSpace(nc.Name) == "" {
		return fmt.Errorf("a client needs a name: %w", ErrInvalid)
	}
	if len(nc.RedirectURIs) == 0 {
		return fmt.Errorf("a client needs at least one redirect URI: %w", ErrInvalid)
	}
	for _, u := range nc.RedirectURIs {
		p, err := url.Parse(u)
		if err != nil || p.Fragment != "" || p.Host == "" || !(p.Scheme == "https" || p.Scheme == "http" && isLoopback(p.Hostname())) {
			return fmt.Errorf("redirect URI %q must be an absolute https URL without fragment (http only on loopback): %w", u, ErrInvalid)
		}
	}
	if len(nc.AllowedKinds) == 0 && len(nc.DepositKinds) == 0 {
		return fmt.Errorf("a client needs at least one document kind: %w", ErrInvalid)
	}
	for _, k := range slices.Concat(nc.AllowedKinds, nc.DepositKinds) {
		if _, err := vault.ParseKind(string(k)); err != nil {
			return fmt.Errorf("%w: %w", err, ErrInvalid)
		}
	}
	if nc.AuthMethod == "" {
		nc.AuthMethod = AuthSecretBasic
	}
	if len(nc.DepositKinds) > 0 && nc.AuthMethod != AuthPrivateKeyJWT {
		return fmt.Errorf("a client that deposits authenticates with private_key_jwt: %w", ErrInvalid)
	}
	switch nc.AuthMethod {
	case AuthSecretBasic, AuthSecretPost:
		if nc.JWKS != nil {
			return fmt.Errorf("a JWKS goes with private_key_jwt only: %w", ErrInvalid)
		}
	case AuthPrivateKeyJWT:
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(nc.JWKS, &set); err != nil || len(set.Keys) == 0 {
			return fmt.Errorf("private_key_jwt needs a JWKS with at least one public key: %w", ErrInvalid)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() || !k.Valid() {
				return fmt.Errorf("the JWKS must hold valid public keys only: %w", ErrInvalid)
			}
		}
	default:
		return fmt.Errorf("unknown authentication method %q: %w", nc.AuthMethod, ErrInvalid)
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func sha(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// AddClient registers a téléservice. For secret authentication it returns the secret,
// shown once and never stored.
func (s *Service) AddClient(ctx context.Context, nc NewClient) (*Client, string, error) {
	if err := nc.validate(); err != nil {
		return nil, "", fmt.Errorf("sharing: add client: %w", err)
	}
	id, err := randomString(16)
	if err != nil {
		return nil, "", fmt.Errorf("sharing: add client: %w", err)
	}
	var secret string
	var secretHash, jwks []byte
	if nc.AuthMethod == AuthPrivateKeyJWT {
		jwks = nc.JWKS
	} else {
		if secret, err = randomString(32); err != nil {
			return nil, "", fmt.Errorf("sharing: add client: %w", err)
		}
		secretHash = sha(secret)
	}
	if _, err := s.db.Exec(ctx, `
		INSERT INTO clients (id, name, redirect_uris, allowed_kinds, deposit_kinds, auth_method, secret_sha256, jwks)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		"ts_"+id, nc.Name, nc.RedirectURIs, kindStrings(nc.AllowedKinds), kindStrings(nc.DepositKinds), nc.AuthMethod, secretHash, jwks); err != nil {
		return nil, "", fmt.Errorf("sharing: add client: %w", err)
	}
	c, err := s.Client(ctx, "ts_"+id)
	return c, secret, err
}

func kindStrings(kinds []vault.Kind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

const clientColumns = `id, name, redirect_uris, allowed_kinds, deposit_kinds, auth_method, jwks, created_at`

func scanClient(row pgx.Row) (*Client, error) {
	c := &Client{}
	var kinds, deposits []string
	var jwks []byte
	if err := row.Scan(&c.ID, &c.Name, &c.RedirectURIs, &kinds, &deposits, &c.AuthMethod, &jwks, &c.CreatedAt); err != nil {
		return nil, err
	}
	for _, k := range kinds {
		c.AllowedKinds = append(c.AllowedKinds, vault.Kind(k))
	}
	for _, k := range deposits {
		c.DepositKinds = append(c.DepositKinds, vault.Kind(k))
	}
	if jwks != nil {
		c.JWKS = &jose.JSONWebKeySet{}
		if err := json.Unmarshal(jwks, c.JWKS); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Client returns a registered, not removed, client.
func (s *Service) Client(ctx context.Context, id string) (*Client, error) {
	c, err := scanClient(s.db.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1 AND removed_at IS NULL`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("sharing: client %q: %w", id, vault.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: client %q: %w", id, err)
	}
	return c, nil
}

// Clients lists the registered clients.
func (s *Service) Clients(ctx context.Context) ([]Client, error) {
	rows, err := s.db.Query(ctx, `SELECT `+clientColumns+` FROM clients WHERE removed_at IS NULL ORDER BY created_at`)
	if err != nil {
		return nil, fmt.Errorf("sharing: clients: %w", err)
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sharing: clients: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// RemoveClient removes a client; its grants and tokens stop working at once.
func (s *Service) RemoveClient(ctx context.Context, id string) error {
	tag, err := s.db.Exec(ctx, `UPDATE clients SET removed_at = now() WHERE id = $1 AND removed_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("sharing: remove client %q: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("sharing: remove client %q: %w", id, vault.ErrNotFound)
	}
	return nil
}

// AuthenticateSecret checks a client's secret, in constant time.
func (s *Service) AuthenticateSecret(ctx context.Context, id, secret string) (*Client, error) {
	var stored []byte
	c, err := s.Client(ctx, id)
	if err == nil {
		err = s.db.QueryRow(ctx, `SELECT secret_sha256 FROM clients WHERE id = $1`, id).Scan(&stored)
	}
	// Hash even for an unknown client, so that timing says nothing about which exist.
	ok := subtle.ConstantTimeCompare(sha(secret), stored) == 1
	if err != nil && !errors.Is(err, vault.ErrNotFound) && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("sharing: authenticate client: %w", err) // not the client's fault
	}
	if err != nil || stored == nil || !ok {
		return nil, ErrClientAuth
	}
	return c, nil
}
