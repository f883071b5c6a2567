package sharing

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// Journal actions of "Choisir dans mon coffre".
const (
	ActionGrantCreated vault.Action = "grant_created"
	ActionGrantRefused vault.Action = "grant_refused"
	ActionDelivered    vault.Action = "delivered" // a signed receipt was issued
)

// AuthorizationDetailsType is the RFC 9396 type under which téléservices ask for kinds of
// documents.
const AuthorizationDetailsType = "coffre_documents"

// DepositDetailsType is the RFC 9396 type under which an issuer asks to deposit papers of
// some kinds into the person's safe, from now on (a subscription, subscription.go).
const DepositDetailsType = "coffre_deposit"

const (
	codeLifetime    = time.Minute
	tokenLifetime   = 10 * time.Minute
	maxDetailsBytes = 4096
)

// OAuthError is an error of the OAuth 2.0 protocol, with its standard code. When Redirect
// is false the error must be shown to the person, never sent to the redirect URI (the
// client or the URI cannot be trusted).
type OAuthError struct {
	Code        string // invalid_request, invalid_client, invalid_grant, access_denied…
	Description string
	Redirect    bool
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, desc string, redirect bool) error {
	return &OAuthError{Code: code, Description: desc, Redirect: redirect}
}

// AuthorizationRequest is a checked request of a téléservice for documents.
type AuthorizationRequest struct {
	Client        *Client
	RedirectURI   string
	State         string
	CodeChallenge string
	Kinds         []vault.Kind
	Purpose       string // what for, as the téléservice says it (shown to the person)
	// Deposit: the client asks to deposit papers of Kinds (coffre_deposit), not to be
	// given any.
	Deposit bool
}

type authorizationDetail struct {
	Type    string   `json:"type"`
	Kinds   []string `json:"kinds"`
	Purpose string   `json:"purpose,omitempty"`
}

var pkcePattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// ParseAuthorization checks the query of an authorization request: the client, the exact
// redirect URI, the code flow with PKCE S256 only, and the kinds asked for in
// authorization_details, which must be among those the client is allowed.
func (s *Service) ParseAuthorization(ctx context.Context, q url.Values) (*AuthorizationRequest, error) {
	c, err := s.Client(ctx, q.Get("client_id"))
	if err != nil {
		return nil, oauthErr("invalid_client", "unknown client", false)
	}
	req := &AuthorizationRequest{Client: c, RedirectURI: q.Get("redirect_uri"), State: q.Get("state")}
	if !slices.Contains(c.RedirectURIs, req.RedirectURI) {
		return nil, oauthErr("invalid_request", "redirect_uri is not registered for this client", false)
	}
	if q.Get("response_type") != "code" {
		return req, oauthErr("unsupported_response_type", "only response_type=code is supported", true)
	}
	if q.Get("code_challenge_method") != "S256" || !pkcePattern.MatchString(q.Get("code_challenge")) {
		return req, oauthErr("invalid_request", "PKCE with code_challenge_method=S256 is required", true)
	}
	req.CodeChallenge = q.Get("code_challenge")
	raw := q.Get("authorization_details")
	var probe []struct {
		Type string `json:"type"`
	}
	if json.Unmarshal([]byte(raw), &probe) == nil && len(probe) > 0 && probe[0].Type == DepositDetailsType {
		req.Deposit = true
		req.Kinds, req.Purpose, err = parseDetails(raw, DepositDetailsType, c.DepositKinds)
	} else {
		req.Kinds, req.Purpose, err = ParseAuthorizationDetails(raw, c.AllowedKinds)
	}
	if err != nil {
		return req, err
	}
	return req, nil
}

// ParseAuthorizationDetails reads RFC 9396 authorization_details of type
// coffre_documents: the kinds asked for, each among allowed, and an optional purpose.
func ParseAuthorizationDetails(raw string, allowed []vault.Kind) ([]vault.Kind, string, error) {
	return parseDetails(raw, AuthorizationDetailsType, allowed)
}

// parseDetails reads authorization_details whose objects are all of type typ.
func parseDetails(raw, typ string, allowed []vault.Kind) ([]vault.Kind, string, error) {
	if raw == "" || len(raw) > maxDetailsBytes {
		return nil, "", oauthErr("invalid_authorization_details", "authorization_details is required and at most 4096 bytes", true)
	}
	var details []authorizationDetail
	if err := json.Unmarshal([]byte(raw), &details); err != nil || len(details) == 0 || len(details) > 10 {
		return nil, "", oauthErr("invalid_authorization_details", "authorization_details must be a JSON array of 1 to 10 objects", true)
	}
	var kinds []vault.Kind
	purpose := ""
	for _, d := range details {
		if d.Type != typ || len(d.Kinds) == 0 || len(d.Kinds) > len(vault.Kinds) {
			return nil, "", oauthErr("invalid_authorization_details", "each detail must be of type "+typ+" with kinds", true)
		}
		for _, k := range d.Kinds {
			kind, err := vault.ParseKind(k)
			if err != nil || !slices.Contains(allowed, kind) {
				return nil, "", oauthErr("invalid_authorization_details", fmt.Sprintf("kind %q is not allowed for this client", k), true)
			}
			if !slices.Contains(kinds, kind) {
				kinds = append(kinds, kind)
			}
		}
		if len(d.Purpose) > 200 {
			return nil, "", oauthErr("invalid_authorization_details", "purpose is at most 200 bytes", true)
		}
		if d.Purpose != "" {
			purpose = d.Purpose
		}
	}
	return kinds, purpose, nil
}

