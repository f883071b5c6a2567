package account_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/vaulttest"
)

type testBundle struct {
	v     *vault.Vault
	a     *account.Service
	db    *pgxpool.Pool
	clock *vaulttest.Clock
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	vb := vaulttest.NewVault(t)
	return &testBundle{v: vb.V, a: vb.A, db: vb.DB, clock: vb.Clock}
}
