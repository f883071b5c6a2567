package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"

	"coffre/vault"
	"coffre/web"
)

// A person whose safe was erased at the end of retention, and who signs in again with
// FranceConnect, gets a fresh safe that works, every time: the erasure freed their
// identity.
func TestFranceConnectAfterErasure(t *testing.T) {
	t.Parallel()
	issuer, _ := oidcProvider(t)
	b := setup(t, func(c *web.Config) {
		storage.RegisterClients(storage.WebClient("coffre-erasure", "client-secret", c.BaseURL+"/connexion/franceconnect/retour"))
		c.OpenID = &web.OpenIDConfig{Issuer: issuer, ClientID: "coffre-erasure", ClientSecret: "client-secret",
			Scopes: []string{"profile", "given_name", "family_name", "birthdate", "gender", "birthplace", "birthcountry"}}
	})
	ctx := context.Background()
	signIn := func(t *testing.T) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		resp := fcLogin(t, &http.Client{Jar: jar}, b.base, issuer)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/papiers" || !strings.Contains(string(body), "Votre coffre est vide") {
			t.Fatalf("FranceConnect sign-in ended at %s with %d, not in an empty safe", resp.Request.URL, resp.StatusCode)
		}
	}

	signIn(t)
	first, err := b.a.OwnerByOpenID(ctx, issuer, "id1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.CloseSafe(ctx, first, vault.System, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Second) // past the millisecond of retention
	if n, err := b.v.EraseDue(ctx); err != nil || n != 1 {
		t.Fatalf("erase: %d, %v", n, err)
	}

	// The next sign-in opens a new safe, and the one after finds it again.
	signIn(t)
	fresh, err := b.a.OwnerByOpenID(ctx, issuer, "id1")
	if err != nil || fresh == first {
		t.Fatalf("after the erasure: safe %v, %v; want a new one", fresh, err)
	}
	signIn(t)
	if again, err := b.a.OwnerByOpenID(ctx, issuer, "id1"); err != nil || again != fresh {
		t.Fatalf("second sign-in after the erasure: safe %v, %v; want %v", again, err, fresh)
	}
}
