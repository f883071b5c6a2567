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

// Scope is what a mandate lets a structure's agents do, or what an agent asks to do: the
// purpose Authorize decides on.
type Scope string

// Scopes a mandate may grant. The person ticks each one on the consent screen; none
// implies another.
const (
	ScopeDeposit Scope = "deposit" // add documents (desk scanner, phone)
	ScopeRead    Scope = "read"    // list, view, download and print documents
	ScopeShare   Scope = "share"   // list documents to pick some, create share links and QR codes
	// ScopeRecover is access recovery at once: a new temporary code replaces the
	// owner's secret, their sessions and passkeys end, and they are told. Only a mandate
	// that holds it allows it.
	ScopeRecover Scope = "recover"
)

// Purposes that need no mandate scope, only that the agent may reach the safe: their
// structure opened it at its desk, holds a live mandate from the person (any scope), or
// the person unlocked it at this agent's desk within DeskUnlockTTL.
const (
	// ScopeReach is finding the safe and seeing its login: looking a login up, the
	// mandate form, asking for a mandate, the structure's mandates and their receipts.
	ScopeReach Scope = "reach"
	// ScopeDeskRecovery is access recovery after an identity check at the desk, for a
	// person who never gave ScopeRecover: the code works after RecoveryWait only, and the
	// owner can cancel it meanwhile.
	ScopeDeskRecovery Scope = "desk_recovery"
)

// Operations no mandate ever allows. Authorize refuses them always, and journals the
// attempt: the web sends every agent request through Authorize, even these.
const (
	ScopeDelete      Scope = "delete"
	ScopeExport      Scope = "export"
	ScopeCredentials Scope = "credentials" // change the owner's secret, passkeys, sessions
)

// scopeUnlock words a wrong secret typed on an agent's screen in the owner's history;
// Authorize never allows it (DeskUnlock decides by the secret).
const scopeUnlock Scope = "unlock"

// GrantableScopes are the scopes a mandate may hold.
var GrantableScopes = []Scope{ScopeDeposit, ScopeRead, ScopeShare, ScopeRecover} //nolint:gochecknoglobals // a constant list

// scopeVerbs say in the owner's history what an agent tried to do.
var scopeVerbs = map[Scope]string{ //nolint:gochecknoglobals // a constant table
	ScopeDeposit: "déposer un document", ScopeRead: "consulter vos documents", ScopeShare: "partager vos documents",
	ScopeRecover: "rétablir votre accès", ScopeReach: "trouver votre coffre", ScopeDeskRecovery: "rétablir votre accès",
	ScopeDelete: "supprimer un document", ScopeExport: "exporter votre coffre",
	ScopeCredentials: "changer vos moyens de connexion", scopeUnlock: "débloquer votre coffre avec un mauvais mot de passe",
}

// ScopeOfVerb returns the scope whose words a history entry holds (the journal keeps them
// in French, as scopeVerbs says them), so that a history in another language can say
// them in its own; false for words of no scope.
func ScopeOfVerb(verb string) (Scope, bool) {
	for sc, v := range scopeVerbs {
		if v == verb && sc != ScopeDeskRecovery { // the same words as ScopeRecover
			return sc, true
		}
	}
	return "", false
}

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

// ExpiryNotice is how long before its end a mandate is announced, to the owner and the
// structure.
const ExpiryNotice = 30 * 24 * time.Hour

// phoneConfirmWithin bounds a pending mandate: the person confirms during the appointment.
const phoneConfirmWithin = 15 * time.Minute

// Live tells whether the mandate allows anything at t.
func (m *Mandate) Live(t time.Time) bool {
	return m.RevokedAt == nil && m.StartsAt != nil && !t.Before(*m.StartsAt) && t.Before(*m.ExpiresAt)
}

