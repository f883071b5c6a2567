package sharing

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"coffre/vault"
	"coffre/vault/account"
)

// Aidants: structures (CCAS, CIAS, France Services, associations) and their agents, who
// sign in with a login, a password and a TOTP code, open safes for people at the desk and
// help them get back in. What an agent may do in someone's safe is decided by a mandate
// (mandate.go), through Authorize only.

// StructureKind is the legal kind of a structure.
type StructureKind string

// Structure kinds.
const (
	KindCCAS           StructureKind = "ccas"
	KindCIAS           StructureKind = "cias"
	KindFranceServices StructureKind = "france_services"
	KindAssociation    StructureKind = "association"
)

// Role is an agent's role in their structure.
type Role string

// Agent roles: a référent also invites and deactivates the structure's agents and sees
// its dashboard.
const (
	RoleAgent    Role = "agent"
	RoleReferent Role = "referent"
)

// Errors of structures and agents.
var (
	// ErrBadSIRET: not 14 digits, or the check digit is wrong.
	ErrBadSIRET = errors.New("invalid SIRET")
	// ErrBadTOTP: the TOTP code is malformed, wrong, outside ±1 step, or already used.
	ErrBadTOTP = errors.New("wrong authenticator code")
	// ErrAgentCredentials: unknown login, wrong password, or deactivated agent; never
	// told apart.
	ErrAgentCredentials = errors.New("wrong agent login, password or code")
	// ErrBadRequest: a structure, agent or mandate request is malformed (empty name,
	// unknown kind, role, scope or duration).
	ErrBadRequest = errors.New("invalid aidant request")
	// ErrTaken: that SIRET or agent login is already registered.
	ErrTaken = errors.New("already registered")
	// ErrForbidden: the agent's role does not allow this (an agent acting as référent,
	// a référent of another structure).
	ErrForbidden = errors.New("not allowed for this agent")
	// ErrTemporarySecret: the secret typed on the agent's screen is right, but it is a
	// temporary code that an agent printed, not one the person chose: it is no proof of
	// their consent. They give it from their phone (ConsentPhone), where they choose
	// their own secret first.
	ErrTemporarySecret = errors.New("the owner's secret is still a temporary code")
)

// Agent sessions: an agent is asked again for password and code after AgentIdle without
// activity, and before sensitive actions when the last check is older than
// AgentReverify (see AgentSession.Fresh).
const (
	AgentIdle         = 15 * time.Minute
	AgentReverify     = 15 * time.Minute
	agentSessionMax   = 10 * time.Hour // a working day
	AccessCodeTTL     = 30 * 24 * time.Hour
	maxStructureName  = 120
	maxAgentName      = 80
	maxContact        = 300
	totpPeriod        = 30
	throttleNamespace = "agent:"
)

// Structure is a CCAS, CIAS, France Services or association.
type Structure struct {
	ID            uuid.UUID
	Name          string
	Kind          StructureKind
	SIRET         string
	Contact       string // address, phone, opening hours: printed on access cards
	CreatedAt     time.Time
	DeactivatedAt *time.Time
}

// NewStructure is what the operator registers.
type NewStructure struct {
	Name    string
	Kind    StructureKind
	SIRET   string
	Contact string
}

// ParseStructureKind checks a structure kind.
func ParseStructureKind(s string) (StructureKind, error) {
	switch k := StructureKind(s); k {
	case KindCCAS, KindCIAS, KindFranceServices, KindAssociation:
		return k, nil
	}
	return "", fmt.Errorf("structure kind %q is not ccas, cias, france_services or association: %w", s, ErrBadRequest)
}

// laPosteSIREN is the one SIREN whose establishments' SIRETs do not all follow the Luhn
// check: La Poste has more establishments than one check digit could number, so INSEE
// numbers them so that the sum of the 14 digits is a multiple of 5 instead. Its head
// office (356 000 000 00048) does pass Luhn: both rules are accepted for this SIREN.
const laPosteSIREN = "356000000"

// ParseSIRET returns the 14 digits of a SIRET written with or without spaces, after the
// Luhn check (La Poste's exception: sum of digits % 5).
func ParseSIRET(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '\u00a0' || r == '\u202f':
			continue
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("siret: character %q: %w", r, ErrBadSIRET)
		}
		if b.Len() > 14 {
			return "", fmt.Errorf("siret: more than 14 digits: %w", ErrBadSIRET)
		}
	}
	d := b.String()
	if len(d) != 14 {
		return "", fmt.Errorf("siret: %d digits instead of 14: %w", len(d), ErrBadSIRET)
	}
	if luhn(d) {
		return d, nil
	}
	if d[:9] == laPosteSIREN {
		sum := 0
		for i := range 14 {
			sum += int(d[i] - '0')
		}
		if sum%5 == 0 {
			return d, nil
		}
	}
	return "", fmt.Errorf("siret: check digit: %w", ErrBadSIRET)
}

