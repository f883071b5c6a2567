package vault

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// GenerateSigningKey writes a new Ed25519 service key (PKCS #8 PEM, mode 0600) at path. It
// refuses to overwrite an existing file.
func GenerateSigningKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return pub, nil
}

// LoadSigningKey reads an Ed25519 service key written by GenerateSigningKey.
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key: %s is not a PEM private key", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key: %s is not an Ed25519 key", path)
	}
	return priv, nil
}

// Checkpoint is a signed statement of chain heads.
type Checkpoint struct {
	ID        int64
	At        time.Time
	Chains    int64
	Digest    []byte
	Signature []byte
}

type head struct {
	owner uuid.UUID
	seq   int64
	hash  []byte
}

func checkpointDigest(prev []byte, at time.Time, heads []head) []byte {
	h := sha256.New()
	h.Write([]byte("coffre-checkpoint-v1"))
	h.Write(prev)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(at.UnixMicro())))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(heads))))
	for _, hd := range heads {
		h.Write(hd.owner[:])
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(hd.seq)))
		h.Write(hd.hash)
	}
	return h.Sum(nil)
}

// Checkpoint signs the heads of every chain that moved since the last checkpoint. It
// returns nil when nothing moved. Checkpoints from several processes are serialised.
func (v *Vault) Checkpoint(ctx context.Context, key ed25519.PrivateKey) (*Checkpoint, error) {
	var cp *Checkpoint
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('coffre-journal-checkpoint'))`); err != nil {
			return err
		}
		prev, err := lastCheckpointDigest(ctx, tx)
		if err != nil {
			return err
		}
		rows, err := movedHeadRows(ctx, tx)
		if err != nil {
			return err
		}
		heads, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (head, error) {
			var h head
			return h, row.Scan(&h.owner, &h.seq, &h.hash)
		})
		if err != nil || len(heads) == 0 {
			return err
		}
		at := v.now().UTC().Truncate(time.Microsecond)
		digest := checkpointDigest(prev, at, heads)
		cp = &Checkpoint{At: at, Chains: int64(len(heads)), Digest: digest, Signature: ed25519.Sign(key, digest)}
		if err := insertCheckpoint(ctx, tx, cp, prev, key.Public().(ed25519.PublicKey)); err != nil {
			return err
		}
		if err := insertCheckpointHeads(ctx, tx, cp.ID, heads); err != nil {
			return err
		}
		owners := make([]uuid.UUID, len(heads))
		for i, h := range heads {
			owners[i] = h.owner
		}
		return markCheckpointed(ctx, tx, owners)
	})
	if err != nil {
		return nil, fmt.Errorf("vault: checkpoint: %w", err)
	}
	return cp, nil
}

// Break names the first entry of a chain, or the checkpoint, that fails verification.
type Break struct {
	OwnerID    uuid.UUID
	Seq        int64
	Checkpoint int64 // non-zero when a checkpoint is at fault
	Reason     string
}

func (b Break) String() string {
	if b.Checkpoint != 0 {
		return fmt.Sprintf("checkpoint %d: %s", b.Checkpoint, b.Reason)
	}
	return fmt.Sprintf("owner %s, entry %d: %s", b.OwnerID, b.Seq, b.Reason)
}

// VerifyReport is the result of VerifyJournal.
type VerifyReport struct {
	Chains, Entries, Checkpoints int64
	Breaks                       []Break // empty when everything verifies
}

// VerifyJournal checks every chain (sequence, links, hashes, personal digests, heads) and
// every checkpoint (digest chain, signature by pub, heads still present in the journal).
// For each broken chain it names the first broken entry.
func (v *Vault) VerifyJournal(ctx context.Context, pub ed25519.PublicKey) (*VerifyReport, error) {
	rep := &VerifyReport{}
	if err := v.verifyChains(ctx, rep, nil); err != nil {
		return nil, fmt.Errorf("vault: verify journal: %w", err)
	}
	if err := v.verifyCheckpoints(ctx, pub, rep); err != nil {
		return nil, fmt.Errorf("vault: verify journal: %w", err)
	}
	return rep, nil
}

// VerifyOwnerJournal checks one owner's chain (sequence, links, hashes, personal digests,
// head), reading only that owner's entries: what an operator runs when a person questions
// their history, in a time that does not grow with the number of safes. The checkpoints
// are left to VerifyJournal.
func (v *Vault) VerifyOwnerJournal(ctx context.Context, owner uuid.UUID) (*VerifyReport, error) {
	rep := &VerifyReport{}
	if err := v.verifyChains(ctx, rep, &owner); err != nil {
		return nil, fmt.Errorf("vault: verify journal of %s: %w", owner, err)
	}
	return rep, nil
}

// verifyChains checks every chain, or only the owner's when owner is not nil.
func (v *Vault) verifyChains(ctx context.Context, rep *VerifyReport, owner *uuid.UUID) error {
	heads := map[uuid.UUID]head{}
	rows, err := headRows(ctx, v.db, owner)
	if err != nil {
		return err
	}
	var h head
	if _, err := pgx.ForEachRow(rows, []any{&h.owner, &h.seq, &h.hash}, func() error {
		heads[h.owner] = h
		return nil
	}); err != nil {
		return err
	}

	rows, err = chainRows(ctx, v.db, owner)
	if err != nil {
		return err
	}
	var (
		e        Entry
		cur      uuid.UUID
		started  bool
		broken   bool
		wantSeq  int64
		wantPrev []byte
	)
	endChain := func() {
		if !started {
			return
		}
		rep.Chains++
		hd, ok := heads[cur]
		delete(heads, cur)
		if !broken && (!ok || hd.seq != wantSeq-1 || !bytes.Equal(hd.hash, wantPrev)) {
			rep.Breaks = append(rep.Breaks, Break{OwnerID: cur, Seq: wantSeq, Reason: "chain head does not match the last entry (entries removed?)"})
		}
	}
	_, err = pgx.ForEachRow(rows, []any{&e.OwnerID, &e.Seq, &e.At, &e.ActorKind, &e.ActorID, &e.Action, &e.DocumentID,
		&e.Personal, &e.PersonalSHA256, &e.PrevHash, &e.Hash}, func() error {
		rep.Entries++
		if !started || e.OwnerID != cur {
			endChain()
			cur, started, broken, wantSeq, wantPrev = e.OwnerID, true, false, 1, genesis
		}
		if broken {
			return nil
		}
		fail := func(reason string) {
			rep.Breaks = append(rep.Breaks, Break{OwnerID: e.OwnerID, Seq: e.Seq, Reason: reason})
			broken = true
		}
		switch {
		case e.Seq != wantSeq:
			fail(fmt.Sprintf("sequence jumps from %d to %d (entries removed?)", wantSeq-1, e.Seq))
		case !bytes.Equal(e.PrevHash, wantPrev):
			fail("previous hash does not match the entry before it")
		case !bytes.Equal(e.computeHash(), e.Hash):
			fail("hash does not match the entry's contents (entry altered)")
		case e.Personal != nil && !personalMatches(e):
			fail("personal data does not match its digest (altered)")
		}
		wantSeq, wantPrev = e.Seq+1, bytes.Clone(e.Hash)
		return nil
	})
	if err != nil {
		return err
	}
	endChain()
	for owner, hd := range heads {
		if hd.seq > 0 {
			rep.Breaks = append(rep.Breaks, Break{OwnerID: owner, Seq: 1, Reason: "chain head exists but its entries are missing"})
		}
	}
	return nil
}

func personalMatches(e Entry) bool {
	sum := sha256.Sum256(e.Personal)
	return bytes.Equal(sum[:], e.PersonalSHA256)
}

func (v *Vault) verifyCheckpoints(ctx context.Context, pub ed25519.PublicKey, rep *VerifyReport) error {
	rows, err := checkpointRows(ctx, v.db)
	if err != nil {
		return err
	}
	type cpRow struct {
		Checkpoint
		prev, pub []byte
	}
	cps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (cpRow, error) {
		var c cpRow
		return c, row.Scan(&c.ID, &c.At, &c.Chains, &c.prev, &c.Digest, &c.pub, &c.Signature)
	})
	if err != nil {
		return err
	}
	prev := genesis
	for _, c := range cps {
		rep.Checkpoints++
		fail := func(reason string) { rep.Breaks = append(rep.Breaks, Break{Checkpoint: c.ID, Reason: reason}) }
		heads, err := checkpointHeads(ctx, v.db, c.ID)
		if err != nil {
			return err
		}
		digest := checkpointDigest(prev, c.At, heads)
		switch {
		case !bytes.Equal(c.prev, prev):
			fail("does not follow the previous checkpoint")
		case !bytes.Equal(digest, c.Digest) || int64(len(heads)) != c.Chains:
			fail("its heads do not match its digest")
		case pub != nil && !bytes.Equal(c.pub, pub):
			fail("signed by another key than the service key")
		case !ed25519.Verify(c.pub, c.Digest, c.Signature):
			fail("signature does not verify")
		}
		prev = c.Digest
	}
	// Each signed head must still be in the journal, with the same hash: otherwise
	// someone rewrote a chain and recomputed its hashes.
	rows, err = rewrittenHeadRows(ctx, v.db)
	if err != nil {
		return err
	}
	var id, seq int64
	var owner uuid.UUID
	_, err = pgx.ForEachRow(rows, []any{&id, &owner, &seq}, func() error {
		rep.Breaks = append(rep.Breaks, Break{Checkpoint: id, OwnerID: owner, Seq: seq,
			Reason: fmt.Sprintf("signed head of owner %s, entry %d, is no longer in the journal (chain rewritten)", owner, seq)})
		return nil
	})
	return err
}
