package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"coffre/vault"
)

const keysInitUsage = `Usage: coffre keys init

Creates the master key file COFFRE_MASTER_KEY_FILE (an age X25519 identity) and the
service signing key COFFRE_SIGNING_KEY_FILE (Ed25519), both mode 0600, creating what is
missing and never overwriting an existing file. Keep copies of both off the machine: a
lost master key loses every safe.

The master key never goes into the database; owners' keys are stored wrapped to it.
`

const keysRotateUsage = `Usage: coffre keys rotate [--batch N]

Replaces the master key in two runs, while every instance keeps serving.

First run: adds a new master key at the head of COFFRE_MASTER_KEY_FILE, keeping the older
ones below it, and stops. Copy that file to every instance (mode 0600): running
'coffre serve' processes read it again when they meet the new key, no restart needed.

Second run, once every instance has the new file: registers the new key in the database
(from then on every instance wraps new owners and agents' secrets to it, and an instance
without the new file refuses to open new safes until it has it), re-wraps every
agent's second-factor secret and every owner's keys to it, N owners per transaction
(default 100), and retires each older key once nothing is wrapped to it any more; the
database itself refuses to retire a key still in use. No blob is read or rewritten. Each
owner's history records the operation.

If a run is interrupted, or says that something is still wrapped to an older key, run it
again: it resumes where it stopped. When it says "rotation complete", the older keys are
retired: remove them from the key file on every instance (keep an offline copy as long as
a database backup from before the rotation may be restored). An instance whose key file
lacks a key still in use refuses to start and names the key.
`

func runKeysInit(ctx context.Context, cfg Config, _ *flag.FlagSet, _ []string, stdout io.Writer) error {
	created := 0
	if _, err := os.Stat(cfg.MasterKeyFile); errors.Is(err, os.ErrNotExist) {
		recipient, err := vault.GenerateMasterKey(cfg.MasterKeyFile)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "coffre: master key created in %s (public key %s)\n", cfg.MasterKeyFile, recipient)
		created++
	}
	if _, err := os.Stat(cfg.SigningKeyFile); errors.Is(err, os.ErrNotExist) {
		if _, err := vault.GenerateSigningKey(cfg.SigningKeyFile); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "coffre: signing key created in %s\n", cfg.SigningKeyFile)
		created++
	}
	if created == 0 {
		return hinted{fmt.Errorf("%s and %s already exist", cfg.MasterKeyFile, cfg.SigningKeyFile),
			"keys are never overwritten; to change the master key use 'coffre keys rotate'"}
	}
	fmt.Fprintln(stdout, "coffre: keep a copy of these files in a safe place: without them, nothing can be read")
	return nil
}

func runKeysRotate(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	batch := fs.Lookup("batch").Value.(flag.Getter).Get().(int)
	if batch < 1 {
		return fmt.Errorf("--batch must be at least 1")
	}
	log := newLogger(cfg)
	keys, err := loadKeyring(cfg)
	if err != nil {
		return err
	}
	pool, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	operator := vault.Actor{Kind: vault.ActorOperator, ID: "cli"}
	blobs, err := openBlobs(cfg)
	if err != nil {
		return err
	}
	v, err := vault.New(ctx, vault.Config{DB: pool, Blobs: blobs, Keys: keys, Log: log, Now: time.Now})
	if err != nil {
		if errors.Is(err, vault.ErrWrongMasterKey) {
			return hinted{err, "COFFRE_MASTER_KEY_FILE must hold every key this database uses; copy the newest key file here"}
		}
		return err
	}
	// Where the rotation stands: the head of the file not yet in the database is a new key
	// waiting to be registered; secrets still wrapped to an older key are a rotation to
	// resume; otherwise a new rotation starts.
	registered, err := v.MasterKeyRegistered(ctx, keys.Current())
	if err != nil {
		return err
	}
	pending, err := v.RotationPending(ctx)
	if err != nil {
		return err
	}
	switch {
	case !registered:
		if err := vault.RegisterMasterKey(ctx, pool, keys, operator); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "coffre: master key %s registered: every instance now wraps new secrets to it\n", keys.Current())
	case pending:
		fmt.Fprintln(stdout, "coffre: resuming the rotation")
	default:
		if keys, err = vault.AddMasterKey(cfg.MasterKeyFile); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "coffre: new master key %s added to %s\n", keys.Current(), cfg.MasterKeyFile)
		fmt.Fprintf(stdout, "coffre: next: copy %s to every instance, then run 'coffre keys rotate' again\n", cfg.MasterKeyFile)
		return nil
	}
	// Agents' second-factor secrets are wrapped to the master key too: Rewrap re-wraps
	// them first, through the participants, so that the owners' pass can end with the
	// retirement of the old key.
	wire(pool, v, log)
	n, done, err := v.Rewrap(ctx, operator, batch, func(n int) error {
		fmt.Fprintf(stdout, "coffre: %d owners re-wrapped\n", n)
		return ctx.Err()
	})
	if err != nil {
		return hinted{fmt.Errorf("rotation stopped after %d owners: %w", n, err), "run 'coffre keys rotate' again to resume"}
	}
	if !done {
		return hinted{fmt.Errorf("%d owners re-wrapped, but secrets created meanwhile are still wrapped to an older key", n),
			"run 'coffre keys rotate' again to finish"}
	}
	current, err := v.CurrentMasterKey(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: rotation complete: %d owners now wrapped to %s; older keys are retired\n", n, current)
	fmt.Fprintln(stdout, "coffre: remove the retired keys from the key file on every instance (keep an offline copy while old backups may be restored)")
	return nil
}
