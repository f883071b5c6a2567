package vault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Expiry reminders. A paper with an expiry date is recalled at milestones, days before
// that date: from its first milestone until it expires or is replaced, « Mes papiers »
// shows it (Reminders), and at each milestone the owner is told once through the
// channels they chose (DueReminders, for the job that sends the messages).

// ResidencePermitPage is the official page, in plain French, on residence permits and
// their renewal (service-public.fr, the administration's information site; it leads to
// the online application on the ANEF). The one place that names it.
const ResidencePermitPage = "https://www.service-public.fr/particuliers/vosdroits/N110"

// Milestones are the days before its expiry at which a paper of kind k is recalled,
// earliest first. A residence permit (or its récépissé) starts four months ahead: the
// préfecture asks for the renewal two to four months before the end, and appointments
// are scarce.
func (k Kind) Milestones() []int {
	if k == KindTitreSejour {
		return []int{120, 90, 60, 30, 7}
	}
	return []int{90, 30, 7}
}

// RenewalPage is the official page that explains how to renew a paper of kind k, ""
// when the reminder says nothing more than "think of renewing it".
func (k Kind) RenewalPage() string {
	if k == KindTitreSejour {
		return ResidencePermitPage
	}
	return ""
}

// maxMilestone is the earliest any paper is recalled, in days before its expiry.
const maxMilestone = 120

// Reminder is a paper whose expiry is near: its latest milestone is reached, it has not
// expired and nothing replaced it.
type Reminder struct {
	OwnerID    uuid.UUID
	DocumentID uuid.UUID
	Kind       Kind
	Title      string    // filled by Reminders only (the owner's own page)
	Added      time.Time // when the paper was added; with Title only
	ExpiresOn  time.Time
	Milestone  int // the latest milestone reached, in days before the expiry
	DaysLeft   int // 0 on the day it expires
}

// Today is the date of t in metropolitan France (UTC midnight of the day in Paris):
// expiry dates are days, and a reminder turns at midnight in France, not in UTC. The
// messages' job counts days so.
func Today(t time.Time) time.Time { return DayIn(t, nil) }

// DayIn is the date of t in zone (Paris's when nil), as Today's: « Mes papiers » counts
// the days left where its reader lives, since in Nouméa the next day has begun at 13:00
// UTC.
func DayIn(t time.Time, zone *time.Location) time.Time {
	if zone == nil {
		zone = paris
	}
	y, m, d := t.In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

var paris = func() *time.Location { //nolint:gochecknoglobals // loaded once
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	return time.UTC
}()

// milestone returns the latest milestone of kind k reached daysLeft days before the
// expiry, 0 when none is (too early, or expired).
func milestone(k Kind, daysLeft int) int {
	m := 0
	if daysLeft < 0 {
		return 0
	}
	for _, d := range k.Milestones() {
		if daysLeft <= d && (m == 0 || d < m) {
			m = d
		}
	}
	return m
}

// replaces tells whether paper b replaces paper a: the same kind, a later expiry, and
// deposited once a's renewal was due (from a's first milestone). A passport deposited
// years ago does not silence the identity card expiring now; the new residence permit
// deposited last week does.
func replaces(b, a *summaryRow) bool {
	if b.ID == a.ID || b.Kind != a.Kind || b.ExpiresOn == nil || !b.ExpiresOn.After(*a.ExpiresOn) {
		return false
	}
	first := a.ExpiresOn.AddDate(0, 0, -slices.Max(a.Kind.Milestones()))
	return !b.CreatedAt.Before(first)
}

// ownerReminders returns the current reminders of owner on the day today (DayIn),
// dismissed or not, soonest expiry first; with titles, their titles opened.
func (v *Vault) ownerReminders(ctx context.Context, owner uuid.UUID, today time.Time, titles bool) ([]Reminder, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, err
	}
	all, err := v.summaries(ctx, owner, dataKey, "")
	if err != nil {
		return nil, err
	}
	var out []Reminder
	for i := range all {
		a := &all[i]
		if a.ExpiresOn == nil {
			continue
		}
		left := int(a.ExpiresOn.Sub(today).Hours() / 24)
		m := milestone(a.Kind, left)
		if m == 0 || slices.ContainsFunc(all, func(b summaryRow) bool { return replaces(&b, a) }) {
			continue
		}
		r := Reminder{OwnerID: owner, DocumentID: a.ID, Kind: a.Kind, ExpiresOn: a.ExpiresOn.UTC(), Milestone: m, DaysLeft: left}
		if titles {
			s, err := a.open(owner, dataKey)
			if err != nil {
				return nil, err
			}
			r.Title, r.Added = s.Title, s.CreatedAt
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b Reminder) int { return a.ExpiresOn.Compare(b.ExpiresOn) })
	return out, nil
}

