package sharing_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// person is an owner who signs in with a login and a secret, with a live session and a
// passkey: what an access recovery must end.
type person struct {
	id      uuid.UUID
	login   string
	secret  string
	session string // token
}

func (b *testBundle) person(t *testing.T, login string) *person {
	t.Helper()
	ctx := context.Background()
	p := &person{login: login, secret: "ma phrase secrète à moi"}
	o, err := b.A.CreateAccount(ctx, login, p.secret, vault.System)
	if err != nil {
		t.Fatal(err)
	}
	p.id = o.ID
	if p.session, _, err = b.A.CreateSession(ctx, o.ID, "secret", "", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := b.A.AddPasskey(ctx, o.ID, []byte("cred-"+login), []byte(`{"id":"x"}`), vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}); err != nil {
		t.Fatal(err)
	}
	return p
}

// stillIn checks that the person's secret, session and passkey work (want) or not.
func (b *testBundle) stillIn(t *testing.T, p *person, want bool) {
	t.Helper()
	ctx := context.Background()
	_, err := b.A.Authenticate(ctx, p.login, p.secret, b.ip)
	if (err == nil) != want {
		t.Errorf("own secret works: %v, want %v", err == nil, want)
	}
	_, err = b.A.SessionByToken(ctx, p.session, time.Hour)
	if (err == nil) != want {
		t.Errorf("session lives: %v, want %v", err == nil, want)
	}
	keys, err := b.A.Passkeys(ctx, p.id)
	if err != nil {
		t.Fatal(err)
	}
	if (len(keys) == 1) != want {
		t.Errorf("passkeys: %d, want them kept: %v", len(keys), want)
	}
}

