package sharing

import (
	"coffre/vault"
	"coffre/vault/account"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Service holds the links of every owner.
type Service struct {
	db       *pgxpool.Pool
	vault    *vault.Vault
	accounts *account.Service
}

// New returns the sharing service over the vault's database. accounts gives the agents'
// sign-in its throttling and secret hashing, and the desks their temporary codes. The
// caller hands the service to the vault (vault.AddParticipant), so that closing and
// erasing a safe end its links, grants and mandates in the vault's transaction.
func New(db *pgxpool.Pool, v *vault.Vault, accounts *account.Service) *Service {
	return &Service{db: db, vault: v, accounts: accounts}
}
