package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/vaulttest"
	"coffre/web"
)

// TestBindOldJob: the job runs at start with the others; a row whose header MAC was
// cleared in the database is not bound again but counted as failed, in its series and in
// its owner's history.
func TestBindOldJob(t *testing.T) {
	ctx := context.Background()
	vb := vaulttest.NewVault(t)
	owner, err := vb.V.CreateOwner(ctx, "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	d, err := vb.V.Deposit(ctx, owner.ID, vault.System, vault.NewDocument{Kind: vault.KindAutre, Title: "Quittance",
		Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: bytes.NewReader([]byte("quittance")), Size: 9}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vb.DB.Exec(ctx, `UPDATE blobs SET header_mac = NULL WHERE id = $1`, d.Blobs[0].ID); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	client := startTestJobs(t, vb, nil, reg)
	done, stop := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer stop()
	deadline := time.After(2 * time.Minute)
	for waiting := true; waiting; {
		select {
		case ev := <-done:
			if ev.Job.Kind != (bindOldArgs{}).Kind() {
				continue
			}
			if ev.Kind == river.EventKindJobFailed {
				t.Fatalf("bind job failed: %v", ev.Job.Errors)
			}
			waiting = false
		case <-deadline:
			t.Fatal("the bind job did not run")
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "coffre_blob_binds_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if got["bound"] != 0 || got["failed"] != 1 {
		t.Fatalf("coffre_blob_binds_total: %v, want bound 0 and failed 1", got)
	}
	var mac []byte
	if err := vb.DB.QueryRow(ctx, `SELECT header_mac FROM blobs WHERE id = $1`, d.Blobs[0].ID).Scan(&mac); err != nil || mac != nil {
		t.Fatalf("the cleared row has a header MAC again (%x, %v)", mac, err)
	}
	entries, err := vb.V.Journal(ctx, owner.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Action != vault.ActionIntegrity {
		t.Fatalf("the owner's last entry is %s, want %s", entries[0].Action, vault.ActionIntegrity)
	}
}

// startTestJobs starts the background jobs on vb as 'coffre serve' does, with the
// services they need, and stops them when the test ends.
func startTestJobs(t *testing.T, vb *vaulttest.Bundle, reader *web.Reader, reg *prometheus.Registry) *river.Client[pgx.Tx] {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	svc := &services{accounts: vb.A, sharing: sharing.New(vb.DB, vb.V, vb.A)}
	vb.V.AddParticipant(svc.sharing)
	log := slog.New(slog.DiscardHandler)
	var err error
	if svc.notify, err = newNotifier(Config{}, vb.DB, vb.V, svc, log); err != nil {
		t.Fatal(err)
	}
	cfg := Config{UploadGrace: time.Hour, PurgeAfter: time.Hour, SessionIdle: time.Hour}
	client, err := startJobs(ctx, vb.DB, vb.V, svc, vb.Signing, cfg, log, reader, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer scancel()
		if err := client.Stop(sctx); err != nil {
			t.Error(err)
		}
	})
	return client
}
