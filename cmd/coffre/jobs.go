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

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/account/notify"
	"coffre/web"
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

// purgeWorker removes what has served its time: the blobs of deleted documents, ended
// sessions, old sign-in counters, unfinished passkey ceremonies, used client assertions,
// agents' desk unlocks past their end, notices told long ago.
type purgeWorker struct {
	river.WorkerDefaults[purgeArgs]
	v        *vault.Vault
	accounts *account.Service
	sharing  *sharing.Service
	after    time.Duration
	idle     time.Duration
}

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[purgeArgs]) error {
	purges := []func() (int, error){
		func() (int, error) { return w.v.PurgeDeleted(ctx, w.after) },
		func() (int, error) { return w.accounts.PurgeSessions(ctx, w.idle) },
		func() (int, error) { return w.accounts.PurgeThrottle(ctx) },
		func() (int, error) { return w.accounts.PurgeCeremonies(ctx) },
		func() (int, error) { return w.sharing.PurgeAssertions(ctx) },
		func() (int, error) { return w.sharing.PurgeDeskUnlocks(ctx) },
		func() (int, error) { return w.accounts.PurgeNotices(ctx) },
	}
	for _, purge := range purges {
		if _, err := purge(); err != nil {
			return err
		}
	}
	return nil
}

type recoveryArgs struct{}

func (recoveryArgs) Kind() string { return "apply_recoveries" }

// recoveryWorker makes the codes of desk recoveries whose waiting period is over the
// owners' secrets (account.ApplyDueRecoveries); it runs every minute, so a code works at
// most a minute after the time printed on its card.
type recoveryWorker struct {
	river.WorkerDefaults[recoveryArgs]
	accounts *account.Service
}

func (w *recoveryWorker) Work(ctx context.Context, _ *river.Job[recoveryArgs]) error {
	_, err := w.accounts.ApplyDueRecoveries(ctx, time.Now())
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

// startJobs starts the background jobs; reader, when not nil, reads the papers of the
// owners who asked for it (reading.go).
func startJobs(ctx context.Context, pool *pgxpool.Pool, v *vault.Vault, svc *services, key ed25519.PrivateKey, cfg Config, log *slog.Logger, reader *web.Reader) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &reapWorker{v: v, grace: cfg.UploadGrace})
	river.AddWorker(workers, &purgeWorker{v: v, accounts: svc.accounts, sharing: svc.sharing, after: cfg.PurgeAfter, idle: cfg.SessionIdle})
	river.AddWorker(workers, &checkpointWorker{v: v, key: key})
	river.AddWorker(workers, &eraseWorker{v: v})
	river.AddWorker(workers, &recoveryWorker{accounts: svc.accounts})
	// Messages to owners, and the hourly search for what is due (expiries, mandates).
	svc.notify.AddWorkers(workers)
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}}
	periodic := func(every time.Duration, args river.JobArgs) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{RunOnStart: true})
	}
	jobs := []*river.PeriodicJob{
		periodic(time.Hour, reapArgs{}),
		periodic(5*time.Minute, purgeArgs{}),
		periodic(time.Hour, eraseArgs{}),
		periodic(time.Minute, recoveryArgs{}),
		periodic(time.Hour, notify.ScanArgs{}),
	}
	if cfg.CheckpointEvery > 0 {
		jobs = append(jobs, periodic(cfg.CheckpointEvery, checkpointArgs{}))
	}
	if reader != nil {
		river.AddWorker(workers, &readWorker{reader: reader, log: log})
		river.AddWorker(workers, &readSweepWorker{v: v})
		queues[readQueue] = river.QueueConfig{MaxWorkers: 1}
		jobs = append(jobs, periodic(readSweepEvery, readSweepArgs{}))
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:       queues,
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
