package sharing

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"coffre/vault"
	"coffre/vault/account"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

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

const agentFrom = ` FROM agents a` + structureOfAgent

func scanAgent(row pgx.Row) (*Agent, error) {
	a := &Agent{}
	err := row.Scan(&a.ID, &a.StructureID, &a.StructureName, &a.Login, &a.Name, &a.Role, &a.MustChange, &a.CreatedAt, &a.DeactivatedAt)
	return a, err
}

// Agent returns one agent; DeactivatedAt is set when the agent or their structure is
// deactivated.
func (s *Service) Agent(ctx context.Context, id uuid.UUID) (*Agent, error) {
	a, err := scanAgent(s.db.QueryRow(ctx, `SELECT `+agentColumns+agentFrom+`WHERE a.id = $1`, id))
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
	rows, err := s.db.Query(ctx, `SELECT `+agentColumns+agentFrom+`
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
	rows, err := s.db.Query(ctx, `SELECT `+agentColumns+agentFrom+`WHERE a.id = ANY($1)`, uids)
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
		tag, err := tx.Exec(ctx, `UPDATE agents SET deactivated_at = $3 WHERE id = $1 AND structure_id = $2 AND deactivated_at IS NULL`,
			id, referent.StructureID, s.now())
		if err != nil {
			return fmt.Errorf("sharing: deactivate agent %s: %w", id, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("sharing: deactivate agent %s: %w", id, vault.ErrNotFound)
		}
		if err := endAgentSessions(ctx, tx, id); err != nil {
			return fmt.Errorf("sharing: deactivate agent %s: %w", id, err)
		}
		return nil
	})
}

// AgentByOIDC returns the active agent linked to an identity of a federation (ProConnect)
// by issuer and subject; the web then asks for nothing else (the federation did).
func (s *Service) AgentByOIDC(ctx context.Context, issuer, subject string) (*Agent, error) {
	a, err := scanAgent(s.db.QueryRow(ctx, `SELECT `+agentColumns+agentFrom+`
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

// activeAgentPassword returns the ID and password hash of the active agent (and
// structure) with that login.
func (s *Service) activeAgentPassword(ctx context.Context, login string) (uuid.UUID, string, error) {
	var id uuid.UUID
	var phc string
	err := s.db.QueryRow(ctx, `SELECT a.id, a.password_hash`+agentFrom+`
		WHERE a.login = $1 AND a.deactivated_at IS NULL AND s.deactivated_at IS NULL`, login).Scan(&id, &phc)
	return id, phc, err
}

// agentSignedIn records an agent's sign-in.
func (s *Service) agentSignedIn(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.Exec(ctx, `UPDATE agents SET last_login_at = $2 WHERE id = $1`, id, s.now())
	return err
}

// agentPassword returns the password hash of an active agent.
func (s *Service) agentPassword(ctx context.Context, id uuid.UUID) (string, error) {
	var phc string
	err := s.db.QueryRow(ctx, `SELECT password_hash FROM agents WHERE id = $1 AND deactivated_at IS NULL`, id).Scan(&phc)
	return phc, notFound(err)
}

// setAgentPassword replaces an agent's password hash with one they chose.
func (s *Service) setAgentPassword(ctx context.Context, id uuid.UUID, hash string) error {
	_, err := s.db.Exec(ctx, `UPDATE agents SET password_hash = $2, password_must_change = false WHERE id = $1`, id, hash)
	return err
}

// agentTOTP returns an agent's TOTP secret, wrapped to a master key.
func (s *Service) agentTOTP(ctx context.Context, id uuid.UUID) ([]byte, error) {
	var wrapped []byte
	err := s.db.QueryRow(ctx, `SELECT totp_wrapped FROM agents WHERE id = $1`, id).Scan(&wrapped)
	return wrapped, notFound(err)
}

// consumeTOTPStep records step as the agent's last TOTP step, if it is later than the
// last one: false for a step used already (or an older one), even by another process.
func (s *Service) consumeTOTPStep(ctx context.Context, id uuid.UUID, step int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `UPDATE agents SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)`, id, step)
	return tag.RowsAffected() == 1, err
}

// wrappedTOTP is an agent's TOTP secret as stored.
type wrappedTOTP struct {
	id  uuid.UUID
	old []byte
}

// agentsWrappedByOther lists the agents whose TOTP secret a master key other than keyID
// wraps.
func (s *Service) agentsWrappedByOther(ctx context.Context, keyID int) ([]wrappedTOTP, error) {
	rows, err := s.db.Query(ctx, `SELECT id, totp_wrapped FROM agents WHERE totp_master_key_id <> $1`, keyID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (wrappedTOTP, error) {
		var w wrappedTOTP
		return w, row.Scan(&w.id, &w.old)
	})
}

// rewrapTOTP stores w's secret wrapped anew (by master key keyID), only if nobody
// changed it meanwhile: the old ciphertext must still be there.
func (s *Service) rewrapTOTP(ctx context.Context, w wrappedTOTP, wrapped []byte, keyID int) error {
	_, err := s.db.Exec(ctx, `UPDATE agents SET totp_wrapped = $2, totp_master_key_id = $3 WHERE id = $1 AND totp_wrapped = $4`,
		w.id, wrapped, keyID, w.old)
	return err
}

// agentReach reads, in one statement, what the active agent (of an active structure) is
// to owner's safe: the scopes of their structure's live mandates, whether it opened the
// safe, whether the person unlocked it at this agent's desk. pgx.ErrNoRows for an
// inactive or unknown agent.
func (s *Service) agentReach(ctx context.Context, agent, owner uuid.UUID, r *reach) ([]string, error) {
	var scopes []string
	err := s.db.QueryRow(ctx, `SELECT `+liveScopesSQL("$2", "a.structure_id", "$3")+`, `+openedSQL("$2", "a.structure_id")+`, `+unlockedSQL("a.id", "$2", "$3")+
		agentFrom+`WHERE a.id = $1 AND a.deactivated_at IS NULL AND s.deactivated_at IS NULL`, agent, owner, s.now()).Scan(&scopes, &r.opened, &r.unlocked)
	return scopes, err
}

// agentIDsOf returns the actor IDs of the structure's agents, deactivated ones included.
func (s *Service) agentIDsOf(ctx context.Context, structure uuid.UUID) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT id::text FROM agents WHERE structure_id = $1`, structure)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
