package sharing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// « Recevoir mes papiers »: a person lets an organisation (CAF, France Travail, an
// employer, a bailleur) deposit papers of some kinds into their safe, from now on, until
// they stop it. The consent goes through the authorization endpoint of « Choisir dans mon
// coffre » with authorization_details of type coffre_deposit; its code, exchanged, names
// the subscription (Exchange). The organisation then deposits with its own credentials
// (DepositToken, subscription_deposits.go); it can never read, list or delete anything.
// This file holds the SQL of the table subscriptions.

// Journal actions of subscriptions.
const (
	ActionSubscribed          vault.Action = "subscription_created"
	ActionSubscriptionRefused vault.Action = "subscription_refused"
	ActionSubscriptionStopped vault.Action = "subscription_stopped"
)

// ErrStopped: the subscription was stopped by the person, or ended with the safe's
// closure; nothing more may be deposited through it.
var ErrStopped = errors.New("subscription stopped")

// Subscription is a person's standing consent that a client deposits papers of Kinds.
type Subscription struct {
	ID         uuid.UUID
	ClientID   string
	ClientName string
	OwnerID    uuid.UUID
	Kinds      []vault.Kind
	CreatedAt  time.Time
	StoppedAt  *time.Time
}

func kindsAD(owner, id uuid.UUID) string {
	return "subscription-kinds:" + owner.String() + ":" + id.String()
}

// Subscribe records the owner's consent to a deposit request (r.Deposit) and returns the
// URL that sends the single-use code back to the client. A live subscription of the same
// client is kept, with the kinds of this consent.
func (s *Service) Subscribe(ctx context.Context, r *AuthorizationRequest, owner uuid.UUID, by vault.Actor) (string, error) {
	if !r.Deposit || len(r.Kinds) == 0 {
		return "", fmt.Errorf("sharing: subscribe: not a deposit request: %w", ErrInvalid)
	}
	sealer, err := s.vault.Sealer(ctx, owner)
	if err != nil {
		return "", fmt.Errorf("sharing: subscribe: %w", err)
	}
	code, err := randomString(32)
	if err != nil {
		return "", fmt.Errorf("sharing: subscribe: %w", err)
	}
	kinds, err := json.Marshal(r.Kinds)
	if err != nil {
		return "", fmt.Errorf("sharing: subscribe: %w", err)
	}
	now := s.now()
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// Serialises the consents of one owner, and a closure waits for this one.
		if err := s.vault.LockOpenAlone(ctx, tx, owner); err != nil {
			return err
		}
		var id uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM subscriptions WHERE client_id = $1 AND owner_id = $2 AND stopped_at IS NULL FOR UPDATE`,
			r.Client.ID, owner).Scan(&id)
		fresh := errors.Is(err, pgx.ErrNoRows)
		if err != nil && !fresh {
			return err
		}
		if fresh {
			id = uuid.New()
		}
		sealed, err := sealer.Seal(kinds, kindsAD(owner, id))
		if err != nil {
			return err
		}
		if fresh {
			_, err = tx.Exec(ctx, `INSERT INTO subscriptions (id, client_id, owner_id, kinds_sealed, created_at) VALUES ($1, $2, $3, $4, $5)`,
				id, r.Client.ID, owner, sealed, now)
		} else {
			_, err = tx.Exec(ctx, `UPDATE subscriptions SET kinds_sealed = $2 WHERE id = $1`, id, sealed)
		}
		if err != nil {
			return err
		}
		if err := insertGrant(ctx, tx, r, owner, code, now, grantOf{id: uuid.New(), subscription: uuid.NullUUID{UUID: id, Valid: true}}); err != nil {
			return err
		}
		return s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionSubscribed, Detail: r.Client.Name})
	})
	if err != nil {
		return "", fmt.Errorf("sharing: subscribe: %w", err)
	}
	return r.redirect(url.Values{"code": {code}}), nil
}

// RefuseSubscription journals the owner's refusal of a deposit request and returns the
// URL that tells the client.
func (s *Service) RefuseSubscription(ctx context.Context, r *AuthorizationRequest, owner uuid.UUID, by vault.Actor) (string, error) {
	if err := s.vault.Record(ctx, owner, vault.Event{Actor: by, Action: ActionSubscriptionRefused, Detail: r.Client.Name}); err != nil {
		return "", fmt.Errorf("sharing: refuse subscription: %w", err)
	}
	return r.ErrorRedirect(&OAuthError{Code: "access_denied", Description: "the person refused"}), nil
}

// Subscriptions lists the owner's live subscriptions, newest first: « Ils déposent dans
// mon coffre ».
func (s *Service) Subscriptions(ctx context.Context, owner uuid.UUID) ([]Subscription, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id, client_id, owner_id, kinds_sealed, created_at, stopped_at FROM subscriptions
		WHERE owner_id = $1 AND stopped_at IS NULL ORDER BY created_at DESC`, owner)
	if err != nil {
		return nil, fmt.Errorf("sharing: subscriptions: %w", err)
	}
	type row struct {
		Subscription
		sealed []byte
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.ID, &x.ClientID, &x.OwnerID, &x.sealed, &x.CreatedAt, &x.StoppedAt)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("sharing: subscriptions: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	sealer, err := s.vault.Sealer(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("sharing: subscriptions: %w", err)
	}
	ids := make([]string, len(list))
	for i, x := range list {
		ids[i] = x.ClientID
	}
	names, err := s.clientNames(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("sharing: subscriptions: %w", err)
	}
	out := make([]Subscription, len(list))
	for i, x := range list {
		x.ClientName = names[x.ClientID]
		if x.Kinds, err = openKinds(sealer, x.sealed, owner, x.ID); err != nil {
			return nil, fmt.Errorf("sharing: subscriptions: %w", err)
		}
		out[i] = x.Subscription
	}
	return out, nil
}

