package sharing

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/account/notify"
)

// Journal actions of mandates and of agents acting under them, in the owner's history.
// What agents do to documents is journaled by the vault with the agent as actor
// (deposit, view, download, print) and by links (link_created); access recovery by the
// account package (access_recovered, recovery_requested, recovery_cancelled).
const (
	// ActionMandateEnded: a mandate (or a mandate request) ended because the safe was
	// closed; the detail names the structure.
	ActionMandateEnded     vault.Action = "mandate_ended"
	ActionMandateGranted   vault.Action = "mandate_granted"
	ActionMandatePending   vault.Action = "mandate_pending" // waiting for the owner's phone
	ActionMandateConfirmed vault.Action = "mandate_confirmed"
	ActionMandateRevoked   vault.Action = "mandate_revoked"
	ActionAidantListed     vault.Action = "aidant_listed" // an agent saw the list of documents (to read or to share)
	ActionDeskUnlocked     vault.Action = "desk_unlocked" // the person typed their secret on an agent's screen
)

// Duration is how long a mandate lasts.
type Duration string

// The only durations a mandate may have.
const (
	OneDay       Duration = "1d"
	OneMonth     Duration = "1m"
	SixMonths    Duration = "6m"
	TwelveMonths Duration = "12m"
)

// ParseDuration checks a mandate duration.
func ParseDuration(s string) (Duration, error) {
	switch d := Duration(s); d {
	case OneDay, OneMonth, SixMonths, TwelveMonths:
		return d, nil
	}
	return "", fmt.Errorf("mandate duration %q is not 1d, 1m, 6m or 12m: %w", s, ErrBadRequest)
}

// End returns when a mandate of this duration starting at start ends: calendar months,
// so "6 months" from 31 August is 3 March (Go's AddDate normalisation), never shorter.
func (d Duration) End(start time.Time) time.Time {
	switch d {
	case OneDay:
		return start.Add(24 * time.Hour)
	case OneMonth:
		return start.AddDate(0, 1, 0)
	case SixMonths:
		return start.AddDate(0, 6, 0)
	case TwelveMonths:
		return start.AddDate(1, 0, 0)
	}
	return start
}

// ConsentMethod is how the person present gave their consent.
type ConsentMethod string

// Consent methods.
const (
	// ConsentSecret: the person typed their own secret on the agent's screen;
	// GrantMandate checks it, and refuses a temporary code (ErrTemporarySecret).
	ConsentSecret ConsentMethod = "secret"
	// ConsentPasskey: the person used their passkey on the agent's screen; the web ran
	// and verified the WebAuthn ceremony for this owner before calling GrantMandate.
	ConsentPasskey ConsentMethod = "passkey"
	// ConsentPhone: the person confirms from their own signed-in phone; the mandate is
	// pending until ConfirmMandate.
	ConsentPhone ConsentMethod = "phone"
)

// Consent is the evidence that the person agreed, with the version of the text shown.
type Consent struct {
	Method      ConsentMethod
	TextVersion string // e.g. "mandat-v1": the text the person was shown
	Secret      string // ConsentSecret only
	// PasskeyVerified must be true with ConsentPasskey: the web verified the assertion
	// for this owner.
	PasskeyVerified bool
}

// NewMandate is what the owner agrees to.
type NewMandate struct {
	Scopes   []Scope
	Duration Duration
}

// Mandate is an owner's authorisation for a structure.
type Mandate struct {
	ID             uuid.UUID
	OwnerID        uuid.UUID
	OwnerLogin     string
	StructureID    uuid.UUID
	StructureName  string
	StructureSIRET string
	Scopes         []Scope
	Duration       Duration
	CreatedAt      time.Time
	StartsAt       *time.Time // nil while pending (phone consent)
	ExpiresAt      *time.Time
	ConsentMethod  ConsentMethod
	ConsentText    string
	GrantedBy      uuid.UUID // the agent at the desk, uuid.Nil if none
	RevokedAt      *time.Time
	RevokedBy      vault.Actor
}

// ExpiryNotice is how long before its end a mandate of six months or more is announced,
// to the owner and the structure. A shorter one is announced a quarter of its length
// ahead, a week for a month: with 30 days, a month's mandate was "ending soon", and its
// message sent, the hour it was given. A day's mandate is not announced at all: it ends
// the day after the visit at which it was given.
const ExpiryNotice = 30 * 24 * time.Hour

// notice is how long before its end m is announced (ExpiryNotice); 0 for none.
func (m *Mandate) notice() time.Duration {
	if m.StartsAt == nil || m.ExpiresAt == nil {
		return 0
	}
	length := m.ExpiresAt.Sub(*m.StartsAt)
	if length <= 24*time.Hour {
		return 0
	}
	return min(ExpiryNotice, length/4)
}

// phoneConfirmWithin bounds a pending mandate: the person confirms during the appointment.
const phoneConfirmWithin = 15 * time.Minute

