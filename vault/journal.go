package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ActorKind says who did something, for the journal.
type ActorKind string

// The kinds of actors the journal knows.
const (
	ActorOwner    ActorKind = "owner"    // the owner of the safe
	ActorAidant   ActorKind = "aidant"   // an agent of a structure, under mandate
	ActorLink     ActorKind = "link"     // someone holding a share link
	ActorClient   ActorKind = "client"   // a téléservice
	ActorOperator ActorKind = "operator" // the operator, from the command line
	ActorSystem   ActorKind = "system"   // the service itself (jobs)
	ActorVisitor  ActorKind = "visitor"  // someone not signed in: a failed sign-in names nobody
)

// Actor is who acts, and from where. ID is an opaque identifier (an owner or agent UUID,
// a link ID, a client ID): never a name.
type Actor struct {
	Kind ActorKind
	ID   string
	// IP is the client address; the journal keeps only its prefix (/24 or /48).
	IP netip.Addr
}

// System is the service itself.
var System = Actor{Kind: ActorSystem, ID: "coffre"} //nolint:gochecknoglobals // a constant value

// Action is what happened, for the journal.
type Action string

// Journal actions.
const (
	ActionOwnerCreated Action = "owner_created"
	ActionDeposit      Action = "deposit"
	ActionView         Action = "view"
	ActionDownload     Action = "download"
	ActionPrint        Action = "print"
	ActionRename       Action = "rename"
	ActionDelete       Action = "delete"
	ActionPurge        Action = "purge"
	ActionDenied       Action = "denied"    // a failed attempt: missing or someone else's document
	ActionIntegrity    Action = "integrity" // a read whose bytes did not match their SHA-256
	ActionKeyRotated   Action = "key_rotated"
	ActionKeyAdded     Action = "master_key_added"
)

// SystemChain is the owner ID of the service's own chain (operator and key operations
// that concern no single owner).
var SystemChain = uuid.Nil //nolint:gochecknoglobals // a constant value

// Entry is one line of an owner's journal.
type Entry struct {
	OwnerID    uuid.UUID
	Seq        int64
	At         time.Time
	ActorKind  ActorKind
	ActorID    string
	Action     Action
	DocumentID uuid.NullUUID
	// Personal is what retention later erases: the IP prefix and free-text detail, as
	// JSON. The chain covers only PersonalSHA256, so it verifies after erasure.
	Personal       []byte
	PersonalSHA256 []byte
	PrevHash       []byte
	Hash           []byte
	// Private is the event's private detail (Event.Private), opened with the owner's key
	// by Vault.Journal; stored only sealed, inside Personal.
	Private string
}

// Event is what a caller records; the journal adds time, sequence and hashes.
type Event struct {
	Actor      Actor
	Action     Action
	DocumentID uuid.UUID // uuid.Nil when the event concerns no document
	// Detail is free text for the owner that says nothing of their situation: a
	// structure's or agent's name, a receipt number. It is stored in clear until erasure.
	Detail string
	// Private is free text for the owner that would tell their situation, or that is
	// sealed where it comes from (a link's purpose): the journal keeps it sealed with the
	// owner's data key, so that nothing sealed elsewhere is copied in clear. Only Record
	// and RecordTx take it.
	Private string
}

// personal is the erasable part of an entry. The random salt keeps its digest from being
// guessed back (there are only 2^24 IPv4 /24 prefixes), and binds the sealed private
// detail to its entry.
type personal struct {
	IP     string `json:"ip,omitempty"`
	Detail string `json:"detail,omitempty"`
	Sealed []byte `json:"sealed,omitempty"` // Event.Private, sealed with the owner's data key
	Salt   []byte `json:"salt"`
}

func privateAD(owner uuid.UUID, salt []byte) string {
	return "journal:" + owner.String() + ":" + hex.EncodeToString(salt)
}

