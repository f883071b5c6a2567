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

// AuthenticateSecret checks a client's secret, in constant time.
func (s *Service) AuthenticateSecret(ctx context.Context, id, secret string) (*Client, error) {
	var stored []byte
	c, err := s.Client(ctx, id)
	if err == nil {
		stored, err = s.clientSecret(ctx, id)
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