// TestRecoveryIsItsOwnRight: a mandate without the recovery right, however broad, lets
// no agent reset a person's access; one with it does, and ends every way in.
func TestRecoveryIsItsOwnRight(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	p := b.person(t, "lea.b")
	helper := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	b.grant(t, helper, p.id, sharing.OneDay, sharing.ScopeDeposit, sharing.ScopeRead, sharing.ScopeShare)

	if _, err := b.s.RecoverAccess(ctx, helper.Agent, p.id, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("recovery under a mandate without the right: %v, want ErrNotFound", err)
	}
	if es := b.entries(t, p.id, vault.ActionDenied); len(es) != 1 || es[0].ActorID != helper.ID.String() {
		t.Fatalf("denied entries: %+v", es)
	}
	b.stillIn(t, p, true)

	m := b.grant(t, helper, p.id, sharing.OneMonth, sharing.ScopeRead, sharing.ScopeRecover)
	if !m.Has(sharing.ScopeRecover) {
		t.Fatalf("scopes %v", m.Scopes)
	}
	ac, err := b.s.RecoverAccess(ctx, helper.Agent, p.id, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	b.stillIn(t, p, false)
	if _, err := b.A.Authenticate(ctx, p.login, ac.Code, b.ip); err != nil {
		t.Fatalf("new code: %v", err)
	}
	if st, err := b.A.AccessState(ctx, p.id); err != nil || !st.Recovered || !st.MustChange {
		t.Errorf("state %+v, %v", st, err)
	}
	for _, action := range []vault.Action{account.ActionAccessRecovered, account.ActionLogoutAll, account.ActionPasskeyRemoved} {
		if es := b.entries(t, p.id, action); len(es) != 1 || es[0].ActorID != helper.ID.String() {
			t.Errorf("%s entries: %+v", action, es)
		}
	}
}

// TestDeskRecovery: without the right, a structure that reaches the safe checks an
// identity document; the code works only after RecoveryWait, and the owner can cancel.
func TestDeskRecovery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	desk := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	stranger := b.agent(t, b.structure(t, "CCAS de Roubaix"), "m.martin", "M. Martin", sharing.RoleAgent)
	p := b.person(t, "lea.b")
	b.grant(t, desk, p.id, sharing.OneMonth, sharing.ScopeDeposit)
	// Only the mandate gives reach here, not the consent typed at the desk a moment ago.
	if _, err := b.DB.Exec(ctx, `DELETE FROM desk_unlocks`); err != nil {
		t.Fatal(err)
	}
	check := sharing.IdentityCheck{Document: sharing.DocumentResidencePermit, NumberEnd: " 12 ab "}

	if _, err := b.s.RecoverAfterIdentityCheck(ctx, stranger.Agent, p.id, check, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("a structure without reach: %v", err)
	}
	if n := len(b.entries(t, p.id, vault.ActionDenied)); n != 1 {
		t.Fatalf("denied entries: %d", n)
	}
	for _, bad := range []sharing.IdentityCheck{
		{Document: "carte_vitale", NumberEnd: "1234"},
		{Document: sharing.DocumentIDCard, NumberEnd: "123"},
		{Document: sharing.DocumentIDCard, NumberEnd: "12345"},
		{Document: sharing.DocumentIDCard, NumberEnd: "12-4"},
	} {
		if _, err := b.s.RecoverAfterIdentityCheck(ctx, desk.Agent, p.id, bad, b.ip); !errors.Is(err, sharing.ErrBadRequest) {
			t.Errorf("check %+v: %v, want ErrBadRequest", bad, err)
		}
	}
	pr, err := b.s.RecoverAfterIdentityCheck(ctx, desk.Agent, p.id, check, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	if d := pr.EffectiveAt.Sub(pr.RequestedAt); d != sharing.RecoveryWait {
		t.Errorf("waits %s", d)
	}
	// Nothing changes during the wait: the new code does not work, the old ways do.
	b.stillIn(t, p, true)
	if _, err := b.A.Authenticate(ctx, p.login, pr.Code, b.ip); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("the code works before the wait: %v", err)
	}
	got, err := b.A.PendingRecovery(ctx, p.id)
	if err != nil || got.By != "Mme D. (CCAS de Lille)" || got.Identity != (account.RecoveryIdentity{Document: "titre_sejour", NumberEnd: "12AB"}) || got.Code != "" {
		t.Fatalf("pending %+v, %v", got, err)
	}
	var sealed []byte
	if err := b.DB.QueryRow(ctx, `SELECT identity_sealed FROM recoveries WHERE id = $1`, pr.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("titre")) || bytes.Contains(sealed, []byte("12AB")) {
		t.Error("the identity checked is stored in clear")
	}
	if es := b.entries(t, p.id, account.ActionRecoveryRequested); len(es) != 1 || es[0].ActorID != desk.ID.String() {
		t.Errorf("requested entries: %+v", es)
	}
	if n, err := b.A.ApplyDueRecoveries(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("applied before the wait: %d, %v", n, err)
	}
	n, err := b.A.ApplyDueRecoveries(ctx, time.Now().Add(sharing.RecoveryWait+time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("applied %d, %v", n, err)
	}
	b.stillIn(t, p, false)
	if _, err := b.A.Authenticate(ctx, p.login, pr.Code, b.ip); err != nil {
		t.Fatalf("the code after the wait: %v", err)
	}
	if st, err := b.A.AccessState(ctx, p.id); err != nil || !st.Recovered || !st.MustChange || st.By != "Mme D. (CCAS de Lille)" {
		t.Errorf("state %+v, %v", st, err)
	}
	for _, action := range []vault.Action{account.ActionAccessRecovered, account.ActionPasskeyRemoved, account.ActionLogoutAll} {
		if es := b.entries(t, p.id, action); len(es) != 1 || es[0].ActorID != desk.ID.String() {
			t.Errorf("%s entries: %+v", action, es)
		}
	}
	if _, err := b.A.PendingRecovery(ctx, p.id); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("still pending: %v", err)
	}

	// Another person cancels from their session: the code never works.
	q := b.person(t, "paul.c")
	if _, err := b.DB.Exec(ctx, `INSERT INTO assisted_openings (owner_id, structure_id, agent_id) VALUES ($1, $2, $3)`, q.id, desk.StructureID, desk.ID); err != nil {
		t.Fatal(err)
	}
	qr, err := b.s.RecoverAfterIdentityCheck(ctx, desk.Agent, q.id, sharing.IdentityCheck{Document: sharing.DocumentIDCard, NumberEnd: "9876"}, b.ip)
	if err != nil {
		t.Fatalf("a structure that opened the safe: %v", err)
	}
	if err := b.A.CancelRecovery(ctx, q.id, vault.Actor{Kind: vault.ActorOwner, ID: q.id.String()}); err != nil {
		t.Fatal(err)
	}
	if err := b.A.CancelRecovery(ctx, q.id, vault.Actor{Kind: vault.ActorOwner, ID: q.id.String()}); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("cancelled twice: %v", err)
	}
	if n, err := b.A.ApplyDueRecoveries(ctx, time.Now().Add(2*sharing.RecoveryWait)); err != nil || n != 0 {
		t.Errorf("a cancelled recovery applied: %d, %v", n, err)
	}
	b.stillIn(t, q, true)
	if _, err := b.A.Authenticate(ctx, q.login, qr.Code, b.ip); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("a cancelled code works: %v", err)
	}
	if es := b.entries(t, q.id, account.ActionRecoveryCancelled); len(es) != 1 || es[0].ActorKind != vault.ActorOwner {
		t.Errorf("cancelled entries: %+v", es)
	}
}

