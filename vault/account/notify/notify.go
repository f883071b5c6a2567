package notify

import (
	"context"
	"errors"
	"fmt"
	"github.com/google/uuid"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"coffre/vault"
	"coffre/vault/account"
)

// Config is what a Service is built from.
type Config struct {
	DB       *pgxpool.Pool // the vault's database
	Vault    *vault.Vault
	Accounts *account.Service
	// MandatesEnding finds the mandates that end soon (sharing.Service knows them: the
	// caller wires it, so that this package stays below sharing); nil: no such notice.
	MandatesEnding func(ctx context.Context) ([]MandateEnding, error)
	// Senders send each kind of channel; a kind without one is not offered to owners
	// (Kinds), and its messages are dropped.
	Senders map[account.ChannelKind]Sender
	Log     *slog.Logger // nil: discard
	// Now is the clock: which milestone is due, whether a code still works. Nil means
	// time.Now.
	Now func() time.Time
}

// MandateEnding is a mandate whose coming end its owner is told of.
type MandateEnding struct {
	ID, OwnerID uuid.UUID
	EndsAt      time.Time
	Structure   string // the structure's name, shown to the owner
}

// Service words and sends messages, and finds what is due. It is safe for concurrent
// use, and several processes may run it on one database.
type Service struct {
	cfg Config
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// Kinds lists the kinds of channel that have a sender, in the order owners see them.
func (s *Service) Kinds() []account.ChannelKind {
	var out []account.ChannelKind
	for _, k := range account.ChannelKinds {
		if s.cfg.Senders[k] != nil {
			out = append(out, k)
		}
	}
	return out
}

// ScanArgs is the periodic job that finds what is due (Scan).
type ScanArgs struct{}

// Kind is the River job kind.
func (ScanArgs) Kind() string { return "scan_notices" }

// AddWorkers registers the jobs of this package: the messages (account.MessageArgs) and
// the periodic scan (ScanArgs, to schedule every hour or so).
func (s *Service) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &messageWorker{s: s})
	river.AddWorker(w, &scanWorker{s: s})
}

type messageWorker struct {
	river.WorkerDefaults[account.MessageArgs]
	s *Service
}

