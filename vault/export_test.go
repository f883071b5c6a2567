package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"time"

	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/google/uuid"
)

// Rehash recomputes the hashes of owner's chain from the stored fields, as an attacker
// with write access to the database could (triggers disabled), for tamper tests.
func Rehash(t testing.TB, v *Vault, owner uuid.UUID) {
	ctx := context.Background()
	entries, err := v.Journal(ctx, owner, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	prev := genesis
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		e.PrevHash = prev
		e.Hash = e.computeHash()
		if _, err := v.db.Exec(ctx, `UPDATE journal SET prev_hash = $3, hash = $4 WHERE owner_id = $1 AND seq = $2`, owner, e.Seq, e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	if _, err := v.db.Exec(ctx, `UPDATE journal_heads SET hash = $2 WHERE owner_id = $1`, owner, prev); err != nil {
		t.Fatal(err)
	}
}

// UploadWithoutCommit does the first half of a deposit, the upload, and stops there, as a
// process that dies before its commit would.
func UploadWithoutCommit(t testing.TB, v *Vault, owner uuid.UUID, data []byte) Blob {
	ctx := context.Background()
	id, _, err := v.ownerKeys(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.putBlob(ctx, id.Recipient(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FillJournal writes perOwner valid entries for each of owners new chains straight into
// the journal with COPY, for benchmarks of verification at scale.
func FillJournal(t testing.TB, v *Vault, owners, perOwner int) {
	ctx := context.Background()
	var rows [][]any
	var heads [][]any
	flush := func() {
		if _, err := v.db.CopyFrom(ctx, pgx.Identifier{"journal"},
			[]string{"owner_id", "seq", "at", "actor_kind", "actor_id", "action", "document_id", "personal", "personal_sha256", "prev_hash", "hash"},
			pgx.CopyFromRows(rows)); err != nil {
			t.Fatal(err)
		}
		rows = rows[:0]
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	personal := []byte(`{"ip":"192.0.2.0/24","salt":"AAAAAAAAAAAAAAAAAAAAAA=="}`)
	ps := sha256.Sum256(personal)
	for o := 0; o < owners; o++ {
		owner := uuid.New()
		prev := genesis
		for s := 1; s <= perOwner; s++ {
			e := Entry{OwnerID: owner, Seq: int64(s), At: at, ActorKind: ActorOwner, ActorID: owner.String(),
				Action: ActionView, DocumentID: uuid.NullUUID{UUID: owner, Valid: true}, Personal: personal, PersonalSHA256: ps[:], PrevHash: prev}
			e.Hash = e.computeHash()
			rows = append(rows, []any{e.OwnerID, e.Seq, e.At, e.ActorKind, e.ActorID, e.Action, e.DocumentID, e.Personal, e.PersonalSHA256, e.PrevHash, e.Hash})
			prev = e.Hash
		}
		heads = append(heads, []any{owner, int64(perOwner), prev})
		if len(rows) >= 50000 {
			flush()
		}
	}
	flush()
	if _, err := v.db.CopyFrom(ctx, pgx.Identifier{"journal_heads"}, []string{"owner_id", "seq", "hash"}, pgx.CopyFromRows(heads)); err != nil {
		t.Fatal(err)
	}
}

// SetCommitHook makes v's deposits commit through f instead of tx.Commit, so that a test
// can report an error after a commit (a connection lost during COMMIT).
func SetCommitHook(v *Vault, f func(ctx context.Context, tx pgx.Tx) error) { v.hooks.commit = f }

// SetBeforeCommitHook makes the reaper's and the purge's transactions call f just before
// they commit; an error from f rolls them back.
func SetBeforeCommitHook(v *Vault, f func(what string) error) { v.hooks.beforeCommit = f }

// ForgetBlobMACs puts the database back as it was before migration 00008 for blob rows:
// no MAC (nor header MAC, 00020) on any row, and no journal entry saying they were
// authenticated (that entry must be the last of the service's chain, so that the chain
// stays whole).
func ForgetBlobMACs(t testing.TB, v *Vault) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		for _, q := range []string{
			`ALTER TABLE blobs DROP CONSTRAINT blobs_mac_required`,
			`UPDATE blobs SET mac = NULL, header_mac = NULL`,
			`ALTER TABLE blobs ADD CONSTRAINT blobs_mac_required CHECK (mac IS NOT NULL AND length(mac) = 32) NOT VALID`,
			`ALTER TABLE journal DISABLE TRIGGER USER`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM journal WHERE owner_id = $1 AND action = $2
			AND seq = (SELECT seq FROM journal_heads WHERE owner_id = $1)`, SystemChain, ActionBlobsAuthenticated)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			t.Fatal("the service's chain does not end with the blob MAC entry")
		}
		if _, err := tx.Exec(ctx, `UPDATE journal_heads h SET seq = j.seq, hash = j.hash
			FROM journal j WHERE h.owner_id = $1 AND j.owner_id = $1 AND j.seq = h.seq - 1`, SystemChain); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `ALTER TABLE journal ENABLE TRIGGER USER`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ForgetHeaderMAC makes blob's row as it was written before migration 00020: no header
// MAC, and a row MAC computed without it.
func ForgetHeaderMAC(t testing.TB, v *Vault, owner, doc, blob uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	var b Blob
	err = v.db.QueryRow(ctx, `SELECT id, role, position, media_type, size, sha256 FROM blobs WHERE id = $1 AND document_id = $2`, blob, doc).
		Scan(&b.ID, &b.Role, &b.Position, &b.MediaType, &b.Size, &b.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.db.Exec(ctx, `UPDATE blobs SET header_mac = NULL, mac = $2 WHERE id = $1`, blob, blobMAC(dataKey, owner, doc, &b)); err != nil {
		t.Fatal(err)
	}
}

// InsertLegacyDocument writes a document the way Coffre did before migration 9: its title
// sealed, its kind in clear. Only a database not yet at migration 9 takes it.
func InsertLegacyDocument(t testing.TB, v *Vault, owner uuid.UUID, kind Kind, title string) uuid.UUID {
	ctx := context.Background()
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	sealed, err := seal(dataKey, []byte(title), titleAD(owner, id))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.db.Exec(ctx, `
		INSERT INTO documents (id, owner_id, kind, title_sealed, depositor_kind, depositor_id, created_at)
		VALUES ($1, $2, $3, $4, 'owner', $5, now())`, id, owner, kind, sealed, owner.String()); err != nil {
		t.Fatal(err)
	}
	return id
}

// SignsPayload tells whether s signs the bodies it uploads (see NewS3Store).
func SignsPayload(s *S3Store) bool { return s.signed }
