package sharing

import (
	"context"
	"fmt"
	"time"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

const mandateColumns = `m.id, m.owner_id, m.structure_id, s.name, s.siret, m.scopes, m.duration, m.created_at,
	m.starts_at, m.expires_at, m.consent_method, m.consent_text_version, coalesce(m.granted_by_agent, '00000000-0000-0000-0000-000000000000'),
	m.revoked_at, coalesce(m.revoked_by_kind, ''), coalesce(m.revoked_by_id, '')`

const mandateFrom = ` FROM mandates m` + structureOfMandate

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
		WHERE m.structure_id = $1 AND m.revoked_at IS NULL AND m.starts_at <= $2 AND m.expires_at > $2
		ORDER BY m.expires_at`, cur.StructureID, s.now())
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
	now := s.now()
	rows, err := s.db.Query(ctx, `SELECT `+mandateColumns+mandateFrom+`
		WHERE m.revoked_at IS NULL AND m.expires_at > $1 AND m.expires_at <= $2
		ORDER BY m.expires_at`, now, now.Add(d))
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
	rows, err := tx.Query(ctx, `UPDATE mandates m SET revoked_at = $4, revoked_by_kind = $2, revoked_by_id = $3
		WHERE m.owner_id = $1 AND m.revoked_at IS NULL AND (m.expires_at IS NULL OR m.expires_at > $4)
		RETURNING `+structureNameOf("m.structure_id"), owner, by.Kind, by.ID, s.now())
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

// insertMandate records m, pending (no start) or started, inside tx.
func insertMandate(ctx context.Context, tx pgx.Tx, m *Mandate) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO mandates (id, owner_id, structure_id, scopes, duration, created_at, starts_at, expires_at, confirmed_at,
			consent_method, consent_text_version, granted_by_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $9, $10, $11)`,
		m.ID, m.OwnerID, m.StructureID, scopeStrings(m.Scopes), m.Duration, m.CreatedAt, m.StartsAt, m.ExpiresAt, m.ConsentMethod, m.ConsentText, m.GrantedBy)
	return err
}

// revokeLive revokes, at now, structure's live mandates from owner, and says how many.
func revokeLive(ctx context.Context, tx pgx.Tx, owner, structure uuid.UUID, by vault.Actor, now time.Time) (int64, error) {
	tag, err := tx.Exec(ctx, `UPDATE mandates SET revoked_at = $5, revoked_by_kind = $3, revoked_by_id = $4
		WHERE owner_id = $1 AND structure_id = $2 AND revoked_at IS NULL AND confirmed_at IS NOT NULL AND expires_at > $5`,
		owner, structure, by.Kind, by.ID, now)
	return tag.RowsAffected(), err
}

// pendingMandate locks owner's mandate id waiting for the owner's phone, asked for after
// since, and returns its structure, duration and structure's name; vault.ErrNotFound if
// there is none.
func pendingMandate(ctx context.Context, tx pgx.Tx, owner, id uuid.UUID, since time.Time) (uuid.UUID, Duration, string, error) {
	var structure uuid.UUID
	var duration Duration
	var name string
	err := tx.QueryRow(ctx, `SELECT m.structure_id, m.duration, s.name`+mandateFrom+`
		WHERE m.owner_id = $1 AND m.id = $2 AND m.confirmed_at IS NULL AND m.revoked_at IS NULL AND m.created_at > $3
		FOR UPDATE OF m`, owner, id, since).Scan(&structure, &duration, &name)
	return structure, duration, name, notFound(err)
}

// confirmMandate starts owner's pending mandate id at now, until end.
func confirmMandate(ctx context.Context, tx pgx.Tx, owner, id uuid.UUID, now, end time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE mandates SET confirmed_at = $3, starts_at = $3, expires_at = $4 WHERE owner_id = $1 AND id = $2`,
		owner, id, now, end)
	return err
}

// revokeMandate ends owner's mandate id at now, if structure holds it (any structure when
// uuid.Nil), and returns the structure that held it; vault.ErrNotFound if none.
func revokeMandate(ctx context.Context, tx pgx.Tx, owner, id, structure uuid.UUID, by vault.Actor, now time.Time) (uuid.UUID, error) {
	var of uuid.UUID
	err := tx.QueryRow(ctx, `UPDATE mandates SET revoked_at = $6, revoked_by_kind = $3, revoked_by_id = $4
		WHERE owner_id = $1 AND id = $2 AND revoked_at IS NULL AND ($5 = '00000000-0000-0000-0000-000000000000'::uuid OR structure_id = $5)
		RETURNING structure_id`,
		owner, id, by.Kind, by.ID, structure, now).Scan(&of)
	return of, notFound(err)
}

// liveScopesSQL is the scopes of the live mandates (at the time now) that the structure
// whose ID is structure holds from owner, as a text array: SQL expressions of the
// caller's statement (agentReach).
func liveScopesSQL(owner, structure, now string) string {
	return `(SELECT coalesce(array_agg(DISTINCT sc), '{}') FROM mandates m CROSS JOIN LATERAL unnest(m.scopes) sc
		WHERE m.owner_id = ` + owner + ` AND m.structure_id = ` + structure + `
		AND m.revoked_at IS NULL AND m.starts_at <= ` + now + ` AND m.expires_at > ` + now + `)`
}

// Figures of a structure's mandates in a month (StructureStats).
const (
	// mandatesActive: live at some point of the month.
	mandatesActive = `m.starts_at < months.stop AND m.expires_at > months.start AND (m.revoked_at IS NULL OR m.revoked_at > months.start)`
	// mandatesGranted: started that month.
	mandatesGranted = `m.starts_at >= months.start AND m.starts_at < months.stop`
	// mandatesExpiring: live, and ending that month.
	mandatesExpiring = `m.revoked_at IS NULL AND m.expires_at >= months.start AND m.expires_at < months.stop`
)

// mandatesByMonth counts the structure's mandates that meet figure (mandatesActive…), per
// month from from to to.
func (s *Service) mandatesByMonth(ctx context.Context, figure string, structure uuid.UUID, from, to time.Time) ([]int, error) {
	return vault.CountByMonth(ctx, s.db, `SELECT (SELECT count(*) FROM mandates m WHERE m.structure_id = $3 AND `+figure+`)
		FROM months ORDER BY months.start`, from, to, structure)
}
