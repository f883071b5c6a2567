package sharing

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// PurgeDeskUnlocks deletes desk unlocks past their end, for the purge job.
func (s *Service) PurgeDeskUnlocks(ctx context.Context) (int, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM desk_unlocks WHERE expires_at < $1`, s.now())
	if err != nil {
		return 0, fmt.Errorf("sharing: purge desk unlocks: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func forgetDeskUnlocks(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM desk_unlocks WHERE owner_id = $1`, owner)
	return err
}

// unlockAtDesk records, inside tx, that owner unlocked their safe at agent's desk until
// until.
func unlockAtDesk(ctx context.Context, tx pgx.Tx, agent, owner uuid.UUID, until time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO desk_unlocks (agent_id, owner_id, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (agent_id, owner_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`, agent, owner, until)
	return err
}

// unlockedSQL is whether owner unlocked their safe at the desk of agent, still at the
// time now: SQL expressions of the caller's statement (agentReach).
func unlockedSQL(agent, owner, now string) string {
	return `EXISTS (SELECT 1 FROM desk_unlocks u WHERE u.agent_id = ` + agent + ` AND u.owner_id = ` + owner + ` AND u.expires_at > ` + now + `)`
}
