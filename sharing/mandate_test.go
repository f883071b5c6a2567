package sharing_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/vaulttest"
)

// passkey is consent by passkey, the web having verified the assertion: no argon2 cost
// in tests that are not about consent.
var passkey = sharing.Consent{Method: sharing.ConsentPasskey, PasskeyVerified: true, TextVersion: "mandat-v1"} //nolint:gochecknoglobals // a test constant

func (b *testBundle) grant(t *testing.T, a *staff, owner uuid.UUID, d sharing.Duration, scopes ...sharing.Scope) *sharing.Mandate {
	t.Helper()
	m, err := b.s.GrantMandate(context.Background(), a.Agent, owner, sharing.NewMandate{Scopes: scopes, Duration: d}, passkey, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMandateNotice: a mandate is announced as ending a quarter of its length ahead, at
// most 30 days; a day's mandate never is.
func TestMandateNotice(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 8, 31, 10, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		d        sharing.Duration
		after    time.Duration // from the start
		wantSoon bool
	}{
		{sharing.OneDay, 0, false},
		{sharing.OneDay, 23 * time.Hour, false},
		{sharing.OneMonth, 0, false},
		{sharing.OneMonth, 23 * day, false}, // 8 days left of 31; the notice is 7.75 days
		{sharing.OneMonth, 24 * day, true},
		{sharing.OneMonth, 31*day - time.Minute, true},
		{sharing.OneMonth, 31 * day, false}, // ended
		{sharing.SixMonths, 0, false},
		{sharing.SixMonths, 153 * day, false}, // 6 months from 31 August is 184 days
		{sharing.SixMonths, 154 * day, true},
		{sharing.TwelveMonths, 334 * day, false},
		{sharing.TwelveMonths, 335 * day, true},
	}
	for _, tt := range tests {
		end := tt.d.End(start)
		m := &sharing.Mandate{StartsAt: &start, ExpiresAt: &end}
		if got := m.ExpiresSoon(start.Add(tt.after)); got != tt.wantSoon {
			t.Errorf("%s mandate, %s after its start: ExpiresSoon = %v, want %v", tt.d, tt.after, got, tt.wantSoon)
		}
	}
}

func TestMandateDurations(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 8, 31, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"1d", start.Add(24 * time.Hour)},
		{"1m", time.Date(2026, 10, 1, 10, 0, 0, 0, time.UTC)}, // 31 September does not exist: never shorter
		{"6m", time.Date(2027, 3, 3, 10, 0, 0, 0, time.UTC)},
		{"12m", time.Date(2027, 8, 31, 10, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		d, err := sharing.ParseDuration(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.End(start); !got.Equal(tt.want) {
			t.Errorf("%s from %s = %s, want %s", tt.in, start, got, tt.want)
		}
	}
	for _, bad := range []string{"", "2d", "3m", "1y", "24h", "12M"} {
		if _, err := sharing.ParseDuration(bad); !errors.Is(err, sharing.ErrBadRequest) {
			t.Errorf("ParseDuration(%q) = %v, want ErrBadRequest", bad, err)
		}
	}

	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	for _, nm := range []sharing.NewMandate{
		{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: "2m"},
		{Scopes: []sharing.Scope{sharing.ScopeRead}},
		{Scopes: nil, Duration: sharing.OneDay},
		{Scopes: []sharing.Scope{sharing.ScopeDelete}, Duration: sharing.OneDay},
		{Scopes: []sharing.Scope{"export"}, Duration: sharing.OneDay},
	} {
		if _, err := b.s.GrantMandate(ctx, a.Agent, b.owner, nm, passkey, b.ip); !errors.Is(err, sharing.ErrBadRequest) {
			t.Errorf("GrantMandate(%+v) = %v, want ErrBadRequest", nm, err)
		}
	}
	for _, d := range []sharing.Duration{sharing.OneDay, sharing.OneMonth, sharing.SixMonths, sharing.TwelveMonths} {
		m := b.grant(t, a, b.owner, d, sharing.ScopeRead, sharing.ScopeRead)
		if want := d.End(*m.StartsAt); !m.ExpiresAt.Equal(want) || len(m.Scopes) != 1 {
			t.Errorf("%s: expires %s, want %s; scopes %v", d, m.ExpiresAt, want, m.Scopes)
		}
	}
	// Each grant replaced the previous one: one live mandate per structure and owner.
	ms, err := b.s.Mandates(ctx, b.owner)
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, m := range ms {
		if m.Live(time.Now()) {
			live++
			if m.Duration != sharing.TwelveMonths {
				t.Errorf("the live mandate is the %s one", m.Duration)
			}
		}
	}
	if len(ms) != 4 || live != 1 {
		t.Errorf("%d mandates, %d live; want 4, 1", len(ms), live)
	}
}

func TestMandateLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	colleague := b.agent(t, b.structure(t, "CCAS de Roubaix"), "m.martin", "M. Martin", sharing.RoleAgent)
	o, err := b.A.CreateAccount(ctx, "lea.b", "ma phrase secrète à moi", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	nm := sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead, sharing.ScopeDeposit}, Duration: sharing.OneDay}

	// Consent by secret: a wrong secret records nothing, and tells an agent who does not
	// reach the safe no more than a missing one would.
	if _, err := b.s.GrantMandate(ctx, a.Agent, o.ID, nm, sharing.Consent{Method: sharing.ConsentSecret, Secret: "pas la bonne phrase", TextVersion: "mandat-v1"}, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := b.s.GrantMandate(ctx, a.Agent, o.ID, nm, sharing.Consent{Method: sharing.ConsentPasskey, TextVersion: "mandat-v1"}, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("unverified passkey: %v", err)
	}
	if _, err := b.s.GrantMandate(ctx, a.Agent, o.ID, nm, sharing.Consent{Method: sharing.ConsentSecret, Secret: "ma phrase secrète à moi"}, b.ip); !errors.Is(err, sharing.ErrBadRequest) {
		t.Fatalf("no text version: %v", err)
	}
	if ms, _ := b.s.Mandates(ctx, o.ID); len(ms) != 0 {
		t.Fatalf("refused consents left %d mandates", len(ms))
	}
	m, err := b.s.GrantMandate(ctx, a.Agent, o.ID, nm, sharing.Consent{Method: sharing.ConsentSecret, Secret: "ma phrase secrète à moi", TextVersion: "mandat-v1"}, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Live(time.Now()) || m.ExpiresSoon(time.Now()) || m.ConsentMethod != sharing.ConsentSecret || m.GrantedBy != a.ID {
		t.Errorf("mandate %+v", m)
	}
	if es := b.entries(t, o.ID, sharing.ActionMandateGranted); len(es) != 1 || es[0].ActorID != a.ID.String() {
		t.Errorf("granted entries %+v", es)
	} else if _, detail := es[0].PersonalData(); !strings.HasPrefix(detail, "Mme D. (CCAS de Lille)") || !strings.Contains(detail, "mandat-v1") {
		t.Errorf("granted detail %q", detail)
	}
	if err := b.s.Authorize(ctx, a.Agent, o.ID, sharing.ScopeDeposit, b.ip); err != nil {
		t.Errorf("deposit under mandate: %v", err)
	}
	expiring, err := b.s.MandatesExpiringWithin(ctx, sharing.ExpiryNotice)
	if err != nil || len(expiring) != 1 || expiring[0].ID != m.ID {
		t.Errorf("expiring = %v, %v", expiring, err)
	}
	ofStructure, err := b.s.StructureMandates(ctx, a.Agent)
	if err != nil || len(ofStructure) != 1 || ofStructure[0].OwnerLogin != "lea.b" {
		t.Errorf("structure mandates = %+v, %v", ofStructure, err)
	}

	// An agent of another structure cannot revoke it; the owner can, at once.
	if err := b.s.RevokeMandateAsAgent(ctx, colleague.Agent, o.ID, m.ID, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("revoked by another structure: %v", err)
	}
	if err := b.s.RevokeMandate(ctx, o.ID, m.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}); err != nil {
		t.Fatal(err)
	}
	if err := b.s.Authorize(ctx, a.Agent, o.ID, sharing.ScopeRead, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("read after revocation: %v", err)
	}
	if err := b.s.RevokeMandate(ctx, o.ID, m.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("revoked twice: %v", err)
	}

	// The agent's own structure revokes too.
	m2 := b.grant(t, a, o.ID, sharing.SixMonths, sharing.ScopeShare)
	if m2.ExpiresSoon(time.Now()) {
		t.Error("a 6-month mandate is announced as expiring")
	}
	if err := b.s.RevokeMandateAsAgent(ctx, a.Agent, o.ID, m2.ID, b.ip); err != nil {
		t.Fatal(err)
	}
	if es := b.entries(t, o.ID, sharing.ActionMandateRevoked); len(es) != 2 || es[1].ActorID != a.ID.String() {
		t.Errorf("revoked entries %+v", es)
	}

	// Consent from the owner's phone: nothing is allowed until the owner confirms.
	pending, err := b.s.GrantMandate(ctx, a.Agent, o.ID, nm, sharing.Consent{Method: sharing.ConsentPhone, TextVersion: "mandat-v1"}, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	if pending.StartsAt != nil || pending.Live(time.Now()) {
		t.Errorf("pending mandate is live: %+v", pending)
	}
	if err := b.s.Authorize(ctx, a.Agent, o.ID, sharing.ScopeRead, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("read under a pending mandate: %v", err)
	}
	if _, err := b.s.ConfirmMandate(ctx, b.owner, pending.ID, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("confirmed by another owner: %v", err)
	}
	confirmed, err := b.s.ConfirmMandate(ctx, o.ID, pending.ID, b.ip)
	if err != nil || !confirmed.Live(time.Now()) {
		t.Fatalf("confirm: %+v, %v", confirmed, err)
	}
	if err := b.s.Authorize(ctx, a.Agent, o.ID, sharing.ScopeRead, b.ip); err != nil {
		t.Errorf("read after confirmation: %v", err)
	}
}

// TestOpenerReachEndsWithTheOwnersWord: the structure that opened a safe reaches it (to
// ask for a mandate, to help recover access after an identity check) until the owner
// ends a mandate of that structure; from then on only a live mandate or a desk unlock
// gives reach, and the desk recovery path is closed to it.
func TestOpenerReachEndsWithTheOwnersWord(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	opened, err := b.s.OpenSafeFor(ctx, a.Agent, "lea.b", b.ip)
	if err != nil {
		t.Fatal(err)
	}
	owner, me := opened.Owner.ID, vault.Actor{Kind: vault.ActorOwner, ID: opened.Owner.ID.String()}
	const mine = "ma phrase secrète à moi"
	if _, err := b.A.ChangeTemporaryCode(ctx, owner, opened.Code.Code, mine, me, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	noUnlocks := func() {
		t.Helper()
		if _, err := b.DB.Exec(ctx, `DELETE FROM desk_unlocks`); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.s.Authorize(ctx, a.Agent, owner, sharing.ScopeDeskRecovery, b.ip); err != nil {
		t.Fatalf("the opener before any mandate: %v", err)
	}
	m := b.grant(t, a, owner, sharing.SixMonths, sharing.ScopeRead)
	if err := b.s.RevokeMandate(ctx, owner, m.ID, me); err != nil {
		t.Fatal(err)
	}
	noUnlocks() // the consent typed at the desk a moment ago
	check := sharing.IdentityCheck{Document: sharing.DocumentIDCard, NumberEnd: "12AB"}
	if _, err := b.s.RecoverAfterIdentityCheck(ctx, a.Agent, owner, check, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("a desk recovery by the opener after the owner ended its mandate: %v", err)
	}
	if err := b.s.Authorize(ctx, a.Agent, owner, sharing.ScopeReach, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("the opener finds the safe after the owner ended its mandate: %v", err)
	}
	if _, err := b.A.PendingRecovery(ctx, owner); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("a recovery waits: %v", err)
	}
	// The person comes back and consents again at the desk: the structure helps again
	// under that mandate only.
	b.grant(t, a, owner, sharing.OneDay, sharing.ScopeDeposit)
	noUnlocks()
	if err := b.s.Authorize(ctx, a.Agent, owner, sharing.ScopeDeskRecovery, b.ip); err != nil {
		t.Errorf("under a new mandate: %v", err)
	}
	b.Clock.Advance(24*time.Hour + time.Second) // the mandate lasts one day
	if err := b.s.Authorize(ctx, a.Agent, owner, sharing.ScopeDeskRecovery, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("once that mandate is over: %v", err)
	}
}

// TestTemporaryCodeIsNoConsent: the temporary code an agent printed is no proof of the
// person's consent. A mandate with it as the secret is refused (ErrTemporarySecret) and
// recorded nowhere; typed to find the safe, it gives an agent no reach beyond what their
// structure already has. Once the person chose their own secret, that works.
func TestTemporaryCodeIsNoConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	stranger := b.agent(t, b.structure(t, "CCAS de Roubaix"), "m.martin", "M. Martin", sharing.RoleAgent)
	opened, err := b.s.OpenSafeFor(ctx, a.Agent, "lea.b", b.ip)
	if err != nil {
		t.Fatal(err)
	}
	owner, code := opened.Owner.ID, opened.Code.Code
	nm := sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead, sharing.ScopeRecover}, Duration: sharing.TwelveMonths}
	byCode := sharing.Consent{Method: sharing.ConsentSecret, Secret: code, TextVersion: "mandat-v2"}
	for _, ag := range []*staff{a, stranger} {
		if _, err := b.s.GrantMandate(ctx, ag.Agent, owner, nm, byCode, b.ip); !errors.Is(err, sharing.ErrTemporarySecret) {
			t.Errorf("%s: a mandate with the printed code: %v, want ErrTemporarySecret", ag.Name, err)
		}
	}
	if ms, err := b.s.Mandates(ctx, owner); err != nil || len(ms) != 0 {
		t.Fatalf("mandates recorded: %d, %v", len(ms), err)
	}
	// Typed to find the safe: the opener goes on (it reaches the safe anyway), another
	// structure is told, and neither is unlocked.
	if id, err := b.s.DeskUnlock(ctx, a.Agent, "lea.b", code, b.ip); err != nil || id != owner {
		t.Errorf("the opener types the code: %v", err)
	}
	if _, err := b.s.DeskUnlock(ctx, stranger.Agent, "lea.b", code, b.ip); !errors.Is(err, sharing.ErrTemporarySecret) {
		t.Errorf("another structure types the code: %v, want ErrTemporarySecret", err)
	}
	var unlocks int
	if err := b.DB.QueryRow(ctx, `SELECT count(*) FROM desk_unlocks WHERE owner_id = $1`, owner).Scan(&unlocks); err != nil || unlocks != 0 {
		t.Fatalf("desk unlocks with the printed code: %d, %v", unlocks, err)
	}
	if err := b.s.Authorize(ctx, stranger.Agent, owner, sharing.ScopeReach, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("another structure reaches the safe: %v", err)
	}
	if n := len(b.entries(t, owner, sharing.ActionDeskUnlocked)); n != 0 {
		t.Errorf("%d desk_unlocked entries", n)
	}
	// The person chooses their own secret: that is their consent.
	const mine = "ma phrase secrète à moi"
	if _, err := b.A.ChangeTemporaryCode(ctx, owner, code, mine, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.GrantMandate(ctx, a.Agent, owner, nm, sharing.Consent{Method: sharing.ConsentSecret, Secret: mine, TextVersion: "mandat-v2"}, b.ip); err != nil {
		t.Fatalf("a mandate with the person's own secret: %v", err)
	}
	// A recovery code is a temporary code too.
	ac, err := b.s.RecoverAccess(ctx, a.Agent, owner, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.GrantMandate(ctx, a.Agent, owner, nm, sharing.Consent{Method: sharing.ConsentSecret, Secret: ac.Code, TextVersion: "mandat-v2"}, b.ip); !errors.Is(err, sharing.ErrTemporarySecret) {
		t.Errorf("a mandate with a recovery code: %v, want ErrTemporarySecret", err)
	}
}

// TestWrongSecretOfAnAgentWhoReaches: a wrong secret typed on the screen of an agent who
// reaches the safe anyway says so (ErrBadCredentials), and is in the person's history
// once.
func TestWrongSecretOfAnAgentWhoReaches(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	o, err := b.A.CreateAccount(ctx, "lea.b", "ma phrase secrète à moi", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	b.grant(t, a, o.ID, sharing.OneMonth, sharing.ScopeRead)
	if _, err := b.s.DeskUnlock(ctx, a.Agent, "lea.b", "pas la bonne phrase", b.ip); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("desk unlock: %v, want ErrBadCredentials", err)
	}
	if _, err := b.s.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.OneDay},
		sharing.Consent{Method: sharing.ConsentSecret, Secret: "pas la bonne phrase", TextVersion: "mandat-v2"}, b.ip); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("mandate: %v, want ErrBadCredentials", err)
	}
	if n := len(b.entries(t, o.ID, vault.ActionDenied)); n != 2 {
		t.Errorf("%d denied entries for two wrong secrets", n)
	}
}