// TestAgentReach: no structure reaches a stranger's safe, not even to ask for a mandate,
// until the person unlocks it at this agent's desk.
func TestAgentReach(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	st := b.structure(t, "CCAS de Lille")
	a := b.agent(t, st, "m.dupont", "Mme Dupont", sharing.RoleAgent)
	colleague := b.agent(t, st, "p.durand", "Paul Durand", sharing.RoleAgent)
	p := b.person(t, "lea.b")
	phone := sharing.Consent{Method: sharing.ConsentPhone, TextVersion: "mandat-v2"}
	nm := sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.OneDay}
	denied := func() int { return len(b.entries(t, p.id, vault.ActionDenied)) }

	if err := b.s.Authorize(ctx, a.Agent, p.id, sharing.ScopeReach, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("reach a stranger's safe: %v", err)
	}
	if _, err := b.s.GrantMandate(ctx, a.Agent, p.id, nm, phone, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("push a mandate request into a stranger's safe: %v", err)
	}
	if ms, _ := b.s.Mandates(ctx, p.id); len(ms) != 0 {
		t.Fatalf("a request reached the person: %+v", ms)
	}
	if n := denied(); n != 2 {
		t.Fatalf("denied entries %d, want 2", n)
	}
	// Unknown login, wrong secret: the same answer; the wrong secret is in the history.
	if _, err := b.s.DeskUnlock(ctx, a.Agent, "personne.inconnue", p.secret, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("unknown login: %v", err)
	}
	if _, err := b.s.DeskUnlock(ctx, a.Agent, "lea.b", "pas la bonne phrase", b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("wrong secret: %v", err)
	}
	if n := denied(); n != 3 {
		t.Fatalf("denied entries %d, want 3", n)
	}
	id, err := b.s.DeskUnlock(ctx, a.Agent, " LEA.B ", p.secret, b.ip)
	if err != nil || id != p.id {
		t.Fatalf("unlock: %v", err)
	}
	if es := b.entries(t, p.id, sharing.ActionDeskUnlocked); len(es) != 1 || es[0].ActorID != a.ID.String() {
		t.Errorf("unlock entries: %+v", es)
	}
	if err := b.s.Authorize(ctx, a.Agent, p.id, sharing.ScopeReach, b.ip); err != nil {
		t.Errorf("reach after the unlock: %v", err)
	}
	// Reach is not a mandate: nothing in the safe is open yet.
	if err := b.s.Authorize(ctx, a.Agent, p.id, sharing.ScopeRead, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("read after an unlock: %v", err)
	}
	// The unlock is the agent's, not their colleague's.
	if err := b.s.Authorize(ctx, colleague.Agent, p.id, sharing.ScopeReach, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("a colleague reaches: %v", err)
	}
	if _, err := b.s.GrantMandate(ctx, a.Agent, p.id, nm, phone, b.ip); err != nil {
		t.Fatalf("a request after the unlock: %v", err)
	}
	b.Clock.Advance(sharing.DeskUnlockTTL + time.Second)
	if err := b.s.Authorize(ctx, a.Agent, p.id, sharing.ScopeReach, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("reach after the unlock's end: %v", err)
	}
	if n, err := b.s.PurgeDeskUnlocks(ctx); err != nil || n != 1 {
		t.Errorf("purged %d, %v", n, err)
	}

	// A structure that opened a safe reaches it, and so does one with a live mandate.
	opened, err := b.s.OpenSafeFor(ctx, a.Agent, "0612345678", b.ip)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.s.Authorize(ctx, colleague.Agent, opened.Owner.ID, sharing.ScopeReach, b.ip); err != nil {
		t.Errorf("reach a safe the structure opened: %v", err)
	}
	if err := b.s.Authorize(ctx, colleague.Agent, opened.Owner.ID, sharing.ScopeDeposit, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("deposit in a safe opened without mandate: %v", err)
	}
}