// Live tells whether the mandate allows anything at t.
func (m *Mandate) Live(t time.Time) bool {
	return m.RevokedAt == nil && m.StartsAt != nil && !t.Before(*m.StartsAt) && t.Before(*m.ExpiresAt)
}

// ExpiresSoon tells whether a live mandate ends within its notice of t (ExpiryNotice).
func (m *Mandate) ExpiresSoon(t time.Time) bool {
	return m.Live(t) && m.ExpiresAt.Sub(t) <= m.notice()
}

// Has tells whether the mandate grants scope.
func (m *Mandate) Has(scope Scope) bool { return slices.Contains(m.Scopes, scope) }

func (nm *NewMandate) validate() error {
	if _, err := ParseDuration(string(nm.Duration)); err != nil {
		return err
	}
	if len(nm.Scopes) == 0 {
		return fmt.Errorf("a mandate needs at least one scope: %w", ErrBadRequest)
	}
	seen := map[Scope]bool{}
	var scopes []Scope
	for _, sc := range nm.Scopes {
		if !slices.Contains(GrantableScopes, sc) {
			return fmt.Errorf("scope %q cannot be granted: %w", sc, ErrBadRequest)
		}
		if !seen[sc] {
			seen[sc] = true
			scopes = append(scopes, sc)
		}
	}
	slices.Sort(scopes)
	nm.Scopes = scopes
	return nil
}

func scopeStrings(sc []Scope) []string {
	out := make([]string, len(sc))
	for i, s := range sc {
		out[i] = string(s)
	}
	return out
}

// GrantMandate records the mandate the person present gives to the agent's structure,
// with the evidence of consent. With ConsentSecret the secret is checked here (failures
// count against the owner's sign-in throttle; a temporary code an agent printed proves
// no consent: ErrTemporarySecret); with ConsentPasskey the web must have verified the
// passkey; either is the person unlocking their safe at this agent's desk. With
// ConsentPhone the mandate waits for ConfirmMandate from the owner's own session and
// allows nothing until then; the agent must already reach the safe (ScopeReach), so that
// no structure can push a request into a stranger's safe. A structure holds at most one
// live mandate per owner: a new one replaces (revokes) the previous. A closed safe gets
// no mandate, even one granted while it closes (vault.ErrNotFound).
func (s *Service) GrantMandate(ctx context.Context, agent *Agent, owner uuid.UUID, nm NewMandate, c Consent, ip netip.Addr) (*Mandate, error) {
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil || cur.DeactivatedAt != nil {
		return nil, fmt.Errorf("sharing: grant mandate: %w", ErrForbidden)
	}
	switch c.Method {
	case ConsentSecret, ConsentPasskey:
		if err := s.unlockWithConsent(ctx, cur, owner, c, ip); err != nil {
			return nil, fmt.Errorf("sharing: grant mandate: %w", err)
		}
	case ConsentPhone:
	default:
		return nil, fmt.Errorf("sharing: grant mandate: consent method %q: %w", c.Method, ErrBadRequest)
	}
	if err := s.Authorize(ctx, cur, owner, ScopeReach, ip); err != nil {
		return nil, fmt.Errorf("sharing: grant mandate: %w", err)
	}
	if err := nm.validate(); err != nil {
		return nil, fmt.Errorf("sharing: grant mandate: %w", err)
	}
	if c.TextVersion == "" {
		return nil, fmt.Errorf("sharing: grant mandate: consent text version missing: %w", ErrBadRequest)
	}
	m := &Mandate{ID: uuid.New(), OwnerID: owner, StructureID: cur.StructureID, StructureName: cur.StructureName,
		Scopes: nm.Scopes, Duration: nm.Duration, ConsentMethod: c.Method, ConsentText: c.TextVersion, GrantedBy: cur.ID}
	by := cur.Actor(ip)
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// Against a closure at the same moment (it ends every mandate) and a second grant
		// of the same structure (one live mandate): the owner's row first.
		if err := s.vault.LockOpenAlone(ctx, tx, owner); err != nil {
			return closedNotFound(err)
		}
		var starts, expires *time.Time
		action := ActionMandatePending
		now := s.now()
		if c.Method != ConsentPhone {
			end := nm.Duration.End(now)
			starts, expires, action = &now, &end, ActionMandateGranted
			if err := s.replaceLive(ctx, tx, owner, cur.StructureID, by, cur.Label()); err != nil {
				return err
			}
		}
		m.CreatedAt, m.StartsAt, m.ExpiresAt = now, starts, expires
		if err := insertMandate(ctx, tx, m); err != nil {
			return err
		}
		if err := s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: action, Detail: mandateDetail(cur.Label(), m)}); err != nil {
			return err
		}
		what := account.NoticeMandateGiven
		if c.Method == ConsentPhone {
			what = account.NoticeMandateAsked
		}
		return s.notifyMandate(ctx, tx, owner, m.ID, what, expires, cur.Label())
	})
	if err != nil {
		return nil, fmt.Errorf("sharing: grant mandate: %w", err)
	}
	return m, nil
}