// IPPrefix keeps the network part of an address: /24 for IPv4, /48 for IPv6. Enough to
// tell "my home" from "abroad", not enough to point at one machine.
func IPPrefix(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	ip = ip.Unmap()
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// PersonalData returns the IP prefix and the clear detail of the entry, empty after
// erasure.
func (e *Entry) PersonalData() (ipPrefix, detail string) {
	var p personal
	if len(e.Personal) == 0 || json.Unmarshal(e.Personal, &p) != nil {
		return "", ""
	}
	return p.IP, p.Detail
}

// OwnerDetail is what the entry tells its owner beyond its action: the clear detail,
// then the private one, joined by " — " when there are both.
func (e *Entry) OwnerDetail() string {
	_, detail := e.PersonalData()
	switch {
	case e.Private == "":
		return detail
	case detail == "":
		return e.Private
	}
	return detail + " — " + e.Private
}

// openPrivate opens the sealed private detail of e, "" when it has none.
func openPrivate(dataKey []byte, e *Entry) (string, error) {
	var p personal
	if len(e.Personal) == 0 || json.Unmarshal(e.Personal, &p) != nil || len(p.Sealed) == 0 {
		return "", nil //nolint:nilerr // an entry without a well-formed sealed detail has none to show; the chain of hashes checks the entry
	}
	b, err := open(dataKey, p.Sealed, privateAD(e.OwnerID, p.Salt))
	if err != nil {
		return "", fmt.Errorf("journal entry %d: private detail: %w", e.Seq, err)
	}
	return string(b), nil
}

// canonical is the byte string the chain hashes: a fixed order of length-prefixed fields,
// so that no two different entries encode the same.
func (e *Entry) canonical() []byte {
	b := make([]byte, 0, 160)
	b = append(b, "coffre-journal-v1"...)
	b = append(b, e.OwnerID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMicro()))
	for _, s := range []string{string(e.ActorKind), e.ActorID, string(e.Action)} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	if e.DocumentID.Valid {
		b = append(b, 1)
		b = append(b, e.DocumentID.UUID[:]...)
	} else {
		b = append(b, 0)
	}
	b = append(b, e.PersonalSHA256...)
	return b
}

func (e *Entry) computeHash() []byte {
	h := sha256.New()
	h.Write(e.PrevHash)
	h.Write(e.canonical())
	return h.Sum(nil)
}

var genesis = make([]byte, sha256.Size) //nolint:gochecknoglobals // the zero hash before the first entry

// appendEntry adds an event to owner's chain inside tx. Locking the chain head serialises
// appends per owner while different owners append in parallel.
func appendEntry(ctx context.Context, tx pgx.Tx, owner uuid.UUID, ev Event) (*Entry, error) {
	return appendSealed(ctx, tx, owner, ev, nil)
}

// appendSealed is appendEntry for an event that may have a private detail, sealed with
// dataKey, the owner's data key.
func appendSealed(ctx context.Context, tx pgx.Tx, owner uuid.UUID, ev Event, dataKey []byte) (*Entry, error) {
	es, err := appendEvents(ctx, tx, owner, []Event{ev}, dataKey)
	if err != nil {
		return nil, err
	}
	return es[0], nil
}

// appendEvents adds events to owner's chain inside tx, in order, locking the chain head
// once and writing every entry in one round trip: a batch of accesses costs about what
// one does (see accessQueue).
func appendEvents(ctx context.Context, tx pgx.Tx, owner uuid.UUID, evs []Event, dataKey []byte) ([]*Entry, error) {
	es := make([]*Entry, len(evs))
	for i, ev := range evs {
		e, err := newEntry(owner, ev, dataKey)
		if err != nil {
			return nil, err
		}
		es[i] = e
	}
	var seq int64
	var prev []byte
	err := tx.QueryRow(ctx, lockHead, owner).Scan(&seq, &prev)
	if errors.Is(err, pgx.ErrNoRows) {
		// First entry of this chain. Two first appends may race: ON CONFLICT makes one
		// of them wait, then both lock the row and go on in turn.
		if _, err := tx.Exec(ctx, `INSERT INTO journal_heads (owner_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING`, owner, genesis); err != nil {
			return nil, fmt.Errorf("journal: create chain: %w", err)
		}
		err = tx.QueryRow(ctx, lockHead, owner).Scan(&seq, &prev)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: lock chain: %w", err)
	}
	b := &pgx.Batch{}
	queueEntries(b, owner, es, seq, prev)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("journal: append: %w", err)
	}
	return es, nil
}

// lockHead is the statement that locks owner's chain head and reads it (seq, hash).
const lockHead = `SELECT seq, hash FROM journal_heads WHERE owner_id = $1 FOR UPDATE`

