package sharing_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// siretSeq numbers the structures of a test run, so that each gets its own SIRET.
var siretSeq atomic.Int64 //nolint:gochecknoglobals // a test counter

// validSIRET makes a Luhn-valid SIRET from a 13-digit base number.
func validSIRET(base int64) string {
	d := fmt.Sprintf("%013d", base)
	for c := 0; c <= 9; c++ {
		if s := d + string(rune('0'+c)); luhnOK(s) {
			return s
		}
	}
	panic("no check digit")
}

func luhnOK(d string) bool {
	sum := 0
	for i := range len(d) {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// staff is an agent with what they need to sign in.
type staff struct {
	*sharing.Agent
	password string
	totp     string // base32 secret
}

func (b *testBundle) structure(t *testing.T, name string) *sharing.Structure {
	t.Helper()
	st, err := b.s.CreateStructure(context.Background(), sharing.NewStructure{
		Name: name, Kind: sharing.KindCCAS, SIRET: validSIRET(2167035050000 + siretSeq.Add(1)), Contact: "03 20 00 00 00",
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (b *testBundle) agent(t *testing.T, st *sharing.Structure, login, name string, role sharing.Role) *staff {
	t.Helper()
	a, enr, err := b.s.CreateAgent(context.Background(), st.ID, sharing.NewAgent{Login: login, Name: name, Role: role}, "operator:test")
	if err != nil {
		t.Fatal(err)
	}
	return &staff{Agent: a, password: enr.TemporaryPassword, totp: enr.TOTPSecret}
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// entries returns the owner's journal entries of one action, oldest first.
func (b *testBundle) entries(t *testing.T, owner uuid.UUID, action vault.Action) []vault.Entry {
	t.Helper()
	all, err := b.V.Journal(context.Background(), owner, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []vault.Entry
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Action == action {
			out = append(out, all[i])
		}
	}
	return out
}

func TestParseSIRET(t *testing.T) {
	t.Parallel()
	good := validSIRET(2167035050001)
	bad := good[:13] + string(rune('0'+(good[13]-'0'+1)%10))
	tests := []struct {
		in, want string
		ok       bool
	}{
		{good, good, true},
		{good[:3] + " " + good[3:6] + " " + good[6:9] + " " + good[9:], good, true},
		{good[:9] + "\u00a0" + good[9:], good, true},
		{bad, "", false},
		{good[:13], "", false},
		{good + "0", "", false},
		{"", "", false},
		{"2167035050001A", "", false},
		{"-2167035050001", "", false},
		{"00000000000000", "00000000000000", true}, // Luhn-valid: the check is a checksum, not a register look-up
		// La Poste: sum of digits multiple of 5 (3+5+6+4+9+8 = 35), though Luhn fails.
		{"35600000049800", "35600000049800", true},
		{"35600000049801", "", false},
		{"35600000000048", "35600000000048", true}, // La Poste's head office passes Luhn
		{"35600000000049", "", false},
		{"356 000 000 49800", "35600000049800", true},
	}
	for _, tt := range tests {
		got, err := sharing.ParseSIRET(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseSIRET(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, sharing.ErrBadSIRET) {
			t.Errorf("ParseSIRET(%q): error %v is not ErrBadSIRET", tt.in, err)
		}
	}
	if luhnOK("35600000049800") {
		t.Fatal("fixture: the La Poste SIRET must fail Luhn, to test the exception")
	}
}

func FuzzParseSIRET(f *testing.F) {
	for _, s := range []string{"73282932000074", "356 000 000 49800", "", "1234", "٣٥٦٠٠٠٠٠٠٤٩٨٠٠", "\u00a0\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := sharing.ParseSIRET(in)
		if err != nil {
			if !errors.Is(err, sharing.ErrBadSIRET) {
				t.Fatalf("error %v is not ErrBadSIRET", err)
			}
			return
		}
		if len(got) != 14 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("ParseSIRET(%q) = %q: not 14 digits", in, got)
		}
		if again, err := sharing.ParseSIRET(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q, %v", got, again, err)
		}
	})
}

func FuzzParseTOTPCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "12345", "1234567", "12-34-56", "abcdef", "١٢٣٤٥٦", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := sharing.ParseTOTPCode(in)
		if err != nil {
			if !errors.Is(err, sharing.ErrBadTOTP) {
				t.Fatalf("error %v is not ErrBadTOTP", err)
			}
			return
		}
		if len(got) != 6 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("ParseTOTPCode(%q) = %q", in, got)
		}
	})
}

func TestMatchTOTP(t *testing.T) {
	t.Parallel()
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Coffre", AccountName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	secret := key.Secret()
	at := time.Unix(1_800_000_000, 0) // a step boundary: 1.8e9 / 30 is whole
	step := at.Unix() / 30
	tests := []struct {
		name     string
		codeAt   time.Time
		wantStep int64
		ok       bool
	}{
		{"now", at, step, true},
		{"phone 30 s behind", at.Add(-30 * time.Second), step - 1, true},
		{"phone 30 s ahead", at.Add(30 * time.Second), step + 1, true},
		{"phone 60 s behind", at.Add(-60 * time.Second), 0, false},
		{"phone 90 s ahead", at.Add(90 * time.Second), 0, false},
	}
	for _, tt := range tests {
		got, err := sharing.MatchTOTP(secret, code(t, secret, tt.codeAt), at)
		if tt.ok != (err == nil) || (tt.ok && got != tt.wantStep) {
			t.Errorf("%s: step %d, %v; want %d, ok %v", tt.name, got, err, tt.wantStep, tt.ok)
		}
	}
	c := code(t, secret, at)
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, c)+1)%1_000_000)
	if _, err := sharing.MatchTOTP(secret, wrong, at); !errors.Is(err, sharing.ErrBadTOTP) {
		t.Errorf("wrong code: %v", err)
	}
	if _, err := sharing.MatchTOTP(secret, c[:3]+" "+c[3:], at); err != nil {
		t.Errorf("code with a space: %v", err)
	}
	if _, err := sharing.MatchTOTP(secret, "12345", at); !errors.Is(err, sharing.ErrBadTOTP) {
		t.Errorf("short code: %v", err)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestVerifyTOTPRejectsReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleReferent)
	now := time.Now()
	c := code(t, a.totp, now)
	if err := b.s.VerifyTOTP(ctx, a.ID, c, now); err != nil {
		t.Fatalf("valid code: %v", err)
	}
	if err := b.s.VerifyTOTP(ctx, a.ID, c, now); !errors.Is(err, sharing.ErrBadTOTP) {
		t.Errorf("replayed code: %v, want ErrBadTOTP", err)
	}
	// An older step, still within the skew, is refused once a newer one was used.
	if err := b.s.VerifyTOTP(ctx, a.ID, code(t, a.totp, now.Add(-30*time.Second)), now); !errors.Is(err, sharing.ErrBadTOTP) {
		t.Errorf("older step after a newer one: %v, want ErrBadTOTP", err)
	}
	if err := b.s.VerifyTOTP(ctx, a.ID, code(t, a.totp, now.Add(30*time.Second)), now); err != nil {
		t.Errorf("next step: %v", err)
	}
	if err := b.s.VerifyTOTP(ctx, a.ID, "000000", now.Add(5*time.Minute)); !errors.Is(err, sharing.ErrBadTOTP) && code(t, a.totp, now.Add(5*time.Minute)) != "000000" {
		t.Errorf("wrong code: %v", err)
	}
	// The secret is not stored in clear.
	var wrapped []byte
	if err := b.DB.QueryRow(ctx, `SELECT totp_wrapped FROM agents WHERE id = $1`, a.ID).Scan(&wrapped); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wrapped, []byte(a.totp)) {
		t.Error("the TOTP secret is stored in clear")
	}
}

