package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"coffre/vault"
)

// Background work runs as River jobs in PostgreSQL: periodic jobs are enqueued by the
// elected leader only, so several 'coffre serve' processes do each run once.

type reapArgs struct{}

func (reapArgs) Kind() string { return "reap_uploads" }

type reapWorker struct {
	river.WorkerDefaults[reapArgs]
	v     *vault.Vault
	grace time.Duration
}

func (w *reapWorker) Work(ctx context.Context, _ *river.Job[reapArgs]) error {
	_, err := w.v.ReapUploads(ctx, w.grace)
	return err
}

type purgeArgs struct{}

func (purgeArgs) Kind() string { return "purge_deleted" }

type purgeWorker struct {
	river.WorkerDefaults[purgeArgs]
	v     *vault.Vault
	after time.Duration
}

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[purgeArgs]) error {
	_, err := w.v.PurgeDeleted(ctx, w.after)
	return err
}

type checkpointArgs struct{}

func (checkpointArgs) Kind() string { return "journal_checkpoint" }

type checkpointWorker struct {
	river.WorkerDefaults[checkpointArgs]
	v   *vault.Vault
	key ed25519.PrivateKey
}

func (w *checkpointWorker) Work(ctx context.Context, _ *river.Job[checkpointArgs]) error {
	_, err := w.v.Checkpoint(ctx, w.key)
	return err
}

func startJobs(ctx context.Context, pool *pgxpool.Pool, v *vault.Vault, key ed25519.PrivateKey, cfg Config, log *slog.Logger) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &reapWorker{v: v, grace: cfg.UploadGrace})
	river.AddWorker(workers, &purgeWorker{v: v, after: cfg.PurgeAfter})
	river.AddWorker(workers, &checkpointWorker{v: v, key: key})
	river.AddWorker(workers, &eraseWorker{v: v})
	periodic := func(every time.Duration, args river.JobArgs) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{RunOnStart: true})
	}
	jobs := []*river.PeriodicJob{
		periodic(time.Hour, reapArgs{}),
		periodic(5*time.Minute, purgeArgs{}),
		periodic(time.Hour, eraseArgs{}),
	}
	if cfg.CheckpointEvery > 0 {
		jobs = append(jobs, periodic(cfg.CheckpointEvery, checkpointArgs{}))
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:       map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:      workers,
		PeriodicJobs: jobs,
		Logger:       log,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return nil, hinted{fmt.Errorf("jobs: %w", err), "has the database been migrated? run 'coffre migrate'"}
	}
	return client, nil
}