func TestMandateReceipt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	m := b.grant(t, a, b.owner, sharing.TwelveMonths, sharing.ScopeRead, sharing.ScopeShare)
	pub := b.Signing.Public().(ed25519.PublicKey)

	jws, st, err := sharing.MandateReceipt(b.Signing, m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sharing.VerifyMandateReceipt(jws, pub)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID.String() || got.Owner != b.owner || got.StructureSIRET != m.StructureSIRET || len(got.Scopes) != 2 ||
		!got.ExpiresAt.Equal(*m.ExpiresAt) || got.ConsentText != "mandat-v1" || got.IssuedAt != st.IssuedAt {
		t.Errorf("statement %+v", got)
	}
	// A changed payload, another key, or a delivery receipt's check: refused.
	parts := strings.Split(jws, ".")
	forged := parts[0] + "." + strings.Replace(parts[1], parts[1][10:14], "AAAA", 1) + "." + parts[2]
	if _, err := sharing.VerifyMandateReceipt(forged, pub); !errors.Is(err, sharing.ErrBadReceipt) {
		t.Errorf("forged receipt: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if _, err := sharing.VerifyMandateReceipt(jws, other); !errors.Is(err, sharing.ErrBadReceipt) {
		t.Errorf("other key: %v", err)
	}
	if _, err := sharing.VerifyReceipt(jws, pub); !errors.Is(err, sharing.ErrBadReceipt) {
		t.Errorf("a mandate receipt passes for a delivery receipt: %v", err)
	}

	ms, err := b.s.Mandates(ctx, b.owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []sharing.PaperSize{sharing.A6, sharing.A4} {
		var buf bytes.Buffer
		if err := sharing.MandateReceiptPDF(&buf, sharing.MandateReceiptDoc{Mandate: &ms[0], JWS: jws, VerifyURL: "https://coffre.example.fr/mandats/verifier"}, size); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) || bytes.Count(buf.Bytes(), []byte("/Type /Page\n")) != 1 {
			t.Errorf("%s: not a one-page PDF", size)
		}
	}
}

// TestAuthorizationMatrix runs every action an agent may attempt on an owner's safe
// against every kind of agent, and checks each cell's answer and, for each refusal, the
// failed attempt in the owner's history.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	newAgent := func(name string) *staff {
		return b.agent(t, b.structure(t, "CCAS "+name), "agent."+strings.ToLower(strings.ReplaceAll(name, " ", "")), "Agent "+name, sharing.RoleAgent)
	}
	all := []sharing.Scope{sharing.ScopeDeposit, sharing.ScopeRead, sharing.ScopeShare}
	deposit, read, share, full := newAgent("Depot"), newAgent("Lecture"), newAgent("Partage"), newAgent("Complet")
	b.grant(t, deposit, b.owner, sharing.OneMonth, sharing.ScopeDeposit)
	b.grant(t, read, b.owner, sharing.OneMonth, sharing.ScopeRead)
	b.grant(t, share, b.owner, sharing.OneMonth, sharing.ScopeShare)
	b.grant(t, full, b.owner, sharing.TwelveMonths, all...)
	stranger := newAgent("Ailleurs") // another structure, no mandate
	expired := newAgent("Expire")
	b.grant(t, expired, b.owner, sharing.OneDay, all...)
	b.Clock.Advance(24*time.Hour + time.Second) // em lasts one day, the others a month or more
	revoked := newAgent("Revoque")
	rm := b.grant(t, revoked, b.owner, sharing.OneMonth, all...)
	if err := b.s.RevokeMandate(ctx, b.owner, rm.ID, b.by); err != nil {
		t.Fatal(err)
	}
	deactivated := newAgent("Parti")
	b.grant(t, deactivated, b.owner, sharing.OneMonth, all...)
	ref := b.agent(t, b.structure(t, "CCAS Parti bis"), "ref.parti", "Ref Parti", sharing.RoleReferent)
	if _, err := b.DB.Exec(ctx, `UPDATE agents SET structure_id = $2 WHERE id = $1`, ref.ID, deactivated.StructureID); err != nil {
		t.Fatal(err)
	}
	ref.StructureID = deactivated.StructureID
	if err := b.s.DeactivateAgent(ctx, ref.Agent, deactivated.ID); err != nil {
		t.Fatal(err)
	}
	// The structure of another active agent is deactivated: its mandate is void.
	closedStructure := newAgent("Fermee")
	b.grant(t, closedStructure, b.owner, sharing.OneMonth, all...)
	if _, err := b.DB.Exec(ctx, `UPDATE structures SET deactivated_at = now() WHERE id = $1`, closedStructure.StructureID); err != nil {
		t.Fatal(err)
	}
	// An agent whose structure holds a mandate from another owner only.
	otherOwner, err := b.V.CreateOwner(ctx, "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := newAgent("Autre Personne")
	b.grant(t, elsewhere, otherOwner.ID, sharing.OneMonth, all...)
	recoverOnly := newAgent("Recuperation")
	b.grant(t, recoverOnly, b.owner, sharing.OneMonth, sharing.ScopeRecover)
	// Consent given on an agent's screen unlocks the safe at that desk for a while: the
	// matrix is about mandates alone.
	if _, err := b.DB.Exec(ctx, `DELETE FROM desk_unlocks`); err != nil {
		t.Fatal(err)
	}

	pdf := b.doc.Blob(vault.RoleRendition).ID
	actions := []struct {
		name string
		do   func(a *sharing.Agent) error
	}{
		{"list", func(a *sharing.Agent) error { _, err := b.s.AgentDocuments(ctx, a, b.owner, b.ip); return err }},
		{"read", func(a *sharing.Agent) error { _, err := b.s.AgentDocument(ctx, a, b.owner, b.doc.ID, b.ip); return err }},
		{"open", func(a *sharing.Agent) error {
			r, err := b.s.AgentOpen(ctx, a, b.owner, b.doc.ID, pdf, vault.ActionPrint, b.ip)
			if err == nil {
				_, err = io.Copy(io.Discard, r)
				r.Close()
			}
			return err
		}},
		{"deposit", func(a *sharing.Agent) error {
			_, err := b.s.AgentDeposit(ctx, a, b.owner, vault.NewDocument{Kind: vault.KindImpots, Title: "Avis d'imposition 2025",
				Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("%PDF-1.7 avis"), Size: -1}}}, b.ip)
			return err
		}},
		{"share", func(a *sharing.Agent) error {
			_, err := b.s.AgentCreateLink(ctx, a, b.owner, sharing.NewLink{Documents: []uuid.UUID{b.doc.ID}, Purpose: "CAF"}, b.ip)
			return err
		}},
		{"recover", func(a *sharing.Agent) error { return b.s.Authorize(ctx, a, b.owner, sharing.ScopeRecover, b.ip) }},
		{"reach", func(a *sharing.Agent) error { return b.s.Authorize(ctx, a, b.owner, sharing.ScopeReach, b.ip) }},
		{"desk recovery", func(a *sharing.Agent) error { return b.s.Authorize(ctx, a, b.owner, sharing.ScopeDeskRecovery, b.ip) }},
		{"delete", func(a *sharing.Agent) error { return b.s.Authorize(ctx, a, b.owner, sharing.ScopeDelete, b.ip) }},
		{"export", func(a *sharing.Agent) error { return b.s.Authorize(ctx, a, b.owner, sharing.ScopeExport, b.ip) }},
		{"credentials", func(a *sharing.Agent) error { return b.s.Authorize(ctx, a, b.owner, sharing.ScopeCredentials, b.ip) }},
		{"unknown operation", func(a *sharing.Agent) error { return b.s.Authorize(ctx, a, b.owner, "rename", b.ip) }},
	}
	actors := []struct {
		name    string
		a       *staff
		allowed map[string]bool
	}{
		{"deposit mandate", deposit, map[string]bool{"deposit": true, "reach": true, "desk recovery": true}},
		{"read mandate", read, map[string]bool{"list": true, "read": true, "open": true, "reach": true, "desk recovery": true}},
		{"share mandate", share, map[string]bool{"share": true, "reach": true, "desk recovery": true}},
		{"all scopes", full, map[string]bool{"list": true, "read": true, "open": true, "deposit": true, "share": true, "reach": true, "desk recovery": true}},
		{"recovery mandate", recoverOnly, map[string]bool{"recover": true, "reach": true, "desk recovery": true}},
		{"another structure", stranger, nil},
		{"expired mandate", expired, nil},
		{"revoked mandate", revoked, nil},
		{"deactivated agent", deactivated, nil},
		{"deactivated structure", closedStructure, nil},
		{"mandate from someone else", elsewhere, nil},
	}
	for _, actor := range actors {
		for _, action := range actions {
			before := len(b.entries(t, b.owner, vault.ActionDenied))
			err := action.do(actor.a.Agent)
			denied := b.entries(t, b.owner, vault.ActionDenied)
			if actor.allowed[action.name] {
				if err != nil {
					t.Errorf("%s × %s: %v, want allowed", actor.name, action.name, err)
				}
				if len(denied) != before {
					t.Errorf("%s × %s: allowed, but a failed attempt was journaled", actor.name, action.name)
				}
				continue
			}
			if !errors.Is(err, vault.ErrNotFound) {
				t.Errorf("%s × %s: %v, want vault.ErrNotFound", actor.name, action.name, err)
				continue
			}
			if len(denied) != before+1 {
				t.Errorf("%s × %s: refused, %d failed attempts journaled, want 1", actor.name, action.name, len(denied)-before)
				continue
			}
			last := denied[len(denied)-1]
			if last.ActorKind != vault.ActorAidant || last.ActorID != actor.a.ID.String() {
				t.Errorf("%s × %s: failed attempt by %s %s", actor.name, action.name, last.ActorKind, last.ActorID)
			}
		}
	}
	// A refusal for an owner that does not exist creates no journal chain.
	ghost := uuid.New()
	if err := b.s.Authorize(ctx, full.Agent, ghost, sharing.ScopeRead, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("unknown owner: %v", err)
	}
	var chains int
	if err := b.DB.QueryRow(ctx, `SELECT count(*) FROM journal_heads WHERE owner_id = $1`, ghost).Scan(&chains); err != nil || chains != 0 {
		t.Errorf("a chain was created for an unknown owner: %d, %v", chains, err)
	}
	// The deposit by an agent names them in the history.
	for _, e := range b.entries(t, b.owner, vault.ActionDeposit) {
		if e.ActorKind == vault.ActorAidant && e.ActorID != deposit.ID.String() && e.ActorID != full.ID.String() {
			t.Errorf("deposit by %s", e.ActorID)
		}
	}
	if rep, err := b.V.VerifyJournal(ctx, b.Signing.Public().(ed25519.PublicKey)); err != nil || len(rep.Breaks) != 0 {
		t.Errorf("journal verify: %+v, %v", rep, err)
	}
}