// ErrorRedirect is the URL that sends an error back to the client.
func (r *AuthorizationRequest) ErrorRedirect(e *OAuthError) string {
	return r.redirect(url.Values{"error": {e.Code}, "error_description": {e.Description}})
}

func (r *AuthorizationRequest) redirect(v url.Values) string {
	if r.State != "" {
		v.Set("state", r.State)
	}
	sep := "?"
	if strings.Contains(r.RedirectURI, "?") {
		sep = "&"
	}
	return r.RedirectURI + sep + v.Encode()
}

// Approve records the owner's consent to give the chosen documents to the client, and
// returns the URL that sends the single-use code back to it. Every document must be the
// owner's and of a kind the client asked for.
func (s *Service) Approve(ctx context.Context, r *AuthorizationRequest, owner uuid.UUID, by vault.Actor, documents []uuid.UUID) (string, error) {
	return s.ApproveMarked(ctx, r, owner, by, documents, "")
}

// ApproveMarked is Approve with a watermark written across every page of what the
// client receives (watermark.go); "" gives the papers as they are.
func (s *Service) ApproveMarked(ctx context.Context, r *AuthorizationRequest, owner uuid.UUID, by vault.Actor, documents []uuid.UUID, watermark string) (string, error) {
	watermark, err := cleanWatermark(watermark)
	if err != nil {
		return "", fmt.Errorf("sharing: approve: %w", err)
	}
	if len(documents) == 0 || len(documents) > maxLinkDocs {
		return "", fmt.Errorf("sharing: approve: choose 1 to %d documents: %w", maxLinkDocs, ErrInvalid)
	}
	docs, err := s.vault.DocumentsIn(ctx, owner, documents)
	if err != nil {
		return "", fmt.Errorf("sharing: approve: %w", err)
	}
	if len(docs) != len(documents) {
		s.denyOthers(ctx, owner, by, documents, docs)
		return "", fmt.Errorf("sharing: approve: a document is not the owner's: %w", vault.ErrNotFound)
	}
	for _, d := range docs {
		if !slices.Contains(r.Kinds, d.Kind) {
			return "", fmt.Errorf("sharing: approve: %s was not asked for: %w", d.Kind, ErrInvalid)
		}
	}
	code, err := randomString(32)
	if err != nil {
		return "", fmt.Errorf("sharing: approve: %w", err)
	}
	id := uuid.New()
	var sealed []byte
	if watermark != "" {
		if sealed, err = s.vault.Seal(ctx, owner, []byte(watermark), watermarkPlace("grant", id)); err != nil {
			return "", fmt.Errorf("sharing: approve: %w", err)
		}
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := insertGrant(ctx, tx, r, owner, code, s.now(), grantOf{id: id, documents: documents, watermark: sealed}); err != nil {
			return err
		}
		return s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionGrantCreated, Detail: r.Client.Name, Private: WatermarkNote(watermark)})
	})
	if err != nil {
		return "", fmt.Errorf("sharing: approve: %w", err)
	}
	return r.redirect(url.Values{"code": {code}}), nil
}

// Refuse journals the owner's refusal and returns the URL that tells the client.
func (s *Service) Refuse(ctx context.Context, r *AuthorizationRequest, owner uuid.UUID, by vault.Actor) (string, error) {
	if err := s.vault.Record(ctx, owner, vault.Event{Actor: by, Action: ActionGrantRefused, Detail: r.Client.Name}); err != nil {
		return "", fmt.Errorf("sharing: refuse: %w", err)
	}
	return r.ErrorRedirect(&OAuthError{Code: "access_denied", Description: "the person refused"}), nil
}

// Grant is what a client may fetch with its access token.
type Grant struct {
	ID        uuid.UUID
	ClientID  string
	OwnerID   uuid.UUID
	Documents []uuid.UUID
	ExpiresAt time.Time
	// Subscription is what the code of a deposit consent (Subscribe) names: it gives
	// no access token to papers, only the subscription's ID to deposit through.
	Subscription uuid.NullUUID
	// Watermark is written across every page of what the client receives; "" for none.
	Watermark string
}