// luhn is the Luhn mod-10 check over a string of ASCII digits.
func luhn(d string) bool {
	sum := 0
	for i := range len(d) {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

func cleanText(s string, max int, what string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", fmt.Errorf("%s: empty or longer than %d characters: %w", what, max, ErrBadRequest)
	}
	return s, nil
}

// CreateStructure registers a structure (operator, from the command line).
func (s *Service) CreateStructure(ctx context.Context, ns NewStructure) (*Structure, error) {
	st := &Structure{ID: uuid.New(), Contact: strings.TrimSpace(ns.Contact)}
	var err error
	if st.Name, err = cleanText(ns.Name, maxStructureName, "name"); err != nil {
		return nil, fmt.Errorf("sharing: create structure: %w", err)
	}
	if st.Kind, err = ParseStructureKind(string(ns.Kind)); err != nil {
		return nil, fmt.Errorf("sharing: create structure: %w", err)
	}
	if st.SIRET, err = ParseSIRET(ns.SIRET); err != nil {
		return nil, fmt.Errorf("sharing: create structure: %w", err)
	}
	if utf8.RuneCountInString(st.Contact) > maxContact || !utf8.ValidString(st.Contact) {
		return nil, fmt.Errorf("sharing: create structure: contact longer than %d characters: %w", maxContact, ErrBadRequest)
	}
	err = s.db.QueryRow(ctx, `INSERT INTO structures (id, name, kind, siret, contact) VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
		st.ID, st.Name, st.Kind, st.SIRET, st.Contact).Scan(&st.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("sharing: create structure: %w", uniqueErr(err))
	}
	return st, nil
}

func uniqueErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return ErrTaken
	}
	return err
}

// Structure returns one structure.
func (s *Service) Structure(ctx context.Context, id uuid.UUID) (*Structure, error) {
	st := &Structure{}
	err := s.db.QueryRow(ctx, `SELECT id, name, kind, siret, contact, created_at, deactivated_at FROM structures WHERE id = $1`, id).
		Scan(&st.ID, &st.Name, &st.Kind, &st.SIRET, &st.Contact, &st.CreatedAt, &st.DeactivatedAt)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure %s: %w", id, notFound(err))
	}
	return st, nil
}

// StructureBySIRET returns the structure with that SIRET (written with or without spaces).
func (s *Service) StructureBySIRET(ctx context.Context, siret string) (*Structure, error) {
	d, err := ParseSIRET(siret)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure: %w", err)
	}
	var id uuid.UUID
	if err := s.db.QueryRow(ctx, `SELECT id FROM structures WHERE siret = $1`, d).Scan(&id); err != nil {
		return nil, fmt.Errorf("sharing: structure %s: %w", d, notFound(err))
	}
	return s.Structure(ctx, id)
}

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return vault.ErrNotFound
	}
	return err
}

// Agent is a person working for a structure.
type Agent struct {
	ID            uuid.UUID
	StructureID   uuid.UUID
	StructureName string
	Login         string
	Name          string // as the agent is called at the desk: "Mme Dupont"
	Role          Role
	MustChange    bool // the password is a temporary one
	CreatedAt     time.Time
	DeactivatedAt *time.Time
}

// Actor is the agent as the journal names them, from ip.
func (a *Agent) Actor(ip netip.Addr) vault.Actor {
	return vault.Actor{Kind: vault.ActorAidant, ID: a.ID.String(), IP: ip}
}

// Label is how the owner's history names the agent: their short name and structure,
// "Mme D. (CCAS de Lille)".
func (a *Agent) Label() string {
	return ShortName(a.Name) + " (" + a.StructureName + ")"
}

// ShortName keeps the first word and the initial of the last: "Mme Dupont" → "Mme D.",
// "Claire Marie Dupont" → "Claire D.".
func ShortName(name string) string {
	w := strings.Fields(name)
	if len(w) < 2 {
		return name
	}
	r, _ := utf8.DecodeRuneInString(w[len(w)-1])
	return w[0] + " " + strings.ToUpper(string(r)) + "."
}

// NewAgent is who is invited.
type NewAgent struct {
	Login string
	Name  string
	Role  Role
}

// Enrolment is what a new agent needs to sign in the first time, shown once: a temporary
// password (changed at first sign-in) and the TOTP key for their authenticator app.
type Enrolment struct {
	TemporaryPassword string
	TOTPSecret        string // base32
	TOTPURI           string // otpauth://totp/…, for a QR code
}

// CreateAgent adds an agent to a structure; createdBy names who did (the operator, or a
// référent's actor ID). Référents call InviteAgent instead.
func (s *Service) CreateAgent(ctx context.Context, structure uuid.UUID, na NewAgent, createdBy string) (*Agent, *Enrolment, error) {
	login, err := account.NormalizeLogin(na.Login)
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: create agent: %w", err)
	}
	name, err := cleanText(na.Name, maxAgentName, "name")
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: create agent: %w", err)
	}
	if na.Role != RoleAgent && na.Role != RoleReferent {
		return nil, nil, fmt.Errorf("sharing: create agent: role %q is not agent or referent: %w", na.Role, ErrBadRequest)
	}
	st, err := s.Structure(ctx, structure)
	if err != nil {
		return nil, nil, err
	}
	if st.DeactivatedAt != nil {
		return nil, nil, fmt.Errorf("sharing: create agent: structure deactivated: %w", vault.ErrNotFound)
	}
	enr := &Enrolment{}
	if enr.TemporaryPassword, err = NewTemporaryCode(); err != nil {
		return nil, nil, fmt.Errorf("sharing: create agent: %w", err)
	}
	hash, err := s.accounts.HashSecret(ctx, enr.TemporaryPassword)
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: create agent: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Coffre", AccountName: login, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: create agent: %w", err)
	}
	enr.TOTPSecret, enr.TOTPURI = key.Secret(), key.URL()
	wrapped, recipient, err := s.vault.WrapServiceSecret(ctx, []byte(enr.TOTPSecret))
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: create agent: %w", err)
	}
	keyID, err := s.vault.MasterKeyID(ctx, recipient)
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: create agent: %w", err)
	}
	a := &Agent{ID: uuid.New(), StructureID: st.ID, StructureName: st.Name, Login: login, Name: name, Role: na.Role, MustChange: true}
	err = s.db.QueryRow(ctx, `
		INSERT INTO agents (id, structure_id, login, display_name, role, password_hash, totp_wrapped, totp_master_key_id, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		RETURNING created_at`,
		a.ID, a.StructureID, a.Login, a.Name, a.Role, hash, wrapped, keyID, createdBy).Scan(&a.CreatedAt)
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: create agent: %w", uniqueErr(err))
	}
	return a, enr, nil
}

// InviteAgent lets a référent add an agent to their own structure.
func (s *Service) InviteAgent(ctx context.Context, referent *Agent, na NewAgent) (*Agent, *Enrolment, error) {
	if err := s.checkReferent(ctx, referent); err != nil {
		return nil, nil, err
	}
	return s.CreateAgent(ctx, referent.StructureID, na, string(vault.ActorAidant)+":"+referent.ID.String())
}

// checkReferent re-reads the référent from the database: a role or deactivation changed
// since sign-in counts at once.
func (s *Service) checkReferent(ctx context.Context, referent *Agent) error {
	cur, err := s.Agent(ctx, referent.ID)
	if err != nil || cur.DeactivatedAt != nil || cur.Role != RoleReferent {
		return fmt.Errorf("sharing: %s is not an active référent: %w", referent.ID, ErrForbidden)
	}
	return nil
}

const agentColumns = `a.id, a.structure_id, s.name, a.login, a.display_name, a.role, a.password_must_change, a.created_at,
	CASE WHEN s.deactivated_at IS NOT NULL THEN coalesce(a.deactivated_at, s.deactivated_at) ELSE a.deactivated_at END`

func scanAgent(row pgx.Row) (*Agent, error) {
	a := &Agent{}
	err := row.Scan(&a.ID, &a.StructureID, &a.StructureName, &a.Login, &a.Name, &a.Role, &a.MustChange, &a.CreatedAt, &a.DeactivatedAt)
	return a, err
}

// Agent returns one agent; DeactivatedAt is set when the agent or their structure is
// deactivated.
func (s *Service) Agent(ctx context.Context, id uuid.UUID) (*Agent, error) {
	a, err := scanAgent(s.db.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents a JOIN structures s ON s.id = a.structure_id WHERE a.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("sharing: agent %s: %w", id, notFound(err))
	}
	return a, nil
}

// Agents lists the agents of the référent's structure, for the page where they manage them.
func (s *Service) Agents(ctx context.Context, referent *Agent) ([]Agent, error) {
	if err := s.checkReferent(ctx, referent); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+agentColumns+` FROM agents a JOIN structures s ON s.id = a.structure_id
		WHERE a.structure_id = $1 ORDER BY a.display_name, a.id`, referent.StructureID)
	if err != nil {
		return nil, fmt.Errorf("sharing: agents: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Agent, error) {
		a, err := scanAgent(row)
		return *a, err
	})
}

// AgentLabels returns the history label (Agent.Label) of each agent ID among ids that
// names an agent; the web uses it to show journal entries whose actor is an aidant.
func (s *Service) AgentLabels(ctx context.Context, ids []string) (map[string]string, error) {
	var uids []uuid.UUID
	for _, id := range ids {
		if u, err := uuid.Parse(id); err == nil {
			uids = append(uids, u)
		}
	}
	rows, err := s.db.Query(ctx, `SELECT `+agentColumns+` FROM agents a JOIN structures s ON s.id = a.structure_id WHERE a.id = ANY($1)`, uids)
	if err != nil {
		return nil, fmt.Errorf("sharing: agent labels: %w", err)
	}
	agents, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Agent, error) { return scanAgent(row) })
	if err != nil {
		return nil, fmt.Errorf("sharing: agent labels: %w", err)
	}
	out := make(map[string]string, len(agents))
	for _, a := range agents {
		out[a.ID.String()] = a.Label()
	}
	return out, nil
}

// DeactivateAgent ends an agent's access at once (their sessions too). Only a référent of
// the same structure may; a référent cannot deactivate themselves (a structure keeps one).
func (s *Service) DeactivateAgent(ctx context.Context, referent *Agent, id uuid.UUID) error {
	if err := s.checkReferent(ctx, referent); err != nil {
		return err
	}
	if id == referent.ID {
		return fmt.Errorf("sharing: deactivate agent: a référent cannot deactivate themselves: %w", ErrForbidden)
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE agents SET deactivated_at = now() WHERE id = $1 AND structure_id = $2 AND deactivated_at IS NULL`,
			id, referent.StructureID)
		if err != nil {
			return fmt.Errorf("sharing: deactivate agent %s: %w", id, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("sharing: deactivate agent %s: %w", id, vault.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM agent_sessions WHERE agent_id = $1`, id); err != nil {
			return fmt.Errorf("sharing: deactivate agent %s: %w", id, err)
		}
		return nil
	})
}

// ParseTOTPCode checks the form of a code typed from an authenticator app: six digits,
// spaces allowed ("123 456").
func ParseTOTPCode(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '\u00a0' || r == '-':
			continue
		case r >= '0' && r <= '9' && b.Len() < 6:
			b.WriteRune(r)
		default:
			return "", ErrBadTOTP
		}
	}
	if b.Len() != 6 {
		return "", ErrBadTOTP
	}
	return b.String(), nil
}

// MatchTOTP returns the 30-second step at which code is valid for secret, looking one
// step either side of at (clock drift of phones). It does not check reuse: VerifyTOTP does.
func MatchTOTP(secret, code string, at time.Time) (int64, error) {
	code, err := ParseTOTPCode(code)
	if err != nil {
		return 0, err
	}
	step := at.Unix() / totpPeriod
	found := int64(-1)
	for d := int64(-1); d <= 1; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, fmt.Errorf("totp: %w", err)
		}
		// Compare every candidate, whatever matched, so timing tells nothing.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = step + d
		}
	}
	if found < 0 {
		return 0, ErrBadTOTP
	}
	return found, nil
}

// VerifyTOTP checks an agent's code at t and consumes its step: the same code (or an
// older one) is refused afterwards, even by another process.
func (s *Service) VerifyTOTP(ctx context.Context, agent uuid.UUID, code string, at time.Time) error {
	var wrapped []byte
	if err := s.db.QueryRow(ctx, `SELECT totp_wrapped FROM agents WHERE id = $1`, agent).Scan(&wrapped); err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, notFound(err))
	}
	secret, err := s.vault.UnwrapServiceSecret(wrapped)
	if err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, err)
	}
	step, err := MatchTOTP(string(secret), code, at)
	if err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, err)
	}
	tag, err := s.db.Exec(ctx, `UPDATE agents SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)`, agent, step)
	if err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("sharing: totp %s: replayed: %w", agent, ErrBadTOTP)
	}
	return nil
}

// RewrapAgentSecrets re-wraps to the current master key the agents' TOTP secrets still
// wrapped to an older one, after 'coffre keys rotate', so that the old key can leave the
// key file. It returns how many it re-wrapped.
func (s *Service) RewrapAgentSecrets(ctx context.Context) (int, error) {
	current, err := s.vault.CurrentMasterKey(ctx)
	if err != nil {
		return 0, fmt.Errorf("sharing: rewrap agent secrets: %w", err)
	}
	currentID, err := s.vault.MasterKeyID(ctx, current)
	if err != nil {
		return 0, fmt.Errorf("sharing: rewrap agent secrets: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT id, totp_wrapped FROM agents WHERE totp_master_key_id <> $1`, currentID)
	if err != nil {
		return 0, fmt.Errorf("sharing: rewrap agent secrets: %w", err)
	}
	type wrapped struct {
		id  uuid.UUID
		old []byte
	}
	todo, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (wrapped, error) {
		var w wrapped
		return w, row.Scan(&w.id, &w.old)
	})
	if err != nil {
		return 0, fmt.Errorf("sharing: rewrap agent secrets: %w", err)
	}
	for i, w := range todo {
		secret, err := s.vault.UnwrapServiceSecret(w.old)
		if err != nil {
			return i, fmt.Errorf("sharing: rewrap agent %s: %w", w.id, err)
		}
		nw, recipient, err := s.vault.WrapServiceSecret(ctx, secret)
		if err != nil {
			return i, fmt.Errorf("sharing: rewrap agent %s: %w", w.id, err)
		}
		keyID, err := s.vault.MasterKeyID(ctx, recipient)
		if err != nil {
			return i, fmt.Errorf("sharing: rewrap agent %s: %w", w.id, err)
		}
		// Only if nobody changed it meanwhile: the old ciphertext must still be there.
		if _, err := s.db.Exec(ctx, `UPDATE agents SET totp_wrapped = $2, totp_master_key_id = $3
			WHERE id = $1 AND totp_wrapped = $4`, w.id, nw, keyID, w.old); err != nil {
			return i, fmt.Errorf("sharing: rewrap agent %s: %w", w.id, err)
		}
	}
	return len(todo), nil
}

// AuthenticateAgent checks an agent's login, password and TOTP code, throttled like
// owners' sign-in (the counters live in PostgreSQL; agents' logins have their own
// namespace, the desk's network is shared with owners). Every refusal is
// ErrAgentCredentials, or a *account.LockedError while locked out; account.ErrBusy when
// the password could not be checked in time (nothing is counted then).
func (s *Service) AuthenticateAgent(ctx context.Context, login, password, code string, ip netip.Addr) (*Agent, error) {
	norm, err := account.NormalizeLogin(login)
	if err != nil {
		norm = strings.ToLower(strings.TrimSpace(login))
	}
	// Counted before the password is checked: a burst of parallel guesses stops at the
	// limit (account.TakeAttempt).
	key := throttleNamespace + norm
	if err := s.accounts.TakeAttempt(ctx, key, ip); err != nil {
		return nil, fmt.Errorf("sharing: authenticate agent: %w", err)
	}
	var id uuid.UUID
	phc := account.DummySecretHash
	err = s.db.QueryRow(ctx, `
		SELECT a.id, a.password_hash FROM agents a JOIN structures s ON s.id = a.structure_id
		WHERE a.login = $1 AND a.deactivated_at IS NULL AND s.deactivated_at IS NULL`, norm).Scan(&id, &phc)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("sharing: authenticate agent: %w", err)
	}
	ok, err := s.accounts.VerifySecret(ctx, phc, password)
	if errors.Is(err, account.ErrBusy) || ctx.Err() != nil {
		// Not checked: not counted either.
		return nil, errors.Join(fmt.Errorf("sharing: authenticate agent: %w", err), s.accounts.GiveBackAttempt(context.WithoutCancel(ctx), key, ip))
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: authenticate agent: %w", err)
	}
	if ok && id != uuid.Nil {
		if terr := s.VerifyTOTP(ctx, id, code, time.Now()); terr != nil {
			if !errors.Is(terr, ErrBadTOTP) {
				return nil, terr
			}
			ok = false
		}
	}
	if !ok || id == uuid.Nil {
		return nil, fmt.Errorf("sharing: authenticate agent: %w", ErrAgentCredentials)
	}
	if err := s.accounts.AttemptSucceeded(ctx, key, ip); err != nil {
		return nil, fmt.Errorf("sharing: authenticate agent: %w", err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE agents SET last_login_at = now() WHERE id = $1`, id); err != nil {
		return nil, fmt.Errorf("sharing: authenticate agent: %w", err)
	}
	return s.Agent(ctx, id)
}

// AgentByOIDC returns the active agent linked to an identity of a federation (ProConnect)
// by issuer and subject; the web then asks for nothing else (the federation did).
func (s *Service) AgentByOIDC(ctx context.Context, issuer, subject string) (*Agent, error) {
	a, err := scanAgent(s.db.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents a JOIN structures s ON s.id = a.structure_id
		WHERE a.oidc_issuer = $1 AND a.oidc_subject = $2 AND a.deactivated_at IS NULL AND s.deactivated_at IS NULL`, issuer, subject))
	if err != nil {
		return nil, fmt.Errorf("sharing: agent by oidc: %w", notFound(err))
	}
	return a, nil
}

// LinkAgentOIDC ties an agent, signed in with password and code, to their identity in a
// federation (ProConnect): later sign-ins through it find them with AgentByOIDC.
func (s *Service) LinkAgentOIDC(ctx context.Context, agent *Agent, issuer, subject string) error {
	if issuer == "" || subject == "" {
		return fmt.Errorf("sharing: link oidc: empty issuer or subject: %w", ErrBadRequest)
	}
	tag, err := s.db.Exec(ctx, `UPDATE agents SET oidc_issuer = $2, oidc_subject = $3 WHERE id = $1 AND deactivated_at IS NULL`, agent.ID, issuer, subject)
	if err != nil {
		return fmt.Errorf("sharing: link oidc: %w", uniqueErr(err))
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("sharing: link oidc: %w", vault.ErrNotFound)
	}
	return nil
}

// ChangeAgentPassword replaces an agent's password after checking the current one (the
// owners' strength rules apply).
func (s *Service) ChangeAgentPassword(ctx context.Context, agent *Agent, current, next string) error {
	var phc string
	if err := s.db.QueryRow(ctx, `SELECT password_hash FROM agents WHERE id = $1 AND deactivated_at IS NULL`, agent.ID).Scan(&phc); err != nil {
		return fmt.Errorf("sharing: change agent password: %w", notFound(err))
	}
	ok, err := s.accounts.VerifySecret(ctx, phc, current)
	if err != nil {
		return fmt.Errorf("sharing: change agent password: %w", err)
	}
	if !ok {
		return fmt.Errorf("sharing: change agent password: %w", ErrAgentCredentials)
	}
	if err := account.CheckSecret(agent.Login, next); err != nil {
		return fmt.Errorf("sharing: change agent password: %w", err)
	}
	hash, err := s.accounts.HashSecret(ctx, next)
	if err != nil {
		return fmt.Errorf("sharing: change agent password: %w", err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE agents SET password_hash = $2, password_must_change = false WHERE id = $1`, agent.ID, hash); err != nil {
		return fmt.Errorf("sharing: change agent password: %w", err)
	}
	agent.MustChange = false
	return nil
}

// AgentSession is one signed-in browser of an agent.
type AgentSession struct {
	ID         uuid.UUID
	Agent      *Agent
	CreatedAt  time.Time
	LastSeenAt time.Time
	VerifiedAt time.Time // last password + code check
	ExpiresAt  time.Time
}

// Fresh tells whether the agent's password and code were checked within AgentReverify:
// sensitive actions (opening a safe, recording consent, recovering access) require it.
func (as *AgentSession) Fresh(now time.Time) bool {
	return now.Sub(as.VerifiedAt) < AgentReverify
}

// CreateAgentSession opens a session for an agent just authenticated. Only the token's
// SHA-256 is stored.
func (s *Service) CreateAgentSession(ctx context.Context, agent *Agent) (string, *AgentSession, error) {
	token, err := newToken()
	if err != nil {
		return "", nil, fmt.Errorf("sharing: agent session: %w", err)
	}
	as := &AgentSession{ID: uuid.New(), Agent: agent}
	err = s.db.QueryRow(ctx, `INSERT INTO agent_sessions (id, token_sha256, agent_id, expires_at) VALUES ($1, $2, $3, now() + $4::interval)
		RETURNING created_at, last_seen_at, verified_at, expires_at`, as.ID, hashToken(token), agent.ID, agentSessionMax).
		Scan(&as.CreatedAt, &as.LastSeenAt, &as.VerifiedAt, &as.ExpiresAt)
	if err != nil {
		return "", nil, fmt.Errorf("sharing: agent session: %w", err)
	}
	return token, as, nil
}

// AgentSessionByToken returns the live session of token, with its agent, and records the
// activity. A session idle for AgentIdle, past its end, or of a deactivated agent or
// structure gives vault.ErrNotFound.
func (s *Service) AgentSessionByToken(ctx context.Context, token string) (*AgentSession, error) {
	if _, err := ParseToken(token); err != nil {
		return nil, fmt.Errorf("sharing: agent session: %w", vault.ErrNotFound)
	}
	as := &AgentSession{}
	var agent uuid.UUID
	err := s.db.QueryRow(ctx, `
		UPDATE agent_sessions SET last_seen_at = now()
		WHERE token_sha256 = $1 AND expires_at > now() AND last_seen_at > now() - $2::interval
		RETURNING id, agent_id, created_at, last_seen_at, verified_at, expires_at`, hashToken(token), AgentIdle).
		Scan(&as.ID, &agent, &as.CreatedAt, &as.LastSeenAt, &as.VerifiedAt, &as.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("sharing: agent session: %w", notFound(err))
	}
	if as.Agent, err = s.Agent(ctx, agent); err != nil {
		return nil, err
	}
	if as.Agent.DeactivatedAt != nil {
		return nil, fmt.Errorf("sharing: agent session: agent deactivated: %w", vault.ErrNotFound)
	}
	return as, nil
}

// Reverify checks the agent's password and code again within a session (before a
// sensitive action, or when the page asks after inactivity) and refreshes VerifiedAt.
func (s *Service) Reverify(ctx context.Context, as *AgentSession, password, code string, ip netip.Addr) error {
	if _, err := s.AuthenticateAgent(ctx, as.Agent.Login, password, code, ip); err != nil {
		return err
	}
	if err := s.db.QueryRow(ctx, `UPDATE agent_sessions SET verified_at = now() WHERE id = $1 RETURNING verified_at`, as.ID).Scan(&as.VerifiedAt); err != nil {
		return fmt.Errorf("sharing: reverify: %w", notFound(err))
	}
	return nil
}

// EndAgentSession signs out the session of token; an unknown token is not an error.
func (s *Service) EndAgentSession(ctx context.Context, token string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM agent_sessions WHERE token_sha256 = $1`, hashToken(token)); err != nil {
		return fmt.Errorf("sharing: end agent session: %w", err)
	}
	return nil
}

// codeAlphabet has no letters or digits that read alike (0/o, 1/l/i), lowercase only: the
// person types the code from a printed card on a phone.
const codeAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// NewTemporaryCode returns a code of 12 random characters in three groups of four,
// "k7qa-m9xp-2htw": about 59 bits, to be changed at first sign-in.
func NewTemporaryCode() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	var out strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		// 256 % 31 leaves a bias of under 1 %: irrelevant for a short-lived code.
		out.WriteByte(codeAlphabet[int(c)%len(codeAlphabet)])
	}
	return out.String(), nil
}