// closedNotFound answers a safe closed (or erased) meanwhile like one that is gone: a
// closed safe answers nobody but its owner.
func closedNotFound(err error) error {
	if errors.Is(err, vault.ErrClosed) || errors.Is(err, vault.ErrShredded) {
		return vault.ErrNotFound
	}
	return err
}

// replaceLive revokes the structure's live mandates from owner, superseded by a new one.
func (s *Service) replaceLive(ctx context.Context, tx pgx.Tx, owner, structure uuid.UUID, by vault.Actor, label string) error {
	n, err := revokeLive(ctx, tx, owner, structure, by, s.now())
	if err != nil || n == 0 {
		return err
	}
	return s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionMandateRevoked, Detail: label + " — remplacé par un nouveau mandat"})
}

func mandateDetail(label string, m *Mandate) string {
	d := label + " — "
	for i, sc := range m.Scopes {
		if i > 0 {
			d += ", "
		}
		d += string(sc)
	}
	return d + " — " + string(m.Duration) + " — " + string(m.ConsentMethod) + " — " + m.ConsentText
}

// ConfirmMandate is the owner confirming, from their own session, a mandate granted with
// ConsentPhone within the last 15 minutes. It starts then.
func (s *Service) ConfirmMandate(ctx context.Context, owner, id uuid.UUID, ip netip.Addr) (*Mandate, error) {
	by := vault.Actor{Kind: vault.ActorOwner, ID: owner.String(), IP: ip}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.vault.LockOpenAlone(ctx, tx, owner); err != nil { // as GrantMandate
			return closedNotFound(err)
		}
		now := s.now()
		structure, duration, name, err := pendingMandate(ctx, tx, owner, id, now.Add(-phoneConfirmWithin))
		if err != nil {
			return err
		}
		if err := s.replaceLive(ctx, tx, owner, structure, by, "vous"); err != nil {
			return err
		}
		end := duration.End(now)
		if err := confirmMandate(ctx, tx, owner, id, now, end); err != nil {
			return err
		}
		if err := s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionMandateConfirmed}); err != nil {
			return err
		}
		return s.notifyMandate(ctx, tx, owner, id, account.NoticeMandateGiven, &end, name)
	})
	if err != nil {
		return nil, fmt.Errorf("sharing: confirm mandate %s: %w", id, err)
	}
	return s.mandate(ctx, owner, id)
}

// MandatesEnding lists the live mandates of every owner that end within their notice
// (ExpiresSoon), as the messages' scan tells their owners of them
// (notify.Config.MandatesEnding).
func (s *Service) MandatesEnding(ctx context.Context) ([]notify.MandateEnding, error) {
	ms, err := s.MandatesExpiringWithin(ctx, ExpiryNotice)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []notify.MandateEnding
	for _, m := range ms {
		if m.ExpiresSoon(now) {
			out = append(out, notify.MandateEnding{ID: m.ID, OwnerID: m.OwnerID, EndsAt: *m.ExpiresAt, Structure: m.StructureName})
		}
	}
	return out, nil
}

// RevokeMandate ends one of owner's mandates at once, by the owner.
func (s *Service) RevokeMandate(ctx context.Context, owner, id uuid.UUID, by vault.Actor) error {
	return s.revoke(ctx, owner, id, uuid.Nil, by, "")
}

// RevokeMandateAsAgent ends a mandate held by the agent's own structure.
func (s *Service) RevokeMandateAsAgent(ctx context.Context, agent *Agent, owner, id uuid.UUID, ip netip.Addr) error {
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil || cur.DeactivatedAt != nil {
		return fmt.Errorf("sharing: revoke mandate: %w", ErrForbidden)
	}
	return s.revoke(ctx, owner, id, cur.StructureID, cur.Actor(ip), cur.Label())
}

// revoke ends a mandate. The owner ending one of a structure (or refusing its request)
// also ends the reach that structure had from opening the safe (endOpenerReach): the
// person has said they no longer want its help.
func (s *Service) revoke(ctx context.Context, owner, id, structure uuid.UUID, by vault.Actor, label string) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		now := s.now()
		of, err := revokeMandate(ctx, tx, owner, id, structure, by, now)
		if err != nil {
			return err
		}
		if by.Kind == vault.ActorOwner {
			if err := endOpenerReach(ctx, tx, owner, of, now); err != nil {
				return err
			}
		}
		if err := s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionMandateRevoked, Detail: label}); err != nil {
			return err
		}
		if structure == uuid.Nil {
			return nil // the owner ended it: no news to them
		}
		return s.notifyMandate(ctx, tx, owner, id, account.NoticeMandateEnded, nil, label)
	})
	if err != nil {
		return fmt.Errorf("sharing: revoke mandate %s: %w", id, err)
	}
	return nil
}
