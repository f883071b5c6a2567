package sharing

import (
	"context"
	"fmt"
	"time"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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
	now := s.now()
	err := s.db.QueryRow(ctx, `
		UPDATE agent_sessions SET last_seen_at = $2
		WHERE token_sha256 = $1 AND expires_at > $2 AND last_seen_at > $3
		RETURNING id, agent_id, created_at, last_seen_at, verified_at, expires_at`, hashToken(token), now, now.Add(-AgentIdle)).
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
	now := s.now()
	as := &AgentSession{ID: uuid.New(), Agent: agent, CreatedAt: now, LastSeenAt: now, VerifiedAt: now, ExpiresAt: now.Add(agentSessionMax)}
	_, err = s.db.Exec(ctx, `INSERT INTO agent_sessions (id, token_sha256, agent_id, created_at, last_seen_at, verified_at, expires_at)
		VALUES ($1, $2, $3, $4, $4, $4, $5)`, as.ID, hashToken(token), agent.ID, now, as.ExpiresAt)
	if err != nil {
		return "", nil, fmt.Errorf("sharing: agent session: %w", err)
	}
	return token, as, nil
}

// markVerified records that the agent's password and code were just checked again in
// session as.
func (s *Service) markVerified(ctx context.Context, as *AgentSession) error {
	now := s.now()
	tag, err := s.db.Exec(ctx, `UPDATE agent_sessions SET verified_at = $2 WHERE id = $1`, as.ID, now)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return vault.ErrNotFound
	}
	as.VerifiedAt = now
	return nil
}

// endAgentSessions signs an agent out everywhere, inside tx (deactivation).
func endAgentSessions(ctx context.Context, tx pgx.Tx, agent uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM agent_sessions WHERE agent_id = $1`, agent)
	return err
}
