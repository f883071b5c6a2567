package sharing

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"coffre/vault/account"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

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
	id, phc, err := s.activeAgentPassword(ctx, norm)
	if errors.Is(err, pgx.ErrNoRows) {
		id, phc = uuid.Nil, account.DummySecretHash
	} else if err != nil {
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
		if terr := s.VerifyTOTP(ctx, id, code, s.now()); terr != nil {
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
	if err := s.agentSignedIn(ctx, id); err != nil {
		return nil, fmt.Errorf("sharing: authenticate agent: %w", err)
	}
	return s.Agent(ctx, id)
}

// ChangeAgentPassword replaces an agent's password after checking the current one (the
// owners' strength rules apply).
func (s *Service) ChangeAgentPassword(ctx context.Context, agent *Agent, current, next string) error {
	phc, err := s.agentPassword(ctx, agent.ID)
	if err != nil {
		return fmt.Errorf("sharing: change agent password: %w", err)
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
	if err := s.setAgentPassword(ctx, agent.ID, hash); err != nil {
		return fmt.Errorf("sharing: change agent password: %w", err)
	}
	agent.MustChange = false
	return nil
}

// Reverify checks the agent's password and code again within a session (before a
// sensitive action, or when the page asks after inactivity) and refreshes VerifiedAt.
func (s *Service) Reverify(ctx context.Context, as *AgentSession, password, code string, ip netip.Addr) error {
	if _, err := s.AuthenticateAgent(ctx, as.Agent.Login, password, code, ip); err != nil {
		return err
	}
	if err := s.markVerified(ctx, as); err != nil {
		return fmt.Errorf("sharing: reverify: %w", err)
	}
	return nil
}