// Exchange trades a code for an access token (RFC 6749 §4.1.3 with PKCE, RFC 7636). The
// code works once: a second use revokes the grant, as RFC 6749 §10.5 advises. The token is
// valid 10 minutes, for the chosen documents only; there is no refresh token. The code
// of a deposit consent gives no token: g.Subscription names the subscription, through
// which the client then deposits with its own credentials (DepositToken).
func (s *Service) Exchange(ctx context.Context, c *Client, code, verifier, redirectURI string) (token string, g *Grant, err error) {
	g = &Grant{}
	// Only the client the code was issued to can use it up: another client holding an
	// intercepted code cannot burn it.
	now := s.now()
	challenge, redirect, expires, err := s.useCode(ctx, g, c, code, now)
	if errors.Is(err, pgx.ErrNoRows) {
		// Replayed by its client: whatever the first use obtained stops working.
		s.revokeReplayed(ctx, c, code, now)
		return "", nil, oauthErr("invalid_grant", "the code is unknown, expired, already used or issued to another client", false)
	}
	if err != nil {
		return "", nil, fmt.Errorf("sharing: exchange: %w", err)
	}
	sum := sha256.Sum256([]byte(verifier))
	switch {
	case g.ClientID != c.ID:
		return "", nil, oauthErr("invalid_grant", "the code was issued to another client", false)
	case now.After(expires):
		return "", nil, oauthErr("invalid_grant", "the code has expired", false)
	case redirect != redirectURI:
		return "", nil, oauthErr("invalid_grant", "redirect_uri does not match", false)
	case !pkcePattern.MatchString(verifier) || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge:
		return "", nil, oauthErr("invalid_grant", "the PKCE code_verifier does not match", false)
	}
	if g.Subscription.Valid {
		return "", g, nil
	}
	if token, err = randomString(32); err != nil {
		return "", nil, fmt.Errorf("sharing: exchange: %w", err)
	}
	g.ExpiresAt = now.Add(tokenLifetime).Truncate(time.Second)
	if err := s.setGrantToken(ctx, g, token); err != nil {
		return "", nil, fmt.Errorf("sharing: exchange: %w", err)
	}
	return token, g, nil
}

// GrantByToken finds the grant of a valid access token.
func (s *Service) GrantByToken(ctx context.Context, token string) (*Grant, error) {
	g, watermark, err := s.grantByToken(ctx, token)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrUnavailable
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: token: %w", err)
	}
	// A removed client's tokens stop working at once.
	if _, err := s.Client(ctx, g.ClientID); errors.Is(err, vault.ErrNotFound) {
		return nil, ErrUnavailable
	} else if err != nil {
		return nil, fmt.Errorf("sharing: token: %w", err)
	}
	if watermark != nil {
		w, err := s.vault.Unseal(ctx, g.OwnerID, watermark, watermarkPlace("grant", g.ID))
		if err != nil {
			return nil, fmt.Errorf("sharing: token: %w", err)
		}
		g.Watermark = string(w)
	}
	return g, nil
}

// GrantDocuments returns the granted documents that still exist.
func (s *Service) GrantDocuments(ctx context.Context, g *Grant) ([]vault.Document, error) {
	return s.vault.DocumentsIn(ctx, g.OwnerID, g.Documents)
}

// OpenGranted reads one blob of a granted document, journaled under the client's name
// with note (the number of the receipt given, say).
func (s *Service) OpenGranted(ctx context.Context, g *Grant, doc, blob uuid.UUID, ip netip.Addr, note string) (*vault.BlobReader, error) {
	actor := vault.Actor{Kind: vault.ActorClient, ID: g.ClientID, IP: ip}
	if !slices.Contains(g.Documents, doc) {
		s.vault.DenyDocument(ctx, g.OwnerID, doc, actor)
		return nil, fmt.Errorf("sharing: open: %w", vault.ErrNotFound)
	}
	return s.vault.OpenAccess(ctx, g.OwnerID, doc, blob, vault.Access{Actor: actor, Action: vault.ActionDownload, Detail: note, Private: WatermarkNote(g.Watermark)})
}

// AuthenticateAssertion checks a private_key_jwt client assertion (RFC 7523): signed by
// one of the client's registered keys, issued by and about the client, for audience,
// short-lived, and never seen before.
func (s *Service) AuthenticateAssertion(ctx context.Context, assertion, audience string) (*Client, error) {
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.ES384, jose.RS256, jose.PS256})
	if err != nil {
		return nil, ErrClientAuth
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, ErrClientAuth
	}
	c, err := s.Client(ctx, unverified.Subject)
	if err != nil || c.AuthMethod != AuthPrivateKeyJWT || c.JWKS == nil {
		return nil, ErrClientAuth
	}
	var claims jwt.Claims
	verified := false
	for _, k := range c.JWKS.Keys {
		if tok.Claims(k.Key, &claims) == nil {
			verified = true
			break
		}
	}
	if !verified || claims.Issuer != c.ID || claims.Subject != c.ID || claims.ID == "" || claims.Expiry == nil {
		return nil, ErrClientAuth
	}
	now := s.now()
	if err := claims.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{audience}, Time: now}, 30*time.Second); err != nil {
		return nil, ErrClientAuth
	}
	if claims.Expiry.Time().After(now.Add(5 * time.Minute)) {
		return nil, ErrClientAuth
	}
	// Remembered past the expiry by the leeway it is accepted with.
	fresh, err := s.rememberAssertion(ctx, c, claims.ID, claims.Expiry.Time().Add(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("sharing: client assertion: %w", err)
	}
	if !fresh {
		return nil, ErrClientAuth // replayed
	}
	return c, nil
}
