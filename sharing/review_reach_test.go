package sharing_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// TestEveryBoundOnTheClock: since sharing's clock became a parameter of its SQL, each
// time limit that lets someone in still holds, on the service's clock, in the right
// direction: what it allows works one second before its end, and is refused from the
// end on (the test clock is the real time moved, so "at the end" is a hair after it). A
// comparison inverted or a bound dropped fails one of the two.
func TestEveryBoundOnTheClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	st := b.structure(t, "CCAS de Lille")
	a := b.agent(t, st, "m.dupont", "Mme Dupont", sharing.RoleAgent)
	c, _ := b.client(t)
	approve := func(t *testing.T) (code, verifier string) {
		t.Helper()
		verifier, challenge := pkce()
		req, err := b.s.ParseAuthorization(ctx, authQuery(c.ID, challenge, cafDetails))
		if err != nil {
			t.Fatal(err)
		}
		back, err := b.s.Approve(ctx, req, b.owner, b.by, []uuid.UUID{b.doc.ID})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(back)
		return u.Query().Get("code"), verifier
	}
	people := 0
	type bound struct {
		end time.Time    // the first instant it no longer allows
		use func() error // nil while it allows
	}
	tests := []struct {
		name string
		// make starts the thing at the clock's time; it is called once for the try
		// before the end, once for the try at the end.
		make func(t *testing.T) bound
	}{
		{"share link", func(t *testing.T) bound {
			l := b.link(t, sharing.NewLink{Lifetime: time.Hour})
			return bound{l.Link.ExpiresAt, func() error { _, err := b.s.Resolve(ctx, l.Token); return err }}
		}},
		{"authorization code", func(t *testing.T) bound {
			code, verifier := approve(t)
			return bound{b.Clock.Now().Add(time.Minute), func() error { _, _, err := b.s.Exchange(ctx, c, code, verifier, redirect); return err }}
		}},
		{"access token", func(t *testing.T) bound {
			code, verifier := approve(t)
			token, g, err := b.s.Exchange(ctx, c, code, verifier, redirect)
			if err != nil {
				t.Fatal(err)
			}
			return bound{g.ExpiresAt, func() error { _, err := b.s.GrantByToken(ctx, token); return err }}
		}},
		{"mandate", func(t *testing.T) bound {
			p := b.person(t, "lea.m"+string(rune('a'+people)))
			people++
			if _, err := b.s.DeskUnlock(ctx, a.Agent, p.login, p.secret, b.ip); err != nil {
				t.Fatal(err)
			}
			m := b.grant(t, a, p.id, sharing.OneDay, sharing.ScopeRead)
			return bound{*m.ExpiresAt, func() error { return b.s.Authorize(ctx, a.Agent, p.id, sharing.ScopeRead, b.ip) }}
		}},
		{"mandate waiting for the phone", func(t *testing.T) bound {
			p := b.person(t, "lea.p"+string(rune('a'+people)))
			people++
			if _, err := b.s.DeskUnlock(ctx, a.Agent, p.login, p.secret, b.ip); err != nil {
				t.Fatal(err)
			}
			m, err := b.s.GrantMandate(ctx, a.Agent, p.id, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.OneDay},
				sharing.Consent{Method: sharing.ConsentPhone, TextVersion: "mandat-v2"}, b.ip)
			if err != nil {
				t.Fatal(err)
			}
			return bound{m.CreatedAt.Add(15 * time.Minute), func() error { _, err := b.s.ConfirmMandate(ctx, p.id, m.ID, b.ip); return err }}
		}},
		{"desk unlock", func(t *testing.T) bound {
			p := b.person(t, "lea.d"+string(rune('a'+people)))
			people++
			if _, err := b.s.DeskUnlock(ctx, a.Agent, p.login, p.secret, b.ip); err != nil {
				t.Fatal(err)
			}
			return bound{b.Clock.Now().Add(sharing.DeskUnlockTTL), func() error { return b.s.Authorize(ctx, a.Agent, p.id, sharing.ScopeReach, b.ip) }}
		}},
		{"agent session, idle", func(t *testing.T) bound {
			token, _, err := b.s.CreateAgentSession(ctx, a.Agent)
			if err != nil {
				t.Fatal(err)
			}
			return bound{b.Clock.Now().Add(sharing.AgentIdle), func() error { _, err := b.s.AgentSessionByToken(ctx, token); return err }}
		}},
		{"agent session, a working day", func(t *testing.T) bound {
			token, as, err := b.s.CreateAgentSession(ctx, a.Agent)
			if err != nil {
				t.Fatal(err)
			}
			// Kept busy, so that only its end ends it.
			for b.Clock.Now().Before(as.ExpiresAt.Add(-sharing.AgentIdle / 2)) {
				b.Clock.Advance(sharing.AgentIdle / 2)
				if _, err := b.s.AgentSessionByToken(ctx, token); err != nil {
					t.Fatalf("a busy session ended at %s: %v", b.Clock.Now(), err)
				}
			}
			return bound{as.ExpiresAt, func() error { _, err := b.s.AgentSessionByToken(ctx, token); return err }}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.make(t)
			b.Clock.Advance(before.end.Sub(b.Clock.Now()) - time.Second)
			if err := before.use(); err != nil {
				t.Errorf("a second before its end: %v", err)
			}
			at := tt.make(t)
			b.Clock.Advance(at.end.Sub(b.Clock.Now()))
			if err := at.use(); err == nil {
				t.Errorf("at its end (%s): still allowed", at.end)
			}
		})
	}
}

