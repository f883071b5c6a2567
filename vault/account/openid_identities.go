package account

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"

	"coffre/vault"

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

// OwnerByOpenID returns the owner linked to the provider's subject, or vault.ErrNotFound.
func (srv *Service) OwnerByOpenID(ctx context.Context, issuer, subject string) (uuid.UUID, error) {
	var owner uuid.UUID
	err := srv.db.QueryRow(ctx, `
		SELECT owner_id FROM openid_identities WHERE subject_sha256 = $1`, subjectHash(issuer, subject)).Scan(&owner)
	if err != nil {
		return uuid.Nil, fmt.Errorf("account: openid owner: %w", notFound(err))
	}
	return owner, nil
}

// CreateOpenIDOwner opens a safe for a person identified by the provider, without login
// or secret, and keeps their claims (JSON) sealed. The safe and the identity are created
// in one transaction: an identity already linked to a safe gives an error and no new safe.
func (srv *Service) CreateOpenIDOwner(ctx context.Context, issuer, subject string, claims []byte, by vault.Actor) (*vault.Owner, error) {
	var o *vault.Owner
	err := pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		var err error
		if o, err = srv.vault.CreateOwnerTx(ctx, tx, "", by); err != nil {
			return err
		}
		sealer, err := srv.vault.SealerTx(ctx, tx, o.ID)
		if err != nil {
			return err
		}
		sealed, err := sealer.Seal(claims, claimsAD(o.ID))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO openid_identities (subject_sha256, owner_id, claims_sealed) VALUES ($1, $2, $3)`,
			subjectHash(issuer, subject), o.ID, sealed)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("account: create openid owner: %w", err)
	}
	return o, nil
}

// RecordOpenIDLogin keeps the claims of the latest sign-in (sealed) and journals it.
func (srv *Service) RecordOpenIDLogin(ctx context.Context, owner uuid.UUID, claims []byte, method string, ip netip.Addr) error {
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return fmt.Errorf("account: openid login: %w", err)
	}
	sealed, err := sealer.Seal(claims, claimsAD(owner))
	if err != nil {
		return fmt.Errorf("account: openid login: %w", err)
	}
	return pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE openid_identities SET claims_sealed = $2, last_login_at = $3 WHERE owner_id = $1`, owner, sealed, srv.now())
		if err != nil {
			return fmt.Errorf("account: openid login: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("account: openid login %s: %w", owner, vault.ErrNotFound)
		}
		err = srv.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: vault.Actor{Kind: vault.ActorOwner, ID: owner.String(), IP: ip}, Action: ActionLogin, Detail: method})
		return err
	})
}

// OpenIDClaims returns the sealed claims of owner's latest sign-in through the provider.
func (srv *Service) OpenIDClaims(ctx context.Context, owner uuid.UUID) ([]byte, error) {
	sealer, err := srv.vault.Sealer(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("account: openid claims: %w", err)
	}
	var sealed []byte
	if err := srv.db.QueryRow(ctx, `SELECT claims_sealed FROM openid_identities WHERE owner_id = $1`, owner).Scan(&sealed); err != nil {
		return nil, fmt.Errorf("account: openid claims: %w", notFound(err))
	}
	return sealer.Open(sealed, claimsAD(owner))
}

func forgetOpenIDIdentity(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM openid_identities WHERE owner_id = $1`, owner)
	return err
}
