package vault_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/vaulttest"
)

// paper deposits a paper of kind expiring days after the clock's today (no expiry when
// days is nil).
func (b *testBundle) paper(t testing.TB, owner uuid.UUID, by vault.Actor, kind vault.Kind, title string, days int) *vault.Document {
	t.Helper()
	expires := vault.Today(b.clock.Now()).AddDate(0, 0, days)
	d, err := b.v.Deposit(context.Background(), owner, by, vault.NewDocument{Kind: kind, Title: title, ExpiresOn: &expires,
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: strings.NewReader("%PDF"), Size: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// reminded returns the milestone of each of owner's reminders shown on « Mes papiers »,
// by title.
func (b *testBundle) reminded(t testing.TB, owner uuid.UUID) map[string]int {
	t.Helper()
	rs, err := b.v.Reminders(context.Background(), owner, b.clock.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rs {
		out[r.Title] = r.Milestone
	}
	return out
}

// A paper is recalled from its first milestone to its expiry: a residence permit from
// 120 days ahead, anything else from 90; the milestone is the latest one reached.
func TestReminderMilestones(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		kind vault.Kind
		days int
		want int // 0: no reminder
	}{
		{vault.KindTitreSejour, 121, 0},
		{vault.KindTitreSejour, 120, 120},
		{vault.KindTitreSejour, 100, 120},
		{vault.KindTitreSejour, 90, 90},
		{vault.KindTitreSejour, 58, 60},
		{vault.KindTitreSejour, 31, 60},
		{vault.KindTitreSejour, 30, 30},
		{vault.KindTitreSejour, 7, 7},
		{vault.KindTitreSejour, 0, 7},
		{vault.KindTitreSejour, -1, 0},
		{vault.KindIdentite, 100, 0},
		{vault.KindIdentite, 90, 90},
		{vault.KindIdentite, 45, 90},
		{vault.KindIdentite, 10, 30},
		{vault.KindIdentite, 3, 7},
		{vault.KindCAF, -30, 0},
	}
	// One safe per paper: papers of one kind in one safe replace each other.
	for _, c := range cases {
		owner, by := b.owner(t)
		title := fmt.Sprintf("%s %d", c.kind, c.days)
		b.paper(t, owner, by, c.kind, title, c.days)
		got := b.reminded(t, owner)
		if got[title] != c.want || len(got) > 1 {
			t.Errorf("%s expiring in %d days: reminders %v, want milestone %d", c.kind, c.days, got, c.want)
		}
	}
	// Several kinds in one safe: soonest first, the days left counted from today.
	owner, by := b.owner(t)
	for _, c := range []struct {
		kind vault.Kind
		days int
	}{{vault.KindIdentite, 80}, {vault.KindTitreSejour, 100}, {vault.KindSante, 2}, {vault.KindCAF, 30}} {
		b.paper(t, owner, by, c.kind, string(c.kind), c.days)
	}
	rs, err := b.v.Reminders(context.Background(), owner, b.clock.Now(), nil)
	if err != nil || len(rs) != 4 {
		t.Fatalf("reminders: %v %v", rs, err)
	}
	for i, r := range rs {
		if i > 0 && r.ExpiresOn.Before(rs[i-1].ExpiresOn) {
			t.Errorf("reminders not soonest first: %v after %v", r.ExpiresOn, rs[i-1].ExpiresOn)
		}
		if want := vault.Today(b.clock.Now()).AddDate(0, 0, r.DaysLeft); !want.Equal(r.ExpiresOn) {
			t.Errorf("%s: %d days left to %v", r.Title, r.DaysLeft, r.ExpiresOn)
		}
	}
}

// A reminder stops when the paper is replaced (same kind, later expiry, deposited once
// its renewal was due) or deleted; a paper of the same kind deposited long before does
// not count; a dismissed reminder comes back at the next milestone; and the job's list
// (every safe) says the same, closed safes left out.
func TestReminderLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	// A passport deposited long ago, valid for years: it does not replace the card.
	b.paper(t, owner, by, vault.KindIdentite, "Passeport", 3000)
	b.clock.Advance(400 * 24 * time.Hour)
	card := b.paper(t, owner, by, vault.KindIdentite, "Carte d'identité", 80)
	permit := b.paper(t, owner, by, vault.KindTitreSejour, "Carte de séjour", 50)
	if got := b.reminded(t, owner); got["Carte d'identité"] != 90 || got["Carte de séjour"] != 60 || len(got) != 2 {
		t.Fatalf("reminders: %v", got)
	}

	// Dismissed until the next milestone.
	if err := b.v.DismissReminder(ctx, owner, permit.ID, by, b.clock.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if got := b.reminded(t, owner); len(got) != 1 {
		t.Fatalf("after dismissing the permit's: %v", got)
	}
	due, err := b.v.DueReminders(ctx, b.clock.Now(), nil)
	if err != nil || len(due) != 2 {
		t.Fatalf("the job still tells of both (a dismissal hides a reminder on the page only): %v %v", due, err)
	}
	for _, r := range due {
		if r.Title != "" {
			t.Errorf("the job's reminders carry the title %q", r.Title)
		}
	}
	b.clock.Advance(25 * 24 * time.Hour)
	if got := b.reminded(t, owner); got["Carte de séjour"] != 30 {
		t.Fatalf("the next milestone does not show again: %v", got)
	}

	// Someone else cannot dismiss it, nor see it.
	other, otherBy := b.owner(t)
	if err := b.v.DismissReminder(ctx, other, permit.ID, otherBy, b.clock.Now(), nil); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("another owner dismissed the reminder: %v", err)
	}
	if acts := b.actions(t, owner); acts[len(acts)-1] != vault.ActionDenied {
		t.Fatalf("the attempt is not in the paper's owner's journal: %v", acts)
	}
	if _, err := b.v.Reminder(ctx, other, permit.ID, b.clock.Now(), nil); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("another owner reads the reminder: %v", err)
	}

	// The new permit, deposited now with its later date, replaces the old one.
	b.paper(t, owner, by, vault.KindTitreSejour, "Nouvelle carte de séjour", 365*4)
	if got := b.reminded(t, owner); len(got) != 1 || got["Carte d'identité"] == 0 {
		t.Fatalf("after the new permit: %v", got)
	}
	if _, err := b.v.Reminder(ctx, owner, permit.ID, b.clock.Now(), nil); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("the replaced permit still has a reminder: %v", err)
	}
	// A deleted paper has none.
	if err := b.v.DeleteDocument(ctx, owner, card.ID, by); err != nil {
		t.Fatal(err)
	}
	if got := b.reminded(t, owner); len(got) != 0 {
		t.Fatalf("after deleting the card: %v", got)
	}

	// A closed safe is told nothing.
	b.paper(t, owner, by, vault.KindSante, "Attestation de droits", 5)
	if due, err := b.v.DueReminders(ctx, b.clock.Now(), nil); err != nil || len(due) != 1 {
		t.Fatalf("due before closing: %v %v", due, err)
	}
	if _, err := b.v.CloseSafe(ctx, owner, by, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if due, err := b.v.DueReminders(ctx, b.clock.Now(), nil); err != nil || len(due) != 0 {
		t.Fatalf("due after closing: %v %v", due, err)
	}

	// Erasure forgets the dismissals.
	b.clock.Advance(time.Second)
	if _, err := b.v.EraseDue(ctx); err != nil {
		t.Fatal(err)
	}
	vaulttest.AssertErased(t, b.db, owner)
}

// TestReminderDaysWhereReaderLives: the days left are counted where the reader lives. At
// 13:00 UTC the next day has begun in Nouméa: a paper expiring tomorrow in Paris expires
// today there, and one that expired today is no longer recalled; in Guyane it is still
// the day before. Dismissing counts the days as the page did.
func TestReminderDaysWhereReaderLives(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	now := b.clock.Now()
	noon := time.Date(now.Year(), now.Month(), now.Day(), 13, 0, 0, 0, time.UTC)
	paris, _ := time.LoadLocation("Europe/Paris")
	noumea, _ := time.LoadLocation("Pacific/Noumea")
	cayenne, _ := time.LoadLocation("America/Cayenne")
	tomorrow := vault.DayIn(noon, paris).AddDate(0, 0, 1)
	d, err := b.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindIdentite, Title: "carte", ExpiresOn: &tomorrow,
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: strings.NewReader("%PDF"), Size: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		zone *time.Location
		left int
	}{{nil, 1}, {paris, 1}, {noumea, 0}, {cayenne, 1}} {
		rs, err := b.v.Reminders(ctx, owner, noon, c.zone)
		if err != nil || len(rs) != 1 || rs[0].DaysLeft != c.left {
			t.Errorf("in %v at 13:00 UTC: %+v %v; want %d days left", c.zone, rs, err, c.left)
		}
	}
	// The day after, at 13:00 UTC: over in Nouméa, today in Paris.
	if rs, err := b.v.Reminders(ctx, owner, noon.AddDate(0, 0, 1), noumea); err != nil || len(rs) != 0 {
		t.Errorf("the day after in Nouméa: %+v %v; want none", rs, err)
	}
	if rs, err := b.v.Reminders(ctx, owner, noon.AddDate(0, 0, 1), paris); err != nil || len(rs) != 1 || rs[0].DaysLeft != 0 {
		t.Errorf("the day after in Paris: %+v %v; want today", rs, err)
	}
	if err := b.v.DismissReminder(ctx, owner, d.ID, by, noon, noumea); err != nil {
		t.Fatal(err)
	}
	if rs, err := b.v.Reminders(ctx, owner, noon, noumea); err != nil || len(rs) != 0 {
		t.Errorf("dismissed in Nouméa: %+v %v", rs, err)
	}
}

