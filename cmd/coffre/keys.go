package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"coffre/sharing"
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

Adds a new master key at the head of COFFRE_MASTER_KEY_FILE (keeping the older ones below
it) and re-wraps every owner's keys to it, N owners per transaction (default 100). No blob
is read or rewritten. Each owner's history records the operation.

If interrupted, run it again: it resumes where it stopped instead of adding another key.
When it finishes, the older keys are retired; remove them from the file once no database
backup still needs them.
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
	// A rotation in progress has its key at the head of the file and owners left on older
	// keys: resume it. Otherwise start a new one.
	v, err := vault.New(ctx, pool, blobs, keys, log)
	resume := err == nil && v.RotationPending(ctx)
	if err != nil && !errors.Is(err, vault.ErrWrongMasterKey) {
		return err
	}
	if !resume {
		if err == nil || keys.Current() == "" {
			if keys, err = vault.AddMasterKey(cfg.MasterKeyFile); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "coffre: new master key %s added to %s\n", keys.Current(), cfg.MasterKeyFile)
		}
		if err := vault.RegisterMasterKey(ctx, pool, keys, operator); err != nil {
			return err
		}
		if v, err = vault.New(ctx, pool, blobs, keys, log); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "coffre: resuming the rotation to %s\n", keys.Current())
	}
	// Agents' second-factor secrets are wrapped to the master key too: re-wrap them
	// first, so that retiring the old key at the end of the owners' pass is safe.
	agents, err := sharing.New(pool, v).RewrapAgentSecrets(ctx)
	if err != nil {
		return hinted{fmt.Errorf("rotation stopped: %w", err), "run 'coffre keys rotate' again to resume"}
	}
	if agents > 0 {
		fmt.Fprintf(stdout, "coffre: %d agents' second-factor secrets re-wrapped\n", agents)
	}
	n, done, err := v.Rewrap(ctx, operator, batch, func(n int) error {
		fmt.Fprintf(stdout, "coffre: %d owners re-wrapped\n", n)
		return ctx.Err()
	})
	if err != nil {
		return hinted{fmt.Errorf("rotation stopped after %d owners: %w", n, err), "run 'coffre keys rotate' again to resume"}
	}
	if done {
		fmt.Fprintf(stdout, "coffre: rotation complete: %d owners now wrapped to %s; older keys are retired\n", n, keys.Current())
	}
	return nil
}
