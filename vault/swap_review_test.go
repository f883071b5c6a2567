package vault_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"coffre/vault"

	"github.com/google/uuid"
)

// TestSwappedObjectRefusedBeforeAnyByte: another of the owner's papers copied over a
// blob's object decrypts under the owner's key, and only its SHA-256 at the end tells it
// apart; a paper of another length is refused before a single byte of it is given, so
// that whoever may read one paper (a service, a link) is not served another.
//
// One of the same length is refused by its age header's MAC, which the row records: it
// is unique to each object, so nothing of a paper of any length is given.
func TestSwappedObjectRefusedBeforeAnyByte(t *testing.T) {
	t.Parallel()
	t.Run("another length", func(t *testing.T) {
		t.Parallel()
		swapAndRead(t, bytes.Repeat([]byte("quittance "), 200<<10), bytes.Repeat([]byte("revenu fiscal "), 150<<10))
	})
	t.Run("same length, within a block", func(t *testing.T) {
		t.Parallel()
		swapAndRead(t, bytes.Repeat([]byte("quittance "), 20000), bytes.Repeat([]byte("QUITTANCE "), 20000))
	})
	t.Run("same length, several blocks", func(t *testing.T) {
		t.Parallel()
		swapAndRead(t, bytes.Repeat([]byte("quittance "), 100<<10), bytes.Repeat([]byte("QUITTANCE "), 100<<10))
	})
}

func swapAndRead(t *testing.T, askedData, otherData []byte) {
	t.Helper()
	b := setup(t)
	owner, by := b.owner(t)
	asked := b.deposit(t, owner, by, "Quittance", askedData)
	other := b.deposit(t, owner, by, "Avis d'imposition", otherData)
	b.copyObject(t, other.Blobs[0].ID, asked.Blobs[0].ID)
	b.refusedBeforeAnyByte(t, owner, by, asked)
}

// refusedBeforeAnyByte reads d, whose object was swapped for another paper's, and fails
// t unless the read is refused as ErrIntegrity before a single byte, and journaled as
// the owner's one integrity failure.
func (b *testBundle) refusedBeforeAnyByte(t *testing.T, owner uuid.UUID, by vault.Actor, d *vault.Document) {
	t.Helper()
	given, err := b.read(t, owner, by, d)
	if !errors.Is(err, vault.ErrIntegrity) || len(given) > 0 {
		t.Fatalf("swapped object read: %d bytes of another paper, then %v; want ErrIntegrity before any", len(given), err)
	}
	if integrity := b.integrityFailures(t, owner); integrity != 1 {
		t.Fatalf("journal has %d integrity failures, want 1", integrity)
	}
}

// TestHeaderMACRoundTrip: a deposit records its object's header MAC, and the object reads
// back whole through its check, at the sizes where age's chunks begin and end.
func TestHeaderMACRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	for _, n := range []int{0, 1, 64 << 10, 64<<10 + 1, 1 << 20} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*7 + n)
		}
		d := b.deposit(t, owner, by, "Quittance", data)
		var mac []byte
		if err := b.db.QueryRow(ctx, `SELECT header_mac FROM blobs WHERE id = $1`, d.Blobs[0].ID).Scan(&mac); err != nil {
			t.Fatal(err)
		}
		if len(mac) != 32 {
			t.Fatalf("%d bytes: header MAC of %d bytes recorded, want 32", n, len(mac))
		}
		got, err := b.read(t, owner, by, d)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read back %d bytes that differ", n, len(got))
		}
	}
}

// TestRowWithoutHeaderMAC: a blob row written before header MACs (none, and a row MAC
// without it) is still listed and read; the object's SHA-256 is then its only check, as
// before.
func TestRowWithoutHeaderMAC(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	data := bytes.Repeat([]byte("attestation CAF "), 30<<10)
	d := b.deposit(t, owner, by, "Attestation", data)
	vault.ForgetHeaderMAC(t, b.v, owner, d.ID, d.Blobs[0].ID)
	if _, err := b.v.Document(ctx, owner, d.ID, by); err != nil {
		t.Fatalf("document: %v", err)
	}
	got, err := b.read(t, owner, by, d)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	// Its object swapped for another of the same length, it fails at the end, as before.
	other := b.deposit(t, owner, by, "Autre", bytes.Repeat([]byte("ATTESTATION CAF "), 30<<10))
	b.copyObject(t, other.Blobs[0].ID, d.Blobs[0].ID)
	if _, err := b.read(t, owner, by, d); !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("swapped object of an old row: %v, want ErrIntegrity", err)
	}
}

// TestRowWithoutHeaderMACGivesNothingOfAnother: an old row's object swapped for another
// of the same length gives no byte of it while the stream is within its first block's
// worth of chunks: the first blocks of a read are small, so they are held back until
// there are four chunks, or the whole paper has matched its SHA-256. (A review found 64
// and 192 KiB of the other paper given for papers of 100 to 250 KiB.)
func TestRowWithoutHeaderMACGivesNothingOfAnother(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1000, 100 << 10, 200 << 10, 250 << 10, 256 << 10} {
		b := setup(t)
		owner, by := b.owner(t)
		d := b.deposit(t, owner, by, "Quittance", bytes.Repeat([]byte("q"), n))
		vault.ForgetHeaderMAC(t, b.v, owner, d.ID, d.Blobs[0].ID)
		other := b.deposit(t, owner, by, "Avis d'imposition", bytes.Repeat([]byte("S"), n))
		b.copyObject(t, other.Blobs[0].ID, d.Blobs[0].ID)
		b.refusedBeforeAnyByte(t, owner, by, d)
	}
}

// copyObject puts a copy of the object of blob from over the object of blob to, as someone
// who can write to the bucket but not to the database would.
func (b *testBundle) copyObject(t *testing.T, from, to uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	src, err := b.store.Get(ctx, from.String())
	if err != nil {
		t.Fatal(err)
	}
	ct, err := io.ReadAll(src)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.Put(ctx, to.String(), bytes.NewReader(ct), int64(len(ct))); err != nil {
		t.Fatal(err)
	}
}

// integrityFailures counts the integrity failures in owner's journal.
func (b *testBundle) integrityFailures(t *testing.T, owner uuid.UUID) int {
	t.Helper()
	n := 0
	for _, a := range b.actions(t, owner) {
		if a == vault.ActionIntegrity {
			n++
		}
	}
	return n
}
