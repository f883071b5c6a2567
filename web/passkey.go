package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
)

// Passkeys (WebAuthn): the easy way in on a phone, the screen lock instead of a
// password. Registration happens in Mon compte, sign-in on the sign-in page; both need
// JavaScript (static/passkey.js), the password stays the way in without it. The
// challenge between the two steps of a ceremony is kept in PostgreSQL, bound to the
// browser's cookie, so any process can finish what another began.

// newWebAuthn configures the relying party from the public address of the service; nil
// (passkeys off) when none is configured.
func newWebAuthn(baseURL string) (*webauthn.WebAuthn, error) {
	if baseURL == "" {
		return nil, nil
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("web: base URL %q is not an absolute URL", baseURL)
	}
	return webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: "Coffre",
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
	})
}

// waUser is an owner as WebAuthn sees them: the user handle is the owner's UUID, never a
// name.
type waUser struct {
	id    uuid.UUID
	login string
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id[:] }
func (u *waUser) WebAuthnName() string                       { return u.login }
func (u *waUser) WebAuthnDisplayName() string                { return u.login }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func (h *handler) loadWAUser(ctx context.Context, owner uuid.UUID) (*waUser, []account.Passkey, error) {
	a, err := h.accounts.Account(ctx, owner)
	if err != nil {
		return nil, nil, err
	}
	keys, err := h.accounts.Passkeys(ctx, owner)
	if err != nil {
		return nil, nil, err
	}
	u := &waUser{id: owner, login: a.Owner.Login}
	if u.login == "" {
		u.login = "coffre"
	}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal(k.Credential, &c); err != nil {
			return nil, nil, fmt.Errorf("passkey %s: %w", k.ID, err)
		}
		u.creds = append(u.creds, c)
	}
	return u, keys, nil
}

func (h *handler) saveCeremony(r *http.Request, purpose string, s *webauthn.SessionData) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return h.accounts.SaveCeremony(r.Context(), stateOf(r).token, purpose, b, account.PasskeyCeremonyTTL)
}

func (h *handler) takeCeremony(r *http.Request, purpose string) (webauthn.SessionData, error) {
	var s webauthn.SessionData
	b, err := h.accounts.TakeCeremony(r.Context(), stateOf(r).token, purpose)
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func (h *handler) passkeysOff(w http.ResponseWriter, r *http.Request) bool {
	if h.wa == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": h.t(r, "passkey.off")})
		return true
	}
	return false
}

// passkeyAtDesk refuses to register a passkey on an agent's browser: it would stay in the
// agent's computer, or their browser's account, and open the safe from anywhere.
func (h *handler) passkeyAtDesk(w http.ResponseWriter, r *http.Request) bool {
	if h.atDesk(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": h.t(r, "passkey.desk")})
		return true
	}
	return false
}

func (h *handler) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	if h.passkeysOff(w, r) || h.passkeyAtDesk(w, r) {
		return
	}
	u, _, err := h.loadWAUser(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	exclude := make([]protocol.CredentialDescriptor, len(u.creds))
	for i := range u.creds {
		exclude[i] = u.creds[i].Descriptor()
	}
	creation, sess, err := h.wa.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(exclude))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.saveCeremony(r, "register", sess); err != nil {
		h.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, creation)
}

func (h *handler) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	if h.passkeysOff(w, r) || h.passkeyAtDesk(w, r) {
		return
	}
	sess, err := h.takeCeremony(r, "register")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": h.t(r, "passkey.expired")})
		return
	}
	u, _, err := h.loadWAUser(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	cred, err := h.wa.FinishRegistration(u, sess, r)
	if err != nil {
		h.log.InfoContext(r.Context(), "passkey registration refused", "err", err)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": h.t(r, "passkey.refused")})
		return
	}
	b, err := json.Marshal(cred)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if _, err := h.accounts.AddPasskey(r.Context(), u.id, cred.ID, b, h.actor(r)); err != nil {
		if errors.Is(err, account.ErrPasskeyTaken) {
			writeJSON(w, http.StatusConflict, map[string]string{"error": h.t(r, "passkey.taken")})
			return
		}
		h.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/compte?cle=1"})
}

func (h *handler) passkeyDelete(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(chi.URLParam(r, "pid"))
	if err != nil {
		h.notFound(w, r)
		return
	}
	token, err := h.accounts.DeletePasskey(r.Context(), h.ownerID(r), id, h.actor(r), stateOf(r).session.ID)
	if err != nil {
		if errors.Is(err, vault.ErrNotFound) {
			h.notFound(w, r)
			return
		}
		h.serverError(w, r, err)
		return
	}
	h.renewCookie(w, r, token)
	http.Redirect(w, r, "/compte", http.StatusSeeOther)
}

func (h *handler) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	if h.passkeysOff(w, r) {
		return
	}
	assertion, sess, err := h.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.saveCeremony(r, "login", sess); err != nil {
		h.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, assertion)
}

func (h *handler) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	if h.passkeysOff(w, r) {
		return
	}
	refused := func(msg string) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": h.t(r, msg)})
	}
	sess, err := h.takeCeremony(r, "login")
	if err != nil {
		refused("passkey.expired")
		return
	}
	var owner *waUser
	find := func(rawID, userHandle []byte) (webauthn.User, error) {
		id, err := uuid.FromBytes(userHandle)
		if err != nil {
			return nil, err
		}
		holder, err := h.accounts.PasskeyOwner(r.Context(), rawID)
		if err != nil {
			return nil, err
		}
		if holder != id {
			return nil, errors.New("user handle does not match the credential's owner")
		}
		owner, _, err = h.loadWAUser(r.Context(), id)
		return owner, err
	}
	_, cred, err := h.wa.FinishPasskeyLogin(find, sess, r)
	if err != nil || owner == nil {
		h.log.InfoContext(r.Context(), "passkey sign-in refused", "err", err)
		refused("passkey.refused")
		return
	}
	b, err := json.Marshal(cred)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.accounts.UsePasskey(r.Context(), owner.id, cred.ID, b, h.clientIP(r)); err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.openSession(w, r, owner.id, "passkey"); err != nil {
		h.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": h.afterSignIn(w, r)})
}
