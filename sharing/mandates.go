package sharing

import (
	"coffre/vault"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

const mandateColumns = `m.id, m.owner_id, m.structure_id, s.name, s.siret, m.scopes, m.duration, m.created_at,
	m.starts_at, m.expires_at, m.consent_method, m.consent_text_version, coalesce(m.granted_by_agent, '00000000-0000-0000-0000-000000000000'),
	m.revoked_at, coalesce(m.revoked_by_kind, ''), coalesce(m.revoked_by_id, '')`

const mandateFrom = ` FROM mandates m JOIN structures s ON s.id = m.structure_id `

func scanMandate(row pgx.CollectableRow) (Mandate, error) {
	var m Mandate
	var scopes []string
	err := row.Scan(&m.ID, &m.OwnerID, &m.StructureID, &m.StructureName, &m.StructureSIRET, &scopes, &m.Duration,
		&m.CreatedAt, &m.StartsAt, &m.ExpiresAt, &m.ConsentMethod, &m.ConsentText, &m.GrantedBy,
		&m.RevokedAt, &m.RevokedBy.Kind, &m.RevokedBy.ID)
	for _, sc := range scopes {
		m.Scopes = append(m.Scopes, Scope(sc))
	}
	return m, err
}

func (s *Service) mandate(ctx context.Context, owner, id uuid.UUID) (*Mandate, error) {
	rows, err := s.db.Query(ctx, `SELECT `+mandateColumns+mandateFrom+`WHERE m.owner_id = $1 AND m.id = $2`, owner, id)
	if err != nil {
		return nil, fmt.Errorf("sharing: mandate %s: %w", id, err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, scanMandate)
	if err != nil {
		return nil, fmt.Errorf("sharing: mandate %s: %w", id, notFound(err))
	}
	ms, err := s.withLogins(ctx, []Mandate{m}, true)
	if err != nil {
		return nil, fmt.Errorf("sharing: mandate %s: %w", id, err)
	}
	return &ms[0], nil
}

// withLogins fills in the owners' logins (vault's), and leaves out the mandates of
// erased safes unless keepErased.
func (s *Service) withLogins(ctx context.Context, ms []Mandate, keepErased bool) ([]Mandate, error) {
	if len(ms) == 0 {
		return ms, nil
	}
	ids := make([]uuid.UUID, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.OwnerID)
	}
	logins, err := s.vault.OwnerLogins(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		login, ok := logins[m.OwnerID]
		if !ok && !keepErased {
			continue
		}
		m.OwnerLogin = login
		out = append(out, m)
	}
	return out, nil
}

// Mandates lists owner's mandates, newest first, ended ones included (the owner's account
// page shows live ones first with Live and ExpiresSoon).
func (s *Service) Mandates(ctx context.Context, owner uuid.UUID) ([]Mandate, error) {
	rows, err := s.db.Query(ctx, `SELECT `+mandateColumns+mandateFrom+`WHERE m.owner_id = $1 ORDER BY m.created_at DESC`, owner)
	if err != nil {
		return nil, fmt.Errorf("sharing: mandates: %w", err)
	}
	ms, err := pgx.CollectRows(rows, scanMandate)
	if err == nil {
		ms, err = s.withLogins(ctx, ms, true)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: mandates: %w", err)
	}
	return ms, nil
}

// StructureMandates lists the live mandates held by the agent's structure, soonest
// expiry first, for the agents' list of people they help (with the owner's login, which
// the agent types to find someone anyway).
func (s *Service) StructureMandates(ctx context.Context, agent *Agent) ([]Mandate, error) {
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil || cur.DeactivatedAt != nil {
		return nil, fmt.Errorf("sharing: structure mandates: %w", ErrForbidden)
	}
	rows, err := s.db.Query(ctx, `SELECT `+mandateColumns+mandateFrom+`
		WHERE m.structure_id = $1 AND m.revoked_at IS NULL AND m.starts_at <= now() AND m.expires_at > now()
		ORDER BY m.expires_at`, cur.StructureID)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure mandates: %w", err)
	}
	ms, err := pgx.CollectRows(rows, scanMandate)
	if err == nil {
		ms, err = s.withLogins(ctx, ms, false)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: structure mandates: %w", err)
	}
	return ms, nil
}

// MandatesExpiringWithin lists the live mandates of every owner that end within d, for
// the notice job (owner and structure are told ExpiryNotice ahead).
func (s *Service) MandatesExpiringWithin(ctx context.Context, d time.Duration) ([]Mandate, error) {
	rows, err := s.db.Query(ctx, `SELECT `+mandateColumns+mandateFrom+`
		WHERE m.revoked_at IS NULL AND m.expires_at > now() AND m.expires_at <= now() + $1::interval
		ORDER BY m.expires_at`, d)
	if err != nil {
		return nil, fmt.Errorf("sharing: expiring mandates: %w", err)
	}
	ms, err := pgx.CollectRows(rows, scanMandate)
	if err == nil {
		ms, err = s.withLogins(ctx, ms, false)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: expiring mandates: %w", err)
	}
	return ms, nil
}

// endMandates ends, inside the vault's closing transaction, every mandate of owner not
// yet ended, requests waiting for the owner's phone included (one "mandate_ended" entry
// each, naming the structure), and the desk unlocks of the safe.
func (s *Service) endMandates(ctx context.Context, tx pgx.Tx, owner uuid.UUID, by vault.Actor) error {
	rows, err := tx.Query(ctx, `UPDATE mandates m SET revoked_at = now(), revoked_by_kind = $2, revoked_by_id = $3
		FROM structures s WHERE s.id = m.structure_id AND m.owner_id = $1 AND m.revoked_at IS NULL
			AND (m.expires_at IS NULL OR m.expires_at > now())
		RETURNING s.name`, owner, by.Kind, by.ID)
	if err != nil {
		return err
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, structure := range ended {
		if err := s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionMandateEnded, Detail: structure}); err != nil {
			return err
		}
	}
	return forgetDeskUnlocks(ctx, tx, owner)
}

func forgetMandates(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM mandates WHERE owner_id = $1`, owner)
	return err
}