// queueEntries chains es after the head (seq, prev) of owner's chain, locked, and queues
// their rows and the new head in b.
func queueEntries(b *pgx.Batch, owner uuid.UUID, es []*Entry, seq int64, prev []byte) {
	for _, e := range es {
		seq++
		e.Seq, e.PrevHash = seq, prev
		e.Hash = e.computeHash()
		prev = e.Hash
		b.Queue(`INSERT INTO journal (owner_id, seq, at, actor_kind, actor_id, action, document_id, personal, personal_sha256, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			e.OwnerID, e.Seq, e.At, e.ActorKind, e.ActorID, e.Action, e.DocumentID, e.Personal, e.PersonalSHA256, e.PrevHash, e.Hash)
	}
	b.Queue(`UPDATE journal_heads SET seq = $2, hash = $3 WHERE owner_id = $1`, owner, seq, prev)
}

// markCheckpointed records that the heads of owners' chains are in a checkpoint.
func markCheckpointed(ctx context.Context, tx pgx.Tx, owners []uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE journal_heads SET checkpointed_seq = seq WHERE owner_id = ANY($1)`, owners)
	return err
}

// CheckWritable checks that db accepts writes: it is neither a standby nor in a
// read-only transaction mode, so a deposit would not fail at its commit.
func CheckWritable(ctx context.Context, db *pgxpool.Pool) error {
	// An UPDATE that touches no row: PostgreSQL refuses it in a read-only transaction
	// or on a standby before looking for rows, and it writes nothing.
	_, err := db.Exec(ctx, `UPDATE journal_heads SET seq = seq WHERE false`)
	return err
}

// newEntry is ev as an entry of owner's chain, before its place in the chain is known.
func newEntry(owner uuid.UUID, ev Event, dataKey []byte) (*Entry, error) {
	e := &Entry{
		OwnerID:   owner,
		At:        time.Now().UTC().Truncate(time.Microsecond),
		ActorKind: ev.Actor.Kind,
		ActorID:   ev.Actor.ID,
		Action:    ev.Action,
	}
	if ev.DocumentID != uuid.Nil {
		e.DocumentID = uuid.NullUUID{UUID: ev.DocumentID, Valid: true}
	}
	p := personal{IP: IPPrefix(ev.Actor.IP), Detail: ev.Detail, Salt: make([]byte, 16)}
	if _, err := rand.Read(p.Salt); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var err error
	if ev.Private != "" {
		if dataKey == nil {
			return nil, errors.New("journal: a private detail needs the owner's key")
		}
		if p.Sealed, err = seal(dataKey, []byte(ev.Private), privateAD(owner, p.Salt)); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		e.Private = ev.Private
	}
	if e.Personal, err = json.Marshal(p); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	sum := sha256.Sum256(e.Personal)
	e.PersonalSHA256 = sum[:]
	return e, nil
}

// Record appends one event to owner's journal in its own transaction.
func (v *Vault) Record(ctx context.Context, owner uuid.UUID, ev Event) error {
	dataKey, err := v.privateKey(ctx, owner, ev)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		_, err := appendSealed(ctx, tx, owner, ev, dataKey)
		return err
	})
}

// privateKey returns the owner's data key when ev has a private detail to seal.
func (v *Vault) privateKey(ctx context.Context, owner uuid.UUID, ev Event) ([]byte, error) {
	if ev.Private == "" {
		return nil, nil
	}
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return dataKey, nil
}