// TestClosingEndsMandates: a closed safe answers nobody but its owner.
func TestClosingEndsMandates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	all := []sharing.Scope{sharing.ScopeDeposit, sharing.ScopeRead, sharing.ScopeShare, sharing.ScopeRecover}
	live := b.grant(t, a, b.owner, sharing.TwelveMonths, all...)
	pending, err := b.s.GrantMandate(ctx, a.Agent, b.owner, sharing.NewMandate{Scopes: all, Duration: sharing.OneMonth},
		sharing.Consent{Method: sharing.ConsentPhone, TextVersion: "mandat-v2"}, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.V.CloseSafe(ctx, b.owner, b.by, time.Hour); err != nil {
		t.Fatal(err)
	}
	ms, err := b.s.Mandates(ctx, b.owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.RevokedAt == nil || m.RevokedBy.Kind != vault.ActorOwner {
			t.Errorf("mandate %s not ended at closure: %+v", m.ID, m)
		}
	}
	if es := b.entries(t, b.owner, sharing.ActionMandateEnded); len(es) != 2 {
		t.Errorf("mandate_ended entries: %d, want 2", len(es))
	}
	if _, err := b.s.ConfirmMandate(ctx, b.owner, pending.ID, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("a pending request confirmed after closure: %v", err)
	}
	// Even if a mandate row were live again, the closed safe answers nobody.
	if _, err := b.DB.Exec(ctx, `UPDATE mandates SET revoked_at = NULL, revoked_by_kind = NULL, revoked_by_id = NULL WHERE id = $1`, live.ID); err != nil {
		t.Fatal(err)
	}
	before := len(b.entries(t, b.owner, vault.ActionDenied))
	for _, scope := range append(all, sharing.ScopeReach) {
		if err := b.s.Authorize(ctx, a.Agent, b.owner, scope, b.ip); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("%s in a closed safe: %v", scope, err)
		}
	}
	if _, err := b.s.AgentDocuments(ctx, a.Agent, b.owner, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("list a closed safe: %v", err)
	}
	if _, err := b.s.RecoverAccess(ctx, a.Agent, b.owner, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("recover a closed safe: %v", err)
	}
	if got := len(b.entries(t, b.owner, vault.ActionDenied)); got != before+len(all)+3 {
		t.Errorf("denied entries %d, want %d", got, before+len(all)+3)
	}
}

// TestClosingCancelsDeskRecovery: a recovery waiting when the safe closes never applies,
// even after the safe is reopened.
func TestClosingCancelsDeskRecovery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	p := b.person(t, "lea.b")
	b.grant(t, a, p.id, sharing.OneMonth, sharing.ScopeRead)
	if _, err := b.s.RecoverAfterIdentityCheck(ctx, a.Agent, p.id, sharing.IdentityCheck{Document: sharing.DocumentPassport, NumberEnd: "AB12"}, b.ip); err != nil {
		t.Fatal(err)
	}
	by := vault.Actor{Kind: vault.ActorOwner, ID: p.id.String()}
	if _, err := b.V.CloseSafe(ctx, p.id, by, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.V.ReopenSafe(ctx, p.id, by); err != nil {
		t.Fatal(err)
	}
	if n, err := b.A.ApplyDueRecoveries(ctx, time.Now().Add(2*sharing.RecoveryWait)); err != nil || n != 0 {
		t.Errorf("applied after closure: %d, %v", n, err)
	}
	if es := b.entries(t, p.id, account.ActionRecoveryCancelled); len(es) != 1 {
		t.Errorf("cancelled entries: %d", len(es))
	}
	var unlocks int
	if err := b.DB.QueryRow(ctx, `SELECT count(*) FROM desk_unlocks WHERE owner_id = $1`, p.id).Scan(&unlocks); err != nil || unlocks != 0 {
		t.Errorf("desk unlocks left: %d, %v", unlocks, err)
	}
}

