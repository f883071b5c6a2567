package main

import (
	"context"
	"crypto/ed25519"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
)

const journalVerifyUsage = `Usage: coffre journal verify [--owner ID | --login LOGIN]

Checks every owner's journal chain (sequence, links, hashes, the heads) and every signed
checkpoint (their own chain and their Ed25519 signatures by the service key in
COFFRE_SIGNING_KEY_FILE). Prints a summary; on failure names the first broken entry of each
broken chain and exits with status 1.

With --owner or --login, checks that one safe's chain only (not the checkpoints), reading
only its entries: when a person questions their history, in a time that does not grow
with the number of safes.
`

const journalCheckpointUsage = `Usage: coffre journal checkpoint

Signs the heads of the journal chains that moved since the last checkpoint, now, with the
service key in COFFRE_SIGNING_KEY_FILE. 'coffre serve' does it every COFFRE_CHECKPOINT_EVERY.
`

// openSigning opens the vault with the service signing key. The caller closes the pool.
func openSigning(ctx context.Context, cfg Config) (*vault.Vault, *pgxpool.Pool, ed25519.PrivateKey, error) {
	key, err := loadSigningKey(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	v, pool, _, err := openVault(ctx, cfg, newLogger(cfg))
	return v, pool, key, err
}

func runJournalVerify(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	v, pool, key, err := openSigning(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	start := time.Now()
	var rep *vault.VerifyReport
	if fs.Lookup("owner").Value.String() != "" || fs.Lookup("login").Value.String() != "" {
		owner, ferr := flagOwner(ctx, v, fs)
		if ferr != nil {
			return ferr
		}
		rep, err = v.VerifyOwnerJournal(ctx, owner)
	} else {
		rep, err = v.VerifyJournal(ctx, key.Public().(ed25519.PublicKey))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: %d entries in %d chains, %d checkpoints, checked in %s\n",
		rep.Entries, rep.Chains, rep.Checkpoints, time.Since(start).Round(time.Millisecond))
	if len(rep.Breaks) == 0 {
		fmt.Fprintln(stdout, "coffre: journal intact")
		return nil
	}
	for _, b := range rep.Breaks {
		fmt.Fprintf(stdout, "coffre: BROKEN: %s\n", b)
	}
	return fmt.Errorf("journal verification failed: %d problems, first: %s", len(rep.Breaks), rep.Breaks[0])
}

func runJournalCheckpoint(ctx context.Context, cfg Config, _ *flag.FlagSet, _ []string, stdout io.Writer) error {
	v, pool, key, err := openSigning(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	cp, err := v.Checkpoint(ctx, key)
	if err != nil {
		return err
	}
	if cp == nil {
		fmt.Fprintln(stdout, "coffre: no chain moved since the last checkpoint")
		return nil
	}
	fmt.Fprintf(stdout, "coffre: checkpoint %d signed over %d chains\n", cp.ID, cp.Chains)
	return nil
}