func (w *messageWorker) Work(ctx context.Context, job *river.Job[account.MessageArgs]) error {
	err := w.s.deliver(ctx, job.Args, func(tx pgx.Tx) error {
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
	if errors.Is(err, ErrPermanent) {
		return river.JobCancel(err)
	}
	return err
}

type scanWorker struct {
	river.WorkerDefaults[ScanArgs]
	s *Service
}

func (w *scanWorker) Work(ctx context.Context, _ *river.Job[ScanArgs]) error {
	return w.s.Scan(ctx)
}

// Deliver sends the message of one job, as its worker does (for tests and tools). A
// message that can wait, outside the day where the person lives, is not sent: the error
// is River's *JobSnoozeError, with how long it waits.
func (s *Service) Deliver(ctx context.Context, args account.MessageArgs) error {
	return s.deliver(ctx, args, nil)
}

// deliver sends the message of args, then journals it in the owner's history in one
// transaction with complete (the job's completion), if any. What no longer holds is
// dropped without error: the channel removed or not verified, the safe closed, the paper
// replaced, deleted or expired, the code replaced or past its time. What can wait, at
// night where the person lives, is snoozed until the morning (daytime.go).
func (s *Service) deliver(ctx context.Context, a account.MessageArgs, complete func(pgx.Tx) error) error {
	log := s.cfg.Log.With("job", "send_message", "notice", string(a.What))
	rc, err := s.cfg.Accounts.MessageRecipient(ctx, a.Owner, a.Channel)
	if errors.Is(err, vault.ErrNotFound) {
		log.Info("message dropped: channel removed")
		return nil
	}
	if err != nil {
		return err
	}
	if a.What == account.NoticeCode && rc.Code == "" || a.What != account.NoticeCode && !rc.Verified {
		log.Info("message dropped: channel not waiting for it")
		return nil
	}
	zone := account.Location(rc.TimeZone)
	if wait := untilDay(s.cfg.Now(), zone); wait > 0 && canWait(a.What) {
		wait += morningSpread(a.Owner)
		log.Info("message waits for the day", "wait", wait.Round(time.Minute).String())
		return river.JobSnooze(wait)
	}
	if err := s.cfg.Vault.CheckOpen(ctx, a.Owner); err != nil {
		if errors.Is(err, vault.ErrClosed) || errors.Is(err, vault.ErrShredded) || errors.Is(err, vault.ErrNotFound) {
			log.Info("message dropped: safe closed")
			return nil
		}
		return err
	}
	sender := s.cfg.Senders[rc.Kind]
	if sender == nil {
		log.Warn("message dropped: no sender for this kind of channel", "channel", string(rc.Kind))
		return nil
	}
	f := facts{at: a.At, zone: rc.TimeZone, who: a.Detail, code: rc.Code}
	entry := account.MessageEntry{Channel: rc.Kind, What: a.What, Who: a.Detail}
	switch a.What {
	case account.NoticeExpiry:
		r, err := s.cfg.Vault.Reminder(ctx, a.Owner, a.Document, s.cfg.Now(), zone)
		if errors.Is(err, vault.ErrNotFound) {
			// The scan found it due where the person lived then; a zone chosen since, behind
			// that one (Wallis to Guadeloupe), may not have reached the milestone's day yet.
			// Deleted, replaced or expired, it is not found tomorrow either. (A reminder
			// leaves between 9:00 and 20:00 where the person lives: 24 hours on is the
			// next day there.)
			r, err = s.cfg.Vault.Reminder(ctx, a.Owner, a.Document, s.cfg.Now().Add(24*time.Hour), zone)
		}
		if errors.Is(err, vault.ErrNotFound) {
			log.Info("message dropped: the paper no longer expires soon")
			return nil
		}
		if err != nil {
			return err
		}
		if ExpiryKey(*r) != a.Key {
			// Its date was corrected, or the next milestone came while it waited: the
			// scan tells that one, once.
			log.Info("message dropped: another milestone is due")
			return nil
		}
		f.kind, f.at = r.Kind, r.ExpiresOn
		entry.Kind, entry.Date = r.Kind, r.ExpiresOn
	case account.NoticeCode:
	default:
		entry.Date = a.At
	}
	w := wordFor(rc, a.What, f)
	if len(w.lines) == 0 {
		log.Error("message dropped: no words for this notice")
		return nil
	}
	if err := sender.Send(ctx, message(rc.Kind, rc.Address, rc.Language, w)); err != nil {
		return fmt.Errorf("notify: send %s: %w", a.What, err)
	}
	err = pgx.BeginFunc(ctx, s.cfg.DB, func(tx pgx.Tx) error {
		if err := s.cfg.Vault.RecordTx(ctx, tx, a.Owner, entry.Event(a.Document)); err != nil {
			return err
		}
		if complete != nil {
			return complete(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify: journal %s: %w", a.What, err)
	}
	log.Info("message sent", "channel", string(rc.Kind))
	return nil
}

// Scan finds what is due at the clock's time without anyone acting, and tells each owner
// once: every paper that reached a milestone before its expiry (vault.DueReminders; a
// milestone missed while nothing ran is told late, an older one passed over), and every
// mandate that Config.MandatesEnding finds. Safe to run from several processes at
// once, and again after a restart: each notice has a key recorded once (account.Notify).
func (s *Service) Scan(ctx context.Context) error {
	due, err := s.cfg.Vault.DueReminders(ctx, s.cfg.Now(), s.cfg.Accounts.Zone)
	if err != nil {
		return fmt.Errorf("notify: scan: %w", err)
	}
	for _, r := range due {
		n := account.Notice{What: account.NoticeExpiry, Key: ExpiryKey(r), At: r.ExpiresOn, Document: r.DocumentID}
		if err := s.cfg.Accounts.Notify(ctx, r.OwnerID, n); err != nil {
			return fmt.Errorf("notify: scan: %w", err)
		}
	}
	if s.cfg.MandatesEnding == nil {
		return nil
	}
	ms, err := s.cfg.MandatesEnding(ctx)
	if err != nil {
		return fmt.Errorf("notify: scan: %w", err)
	}
	for _, m := range ms {
		n := account.Notice{What: account.NoticeMandateEnding, Key: "mandate_ending:" + m.ID.String(), At: m.EndsAt, Detail: m.Structure}
		if err := s.cfg.Accounts.Notify(ctx, m.OwnerID, n); err != nil {
			return fmt.Errorf("notify: scan: %w", err)
		}
	}
	return nil
}

// ExpiryKey names the notice of one milestone of one expiry date of one paper: a paper
// whose date changes is recalled again.
func ExpiryKey(r vault.Reminder) string {
	return fmt.Sprintf("expiry:%s:%s:%d", r.DocumentID, r.ExpiresOn.Format(time.DateOnly), r.Milestone)
}