func TestStructureStats(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	st := b.structure(t, "CCAS de Lille")
	ref := b.agent(t, st, "referente", "Mme Dupont", sharing.RoleReferent)
	a := b.agent(t, st, "agent1", "M. Durand", sharing.RoleAgent)
	elsewhere := b.agent(t, b.structure(t, "CCAS de Roubaix"), "autre", "M. Martin", sharing.RoleReferent)

	// Two safes opened at the desk, one activated; a mandate on the first; two deposits,
	// one link used once, one print. The other structure does the same once: not counted.
	o1, err := b.s.OpenSafeFor(ctx, a.Agent, "personne1", b.ip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.OpenSafeFor(ctx, ref.Agent, "personne2", b.ip); err != nil {
		t.Fatal(err)
	}
	if _, err := b.A.ChangeTemporaryCode(ctx, o1.Owner.ID, o1.Code.Code, "ma phrase secrète à moi", vault.Actor{Kind: vault.ActorOwner, ID: o1.Owner.ID.String()}, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	b.grant(t, a, o1.Owner.ID, sharing.SixMonths, sharing.ScopeDeposit, sharing.ScopeRead, sharing.ScopeShare)
	var doc *vault.Document
	for range 2 {
		doc, err = b.s.AgentDeposit(ctx, a.Agent, o1.Owner.ID, vault.NewDocument{Kind: vault.KindCAF, Title: "Attestation CAF",
			Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("%PDF-1.7"), Size: -1}}}, b.ip)
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := b.s.AgentCreateLink(ctx, a.Agent, o1.Owner.ID, sharing.NewLink{Documents: []uuid.UUID{doc.ID}}, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.s.Open(ctx, c.Link, doc.ID, doc.Blobs[0].ID, b.ip, vault.ActionDownload, "")
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	r, err = b.s.AgentOpen(ctx, a.Agent, o1.Owner.ID, doc.ID, doc.Blobs[0].ID, vault.ActionPrint, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := b.s.OpenSafeFor(ctx, elsewhere.Agent, "personne3", b.ip); err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC()
	stats, err := b.s.StructureStats(ctx, ref.Agent, now.AddDate(0, -1, 0), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 {
		t.Fatalf("%d months, want 2", len(stats))
	}
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	want := sharing.MonthStats{Month: thisMonth, SafesOpened: 2, SafesActivated: 1, Deposits: 2, LinksCreated: 1, LinksUsed: 1,
		Prints: 1, MandatesActive: 1, MandatesGranted: 1, MandatesExpiring: 0}
	if !stats[1].Month.Equal(want.Month) {
		t.Errorf("month %s, want %s", stats[1].Month, want.Month)
	}
	stats[1].Month = want.Month
	if stats[1] != want {
		t.Errorf("this month = %+v\nwant        %+v", stats[1], want)
	}
	if z := stats[0]; z.SafesOpened+z.Deposits+z.LinksCreated+z.Prints+z.MandatesActive != 0 {
		t.Errorf("last month = %+v, want zeros", z)
	}
	if _, err := b.s.StructureStats(ctx, a.Agent, now, now); !errors.Is(err, sharing.ErrForbidden) {
		t.Errorf("stats for a plain agent: %v, want ErrForbidden", err)
	}
	if _, err := b.s.StructureStats(ctx, ref.Agent, now, now.AddDate(0, -2, 0)); !errors.Is(err, sharing.ErrBadRequest) {
		t.Errorf("reversed period: %v", err)
	}
}

// BenchmarkAuthorize measures the one check of every agent request beside the cheapest
// query on the same pool; the ratio is what the check costs over a round trip.
func BenchmarkAuthorize(b *testing.B) {
	vb := vaulttest.NewVault(b)
	s := sharing.New(vb.DB, vb.V, vb.A)
	ctx := context.Background()
	ip := netip.MustParseAddr("198.51.100.23")
	st, err := s.CreateStructure(ctx, sharing.NewStructure{Name: "CCAS de Lille", Kind: sharing.KindCCAS, SIRET: validSIRET(2159035010001)})
	if err != nil {
		b.Fatal(err)
	}
	a, _, err := s.CreateAgent(ctx, st.ID, sharing.NewAgent{Login: "m.dupont", Name: "Mme Dupont", Role: sharing.RoleAgent}, "test")
	if err != nil {
		b.Fatal(err)
	}
	// Many owners, each with a mandate: the check must not grow with them.
	var owner uuid.UUID
	for range 200 {
		o, err := vb.V.CreateOwner(ctx, "", vault.System)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.GrantMandate(ctx, a, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.OneMonth}, passkey, ip); err != nil {
			b.Fatal(err)
		}
		owner = o.ID
	}
	var authorize, ping time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if err := s.Authorize(ctx, a, owner, sharing.ScopeRead, ip); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var one int
		if err := vb.DB.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
			b.Fatal(err)
		}
		authorize += t1.Sub(t0)
		ping += time.Since(t1)
	}
	b.ReportMetric(float64(authorize)/float64(ping), "authorize/select1")
}
