package main

import (
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"coffre/ingest"
	"coffre/vault"
	"coffre/web"
)

// Reading owners' papers in the background (web.Reader): one job per owner, unique, in a
// queue of its own that runs one job at a time per process (each tesseract run takes a
// core; the memory comes from the deposits' budget). A job reads a few papers, then goes
// back in the queue while more wait, so that one owner's thousand papers do not delay
// another's new photo. A periodic sweep queues the owners left with papers to read: a
// paper deposited while its owner's job was finishing, a job lost with its process.

const (
	readQueue = "reading"
	// readBatch is how many papers one run of an owner's job reads: about 5 seconds.
	readBatch = 3
	// readTimeout bounds one run: three papers of up to DefaultOCRTimeout each, and the
	// machine-readable zone's extra runs.
	readTimeout = 5 * time.Minute
	// readSweepEvery is how often the sweep looks for owners with papers to read.
	readSweepEvery = time.Minute
)

// readArgs is the reading of one owner's papers.
type readArgs struct {
	Owner uuid.UUID `json:"owner"`
}

func (readArgs) Kind() string { return "read_papers" }

// InsertOpts makes the job unique per owner while it waits or runs: asking again adds
// nothing.
func (readArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: readQueue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled,
	}}}
}

type readWorker struct {
	river.WorkerDefaults[readArgs]
	reader *web.Reader
	log    *slog.Logger
}

func (w *readWorker) Timeout(*river.Job[readArgs]) time.Duration { return readTimeout }

func (w *readWorker) Work(ctx context.Context, job *river.Job[readArgs]) error {
	more, err := w.reader.ReadSome(ctx, job.Args.Owner, readBatch)
	switch {
	case errors.Is(err, ingest.ErrOCRUnavailable):
		w.log.Error("papers cannot be read: tesseract or its French data is missing (scripts/ocr.sh)", "err", err)
		return river.JobSnooze(time.Hour)
	case errors.Is(err, ingest.ErrBusy):
		return river.JobSnooze(30 * time.Second) // deposits hold the memory: they come first
	case err != nil:
		return err
	case more:
		return river.JobSnooze(time.Second)
	}
	return nil
}

// readSweepArgs is the periodic sweep.
type readSweepArgs struct{}

func (readSweepArgs) Kind() string { return "read_sweep" }

type readSweepWorker struct {
	river.WorkerDefaults[readSweepArgs]
	v *vault.Vault
}

func (w *readSweepWorker) Work(ctx context.Context, _ *river.Job[readSweepArgs]) error {
	owners, err := w.v.OwnersToRead(ctx, 1000)
	if err != nil || len(owners) == 0 {
		return err
	}
	params := make([]river.InsertManyParams, len(owners))
	for i, o := range owners {
		params[i] = river.InsertManyParams{Args: readArgs{Owner: o}}
	}
	_, err = river.ClientFromContext[pgx.Tx](ctx).InsertMany(ctx, params)
	return err
}

// riverReading is the web's ReadingQueue: it inserts the owner's unique job.
type riverReading struct {
	client *river.Client[pgx.Tx]
}

func (q riverReading) QueueReading(ctx context.Context, owner uuid.UUID) error {
	_, err := q.client.Insert(ctx, readArgs{Owner: owner}, nil)
	return err
}

// ocrInstalled tells whether tesseract is on PATH: without it the service does not offer
// to read papers.
func ocrInstalled() bool {
	_, err := exec.LookPath("tesseract")
	return err == nil
}
