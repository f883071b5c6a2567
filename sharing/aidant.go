package sharing

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"coffre/vault"
)

// Aidants: structures (CCAS, CIAS, France Services, associations) and their agents, who
// sign in with a login, a password and a TOTP code, open safes for people at the desk and
// help them get back in. What an agent may do in someone's safe is decided by a mandate
// (mandate.go), through Authorize only.

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

func cleanText(s string, max int, what string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", fmt.Errorf("%s: empty or longer than %d characters: %w", what, max, ErrBadRequest)
	}
	return s, nil
}

func uniqueErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return ErrTaken
	}
	return err
}

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return vault.ErrNotFound
	}
	return err
}
