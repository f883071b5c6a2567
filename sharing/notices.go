package sharing

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault/account"
)

// notifyMandate tells owner, by the channels they chose, what happened to mandate id
// (asked for, given, ended by the structure), inside the transaction that does it: once
// per mandate and event. who names the structure or the agent, as the history does;
// ends is when the mandate ends (nil when it ended already or is not started).
func (s *Service) notifyMandate(ctx context.Context, tx pgx.Tx, owner, id uuid.UUID, what account.OwnerNotice, ends *time.Time, who string) error {
	n := account.Notice{What: what, Key: string(what) + ":" + id.String(), Detail: who}
	if ends != nil {
		n.At = *ends
	}
	return s.accounts.NotifyTx(ctx, tx, owner, n)
}
