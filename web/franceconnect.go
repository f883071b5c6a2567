package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"coffre/vault"
	"coffre/vault/account"
)

// OpenIDConfig configures sign-in with FranceConnect, or any OpenID Connect provider:
// authorization code flow with state, nonce and PKCE, the eIDAS level asked for in
// acr_values, and the identity pivot claims read from the userinfo endpoint.
type OpenIDConfig struct {
	Issuer       string // e.g. https://fcp-low.sbx.dev-franceconnect.fr/api/v2
	ClientID     string
	ClientSecret string
	// ACR is the eIDAS level asked for and required when the provider states one
	// (default eidas1).
	ACR string
	// Scopes beyond "openid"; default: FranceConnect's identity pivot.
	Scopes []string
}

// pivotClaims are the claims of the FranceConnect identity pivot, the only ones kept.
var pivotClaims = []string{"given_name", "family_name", "preferred_username", "birthdate", "gender", "birthplace", "birthcountry"} //nolint:gochecknoglobals // a constant list

// openID is the provider, discovered at first use so that a provider that is down does
// not stop the service from starting.
type openID struct {
	cfg      OpenIDConfig
	redirect string
	mu       sync.Mutex
	provider *oidc.Provider
}

func (o *openID) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("openid discovery: %w", err)
	}
	o.provider = p
	return p, nil
}

func (o *openID) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: o.redirect, Scopes: append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...),
	}
}

type openIDCeremony struct {
	State, Nonce, Verifier string
	Link                   bool `json:",omitempty"` // ProConnect: link to the signed-in agent
}

// openIDBegin sends the person to the provider.
func (h *handler) openIDBegin(w http.ResponseWriter, r *http.Request) {
	if h.oidc == nil {
		h.notFound(w, r)
		return
	}
	h.openIDRedirect(w, r, h.oidc, "openid", false)
}

// openIDRedirect saves a new ceremony of kind in the visitor's session and sends them to
// provider o.
func (h *handler) openIDRedirect(w http.ResponseWriter, r *http.Request, o *openID, kind string, link bool) {
	p, err := o.discover(r.Context())
	if err != nil {
		h.log.ErrorContext(r.Context(), "openid provider unreachable", "err", err)
		down := "fc.down"
		if o == h.proc {
			down = "pc.down"
		}
		h.fail(w, r, http.StatusBadGateway, down)
		return
	}
	c := openIDCeremony{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Link: link}
	b, _ := json.Marshal(c)
	if err := h.accounts.SaveCeremony(r.Context(), stateOf(r).token, kind, b, account.OpenIDStateTTL); err != nil {
		h.serverError(w, r, err)
		return
	}
	u := o.oauth(p).AuthCodeURL(c.State, oidc.Nonce(c.Nonce), oauth2.S256ChallengeOption(c.Verifier),
		oauth2.SetAuthURLParam("acr_values", o.cfg.ACR), oauth2.SetAuthURLParam("prompt", "login"))
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// errProviderDown: the OpenID provider could not be reached.
var errProviderDown = errors.New("openid provider unreachable")

// openIDCheck takes the ceremony of kind saved by the begin handler, then checks what
// the provider o sent back: the state, the code exchanged with the PKCE verifier, the ID
// token (signature, audience, expiry, nonce, level asked for). A refusal says why, for
// the log; errProviderDown is not a refusal.
func (h *handler) openIDCheck(r *http.Request, o *openID, kind string) (c openIDCeremony, p *oidc.Provider, idt *oidc.IDToken, tok *oauth2.Token, why string, err error) {
	ctx := r.Context()
	q := r.URL.Query()
	b, err := h.accounts.TakeCeremony(ctx, stateOf(r).token, kind)
	if err != nil {
		return c, nil, nil, nil, "no ceremony", err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, nil, nil, nil, "ceremony", err
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(c.State)) != 1 {
		return c, nil, nil, nil, "state", nil
	}
	if e := q.Get("error"); e != "" {
		return c, nil, nil, nil, "provider error " + e, nil
	}
	if p, err = o.discover(ctx); err != nil {
		return c, nil, nil, nil, "", fmt.Errorf("%w: %w", errProviderDown, err)
	}
	tok, err = o.oauth(p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(c.Verifier))
	if err != nil {
		return c, p, nil, nil, "exchange", err
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return c, p, nil, tok, "no id_token", nil
	}
	if idt, err = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(ctx, raw); err != nil {
		return c, p, nil, tok, "id_token", err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(c.Nonce)) != 1 {
		return c, p, idt, tok, "nonce", nil
	}
	var acr struct {
		ACR string `json:"acr"`
	}
	if err := idt.Claims(&acr); err != nil || (acr.ACR != "" && acr.ACR != o.cfg.ACR) {
		return c, p, idt, tok, "acr " + acr.ACR, err
	}
	return c, p, idt, tok, "", nil
}

// openIDReturn is where the provider sends the person back: the state is checked, the
// code exchanged with the PKCE verifier, the ID token verified (signature, audience,
// expiry, nonce, eIDAS level), the pivot claims read, and a session opened for the
// owner of that identity, whose safe is opened at the first visit.
func (h *handler) openIDReturn(w http.ResponseWriter, r *http.Request) {
	if h.oidc == nil {
		h.notFound(w, r)
		return
	}
	ctx := r.Context()
	refused := func(why string, err error) {
		h.log.InfoContext(r.Context(), "openid sign-in refused", "why", why, "err", err)
		h.fail(w, r, http.StatusUnauthorized, "fc.refused")
	}
	_, p, idt, tok, why, err := h.openIDCheck(r, h.oidc, "openid")
	if errors.Is(err, errProviderDown) {
		h.fail(w, r, http.StatusBadGateway, "fc.down")
		return
	}
	if why != "" {
		refused(why, err)
		return
	}
	info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		refused("userinfo", err)
		return
	}
	if info.Subject != idt.Subject {
		refused("userinfo subject", nil)
		return
	}
	var all map[string]json.RawMessage // as the provider sent them: only the pivot identity is kept
	if err := info.Claims(&all); err != nil {
		refused("claims", err)
		return
	}
	kept := map[string]json.RawMessage{}
	for _, k := range pivotClaims {
		if v, ok := all[k]; ok {
			kept[k] = v
		}
	}
	claims, _ := json.Marshal(kept)

	owner, err := h.accounts.OwnerByOpenID(ctx, h.oidc.cfg.Issuer, idt.Subject)
	if errors.Is(err, vault.ErrNotFound) {
		o, cerr := h.accounts.CreateOpenIDOwner(ctx, h.oidc.cfg.Issuer, idt.Subject, claims, vault.Actor{Kind: vault.ActorVisitor, ID: "-", IP: h.clientIP(r)})
		if cerr != nil {
			h.serverError(w, r, cerr)
			return
		}
		owner, err = o.ID, nil
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.accounts.RecordOpenIDLogin(ctx, owner, claims, "franceconnect", h.clientIP(r)); err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.openSession(w, r, owner, "franceconnect"); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, h.afterSignIn(w, r), http.StatusSeeOther)
}