// Opened is a safe an agent just opened at the desk, with what goes on the access card.
type Opened struct {
	Owner *vault.Owner
	Code  *account.AccessCode
}

// OpenSafeFor opens a safe for the person at the desk: no e-mail needed, a temporary code
// to print on the access card (AccessCardPDF) and to change at first sign-in. Every
// step is in the new owner's history with the agent as actor. The first deposit needs a
// mandate (GrantMandate): the temporary code is no consent, the person gives it from
// their phone once they chose their own secret, or types that secret at the desk.
func (s *Service) OpenSafeFor(ctx context.Context, agent *Agent, login string, ip netip.Addr) (*Opened, error) {
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil || cur.DeactivatedAt != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", ErrForbidden)
	}
	login, err = account.NormalizeLogin(login)
	if err != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", err)
	}
	code, err := NewTemporaryCode()
	if err != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", err)
	}
	by := cur.Actor(ip)
	o, err := s.vault.CreateOwner(ctx, login, by)
	if err != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", err)
	}
	// The owner exists from here on; should what follows fail, the safe has no code: the
	// agent helps the person again with RecoverAfterIdentityCheck.
	if _, err := s.db.Exec(ctx, `INSERT INTO assisted_openings (owner_id, structure_id, agent_id) VALUES ($1, $2, $3)`,
		o.ID, cur.StructureID, cur.ID); err != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", err)
	}
	ac, err := s.accounts.IssueAccessCode(ctx, o.ID, code, AccessCodeTTL, false, by, cur.Label())
	if err != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", err)
	}
	return &Opened{Owner: o, Code: ac}, nil
}

