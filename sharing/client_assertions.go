package sharing

import (
	"context"
	"fmt"
	"time"
)

// PurgeAssertions forgets the client assertions that have expired: they can no longer be
// replayed anyway.
func (s *Service) PurgeAssertions(ctx context.Context) (int, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM client_assertions WHERE expires_at < $1`, s.now())
	if err != nil {
		return 0, fmt.Errorf("sharing: purge assertions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// rememberAssertion records that c used the assertion jti, until expires; false if it
// was used already (a replay).
func (s *Service) rememberAssertion(ctx context.Context, c *Client, jti string, expires time.Time) (bool, error) {
	tag, err := s.db.Exec(ctx, `INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		c.ID, jti, expires)
	return tag.RowsAffected() == 1, err
}