// TestRecoverAccessCancelsDeskRecovery: a new code given at once under the recovery
// right cancels a recovery still waiting after a desk identity check, which would
// otherwise replace, a day later, the secret the person has just chosen.
func TestRecoverAccessCancelsDeskRecovery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	p := b.person(t, "lea.b")
	b.grant(t, a, p.id, sharing.OneMonth, sharing.ScopeRead, sharing.ScopeRecover)
	waiting, err := b.s.RecoverAfterIdentityCheck(ctx, a.Agent, p.id, sharing.IdentityCheck{Document: sharing.DocumentIDCard, NumberEnd: "12AB"}, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := b.s.RecoverAccess(ctx, a.Agent, p.id, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	const chosen = "une autre phrase bien à moi"
	if _, err := b.A.ChangeTemporaryCode(ctx, p.id, ac.Code, chosen, vault.Actor{Kind: vault.ActorOwner, ID: p.id.String()}, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	if n, err := b.A.ApplyDueRecoveries(ctx, time.Now().Add(2*sharing.RecoveryWait)); err != nil || n != 0 {
		t.Errorf("the desk recovery applied after an immediate one: %d, %v", n, err)
	}
	if _, err := b.A.Authenticate(ctx, p.login, chosen, b.ip); err != nil {
		t.Errorf("the secret the person chose: %v", err)
	}
	if _, err := b.A.Authenticate(ctx, p.login, waiting.Code, b.ip); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("the desk recovery's code: %v", err)
	}
	if es := b.entries(t, p.id, account.ActionRecoveryCancelled); len(es) != 1 || es[0].ActorID != a.ID.String() {
		t.Errorf("cancelled entries: %+v", es)
	}
}

// TestRecoveryWaitsOnTheJobsClock: the waiting period is counted on the service's clock,
// the one the job that applies recoveries is given, not on the database's.
func TestRecoveryWaitsOnTheJobsClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	p := b.person(t, "lea.b")
	b.Clock.Advance(-3 * time.Hour) // a clock three hours behind the database's
	before := b.Clock.Now().UTC().Truncate(time.Microsecond)
	by := vault.Actor{Kind: vault.ActorAidant, ID: uuid.NewString()}
	pr, err := b.A.RequestRecovery(ctx, p.id, "k7qa-m9xp-2htw", account.RecoveryIdentity{Document: "cni", NumberEnd: "12AB"}, time.Hour, 24*time.Hour, by, "Mme D. (CCAS de Lille)")
	if err != nil {
		t.Fatal(err)
	}
	after := b.Clock.Now()
	if pr.RequestedAt.Before(before) || pr.RequestedAt.After(after) || !pr.EffectiveAt.Equal(pr.RequestedAt.Add(time.Hour)) {
		t.Errorf("requested at %s, effective at %s, want an hour after a time between %s and %s", pr.RequestedAt, pr.EffectiveAt, before, after)
	}
	if n, err := b.A.ApplyDueRecoveries(ctx, pr.EffectiveAt.Add(-time.Second)); err != nil || n != 0 {
		t.Errorf("applied before the wait: %d, %v", n, err)
	}
	if n, err := b.A.ApplyDueRecoveries(ctx, pr.EffectiveAt); err != nil || n != 1 {
		t.Errorf("applied when the wait is over: %d, %v", n, err)
	}
}