func openKinds(sealer *vault.Sealer, sealed []byte, owner, id uuid.UUID) ([]vault.Kind, error) {
	plain, err := sealer.Open(sealed, kindsAD(owner, id))
	if err != nil {
		return nil, err
	}
	var kinds []vault.Kind
	if err := json.Unmarshal(plain, &kinds); err != nil {
		return nil, err
	}
	return kinds, nil
}

// StopSubscription ends one of the owner's live subscriptions at once: the client's next
// deposit through it is refused. Another owner's, or a stopped one, is vault.ErrNotFound.
func (s *Service) StopSubscription(ctx context.Context, owner, id uuid.UUID, by vault.Actor) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var client string
		// The row lock waits for a deposit in progress through it (FOR SHARE in
		// DepositThrough): once stopped, nothing more lands.
		err := tx.QueryRow(ctx, `
			UPDATE subscriptions SET stopped_at = $3
			WHERE id = $1 AND owner_id = $2 AND stopped_at IS NULL
			RETURNING client_id`, id, owner, s.now()).Scan(&client)
		if errors.Is(err, pgx.ErrNoRows) {
			return vault.ErrNotFound
		}
		if err != nil {
			return err
		}
		names, err := s.clientNames(ctx, []string{client})
		if err != nil {
			return err
		}
		name := names[client]
		return s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionSubscriptionStopped, Detail: name})
	})
	if err != nil {
		return fmt.Errorf("sharing: stop subscription %s: %w", id, err)
	}
	return nil
}

// SubscriptionFor reads the subscription id for a deposit of client c, from ip, before
// anything is read of the paper. Another client's subscription is the same
// ErrUnavailable as a missing one, and its owner's journal keeps the attempt; a stopped
// one is ErrStopped, journaled too: someone tried to put a paper in the safe without
// consent.
func (s *Service) SubscriptionFor(ctx context.Context, c *Client, id uuid.UUID, ip netip.Addr) (*Subscription, error) {
	by := vault.Actor{Kind: vault.ActorClient, ID: c.ID, IP: ip}
	sub := &Subscription{ID: id}
	var sealed []byte
	err := s.db.QueryRow(ctx, `SELECT client_id, owner_id, kinds_sealed, created_at, stopped_at FROM subscriptions WHERE id = $1`, id).
		Scan(&sub.ClientID, &sub.OwnerID, &sealed, &sub.CreatedAt, &sub.StoppedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrUnavailable
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: subscription: %w", err)
	}
	switch {
	case sub.ClientID != c.ID:
		return nil, s.denyDeposit(ctx, sub.OwnerID, by, ErrUnavailable)
	case sub.StoppedAt != nil:
		return nil, s.denyDeposit(ctx, sub.OwnerID, by, ErrStopped)
	}
	sealer, err := s.vault.Sealer(ctx, sub.OwnerID)
	if errors.Is(err, vault.ErrNotFound) {
		return nil, ErrStopped // erased meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: subscription: %w", err)
	}
	if sub.Kinds, err = openKinds(sealer, sealed, sub.OwnerID, id); err != nil {
		return nil, fmt.Errorf("sharing: subscription: %w", err)
	}
	sub.ClientName = c.Name
	return sub, nil
}

// denyDeposit journals in owner's safe a deposit refused for want of consent, and
// returns cause.
func (s *Service) denyDeposit(ctx context.Context, owner uuid.UUID, by vault.Actor, cause error) error {
	if err := s.vault.Record(context.WithoutCancel(ctx), owner, vault.Event{Actor: by, Action: vault.ActionDenied, Detail: DeniedDeposit}); err != nil {
		return fmt.Errorf("sharing: subscription: %w", err)
	}
	return cause
}

// DeniedDeposit is the detail of the failed attempt journaled when a deposit is refused
// for want of consent.
const DeniedDeposit = "deposit"

// stopSubscriptions stops every live subscription of owner inside tx (the safe closes).
func stopSubscriptions(ctx context.Context, tx pgx.Tx, owner uuid.UUID, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE subscriptions SET stopped_at = $2 WHERE owner_id = $1 AND stopped_at IS NULL`, owner, now)
	return err
}

// forgetSubscriptions deletes the owner's subscriptions; the grants that named them and
// what was deposited through them go first (forgetGrants, forgetSubscriptionDeposits).
func forgetSubscriptions(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM subscriptions WHERE owner_id = $1`, owner)
	return err
}

// liveSubscription holds subscription id of client, inside tx, against a stop until tx
// ends (FOR SHARE), and tells whether it is live; pgx.ErrNoRows if there is none.
func liveSubscription(ctx context.Context, tx pgx.Tx, id uuid.UUID, client string) (bool, error) {
	var live bool
	err := tx.QueryRow(ctx, `SELECT stopped_at IS NULL FROM subscriptions WHERE id = $1 AND client_id = $2 FOR SHARE`, id, client).Scan(&live)
	return live, err
}