func TestAuthenticateAgent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	st := b.structure(t, "CCAS de Lille")
	a := b.agent(t, st, "m.dupont", "Mme Dupont", sharing.RoleReferent)
	now := time.Now()

	got, err := b.s.AuthenticateAgent(ctx, " M.Dupont ", a.password, code(t, a.totp, now), b.ip)
	if err != nil {
		t.Fatalf("good credentials: %v", err)
	}
	if got.ID != a.ID || got.StructureName != "CCAS de Lille" || !got.MustChange || got.Label() != "Mme D. (CCAS de Lille)" {
		t.Errorf("agent = %+v, label %q", got, got.Label())
	}
	// The same code again (say, a recorded one) fails even with the right password.
	if _, err := b.s.AuthenticateAgent(ctx, "m.dupont", a.password, code(t, a.totp, now), b.ip); !errors.Is(err, sharing.ErrAgentCredentials) {
		t.Errorf("replayed code: %v", err)
	}
	if _, err := b.s.AuthenticateAgent(ctx, "m.dupont", "wrong password", code(t, a.totp, now.Add(30*time.Second)), b.ip); !errors.Is(err, sharing.ErrAgentCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := b.s.AuthenticateAgent(ctx, "nobody", a.password, "123456", b.ip); !errors.Is(err, sharing.ErrAgentCredentials) {
		t.Errorf("unknown login: %v", err)
	}
	// Two failures of this login so far (the replay, the wrong password): three more lock
	// it, even for good credentials after.
	for range 3 {
		if _, err := b.s.AuthenticateAgent(ctx, "m.dupont", "wrong password", "000000", b.ip); err == nil {
			t.Fatal("a wrong password signed in")
		}
	}
	_, err = b.s.AuthenticateAgent(ctx, "m.dupont", a.password, code(t, a.totp, now.Add(30*time.Second)), b.ip)
	if _, locked := account.IsLocked(err); !locked {
		t.Errorf("after five failures: %v, want a lockout", err)
	}
	// Owners' counters are apart: an owner with the same login is not locked.
	if _, err := b.A.CreateAccount(ctx, "m.dupont", "une phrase assez longue pour entrer", vault.System); err != nil {
		t.Fatal(err)
	}
	if _, err := b.A.Authenticate(ctx, "m.dupont", "une phrase assez longue pour entrer", b.ip); err != nil {
		t.Errorf("owner with the agent's login: %v", err)
	}
}

