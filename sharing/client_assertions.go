package sharing

import (
	"context"
	"fmt"
)

// PurgeAssertions forgets the client assertions that have expired: they can no longer be
// replayed anyway.
func (s *Service) PurgeAssertions(ctx context.Context) (int, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM client_assertions WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("sharing: purge assertions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
