package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/riverqueue/river"

	"coffre/vault"
)

const closeUsage = `Usage: coffre close (--owner ID | --login LOGIN)

Closes a safe, for an operator acting on the owner's written request: it takes no new
document, stays exportable ('coffre export') and can be reopened ('coffre reopen') for
COFFRE_RETENTION (12 months by default, as article L.103 requires), after which the
background job of 'coffre serve' erases it for good (crypto-shredding). Export the safe
first. The closure is journaled in the owner's history as an operator action.

Example:
    coffre export --login fatou --request REF --out fatou.zip && coffre close --login fatou
`

const reopenUsage = `Usage: coffre reopen (--owner ID | --login LOGIN)

Reopens a closed safe during its retention period (the recovery path), journaled as an
operator action. An erased safe cannot be reopened.
`

const noticeUsage = `Usage: coffre notice set --message TEXT --shutdown-at DATE
       coffre notice clear
       coffre notice show

Announces the end of the service: every owner is shown TEXT and the shutdown date next to
the link to export their safe, until the notice is cleared. DATE is 2027-06-30 (midnight
UTC) or an RFC 3339 time. The announcement is journaled in the service's own chain.

Example:
    coffre notice set --shutdown-at 2027-06-30 --message "Le service fermera le 30 juin 2027. Téléchargez votre coffre avant cette date."
`

func runClose(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	v, owner, done, err := openOwner(ctx, cfg, fs)
	if err != nil {
		return err
	}
	defer done()
	s, err := v.CloseSafe(ctx, owner, cliOperator, cfg.Retention)
	if errors.Is(err, vault.ErrClosed) {
		return hinted{err, "the safe is already closed; 'coffre reopen' reopens it"}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: safe %s closed; it can be exported or reopened until %s, then it is erased\n",
		owner, s.EraseAfter.Format(time.RFC3339))
	return nil
}

func runReopen(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	v, owner, done, err := openOwner(ctx, cfg, fs)
	if err != nil {
		return err
	}
	defer done()
	if err := v.ReopenSafe(ctx, owner, cliOperator); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: safe %s reopened\n", owner)
	return nil
}

func noticeSetFlags(fs *flag.FlagSet) {
	fs.String("message", "", "")
	fs.String("shutdown-at", "", "")
}

func runNoticeSet(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	message, when := fs.Lookup("message").Value.String(), fs.Lookup("shutdown-at").Value.String()
	if message == "" || when == "" {
		return hinted{errors.New("--message and --shutdown-at are required"), `coffre notice set --shutdown-at 2027-06-30 --message "Le service fermera le 30 juin 2027."`}
	}
	at, err := time.Parse(time.DateOnly, when)
	if err != nil {
		if at, err = time.Parse(time.RFC3339, when); err != nil {
			return fmt.Errorf("--shutdown-at %q is neither a date (2027-06-30) nor an RFC 3339 time", when)
		}
	}
	v, pool, _, err := openVault(ctx, cfg, newLogger(cfg))
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := v.AnnounceShutdown(ctx, cliOperator, message, at)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: notice %d shown to every owner: shutdown on %s\n", n.ID, n.ShutdownAt.Format(time.RFC3339))
	return nil
}

func runNoticeClear(ctx context.Context, cfg Config, _ *flag.FlagSet, _ []string, stdout io.Writer) error {
	v, pool, _, err := openVault(ctx, cfg, newLogger(cfg))
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := v.ClearNotices(ctx, cliOperator)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: %d notices withdrawn\n", n)
	return nil
}

func runNoticeShow(ctx context.Context, cfg Config, _ *flag.FlagSet, _ []string, stdout io.Writer) error {
	v, pool, _, err := openVault(ctx, cfg, newLogger(cfg))
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := v.CurrentNotice(ctx)
	if errors.Is(err, vault.ErrNotFound) {
		fmt.Fprintln(stdout, "coffre: no notice")
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: notice %d, shutdown on %s:\n%s\n", n.ID, n.ShutdownAt.Format(time.RFC3339), n.Message)
	return nil
}

// eraseArgs is the hourly job that erases the closed safes whose retention has run out.
type eraseArgs struct{}

func (eraseArgs) Kind() string { return "erase_due" }

type eraseWorker struct {
	river.WorkerDefaults[eraseArgs]
	v *vault.Vault
}

func (w *eraseWorker) Work(ctx context.Context, _ *river.Job[eraseArgs]) error {
	_, err := w.v.EraseDue(ctx)
	return err
}