// TestTOTPOnTheServiceClock: an agent's code is checked at the service's time: a code of
// that time signs in, one of five minutes before does not.
func TestTOTPOnTheServiceClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	b.Clock.Advance(-48 * time.Hour) // far from the machine's time, which must not decide
	stale := code(t, a.totp, b.Clock.Now())
	b.Clock.Advance(5 * time.Minute)
	if _, err := b.s.AuthenticateAgent(ctx, a.Login, a.password, stale, b.ip); err == nil {
		t.Error("a code of five minutes ago signs in")
	}
	if _, err := b.s.AuthenticateAgent(ctx, a.Login, a.password, code(t, a.totp, b.Clock.Now()), b.ip); err != nil {
		t.Errorf("the code of the service's time: %v", err)
	}
}

// TestOpenDecidesEveryWayInAlone: a closure revokes links and grants and ends mandates
// (SafeClosed), but each way in also reads owners.open itself, so that a safe marked
// closed or erased answers nobody even where that revocation did not happen (a
// participant left out, a row written meanwhile). The owner row is changed here behind
// vault's back, so that only the open check can refuse; cleared again, everything works,
// which proves the refusals came from it.
func TestOpenDecidesEveryWayInAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	p := b.person(t, "lea.o")
	if _, err := b.s.DeskUnlock(ctx, a.Agent, p.login, p.secret, b.ip); err != nil {
		t.Fatal(err)
	}
	b.grant(t, a, p.id, sharing.OneDay, sharing.ScopeRead)
	l := b.link(t, sharing.NewLink{Lifetime: time.Hour})
	c, _ := b.client(t)
	verifier, challenge := pkce()
	req, err := b.s.ParseAuthorization(ctx, authQuery(c.ID, challenge, cafDetails))
	if err != nil {
		t.Fatal(err)
	}
	back, err := b.s.Approve(ctx, req, b.owner, b.by, []uuid.UUID{b.doc.ID})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(back)
	token, _, err := b.s.Exchange(ctx, c, u.Query().Get("code"), verifier, redirect)
	if err != nil {
		t.Fatal(err)
	}
	ways := map[string]func() error{
		"link": func() error { _, err := b.s.Resolve(ctx, l.Token); return err },
		"link download": func() error {
			r, err := b.s.Open(ctx, l.Link, b.doc.ID, b.doc.Blob(vault.RoleRendition).ID, b.ip, vault.ActionDownload, "")
			if err == nil {
				r.Close()
			}
			return err
		},
		"bundle": func() error { return b.s.CountBundle(ctx, l.Link) },
		"grant":  func() error { _, err := b.s.GrantByToken(ctx, token); return err },
		"agent":  func() error { return b.s.Authorize(ctx, a.Agent, p.id, sharing.ScopeRead, b.ip) },
	}
	set := func(sql string) {
		t.Helper()
		if _, err := b.DB.Exec(ctx, `UPDATE owners SET `+sql+` WHERE id = ANY($1)`, []uuid.UUID{b.owner, p.id}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, want bool) {
		t.Helper()
		for name, try := range ways {
			if err := try(); (err == nil) != want {
				t.Errorf("%s: %s answers %v, want it to work: %v", when, name, err, want)
			}
		}
	}
	check("open", true)
	set(`closed_at = now(), erase_after = now() + interval '1 year'`)
	check("marked closed", false)
	set(`closed_at = NULL, erase_after = NULL`)
	check("marked open again", true)
	set(`shredded_at = now()`)
	check("marked erased", false)
}

// TestReopenedSafeGivesTheOpenerNothingBack: the structure that opened a safe at its desk
// reaches it (it may find it, ask for a mandate, start a desk recovery) until the person
// ends a mandate of it. Closing the safe ends that reach like every other way in: after
// the person reopens it, the structure must be given it again (a new desk unlock, a new
// mandate), not find it waiting.
func TestReopenedSafeGivesTheOpenerNothingBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	opened, err := b.s.OpenSafeFor(ctx, a.Agent, "lea.ouverte", b.ip)
	if err != nil {
		t.Fatal(err)
	}
	owner := opened.Owner.ID
	by := vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}
	if err := b.s.Authorize(ctx, a.Agent, owner, sharing.ScopeReach, b.ip); err != nil {
		t.Fatalf("the opener's reach: %v", err)
	}
	if _, err := b.V.CloseSafe(ctx, owner, by, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.V.ReopenSafe(ctx, owner, by); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []sharing.Scope{sharing.ScopeReach, sharing.ScopeDeskRecovery} {
		if err := b.s.Authorize(ctx, a.Agent, owner, sc, b.ip); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("%s in the reopened safe by the structure that opened it: %v", sc, err)
		}
	}
}
