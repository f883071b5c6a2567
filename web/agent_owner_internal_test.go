package web

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"coffre/vault"
	"coffre/vault/vaulttest"
)

// A client gone while its page is being made is no failure of the service: looking up
// the banner of a waiting recovery then logs nothing at the error level.
func TestPendingRecoveryClientGone(t *testing.T) {
	t.Parallel()
	vb := vaulttest.NewVault(t)
	o, err := vb.V.CreateOwner(context.Background(), "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := &handler{vault: vb.V, accounts: vb.A, log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p := h.pendingRecovery(ctx, o.ID); p != nil {
		t.Fatalf("a recovery for a gone client: %+v", p)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("logged as an error: %s", logs.String())
	}
}
