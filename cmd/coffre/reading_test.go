package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"coffre/ingest"
	"coffre/vault"
	"coffre/vault/vaulttest"
	"coffre/web"
)

// The reading job as 'coffre serve' runs it: queued for an owner, unique while it waits
// or runs, it reads the papers already deposited; the sweep queues an owner whose paper
// was deposited without a job.
func TestReadingJob(t *testing.T) {
	ctx := context.Background()
	vb := vaulttest.NewVault(t)
	reader := web.NewReader(web.ReaderConfig{Vault: vb.V, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC) }})
	client := startTestJobs(t, vb, reader, nil)
	done, stop := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer stop()
	// waitRead waits for reading jobs to complete until doc of owner is read.
	waitRead := func(owner, doc uuid.UUID) {
		t.Helper()
		deadline := time.After(2 * time.Minute)
		for {
			select {
			case ev := <-done:
				if ev.Job.Kind != (readArgs{}).Kind() {
					continue
				}
				if ev.Kind == river.EventKindJobFailed {
					t.Fatalf("reading job failed: %v", ev.Job.Errors)
				}
				if _, err := vb.V.Text(ctx, owner, doc); err == nil {
					return
				}
			case <-deadline:
				t.Fatal("the paper was not read")
			}
		}
	}

	owner, err := vb.V.CreateOwner(ctx, "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	deposit := func(photo string) uuid.UUID {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "..", "ingest", "testdata", "papers", photo))
		if err != nil {
			t.Fatal(err)
		}
		var pdf bytes.Buffer
		if _, err := ingest.Process(ctx, []io.Reader{bytes.NewReader(b)}, ingest.Options{}, &pdf, nil); err != nil {
			t.Fatal(err)
		}
		d, err := vb.V.Deposit(ctx, owner.ID, vault.System, vault.NewDocument{Kind: vault.KindAutre, Title: photo,
			Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: &pdf, Size: int64(pdf.Len())}}})
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	first := deposit("40-quittance_loyer.jpg")
	if err := vb.V.SetReading(ctx, owner.ID, vault.System, true); err != nil {
		t.Fatal(err)
	}
	q := riverReading{client: client}
	res, err := client.Insert(ctx, readArgs{Owner: owner.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := client.Insert(ctx, readArgs{Owner: owner.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !again.UniqueSkippedAsDuplicate || again.Job.ID != res.Job.ID {
		t.Errorf("a second reading job for the same owner: %d and %d", res.Job.ID, again.Job.ID)
	}
	waitRead(owner.ID, first)
	if txt, err := vb.V.Text(ctx, owner.ID, first); err != nil || txt == "" {
		t.Fatalf("the job did not read the paper: %q, %v", txt, err)
	}
	if s, err := vb.V.Suggestion(ctx, owner.ID, first); err != nil || s.Kind != vault.KindLogement {
		t.Errorf("suggestion: %+v, %v", s, err)
	}

	// Once a job is done, queueing makes a new one; a paper left without one is found
	// by the sweep.
	second := deposit("44-facture.jpg")
	if _, err := client.Insert(ctx, readSweepArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	waitRead(owner.ID, second)
	if txt, err := vb.V.Text(ctx, owner.ID, second); err != nil || txt == "" {
		t.Fatalf("the sweep did not get the paper read: %q, %v", txt, err)
	}
	third := deposit("47-rib.jpg")
	if err := q.QueueReading(ctx, owner.ID); err != nil {
		t.Fatal(err)
	}
	waitRead(owner.ID, third)
}
