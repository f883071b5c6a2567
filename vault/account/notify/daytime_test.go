package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"coffre/vault"
	"coffre/vault/account"
)

// At night where the person lives, a reminder waits for 9:00 there in River's queue
// (snoozed, not failed), and then leaves; a code they are typing, and a sign-in from a
// new device, leave at once.
func TestMessagesWaitForTheDay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	reunion := account.Location("Indian/Reunion")
	b.clockTo(2, 0, reunion)
	n := b.notifier(nil, nil)
	stop := b.workers(t, n, nil)

	o, _ := b.person(t, unique("nadia"), map[account.ChannelKind]string{account.ChannelSMS: "06 12 12 12 12"})
	if err := b.A.SetTimeZone(ctx, o, "Indian/Reunion"); err != nil {
		t.Fatal(err)
	}
	b.settle(t)
	sms := len(b.sms.messages(""))
	// The code of an address being added leaves at 2:00.
	if _, err := b.A.AddChannel(ctx, o, account.ChannelEmail, unique("nadia")+"@exemple.fr", b.ip); err != nil {
		t.Fatal(err)
	}
	b.settle(t)
	if got := len(b.email.messages("")); got != 1 {
		t.Fatalf("%d codes sent at 2:00, want 1", got)
	}
	expires := vault.DayIn(b.Clock.Now(), reunion).AddDate(0, 0, 90)
	self := vault.Actor{Kind: vault.ActorOwner, ID: o.String(), IP: b.ip}
	if _, err := b.V.Deposit(ctx, o, self, vault.NewDocument{Kind: vault.KindIdentite, Title: "Carte d'identité", ExpiresOn: &expires,
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: strings.NewReader("%PDF"), Size: 4}}}); err != nil {
		t.Fatal(err)
	}
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	// The worker snoozes it until 9:00 in La Réunion, 7 hours later.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state string
		var wait time.Duration
		err := b.DB.QueryRow(ctx, `SELECT state, scheduled_at - now() FROM river_job WHERE kind = 'send_message'
			AND args->>'owner' = $1 AND args->>'what' = 'expiry'`, o.String()).Scan(&state, &wait)
		if err != nil {
			t.Fatal(err)
		}
		if state == "scheduled" {
			if wait < 6*time.Hour+50*time.Minute || wait > 7*time.Hour {
				t.Fatalf("the reminder waits %s, want 7 hours", wait)
			}
			break
		}
		if state != "available" && state != "running" || time.Now().After(deadline) {
			t.Fatalf("the reminder's job is %s, want it scheduled for the morning", state)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if got := len(b.sms.messages("expire le")); got != 0 {
		t.Fatalf("%d reminders sent at 2:00", got)
	}

	// A sign-in from a new device, at the same hour, is not kept back.
	if err := b.A.Notify(ctx, o, account.Notice{What: account.NoticeNewDevice, Key: "new_device:test", At: b.Clock.Now(), Detail: "Firefox"}); err != nil {
		t.Fatal(err)
	}
	jobs := b.queued(t, o)
	if len(jobs) != 2 {
		t.Fatalf("%d messages waiting, want the reminder and the sign-in", len(jobs))
	}
	var snooze *river.JobSnoozeError
	for _, a := range jobs {
		err := n.Deliver(ctx, a)
		switch {
		case a.What == account.NoticeExpiry && !errors.As(err, &snooze):
			t.Fatalf("the reminder at 2:00: %v, want it snoozed", err)
		case a.What != account.NoticeExpiry && err != nil:
			t.Fatalf("the sign-in at 2:00: %v", err)
		}
	}
	if got := len(b.sms.messages("")); got != sms+1 {
		t.Fatalf("%d SMS sent at 2:00, want the sign-in", got-sms)
	}

	// At 9:00 it leaves.
	b.Clock.Advance(snooze.Duration)
	if err := n.Deliver(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	if got := b.sms.messages("expire le"); len(got) != 1 {
		t.Fatalf("%d reminders sent at 9:00, want 1", len(got))
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
	far, farBy := b.person(t, unique("malia"), map[account.ChannelKind]string{account.ChannelSMS: "06 13 13 13 13"})
	here, hereBy := b.person(t, unique("jeanne"), map[account.ChannelKind]string{account.ChannelSMS: "06 14 14 14 14"})
	b.queued(t, far)
	b.queued(t, here)
	if err := b.A.SetTimeZone(ctx, far, "Pacific/Wallis"); err != nil {
		t.Fatal(err)
	}
	expires := vault.DayIn(b.Clock.Now(), wallis).AddDate(0, 0, 90)
	for _, p := range []struct {
		owner uuid.UUID
		by    vault.Actor
	}{{far, farBy}, {here, hereBy}} {
		if _, err := b.V.Deposit(ctx, p.owner, p.by, vault.NewDocument{Kind: vault.KindIdentite, Title: "Carte d'identité", ExpiresOn: &expires,
			Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: strings.NewReader("%PDF"), Size: 4}}}); err != nil {
			t.Fatal(err)
		}
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
