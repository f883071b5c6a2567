package sharing

import (
	"context"
	"fmt"
	"time"

	"coffre/vault"
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
	// One pass per figure over index-backed ranges (the structure's agents, then the
	// partial indexes on documents, links and journal), bucketed by month; each table's
	// count where its SQL lives.
	agents, err := s.agentIDsOf(ctx, referent.StructureID)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	opened, err := s.openedBy(ctx, referent.StructureID)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	months := monthsFrom(from, to)
	out := make([]MonthStats, len(months))
	for i, m := range months {
		out[i].Month = m
	}
	counts := []struct {
		into  func(*MonthStats) *int
		count func() ([]int, error)
	}{
		{func(m *MonthStats) *int { return &m.SafesOpened }, func() ([]int, error) { return s.openingsByMonth(ctx, referent.StructureID, from, to) }},
		{func(m *MonthStats) *int { return &m.SafesActivated }, func() ([]int, error) { return s.vault.ActivationsByMonth(ctx, opened, from, to) }},
		{func(m *MonthStats) *int { return &m.Deposits }, func() ([]int, error) { return s.vault.AidantDepositsByMonth(ctx, agents, from, to) }},
		{func(m *MonthStats) *int { return &m.LinksCreated }, func() ([]int, error) { return s.aidantLinksByMonth(ctx, agents, false, from, to) }},
		{func(m *MonthStats) *int { return &m.LinksUsed }, func() ([]int, error) { return s.aidantLinksByMonth(ctx, agents, true, from, to) }},
		{func(m *MonthStats) *int { return &m.Prints }, func() ([]int, error) {
			return s.vault.AidantActionsByMonth(ctx, agents, vault.ActionPrint, from, to)
		}},
		{func(m *MonthStats) *int { return &m.MandatesActive }, func() ([]int, error) { return s.mandatesByMonth(ctx, mandatesActive, referent.StructureID, from, to) }},
		{func(m *MonthStats) *int { return &m.MandatesGranted }, func() ([]int, error) { return s.mandatesByMonth(ctx, mandatesGranted, referent.StructureID, from, to) }},
		{func(m *MonthStats) *int { return &m.MandatesExpiring }, func() ([]int, error) { return s.mandatesByMonth(ctx, mandatesExpiring, referent.StructureID, from, to) }},
	}
	for _, c := range counts {
		n, err := c.count()
		if err != nil {
			return nil, fmt.Errorf("sharing: structure stats: %w", err)
		}
		if len(n) != len(out) {
			return nil, fmt.Errorf("sharing: structure stats: %d months counted, want %d", len(n), len(out))
		}
		for i := range out {
			*c.into(&out[i]) = n[i]
		}
	}
	return out, nil
}

// monthsFrom lists the first days of the months from the month of from to the month of
// to, in UTC.
func monthsFrom(from, to time.Time) []time.Time {
	var out []time.Time
	for m := from; !m.After(to); m = m.AddDate(0, 1, 0) {
		out = append(out, m)
	}
	return out
}
