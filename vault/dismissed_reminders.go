package vault

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The table dismissed_reminders: which milestone of which expiry of which paper the owner
// dismissed on « Mes papiers ».

// dismissal names one expiry of one paper.
type dismissal struct {
	doc       uuid.UUID
	expiresOn time.Time
}

func (v *Vault) dismissReminder(ctx context.Context, r *Reminder, now time.Time) error {
	_, err := v.db.Exec(ctx, `
		INSERT INTO dismissed_reminders (document_id, owner_id, expires_on, milestone, dismissed_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, r.DocumentID, r.OwnerID, r.ExpiresOn, r.Milestone, now)
	return err
}

// dismissedReminders returns, for each expiry of owner's papers with a reminder dismissed,
// the latest milestone dismissed (the fewest days before the expiry).
func (v *Vault) dismissedReminders(ctx context.Context, owner uuid.UUID) (map[dismissal]int, error) {
	rows, err := v.db.Query(ctx, `SELECT document_id, expires_on, min(milestone) FROM dismissed_reminders
		WHERE owner_id = $1 GROUP BY document_id, expires_on`, owner)
	if err != nil {
		return nil, err
	}
	out := map[dismissal]int{}
	var d dismissal
	var milestone int
	_, err = pgx.ForEachRow(rows, []any{&d.doc, &d.expiresOn, &milestone}, func() error {
		d.expiresOn = d.expiresOn.UTC()
		out[d] = milestone
		return nil
	})
	return out, err
}

// forgetDismissedReminders deletes owner's dismissals, inside the erasure's transaction:
// they name papers and dates of a person who is gone.
func forgetDismissedReminders(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM dismissed_reminders WHERE owner_id = $1`, owner)
	return err
}
