package sharing

import (
	"context"
	"fmt"
	"net/netip"

	"coffre/vault"

	"github.com/google/uuid"
)

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