// TestAgentGuessesInParallel: wrong passwords sent all at once for one agent are counted
// before they are checked: no more than account.LoginFailures are checked, the rest are
// refused as locked.
func TestAgentGuessesInParallel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	var checked, locked atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			_, err := b.s.AuthenticateAgent(ctx, a.Login, "pas le bon mot de passe", "000000", b.ip)
			_, isLocked := account.IsLocked(err)
			switch {
			case errors.Is(err, sharing.ErrAgentCredentials):
				checked.Add(1)
			case isLocked:
				locked.Add(1)
			default:
				t.Errorf("a wrong password: %v", err)
			}
		})
	}
	wg.Wait()
	if n := checked.Load(); n > account.LoginFailures || checked.Load()+locked.Load() != 40 {
		t.Errorf("%d wrong passwords checked (limit %d), %d refused as locked, of 40", n, account.LoginFailures, locked.Load())
	}
	_, err := b.s.AuthenticateAgent(ctx, a.Login, a.password, code(t, a.totp, b.Clock.Now()), b.ip)
	if _, isLocked := account.IsLocked(err); !isLocked {
		t.Errorf("the right password after the burst: %v, want a lockout", err)
	}
}

func TestAgentSessionsAndDeactivation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	st := b.structure(t, "CCAS de Lille")
	ref := b.agent(t, st, "referente", "Mme Dupont", sharing.RoleReferent)
	other := b.agent(t, b.structure(t, "CCAS de Roubaix"), "autre-ref", "M. Martin", sharing.RoleReferent)

	invited, enr, err := b.s.InviteAgent(ctx, ref.Agent, sharing.NewAgent{Login: "agent1", Name: "Paul Durand", Role: sharing.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if invited.StructureID != st.ID || enr.TemporaryPassword == "" || !strings.HasPrefix(enr.TOTPURI, "otpauth://totp/") {
		t.Errorf("invited %+v, enrolment %+v", invited, enr)
	}
	if _, _, err := b.s.InviteAgent(ctx, invited, sharing.NewAgent{Login: "agent2", Name: "X Y", Role: sharing.RoleAgent}); !errors.Is(err, sharing.ErrForbidden) {
		t.Errorf("an agent invites: %v, want ErrForbidden", err)
	}
	if _, _, err := b.s.InviteAgent(ctx, ref.Agent, sharing.NewAgent{Login: "agent1", Name: "X Y", Role: sharing.RoleAgent}); !errors.Is(err, sharing.ErrTaken) {
		t.Errorf("same login twice: %v, want ErrTaken", err)
	}

	token, sess, err := b.s.CreateAgentSession(ctx, invited)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.Fresh(time.Now()) || sess.Fresh(time.Now().Add(sharing.AgentReverify)) {
		t.Error("Fresh: a new session is fresh, and stops being after AgentReverify")
	}
	if got, err := b.s.AgentSessionByToken(ctx, token); err != nil || got.Agent.ID != invited.ID {
		t.Fatalf("session: %v", err)
	}
	// Idle for longer than AgentIdle: over.
	b.Clock.Advance(sharing.AgentIdle + time.Second)
	if _, err := b.s.AgentSessionByToken(ctx, token); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("idle session: %v, want ErrNotFound", err)
	}
	token, _, err = b.s.CreateAgentSession(ctx, invited)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.s.DeactivateAgent(ctx, other.Agent, invited.ID); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("référent of another structure deactivates: %v, want ErrNotFound", err)
	}
	if err := b.s.DeactivateAgent(ctx, ref.Agent, ref.ID); !errors.Is(err, sharing.ErrForbidden) {
		t.Errorf("référent deactivates themselves: %v, want ErrForbidden", err)
	}
	if err := b.s.DeactivateAgent(ctx, ref.Agent, invited.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.AgentSessionByToken(ctx, token); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("session of a deactivated agent: %v, want ErrNotFound", err)
	}
	if _, err := b.s.AuthenticateAgent(ctx, "agent1", enr.TemporaryPassword, code(t, enr.TOTPSecret, b.Clock.Now()), b.ip); !errors.Is(err, sharing.ErrAgentCredentials) {
		t.Errorf("deactivated agent signs in: %v", err)
	}
	if err := b.s.LinkAgentOIDC(ctx, ref.Agent, "https://proconnect.example", "sub-123"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.s.AgentByOIDC(ctx, "https://proconnect.example", "sub-123"); err != nil || got.ID != ref.ID {
		t.Errorf("agent by oidc: %v", err)
	}
	if err := b.s.LinkAgentOIDC(ctx, other.Agent, "https://proconnect.example", "sub-123"); !errors.Is(err, sharing.ErrTaken) {
		t.Errorf("same identity twice: %v", err)
	}
	if _, err := b.s.AgentByOIDC(ctx, "https://proconnect.example", "sub-456"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("unknown identity: %v", err)
	}
	list, err := b.s.Agents(ctx, ref.Agent)
	if err != nil || len(list) != 2 {
		t.Fatalf("agents: %d, %v", len(list), err)
	}
	if labels, err := b.s.AgentLabels(ctx, []string{ref.ID.String(), "not-a-uuid", uuid.NewString()}); err != nil || len(labels) != 1 || labels[ref.ID.String()] != "Mme D. (CCAS de Lille)" {
		t.Errorf("labels = %v, %v", labels, err)
	}
}

