package sharing

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
	"coffre/vault/account"
)

// Config is what the sharing service runs on.
type Config struct {
	DB    *pgxpool.Pool // the vault's database
	Vault *vault.Vault
	// Accounts gives the agents' sign-in its throttling and secret hashing, and the
	// desks their temporary codes.
	Accounts *account.Service
	// Now is the clock: every time that decides something (link, grant and mandate
	// expiries, TOTP steps, desk unlocks, agent sessions) is read from it and passed to
	// SQL as a parameter, so that tests move time instead of sleeping. Nil means time.Now.
	Now func() time.Time
}

// Service gives access to owners' documents to others, with the owners' consent: links,
// grants, subscriptions, and aidants under mandates.
type Service struct {
	db       *pgxpool.Pool
	vault    *vault.Vault
	accounts *account.Service
	clock    func() time.Time
}

// NewService returns the sharing service of cfg. The caller hands it to the vault
// (vault.AddParticipant), so that closing and erasing a safe end its links, grants and
// mandates in the vault's transaction.
func NewService(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{db: cfg.DB, vault: cfg.Vault, accounts: cfg.Accounts, clock: cfg.Now}
}

// New is NewService with the real clock.
func New(db *pgxpool.Pool, v *vault.Vault, accounts *account.Service) *Service {
	return NewService(Config{DB: db, Vault: v, Accounts: accounts})
}

// now is the clock's time in UTC, to PostgreSQL's precision: what is decided with it
// compares equal once stored.
func (s *Service) now() time.Time {
	return s.clock().UTC().Truncate(time.Microsecond)
}
