package sharing

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// SafeClosed ends, inside the vault's closing transaction, whatever lets anyone but the
// owner into the safe: links and téléservice grants are revoked, issuers' subscriptions
// stop, mandates end (pending ones included), desk unlocks go, and the structures that
// opened the safe at their desk no longer reach it. Reopening the safe gives none of it
// back.
func (s *Service) SafeClosed(ctx context.Context, tx pgx.Tx, owner uuid.UUID, by vault.Actor) error {
	now := s.now()
	if err := revokeLinks(ctx, tx, owner, now); err != nil {
		return err
	}
	if err := revokeGrants(ctx, tx, owner, now); err != nil {
		return err
	}
	if err := stopSubscriptions(ctx, tx, owner, now); err != nil {
		return err
	}
	if err := endOpenersReach(ctx, tx, owner, now); err != nil {
		return err
	}
	return s.endMandates(ctx, tx, owner, by)
}

// Forget deletes, inside the erasure's transaction, whom the person gave access to:
// share links and what they shared, téléservice grants, issuers' subscriptions and the
// record of what they deposited (the papers stay until the safe's), mandates and desk
// unlocks. The
// desk openings stay (see vaulttest.AssertErased).
func (s *Service) Forget(ctx context.Context, tx pgx.Tx, owner uuid.UUID, _ string) error {
	for _, forget := range []func(context.Context, pgx.Tx, uuid.UUID) error{forgetLinks, forgetGrants, forgetSubscriptionDeposits, forgetSubscriptions, forgetMandates, forgetDeskUnlocks} {
		if err := forget(ctx, tx, owner); err != nil {
			return err
		}
	}
	return nil
}

// RewrapSecrets re-wraps the agents' TOTP secrets, during a master-key rotation
// (vault.Rewrap).
func (s *Service) RewrapSecrets(ctx context.Context) (int, error) {
	return s.RewrapAgentSecrets(ctx)
}
