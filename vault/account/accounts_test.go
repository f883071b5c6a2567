package account_test

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
)

func TestCheckSecret(t *testing.T) {
	for _, tc := range []struct {
		login, secret string
		want          error
	}{
		{"amina", "court", account.ErrSecretTooShort},
		{"amina", "onze-caract", account.ErrSecretTooShort},
		{"amina", "douze-caract", nil},
		{"amina", "le chat est vert", nil},
		{"amina", "un deux six", account.ErrSecretTooShort},
		{"amina", "le ch va ou", nil},
		{"amina", "azertyuiop123", account.ErrSecretCommon},
		{"amina", "Mot de passe 123", account.ErrSecretCommon},
		{"amina", "aaaaaaaaaaaaaaa", account.ErrSecretCommon},
		{"amina", "amina-2024-coffre", account.ErrSecretHasLogin},
	} {
		if err := account.CheckSecret(tc.login, tc.secret); !errors.Is(err, tc.want) {
			t.Errorf("CheckSecret(%q, %q) = %v, want %v", tc.login, tc.secret, err, tc.want)
		}
	}
}

func TestNormalizeLogin(t *testing.T) {
	for in, want := range map[string]string{"Amina.D": "amina.d", " 06 12 34 56 78 ": "0612345678", "zoé": "zoé"} {
		if got, err := account.NormalizeLogin(in); err != nil || got != want {
			t.Errorf("NormalizeLogin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ab", "a<b>c", "x'; drop", string(make([]byte, 65))} {
		if _, err := account.NormalizeLogin(bad); !errors.Is(err, account.ErrBadLogin) {
			t.Errorf("NormalizeLogin(%q) = %v, want ErrBadLogin", bad, err)
		}
	}
}

func TestAccountSignIn(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.10")
	self := vault.Actor{Kind: vault.ActorVisitor, ID: "-", IP: ip}
	o, err := b.a.CreateAccount(ctx, "Amina", "le chat est vert", self)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.a.CreateAccount(ctx, "amina", "une autre phrase longue", self); !errors.Is(err, vault.ErrLoginTaken) {
		t.Fatalf("second account with the same login: %v", err)
	}
	var hash string
	if err := b.db.QueryRow(ctx, `SELECT secret_hash FROM accounts WHERE owner_id = $1`, o.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if len(hash) < 20 || hash[:10] != "$argon2id$" {
		t.Fatalf("stored secret is not an argon2id hash: %q", hash)
	}

	got, err := b.a.Authenticate(ctx, "AMINA", "le chat est vert", ip)
	if err != nil || got.ID != o.ID {
		t.Fatalf("Authenticate = %v, %v", got, err)
	}
	if _, err := b.a.Authenticate(ctx, "amina", "le chat est bleu", ip); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := b.a.Authenticate(ctx, "nobody", "le chat est vert", ip); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("unknown login: %v", err)
	}
	entries, err := b.v.Journal(ctx, o.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Action != account.ActionLoginFailed || entries[1].Action != account.ActionLogin {
		t.Fatalf("journal: %s, %s; want login_failed then login", entries[0].Action, entries[1].Action)
	}

	t.Run("lockout after repeated failures, shared through the database", func(t *testing.T) {
		for i := 1; i < account.LoginFailures; i++ {
			if _, err := b.a.Authenticate(ctx, "amina", "pas le bon secret", ip); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		// A second service on the same database (another 'coffre serve') sees the lock.
		other := account.New(account.Config{DB: b.db, Vault: b.v, Now: b.clock.Now})
		_, err = other.Authenticate(ctx, "amina", "le chat est vert", ip)
		until, locked := account.IsLocked(err)
		if !locked || until.Sub(b.clock.Now()) < 10*time.Minute {
			t.Fatalf("right secret during lockout: %v", err)
		}
		b.clock.Advance(account.LockDuration + time.Second)
		if _, err := b.a.Authenticate(ctx, "amina", "le chat est vert", ip); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
	})

	t.Run("change secret", func(t *testing.T) {
		by := vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}
		if _, err := b.a.ChangeSecret(ctx, o.ID, "faux secret ici", "une phrase toute neuve", by, uuid.Nil); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("wrong current secret: %v", err)
		}
		if _, err := b.a.ChangeSecret(ctx, o.ID, "le chat est vert", "court", by, uuid.Nil); !errors.Is(err, account.ErrSecretTooShort) {
			t.Fatalf("weak new secret: %v", err)
		}
		mine, here, err := b.a.CreateSession(ctx, o.ID, "secret", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		elsewhere, _, err := b.a.CreateSession(ctx, o.ID, "secret", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		renewed, err := b.a.ChangeSecret(ctx, o.ID, "le chat est vert", "une phrase toute neuve", by, here.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The change ends every other session and gives this one a new token.
		for name, tok := range map[string]string{"the other session": elsewhere, "the old token": mine} {
			if _, err := b.a.SessionByToken(ctx, tok, time.Hour); !errors.Is(err, vault.ErrNotFound) {
				t.Errorf("%s after the change: %v", name, err)
			}
		}
		if s, err := b.a.SessionByToken(ctx, renewed, time.Hour); err != nil || s.ID != here.ID || !s.Fresh(time.Now()) {
			t.Errorf("the renewed session: %+v, %v", s, err)
		}
		es, err := b.v.Journal(ctx, o.ID, 0, 2)
		if err != nil || es[0].Action != account.ActionSessionsEnded || es[1].Action != account.ActionSecretChanged {
			t.Errorf("journal after the change: %+v, %v", es, err)
		}
		if _, err := b.a.Authenticate(ctx, "amina", "une phrase toute neuve", ip); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("language", func(t *testing.T) {
		if err := b.a.SetLanguage(ctx, o.ID, "en"); err != nil {
			t.Fatal(err)
		}
		a, err := b.a.Account(ctx, o.ID)
		if err != nil || a.Language != "en" || !a.HasSecret {
			t.Fatalf("Account = %+v, %v", a, err)
		}
		if err := b.a.SetLanguage(ctx, o.ID, "de"); !errors.Is(err, vault.ErrInvalid) {
			t.Fatalf("SetLanguage(de) = %v", err)
		}
	})

	// A device's zone is kept only until the person chooses one; a choice replaces
	// anything; a zone not offered is refused and changes nothing; each session reads it.
	t.Run("time zone", func(t *testing.T) {
		zone := func() string {
			t.Helper()
			a, err := b.a.Account(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			return a.TimeZone
		}
		if z := zone(); z != "" {
			t.Fatalf("a new account's zone: %q", z)
		}
		if kept, err := b.a.KeepTimeZone(ctx, o.ID, "Indian/Reunion"); err != nil || !kept || zone() != "Indian/Reunion" {
			t.Fatalf("KeepTimeZone(Reunion) = %v, %v: %q", kept, err, zone())
		}
		if kept, err := b.a.KeepTimeZone(ctx, o.ID, "Pacific/Tahiti"); err != nil || kept || zone() != "Indian/Reunion" {
			t.Fatalf("KeepTimeZone over a zone kept = %v, %v: %q", kept, err, zone())
		}
		if err := b.a.SetTimeZone(ctx, o.ID, "Pacific/Tahiti"); err != nil || zone() != "Pacific/Tahiti" {
			t.Fatalf("SetTimeZone(Tahiti) = %v: %q", err, zone())
		}
		for _, bad := range []string{"", "Europe/Berlin", "UTC", "Local"} {
			if err := b.a.SetTimeZone(ctx, o.ID, bad); !errors.Is(err, vault.ErrInvalid) || zone() != "Pacific/Tahiti" {
				t.Errorf("SetTimeZone(%q) = %v: %q", bad, err, zone())
			}
			if _, err := b.a.KeepTimeZone(ctx, o.ID, bad); !errors.Is(err, vault.ErrInvalid) {
				t.Errorf("KeepTimeZone(%q) = %v", bad, err)
			}
		}
		tok, _, err := b.a.CreateSession(ctx, o.ID, "secret", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := b.a.SessionByToken(ctx, tok, time.Hour); err != nil || s.TimeZone != "Pacific/Tahiti" {
			t.Errorf("the session's zone: %+v, %v", s, err)
		}
		if account.Location("Pacific/Tahiti").String() != "Pacific/Tahiti" || account.Location("Europe/Berlin").String() != account.Paris || account.Location("").String() != account.Paris {
			t.Error("Location does not give the zone named, or Paris's")
		}
	})
}

// TestParallelGuessesStopAtTheLimit: wrong secrets sent all at once for one login are
// each counted before they are checked, so that no more than LoginFailures are checked
// (argon2id holds 19 MiB each) and the rest are refused as locked, the right secret too
// until the lock ends. The same holds for the secret typed on an agent's screen.
func TestParallelGuessesStopAtTheLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const secret = "le chat est vert"
	for i, tc := range []struct {
		name  string
		check func(login string, owner uuid.UUID, secret string, ip netip.Addr) error
	}{
		{"sign-in", func(login string, _ uuid.UUID, secret string, ip netip.Addr) error {
			_, err := b.a.Authenticate(ctx, login, secret, ip)
			return err
		}},
		{"secret typed at a desk", func(_ string, owner uuid.UUID, secret string, ip netip.Addr) error {
			return b.a.CheckOwnerSecret(ctx, owner, secret, ip)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			login := "amina" + strconv.Itoa(i)
			ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(20 + i)})
			o, err := b.a.CreateAccount(ctx, login, secret, vault.System)
			if err != nil {
				t.Fatal(err)
			}
			var checked, locked atomic.Int32
			var wg sync.WaitGroup
			for range 40 {
				wg.Go(func() {
					err := tc.check(login, o.ID, "pas le bon secret", ip)
					_, isLocked := account.IsLocked(err)
					switch {
					case errors.Is(err, account.ErrBadCredentials):
						checked.Add(1)
					case isLocked:
						locked.Add(1)
					default:
						t.Errorf("a wrong secret: %v", err)
					}
				})
			}
			wg.Wait()
			if n := checked.Load(); n > account.LoginFailures {
				t.Errorf("%d wrong secrets checked at once, limit %d", n, account.LoginFailures)
			}
			if checked.Load()+locked.Load() != 40 {
				t.Errorf("%d checked, %d refused as locked, of 40", checked.Load(), locked.Load())
			}
			if _, isLocked := account.IsLocked(tc.check(login, o.ID, secret, ip)); !isLocked {
				t.Error("the right secret right after the burst is not refused")
			}
		})
	}
}

// TestSecretChecksWaitForASlot: no more than a few argon2id computations run at once in a
// process; a check that finds no slot in time is answered ErrBusy and counts nothing
// against the person, who signs in once the burst is over.
func TestSecretChecksWaitForASlot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.30")
	const secret = "le chat est vert"
	o, err := b.a.CreateAccount(ctx, "amina", secret, vault.System)
	if err != nil {
		t.Fatal(err)
	}
	release := account.HoldArgonSlots(t, b.a, 20*time.Millisecond)
	for range 2 * account.LoginFailures {
		if _, err := b.a.Authenticate(ctx, "amina", "pas le bon secret", ip); !errors.Is(err, account.ErrBusy) {
			t.Fatalf("sign-in while every slot is taken: %v", err)
		}
		if err := b.a.CheckOwnerSecret(ctx, o.ID, "pas le bon secret", ip); !errors.Is(err, account.ErrBusy) {
			t.Fatalf("consent while every slot is taken: %v", err)
		}
	}
	if _, err := b.a.CreateAccount(ctx, "lea.b", secret, vault.System); !errors.Is(err, account.ErrBusy) {
		t.Fatalf("sign-up while every slot is taken: %v", err)
	}
	release()
	if _, err := b.a.Authenticate(ctx, "amina", secret, ip); err != nil {
		t.Fatalf("sign-in after the burst: %v", err)
	}
}

func TestSessions(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	o, err := b.v.CreateOwner(ctx, "sam", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.v.CreateOwner(ctx, "lou", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	token, s, err := b.a.CreateSession(ctx, o.ID, "secret", "Firefox Android", 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < 43 {
		t.Fatalf("token %q is shorter than 256 bits", token)
	}
	var n int
	if err := b.db.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE token_sha256 = $1`, []byte(token)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the clear token is stored: %d, %v", n, err)
	}
	var device []byte
	if err := b.db.QueryRow(ctx, `SELECT device_sealed FROM sessions WHERE id = $1`, s.ID).Scan(&device); err != nil || string(device) == "Firefox Android" {
		t.Fatalf("device not sealed: %q %v", device, err)
	}
	got, err := b.a.SessionByToken(ctx, token, 30*time.Minute)
	if err != nil || got.OwnerID != o.ID {
		t.Fatalf("SessionByToken = %+v, %v", got, err)
	}
	list, err := b.a.Sessions(ctx, o.ID)
	if err != nil || len(list) != 1 || list[0].Device != "Firefox Android" {
		t.Fatalf("Sessions = %+v, %v", list, err)
	}
	if _, err := b.a.SessionByToken(ctx, token+"x", 30*time.Minute); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("wrong token: %v", err)
	}

	t.Run("idle timeout", func(t *testing.T) {
		b.clock.Advance(31 * time.Minute)
		if _, err := b.a.SessionByToken(ctx, token, 30*time.Minute); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("idle session: %v", err)
		}
	})
	t.Run("absolute timeout", func(t *testing.T) {
		tok, _, err := b.a.CreateSession(ctx, o.ID, "secret", "", 12*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(12*time.Hour + time.Second)
		if _, err := b.a.SessionByToken(ctx, tok, 24*time.Hour); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("expired session: %v", err)
		}
	})
	t.Run("a proof lasts SessionReverify, and Reverify renews it", func(t *testing.T) {
		acct, err := b.a.CreateAccount(ctx, "nour", "le chat est vert", vault.System)
		if err != nil {
			t.Fatal(err)
		}
		tok, s, err := b.a.CreateSession(ctx, acct.ID, "secret", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Fresh(b.clock.Now()) || s.Fresh(b.clock.Now().Add(account.SessionReverify)) {
			t.Errorf("a sign-in is a proof for SessionReverify: verified at %v", s.VerifiedAt)
		}
		ip := netip.MustParseAddr("192.0.2.7")
		if err := b.a.Reverify(ctx, s, "le chat est bleu", ip); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("wrong secret: %v", err)
		}
		b.clock.Advance(account.SessionReverify + time.Minute) // the sign-in's proof is stale
		if s.Fresh(b.clock.Now()) {
			t.Fatal("a sign-in proof outlived SessionReverify")
		}
		if err := b.a.Reverify(ctx, s, "le chat est vert", ip); err != nil {
			t.Fatal(err)
		}
		later := b.clock.Now().Add(account.SessionReverify + time.Minute)
		got, err := b.a.SessionByToken(ctx, tok, time.Hour)
		if err != nil || !got.Fresh(b.clock.Now()) || got.Fresh(later) {
			t.Errorf("after Reverify: %+v, %v", got, err)
		}
		es, _ := b.v.Journal(ctx, acct.ID, 0, 2)
		if len(es) != 2 || es[0].Action != account.ActionReverified || es[1].Action != account.ActionLoginFailed {
			t.Errorf("journal: %+v", es)
		}
	})
	t.Run("end one, another owner's, everywhere", func(t *testing.T) {
		t1, s1, _ := b.a.CreateSession(ctx, o.ID, "secret", "", time.Hour)
		t2, _, _ := b.a.CreateSession(ctx, o.ID, "secret", "", time.Hour)
		if err := b.a.EndSessionID(ctx, other.ID, s1.ID); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("ending another owner's session: %v", err)
		}
		if err := b.a.EndSession(ctx, t1); err != nil {
			t.Fatal(err)
		}
		if _, err := b.a.SessionByToken(ctx, t1, time.Hour); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("after logout: %v", err)
		}
		if _, err := b.a.EndAllSessions(ctx, o.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.a.SessionByToken(ctx, t2, time.Hour); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("after logout everywhere: %v", err)
		}
	})
}

func FuzzNormalizeLogin(f *testing.F) {
	for _, s := range []string{"Amina", " 06 12 34 56 78 ", "zoé", "a<b>", "", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := account.NormalizeLogin(s)
		if err != nil {
			return
		}
		again, err := account.NormalizeLogin(n)
		if err != nil || again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, n, again, err)
		}
		if strings.ContainsAny(n, " <>'\"") {
			t.Fatalf("%q kept a forbidden character", n)
		}
	})
}

// TestTakeSignUp: a network (an IPv4 /24, an IPv6 /48) opens Config.SignUps safes by
// itself in a window; others are not held back, and the window passing frees it.
func TestTakeSignUp(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	srv := account.New(account.Config{DB: b.db, Vault: b.v, Now: b.clock.Now, SignUps: 3})
	for i, ip := range []string{"192.0.2.10", "192.0.2.11", "192.0.2.200"} {
		if err := srv.TakeSignUp(ctx, netip.MustParseAddr(ip)); err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
	}
	if _, locked := account.IsLocked(srv.TakeSignUp(ctx, netip.MustParseAddr("192.0.2.12"))); !locked {
		t.Fatal("a fourth sign-up from one /24 went through")
	}
	if err := srv.TakeSignUp(ctx, netip.MustParseAddr("198.51.100.7")); err != nil {
		t.Errorf("another network held back: %v", err)
	}
	if err := srv.TakeSignUp(ctx, netip.Addr{}); err != nil {
		t.Errorf("no address (a process behind nothing): %v", err)
	}
	b.clock.Advance(account.ThrottleWindow + account.LockDuration + time.Minute)
	if err := srv.TakeSignUp(ctx, netip.MustParseAddr("192.0.2.12")); err != nil {
		t.Errorf("after the window: %v", err)
	}
}
