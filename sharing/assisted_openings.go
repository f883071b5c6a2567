package sharing

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// endOpenerReach ends, inside tx, the reach structure had from opening owner's safe at
// its desk (reach.opened); nothing when it did not open it.
func endOpenerReach(ctx context.Context, tx pgx.Tx, owner, structure uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE assisted_openings SET reach_ended_at = now()
		WHERE owner_id = $1 AND structure_id = $2 AND reach_ended_at IS NULL`, owner, structure)
	return err
}
