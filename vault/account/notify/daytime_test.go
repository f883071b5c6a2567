package notify_test

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"coffre/vault"
	"coffre/vault/account"
)

// At night where the person lives, what can wait is snoozed in River's queue (not failed)
// until 9:00 there, within the hour after, and River then sends it and journals it; the
// rest leaves at once: a code they are typing, a sign-in from a new device, a recovery,
// a mandate asked for or given, a share link opened.
func TestMessagesWaitForTheDay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	reunion := account.Location("Indian/Reunion")
	b.clockTo(2, 0, reunion)
	n := b.notifier(nil, nil)
	o, self := b.texted(t, "nadia", "06 12 12 12 12", "Indian/Reunion")
	if err := b.A.SetLinkNotice(ctx, o, true); err != nil {
		t.Fatal(err)
	}
	// 9:00 in La Réunion, and this owner's place in the hour after (derived from their ID,
	// so that a night's messages do not leave in one burst).
	spread := time.Duration(binary.BigEndian.Uint32(o[12:])%3600) * time.Second
	morning := func(wait time.Duration) bool {
		at := b.Clock.Now().Add(wait).In(reunion)
		want := time.Date(at.Year(), at.Month(), at.Day(), 9, 0, 0, 0, reunion).Add(spread)
		return at.Sub(want).Abs() < 2*time.Second
	}

	waits := map[account.OwnerNotice]bool{
		account.NoticeMandateEnding: true, account.NoticeMandateEnded: true, account.NoticeIssuerDeposit: true,
		account.NoticeNewDevice: false, account.NoticeRecoveryRequested: false, account.NoticeAccessRecovered: false,
		account.NoticeMandateAsked: false, account.NoticeMandateGiven: false, account.NoticeLinkOpened: false,
	}
	for what := range waits {
		if err := b.A.Notify(ctx, o, account.Notice{What: what, Key: "test:" + string(what), At: b.Clock.Now().AddDate(0, 0, 20), Detail: "CCAS de Saint-Denis"}); err != nil {
			t.Fatal(err)
		}
	}
	jobs := b.queued(t, o)
	if len(jobs) != len(waits) {
		t.Fatalf("%d messages queued, want %d", len(jobs), len(waits))
	}
	for _, a := range jobs {
		err := n.Deliver(ctx, a)
		var snooze *river.JobSnoozeError
		switch {
		case waits[a.What] && (!errors.As(err, &snooze) || !morning(snooze.Duration)):
			t.Errorf("%s at 2:00: %v, want it snoozed until 9:00 and %s", a.What, err, spread)
		case !waits[a.What] && err != nil:
			t.Errorf("%s at 2:00: %v, want it sent", a.What, err)
		}
	}
	sms := len(b.sms.messages(""))
	if sms != 6 {
		t.Fatalf("%d SMS sent at 2:00, want the 6 that cannot wait", sms)
	}
	// The code of an address being added leaves at 2:00.
	if _, err := b.A.AddChannel(ctx, o, account.ChannelEmail, unique("nadia")+"@exemple.fr", b.ip); err != nil {
		t.Fatal(err)
	}
	stop := b.workers(t, n, nil)
	b.settle(t)
	if got := len(b.email.messages("")); got != 1 {
		t.Fatalf("%d codes sent at 2:00, want 1", got)
	}

	// A reminder, through River: snoozed until the morning.
	expires := vault.DayIn(b.Clock.Now(), reunion).AddDate(0, 0, 90)
	b.paperUntil(t, o, self, vault.KindIdentite, "Carte d'identité", expires)
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	var job int64
	var wait time.Duration
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state string
		err := b.DB.QueryRow(ctx, `SELECT id, state, scheduled_at - now() FROM river_job WHERE kind = 'send_message'
			AND args->>'owner' = $1 AND args->>'what' = 'expiry'`, o.String()).Scan(&job, &state, &wait)
		if err != nil {
			t.Fatal(err)
		}
		if state == "scheduled" {
			break
		}
		if state != "available" && state != "running" || time.Now().After(deadline) {
			t.Fatalf("the reminder's job is %s, want it scheduled for the morning", state)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !morning(wait) {
		t.Fatalf("the reminder waits %s, want 9:00 in La Réunion and %s", wait, spread)
	}
	if got := len(b.sms.messages("expire le")); got != 0 {
		t.Fatalf("%d reminders sent at 2:00", got)
	}
	// Its time comes: River runs it again, and it leaves, journaled, once.
	b.Clock.Advance(wait)
	if _, err := b.DB.Exec(ctx, `UPDATE river_job SET scheduled_at = now() WHERE id = $1`, job); err != nil {
		t.Fatal(err)
	}
	b.settle(t)
	stop()
	if got := len(b.sms.messages("expire le")); got != 1 {
		t.Fatalf("%d reminders sent in the morning, want 1", got)
	}
	var state string
	if err := b.DB.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, job).Scan(&state); err != nil || state != "completed" {
		t.Fatalf("the reminder's job: %s %v, want completed", state, err)
	}
	reminders := 0
	for _, e := range b.sentEntries(t, o) {
		if e.What == account.NoticeExpiry {
			reminders++
		}
	}
	if reminders != 1 {
		t.Fatalf("%d reminders journaled, want 1", reminders)
	}
}

