package account

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"coffre/vault"
)

// Telling owners of what happens outside the app: the table notices (what each owner was
// told of, once each) and the messages it sends to their verified channels (channels.go)
// through River jobs, which package notify works.

// OwnerNotice is something that happened that an owner must hear about.
type OwnerNotice string

// What owners are told of. Each message says what happened and what to do, never what a
// paper holds, and carries no link that signs in (package notify words them).
const (
	// NoticeCode: the verification code of a channel just added (sent to that channel
	// only, before it is verified).
	NoticeCode OwnerNotice = "code"
	// NoticeExpiry: a paper reached a milestone before its expiry (vault.Reminder).
	NoticeExpiry OwnerNotice = "expiry"
	// NoticeRecoveryRequested: an agent asked for a new code after a desk identity check;
	// it works after the waiting period unless the owner cancels it.
	NoticeRecoveryRequested OwnerNotice = "recovery_requested"
	// NoticeAccessRecovered: an agent's new code is now the owner's secret.
	NoticeAccessRecovered OwnerNotice = "access_recovered"
	// NoticeMandateAsked: a structure asked for a mandate the owner confirms from their
	// phone.
	NoticeMandateAsked OwnerNotice = "mandate_asked"
	// NoticeMandateGiven: a mandate started (given at a desk, or confirmed).
	NoticeMandateGiven OwnerNotice = "mandate_given"
	// NoticeMandateEnding: a mandate ends within a month.
	NoticeMandateEnding OwnerNotice = "mandate_ending"
	// NoticeMandateEnded: the structure ended its mandate.
	NoticeMandateEnded OwnerNotice = "mandate_ended"
	// NoticeNewDevice: a sign-in from a kind of device not seen lately (known_devices.go).
	NoticeNewDevice OwnerNotice = "new_device"
	// NoticeLinkOpened: one of the owner's share links was opened for the first time;
	// only for owners who asked for it (SetLinkNotice).
	NoticeLinkOpened OwnerNotice = "link_opened"
	// NoticeIssuerDeposit: an organisation deposited a paper through a subscription the
	// owner gave it (« Recevoir mes papiers »); Detail names it.
	NoticeIssuerDeposit OwnerNotice = "issuer_deposit"
)

// Notice is one event to tell an owner of.
type Notice struct {
	What OwnerNotice
	// Key names the event ("mandate_given:" + the mandate's ID): an owner is told of each
	// key once, ever, whichever process and job meets it first.
	Key string
	// At is when it happens: the expiry date, the time a recovery takes effect, the end
	// of a mandate, the time of a sign-in.
	At time.Time
	// Detail is who acted, as the history names them ("Mme D. (CCAS de Lille)", a
	// structure's name): nothing that is sealed anywhere else.
	Detail string
	// Document is the paper of an expiry reminder.
	Document uuid.UUID
}

// MessageArgs is the River job that sends one message to one channel; package notify
// works it. It holds nothing personal: IDs, what happened, a date and who acted, all in
// clear elsewhere already. The address is read, and opened, only when the message leaves;
// a channel removed by then gets nothing.
type MessageArgs struct {
	Owner    uuid.UUID   `json:"owner" river:"unique"`
	Channel  uuid.UUID   `json:"channel" river:"unique"`
	Key      string      `json:"key" river:"unique"`
	What     OwnerNotice `json:"what"`
	At       time.Time   `json:"at,omitzero"`
	Detail   string      `json:"detail,omitempty"`
	Document uuid.UUID   `json:"document,omitzero"`
}

// Kind is the River job kind.
func (MessageArgs) Kind() string { return "send_message" }

