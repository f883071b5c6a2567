package sharing

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// PurgeDeskUnlocks deletes desk unlocks past their end, for the purge job.
func (s *Service) PurgeDeskUnlocks(ctx context.Context) (int, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM desk_unlocks WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("sharing: purge desk unlocks: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func forgetDeskUnlocks(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM desk_unlocks WHERE owner_id = $1`, owner)
	return err
}
