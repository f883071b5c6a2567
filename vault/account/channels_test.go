package account_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
	"coffre/vault/account"
)

func TestNormalizeMobile(t *testing.T) {
	for in, want := range map[string]string{
		"06 12 34 56 78":       "+33612345678",
		"07.98.76.54.32":       "+33798765432",
		"+33 6 12 34 56 78":    "+33612345678",
		"+33 (0)6 12345678":    "+33612345678",
		"0033612345678":        "+33612345678",
		"0692 12 34 56":        "+262692123456", // La Réunion
		"+262 692 12 34 56":    "+262692123456",
		"0639 01 23 45":        "+262639012345", // Mayotte
		"0690 12 34 56":        "+590690123456", // Guadeloupe
		"0696 12 34 56":        "+596696123456", // Martinique
		"0694 12 34 56":        "+594694123456", // Guyane
		"\u00a006-12-34-56-78": "+33612345678",
	} {
		if got, err := account.NormalizeMobile(in); err != nil || got != want {
			t.Errorf("NormalizeMobile(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "01 23 45 67 89", "08 99 12 34 56", "06 12 34 56", "06 12 34 56 789", "+44 7911 123456",
		"+262 612 34 56 78", "+590 692 12 34 56", "06 12 34 56 7a", "3615", "+33 1 23 45 67 89", "06+12345678"} {
		if got, err := account.NormalizeMobile(bad); !errors.Is(err, account.ErrBadMobile) {
			t.Errorf("NormalizeMobile(%q) = %q, %v; want ErrBadMobile", bad, got, err)
		}
	}
	if got := account.NationalMobile("+262692123456"); got != "06 92 12 34 56" {
		t.Errorf("NationalMobile = %q", got)
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		" Amina.Diallo@Exemple.FR ": "Amina.Diallo@exemple.fr",
		"a+coffre@mail.example.org": "a+coffre@mail.example.org",
		"zoé@exemple.fr":            "zoé@exemple.fr",
	} {
		if got, err := account.NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "amina", "amina@", "@exemple.fr", "amina@exemple", "Amina <amina@exemple.fr>",
		"amina@exemple.fr\r\nBcc: x@y.fr", `"a b"@exemple.fr`, "a@b@exemple.fr", "amina@-exemple.fr", "amina@exemple..fr",
		"a,b@exemple.fr", "amina@exemple.fr (moi)"} {
		if got, err := account.NormalizeEmail(bad); !errors.Is(err, account.ErrBadEmail) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrBadEmail", bad, got, err)
		}
	}
}

// messageJobs returns the message jobs queued for owner, oldest first.
func messageJobs(t testing.TB, b *testBundle, owner uuid.UUID) []account.MessageArgs {
	t.Helper()
	rows, err := b.db.Query(context.Background(), `SELECT args FROM river_job WHERE kind = 'send_message' AND args->>'owner' = $1 ORDER BY id`, owner.String())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]account.MessageArgs, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func (b *testBundle) journalActions(t testing.TB, owner uuid.UUID) []vault.Action {
	t.Helper()
	entries, err := b.v.Journal(context.Background(), owner, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []vault.Action
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

func count(actions []vault.Action, a vault.Action) int {
	n := 0
	for _, x := range actions {
		if x == a {
			n++
		}
	}
	return n
}

// A channel gets a code, then messages once verified. A wrong code counts, and the
// fifth locks it; a code past its time is refused; a new code starts again; the right
// one verifies and is journaled; removing it is journaled and stops everything.
func TestChannelVerification(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.10")
	o, err := b.a.CreateAccount(ctx, "amina", "le chat est vert", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	self := vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String(), IP: ip}
	if _, err := b.a.AddChannel(ctx, o.ID, account.ChannelSMS, "01 23 45 67 89", ip); !errors.Is(err, account.ErrBadMobile) {
		t.Fatalf("a landline: %v", err)
	}
	ch, err := b.a.AddChannel(ctx, o.ID, account.ChannelSMS, "06 12 34 56 78", ip)
	if err != nil {
		t.Fatal(err)
	}
	jobs := messageJobs(t, b, o.ID)
	if len(jobs) != 1 || jobs[0].What != account.NoticeCode || jobs[0].Channel != ch.ID {
		t.Fatalf("the code is not queued for the channel: %+v", jobs)
	}
	code := func() string {
		t.Helper()
		rc, err := b.a.MessageRecipient(ctx, o.ID, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rc.Address != "+33612345678" || rc.Kind != account.ChannelSMS || rc.Verified || len(rc.Code) != 6 {
			t.Fatalf("recipient: %+v", rc)
		}
		return rc.Code
	}
	right := code()
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	// Another safe cannot verify it, nor read it.
	other, err := b.a.CreateAccount(ctx, "karim", "le chien est bleu", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.a.VerifyChannel(ctx, other.ID, account.ChannelSMS, right, self); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("another owner verified the channel: %v", err)
	}
	if _, err := b.a.MessageRecipient(ctx, other.ID, ch.ID); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("another owner reads the channel: %v", err)
	}
	for i := 1; i <= account.CodeAttempts; i++ {
		err := b.a.VerifyChannel(ctx, o.ID, account.ChannelSMS, wrong, self)
		want := account.ErrWrongCode
		if i == account.CodeAttempts {
			want = account.ErrCodeLocked
		}
		if !errors.Is(err, want) {
			t.Fatalf("wrong code #%d: %v, want %v", i, err, want)
		}
	}
	if err := b.a.VerifyChannel(ctx, o.ID, account.ChannelSMS, right, self); !errors.Is(err, account.ErrCodeLocked) {
		t.Fatalf("the right code after the lock: %v", err)
	}
	// A new code; past its time it is refused, even right.
	if err := b.a.ResendCode(ctx, o.ID, account.ChannelSMS, ip); err != nil {
		t.Fatal(err)
	}
	right = code()
	b.clock.Advance(account.CodeTTL)
	if err := b.a.VerifyChannel(ctx, o.ID, account.ChannelSMS, right, self); !errors.Is(err, account.ErrCodeExpired) {
		t.Fatalf("an expired code: %v", err)
	}
	if rc, err := b.a.MessageRecipient(ctx, o.ID, ch.ID); err != nil || rc.Code != "" {
		t.Fatalf("an expired code would still be sent: %+v %v", rc, err)
	}
	if err := b.a.ResendCode(ctx, o.ID, account.ChannelSMS, ip); err != nil {
		t.Fatal(err)
	}
	right = code()
	if n := len(messageJobs(t, b, o.ID)); n != 3 {
		t.Fatalf("%d code messages queued, want 3", n)
	}
	if err := b.a.VerifyChannel(ctx, o.ID, account.ChannelSMS, right, self); err != nil {
		t.Fatal(err)
	}
	if err := b.a.VerifyChannel(ctx, o.ID, account.ChannelSMS, right, self); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("verifying twice: %v", err)
	}
	list, err := b.a.Channels(ctx, o.ID)
	if err != nil || len(list) != 1 || !list[0].Verified() || list[0].Address != "+33612345678" {
		t.Fatalf("channels: %+v %v", list, err)
	}
	if _, err := b.a.AddChannel(ctx, o.ID, account.ChannelSMS, "07 98 76 54 32", ip); !errors.Is(err, account.ErrChannelExists) {
		t.Fatalf("replacing a verified number without removing it: %v", err)
	}

	// Verified, it receives what the owner is told of, once per event.
	for range 2 {
		if err := b.a.Notify(ctx, o.ID, account.Notice{What: account.NoticeMandateEnding, Key: "mandate_ending:x", Detail: "CCAS de Lille"}); err != nil {
			t.Fatal(err)
		}
	}
	jobs = messageJobs(t, b, o.ID)
	if last := jobs[len(jobs)-1]; len(jobs) != 4 || last.What != account.NoticeMandateEnding || last.Channel != ch.ID {
		t.Fatalf("jobs after a notice told twice: %+v", jobs)
	}

	if err := b.a.RemoveChannel(ctx, o.ID, account.ChannelSMS, self); err != nil {
		t.Fatal(err)
	}
	if _, err := b.a.MessageRecipient(ctx, o.ID, ch.ID); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("a removed channel still reads: %v", err)
	}
	if err := b.a.RemoveChannel(ctx, o.ID, account.ChannelSMS, self); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
	if err := b.a.Notify(ctx, o.ID, account.Notice{What: account.NoticeMandateEnded, Key: "mandate_ended:x"}); err != nil {
		t.Fatal(err)
	}
	if n := len(messageJobs(t, b, o.ID)); n != 4 {
		t.Fatalf("a notice after the removal queued a message: %d jobs", n)
	}
	acts := b.journalActions(t, o.ID)
	if count(acts, account.ActionChannelVerified) != 1 || count(acts, account.ActionChannelRemoved) != 1 {
		t.Fatalf("journal: %v", acts)
	}
}

// Codes are limited per owner (and per network), in PostgreSQL: a stolen session cannot
// send hundreds of text messages.
func TestChannelCodesThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.20")
	o, err := b.a.CreateAccount(ctx, "amina", "le chat est vert", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.a.AddChannel(ctx, o.ID, account.ChannelEmail, "amina@exemple.fr", ip); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= account.CodesPerOwner; i++ {
		if err := b.a.ResendCode(ctx, o.ID, account.ChannelEmail, ip); err != nil {
			t.Fatalf("code #%d: %v", i, err)
		}
	}
	// Removing the address and adding another does not start again.
	if err := b.a.RemoveChannel(ctx, o.ID, account.ChannelEmail, vault.System); err != nil {
		t.Fatal(err)
	}
	_, err = b.a.AddChannel(ctx, o.ID, account.ChannelSMS, "06 12 34 56 78", ip)
	if _, locked := account.IsLocked(err); !locked {
		t.Fatalf("code #%d: %v, want locked", account.CodesPerOwner+1, err)
	}
	if n := len(messageJobs(t, b, o.ID)); n != account.CodesPerOwner {
		t.Fatalf("%d codes queued, want %d", n, account.CodesPerOwner)
	}
	b.clock.Advance(account.LockDuration + account.ThrottleWindow)
	if _, err := b.a.AddChannel(ctx, o.ID, account.ChannelSMS, "06 12 34 56 78", ip); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
}

// A sign-in from a kind of device not seen within 90 days is told to the owner; a new
// version of the same browser is not; the very first sign-in of a safe is not.
func TestNewDevice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.30")
	o, err := b.a.CreateAccount(ctx, "amina", "le chat est vert", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := b.a.AddChannel(ctx, o.ID, account.ChannelEmail, "amina@exemple.fr", ip)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := b.a.MessageRecipient(ctx, o.ID, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.a.VerifyChannel(ctx, o.ID, account.ChannelEmail, rc.Code, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}); err != nil {
		t.Fatal(err)
	}
	const (
		firefox133 = "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"
		firefox134 = "Mozilla/5.0 (Android 14; Mobile; rv:134.0) Gecko/134.0 Firefox/134.0"
		chromeWin  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
		safariIOS  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	)
	for ua, want := range map[string]string{firefox133: "Firefox / Android", chromeWin: "Chrome / Windows", safariIOS: "Safari / iOS",
		"Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36": "Samsung Internet / Android",
		"": "? / ?"} {
		if got := account.DeviceFamily(ua); got != want {
			t.Errorf("DeviceFamily(%q) = %q, want %q", ua, got, want)
		}
	}
	newDevice := func() int {
		n := 0
		for _, j := range messageJobs(t, b, o.ID) {
			if j.What == account.NoticeNewDevice {
				n++
			}
		}
		return n
	}
	sessions := []struct {
		ua   string
		want int // new-device messages queued so far
	}{
		{firefox133, 0}, // the first sign-in of the safe
		{firefox134, 0}, // the same browser, updated
		{chromeWin, 1},  // a new device
		{chromeWin, 1},
		{firefox133, 1},
	}
	for i, s := range sessions {
		if _, _, err := b.a.CreateSession(ctx, o.ID, "secret", s.ua, time.Hour); err != nil {
			t.Fatal(err)
		}
		if got := newDevice(); got != s.want {
			t.Fatalf("sign-in #%d (%s): %d new-device messages, want %d", i+1, account.DeviceFamily(s.ua), got, s.want)
		}
	}
	// 90 days later, the computer is new again; the phone, used meanwhile, is not.
	b.clock.Advance(60 * 24 * time.Hour)
	if _, _, err := b.a.CreateSession(ctx, o.ID, "secret", firefox133, time.Hour); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(31 * 24 * time.Hour)
	for _, ua := range []string{firefox133, chromeWin} {
		if _, _, err := b.a.CreateSession(ctx, o.ID, "secret", ua, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if got := newDevice(); got != 2 {
		t.Fatalf("after 91 days: %d new-device messages, want 2", got)
	}
	var n int
	if err := b.db.QueryRow(ctx, `SELECT count(*) FROM known_devices WHERE owner_id = $1`, o.ID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d known devices (%v), want 2: the old ones are forgotten", n, err)
	}
}
