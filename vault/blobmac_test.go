package vault_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"filippo.io/age"
	"github.com/google/uuid"

	"coffre/vault"
)

// forge writes, under key, a valid ciphertext of data for owner, as anyone who can write
// to the bucket can (the owner's recipient is public), and returns its SHA-256.
func (b *testBundle) forge(t *testing.T, owner uuid.UUID, key string, data []byte) []byte {
	t.Helper()
	ctx := context.Background()
	o, err := b.v.Owner(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := age.ParseX25519Recipient(o.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, err := age.Encrypt(&ct, rcpt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.store.Put(ctx, key, &ct, int64(ct.Len())); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return sum[:]
}

func (b *testBundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

// Someone who can write to the database and the bucket, but holds no key, substitutes a
// file by editing blob rows: every read of the row, and every listing a receipt could be
// signed from, refuses it and journals an integrity failure.
func TestBlobRowSubstitution(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	paper := func(title string) *vault.Document {
		t.Helper()
		d, err := b.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindImpots, Title: title, Files: []vault.File{
			{Role: vault.RoleOriginal, MediaType: "image/jpeg", Body: bytes.NewReader([]byte("photo " + title)), Size: -1},
			{Role: vault.RoleRendition, MediaType: "application/pdf", Body: bytes.NewReader([]byte("%PDF page 1 " + title)), Size: -1},
			{Role: vault.RoleRendition, MediaType: "application/pdf", Body: bytes.NewReader([]byte("%PDF page 2 " + title)), Size: -1},
			{Role: vault.RoleThumbnail, MediaType: "image/jpeg", Body: bytes.NewReader([]byte("thumb " + title)), Size: -1},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	fake := []byte("Avis d'imposition : revenu fiscal de référence 0 €")
	for _, tc := range []struct {
		name string
		// tamper edits the database (and maybe the bucket); it returns the document and
		// blob to read afterwards.
		tamper func(d, other *vault.Document) (doc, blob uuid.UUID)
	}{
		{"row pointed at another object", func(d, _ *vault.Document) (uuid.UUID, uuid.UUID) {
			key := uuid.New()
			sum := b.forge(t, owner, key.String(), fake)
			b.exec(t, `UPDATE blobs SET id = $2, sha256 = $3, size = $4 WHERE id = $1`, d.Blobs[1].ID, key, sum, len(fake))
			return d.ID, key
		}},
		{"row pointed at another blob of the owner", func(d, other *vault.Document) (uuid.UUID, uuid.UUID) {
			src := other.Blobs[1]
			b.exec(t, `DELETE FROM blobs WHERE id = $1`, d.Blobs[1].ID)
			b.exec(t, `INSERT INTO blobs (id, document_id, owner_id, role, position, media_type, size, sha256, created_at, mac)
				SELECT $2, $3, owner_id, role, position, media_type, size, sha256, created_at, mac FROM blobs WHERE id = $1`,
				src.ID, uuid.New(), d.ID)
			b.exec(t, `UPDATE blobs SET id = $1 WHERE document_id = $2 AND role = 'rendition' AND position = 0`, d.Blobs[1].ID, d.ID)
			// Its object now holds the other document's file.
			r, err := b.store.Get(ctx, src.ID.String())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ct, _ := io.ReadAll(r)
			if err := b.store.Put(ctx, d.Blobs[1].ID.String(), bytes.NewReader(ct), int64(len(ct))); err != nil {
				t.Fatal(err)
			}
			return d.ID, d.Blobs[1].ID
		}},
		{"sha256 and size changed together", func(d, _ *vault.Document) (uuid.UUID, uuid.UUID) {
			sum := b.forge(t, owner, d.Blobs[1].ID.String(), fake)
			b.exec(t, `UPDATE blobs SET sha256 = $2, size = $3 WHERE id = $1`, d.Blobs[1].ID, sum, len(fake))
			return d.ID, d.Blobs[1].ID
		}},
		{"roles swapped", func(d, _ *vault.Document) (uuid.UUID, uuid.UUID) {
			b.exec(t, `UPDATE blobs SET position = 99 WHERE id = $1`, d.Blobs[0].ID)
			b.exec(t, `UPDATE blobs SET role = 'original' WHERE id = $1`, d.Blobs[1].ID)
			b.exec(t, `UPDATE blobs SET role = 'rendition', position = 0 WHERE id = $1`, d.Blobs[0].ID)
			return d.ID, d.Blobs[0].ID
		}},
		{"pages swapped", func(d, _ *vault.Document) (uuid.UUID, uuid.UUID) {
			b.exec(t, `UPDATE blobs SET position = 99 WHERE id = $1`, d.Blobs[1].ID)
			b.exec(t, `UPDATE blobs SET position = 0 WHERE id = $1`, d.Blobs[2].ID)
			b.exec(t, `UPDATE blobs SET position = 1 WHERE id = $1`, d.Blobs[1].ID)
			return d.ID, d.Blobs[2].ID
		}},
		{"media type changed", func(d, _ *vault.Document) (uuid.UUID, uuid.UUID) {
			b.exec(t, `UPDATE blobs SET media_type = 'text/html' WHERE id = $1`, d.Blobs[1].ID)
			return d.ID, d.Blobs[1].ID
		}},
		{"blob moved to another document", func(d, other *vault.Document) (uuid.UUID, uuid.UUID) {
			b.exec(t, `DELETE FROM blobs WHERE id = $1`, other.Blobs[1].ID)
			b.exec(t, `UPDATE blobs SET document_id = $2 WHERE id = $1`, d.Blobs[1].ID, other.ID)
			return other.ID, d.Blobs[1].ID
		}},
		{"header MAC altered", func(d, _ *vault.Document) (uuid.UUID, uuid.UUID) {
			b.exec(t, `UPDATE blobs SET header_mac = set_byte(header_mac, 0, get_byte(header_mac, 0) # 1) WHERE id = $1`, d.Blobs[1].ID)
			return d.ID, d.Blobs[1].ID
		}},
		{"header MAC of another blob", func(d, other *vault.Document) (uuid.UUID, uuid.UUID) {
			// With the other object copied over this one, as someone who can write to both
			// the database and the bucket would.
			b.exec(t, `UPDATE blobs SET header_mac = (SELECT header_mac FROM blobs WHERE id = $2) WHERE id = $1`, d.Blobs[1].ID, other.Blobs[1].ID)
			return d.ID, d.Blobs[1].ID
		}},
		{"header MAC removed", func(d, _ *vault.Document) (uuid.UUID, uuid.UUID) {
			b.exec(t, `UPDATE blobs SET header_mac = NULL WHERE id = $1`, d.Blobs[1].ID)
			return d.ID, d.Blobs[1].ID
		}},
		{"MAC removed", func(d, _ *vault.Document) (uuid.UUID, uuid.UUID) {
			b.exec(t, `ALTER TABLE blobs DROP CONSTRAINT blobs_mac_required`)
			b.exec(t, `UPDATE blobs SET mac = NULL WHERE id = $1`, d.Blobs[1].ID)
			return d.ID, d.Blobs[1].ID
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, other := paper("Avis "+tc.name), paper("Autre "+tc.name)
			doc, blob := tc.tamper(d, other)
			before := countIntegrity(t, b, owner)
			r, err := b.v.Open(ctx, owner, doc, blob, by, vault.ActionDownload)
			if err == nil {
				got, rerr := io.ReadAll(r)
				r.Close()
				t.Fatalf("substituted file served: %q, %v", got, rerr)
			}
			if !errors.Is(err, vault.ErrIntegrity) {
				t.Fatalf("open: %v, want ErrIntegrity", err)
			}
			// What a receipt is signed from: the document and its blobs.
			if _, err := b.v.Document(ctx, owner, doc, by); !errors.Is(err, vault.ErrIntegrity) {
				t.Fatalf("document: %v, want ErrIntegrity", err)
			}
			if _, err := b.v.DocumentsIn(ctx, owner, []uuid.UUID{doc}); !errors.Is(err, vault.ErrIntegrity) {
				t.Fatalf("documents in: %v, want ErrIntegrity", err)
			}
			if after := countIntegrity(t, b, owner); after < before+3 {
				t.Fatalf("%d integrity failures journaled, want 3 more than %d", after, before)
			}
		})
	}
	// The thumbnail and the export check it too.
	d := paper("Vignette")
	b.exec(t, `UPDATE blobs SET size = size + 1 WHERE id = $1`, d.Blobs[3].ID)
	if _, err := b.v.OpenThumbnail(ctx, owner, d.ID, by); !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("thumbnail: %v, want ErrIntegrity", err)
	}
	b.exec(t, `UPDATE blobs SET size = size + 1 WHERE id = $1`, d.Blobs[0].ID)
	if _, err := b.v.Export(ctx, owner, by, io.Discard, vault.ExportOptions{}); !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("export: %v, want ErrIntegrity", err)
	}
}

func countIntegrity(t *testing.T, b *testBundle, owner uuid.UUID) int {
	t.Helper()
	n := 0
	for _, a := range b.actions(t, owner) {
		if a == vault.ActionIntegrity {
			n++
		}
	}
	return n
}

// Rows from before blob MACs get theirs once, at the first start after the migration;
// a row that lacks one after that is refused, even across restarts.
func TestOldBlobRowsAuthenticatedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	d := b.deposit(t, owner, by, "Bulletin de salaire", []byte("salaire de mars"))
	vault.ForgetBlobMACs(t, b.v)
	if _, err := b.read(t, owner, by, d); !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("row without a MAC read: %v, want ErrIntegrity", err)
	}
	if _, err := b.db.Exec(ctx, `INSERT INTO blobs (id, document_id, owner_id, role, position, media_type, size, sha256, created_at)
		SELECT $2, document_id, owner_id, 'thumbnail', 0, media_type, size, sha256, created_at FROM blobs WHERE id = $1`,
		d.Blobs[0].ID, uuid.New()); err == nil {
		t.Fatal("the database took a new blob row without a MAC")
	}

	// The first start after the migration authenticates them, and says so in the
	// service's chain; the rows read again.
	v2, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: b.store, Keys: b.keys})
	if err != nil {
		t.Fatal(err)
	}
	r, err := v2.Open(ctx, owner, d.ID, d.Blobs[0].ID, by, vault.ActionView)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != "salaire de mars" {
		t.Fatalf("after authentication: %q, %v", got, err)
	}
	marks := 0
	for _, a := range b.actions(t, vault.SystemChain) {
		if a == vault.ActionBlobsAuthenticated {
			marks++
		}
	}
	if marks != 1 {
		t.Fatalf("service chain has %d blob authentication entries, want 1", marks)
	}
	if rep, err := b.v.VerifyJournal(ctx, b.signing.Public().(ed25519.PublicKey)); err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("journal after authentication: %+v, %v", rep, err)
	}

	// Later, a row stripped of its MAC stays refused: no restart authenticates it again.
	b.exec(t, `ALTER TABLE blobs DROP CONSTRAINT blobs_mac_required`)
	b.exec(t, `UPDATE blobs SET mac = NULL, sha256 = $2 WHERE id = $1`, d.Blobs[0].ID, make([]byte, 32))
	if _, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: b.store, Keys: b.keys}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.read(t, owner, by, d); !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("row stripped of its MAC after authentication: %v, want ErrIntegrity", err)
	}
}
