package sharing

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"coffre/vault"
	"coffre/vault/account"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

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
			if derr := s.deny(ctx, agent, owner, ScopeUnlock, ip); derr != nil {
				return fmt.Errorf("sharing: desk unlock: journal the attempt: %w", derr)
			}
			return err
		}
		return s.refuse(ctx, agent, owner, ScopeUnlock, ip)
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
		if err := unlockAtDesk(ctx, tx, agent.ID, owner, s.now().Add(DeskUnlockTTL)); err != nil {
			return err
		}
		return s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: agent.Actor(ip), Action: ActionDeskUnlocked, Detail: agent.Label()})
	})
	if err != nil {
		return fmt.Errorf("sharing: desk unlock %s: %w", owner, err)
	}
	return nil
}
