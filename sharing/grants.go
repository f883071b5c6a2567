package sharing

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// revokeGrants revokes every live grant of owner inside tx (the safe closes).
func revokeGrants(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE grants SET revoked_at = now() WHERE owner_id = $1 AND revoked_at IS NULL`, owner)
	return err
}

func forgetGrants(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM grants WHERE owner_id = $1`, owner)
	return err
}
