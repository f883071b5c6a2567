package sharing

import (
	"coffre/vault"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// MonthStats are one month's figures of a structure: aggregates only, no names, no
// documents.
type MonthStats struct {
	Month            time.Time // first day of the month, UTC
	SafesOpened      int       // safes its agents opened at the desk
	SafesActivated   int       // of the safes it opened, those whose owner first signed in that month
	Deposits         int       // documents its agents deposited
	LinksCreated     int       // links its agents created
	LinksUsed        int       // of those links, the ones downloaded at least once (by creation month)
	Prints           int       // documents its agents printed
	MandatesActive   int       // mandates live at some point of the month
	MandatesGranted  int       // mandates that started that month
	MandatesExpiring int       // live mandates ending that month
}

// StructureStats returns the référent's structure's figures per month, from the month of
// from to the month of to, oldest first.
func (s *Service) StructureStats(ctx context.Context, referent *Agent, from, to time.Time) ([]MonthStats, error) {
	if err := s.checkReferent(ctx, referent); err != nil {
		return nil, err
	}
	from = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	to = time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC)
	if to.Before(from) || to.Sub(from) > 5*366*24*time.Hour {
		return nil, fmt.Errorf("sharing: structure stats: period: %w", ErrBadRequest)
	}
	// One pass per figure over index-backed ranges (agents of the structure, then their
	// partial indexes on documents, links and journal), bucketed by month: sharing's own
	// tables here, vault's through its methods.
	rows, err := s.db.Query(ctx, `
		WITH months AS (
			-- Months in UTC whatever the session's time zone (no DST shift at month ends).
			SELECT m AT TIME ZONE 'UTC' AS start, (m + interval '1 month') AT TIME ZONE 'UTC' AS stop
			FROM generate_series($2::timestamp, $3::timestamp, interval '1 month') m
		), ag AS (
			SELECT id::text AS id FROM agents WHERE structure_id = $1
		)
		SELECT months.start,
			(SELECT count(*) FROM assisted_openings a WHERE a.structure_id = $1 AND a.opened_at >= months.start AND a.opened_at < months.stop),
			(SELECT count(*) FROM links l WHERE l.created_by_kind = 'aidant' AND l.created_by_id IN (SELECT id FROM ag)
				AND l.created_at >= months.start AND l.created_at < months.stop),
			(SELECT count(*) FROM links l WHERE l.created_by_kind = 'aidant' AND l.created_by_id IN (SELECT id FROM ag)
				AND l.created_at >= months.start AND l.created_at < months.stop AND l.downloads > 0),
			(SELECT count(*) FROM mandates m WHERE m.structure_id = $1 AND m.starts_at < months.stop AND m.expires_at > months.start
				AND (m.revoked_at IS NULL OR m.revoked_at > months.start)),
			(SELECT count(*) FROM mandates m WHERE m.structure_id = $1 AND m.starts_at >= months.start AND m.starts_at < months.stop),
			(SELECT count(*) FROM mandates m WHERE m.structure_id = $1 AND m.revoked_at IS NULL
				AND m.expires_at >= months.start AND m.expires_at < months.stop)
		FROM months ORDER BY months.start`, referent.StructureID, from, to)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (MonthStats, error) {
		var m MonthStats
		err := row.Scan(&m.Month, &m.SafesOpened, &m.LinksCreated, &m.LinksUsed, &m.MandatesActive, &m.MandatesGranted, &m.MandatesExpiring)
		m.Month = m.Month.UTC()
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	agents, opened, err := s.structureAgentsAndOpenings(ctx, referent.StructureID)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	activated, err := s.vault.ActivationsByMonth(ctx, opened, from, to)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	deposits, err := s.vault.AidantDepositsByMonth(ctx, agents, from, to)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	prints, err := s.vault.AidantActionsByMonth(ctx, agents, vault.ActionPrint, from, to)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	if len(activated) != len(out) || len(deposits) != len(out) || len(prints) != len(out) {
		return nil, fmt.Errorf("sharing: structure stats: %d months, vault counted %d, %d and %d", len(out), len(activated), len(deposits), len(prints))
	}
	for i := range out {
		out[i].SafesActivated, out[i].Deposits, out[i].Prints = activated[i], deposits[i], prints[i]
	}
	return out, nil
}

// structureAgentsAndOpenings returns the actor IDs of the structure's agents and the
// owners whose safes it opened at its desk.
func (s *Service) structureAgentsAndOpenings(ctx context.Context, structure uuid.UUID) ([]string, []uuid.UUID, error) {
	rows, err := s.db.Query(ctx, `SELECT id::text FROM agents WHERE structure_id = $1`, structure)
	if err != nil {
		return nil, nil, err
	}
	agents, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, err
	}
	if rows, err = s.db.Query(ctx, `SELECT owner_id FROM assisted_openings WHERE structure_id = $1`, structure); err != nil {
		return nil, nil, err
	}
	opened, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	return agents, opened, err
}