func TestOpenSafeForAndActivation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)

	opened, err := b.s.OpenSafeFor(ctx, a.Agent, "06 12 34 56 78", b.ip)
	if err != nil {
		t.Fatal(err)
	}
	owner := opened.Owner.ID
	if opened.Owner.Login != "0612345678" || len(opened.Code.Code) != 14 || time.Until(opened.Code.ExpiresAt) < 29*24*time.Hour {
		t.Errorf("opened %+v code %+v", opened.Owner, opened.Code)
	}
	if _, err := b.s.OpenSafeFor(ctx, a.Agent, "0612345678", b.ip); !errors.Is(err, vault.ErrLoginTaken) {
		t.Errorf("same login twice: %v, want ErrLoginTaken", err)
	}
	// Every step is in the person's history, by the agent, saying who in plain words.
	for _, action := range []vault.Action{vault.ActionOwnerCreated, account.ActionAccessCodeIssued} {
		es := b.entries(t, owner, action)
		if len(es) != 1 || es[0].ActorKind != vault.ActorAidant || es[0].ActorID != a.ID.String() {
			t.Fatalf("%s entries: %+v", action, es)
		}
	}
	if _, detail := b.entries(t, owner, account.ActionAccessCodeIssued)[0].PersonalData(); detail != "Mme D. (CCAS de Lille)" {
		t.Errorf("detail = %q", detail)
	}

	// The person signs in with the code: the web sees it must be changed.
	if _, err := b.A.Authenticate(ctx, "0612345678", opened.Code.Code, b.ip); err != nil {
		t.Fatal(err)
	}
	state, err := b.A.AccessState(ctx, owner)
	if err != nil || !state.TemporaryCode || !state.MustChange || state.Expired || state.Recovered {
		t.Fatalf("state = %+v, %v", state, err)
	}
	var activated *time.Time
	if err := b.DB.QueryRow(ctx, `SELECT activated_at FROM owners WHERE id = $1`, owner).Scan(&activated); err != nil || activated != nil {
		t.Fatalf("activated before the owner chose a secret: %v %v", activated, err)
	}
	if _, err := b.A.ChangeTemporaryCode(ctx, owner, opened.Code.Code, opened.Code.Code, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, uuid.Nil); !errors.Is(err, account.ErrSecretCommon) {
		t.Errorf("keeping the code as secret: %v", err)
	}
	if _, err := b.A.ChangeTemporaryCode(ctx, owner, opened.Code.Code, "ma phrase secrète à moi", vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	if state, _ := b.A.AccessState(ctx, owner); state.TemporaryCode || state.MustChange {
		t.Errorf("after the change: %+v", state)
	}
	if err := b.DB.QueryRow(ctx, `SELECT activated_at FROM owners WHERE id = $1`, owner).Scan(&activated); err != nil || activated == nil {
		t.Fatalf("not activated after the owner chose a secret: %v", err)
	}
	if first, err := b.V.MarkActivated(ctx, owner); err != nil || first {
		t.Errorf("MarkActivated again: %v %v, want false", first, err)
	}
	if _, err := b.A.Authenticate(ctx, "0612345678", opened.Code.Code, b.ip); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("the old code still works: %v", err)
	}

	// An expired code: the web refuses the sign-in.
	o2, err := b.s.OpenSafeFor(ctx, a.Agent, "0699999999", b.ip)
	if err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(sharing.AccessCodeTTL + time.Minute)
	if state, _ := b.A.AccessState(ctx, o2.Owner.ID); !state.Expired {
		t.Errorf("expired code: %+v", state)
	}
	if _, err := b.A.ChangeTemporaryCode(ctx, o2.Owner.ID, o2.Code.Code, "ma phrase secrète à moi", vault.Actor{Kind: vault.ActorOwner}, uuid.Nil); !errors.Is(err, account.ErrAccessCodeExpired) {
		t.Errorf("change an expired code: %v", err)
	}
}

