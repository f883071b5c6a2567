package account

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// How long the state between the two steps of a ceremony lives: a person has two
// minutes to touch their passkey, and ten to sign in at their OpenID Connect provider
// (FranceConnect sends them through their own provider's pages, often slow on a phone).
const (
	PasskeyCeremonyTTL = 2 * time.Minute
	OpenIDStateTTL     = 10 * time.Minute
)

func ceremonyKey(cookie, purpose string) []byte {
	h := sha256.Sum256([]byte("webauthn:" + purpose + ":" + cookie))
	return h[:]
}

// SaveCeremony keeps the state of a ceremony (WebAuthn, or OpenID Connect's state, nonce
// and verifier) begun by the browser holding cookie, for ttl.
func (srv *Service) SaveCeremony(ctx context.Context, cookie, purpose string, data []byte, ttl time.Duration) error {
	expires := srv.now().Add(ttl)
	_, err := srv.db.Exec(ctx, `
		INSERT INTO webauthn_ceremonies (key, data, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at`,
		ceremonyKey(cookie, purpose), data, expires)
	if err != nil {
		return fmt.Errorf("account: save ceremony: %w", err)
	}
	return nil
}

// TakeCeremony returns and forgets the state saved by SaveCeremony: each challenge is
// used once. A missing one, or one expired, gives vault.ErrNotFound.
func (srv *Service) TakeCeremony(ctx context.Context, cookie, purpose string) ([]byte, error) {
	now := srv.now()
	var data []byte
	var live bool
	err := srv.db.QueryRow(ctx, `DELETE FROM webauthn_ceremonies WHERE key = $1 RETURNING data, expires_at > $2`,
		ceremonyKey(cookie, purpose), now).Scan(&data, &live)
	if err != nil {
		return nil, fmt.Errorf("account: take ceremony: %w", notFound(err))
	}
	if !live {
		return nil, fmt.Errorf("account: take ceremony: expired: %w", vault.ErrNotFound)
	}
	return data, nil
}

// PurgeCeremonies deletes ceremonies past their end, for the jobs.
func (srv *Service) PurgeCeremonies(ctx context.Context) (int, error) {
	tag, err := srv.db.Exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at < $1`, srv.now())
	if err != nil {
		return 0, fmt.Errorf("account: purge ceremonies: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// forgetCeremonies deletes the ceremonies under way that name owner: a passkey ceremony
// keeps the user handle (the owner's ID, base64 in its JSON) for two minutes, and one
// begun just before the erasure goes with it.
func forgetCeremonies(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	handle := base64.StdEncoding.EncodeToString(owner[:])
	_, err := tx.Exec(ctx, `DELETE FROM webauthn_ceremonies WHERE position($1::bytea IN data) > 0`, []byte(handle))
	return err
}