// RecoveryWait is how long a new code given after an identity check at the desk waits
// before it works (RecoverAfterIdentityCheck): long enough for the owner to see it from
// any session of theirs and cancel it if it was not them.
const RecoveryWait = 24 * time.Hour

// RecoverAccess gives the owner a new temporary code at once, for a person who gave the
// agent's structure the recovery right (a live mandate with ScopeRecover) and whose
// identity the agent checked in person. The old secret stops working, every session and
// passkey of the owner ends, the owner is told at their next sign-in, and it is all in
// their history. Without that right, see RecoverAfterIdentityCheck.
func (s *Service) RecoverAccess(ctx context.Context, agent *Agent, owner uuid.UUID, ip netip.Addr) (*account.AccessCode, error) {
	if err := s.Authorize(ctx, agent, owner, ScopeRecover, ip); err != nil {
		return nil, err
	}
	code, err := NewTemporaryCode()
	if err != nil {
		return nil, fmt.Errorf("sharing: recover access: %w", err)
	}
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil {
		return nil, err
	}
	ac, err := s.accounts.IssueAccessCode(ctx, owner, code, AccessCodeTTL, true, cur.Actor(ip), cur.Label())
	if err != nil {
		return nil, fmt.Errorf("sharing: recover access: %w", err)
	}
	return ac, nil
}

