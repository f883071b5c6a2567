package vault

import (
	"bytes"
	"context"
	"testing"

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