// ExpiresSoon tells whether a live mandate ends within ExpiryNotice of t.
func (m *Mandate) ExpiresSoon(t time.Time) bool {
	return m.Live(t) && m.ExpiresAt.Sub(t) <= ExpiryNotice
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
		if c.Method != ConsentPhone {
			now := time.Now().UTC().Truncate(time.Microsecond)
			end := nm.Duration.End(now)
			starts, expires, action = &now, &end, ActionMandateGranted
			if err := s.replaceLive(ctx, tx, owner, cur.StructureID, by, cur.Label()); err != nil {
				return err
			}
		}
		m.StartsAt, m.ExpiresAt = starts, expires
		if err := tx.QueryRow(ctx, `
			INSERT INTO mandates (id, owner_id, structure_id, scopes, duration, starts_at, expires_at, confirmed_at,
				consent_method, consent_text_version, granted_by_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8, $9, $10) RETURNING created_at`,
			m.ID, owner, m.StructureID, scopeStrings(m.Scopes), m.Duration, starts, expires, m.ConsentMethod, m.ConsentText, cur.ID).
			Scan(&m.CreatedAt); err != nil {
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
	tag, err := tx.Exec(ctx, `UPDATE mandates SET revoked_at = now(), revoked_by_kind = $3, revoked_by_id = $4
		WHERE owner_id = $1 AND structure_id = $2 AND revoked_at IS NULL AND confirmed_at IS NOT NULL AND expires_at > now()`,
		owner, structure, by.Kind, by.ID)
	if err != nil || tag.RowsAffected() == 0 {
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
		var structure uuid.UUID
		var duration Duration
		var name string
		err := tx.QueryRow(ctx, `SELECT m.structure_id, m.duration, s.name FROM mandates m JOIN structures s ON s.id = m.structure_id
			WHERE m.owner_id = $1 AND m.id = $2 AND m.confirmed_at IS NULL AND m.revoked_at IS NULL AND m.created_at > now() - $3::interval
			FOR UPDATE OF m`, owner, id, phoneConfirmWithin).Scan(&structure, &duration, &name)
		if err != nil {
			return notFound(err)
		}
		if err := s.replaceLive(ctx, tx, owner, structure, by, "vous"); err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		end := duration.End(now)
		if _, err := tx.Exec(ctx, `UPDATE mandates SET confirmed_at = $3, starts_at = $3, expires_at = $4 WHERE owner_id = $1 AND id = $2`,
			owner, id, now, end); err != nil {
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

const mandateColumns = `m.id, m.owner_id, m.structure_id, s.name, s.siret, m.scopes, m.duration, m.created_at,
	m.starts_at, m.expires_at, m.consent_method, m.consent_text_version, coalesce(m.granted_by_agent, '00000000-0000-0000-0000-000000000000'),
	m.revoked_at, coalesce(m.revoked_by_kind, ''), coalesce(m.revoked_by_id, '')`

const mandateFrom = ` FROM mandates m JOIN structures s ON s.id = m.structure_id `

func scanMandate(row pgx.CollectableRow) (Mandate, error) {
	var m Mandate
	var scopes []string
	err := row.Scan(&m.ID, &m.OwnerID, &m.StructureID, &m.StructureName, &m.StructureSIRET, &scopes, &m.Duration,
		&m.CreatedAt, &m.StartsAt, &m.ExpiresAt, &m.ConsentMethod, &m.ConsentText, &m.GrantedBy,
		&m.RevokedAt, &m.RevokedBy.Kind, &m.RevokedBy.ID)
	for _, sc := range scopes {
		m.Scopes = append(m.Scopes, Scope(sc))
	}
	return m, err
}

func (s *Service) mandate(ctx context.Context, owner, id uuid.UUID) (*Mandate, error) {
	rows, err := s.db.Query(ctx, `SELECT `+mandateColumns+mandateFrom+`WHERE m.owner_id = $1 AND m.id = $2`, owner, id)
	if err != nil {
		return nil, fmt.Errorf("sharing: mandate %s: %w", id, err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, scanMandate)
	if err != nil {
		return nil, fmt.Errorf("sharing: mandate %s: %w", id, notFound(err))
	}
	ms, err := s.withLogins(ctx, []Mandate{m}, true)
	if err != nil {
		return nil, fmt.Errorf("sharing: mandate %s: %w", id, err)
	}
	return &ms[0], nil
}

// withLogins fills in the owners' logins (vault's), and leaves out the mandates of
// erased safes unless keepErased.
func (s *Service) withLogins(ctx context.Context, ms []Mandate, keepErased bool) ([]Mandate, error) {
	if len(ms) == 0 {
		return ms, nil
	}
	ids := make([]uuid.UUID, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.OwnerID)
	}
	logins, err := s.vault.OwnerLogins(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		login, ok := logins[m.OwnerID]
		if !ok && !keepErased {
			continue
		}
		m.OwnerLogin = login
		out = append(out, m)
	}
	return out, nil
}

// Mandates lists owner's mandates, newest first, ended ones included (the owner's account
// page shows live ones first with Live and ExpiresSoon).
func (s *Service) Mandates(ctx context.Context, owner uuid.UUID) ([]Mandate, error) {
	rows, err := s.db.Query(ctx, `SELECT `+mandateColumns+mandateFrom+`WHERE m.owner_id = $1 ORDER BY m.created_at DESC`, owner)
	if err != nil {
		return nil, fmt.Errorf("sharing: mandates: %w", err)
	}
	ms, err := pgx.CollectRows(rows, scanMandate)
	if err == nil {
		ms, err = s.withLogins(ctx, ms, true)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: mandates: %w", err)
	}
	return ms, nil
}

// StructureMandates lists the live mandates held by the agent's structure, soonest
// expiry first, for the agents' list of people they help (with the owner's login, which
// the agent types to find someone anyway).
func (s *Service) StructureMandates(ctx context.Context, agent *Agent) ([]Mandate, error) {
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil || cur.DeactivatedAt != nil {
		return nil, fmt.Errorf("sharing: structure mandates: %w", ErrForbidden)
	}
	rows, err := s.db.Query(ctx, `SELECT `+mandateColumns+mandateFrom+`
		WHERE m.structure_id = $1 AND m.revoked_at IS NULL AND m.starts_at <= now() AND m.expires_at > now()
		ORDER BY m.expires_at`, cur.StructureID)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure mandates: %w", err)
	}
	ms, err := pgx.CollectRows(rows, scanMandate)
	if err == nil {
		ms, err = s.withLogins(ctx, ms, false)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: structure mandates: %w", err)
	}
	return ms, nil
}

// MandatesEnding lists the live mandates of every owner that end within ExpiryNotice, as
// the messages' scan tells their owners of them (notify.Config.MandatesEnding).
func (s *Service) MandatesEnding(ctx context.Context) ([]notify.MandateEnding, error) {
	ms, err := s.MandatesExpiringWithin(ctx, ExpiryNotice)
	if err != nil {
		return nil, err
	}
	out := make([]notify.MandateEnding, len(ms))
	for i, m := range ms {
		out[i] = notify.MandateEnding{ID: m.ID, OwnerID: m.OwnerID, EndsAt: *m.ExpiresAt, Structure: m.StructureName}
	}
	return out, nil
}

// MandatesExpiringWithin lists the live mandates of every owner that end within d, for
// the notice job (owner and structure are told ExpiryNotice ahead).
func (s *Service) MandatesExpiringWithin(ctx context.Context, d time.Duration) ([]Mandate, error) {
	rows, err := s.db.Query(ctx, `SELECT `+mandateColumns+mandateFrom+`
		WHERE m.revoked_at IS NULL AND m.expires_at > now() AND m.expires_at <= now() + $1::interval
		ORDER BY m.expires_at`, d)
	if err != nil {
		return nil, fmt.Errorf("sharing: expiring mandates: %w", err)
	}
	ms, err := pgx.CollectRows(rows, scanMandate)
	if err == nil {
		ms, err = s.withLogins(ctx, ms, false)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: expiring mandates: %w", err)
	}
	return ms, nil
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
		var of uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE mandates SET revoked_at = now(), revoked_by_kind = $3, revoked_by_id = $4
			WHERE owner_id = $1 AND id = $2 AND revoked_at IS NULL AND ($5 = '00000000-0000-0000-0000-000000000000'::uuid OR structure_id = $5)
			RETURNING structure_id`,
			owner, id, by.Kind, by.ID, structure).Scan(&of)
		if err != nil {
			return notFound(err)
		}
		if by.Kind == vault.ActorOwner {
			if err := endOpenerReach(ctx, tx, owner, of); err != nil {
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

// endOpenerReach ends, inside tx, the reach structure had from opening owner's safe at
// its desk (reach.opened); nothing when it did not open it.
func endOpenerReach(ctx context.Context, tx pgx.Tx, owner, structure uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE assisted_openings SET reach_ended_at = now()
		WHERE owner_id = $1 AND structure_id = $2 AND reach_ended_at IS NULL`, owner, structure)
	return err
}

// reach is what Authorize decides from, read in one query: who the agent is to the safe.
type reach struct {
	found    bool    // the agent and their structure are active, and the owner exists
	open     bool    // the safe is neither closed nor erased
	scopes   []Scope // of the structure's live mandates from the owner
	opened   bool    // the structure opened the safe at its desk, and the owner has not ended that since
	unlocked bool    // the person unlocked it at this agent's desk within DeskUnlockTTL
}

// allows is the decision itself: may an agent with these facts do scope in the safe?
func (r reach) allows(scope Scope) bool {
	if !r.found || !r.open {
		return false // a closed safe answers nobody but its owner, whatever mandate rows say
	}
	switch scope {
	case ScopeDeposit, ScopeRead, ScopeShare, ScopeRecover:
		return slices.Contains(r.scopes, scope)
	case ScopeReach, ScopeDeskRecovery:
		return r.opened || len(r.scopes) > 0 || r.unlocked
	}
	return false // delete, export, credentials, and anything unknown
}

func (s *Service) reach(ctx context.Context, agent, owner uuid.UUID) (reach, error) {
	r := reach{found: true, open: true}
	// Whether the safe is open is the vault's decision, the same for every path.
	switch err := s.vault.CheckOpen(ctx, owner); {
	case errors.Is(err, vault.ErrNotFound):
		return reach{}, nil
	case errors.Is(err, vault.ErrClosed), errors.Is(err, vault.ErrShredded):
		r.open = false
	case err != nil:
		return reach{}, fmt.Errorf("sharing: authorize: %w", err)
	}
	var scopes []string
	err := s.db.QueryRow(ctx, `
		SELECT (SELECT coalesce(array_agg(DISTINCT sc), '{}') FROM mandates m CROSS JOIN LATERAL unnest(m.scopes) sc
				WHERE m.owner_id = $2 AND m.structure_id = a.structure_id
				AND m.revoked_at IS NULL AND m.starts_at <= now() AND m.expires_at > now()),
			EXISTS (SELECT 1 FROM assisted_openings x WHERE x.owner_id = $2 AND x.structure_id = a.structure_id AND x.reach_ended_at IS NULL),
			EXISTS (SELECT 1 FROM desk_unlocks u WHERE u.agent_id = a.id AND u.owner_id = $2 AND u.expires_at > now())
		FROM agents a JOIN structures s ON s.id = a.structure_id AND s.deactivated_at IS NULL
		WHERE a.id = $1 AND a.deactivated_at IS NULL`, agent, owner).Scan(&scopes, &r.opened, &r.unlocked)
	if errors.Is(err, pgx.ErrNoRows) {
		return reach{}, nil
	}
	if err != nil {
		return reach{}, fmt.Errorf("sharing: authorize: %w", err)
	}
	for _, sc := range scopes {
		r.scopes = append(r.scopes, Scope(sc))
	}
	return r, nil
}

// Authorize is the one check every agent action on an owner's safe goes through: may
// this agent act on this safe, for this purpose? The agent and their structure must be
// active and the safe open (closed or erased: refused, whatever mandate rows say). Then:
//
//   - deposit, read, share, recover: the structure holds a started, unexpired, unrevoked
//     mandate from owner with that scope;
//   - reach (find the safe, see its login, ask for a mandate) and desk_recovery: the
//     structure opened the safe (until the owner ends a mandate of it: endOpenerReach),
//     or holds a live mandate from owner (any scope), or the person unlocked it at this
//     agent's desk within DeskUnlockTTL;
//   - delete, export, credentials, and anything else: never.
//
// A refusal is journaled as a failed attempt in the owner's history (exactly one entry,
// when the owner exists) and answers vault.ErrNotFound, the same answer as a missing
// safe or document, so that an agent learns nothing of safes they may not reach.
func (s *Service) Authorize(ctx context.Context, agent *Agent, owner uuid.UUID, scope Scope, ip netip.Addr) error {
	if agent == nil {
		return fmt.Errorf("sharing: authorize: no agent: %w", vault.ErrNotFound)
	}
	if _, ok := scopeVerbs[scope]; !ok {
		scope = ScopeCredentials // an unknown operation is refused like the worst one
	}
	r, err := s.reach(ctx, agent.ID, owner)
	if err != nil {
		return err
	}
	if r.allows(scope) {
		return nil
	}
	return s.refuse(ctx, agent, owner, scope, ip)
}

// Allows answers Authorize's question without journaling anything, to choose what to
// offer (the recovery form: at once under a mandate with ScopeRecover, else after an
// identity check). Every action still goes through Authorize.
func (s *Service) Allows(ctx context.Context, agent *Agent, owner uuid.UUID, scope Scope) (bool, error) {
	if agent == nil {
		return false, nil
	}
	r, err := s.reach(ctx, agent.ID, owner)
	return r.allows(scope), err
}

// StructureMandate returns owner's mandate id when the agent's structure holds it and
// the agent reaches the safe (ScopeReach). Anything else, another structure's mandate
// included, is refused like Authorize refuses: journaled in the owner's history, and
// vault.ErrNotFound.
func (s *Service) StructureMandate(ctx context.Context, agent *Agent, owner, id uuid.UUID, ip netip.Addr) (*Mandate, error) {
	if err := s.Authorize(ctx, agent, owner, ScopeReach, ip); err != nil {
		return nil, err
	}
	m, err := s.mandate(ctx, owner, id)
	if errors.Is(err, vault.ErrNotFound) || err == nil && m.StructureID != agent.StructureID {
		return nil, s.refuse(ctx, agent, owner, ScopeReach, ip)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// RefuseCode journals, like a refused action, a code typed on the agent's screen for
// owner's safe that is not its temporary code (the access card form), and returns
// vault.ErrNotFound.
func (s *Service) RefuseCode(ctx context.Context, agent *Agent, owner uuid.UUID, ip netip.Addr) error {
	return s.refuse(ctx, agent, owner, scopeUnlock, ip)
}

// refuse journals a refused agent action and returns the "not found" answer.
func (s *Service) refuse(ctx context.Context, agent *Agent, owner uuid.UUID, scope Scope, ip netip.Addr) error {
	if err := s.deny(ctx, agent, owner, scope, ip); err != nil {
		// Refused all the same; but an attempt the owner cannot see is a failure to report.
		return fmt.Errorf("sharing: authorize %s: journal the attempt: %w", scope, err)
	}
	return fmt.Errorf("sharing: authorize %s: %w", scope, vault.ErrNotFound)
}

// deny journals a refused agent action in the owner's history, saying who tried what. An
// owner that does not exist gets no chain: a guessed ID must not create one.
func (s *Service) deny(ctx context.Context, agent *Agent, owner uuid.UUID, scope Scope, ip netip.Addr) error {
	ctx = context.WithoutCancel(ctx)
	if _, err := s.vault.Owner(ctx, owner); err != nil {
		if errors.Is(err, vault.ErrNotFound) {
			return nil
		}
		return err
	}
	label := agent.ID.String()
	if cur, err := s.Agent(ctx, agent.ID); err == nil {
		label = cur.Label()
	}
	return s.vault.Record(ctx, owner, vault.Event{Actor: agent.Actor(ip), Action: vault.ActionDenied, Detail: label + " — " + scopeVerbs[scope]})
}

// DeskUnlockTTL is how long the person's secret, typed on an agent's screen, lets that
// agent (and no colleague) reach the safe: one appointment.
const DeskUnlockTTL = 15 * time.Minute

// DeskUnlock is the person at the desk typing their login and their secret (or the code
// of their access card) on the agent's screen, so that the agent may reach their safe
// (ScopeReach) for DeskUnlockTTL: to ask for a mandate when the structure has no tie to
// the safe yet. It returns the owner's ID. An unknown login, a wrong or expired secret
// and a closed safe all give vault.ErrNotFound (a wrong secret, like a refusal, is
// journaled in the safe; failures count against the owner's sign-in throttle); a
// lockout gives *account.LockedError. The unlock is journaled.
func (s *Service) DeskUnlock(ctx context.Context, agent *Agent, login, secret string, ip netip.Addr) (uuid.UUID, error) {
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil || cur.DeactivatedAt != nil {
		return uuid.Nil, fmt.Errorf("sharing: desk unlock: %w", vault.ErrNotFound)
	}
	norm, err := account.NormalizeLogin(login)
	if err != nil {
		return uuid.Nil, fmt.Errorf("sharing: desk unlock: %w", vault.ErrNotFound)
	}
	o, err := s.vault.OwnerByLogin(ctx, norm)
	if errors.Is(err, vault.ErrNotFound) {
		// As long as a wrong secret, counted the same, so that the answer tells nothing.
		if err := s.accounts.TakeAttempt(ctx, norm, ip); err != nil {
			return uuid.Nil, fmt.Errorf("sharing: desk unlock: %w", err)
		}
		if _, err := s.accounts.VerifySecret(ctx, account.DummySecretHash, secret); err != nil {
			return uuid.Nil, errors.Join(fmt.Errorf("sharing: desk unlock: %w", err), s.accounts.GiveBackAttempt(context.WithoutCancel(ctx), norm, ip))
		}
		return uuid.Nil, fmt.Errorf("sharing: desk unlock: %w", vault.ErrNotFound)
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("sharing: desk unlock: %w", err)
	}
	err = s.unlockWithConsent(ctx, cur, o.ID, Consent{Method: ConsentSecret, Secret: secret}, ip)
	if errors.Is(err, ErrTemporarySecret) {
		// The code printed on an access card unlocks nothing: an agent who reaches the
		// safe anyway goes on (the structure that printed it, say), any other is told.
		if ok, rerr := s.Allows(ctx, cur, o.ID, ScopeReach); rerr != nil || ok {
			return o.ID, rerr
		}
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("sharing: desk unlock: %w", err)
	}
	return o.ID, nil
}

// unlockWithConsent checks the person's secret (or that the web verified their passkey)
// and records that they unlocked their safe at this agent's desk, with a journal entry.
// A wrong or expired secret, or a closed safe, is refused and journaled once like any
// refusal (vault.ErrNotFound), except that an agent who reaches the safe anyway gets
// account.ErrBadCredentials, so that the form can say the secret was wrong. A temporary
// code (account.AccessState.MustChange) is no consent: ErrTemporarySecret, nothing
// recorded.
func (s *Service) unlockWithConsent(ctx context.Context, agent *Agent, owner uuid.UUID, c Consent, ip netip.Addr) error {
	var err error
	temporary := false
	switch {
	case c.Method == ConsentPasskey && !c.PasskeyVerified:
		err = fmt.Errorf("passkey not verified: %w", account.ErrBadCredentials)
	case c.Method == ConsentSecret:
		err = s.accounts.CheckOwnerSecret(ctx, owner, c.Secret, ip)
		if err == nil {
			var st account.AccessState
			if st, err = s.accounts.AccessState(ctx, owner); err == nil && st.Expired {
				err = fmt.Errorf("expired temporary code: %w", account.ErrBadCredentials)
			}
			temporary = st.MustChange
		}
	}
	if errors.Is(err, vault.ErrNotFound) {
		return err
	}
	r, rerr := s.reach(ctx, agent.ID, owner)
	if rerr != nil {
		return rerr
	}
	if errors.Is(err, account.ErrBadCredentials) {
		if r.allows(ScopeReach) {
			if derr := s.deny(ctx, agent, owner, scopeUnlock, ip); derr != nil {
				return fmt.Errorf("sharing: desk unlock: journal the attempt: %w", derr)
			}
			return err
		}
		return s.refuse(ctx, agent, owner, scopeUnlock, ip)
	}
	if err != nil {
		return err
	}
	if !r.open {
		return s.refuse(ctx, agent, owner, ScopeReach, ip)
	}
	if temporary {
		return fmt.Errorf("sharing: desk unlock %s: %w", owner, ErrTemporarySecret)
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.vault.CheckOpenTx(ctx, tx, owner); err != nil { // a closure ends desk unlocks
			return closedNotFound(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO desk_unlocks (agent_id, owner_id, expires_at) VALUES ($1, $2, now() + $3::interval)
			ON CONFLICT (agent_id, owner_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`, agent.ID, owner, DeskUnlockTTL); err != nil {
			return err
		}
		return s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: agent.Actor(ip), Action: ActionDeskUnlocked, Detail: agent.Label()})
	})
	if err != nil {
		return fmt.Errorf("sharing: desk unlock %s: %w", owner, err)
	}
	return nil
}

// PurgeDeskUnlocks deletes desk unlocks past their end, for the purge job.
func (s *Service) PurgeDeskUnlocks(ctx context.Context) (int, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM desk_unlocks WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("sharing: purge desk unlocks: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// AgentDocuments lists owner's documents for an agent with a read mandate, and journals
// that the agent saw the list.
func (s *Service) AgentDocuments(ctx context.Context, agent *Agent, owner uuid.UUID, ip netip.Addr) ([]vault.Document, error) {
	return s.agentList(ctx, agent, owner, ScopeRead, ip)
}

// AgentShareableDocuments lists owner's documents for an agent with a share mandate, to
// pick those to send at the person's request. Picking shows the titles, so the listing is
// journaled like a read one (ActionAidantListed), once per listing.
func (s *Service) AgentShareableDocuments(ctx context.Context, agent *Agent, owner uuid.UUID, ip netip.Addr) ([]vault.Document, error) {
	return s.agentList(ctx, agent, owner, ScopeShare, ip)
}

// agentList is every listing of titles shown to an agent: authorized for scope, then
// journaled once.
func (s *Service) agentList(ctx context.Context, agent *Agent, owner uuid.UUID, scope Scope, ip netip.Addr) ([]vault.Document, error) {
	if err := s.Authorize(ctx, agent, owner, scope, ip); err != nil {
		return nil, err
	}
	docs, err := s.vault.Documents(ctx, owner)
	if err != nil {
		return nil, err
	}
	if err := s.vault.Record(ctx, owner, vault.Event{Actor: agent.Actor(ip), Action: ActionAidantListed}); err != nil {
		return nil, fmt.Errorf("sharing: agent documents: %w", err)
	}
	return docs, nil
}

// AgentDocument returns one of owner's documents for an agent with a read mandate.
func (s *Service) AgentDocument(ctx context.Context, agent *Agent, owner, doc uuid.UUID, ip netip.Addr) (*vault.Document, error) {
	if err := s.Authorize(ctx, agent, owner, ScopeRead, ip); err != nil {
		return nil, err
	}
	return s.vault.Document(ctx, owner, doc, agent.Actor(ip))
}

// AgentOpen reads a blob of owner's document for an agent with a read mandate; action
// (view, download, print) is journaled by the vault with the agent as actor.
func (s *Service) AgentOpen(ctx context.Context, agent *Agent, owner, doc, blob uuid.UUID, action vault.Action, ip netip.Addr) (*vault.BlobReader, error) {
	if err := s.Authorize(ctx, agent, owner, ScopeRead, ip); err != nil {
		return nil, err
	}
	return s.vault.Open(ctx, owner, doc, blob, agent.Actor(ip), action)
}

// AgentDeposit puts a document in owner's safe for an agent with a deposit mandate.
func (s *Service) AgentDeposit(ctx context.Context, agent *Agent, owner uuid.UUID, nd vault.NewDocument, ip netip.Addr) (*vault.Document, error) {
	if err := s.Authorize(ctx, agent, owner, ScopeDeposit, ip); err != nil {
		return nil, err
	}
	return s.vault.Deposit(ctx, owner, agent.Actor(ip), nd)
}

// AgentCreateLink creates a share link (and so a QR code) for owner, for an agent with a
// share mandate.
func (s *Service) AgentCreateLink(ctx context.Context, agent *Agent, owner uuid.UUID, nl NewLink, ip netip.Addr) (*Created, error) {
	if err := s.Authorize(ctx, agent, owner, ScopeShare, ip); err != nil {
		return nil, err
	}
	return s.CreateLink(ctx, owner, agent.Actor(ip), nl)
}

// MonthStats are one month's figures of a structure: aggregates only, no names, no
// documents.
type MonthStats struct {
	Month            time.Time // first day of the month, UTC
	SafesOpened      int       // safes its agents opened at the desk
	SafesActivated   int       // of the safes it opened, those whose owner first signed in that month
	Deposits         int       // documents its agents deposited
	LinksCreated     int       // links its agents created
	LinksUsed        int       // of those links, the ones downloaded at least once (by creation month)
	Prints           int       // documents its agents printed
	MandatesActive   int       // mandates live at some point of the month
	MandatesGranted  int       // mandates that started that month
	MandatesExpiring int       // live mandates ending that month
}

// StructureStats returns the référent's structure's figures per month, from the month of
// from to the month of to, oldest first.
func (s *Service) StructureStats(ctx context.Context, referent *Agent, from, to time.Time) ([]MonthStats, error) {
	if err := s.checkReferent(ctx, referent); err != nil {
		return nil, err
	}
	from = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	to = time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC)
	if to.Before(from) || to.Sub(from) > 5*366*24*time.Hour {
		return nil, fmt.Errorf("sharing: structure stats: period: %w", ErrBadRequest)
	}
	// One pass per figure over index-backed ranges (agents of the structure, then their
	// partial indexes on documents, links and journal), bucketed by month: sharing's own
	// tables here, vault's through its methods.
	rows, err := s.db.Query(ctx, `
		WITH months AS (
			-- Months in UTC whatever the session's time zone (no DST shift at month ends).
			SELECT m AT TIME ZONE 'UTC' AS start, (m + interval '1 month') AT TIME ZONE 'UTC' AS stop
			FROM generate_series($2::timestamp, $3::timestamp, interval '1 month') m
		), ag AS (
			SELECT id::text AS id FROM agents WHERE structure_id = $1
		)
		SELECT months.start,
			(SELECT count(*) FROM assisted_openings a WHERE a.structure_id = $1 AND a.opened_at >= months.start AND a.opened_at < months.stop),
			(SELECT count(*) FROM links l WHERE l.created_by_kind = 'aidant' AND l.created_by_id IN (SELECT id FROM ag)
				AND l.created_at >= months.start AND l.created_at < months.stop),
			(SELECT count(*) FROM links l WHERE l.created_by_kind = 'aidant' AND l.created_by_id IN (SELECT id FROM ag)
				AND l.created_at >= months.start AND l.created_at < months.stop AND l.downloads > 0),
			(SELECT count(*) FROM mandates m WHERE m.structure_id = $1 AND m.starts_at < months.stop AND m.expires_at > months.start
				AND (m.revoked_at IS NULL OR m.revoked_at > months.start)),
			(SELECT count(*) FROM mandates m WHERE m.structure_id = $1 AND m.starts_at >= months.start AND m.starts_at < months.stop),
			(SELECT count(*) FROM mandates m WHERE m.structure_id = $1 AND m.revoked_at IS NULL
				AND m.expires_at >= months.start AND m.expires_at < months.stop)
		FROM months ORDER BY months.start`, referent.StructureID, from, to)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (MonthStats, error) {
		var m MonthStats
		err := row.Scan(&m.Month, &m.SafesOpened, &m.LinksCreated, &m.LinksUsed, &m.MandatesActive, &m.MandatesGranted, &m.MandatesExpiring)
		m.Month = m.Month.UTC()
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	agents, opened, err := s.structureAgentsAndOpenings(ctx, referent.StructureID)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	activated, err := s.vault.ActivationsByMonth(ctx, opened, from, to)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	deposits, err := s.vault.AidantDepositsByMonth(ctx, agents, from, to)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	prints, err := s.vault.AidantActionsByMonth(ctx, agents, vault.ActionPrint, from, to)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure stats: %w", err)
	}
	if len(activated) != len(out) || len(deposits) != len(out) || len(prints) != len(out) {
		return nil, fmt.Errorf("sharing: structure stats: %d months, vault counted %d, %d and %d", len(out), len(activated), len(deposits), len(prints))
	}
	for i := range out {
		out[i].SafesActivated, out[i].Deposits, out[i].Prints = activated[i], deposits[i], prints[i]
	}
	return out, nil
}

// structureAgentsAndOpenings returns the actor IDs of the structure's agents and the
// owners whose safes it opened at its desk.
func (s *Service) structureAgentsAndOpenings(ctx context.Context, structure uuid.UUID) ([]string, []uuid.UUID, error) {
	rows, err := s.db.Query(ctx, `SELECT id::text FROM agents WHERE structure_id = $1`, structure)
	if err != nil {
		return nil, nil, err
	}
	agents, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, err
	}
	if rows, err = s.db.Query(ctx, `SELECT owner_id FROM assisted_openings WHERE structure_id = $1`, structure); err != nil {
		return nil, nil, err
	}
	opened, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	return agents, opened, err
}

// endMandates ends, inside the vault's closing transaction, every mandate of owner not
// yet ended, requests waiting for the owner's phone included (one "mandate_ended" entry
// each, naming the structure), and the desk unlocks of the safe.
func (s *Service) endMandates(ctx context.Context, tx pgx.Tx, owner uuid.UUID, by vault.Actor) error {
	rows, err := tx.Query(ctx, `UPDATE mandates m SET revoked_at = now(), revoked_by_kind = $2, revoked_by_id = $3
		FROM structures s WHERE s.id = m.structure_id AND m.owner_id = $1 AND m.revoked_at IS NULL
			AND (m.expires_at IS NULL OR m.expires_at > now())
		RETURNING s.name`, owner, by.Kind, by.ID)
	if err != nil {
		return err
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, structure := range ended {
		if err := s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionMandateEnded, Detail: structure}); err != nil {
			return err
		}
	}
	return forgetDeskUnlocks(ctx, tx, owner)
}

func forgetMandates(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM mandates WHERE owner_id = $1`, owner)
	return err
}

func forgetDeskUnlocks(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM desk_unlocks WHERE owner_id = $1`, owner)
	return err
}