// IdentityDocument is the kind of identity document an agent checked at the desk.
type IdentityDocument string

// Identity documents an agent may check.
const (
	DocumentIDCard          IdentityDocument = "cni"
	DocumentPassport        IdentityDocument = "passeport"
	DocumentResidencePermit IdentityDocument = "titre_sejour"
	DocumentDrivingLicence  IdentityDocument = "permis"
)

// IdentityDocuments are the documents offered, in the order shown.
var IdentityDocuments = []IdentityDocument{DocumentIDCard, DocumentPassport, DocumentResidencePermit, DocumentDrivingLicence} //nolint:gochecknoglobals // a constant list

// NumberEndLen is how many of the last characters of the document's number the agent
// records: enough to tell later which document was shown, too few to be of use to anyone.
const NumberEndLen = 4

// IdentityCheck is what the agent records of the identity document the person showed.
type IdentityCheck struct {
	Document  IdentityDocument
	NumberEnd string // the last NumberEndLen letters or digits of its number
}

// normalize checks the document kind and keeps the last characters in capitals without
// spaces.
func (c IdentityCheck) normalize() (account.RecoveryIdentity, error) {
	if !slices.Contains(IdentityDocuments, c.Document) {
		return account.RecoveryIdentity{}, fmt.Errorf("identity document %q: %w", c.Document, ErrBadRequest)
	}
	end := strings.ToUpper(strings.Join(strings.Fields(c.NumberEnd), ""))
	if len(end) != NumberEndLen {
		return account.RecoveryIdentity{}, fmt.Errorf("identity number end: %d characters instead of %d: %w", utf8.RuneCountInString(end), NumberEndLen, ErrBadRequest)
	}
	for _, r := range end {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return account.RecoveryIdentity{}, fmt.Errorf("identity number end: character %q: %w", r, ErrBadRequest)
		}
	}
	return account.RecoveryIdentity{Document: string(c.Document), NumberEnd: end}, nil
}

