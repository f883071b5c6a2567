package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
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

type bindOldArgs struct{}

func (bindOldArgs) Kind() string { return "bind_old_blobs" }

const (
	// bindOldEvery and bindOldBatch pace the binding of old blob rows: 100 rows are a
	// few tens of megabytes of typical papers, and vault.BindOldBlobs stops a run after
	// 64 MiB, so a run reads for a few seconds at most on a small server; 14,400 rows a
	// day.
	bindOldEvery = 10 * time.Minute
	bindOldBatch = 100
)

// bindOldWorker binds the blob rows written before header MACs to their objects
// (vault.BindOldBlobs); once none is left, a run does nothing.
type bindOldWorker struct {
	river.WorkerDefaults[bindOldArgs]
	v     *vault.Vault
	log   *slog.Logger
	binds *prometheus.CounterVec // nil without metrics
}

func newBindOldWorker(v *vault.Vault, log *slog.Logger, reg *prometheus.Registry) *bindOldWorker {
	w := &bindOldWorker{v: v, log: log}
	if reg != nil {
		w.binds = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "coffre_blob_binds_total",
			Help: "Blob rows written before header MACs checked against their objects, by result (bound, failed: journaled as an integrity failure)."}, []string{"result"})
		reg.MustRegister(w.binds)
	}
	return w
}

func (w *bindOldWorker) Work(ctx context.Context, _ *river.Job[bindOldArgs]) error {
	bound, failed, err := w.v.BindOldBlobs(ctx, bindOldBatch)
	if w.binds != nil {
		w.binds.WithLabelValues("bound").Add(float64(bound))
		w.binds.WithLabelValues("failed").Add(float64(failed))
	}
	switch {
	case failed > 0:
		w.log.Warn("old blob rows: objects that do not match their rows", "bound", bound, "failed", failed)
	case bound > 0:
		w.log.Info("old blob rows bound to their objects", "bound", bound)
	}
	return err
}

// startJobs starts the background jobs; reader, when not nil, reads the papers of the
// owners who asked for it (reading.go); reg, when not nil, takes the jobs' series.
func startJobs(ctx context.Context, pool *pgxpool.Pool, v *vault.Vault, svc *services, key ed25519.PrivateKey, cfg Config, log *slog.Logger, reader *web.Reader, reg *prometheus.Registry) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &reapWorker{v: v, grace: cfg.UploadGrace})
	river.AddWorker(workers, &purgeWorker{v: v, accounts: svc.accounts, sharing: svc.sharing, after: cfg.PurgeAfter, idle: cfg.SessionIdle})
	river.AddWorker(workers, &checkpointWorker{v: v, key: key})
	river.AddWorker(workers, &eraseWorker{v: v})
	river.AddWorker(workers, &recoveryWorker{accounts: svc.accounts})
	river.AddWorker(workers, newBindOldWorker(v, log, reg))
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
		periodic(bindOldEvery, bindOldArgs{}),
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
