package vault

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Owners who sign in through an OpenID Connect provider (FranceConnect). The provider's
// subject identifies them; the identity pivot claims it sends are kept sealed, to prove
// later who opened the safe, and are never used to look anyone up.

func subjectHash(issuer, subject string) []byte {
	h := sha256.Sum256([]byte(issuer + "\n" + subject))
	return h[:]
}

func claimsAD(owner uuid.UUID) string { return "openid:" + owner.String() }

// OwnerByOpenID returns the owner linked to the provider's subject, or ErrNotFound.
func (v *Vault) OwnerByOpenID(ctx context.Context, issuer, subject string) (uuid.UUID, error) {
	var owner uuid.UUID
	err := v.db.QueryRow(ctx, `
		SELECT i.owner_id FROM openid_identities i JOIN owners o ON o.id = i.owner_id AND o.shredded_at IS NULL
		WHERE i.subject_sha256 = $1`, subjectHash(issuer, subject)).Scan(&owner)
	if err != nil {
		return uuid.Nil, fmt.Errorf("vault: openid owner: %w", notFound(err))
	}
	return owner, nil
}

// CreateOpenIDOwner opens a safe for a person identified by the provider, without login
// or secret, and keeps their claims (JSON) sealed. The safe and the identity are created
// in one transaction: an identity already linked to a safe gives an error and no new safe.
func (v *Vault) CreateOpenIDOwner(ctx context.Context, issuer, subject string, claims []byte, by Actor) (*Owner, error) {
	var o *Owner
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		var dataKey []byte
		var err error
		if o, dataKey, err = v.createOwner(ctx, tx, "", by); err != nil {
			return err
		}
		sealed, err := seal(dataKey, claims, claimsAD(o.ID))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO openid_identities (subject_sha256, owner_id, claims_sealed) VALUES ($1, $2, $3)`,
			subjectHash(issuer, subject), o.ID, sealed)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vault: create openid owner: %w", err)
	}
	return o, nil
}

// RecordOpenIDLogin keeps the claims of the latest sign-in (sealed) and journals it.
func (v *Vault) RecordOpenIDLogin(ctx context.Context, owner uuid.UUID, claims []byte, method string, ip netip.Addr) error {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return fmt.Errorf("vault: openid login: %w", err)
	}
	sealed, err := seal(dataKey, claims, claimsAD(owner))
	if err != nil {
		return fmt.Errorf("vault: openid login: %w", err)
	}
	return pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE openid_identities SET claims_sealed = $2, last_login_at = now() WHERE owner_id = $1`, owner, sealed)
		if err != nil {
			return fmt.Errorf("vault: openid login: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("vault: openid login %s: %w", owner, ErrNotFound)
		}
		_, err = appendEntry(ctx, tx, owner, Event{Actor: Actor{Kind: ActorOwner, ID: owner.String(), IP: ip}, Action: ActionLogin, Detail: method})
		return err
	})
}

// OpenIDClaims returns the sealed claims of owner's latest sign-in through the provider.
func (v *Vault) OpenIDClaims(ctx context.Context, owner uuid.UUID) ([]byte, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: openid claims: %w", err)
	}
	var sealed []byte
	if err := v.db.QueryRow(ctx, `SELECT claims_sealed FROM openid_identities WHERE owner_id = $1`, owner).Scan(&sealed); err != nil {
		return nil, fmt.Errorf("vault: openid claims: %w", notFound(err))
	}
	return open(dataKey, sealed, claimsAD(owner))
}
