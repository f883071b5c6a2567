package vault

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// A Participant keeps rows about owners in tables of its own and takes part in the
// vault's transactions that concern a whole safe: package account (how owners sign in)
// and package sharing (links, grants, mandates). They are handed to the vault where the
// program is wired (cmd/coffre, tests' setup) with AddParticipant; the vault knows them
// only through this interface, so that it never imports them.
type Participant interface {
	// SafeClosed ends, inside CloseSafe's transaction and after the owner row is locked,
	// everything the participant lets anyone do in owner's safe; by closed it.
	SafeClosed(ctx context.Context, tx pgx.Tx, owner uuid.UUID, by Actor) error
	// Forget deletes, inside the erasure's transaction, every row of the participant
	// that could identify the person or let anyone in as them. login is the owner's
	// login before the erasure ("" if none).
	Forget(ctx context.Context, tx pgx.Tx, owner uuid.UUID, login string) error
	// RewrapSecrets re-wraps to the current master key every secret of the participant
	// that an older key wraps (see WrapServiceSecret), and returns how many; Rewrap calls
	// it before it retires the older keys.
	RewrapSecrets(ctx context.Context) (int, error)
}

// AddParticipant makes p take part in closures, erasures and master-key rotations. Call
// it while wiring the program, before the vault serves anything.
func (v *Vault) AddParticipant(p Participant) {
	v.participants = append(v.participants, p)
}

// A Sealer seals and opens values with one owner's data key, for a package that keeps
// personal values of the owner in tables of its own (account: session devices, passkeys,
// OpenID claims). ad binds a value to its place (say "passkey:" + owner + ":" + ID): a
// value copied elsewhere does not open. It must name the owner and a place of the
// caller's own, never one of the vault's.
type Sealer struct {
	owner   uuid.UUID
	dataKey []byte
}

// Sealer returns the sealer of owner.
func (v *Vault) Sealer(ctx context.Context, owner uuid.UUID) (*Sealer, error) {
	return v.SealerTx(ctx, nil, owner)
}

// SealerTx is Sealer reading the owner's keys inside tx, for an owner created in it
// (CreateOwnerTx). A nil tx reads outside any transaction.
func (v *Vault) SealerTx(ctx context.Context, tx pgx.Tx, owner uuid.UUID) (*Sealer, error) {
	var q dbtx = v.db
	if tx != nil {
		q = tx
	}
	_, dataKey, err := v.ownerKeysIn(ctx, q, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: sealer: %w", err)
	}
	return &Sealer{owner: owner, dataKey: dataKey}, nil
}

// Seal encrypts plaintext for its place ad.
func (s *Sealer) Seal(plaintext []byte, ad string) ([]byte, error) {
	return seal(s.dataKey, plaintext, ad)
}

// Open decrypts what Seal sealed at ad; anything else is ErrIntegrity.
func (s *Sealer) Open(sealed []byte, ad string) ([]byte, error) {
	return open(s.dataKey, sealed, ad)
}

// CreateOwnerTx is CreateOwner inside another package's transaction (package account
// adds the owner's account or OpenID identity in it): the safe exists only if the whole
// transaction commits.
func (v *Vault) CreateOwnerTx(ctx context.Context, tx pgx.Tx, login string, by Actor) (*Owner, error) {
	o, _, err := v.createOwner(ctx, tx, login, by)
	if err != nil {
		return nil, fmt.Errorf("vault: create owner: %w", err)
	}
	return o, nil
}