// RecoverAfterIdentityCheck helps a person who lost their secret and never gave the
// recovery right: the agent checked an identity document at the desk and records what
// (check). The new temporary code works only RecoveryWait later; until then the owner's
// secret, sessions and passkeys keep working, every page of the owner shows the request
// with a button to cancel it, and it is all journaled. When the wait is over, the
// periodic job (vault.ApplyDueRecoveries) makes it the secret as RecoverAccess would. The
// agent's structure must reach the safe (ScopeDeskRecovery). The returned recovery
// carries the code, shown once.
func (s *Service) RecoverAfterIdentityCheck(ctx context.Context, agent *Agent, owner uuid.UUID, check IdentityCheck, ip netip.Addr) (*account.PendingRecovery, error) {
	if err := s.Authorize(ctx, agent, owner, ScopeDeskRecovery, ip); err != nil {
		return nil, err
	}
	id, err := check.normalize()
	if err != nil {
		return nil, fmt.Errorf("sharing: recover after identity check: %w", err)
	}
	code, err := NewTemporaryCode()
	if err != nil {
		return nil, fmt.Errorf("sharing: recover after identity check: %w", err)
	}
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil {
		return nil, err
	}
	p, err := s.accounts.RequestRecovery(ctx, owner, code, id, RecoveryWait, AccessCodeTTL, cur.Actor(ip), cur.Label())
	if err != nil {
		return nil, fmt.Errorf("sharing: recover after identity check: %w", err)
	}
	return p, nil
}