// InsertOpts makes each message one job (unique per owner, channel and key) retried with
// River's backoff for about seven hours.
func (MessageArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Queue is where messages wait to be sent: River's client (an insert-only one will do).
// Its InsertTx commits the job with the transaction that decides it, so that a message
// leaves only if what it tells of happened.
type Queue interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// notifyOwner is the one place where the owner is told, by every verified channel they
// have, of something that happened; it runs inside the transaction that makes it happen.
// The notice is recorded under its key (a key already there was told: nothing more), then
// one unique job per channel is enqueued in tx, so that the message leaves once, and only
// if the change commits. In the app, what to say is read back from the rows the
// transaction writes (the banner of a waiting recovery, the notice after an access
// recovery, the reminders on « Mes papiers »).
func (srv *Service) notifyOwner(ctx context.Context, tx pgx.Tx, owner uuid.UUID, n Notice) error {
	if n.What == NoticeLinkOpened {
		wanted, err := wantsLinkOpened(ctx, tx, owner)
		if err != nil || !wanted {
			return err
		}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO notices (owner_id, key, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		owner, n.Key, srv.now())
	if err != nil {
		return fmt.Errorf("notice %s: %w", n.What, err)
	}
	if tag.RowsAffected() == 0 || srv.queue == nil {
		return nil
	}
	channels, err := verifiedChannels(ctx, tx, owner)
	if err != nil {
		return fmt.Errorf("notice %s: %w", n.What, err)
	}
	for _, ch := range channels {
		if err := srv.enqueue(ctx, tx, owner, ch, n); err != nil {
			return err
		}
	}
	return nil
}

// enqueue puts the message of n to channel in the queue, inside tx.
func (srv *Service) enqueue(ctx context.Context, tx pgx.Tx, owner, channel uuid.UUID, n Notice) error {
	if srv.queue == nil {
		return nil
	}
	args := MessageArgs{Owner: owner, Channel: channel, Key: n.Key, What: n.What, At: n.At.UTC(), Detail: n.Detail, Document: n.Document}
	if _, err := srv.queue.InsertTx(ctx, tx, args, nil); err != nil {
		return fmt.Errorf("notice %s: enqueue: %w", n.What, err)
	}
	return nil
}

// NotifyTx tells owner of n by every verified channel, inside another package's
// transaction (sharing: mandates and links), once per key.
func (srv *Service) NotifyTx(ctx context.Context, tx pgx.Tx, owner uuid.UUID, n Notice) error {
	if err := srv.notifyOwner(ctx, tx, owner, n); err != nil {
		return fmt.Errorf("account: notify %s: %w", owner, err)
	}
	return nil
}

// Notify is NotifyTx in a transaction of its own, for the jobs that find what is due
// (expiry reminders, mandates ending). Several processes may run it for the same key at
// once: one of them tells the owner, the others find the key there.
func (srv *Service) Notify(ctx context.Context, owner uuid.UUID, n Notice) error {
	err := pgx.BeginFunc(ctx, srv.db, func(tx pgx.Tx) error {
		return srv.notifyOwner(ctx, tx, owner, n)
	})
	if err != nil {
		return fmt.Errorf("account: notify %s: %w", owner, err)
	}
	return nil
}

// NoticeRetention is how long a notice is remembered: longer than anything is told
// ahead (a mandate lasts at most 12 months, a paper is recalled at most 4 months ahead),
// so that no job finds an event again once it is forgotten.
const NoticeRetention = 400 * 24 * time.Hour

// PurgeNotices forgets notices older than NoticeRetention, for the purge job.
func (srv *Service) PurgeNotices(ctx context.Context) (int, error) {
	tag, err := srv.db.Exec(ctx, `DELETE FROM notices WHERE created_at < $1::timestamptz - $2::interval`, srv.now(), NoticeRetention)
	if err != nil {
		return 0, fmt.Errorf("account: purge notices: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func forgetNotices(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM notices WHERE owner_id = $1`, owner)
	return err
}

// MessageEntry is what the journal keeps of a message sent (ActionMessageSent): in the
// entry's clear detail, the kind of channel and what was told ("sms expiry"); in its
// sealed private detail, what the message named: the kind of paper (a residence permit
// tells a person's status) and a date, or who acted.
type MessageEntry struct {
	Channel ChannelKind
	What    OwnerNotice
	Kind    vault.Kind
	Date    time.Time
	Who     string
}

// Event is the journal event of m, about document doc (uuid.Nil for none), by the service.
func (m MessageEntry) Event(doc uuid.UUID) vault.Event {
	ev := vault.Event{Actor: vault.System, Action: ActionMessageSent, DocumentID: doc, Detail: string(m.Channel) + " " + string(m.What)}
	if m.Kind != "" || !m.Date.IsZero() || m.Who != "" {
		b, _ := json.Marshal(struct {
			Kind vault.Kind `json:"kind,omitempty"`
			Date time.Time  `json:"date,omitzero"`
			Who  string     `json:"who,omitempty"`
		}{m.Kind, m.Date, m.Who})
		ev.Private = string(b)
	}
	return ev
}

// ParseMessageEntry reads back what Event wrote, from an entry of ActionMessageSent
// opened by vault.Journal; false when the entry says something else.
func ParseMessageEntry(e *vault.Entry) (MessageEntry, bool) {
	_, detail := e.PersonalData()
	ch, what, ok := strings.Cut(detail, " ")
	if _, err := ParseChannelKind(ch); !ok || err != nil || what == "" || e.Action != ActionMessageSent {
		return MessageEntry{}, false
	}
	m := MessageEntry{Channel: ChannelKind(ch), What: OwnerNotice(what)}
	if e.Private != "" {
		var p struct {
			Kind vault.Kind `json:"kind"`
			Date time.Time  `json:"date"`
			Who  string     `json:"who"`
		}
		if err := json.Unmarshal([]byte(e.Private), &p); err != nil {
			return MessageEntry{}, false
		}
		m.Kind, m.Date, m.Who = p.Kind, p.Date, p.Who
	}
	return m, true
}