// Journal returns owner's entries, newest first, at most limit of them, starting below
// sequence number before (0 for the newest).
func (v *Vault) Journal(ctx context.Context, owner uuid.UUID, before int64, limit int) ([]Entry, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := v.db.Query(ctx, `
		SELECT owner_id, seq, at, actor_kind, actor_id, action, document_id, personal, personal_sha256, prev_hash, hash
		FROM journal WHERE owner_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, owner, before, limit)
	if err != nil {
		return nil, fmt.Errorf("journal: list %s: %w", owner, err)
	}
	entries, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return nil, fmt.Errorf("journal: list %s: %w", owner, err)
	}
	var dataKey []byte
	for i := range entries {
		e := &entries[i]
		// Only entries with a private detail need the key (the service's chain has none);
		// inside a JSON string the quotes would be escaped, so this finds the key only.
		if !bytes.Contains(e.Personal, []byte(`"sealed":`)) {
			continue
		}
		if dataKey == nil {
			if _, dataKey, err = v.ownerKeys(ctx, owner); err != nil {
				return nil, fmt.Errorf("journal: list %s: %w", owner, err)
			}
		}
		if e.Private, err = openPrivate(dataKey, e); err != nil {
			return nil, fmt.Errorf("journal: list %s: %w", owner, err)
		}
	}
	return entries, nil
}

func scanEntry(row pgx.CollectableRow) (Entry, error) {
	var e Entry
	err := row.Scan(&e.OwnerID, &e.Seq, &e.At, &e.ActorKind, &e.ActorID, &e.Action, &e.DocumentID,
		&e.Personal, &e.PersonalSHA256, &e.PrevHash, &e.Hash)
	e.At = e.At.UTC()
	return e, err
}

// AidantActionsByMonth counts the journal entries of action by the agents (by actor ID),
// per calendar month from the month of from to the month of to, oldest first: a
// structure's figures, no names, no documents (journal_aidant_idx).
func (v *Vault) AidantActionsByMonth(ctx context.Context, agents []string, action Action, from, to time.Time) ([]int, error) {
	n, err := CountByMonth(ctx, v.db, `SELECT (SELECT count(*) FROM journal j WHERE j.actor_kind = 'aidant' AND j.actor_id = ANY($3)
		AND j.action = $4 AND j.at >= months.start AND j.at < months.stop) FROM months ORDER BY months.start`, from, to, agents, action)
	if err != nil {
		return nil, fmt.Errorf("vault: aidant actions by month: %w", err)
	}
	return n, nil
}

// hasEntry says whether owner's chain has an entry of action.
func hasEntry(ctx context.Context, q dbtx, owner uuid.UUID, action Action) (bool, error) {
	var done bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM journal WHERE owner_id = $1 AND action = $2)`, owner, action).Scan(&done)
	return done, err
}

// forgetPersonal deletes, inside tx, the private details of owner's entries; their
// hashes (personal_sha256) stay, so the chain still verifies.
func forgetPersonal(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE journal SET personal = NULL WHERE owner_id = $1 AND personal IS NOT NULL`, owner)
	return err
}

// entryRowsUpTo queries, inside tx, owner's entries up to seq, oldest first (scanEntry's columns).
func entryRowsUpTo(ctx context.Context, tx pgx.Tx, owner uuid.UUID, seq int64) (pgx.Rows, error) {
	return tx.Query(ctx, `
		SELECT owner_id, seq, at, actor_kind, actor_id, action, document_id, personal, personal_sha256, prev_hash, hash
		FROM journal WHERE owner_id = $1 AND seq <= $2 ORDER BY seq`, owner, seq)
}

// chainFilter keeps only owner's chain, or every chain when owner is nil.
func chainFilter(owner *uuid.UUID) (string, []any) {
	if owner == nil {
		return "", []any{}
	}
	return " WHERE owner_id = $1", []any{*owner}
}

// headRows queries the head (owner_id, seq, hash) of every chain, or only of owner's
// when owner is not nil.
func headRows(ctx context.Context, q dbtx, owner *uuid.UUID) (pgx.Rows, error) {
	filter, args := chainFilter(owner)
	return q.Query(ctx, `SELECT owner_id, seq, hash FROM journal_heads`+filter, args...)
}

// chainRows queries every entry (scanEntry's columns) by chain and in order, or only
// owner's chain when owner is not nil.
func chainRows(ctx context.Context, q dbtx, owner *uuid.UUID) (pgx.Rows, error) {
	filter, args := chainFilter(owner)
	return q.Query(ctx, `
		SELECT owner_id, seq, at, actor_kind, actor_id, action, document_id, personal, personal_sha256, prev_hash, hash
		FROM journal`+filter+` ORDER BY owner_id, seq`, args...)
}

// movedHeadRows queries and locks, inside tx, the heads (owner_id, seq, hash) of the
// chains that moved since their last checkpoint.
func movedHeadRows(ctx context.Context, tx pgx.Tx) (pgx.Rows, error) {
	return tx.Query(ctx, `SELECT owner_id, seq, hash FROM journal_heads WHERE seq > checkpointed_seq ORDER BY owner_id FOR UPDATE`)
}

// headOf reads the head (seq, hash) of owner's chain.
func headOf(ctx context.Context, q dbtx, owner uuid.UUID) pgx.Row {
	return q.QueryRow(ctx, `SELECT seq, hash FROM journal_heads WHERE owner_id = $1`, owner)
}