func TestRecoverAccess(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	stranger := b.agent(t, b.structure(t, "CCAS de Roubaix"), "m.martin", "M. Martin", sharing.RoleAgent)
	o, err := b.A.CreateAccount(ctx, "lea.b", "mon ancienne phrase secrète", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := b.A.CreateSession(ctx, o.ID, "secret", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	// No mandate: refused, traced, nothing changed.
	if _, err := b.s.RecoverAccess(ctx, stranger.Agent, o.ID, b.ip); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("recovery without mandate: %v", err)
	}
	if es := b.entries(t, o.ID, vault.ActionDenied); len(es) != 1 || es[0].ActorID != stranger.ID.String() {
		t.Fatalf("denied entries: %+v", es)
	}
	if _, err := b.A.SessionByToken(ctx, token, time.Hour); err != nil {
		t.Fatalf("a refused recovery ended the session: %v", err)
	}

	if _, err := b.s.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead, sharing.ScopeRecover}, Duration: sharing.OneDay},
		sharing.Consent{Method: sharing.ConsentSecret, Secret: "mon ancienne phrase secrète", TextVersion: "mandat-v2"}, b.ip); err != nil {
		t.Fatal(err)
	}
	ac, err := b.s.RecoverAccess(ctx, a.Agent, o.ID, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.A.SessionByToken(ctx, token, time.Hour); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("old session still open: %v", err)
	}
	if _, err := b.A.Authenticate(ctx, "lea.b", "mon ancienne phrase secrète", b.ip); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("old secret still works: %v", err)
	}
	if _, err := b.A.Authenticate(ctx, "lea.b", ac.Code, b.ip); err != nil {
		t.Fatalf("new code: %v", err)
	}
	state, err := b.A.AccessState(ctx, o.ID)
	if err != nil || !state.Recovered || !state.MustChange || state.By != "Mme D. (CCAS de Lille)" {
		t.Fatalf("state = %+v, %v", state, err)
	}
	for _, action := range []vault.Action{account.ActionAccessRecovered, account.ActionLogoutAll} {
		if es := b.entries(t, o.ID, action); len(es) != 1 || es[0].ActorID != a.ID.String() || es[0].ActorKind != vault.ActorAidant {
			t.Errorf("%s entries: %+v", action, es)
		}
	}
	// Told once: after the change and the notice, nothing is left.
	if _, err := b.A.ChangeTemporaryCode(ctx, o.ID, ac.Code, "ma toute nouvelle phrase", vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	if state, err := b.A.AccessState(ctx, o.ID); err != nil || !state.Recovered || state.MustChange {
		t.Errorf("after the change, before the notice: %+v, %v", state, err)
	}
	if err := b.A.AcknowledgeAccessNotice(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	if state, err := b.A.AccessState(ctx, o.ID); err != nil || state != (account.AccessState{}) {
		t.Errorf("after the notice: %+v, %v", state, err)
	}
}

func TestAccessCardPDF(t *testing.T) {
	t.Parallel()
	for _, size := range []sharing.PaperSize{sharing.A6, sharing.A4} {
		var buf bytes.Buffer
		err := sharing.AccessCardPDF(&buf, sharing.AccessCard{
			Login: "0612345678", Code: "k7qa-m9xp-2htw", CodeExpiresAt: time.Now().Add(30 * 24 * time.Hour),
			LoginURL: "https://coffre.example.fr/connexion", StructureName: "CCAS de Lille",
			StructureContact: "2 rue de l'Hôtel de Ville, 59000 Lille — 03 20 00 00 00",
		}, size)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) || bytes.Count(buf.Bytes(), []byte("/Type /Page\n")) != 1 {
			t.Errorf("%s: not a one-page PDF (%d bytes, %d pages)", size, buf.Len(), bytes.Count(buf.Bytes(), []byte("/Type /Page\n")))
		}
	}
	if err := sharing.AccessCardPDF(&bytes.Buffer{}, sharing.AccessCard{}, "A5"); !errors.Is(err, sharing.ErrBadRequest) {
		t.Errorf("A5: %v", err)
	}
}