// Reminders returns owner's reminders to show at now on « Mes papiers », its days counted
// in zone, the reader's (nil: Paris's), soonest expiry first, with their titles: those
// not dismissed at their current milestone or a later one. (The milestone reached
// depends on the day, hence on the zone: a person who dismissed the 30-day reminder in
// Nouméa and then chose Paris's time, where the 90-day one is still current for a day,
// must not see it again.)
func (v *Vault) Reminders(ctx context.Context, owner uuid.UUID, now time.Time, zone *time.Location) ([]Reminder, error) {
	all, err := v.ownerReminders(ctx, owner, DayIn(now, zone), true)
	if err != nil {
		return nil, fmt.Errorf("vault: reminders %s: %w", owner, err)
	}
	if len(all) == 0 {
		return all, nil
	}
	dismissed, err := v.dismissedReminders(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: reminders %s: %w", owner, err)
	}
	out := all[:0]
	for _, r := range all {
		if latest, ok := dismissed[dismissal{r.DocumentID, r.ExpiresOn}]; !ok || latest > r.Milestone {
			out = append(out, r)
		}
	}
	return out, nil
}

// Reminder returns the current reminder of one of owner's papers at now, its days counted
// in zone (nil: Paris's), dismissed or not, or ErrNotFound when it has none (deleted,
// replaced, expired, not due yet, or not the owner's): the message job checks it is
// still due before it sends.
func (v *Vault) Reminder(ctx context.Context, owner, doc uuid.UUID, now time.Time, zone *time.Location) (*Reminder, error) {
	return v.reminderOn(ctx, owner, doc, DayIn(now, zone))
}

// reminderOn is Reminder on the day today.
func (v *Vault) reminderOn(ctx context.Context, owner, doc uuid.UUID, today time.Time) (*Reminder, error) {
	all, err := v.ownerReminders(ctx, owner, today, false)
	if err != nil {
		return nil, fmt.Errorf("vault: reminder %s: %w", doc, err)
	}
	for _, r := range all {
		if r.DocumentID == doc {
			return &r, nil
		}
	}
	return nil, fmt.Errorf("vault: reminder %s: %w", doc, ErrNotFound)
}

// DismissReminder hides the current reminder of owner's paper doc on « Mes papiers »,
// its days counted in zone as Reminders counted them, until its next milestone. A paper
// without a current reminder gives ErrNotFound; one that is not owner's is also journaled
// as a failed attempt by by, like any lookup.
func (v *Vault) DismissReminder(ctx context.Context, owner, doc uuid.UUID, by Actor, now time.Time, zone *time.Location) error {
	mine, err := isCurrentDocument(ctx, v.db, owner, doc)
	if err != nil {
		return fmt.Errorf("vault: dismiss reminder: %w", err)
	}
	if !mine {
		v.deny(ctx, owner, doc, by)
		return fmt.Errorf("vault: dismiss reminder %s: %w", doc, ErrNotFound)
	}
	r, err := v.reminderOn(ctx, owner, doc, DayIn(now, zone))
	if err != nil {
		return fmt.Errorf("vault: dismiss reminder: %w", err)
	}
	if err := v.dismissReminder(ctx, r, now); err != nil {
		return fmt.Errorf("vault: dismiss reminder %s: %w", doc, err)
	}
	return nil
}

// ZoneOf gives the zone an owner counts days in, nil for Paris's (package account keeps
// it).
type ZoneOf func(ctx context.Context, owner uuid.UUID) (*time.Location, error)

// DueReminders returns, for the job that tells owners, the current reminder of every
// paper of every open safe at now, without titles, each owner's days counted in the zone
// zoneOf gives (nil zoneOf: Paris's for all): a milestone is reached at midnight where
// the person lives. A reminder stays current from its milestone to the next, so a job
// that runs late (or after a restart) still finds it; that each milestone is told once
// is the job's business (package account's notices).
func (v *Vault) DueReminders(ctx context.Context, now time.Time, zoneOf ZoneOf) ([]Reminder, error) {
	today := Today(now)
	// Only owners with a paper inside the widest window (documents_expiry_idx), a day
	// wider on each side for the zones whose day is not Paris's (Nouméa's is ahead,
	// Tahiti's behind); each one's papers are then read by owner, kinds opened, like
	// every list.
	owners, err := ownersExpiringBetween(ctx, v.db, today.AddDate(0, 0, -1), today.AddDate(0, 0, maxMilestone+1))
	if err != nil {
		return nil, fmt.Errorf("vault: due reminders: %w", err)
	}
	var out []Reminder
	for _, owner := range owners {
		var zone *time.Location
		if zoneOf != nil {
			if zone, err = zoneOf(ctx, owner); err != nil {
				return out, fmt.Errorf("vault: due reminders of %s: %w", owner, err)
			}
		}
		rs, err := v.ownerReminders(ctx, owner, DayIn(now, zone), false)
		if errors.Is(err, ErrIntegrity) || errors.Is(err, ErrShredded) {
			// One safe that cannot be read must not keep every other from its reminders.
			v.log.Error("due reminders: safe skipped", "owner", owner, "err", err)
			continue
		}
		if err != nil {
			return out, fmt.Errorf("vault: due reminders of %s: %w", owner, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}
