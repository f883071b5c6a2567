package main

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
	"coffre/web"
)

// readiness is what /readyz checks: that this instance can do its work, not only reach
// its dependencies. A database that answers but refuses writes (a standby after a
// failover, default_transaction_read_only), a bucket that is gone, a key file that can
// no longer be read (removed, its mode changed, garbled by a bad copy during a rotation)
// each make the instance not ready, with the reason; so does a shutdown under way, so
// that the load balancer stops sending requests before the process stops taking them.
type readiness struct {
	v        *vault.Vault
	pool     *pgxpool.Pool
	cfg      Config
	draining atomic.Bool
}

func (r *readiness) Ping(ctx context.Context) error {
	if r.draining.Load() {
		return web.NotReady{Reason: "shutting down", Err: context.Canceled}
	}
	if err := r.pool.Ping(ctx); err != nil {
		return web.NotReady{Reason: "database unreachable", Err: err}
	}
	if err := vault.CheckWritable(ctx, r.pool); err != nil {
		return web.NotReady{Reason: "database refuses writes", Err: err}
	}
	if err := r.v.Ping(ctx); err != nil {
		return web.NotReady{Reason: "blob store unreachable or bucket missing", Err: err}
	}
	if _, err := vault.LoadKeyring(r.cfg.MasterKeyFile); err != nil {
		return web.NotReady{Reason: "master key file unreadable", Err: err}
	}
	if _, err := vault.LoadSigningKey(r.cfg.SigningKeyFile); err != nil {
		return web.NotReady{Reason: "signing key file unreadable", Err: err}
	}
	return nil
}
