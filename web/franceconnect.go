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
}

// openIDBegin sends the person to the provider.
func (h *handler) openIDBegin(w http.ResponseWriter, r *http.Request) {
	if h.oidc == nil {
		h.notFound(w, r)
		return
	}
	p, err := h.oidc.discover(r.Context())
	if err != nil {
		h.log.Error("openid provider unreachable", "err", err)
		h.fail(w, r, http.StatusBadGateway, "fc.down")
		return
	}
	c := openIDCeremony{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier()}
	b, _ := json.Marshal(c)
	if err := h.vault.SaveCeremony(r.Context(), stateOf(r).token, "openid", b); err != nil {
		h.serverError(w, r, err)
		return
	}
	u := h.oidc.oauth(p).AuthCodeURL(c.State, oidc.Nonce(c.Nonce), oauth2.S256ChallengeOption(c.Verifier),
		oauth2.SetAuthURLParam("acr_values", h.oidc.cfg.ACR), oauth2.SetAuthURLParam("prompt", "login"))
	http.Redirect(w, r, u, http.StatusSeeOther)
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
	q := r.URL.Query()
	refused := func(why string, err error) {
		h.log.Info("openid sign-in refused", "why", why, "err", err)
		h.fail(w, r, http.StatusUnauthorized, "fc.refused")
	}
	b, err := h.vault.TakeCeremony(ctx, stateOf(r).token, "openid")
	if err != nil {
		refused("no ceremony", err)
		return
	}
	var c openIDCeremony
	if err := json.Unmarshal(b, &c); err != nil {
		refused("ceremony", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(c.State)) != 1 {
		refused("state", nil)
		return
	}
	if e := q.Get("error"); e != "" {
		refused("provider error "+e, nil)
		return
	}
	p, err := h.oidc.discover(ctx)
	if err != nil {
		h.fail(w, r, http.StatusBadGateway, "fc.down")
		return
	}
	conf := h.oidc.oauth(p)
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(c.Verifier))
	if err != nil {
		refused("exchange", err)
		return
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		refused("no id_token", nil)
		return
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: h.oidc.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		refused("id_token", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(c.Nonce)) != 1 {
		refused("nonce", nil)
		return
	}
	var acr struct {
		ACR string `json:"acr"`
	}
	if err := idt.Claims(&acr); err != nil || (acr.ACR != "" && acr.ACR != h.oidc.cfg.ACR) {
		refused("acr "+acr.ACR, err)
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
	var all map[string]any
	if err := info.Claims(&all); err != nil {
		refused("claims", err)
		return
	}
	kept := map[string]any{}
	for _, k := range pivotClaims {
		if v, ok := all[k]; ok {
			kept[k] = v
		}
	}
	claims, _ := json.Marshal(kept)

	owner, err := h.vault.OwnerByOpenID(ctx, h.oidc.cfg.Issuer, idt.Subject)
	if errors.Is(err, vault.ErrNotFound) {
		o, cerr := h.vault.CreateOpenIDOwner(ctx, h.oidc.cfg.Issuer, idt.Subject, claims, vault.Actor{Kind: vault.ActorVisitor, ID: "-", IP: h.clientIP(r)})
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
	if err := h.vault.RecordOpenIDLogin(ctx, owner, claims, "franceconnect", h.clientIP(r)); err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.openSession(w, r, owner, "franceconnect"); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, h.afterSignIn(w, r), http.StatusSeeOther)
}
