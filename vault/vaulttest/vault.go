package vaulttest

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
)

// Bundle is a vault on a fresh database and bucket, with its keys.
type Bundle struct {
	V       *vault.Vault
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
	if b.V, err = vault.New(context.Background(), b.DB, b.Store, b.Keys, nil); err != nil {
		tb.Fatal(err)
	}
	return b
}