// The job that tells owners counts each one's days where they live (zoneOf), one day
// either side of Paris's: at 05:00 in Paris it is still yesterday in Tahiti, where a
// paper that expired yesterday in Paris expires today; at 23:30 in Paris it is already
// tomorrow in Wallis, where a residence permit 121 days from its end in Paris reaches
// its 120-day milestone.
func TestDueRemindersWhereOwnersLive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	paris, _ := time.LoadLocation("Europe/Paris")
	tahiti, _ := time.LoadLocation("Pacific/Tahiti")
	wallis, _ := time.LoadLocation("Pacific/Wallis")
	early := time.Date(2031, 1, 15, 5, 0, 0, 0, paris)
	late := time.Date(2031, 1, 15, 23, 30, 0, 0, paris)
	south, southBy := b.owner(t)
	east, eastBy := b.owner(t)
	zones := map[uuid.UUID]*time.Location{south: tahiti, east: wallis}
	zoneOf := func(_ context.Context, owner uuid.UUID) (*time.Location, error) { return zones[owner], nil }
	deposit := func(owner uuid.UUID, by vault.Actor, kind vault.Kind, expires time.Time) *vault.Document {
		t.Helper()
		d, err := b.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: kind, Title: "papier", ExpiresOn: &expires,
			Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: strings.NewReader("%PDF"), Size: 4}}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	expired := deposit(south, southBy, vault.KindIdentite, vault.DayIn(early, paris).AddDate(0, 0, -1))
	permit := deposit(east, eastBy, vault.KindTitreSejour, vault.DayIn(late, paris).AddDate(0, 0, 121))
	due := func(now time.Time, zoneOf vault.ZoneOf, doc uuid.UUID) *vault.Reminder {
		t.Helper()
		rs, err := b.v.DueReminders(ctx, now, zoneOf)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.DocumentID == doc {
				return &r
			}
		}
		return nil
	}
	if r := due(early, zoneOf, expired.ID); r == nil || r.DaysLeft != 0 {
		t.Errorf("in Tahiti at 05:00 in Paris: %+v, want the paper expiring today", r)
	}
	if r := due(late, zoneOf, permit.ID); r == nil || r.Milestone != 120 || r.DaysLeft != 120 {
		t.Errorf("in Wallis at 23:30 in Paris: %+v, want the 120-day milestone", r)
	}
	// Counted in Paris, neither is due.
	if r := due(early, nil, expired.ID); r != nil {
		t.Errorf("in Paris at 05:00: %+v, want the paper expired", r)
	}
	if r := due(late, nil, permit.ID); r != nil {
		t.Errorf("in Paris at 23:30: %+v, want no milestone yet", r)
	}
}

