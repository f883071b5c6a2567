package vaulttest

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"coffre/vault"
	"coffre/vault/account"
)

// Bundle is a vault on a fresh database and bucket, with its keys, and the account
// service wired to it as a participant, its messages queued in River's tables (Queue, an
// insert-only client: nothing works them unless a test starts workers of its own).
type Bundle struct {
	V       *vault.Vault
	A       *account.Service
	Queue   *river.Client[pgx.Tx]
	Clock   *Clock // the clock of V and A
	DB      *pgxpool.Pool
	Store   *vault.S3Store
	S3      vault.S3Config
	Keys    *vault.Keyring
	KeyPath string
	Signing ed25519.PrivateKey
}

// NewVault builds a vault for one test: fresh database, fresh bucket, new master and
// signing keys in a temporary directory.
func NewVault(tb testing.TB) *Bundle {
	tb.Helper()
	b := &Bundle{DB: DB(tb)}
	b.Store, b.S3 = S3Store(tb)
	dir := tb.TempDir()
	b.KeyPath = filepath.Join(dir, "master.key")
	if _, err := vault.GenerateMasterKey(b.KeyPath); err != nil {
		tb.Fatal(err)
	}
	var err error
	if b.Keys, err = vault.LoadKeyring(b.KeyPath); err != nil {
		tb.Fatal(err)
	}
	if _, err := vault.GenerateSigningKey(filepath.Join(dir, "signing.key")); err != nil {
		tb.Fatal(err)
	}
	if b.Signing, err = vault.LoadSigningKey(filepath.Join(dir, "signing.key")); err != nil {
		tb.Fatal(err)
	}
	b.Clock = &Clock{}
	if b.V, err = vault.New(context.Background(), vault.Config{DB: b.DB, Blobs: b.Store, Keys: b.Keys, Now: b.Clock.Now}); err != nil {
		tb.Fatal(err)
	}
	if b.Queue, err = river.NewClient(riverpgxv5.New(b.DB), &river.Config{}); err != nil {
		tb.Fatal(err)
	}
	b.A = account.New(account.Config{DB: b.DB, Vault: b.V, Now: b.Clock.Now, Queue: b.Queue})
	b.V.AddParticipant(b.A)
	return b
}

// Clock is the time of a test: the real time, moved forward by Advance, so that a test
// reaches an expiry without sleeping or rewriting timestamps.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the clock's time; pass it as a Config's Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
