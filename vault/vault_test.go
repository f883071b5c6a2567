package vault_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/vaulttest"
)

type testBundle struct {
	v       *vault.Vault
	a       *account.Service
	clock   *vaulttest.Clock
	db      *pgxpool.Pool
	store   *vault.S3Store
	s3      vault.S3Config
	keys    *vault.Keyring
	keyPath string
	signing ed25519.PrivateKey
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	vb := vaulttest.NewVault(t)
	return &testBundle{v: vb.V, a: vb.A, clock: vb.Clock, db: vb.DB, store: vb.Store, s3: vb.S3, keys: vb.Keys, keyPath: vb.KeyPath, signing: vb.Signing}
}

func (b *testBundle) owner(t testing.TB) (uuid.UUID, vault.Actor) {
	t.Helper()
	o, err := b.v.CreateOwner(context.Background(), "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	return o.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String(), IP: netip.MustParseAddr("192.0.2.77")}
}

func (b *testBundle) deposit(t testing.TB, owner uuid.UUID, by vault.Actor, title string, data []byte) *vault.Document {
	t.Helper()
	d, err := b.v.Deposit(context.Background(), owner, by, vault.NewDocument{
		Kind: vault.KindCAF, Title: title,
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Name: "attestation.pdf", Body: bytes.NewReader(data), Size: int64(len(data))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (b *testBundle) read(t testing.TB, owner uuid.UUID, by vault.Actor, d *vault.Document) ([]byte, error) {
	t.Helper()
	r, err := b.v.Open(context.Background(), owner, d.ID, d.Blobs[0].ID, by, vault.ActionView)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (b *testBundle) actions(t testing.TB, owner uuid.UUID) []vault.Action {
	t.Helper()
	entries, err := b.v.Journal(context.Background(), owner, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []vault.Action
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action)
	}
	return out
}

func TestBlobStores(t *testing.T) {
	t.Parallel()
	t.Run("S3", func(t *testing.T) {
		vaulttest.TestBlobStore(t, func(t *testing.T) vault.BlobStore {
			s, _ := vaulttest.S3Store(t)
			return s
		})
	})
	t.Run("FS", func(t *testing.T) {
		vaulttest.TestBlobStore(t, func(t *testing.T) vault.BlobStore {
			s, err := vault.NewFSStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

// pattern is a deterministic stream of pseudo-random bytes, so that large round trips
// need no memory.
type pattern struct {
	rng *mrand.ChaCha8
	n   int64
}

func newPattern(n int64) *pattern {
	return &pattern{rng: mrand.NewChaCha8([32]byte{1, 2, 3}), n: n}
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	_, _ = p.rng.Read(b) // ChaCha8 never fails
	p.n -= int64(len(b))
	return len(b), nil
}

func TestDepositRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner, by := b.owner(t)
	ctx := context.Background()
	sizes := []int64{0, 1, 65535, 65536, 65537, 3 * 65536, 1 << 20, 1<<20 + 1, 9 << 20}
	if !testing.Short() {
		sizes = append(sizes, 200<<20)
	}
	for _, size := range sizes {
		for _, known := range []bool{true, false} {
			announced := size
			if !known {
				announced = -1
			}
			want := sha256.New()
			_, _ = io.Copy(want, newPattern(size)) // neither side fails
			d, err := b.v.Deposit(ctx, owner, by, vault.NewDocument{
				Kind: vault.KindImpots, Title: "Avis 2025",
				Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/octet-stream", Body: newPattern(size), Size: announced}},
			})
			if err != nil {
				t.Fatalf("deposit %d bytes (announced %d): %v", size, announced, err)
			}
			if got := d.Blobs[0]; got.Size != size || !bytes.Equal(got.SHA256, want.Sum(nil)) {
				t.Fatalf("deposit %d bytes: recorded size %d and a different SHA-256", size, got.Size)
			}
			r, err := b.v.Open(ctx, owner, d.ID, d.Blobs[0].ID, by, vault.ActionDownload)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, err := io.Copy(h, r)
			r.Close()
			if err != nil || n != size || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
				t.Fatalf("read back %d of %d bytes (err %v), same hash: %v", n, size, err, bytes.Equal(h.Sum(nil), want.Sum(nil)))
			}
		}
	}
}

func TestDocumentMetadata(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	issued := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	expires := time.Date(2035, 3, 1, 0, 0, 0, 0, time.UTC)
	d, err := b.v.Deposit(ctx, owner, by, vault.NewDocument{
		Kind: vault.KindIdentite, Title: "Carte d'identité de Fatou", IssuedOn: &issued, ExpiresOn: &expires,
		Files: []vault.File{
			{Role: vault.RoleOriginal, MediaType: "image/jpeg", Name: "IMG_0001.jpg", Body: strings.NewReader("page 1"), Size: -1},
			{Role: vault.RoleOriginal, MediaType: "image/jpeg", Name: "IMG_0002.jpg", Body: strings.NewReader("page 2"), Size: -1},
			{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("%PDF"), Size: 4},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.v.Document(ctx, owner, d.ID, by)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != d.Title || got.Kind != vault.KindIdentite || !got.IssuedOn.Equal(issued) || !got.ExpiresOn.Equal(expires) {
		t.Fatalf("document read back as %+v", got)
	}
	if len(got.Blobs) != 3 || got.Blobs[0].Name != "IMG_0001.jpg" || got.Blobs[1].Position != 1 || got.Blob(vault.RoleRendition) == nil {
		t.Fatalf("blobs read back as %+v", got.Blobs)
	}
	if got.Depositor.Kind != vault.ActorOwner || got.Depositor.ID != owner.String() {
		t.Fatalf("depositor %+v", got.Depositor)
	}

	title := "Carte d'identité (recto verso)"
	kind := vault.KindTitreSejour
	if _, err := b.v.UpdateDocument(ctx, owner, d.ID, by, vault.Update{Title: &title, Kind: &kind, ClearDates: true}); err != nil {
		t.Fatal(err)
	}
	list, err := b.v.Documents(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Title != title || list[0].Kind != kind || list[0].IssuedOn != nil || len(list[0].Blobs) != 3 {
		t.Fatalf("after update, list is %+v", list)
	}

	// A dump of the database reveals no title and no file name.
	for _, table := range []string{"documents", "blobs", "journal", "owners"} {
		var dump string
		if err := b.db.QueryRow(ctx, `SELECT coalesce(string_agg(t::text, ' '), '') FROM `+table+` t`).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"Fatou", "identité", "IMG_0001", "recto"} {
			if strings.Contains(dump, secret) || strings.Contains(dump, hexOf(secret)) {
				t.Errorf("table %s holds %q in clear", table, secret)
			}
		}
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

func TestDepositValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner, by := b.owner(t)
	day := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	before := day.AddDate(0, 0, -1)
	file := func() []vault.File {
		return []vault.File{{Role: vault.RoleOriginal, MediaType: "image/png", Body: strings.NewReader("x"), Size: 1}}
	}
	cases := []struct {
		name string
		nd   vault.NewDocument
	}{
		{"unknown kind", vault.NewDocument{Kind: "passeport-martien", Title: "x", Files: file()}},
		{"empty title", vault.NewDocument{Kind: vault.KindAutre, Title: "  ", Files: file()}},
		{"long title", vault.NewDocument{Kind: vault.KindAutre, Title: strings.Repeat("é", vault.MaxTitleLen+1), Files: file()}},
		{"no file", vault.NewDocument{Kind: vault.KindAutre, Title: "x"}},
		{"expiry before issue", vault.NewDocument{Kind: vault.KindAutre, Title: "x", IssuedOn: &day, ExpiresOn: &before, Files: file()}},
		{"bad role", vault.NewDocument{Kind: vault.KindAutre, Title: "x", Files: []vault.File{{Role: "secret", MediaType: "a/b", Body: strings.NewReader("")}}}},
		{"wrong size", vault.NewDocument{Kind: vault.KindAutre, Title: "x", Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "a/b", Body: strings.NewReader("abc"), Size: 2}}}},
	}
	for _, c := range cases {
		if _, err := b.v.Deposit(context.Background(), owner, by, c.nd); err == nil {
			t.Errorf("%s: deposit accepted", c.name)
		}
	}
	if n := countRows(t, b.db, "documents"); n != 0 {
		t.Fatalf("%d documents left by refused deposits", n)
	}
	if n := countObjects(t, b); n != 0 {
		t.Fatalf("%d objects left by refused deposits", n)
	}
	if n := countRows(t, b.db, "blob_uploads"); n != 0 {
		t.Fatalf("%d upload markers left by refused deposits", n)
	}
}

func countRows(t testing.TB, db *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func countObjects(t testing.TB, b *testBundle) int {
	t.Helper()
	n := 0
	for obj := range vaulttest.Client(t, b.s3).ListObjects(context.Background(), b.s3.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
	}
	return n
}

func TestOwnerIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	alice, aliceActor := b.owner(t)
	bob, bobActor := b.owner(t)
	doc := b.deposit(t, alice, aliceActor, "Bulletin de salaire", []byte("salaire"))

	if _, err := b.v.Document(ctx, bob, doc.ID, bobActor); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Bob reading Alice's document: %v, want ErrNotFound", err)
	}
	if _, err := b.v.Open(ctx, bob, doc.ID, doc.Blobs[0].ID, bobActor, vault.ActionDownload); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Bob opening Alice's blob: %v, want ErrNotFound", err)
	}
	title := "pirate"
	if _, err := b.v.UpdateDocument(ctx, bob, doc.ID, bobActor, vault.Update{Title: &title}); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Bob renaming Alice's document: %v, want ErrNotFound", err)
	}
	if err := b.v.DeleteDocument(ctx, bob, doc.ID, bobActor); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Bob deleting Alice's document: %v, want ErrNotFound", err)
	}
	if _, err := b.v.Open(ctx, alice, doc.ID, uuid.New(), aliceActor, vault.ActionView); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Alice opening a blob that is not there: %v, want ErrNotFound", err)
	}
	list, err := b.v.Documents(ctx, bob)
	if err != nil || len(list) != 0 {
		t.Fatalf("Bob's list: %v, %v", list, err)
	}
	if got, err := b.read(t, alice, aliceActor, doc); err != nil || string(got) != "salaire" {
		t.Fatalf("Alice reading her document after the attempts: %q, %v", got, err)
	}

	// Alice sees the four attempts on her document in her history, with who tried.
	entries, err := b.v.Journal(ctx, alice, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	byBob, byAlice := 0, 0
	for _, e := range entries {
		if e.Action == vault.ActionDenied {
			switch e.ActorID {
			case bob.String():
				byBob++
			case alice.String():
				byAlice++
			}
			if e.DocumentID.UUID != doc.ID {
				t.Errorf("denied entry %+v does not name the document", e)
			}
			if ip, _ := e.PersonalData(); ip != "192.0.2.0/24" {
				t.Errorf("denied entry keeps IP %q, want the /24 prefix", ip)
			}
		}
	}
	if byBob != 4 || byAlice != 1 {
		t.Errorf("Alice's journal has %d failed attempts by Bob and %d of her own, want 4 and 1", byBob, byAlice)
	}
	if got := b.actions(t, bob); len(got) != 1 || got[0] != vault.ActionOwnerCreated {
		t.Errorf("Bob's journal: %v", got)
	}
}

// TestErrorsNameNoLogin: an error that may reach the logs never carries a person's login.
func TestErrorsNameNoLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.v.OwnerByLogin(context.Background(), "marie.martin")
	if !errors.Is(err, vault.ErrNotFound) || strings.Contains(err.Error(), "marie") {
		t.Errorf("OwnerByLogin of a missing login: %v", err)
	}
}

func TestTamperedCiphertext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	client := vaulttest.Client(t, b.s3)
	data := bytes.Repeat([]byte("avis d'imposition "), 20000)

	for _, offset := range []int{10, 300, 200000} { // header, first chunk, a later chunk
		d := b.deposit(t, owner, by, "Avis", data)
		key := d.Blobs[0].ID.String()
		obj, err := client.GetObject(ctx, b.s3.Bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ct, err := io.ReadAll(obj)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(ct, []byte("avis d'imposition")) {
			t.Fatal("the object holds plaintext")
		}
		ct[offset] ^= 0x01
		if _, err := client.PutObject(ctx, b.s3.Bucket, key, bytes.NewReader(ct), int64(len(ct)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err = b.read(t, owner, by, d)
		if !errors.Is(err, vault.ErrIntegrity) {
			t.Fatalf("byte %d flipped: read gave %v, want ErrIntegrity", offset, err)
		}
	}
	if integrity := b.integrityFailures(t, owner); integrity != 3 {
		t.Fatalf("journal has %d integrity failures, want 3", integrity)
	}
}

func TestPlaintextHashMismatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	d := b.deposit(t, owner, by, "RIB", []byte("FR76 3000 6000 0112 3456 7890 189"))
	// Valid ciphertext of other bytes, as an operator with the owner's public key could
	// write: age authenticates it, the recorded SHA-256 does not.
	o, err := b.v.Owner(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := age.ParseX25519Recipient(o.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, _ := age.Encrypt(&ct, rcpt)
	if _, err := w.Write([]byte("FR76 9999 9999 9999 9999 9999 999")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.store.Put(ctx, d.Blobs[0].ID.String(), &ct, int64(ct.Len())); err != nil {
		t.Fatal(err)
	}
	if _, err := b.read(t, owner, by, d); !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("substituted blob read: %v, want ErrIntegrity", err)
	}
}

func TestDeleteAndPurge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	keep := b.deposit(t, owner, by, "Quittance mars", []byte("mars"))
	gone := b.deposit(t, owner, by, "Quittance avril", []byte("avril"))
	if err := b.v.DeleteDocument(ctx, owner, gone.ID, by); err != nil {
		t.Fatal(err)
	}
	if _, err := b.read(t, owner, by, gone); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("reading a deleted document: %v, want ErrNotFound", err)
	}
	if n, err := b.v.PurgeDeleted(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("purge before the delay: %d, %v", n, err)
	}
	if n, err := b.v.PurgeDeleted(ctx, 0); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	if _, err := b.store.Get(ctx, gone.Blobs[0].ID.String()); !errors.Is(err, vault.ErrBlobNotFound) {
		t.Fatalf("purged blob still in the store: %v", err)
	}
	if got, err := b.read(t, owner, by, keep); err != nil || string(got) != "mars" {
		t.Fatalf("the other document: %q, %v", got, err)
	}
	want := []vault.Action{vault.ActionOwnerCreated, vault.ActionDeposit, vault.ActionDeposit, vault.ActionDelete, vault.ActionDenied, vault.ActionPurge, vault.ActionView}
	if got := b.actions(t, owner); !equalActions(got, want) {
		t.Fatalf("journal %v, want %v", got, want)
	}
}

func equalActions(a, b []vault.Action) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// failingStore lets the first failAfter bytes of each Put through, then fails, like a blob
// store that goes down during an upload.
type failingStore struct {
	vault.BlobStore
	failAfter int64
}

func (f failingStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	return f.BlobStore.Put(ctx, key, io.MultiReader(io.LimitReader(r, f.failAfter), errAfter{}), size)
}

type errAfter struct{}

func (errAfter) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func TestStoreOutageLeavesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	broken, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: failingStore{b.store, 300 << 10}, Keys: b.keys})
	if err != nil {
		t.Fatal(err)
	}
	_, err = broken.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindBanque, Title: "RIB", Files: []vault.File{
		{Role: vault.RoleOriginal, MediaType: "image/jpeg", Body: bytes.NewReader(make([]byte, 200<<10)), Size: 200 << 10},
		{Role: vault.RoleRendition, MediaType: "application/pdf", Body: newPattern(2 << 20), Size: 2 << 20},
	}})
	if err == nil {
		t.Fatal("deposit succeeded through a failing store")
	}
	if n := countRows(t, b.db, "documents"); n != 0 {
		t.Errorf("%d documents visible after a failed deposit", n)
	}
	if n := countObjects(t, b); n != 0 {
		t.Errorf("%d objects left after a failed deposit", n)
	}
	if n := countRows(t, b.db, "blob_uploads"); n != 0 {
		t.Errorf("%d upload markers left after a failed deposit", n)
	}
}

