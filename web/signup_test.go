package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/vaulttest"
	"coffre/web"
)

// TestSignUpsPerNetwork: one network opens at most account.Config.SignUps safes by itself
// in a window; the next sign-up is refused with one sentence, before its secret is hashed,
// and opens nothing.
func TestSignUpsPerNetwork(t *testing.T) {
	t.Parallel()
	vb := vaulttest.NewVault(t)
	accounts := account.New(account.Config{DB: vb.DB, Vault: vb.V, SignUps: 2})
	b := setup(t, func(c *web.Config) { c.Vault, c.Accounts, c.Ready = vb.V, accounts, vb.V })
	b.client(t).signup("amina", "le chat mange la pomme")
	b.client(t).signup("lea", "le chat mange la pomme")

	c := b.client(t)
	secret := "le chat mange la pomme"
	resp, body := c.post("/inscription", url.Values{"csrf": {c.csrf("/inscription")}, "login": {"karim"}, "secret": {secret}, "secret2": {secret}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Beaucoup de coffres ont été ouverts depuis ce réseau") {
		t.Fatalf("third sign-up from one network: %d", resp.StatusCode)
	}
	if _, err := vb.V.OwnerByLogin(context.Background(), "karim"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("the refused sign-up opened a safe: %v", err)
	}
}