// A reminder dismissed where the person lived stays dismissed after they choose a zone
// whose day is behind: there, for a day, the paper has not reached that milestone yet and
// the earlier one is current, which they have seen through.
func TestDismissedReminderAcrossZones(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	paris, _ := time.LoadLocation("Europe/Paris")
	noumea, _ := time.LoadLocation("Pacific/Noumea")
	// 09:00 in Nouméa is the evening before in Paris.
	now := time.Date(2031, 1, 15, 9, 0, 0, 0, noumea)
	expires := vault.DayIn(now, noumea).AddDate(0, 0, 30)
	d, err := b.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindIdentite, Title: "carte", ExpiresOn: &expires,
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: strings.NewReader("%PDF"), Size: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := b.v.Reminders(ctx, owner, now, paris); err != nil || len(rs) != 1 || rs[0].Milestone != 90 {
		t.Fatalf("in Paris: %+v %v, want the 90-day reminder", rs, err)
	}
	if err := b.v.DismissReminder(ctx, owner, d.ID, by, now, noumea); err != nil {
		t.Fatal(err)
	}
	for _, zone := range []*time.Location{noumea, paris} {
		if rs, err := b.v.Reminders(ctx, owner, now, zone); err != nil || len(rs) != 0 {
			t.Errorf("in %s after dismissing the 30-day reminder in Nouméa: %+v %v, want none", zone, rs, err)
		}
	}
	// The next milestone shows again.
	if rs, err := b.v.Reminders(ctx, owner, now.AddDate(0, 0, 23), noumea); err != nil || len(rs) != 1 || rs[0].Milestone != 7 {
		t.Errorf("at the 7-day milestone: %+v %v, want it shown", rs, err)
	}
}