func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	b.db.Close()
	_, err := b.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindBanque, Title: "RIB",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "image/jpeg", Body: strings.NewReader("x"), Size: 1}}})
	if err == nil {
		t.Fatal("deposit succeeded without a database")
	}
	if err := b.v.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded without a database")
	}
	if n := countObjects(t, b); n != 0 {
		t.Errorf("%d objects written without a database", n)
	}
}

func TestWrongMasterKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := filepath.Join(t.TempDir(), "other.key")
	if _, err := vault.GenerateMasterKey(other); err != nil {
		t.Fatal(err)
	}
	keys, err := vault.LoadKeyring(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.New(context.Background(), vault.Config{DB: b.db, Blobs: b.store, Keys: keys}); !errors.Is(err, vault.ErrWrongMasterKey) {
		t.Fatalf("New with another master key: %v, want ErrWrongMasterKey", err)
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	type owned struct {
		id  uuid.UUID
		by  vault.Actor
		doc *vault.Document
	}
	var owners []owned
	for i := 0; i < 25; i++ {
		id, by := b.owner(t)
		owners = append(owners, owned{id, by, b.deposit(t, id, by, "Attestation", []byte{byte(i)})})
	}
	client := vaulttest.Client(t, b.s3)
	etag := func(d *vault.Document) string {
		info, err := client.StatObject(ctx, b.s3.Bucket, d.Blobs[0].ID.String(), minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return info.ETag
	}
	before := etag(owners[0].doc)

	oldFile := filepath.Join(t.TempDir(), "old.key")
	if k, err := os.ReadFile(b.keyPath); err != nil || os.WriteFile(oldFile, k, 0o600) != nil {
		t.Fatal(err)
	}
	oldKeys, err := vault.LoadKeyring(oldFile)
	if err != nil {
		t.Fatal(err)
	}
	newKeys, err := vault.AddMasterKey(b.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	operator := vault.Actor{Kind: vault.ActorOperator, ID: "test"}
	if err := vault.RegisterMasterKey(ctx, b.db, newKeys, operator); err != nil {
		t.Fatal(err)
	}
	v2, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: b.store, Keys: newKeys})
	if err != nil {
		t.Fatal(err)
	}
	interrupted := errors.New("operator pressed Ctrl-C")
	n, done, err := v2.Rewrap(ctx, operator, 10, func(int) error { return interrupted })
	if !errors.Is(err, interrupted) || n != 10 || done {
		t.Fatalf("interrupted rotation: %d, %v, %v", n, done, err)
	}
	// Half-way, every owner is readable with the file holding both keys.
	fresh, err := vault.LoadKeyring(b.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	v3, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: b.store, Keys: fresh})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range owners {
		if got, err := b.read(t, o.id, o.by, o.doc); err != nil || len(got) != 1 {
			t.Fatalf("half-way, owner %s: %v", o.id, err)
		}
	}
	n, done, err = v3.Rewrap(ctx, operator, 10, nil)
	if err != nil || n != 15 || !done {
		t.Fatalf("resumed rotation: %d, %v, %v", n, done, err)
	}
	if etag(owners[0].doc) != before {
		t.Error("rotation rewrote a blob")
	}
	// The new key alone reads everything; the old key alone is refused at start.
	newOnly := newKeys
	if _, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: b.store, Keys: oldKeys}); !errors.Is(err, vault.ErrWrongMasterKey) {
		t.Fatalf("old key after rotation: %v, want ErrWrongMasterKey", err)
	}
	v4, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: b.store, Keys: newOnly})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range owners {
		list, err := v4.Documents(ctx, o.id)
		if err != nil || len(list) != 1 {
			t.Fatalf("owner %d after rotation: %v", i, err)
		}
		r, err := v4.Open(ctx, o.id, o.doc.ID, o.doc.Blobs[0].ID, o.by, vault.ActionView)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, []byte{byte(i)}) {
			t.Fatalf("owner %d reads %v, %v", i, got, err)
		}
		rotated := 0
		for _, a := range b.actions(t, o.id) {
			if a == vault.ActionKeyRotated {
				rotated++
			}
		}
		if rotated != 1 {
			t.Fatalf("owner %d journal has %d rotations, want 1", i, rotated)
		}
	}
}

func TestJournalAppendOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	b.deposit(t, owner, by, "Avis", []byte("x"))
	if _, err := b.v.Checkpoint(ctx, b.signing); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE journal SET action = 'view' WHERE owner_id = $1`,
		`UPDATE journal SET personal = NULL, action = 'view' WHERE owner_id = $1`,
		`DELETE FROM journal WHERE owner_id = $1`,
		`UPDATE journal_checkpoints SET chains = 0 WHERE $1::uuid IS NOT NULL`,
	} {
		if _, err := b.db.Exec(ctx, sql, owner); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want a refusal", sql, err)
		}
	}
	if _, err := b.db.Exec(ctx, `TRUNCATE journal`); err == nil {
		t.Error("TRUNCATE journal accepted")
	}
	// Erasing the personal part (end of retention) is the one change allowed, and the
	// chain still verifies after it.
	if _, err := b.db.Exec(ctx, `UPDATE journal SET personal = NULL WHERE owner_id = $1`, owner); err != nil {
		t.Fatalf("erasing personal data: %v", err)
	}
	rep, err := b.v.VerifyJournal(ctx, b.signing.Public().(ed25519.PublicKey))
	if err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("verify after erasure: %+v, %v", rep, err)
	}
}

func TestJournalTamperDetection(t *testing.T) {
	t.Parallel()
	pub := func(b *testBundle) ed25519.PublicKey { return b.signing.Public().(ed25519.PublicKey) }
	prepare := func(t *testing.T) (*testBundle, uuid.UUID) {
		b := setup(t)
		owner, by := b.owner(t)
		other, otherBy := b.owner(t)
		for i := 0; i < 3; i++ {
			b.deposit(t, owner, by, "Avis", []byte{byte(i)})
			b.deposit(t, other, otherBy, "Avis", []byte{byte(i)})
		}
		if cp, err := b.v.Checkpoint(context.Background(), b.signing); err != nil || cp == nil || cp.Chains != 3 {
			t.Fatalf("checkpoint: %+v, %v", cp, err)
		}
		// 2 owners × (creation + 3 deposits), and the service's chain: its master key and
		// the authentication of blob rows.
		rep, err := b.v.VerifyJournal(context.Background(), pub(b))
		if err != nil || len(rep.Breaks) != 0 || rep.Entries != 10 || rep.Chains != 3 || rep.Checkpoints != 1 {
			t.Fatalf("clean journal: %+v, %v", rep, err)
		}
		return b, owner
	}
	tamper := func(t *testing.T, b *testBundle, sqls ...string) {
		ctx := context.Background()
		if _, err := b.db.Exec(ctx, `ALTER TABLE journal DISABLE TRIGGER USER`); err != nil {
			t.Fatal(err)
		}
		for _, sql := range sqls {
			if _, err := b.db.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		if _, err := b.db.Exec(ctx, `ALTER TABLE journal ENABLE TRIGGER USER`); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		sqls    func(owner uuid.UUID) []string
		wantSeq int64
		want    string
	}{
		{"altered action", func(o uuid.UUID) []string {
			return []string{`UPDATE journal SET action = 'view' WHERE owner_id = '` + o.String() + `' AND seq = 2`}
		}, 2, "entry altered"},
		{"altered personal data", func(o uuid.UUID) []string {
			return []string{`UPDATE journal SET personal = '{"ip":"203.0.113.0/24"}' WHERE owner_id = '` + o.String() + `' AND seq = 3`}
		}, 3, "personal data"},
		{"removed middle entry", func(o uuid.UUID) []string {
			return []string{`DELETE FROM journal WHERE owner_id = '` + o.String() + `' AND seq = 2`}
		}, 3, "sequence jumps"},
		{"removed last entry", func(o uuid.UUID) []string {
			return []string{`DELETE FROM journal WHERE owner_id = '` + o.String() + `' AND seq = 4`}
		}, 4, "chain head"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, owner := prepare(t)
			tamper(t, b, c.sqls(owner)...)
			rep, err := b.v.VerifyJournal(context.Background(), pub(b))
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Breaks) == 0 {
				t.Fatal("tampering not detected")
			}
			first := rep.Breaks[0]
			if first.OwnerID != owner || first.Seq != c.wantSeq || !strings.Contains(first.String(), c.want) {
				t.Fatalf("first break %q, want owner %s entry %d (%s)", first, owner, c.wantSeq, c.want)
			}
		})
	}

	t.Run("rewritten chain caught by checkpoint", func(t *testing.T) {
		t.Parallel()
		b, owner := prepare(t)
		// An attacker with database access rewrites an entry and recomputes every hash
		// after it, heads included: the chain is consistent again, the signed checkpoint
		// is not.
		ctx := context.Background()
		entries, err := b.v.Journal(ctx, owner, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		tamper(t, b, `UPDATE journal SET actor_id = 'someone-else' WHERE owner_id = '`+owner.String()+`' AND seq = 2`)
		rehash(t, b, owner, len(entries))
		rep, err := b.v.VerifyJournal(ctx, pub(b))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, br := range rep.Breaks {
			found = found || (br.Checkpoint != 0 && br.OwnerID == owner)
		}
		if !found {
			t.Fatalf("rewritten chain not caught: %+v", rep.Breaks)
		}
	})
	t.Run("forged checkpoint", func(t *testing.T) {
		t.Parallel()
		b, _ := prepare(t)
		_, forger, _ := ed25519.GenerateKey(rand.Reader)
		if _, err := b.v.Checkpoint(context.Background(), forger); err != nil {
			t.Fatal(err)
		}
		// Nothing moved: no new checkpoint, so make something move first.
		owner, by := b.owner(t)
		b.deposit(t, owner, by, "x", []byte("x"))
		if _, err := b.v.Checkpoint(context.Background(), forger); err != nil {
			t.Fatal(err)
		}
		rep, err := b.v.VerifyJournal(context.Background(), pub(b))
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Breaks) != 1 || !strings.Contains(rep.Breaks[0].String(), "another key") {
			t.Fatalf("forged checkpoint: %+v", rep.Breaks)
		}
	})
}

func rehash(t *testing.T, b *testBundle, owner uuid.UUID, _ int) {
	t.Helper()
	ctx := context.Background()
	if _, err := b.db.Exec(ctx, `ALTER TABLE journal DISABLE TRIGGER USER`); err != nil {
		t.Fatal(err)
	}
	vault.Rehash(t, b.v, owner)
	if _, err := b.db.Exec(ctx, `ALTER TABLE journal ENABLE TRIGGER USER`); err != nil {
		t.Fatal(err)
	}
}

// A process that dies between the upload and the commit leaves an object and its upload
// marker; the reaper removes both once the grace period is over, and not before.
func TestReaperAfterCrash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, _ := b.owner(t)
	orphan := vault.UploadWithoutCommit(t, b.v, owner, []byte("orphan"))
	if n, err := b.v.ReapUploads(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("reaper within the grace period: %d, %v", n, err)
	}
	if n := countObjects(t, b); n != 1 {
		t.Fatalf("%d objects before the grace period is over, want 1", n)
	}
	if n, err := b.v.ReapUploads(ctx, 0); err != nil || n != 1 {
		t.Fatalf("reaper: %d, %v", n, err)
	}
	if _, err := b.store.Get(ctx, orphan.ID.String()); !errors.Is(err, vault.ErrBlobNotFound) {
		t.Fatalf("orphan still in the store: %v", err)
	}
	if n := countRows(t, b.db, "blob_uploads"); n != 0 {
		t.Fatalf("%d upload markers left", n)
	}
}

// markerStore checks, when an upload has sent its last byte (the moment the store
// completes the object), that the upload's marker is committed: an object no marker
// names would never be reaped.
type markerStore struct {
	vault.BlobStore
	db       *pgxpool.Pool
	unmarked atomic.Int32
}

func (m *markerStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	// Another connection sees only what is committed.
	var marked bool
	if err := m.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blob_uploads WHERE id = $1)`, key).Scan(&marked); err != nil {
		return err
	}
	if !marked {
		m.unmarked.Add(1)
	}
	return m.BlobStore.Put(ctx, key, bytes.NewReader(data), size)
}

func TestUploadsCompleteOnlyOnceMarked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	store := &markerStore{BlobStore: b.store, db: b.db}
	v, err := vault.New(ctx, vault.Config{DB: b.db, Blobs: store, Keys: b.keys})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindBanque, Title: "RIB", Files: []vault.File{
			{Role: vault.RoleOriginal, MediaType: "image/jpeg", Body: bytes.NewReader(make([]byte, 10<<10)), Size: 10 << 10},
			{Role: vault.RoleRendition, MediaType: "application/pdf", Body: newPattern(3 << 20), Size: -1},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.unmarked.Load(); n != 0 {
		t.Fatalf("%d uploads sent their last byte before their marker was committed", n)
	}
}