// blocked runs steps one after the other while the test holds owner's journal head, each
// started once the ones before it wait for a lock (the journal head, or a lock one of
// them holds), then lets them all go. It returns their errors, when all are done: so
// that a step that writes to the safe meets the one before it in the middle of its
// transaction.
func (b *testBundle) blocked(t *testing.T, owner uuid.UUID, steps ...func() error) []error {
	t.Helper()
	ctx := context.Background()
	waiting := func(n int) {
		t.Helper()
		for start := time.Now(); ; time.Sleep(10 * time.Millisecond) { // polls the database for lock waits
			var got int
			if err := b.DB.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got >= n {
				return
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%d transactions wait for a lock, want %d", got, n)
			}
		}
	}
	hold, err := b.DB.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx)
	if _, err := hold.Exec(ctx, `SELECT 1 FROM journal_heads WHERE owner_id = $1 FOR UPDATE`, owner); err != nil {
		t.Fatal(err)
	}
	done := make([]chan error, len(steps))
	for i, step := range steps {
		done[i] = make(chan error, 1)
		go func() { done[i] <- step() }()
		waiting(i + 1)
	}
	if err := hold.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, len(steps))
	for i := range steps {
		errs[i] = <-done[i]
	}
	return errs
}

// raceClosure closes owner's safe while do runs: the closure holds the owner's row,
// held itself before it commits (blocked), when do starts. It returns do's error.
func (b *testBundle) raceClosure(t *testing.T, owner uuid.UUID, do func() error) error {
	t.Helper()
	errs := b.blocked(t, owner, func() error {
		_, err := b.V.CloseSafe(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, time.Hour)
		return err
	}, do)
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	return errs[1]
}

// TestClosureWinsRaces: what gives someone other than the owner a way in, written while
// the safe closes, ends with the closure or is refused; reopening the safe gives none of
// it back, and one structure never holds two live mandates.
func TestClosureWinsRaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	refused := func(err error) bool { return errors.Is(err, vault.ErrNotFound) || errors.Is(err, vault.ErrClosed) }
	t.Run("mandate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
		err := b.raceClosure(t, b.owner, func() error {
			_, err := b.s.GrantMandate(ctx, a.Agent, b.owner, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.SixMonths}, passkey, b.ip)
			return err
		})
		if !refused(err) {
			t.Errorf("a mandate granted while the safe closes: %v", err)
		}
		if err := b.V.ReopenSafe(ctx, b.owner, b.by); err != nil {
			t.Fatal(err)
		}
		if err := b.s.Authorize(ctx, a.Agent, b.owner, sharing.ScopeReach, b.ip); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("the structure reaches the reopened safe: %v", err)
		}
	})
	t.Run("link", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var c *sharing.Created
		err := b.raceClosure(t, b.owner, func() error {
			var err error
			c, err = b.s.CreateLink(ctx, b.owner, b.by, sharing.NewLink{Documents: []uuid.UUID{b.doc.ID}})
			return err
		})
		if !refused(err) {
			t.Errorf("a link created while the safe closes: %v", err)
		}
		if err := b.V.ReopenSafe(ctx, b.owner, b.by); err != nil {
			t.Fatal(err)
		}
		if c != nil {
			if _, err := b.s.Resolve(ctx, c.Token); !errors.Is(err, sharing.ErrUnavailable) {
				t.Errorf("the link works in the reopened safe: %v", err)
			}
		}
	})
	t.Run("temporary code", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.person(t, "lea.b")
		by := vault.Actor{Kind: vault.ActorAidant, ID: uuid.NewString()}
		err := b.raceClosure(t, p.id, func() error {
			_, err := b.A.IssueAccessCode(ctx, p.id, "k7qa-m9xp-2htw", sharing.AccessCodeTTL, true, by, "Mme D. (CCAS de Lille)")
			return err
		})
		if !refused(err) {
			t.Errorf("a new code given while the safe closes: %v", err)
		}
		if err := b.V.ReopenSafe(ctx, p.id, vault.Actor{Kind: vault.ActorOwner, ID: p.id.String()}); err != nil {
			t.Fatal(err)
		}
		// The closure ended the person's session (account.SafeClosed); the refused code
		// left their secret and passkey as they were.
		if p.session, _, err = b.A.CreateSession(ctx, p.id, "secret", "", time.Hour); err != nil {
			t.Fatal(err)
		}
		b.stillIn(t, p, true)
	})
	t.Run("two mandates at once", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
		if _, err := b.DB.Exec(ctx, `INSERT INTO assisted_openings (owner_id, structure_id, agent_id) VALUES ($1, $2, $3)`, b.owner, a.StructureID, a.ID); err != nil {
			t.Fatal(err)
		}
		var steps []func() error
		for range 2 {
			m, err := b.s.GrantMandate(ctx, a.Agent, b.owner, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.OneDay},
				sharing.Consent{Method: sharing.ConsentPhone, TextVersion: "mandat-v2"}, b.ip)
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, func() error { _, err := b.s.ConfirmMandate(ctx, b.owner, m.ID, b.ip); return err })
		}
		for _, err := range b.blocked(t, b.owner, steps...) {
			if err != nil {
				t.Fatal(err)
			}
		}
		ms, err := b.s.Mandates(ctx, b.owner)
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, m := range ms {
			if m.Live(time.Now()) {
				live++
			}
		}
		if live != 1 {
			t.Errorf("%d live mandates of one structure", live)
		}
	})
}

