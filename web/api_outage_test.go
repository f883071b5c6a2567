package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A téléservice whose token cannot be checked because the database fails must hear
// "try again" (500), not "your token is unknown" (401): on a 401 it would send the
// person back to give their consent again. Found by the load test during a PostgreSQL
// restart.
func TestGrantTokenDatabaseFailure(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	bearer := http.Header{"Authorization": {"Bearer " + strings.Repeat("t", 43)}}
	if resp, body := apiGet(t, b, "/api/v1/grant", bearer); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_token") {
		t.Fatalf("unknown token: %d %s", resp.StatusCode, body)
	}
	ctx := context.Background()
	if _, err := db.Exec(ctx, `ALTER TABLE grants RENAME TO grants_away`); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := db.Exec(ctx, `ALTER TABLE grants_away RENAME TO grants`); err != nil {
			t.Errorf("put the table back: %v", err)
		}
	}()
	resp, body := apiGet(t, b, "/api/v1/grant", bearer)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), `"internal"`) || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("token check failing: %d %s", resp.StatusCode, body)
	}
}

// Likewise, a téléservice whose credentials cannot be checked must not be told they are
// wrong.
func TestClientAuthDatabaseFailure(t *testing.T) {
	t.Parallel()
	b, db := agentBundle(t)
	token := func() (*http.Response, string) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {"http://127.0.0.1:9/retour"}, "code_verifier": {strings.Repeat("v", 50)}}
		req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/api/v1/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("ts_inconnu", "un secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		sb.Write(buf[:n])
		return resp, sb.String()
	}
	if resp, body := token(); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "invalid_client") {
		t.Fatalf("unknown client: %d %s", resp.StatusCode, body)
	}
	ctx := context.Background()
	if _, err := db.Exec(ctx, `ALTER TABLE clients RENAME TO clients_away`); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := db.Exec(ctx, `ALTER TABLE clients_away RENAME TO clients`); err != nil {
			t.Errorf("put the table back: %v", err)
		}
	}()
	if resp, body := token(); resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "server_error") {
		t.Fatalf("client check failing: %d %s", resp.StatusCode, body)
	}
}
