package sharing

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

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
	scopes, err := s.agentReach(ctx, agent, owner, &r)
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
//     structure opened the safe (until the owner ends a mandate of it, endOpenerReach,
//     or closes the safe, endOpenersReach),
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
	return s.refuse(ctx, agent, owner, ScopeUnlock, ip)
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
