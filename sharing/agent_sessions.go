package sharing

import (
	"coffre/vault"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

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

// EndAgentSession signs out the session of token; an unknown token is not an error.
func (s *Service) EndAgentSession(ctx context.Context, token string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM agent_sessions WHERE token_sha256 = $1`, hashToken(token)); err != nil {
		return fmt.Errorf("sharing: end agent session: %w", err)
	}
	return nil
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
