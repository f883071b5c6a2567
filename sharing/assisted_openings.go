package sharing

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// endOpenerReach ends, inside tx, the reach structure had from opening owner's safe at
// its desk (reach.opened); nothing when it did not open it.
func endOpenerReach(ctx context.Context, tx pgx.Tx, owner, structure uuid.UUID, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE assisted_openings SET reach_ended_at = $3
		WHERE owner_id = $1 AND structure_id = $2 AND reach_ended_at IS NULL`, owner, structure, now)
	return err
}

// endOpenersReach ends, inside the closing transaction, the reach of every structure that
// opened owner's safe: a reopened safe gives none of it back.
func endOpenersReach(ctx context.Context, tx pgx.Tx, owner uuid.UUID, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE assisted_openings SET reach_ended_at = $2 WHERE owner_id = $1 AND reach_ended_at IS NULL`, owner, now)
	return err
}

// recordOpening records that agent opened owner's safe at their structure's desk: the
// structure reaches the safe from then on (until the owner ends a mandate of it, or
// closes the safe).
func (s *Service) recordOpening(ctx context.Context, owner uuid.UUID, agent *Agent) error {
	_, err := s.db.Exec(ctx, `INSERT INTO assisted_openings (owner_id, structure_id, agent_id) VALUES ($1, $2, $3)`,
		owner, agent.StructureID, agent.ID)
	return err
}

// openedSQL is whether the structure whose ID is structure opened owner's safe at its
// desk and still reaches it from that: SQL expressions of the caller's statement
// (agentReach).
func openedSQL(owner, structure string) string {
	return `EXISTS (SELECT 1 FROM assisted_openings x WHERE x.owner_id = ` + owner + ` AND x.structure_id = ` + structure + ` AND x.reach_ended_at IS NULL)`
}

// openedBy returns the owners whose safes the structure opened at its desk.
func (s *Service) openedBy(ctx context.Context, structure uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.db.Query(ctx, `SELECT owner_id FROM assisted_openings WHERE structure_id = $1`, structure)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// openingsByMonth counts the safes the structure opened at its desk, per month from from
// to to (StructureStats).
func (s *Service) openingsByMonth(ctx context.Context, structure uuid.UUID, from, to time.Time) ([]int, error) {
	return vault.CountByMonth(ctx, s.db, `SELECT (SELECT count(*) FROM assisted_openings a WHERE a.structure_id = $3
		AND a.opened_at >= months.start AND a.opened_at < months.stop) FROM months ORDER BY months.start`, from, to, structure)
}
