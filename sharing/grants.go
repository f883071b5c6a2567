package sharing

import (
	"context"
	"time"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// revokeGrants revokes every live grant of owner inside tx (the safe closes).
func revokeGrants(ctx context.Context, tx pgx.Tx, owner uuid.UUID, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE grants SET revoked_at = $2 WHERE owner_id = $1 AND revoked_at IS NULL`, owner, now)
	return err
}

func forgetGrants(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM grants WHERE owner_id = $1`, owner)
	return err
}

// grantOf is what a grant gives: documents (with a watermark, sealed), or the right to
// deposit through a subscription.
type grantOf struct {
	id           uuid.UUID
	documents    []uuid.UUID
	watermark    []byte
	subscription uuid.NullUUID
}

// insertGrant records, inside tx, the consent the owner just gave to r's client, with
// the hash of its single-use code.
func insertGrant(ctx context.Context, tx pgx.Tx, r *AuthorizationRequest, owner uuid.UUID, code string, now time.Time, g grantOf) error {
	if g.documents == nil {
		g.documents = []uuid.UUID{}
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO grants (id, client_id, owner_id, documents, redirect_uri, code_challenge, code_sha256, code_expires_at, created_at, watermark_sealed, subscription_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		g.id, r.Client.ID, owner, g.documents, r.RedirectURI, r.CodeChallenge, sha(code), now.Add(codeLifetime), now, g.watermark, g.subscription)
	return err
}

// useCode uses up, at now, the code issued to client c if it is still good, and fills g
// from its grant; pgx.ErrNoRows if it is not.
func (s *Service) useCode(ctx context.Context, g *Grant, c *Client, code string, now time.Time) (challenge, redirect string, expires time.Time, err error) {
	err = s.db.QueryRow(ctx, `
		UPDATE grants SET code_used_at = $3
		WHERE code_sha256 = $1 AND client_id = $2 AND code_used_at IS NULL AND revoked_at IS NULL AND code_expires_at > $3
		RETURNING id, client_id, owner_id, documents, code_challenge, redirect_uri, code_expires_at, subscription_id`, sha(code), c.ID, now).
		Scan(&g.ID, &g.ClientID, &g.OwnerID, &g.Documents, &challenge, &redirect, &expires, &g.Subscription)
	return challenge, redirect, expires, err
}

// revokeReplayed revokes the grant of a code its client already used: a replay ends what
// the first use obtained. Best effort: the replay is refused anyway.
func (s *Service) revokeReplayed(ctx context.Context, c *Client, code string, now time.Time) {
	s.db.Exec(ctx, `UPDATE grants SET revoked_at = $3 WHERE code_sha256 = $1 AND client_id = $2 AND code_used_at IS NOT NULL AND revoked_at IS NULL`, //nolint:errcheck // best effort, see above
		sha(code), c.ID, now)
}

// setGrantToken records the hash of g's access token, valid until g.ExpiresAt.
func (s *Service) setGrantToken(ctx context.Context, g *Grant, token string) error {
	_, err := s.db.Exec(ctx, `UPDATE grants SET token_sha256 = $2, token_expires_at = $3 WHERE id = $1`, g.ID, sha(token), g.ExpiresAt)
	return err
}

// grantByToken reads the grant of a live access token whose owner's safe is open, with
// its watermark sealed; pgx.ErrNoRows if there is none.
func (s *Service) grantByToken(ctx context.Context, token string) (*Grant, []byte, error) {
	g := &Grant{}
	var watermark []byte
	err := s.db.QueryRow(ctx, `
		SELECT g.id, g.client_id, g.owner_id, g.documents, g.token_expires_at, g.watermark_sealed FROM grants g
		WHERE g.token_sha256 = $1 AND g.token_expires_at > $2 AND g.revoked_at IS NULL AND `+vault.SafeOpenSQL("g.owner_id"), sha(token), s.now()).
		Scan(&g.ID, &g.ClientID, &g.OwnerID, &g.Documents, &g.ExpiresAt, &watermark)
	return g, watermark, err
}
