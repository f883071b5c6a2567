package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/account/notify"
	"coffre/vault/vaulttest"
)

// recorder is a Sender that keeps what it is given; fail, when set, answers instead.
type recorder struct {
	mu   sync.Mutex
	sent []notify.Message
	fail error
}

func (r *recorder) Send(_ context.Context, m notify.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.sent = append(r.sent, m)
	return nil
}

// messages returns what was sent whose text contains s.
func (r *recorder) messages(s string) []notify.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []notify.Message
	for _, m := range r.sent {
		if strings.Contains(m.Text, s) {
			out = append(out, m)
		}
	}
	return out
}

type testBundle struct {
	*vaulttest.Bundle
	share *sharing.Service
	email *recorder
	sms   *recorder
	ip    netip.Addr
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	vb := vaulttest.NewVault(t)
	b := &testBundle{Bundle: vb, share: sharing.New(vb.DB, vb.V, vb.A), email: &recorder{}, sms: &recorder{}, ip: netip.MustParseAddr("192.0.2.40")}
	vb.V.AddParticipant(b.share)
	// Noon in Paris: messages that can wait leave in the day (daytime.go), and a test run
	// at night must not find them waiting.
	b.clockTo(12, 0, account.Location(account.Paris))
	return b
}

// clockTo moves the bundle's clock forward to the next hour:minute in zone.
func (b *testBundle) clockTo(hour, minute int, zone *time.Location) {
	now := b.Clock.Now().In(zone)
	y, m, d := now.Date()
	at := time.Date(y, m, d, hour, minute, 0, 0, zone)
	if !at.After(now) {
		at = time.Date(y, m, d+1, hour, minute, 0, 0, zone)
	}
	b.Clock.Advance(at.Sub(now))
}

// notifier is one process's notify service, with the bundle's recorders unless senders
// are given.
func (b *testBundle) notifier(log *slog.Logger, senders map[account.ChannelKind]notify.Sender) *notify.Service {
	if senders == nil {
		senders = map[account.ChannelKind]notify.Sender{account.ChannelEmail: b.email, account.ChannelSMS: b.sms}
	}
	return notify.New(notify.Config{DB: b.DB, Vault: b.V, Accounts: b.A, MandatesEnding: b.share.MandatesEnding, Senders: senders, Log: log, Now: b.Clock.Now})
}

// workers starts a River client working the messages with n, as 'coffre serve' does,
// and stops it when the test ends (or when the returned function is called).
func (b *testBundle) workers(t testing.TB, n *notify.Service, log *slog.Logger) func() {
	t.Helper()
	w := river.NewWorkers()
	n.AddWorkers(w)
	c, err := river.NewClient(riverpgxv5.New(b.DB), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:           w,
		FetchPollInterval: 20 * time.Millisecond,
		FetchCooldown:     10 * time.Millisecond,
		Logger:            log,
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Stop(ctx); err != nil {
				t.Errorf("stop workers: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

// settle waits until no message job is left to work: every one completed, cancelled or
// discarded.
func (b *testBundle) settle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var pending int
		err := b.DB.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'send_message'
			AND state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&pending)
		if err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still waiting after 30 seconds", pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// queued returns the message jobs of owner not yet worked (or waiting for the day),
// oldest first, and marks them taken: the test delivers them itself (Deliver), as a
// worker would.
func (b *testBundle) queued(t testing.TB, owner uuid.UUID) []account.MessageArgs {
	t.Helper()
	rows, err := b.DB.Query(context.Background(), `UPDATE river_job SET state = 'completed', finalized_at = now()
		WHERE kind = 'send_message' AND state IN ('available', 'scheduled') AND args->>'owner' = $1 RETURNING id, args`, owner.String())
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		id   int64
		args account.MessageArgs
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (job, error) {
		var j job
		var raw []byte
		if err := r.Scan(&j.id, &raw); err != nil {
			return j, err
		}
		return j, json.Unmarshal(raw, &j.args)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]account.MessageArgs, 0, len(jobs))
	for len(jobs) > 0 {
		first := 0
		for i := range jobs {
			if jobs[i].id < jobs[first].id {
				first = i
			}
		}
		out = append(out, jobs[first].args)
		jobs = append(jobs[:first], jobs[first+1:]...)
	}
	return out
}

// deliverAll delivers every queued message of owner with n.
func (b *testBundle) deliverAll(t testing.TB, n *notify.Service, owner uuid.UUID) {
	t.Helper()
	for _, a := range b.queued(t, owner) {
		if err := n.Deliver(context.Background(), a); err != nil {
			t.Fatalf("deliver %s: %v", a.What, err)
		}
	}
}

// person opens a safe with a secret and a verified channel for each address given
// (kind → address as typed), read back from the code message each channel received.
func (b *testBundle) person(t testing.TB, login string, addresses map[account.ChannelKind]string) (uuid.UUID, vault.Actor) {
	t.Helper()
	ctx := context.Background()
	o, err := b.A.CreateAccount(ctx, login, "une phrase secrète assez longue", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	self := vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String(), IP: b.ip}
	for kind, addr := range addresses {
		ch, err := b.A.AddChannel(ctx, o.ID, kind, addr, b.ip)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := b.A.MessageRecipient(ctx, o.ID, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.A.VerifyChannel(ctx, o.ID, kind, rc.Code, self); err != nil {
			t.Fatal(err)
		}
	}
	return o.ID, self
}

// paper deposits a paper of kind that expires days after the clock's today in Paris.
func (b *testBundle) paper(t testing.TB, owner uuid.UUID, by vault.Actor, kind vault.Kind, title string, days int) *vault.Document {
	t.Helper()
	return b.paperUntil(t, owner, by, kind, title, vault.Today(b.Clock.Now()).AddDate(0, 0, days))
}

// paperUntil deposits a paper of kind that expires on the day expires.
func (b *testBundle) paperUntil(t testing.TB, owner uuid.UUID, by vault.Actor, kind vault.Kind, title string, expires time.Time) *vault.Document {
	t.Helper()
	d, err := b.V.Deposit(context.Background(), owner, by, vault.NewDocument{Kind: kind, Title: title, ExpiresOn: &expires,
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: strings.NewReader("%PDF"), Size: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sentEntries returns the owner's journal entries of messages sent, read back.
func (b *testBundle) sentEntries(t testing.TB, owner uuid.UUID) []account.MessageEntry {
	t.Helper()
	entries, err := b.V.Journal(context.Background(), owner, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []account.MessageEntry
	for _, e := range entries {
		if e.Action != account.ActionMessageSent {
			continue
		}
		m, ok := account.ParseMessageEntry(&e)
		if !ok {
			t.Fatalf("a message entry does not read back: %+v", e)
		}
		if e.ActorKind != vault.ActorSystem {
			t.Errorf("a message journaled by %s", e.ActorKind)
		}
		out = append(out, m)
	}
	return out
}

func unique(prefix string) string {
	return fmt.Sprintf("%s.%s", prefix, strings.ReplaceAll(uuid.NewString()[:13], "-", ""))
}

var errGateway = errors.New("gateway down")