// The access card adds a page in the person's language (Spanish, and Arabic with the
// fonts of translated pages; without them see TestCardWithoutFonts).
func TestAccessCardTranslated(t *testing.T) {
	t.Parallel()
	date := func(d time.Time) string { return d.Format("2/1/2006") }
	es := &sharing.CardWords{Title: "Su caja fuerte digital", RecoveryTitle: "Su nuevo código", Login: "Su identificador:", Code: "Su código temporal:",
		WorksFrom: "Este código funcionará a partir del %s.", Expires: "Cámbielo al entrar por primera vez. Válido hasta el %s.",
		Enter: "Para entrar: %s", Helped: "Quién le ayudó:", Keep: "Guarde esta tarjeta en casa.", Date: date, DateTime: date}
	ar := *es
	ar.Title, ar.Keep = "خزنتك الرقمية", "احتفظ بهذه البطاقة في بيتك."
	for _, c := range []struct {
		name  string
		words *sharing.CardWords
		pages int
	}{{"none", nil, 1}, {"es", es, 2}, {"ar", &ar, 2}} {
		var buf bytes.Buffer
		err := sharing.AccessCardPDF(&buf, sharing.AccessCard{Login: "0612345678", Code: "k7qa-m9xp-2htw", CodeExpiresAt: time.Now(),
			LoginURL: "https://coffre.example.fr/connexion", StructureName: "CCAS de Lille", Translation: c.words}, sharing.A6)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(buf.Bytes(), []byte("/Type /Page\n")); n != c.pages {
			t.Errorf("%s: %d pages, want %d", c.name, n, c.pages)
		}
	}
	if !sharing.CardPrintable(*es, time.Now()) || sharing.CardPrintable(ar, time.Now()) {
		t.Error("CardPrintable: Spanish can be printed, Arabic cannot")
	}
}

func TestRewrapAgentSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.agent(t, b.structure(t, "CCAS de Lille"), "m.dupont", "Mme Dupont", sharing.RoleAgent)
	keys, err := vault.AddMasterKey(b.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := vault.RegisterMasterKey(ctx, b.DB, keys, vault.System); err != nil {
		t.Fatal(err)
	}
	v2, err := vault.New(ctx, vault.Config{DB: b.DB, Blobs: b.Store, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	s2 := sharing.New(b.DB, v2, account.New(account.Config{DB: b.DB, Vault: v2}))
	if n, err := s2.RewrapAgentSecrets(ctx); err != nil || n != 1 {
		t.Fatalf("rewrap: %d, %v; want 1", n, err)
	}
	if n, err := s2.RewrapAgentSecrets(ctx); err != nil || n != 0 {
		t.Errorf("rewrap again: %d, %v; want 0", n, err)
	}
	var recipient string
	if err := b.DB.QueryRow(ctx, `SELECT k.recipient FROM agents a JOIN master_keys k ON k.id = a.totp_master_key_id WHERE a.id = $1`, a.ID).Scan(&recipient); err != nil {
		t.Fatal(err)
	}
	if recipient != keys.Current() {
		t.Errorf("TOTP secret wrapped to %s, want the new key %s", recipient, keys.Current())
	}
	if err := s2.VerifyTOTP(ctx, a.ID, code(t, a.totp, time.Now()), time.Now()); err != nil {
		t.Errorf("TOTP after rewrap: %v", err)
	}
}