// A reminder that waited the night is still sent if the person has since chosen a zone
// behind the one it was found in, where its milestone's day has not begun yet.
func TestReminderKeptWhenZoneChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	wallis := account.Location("Pacific/Wallis")
	b.clockTo(0, 30, wallis)
	n := b.notifier(nil, nil)
	o, self := b.texted(t, "sina", "06 15 15 15 15", "Pacific/Wallis")
	expires := vault.DayIn(b.Clock.Now(), wallis).AddDate(0, 0, 90)
	b.paperUntil(t, o, self, vault.KindIdentite, "Carte d'identité", expires)
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	jobs := b.queued(t, o)
	var snooze *river.JobSnoozeError
	if len(jobs) != 1 || !errors.As(n.Deliver(ctx, jobs[0]), &snooze) {
		t.Fatalf("the reminder at 0:30 in Wallis: %+v, want one, snoozed", jobs)
	}
	// The person moves to Guadeloupe: at 9:00 in Wallis it is 17:00 there, the day before.
	if err := b.A.SetTimeZone(ctx, o, "America/Guadeloupe"); err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(snooze.Duration)
	if err := n.Deliver(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	if got := b.sms.messages("expire le " + frenchDay(expires)); len(got) != 1 {
		t.Fatalf("%d reminders sent after the move, want 1", len(got))
	}
}

// A milestone is reached at midnight where the person lives: in Wallis, whose day starts
// ten or eleven hours before Paris's, a paper 90 days from its expiry is recalled that
// morning; the same paper of a person in Paris, the next day.
func TestRemindersCountDaysWhereThePersonLives(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	wallis := account.Location("Pacific/Wallis")
	b.clockTo(9, 30, wallis)
	n := b.notifier(nil, nil)
	far, farBy := b.texted(t, "malia", "06 13 13 13 13", "Pacific/Wallis")
	here, hereBy := b.texted(t, "jeanne", "06 14 14 14 14", "")
	expires := vault.DayIn(b.Clock.Now(), wallis).AddDate(0, 0, 90)
	for _, p := range []struct {
		owner uuid.UUID
		by    vault.Actor
	}{{far, farBy}, {here, hereBy}} {
		b.paperUntil(t, p.owner, p.by, vault.KindIdentite, "Carte d'identité", expires)
	}
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.queued(t, here); len(got) != 0 {
		t.Fatalf("in Paris, the evening before: %d reminders, want none", len(got))
	}
	got := b.queued(t, far)
	if len(got) != 1 || !strings.HasSuffix(got[0].Key, ":90") {
		t.Fatalf("in Wallis, the morning: %+v, want the 90-day reminder", got)
	}
	if err := n.Deliver(ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	if sent := b.sms.messages("expire le " + frenchDay(expires)); len(sent) != 1 {
		t.Fatalf("%d reminders sent to Wallis, want 1", len(sent))
	}

	b.clockTo(12, 0, account.Location(account.Paris))
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.queued(t, here); len(got) != 1 {
		t.Fatalf("in Paris, the next day: %d reminders, want 1", len(got))
	}
}

// A reminder that waited the night is not sent if, meanwhile, its paper's date was
// corrected or its next milestone came: the scan tells that one, once.
func TestWaitingReminderOvertaken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	paris := account.Location(account.Paris)
	b.clockTo(21, 0, paris)
	n := b.notifier(nil, nil)
	o, self := b.texted(t, "lea", "06 16 16 16 16", "")
	moved := b.paper(t, o, self, vault.KindIdentite, "Carte d'identité", 5)  // the 7-day milestone
	soon := b.paper(t, o, self, vault.KindSante, "Attestation de droits", 8) // the 30-day one, 7 tomorrow
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	waiting := b.queued(t, o)
	if len(waiting) != 2 {
		t.Fatalf("%d reminders at 21:00, want 2", len(waiting))
	}
	for _, a := range waiting {
		var snooze *river.JobSnoozeError
		if !errors.As(n.Deliver(ctx, a), &snooze) {
			t.Fatalf("%s at 21:00: want it snoozed", a.Key)
		}
	}
	// The person corrects the date of one (91 days left tomorrow); midnight brings the
	// other's 7-day milestone.
	later := vault.Today(b.Clock.Now()).AddDate(0, 0, 92)
	if _, err := b.V.UpdateDocument(ctx, o, moved.ID, self, vault.Update{ExpiresOn: &later}); err != nil {
		t.Fatal(err)
	}
	b.clockTo(9, 30, paris)
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range append(waiting, b.queued(t, o)...) {
		if err := n.Deliver(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	sent := b.sms.messages("expire le")
	if len(sent) != 1 || !strings.Contains(sent[0].Text, frenchDay(*soon.ExpiresOn)) {
		t.Fatalf("sent %+v, want the 7-day reminder of the paper not moved, once", sent)
	}
}

// texted is a person with a verified mobile number, living in zone ("": not chosen, Paris's),
// their code's message taken from the queue.
func (b *testBundle) texted(t testing.TB, login, mobile, zone string) (uuid.UUID, vault.Actor) {
	t.Helper()
	o, self := b.person(t, unique(login), map[account.ChannelKind]string{account.ChannelSMS: mobile})
	b.queued(t, o)
	if zone != "" {
		if err := b.A.SetTimeZone(context.Background(), o, zone); err != nil {
			t.Fatal(err)
		}
	}
	return o, self
}