// TestShareListingIsJournaled: an agent with the share scope alone lists titles to pick
// what to send; each listing is one entry in the person's history.
func TestShareListingIsJournaled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	share := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	deposit := b.agent(t, b.structure(t, "CCAS de Roubaix"), "m.martin", "M. Martin", sharing.RoleAgent)
	b.grant(t, share, b.owner, sharing.OneDay, sharing.ScopeShare)
	b.grant(t, deposit, b.owner, sharing.OneDay, sharing.ScopeDeposit)
	for i := 1; i <= 2; i++ {
		docs, err := b.s.AgentShareableDocuments(ctx, share.Agent, b.owner, b.ip)
		if err != nil || len(docs) != 1 || docs[0].Title != "Attestation CAF" {
			t.Fatalf("share list: %v %+v", err, docs)
		}
		if es := b.entries(t, b.owner, sharing.ActionAidantListed); len(es) != i || es[i-1].ActorID != share.ID.String() {
			t.Fatalf("listed entries after %d listings: %+v", i, es)
		}
	}
	if _, err := b.s.AgentShareableDocuments(ctx, deposit.Agent, b.owner, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("share list with a deposit mandate: %v", err)
	}
	if es := b.entries(t, b.owner, sharing.ActionAidantListed); len(es) != 2 {
		t.Errorf("a refused listing was journaled as a listing: %d", len(es))
	}
}

// pdfText returns the decompressed content streams of a PDF, where its words are.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	var out strings.Builder
	for rest := pdf; ; {
		i := bytes.Index(rest, []byte("stream\n"))
		if i < 0 {
			break
		}
		rest = rest[i+len("stream\n"):]
		j := bytes.Index(rest, []byte("endstream"))
		if j < 0 {
			break
		}
		if r, err := zlib.NewReader(bytes.NewReader(rest[:j])); err == nil {
			b, _ := io.ReadAll(r)
			out.Write(b)
		} else {
			out.Write(rest[:j])
		}
		rest = rest[j:]
	}
	return out.String()
}

// TestMandateReceiptSaysRecovery: the receipt of a mandate with the recovery right says
// it in its own sentence; one without says an agent cannot change the secret.
func TestMandateReceiptSaysRecovery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	for _, tt := range []struct {
		scopes []sharing.Scope
		want   string
		not    string
	}{
		{[]sharing.Scope{sharing.ScopeRead, sharing.ScopeRecover}, "redonner", "changer"},
		{[]sharing.Scope{sharing.ScopeRead}, "changer", "redonner"},
	} {
		m := b.grant(t, a, b.owner, sharing.OneMonth, tt.scopes...)
		var buf bytes.Buffer
		if err := sharing.MandateReceiptPDF(&buf, sharing.MandateReceiptDoc{Mandate: m, JWS: "x.y.z", VerifyURL: "https://coffre.example.fr/mandat/verifier"}, sharing.A4); err != nil {
			t.Fatal(err)
		}
		text := pdfText(t, buf.Bytes())
		if !strings.Contains(text, tt.want) || strings.Contains(text, tt.not) {
			t.Errorf("receipt of %v: want %q and not %q in the text", tt.scopes, tt.want, tt.not)
		}
	}
}
