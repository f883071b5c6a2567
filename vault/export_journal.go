package vault

import (
	"bufio"
	"bytes"
	"context"
	_ "embed" // the manifest's JSON Schema
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// JournalLine is one line of journal.jsonl: every field the chain covers, binary values
// in hexadecimal (personal in base64, null once erased), plus a readable copy of the
// personal part.
type JournalLine struct {
	OwnerID        uuid.UUID  `json:"owner_id"`
	Seq            int64      `json:"seq"`
	At             string     `json:"at"` // RFC 3339, microseconds
	ActorKind      ActorKind  `json:"actor_kind"`
	ActorID        string     `json:"actor_id"`
	Action         Action     `json:"action"`
	DocumentID     *uuid.UUID `json:"document_id"`
	Personal       []byte     `json:"personal"`
	PersonalSHA256 string     `json:"personal_sha256"`
	PrevHash       string     `json:"prev_hash"`
	Hash           string     `json:"hash"`
	// IPPrefix and Detail repeat what Personal holds, for a human reader.
	IPPrefix string `json:"ip_prefix,omitempty"`
	Detail   string `json:"detail,omitempty"`
	// Private is the private detail (a link's purpose), which Personal holds sealed with
	// the owner's key, opened for its owner. The chain covers it only sealed:
	// VerifyExportedJournal cannot check it.
	Private string `json:"private,omitempty"`
}

func journalLine(e *Entry) JournalLine {
	l := JournalLine{
		OwnerID: e.OwnerID, Seq: e.Seq, At: e.At.UTC().Format(timeFormat),
		ActorKind: e.ActorKind, ActorID: e.ActorID, Action: e.Action, Personal: e.Personal,
		PersonalSHA256: hex.EncodeToString(e.PersonalSHA256),
		PrevHash:       hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
	}
	if e.DocumentID.Valid {
		id := e.DocumentID.UUID
		l.DocumentID = &id
	}
	l.IPPrefix, l.Detail = e.PersonalData()
	return l
}

// writeJournal streams the owner's chain up to the snapshot's head: entries are never
// changed once written, so the rows stream without being held in memory.
func writeJournal(ctx context.Context, tx pgx.Tx, w io.Writer, s *snapshot) error {
	rows, err := entryRowsUpTo(ctx, tx, s.owner, s.headSeq)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var e Entry
	_, err = pgx.ForEachRow(rows, []any{&e.OwnerID, &e.Seq, &e.At, &e.ActorKind, &e.ActorID, &e.Action, &e.DocumentID,
		&e.Personal, &e.PersonalSHA256, &e.PrevHash, &e.Hash}, func() error {
		l := journalLine(&e)
		var err error
		if l.Private, err = openPrivate(s.dataKey, &e); err != nil {
			return err
		}
		return enc.Encode(l)
	})
	return err
}

// VerifyExportedJournal recomputes the hash chain of a journal.jsonl from the file alone:
// sequence numbers from 1 without gaps, each entry linked to the one before, each hash
// recomputed with the journal's canonical encoding, each personal part matching its
// digest (an erased one is null). It names the first line that fails.
func VerifyExportedJournal(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prev := genesis
	var owner uuid.UUID
	line := 0
	for sc.Scan() {
		line++
		var l JournalLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return fmt.Errorf("journal line %d: %w", line, err)
		}
		e, err := l.entry()
		if err != nil {
			return fmt.Errorf("journal line %d: %w", line, err)
		}
		if line == 1 {
			owner = e.OwnerID
		}
		switch {
		case e.OwnerID != owner:
			return fmt.Errorf("journal line %d: entry of another owner %s", line, e.OwnerID)
		case e.Seq != int64(line):
			return fmt.Errorf("journal line %d: sequence number %d, expected %d (entries removed?)", line, e.Seq, line)
		case !bytes.Equal(e.PrevHash, prev):
			return fmt.Errorf("journal line %d: previous hash does not match the entry before it", line)
		case !bytes.Equal(e.computeHash(), e.Hash):
			return fmt.Errorf("journal line %d: hash does not match the entry's contents (entry altered)", line)
		case e.Personal != nil && !personalMatches(*e):
			return fmt.Errorf("journal line %d: personal data does not match its digest (altered)", line)
		}
		if ip, detail := e.PersonalData(); ip != l.IPPrefix || detail != l.Detail {
			return fmt.Errorf("journal line %d: ip_prefix or detail differs from the personal data", line)
		}
		prev = e.Hash
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("journal line %d: %w", line+1, err)
	}
	if line == 0 {
		return errors.New("journal: no entry")
	}
	return nil
}

func (l *JournalLine) entry() (*Entry, error) {
	at, err := time.Parse(time.RFC3339Nano, l.At)
	if err != nil {
		return nil, fmt.Errorf("at: %w", err)
	}
	e := &Entry{OwnerID: l.OwnerID, Seq: l.Seq, At: at, ActorKind: l.ActorKind, ActorID: l.ActorID, Action: l.Action, Personal: l.Personal}
	if l.DocumentID != nil {
		e.DocumentID = uuid.NullUUID{UUID: *l.DocumentID, Valid: true}
	}
	for _, f := range []struct {
		dst *[]byte
		hex string
	}{{&e.PersonalSHA256, l.PersonalSHA256}, {&e.PrevHash, l.PrevHash}, {&e.Hash, l.Hash}} {
		b, err := hex.DecodeString(f.hex)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("malformed hash %q", f.hex)
		}
		*f.dst = b
	}
	return e, nil
}

// ExportedCheckpoint is journal-checkpoint.json: the latest signed checkpoint that covers
// the owner's chain, and the owner's head it signed. The digest covers the heads of every
// chain that moved since the checkpoint before; only the owner's own head is given, so
// the signature can be checked offline, and the binding of the head to the digest with
// 'coffre journal verify' on the service.
type ExportedCheckpoint struct {
	ID         int64  `json:"id"`
	At         string `json:"at"`
	Chains     int64  `json:"chains"`
	PrevDigest string `json:"prev_digest"`
	Digest     string `json:"digest"`
	PublicKey  string `json:"public_key"` // Ed25519
	Signature  string `json:"signature"`  // Ed25519 over the digest bytes
	OwnerHead  struct {
		OwnerID uuid.UUID `json:"owner_id"`
		Seq     int64     `json:"seq"`
		Hash    string    `json:"hash"`
	} `json:"owner_head"`
}

// maxNameBytes caps a sanitised name, so that a path stays well under the 255-byte limit
// of common file systems.
