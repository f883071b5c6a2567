package vault_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"coffre/vault"
	"coffre/vault/vaulttest"
)

func TestCloseAndReopen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	b.deposit(t, owner, by, "Quittance", []byte("loyer de mars"))

	s, err := b.v.CloseSafe(ctx, owner, by, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.ClosedAt.AddDate(0, 12, 0); !s.EraseAfter.Equal(want) {
		t.Fatalf("erase after %s, want 12 months after the closure (%s)", s.EraseAfter, want)
	}
	if err := b.v.CheckOpen(ctx, owner); !errors.Is(err, vault.ErrClosed) {
		t.Fatalf("CheckOpen of a closed safe: %v", err)
	}
	if _, err := b.v.CloseSafe(ctx, owner, by, 0); !errors.Is(err, vault.ErrClosed) {
		t.Fatalf("closing twice: %v", err)
	}
	_, err = b.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindCAF, Title: "Après fermeture",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: bytes.NewReader([]byte("x")), Size: 1}}})
	if err == nil || !vault.IsClosedRefusal(err) {
		t.Fatalf("deposit in a closed safe: %v", err)
	}
	if n := countObjects(t, b); n != 1 {
		t.Fatalf("the refused deposit left %d objects, want the 1 of before", n)
	}
	if n, err := b.v.EraseDue(ctx); err != nil || n != 0 {
		t.Fatalf("erase before the end of retention: %d, %v", n, err)
	}

	if err := b.v.ReopenSafe(ctx, owner, by); err != nil {
		t.Fatal(err)
	}
	if err := b.v.ReopenSafe(ctx, owner, by); !errors.Is(err, vault.ErrInvalid) {
		t.Fatalf("reopening an open safe: %v", err)
	}
	if err := b.v.CheckOpen(ctx, owner); err != nil {
		t.Fatal(err)
	}
	b.deposit(t, owner, by, "Après réouverture", []byte("ok"))
	st, err := b.v.Status(ctx, owner)
	if err != nil || st.Closed() {
		t.Fatalf("status after reopening: %+v, %v", st, err)
	}

	s, err = b.v.CloseSafe(ctx, owner, by, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.EraseAfter.Sub(*s.ClosedAt); got != 90*24*time.Hour {
		t.Fatalf("retention %s, want 90 days", got)
	}
	acts := b.actions(t, owner)
	want := []vault.Action{vault.ActionSafeClosed, vault.ActionSafeReopened, vault.ActionDeposit, vault.ActionSafeClosed}
	if !slices.Equal(acts[len(acts)-4:], want) {
		t.Fatalf("journal ends with %v, want %v", acts[len(acts)-4:], want)
	}
	if _, err := b.v.CloseSafe(ctx, uuid.New(), by, 0); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("closing no one's safe: %v", err)
	}
}

func TestEraseDue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	client := vaulttest.Client(t, b.s3)
	f := b.exportFixture(t) // the safe to erase, with every kind of blob
	if _, _, err := b.a.CreateSession(ctx, f.owner, "password", "Firefox sur Android", time.Hour); err != nil {
		t.Fatal(err)
	}
	kept, keptBy := b.owner(t) // an open safe, untouched
	keptDoc := b.deposit(t, kept, keptBy, "Autre coffre", []byte("à garder"))
	later, laterBy := b.owner(t) // a closed safe still in retention
	b.deposit(t, later, laterBy, "Encore là", []byte("dans le délai"))
	if _, err := b.v.CloseSafe(ctx, later, laterBy, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.v.Record(ctx, f.owner, vault.Event{Actor: f.by, Action: vault.ActionView, Detail: "Prénom Nom, CCAS de Lille"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.Checkpoint(ctx, b.signing); err != nil {
		t.Fatal(err)
	}

	// Copies of the ciphertexts, as a backup or a bucket version would keep them.
	copies := map[string][]byte{}
	for _, d := range f.docs {
		for _, bl := range d.Blobs {
			obj, err := client.GetObject(ctx, b.s3.Bucket, bl.ID.String(), minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if copies[bl.ID.String()], err = io.ReadAll(obj); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := b.v.CloseSafe(ctx, f.owner, f.by, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Second)

	// An export under way postpones the erasure.
	bw := &blockingWriter{w: io.Discard, started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := b.v.Export(ctx, f.owner, f.by, bw, vault.ExportOptions{})
		done <- err
	}()
	<-bw.started
	if n, err := b.v.EraseDue(ctx); err != nil || n != 0 {
		t.Fatalf("erase during an export: %d, %v; want it postponed", n, err)
	}
	close(bw.release)
	if err := <-done; err != nil {
		t.Fatalf("export of a closed safe due for erasure: %v", err)
	}

	if n, err := b.v.EraseDue(ctx); err != nil || n != 1 {
		t.Fatalf("erase: %d, %v; want 1 safe", n, err)
	}
	if n, err := b.v.EraseDue(ctx); err != nil || n != 0 {
		t.Fatalf("second run: %d, %v; want nothing left", n, err)
	}

	// No blob of the erased owner is left in MinIO; the others' are.
	remaining := map[string]bool{}
	for obj := range client.ListObjects(ctx, b.s3.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		remaining[obj.Key] = true
	}
	for key := range copies {
		if remaining[key] {
			t.Fatalf("blob %s of the erased safe is still in the bucket", key)
		}
	}
	if !remaining[keptDoc.Blobs[0].ID.String()] || len(remaining) != 2 {
		t.Fatalf("%d objects left, want the 2 of the other safes", len(remaining))
	}

	// A copy taken before the erasure, put back, cannot be read: the keys are gone.
	for key, ct := range copies {
		if err := b.store.Put(ctx, key, bytes.NewReader(ct), int64(len(ct))); err != nil {
			t.Fatal(err)
		}
	}
	d := f.docs[0]
	if _, err := b.v.Open(ctx, f.owner, d.ID, d.Blobs[0].ID, f.by, vault.ActionView); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("open a restored blob of an erased safe: %v, want ErrShredded", err)
	}
	if _, err := b.v.Documents(ctx, f.owner); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("documents of an erased safe: %v", err)
	}
	if err := b.v.ReopenSafe(ctx, f.owner, f.by); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("reopen an erased safe: %v", err)
	}
	if err := b.v.CheckOpen(ctx, f.owner); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("CheckOpen of an erased safe: %v", err)
	}

	// What is left in the database says nothing personal.
	var identity, dataKey []byte
	var login *string
	if err := b.db.QueryRow(ctx, `SELECT identity_wrapped, data_key_wrapped, login FROM owners WHERE id = $1`, f.owner).Scan(&identity, &dataKey, &login); err != nil {
		t.Fatal(err)
	}
	if identity != nil || dataKey != nil || login != nil {
		t.Fatal("the erased owner keeps wrapped keys or a login")
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM blobs WHERE owner_id = $1`:                                                       0,
		`SELECT count(*) FROM sessions WHERE owner_id = $1`:                                                    0,
		`SELECT count(*) FROM accounts WHERE owner_id = $1`:                                                    0,
		`SELECT count(*) FROM documents WHERE owner_id = $1 AND (title_sealed <> '' OR issued_on IS NOT NULL)`: 0,
		`SELECT count(*) FROM journal WHERE owner_id = $1 AND personal IS NOT NULL`:                            0,
		`SELECT count(*) FROM journal WHERE owner_id = $1 AND personal IS NULL`:                                len(b.actions(t, f.owner)),
	} {
		var n int
		if err := b.db.QueryRow(ctx, q, f.owner).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("%s: %d, want %d", q, n, want)
		}
	}
	acts := b.actions(t, f.owner)
	if acts[len(acts)-1] != vault.ActionErased {
		t.Fatalf("the erased safe's journal ends with %s", acts[len(acts)-1])
	}
	if st, err := b.v.Status(ctx, later); err != nil || st.ShreddedAt != nil {
		t.Fatalf("the safe still in retention: %+v, %v", st, err)
	}

	// The chains and checkpoints still verify, before and after a new checkpoint.
	pub := b.signing.Public().(ed25519.PublicKey)
	for i := range 2 {
		rep, err := b.v.VerifyJournal(ctx, pub)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Breaks) > 0 {
			t.Fatalf("journal verify after erasure: %v", rep.Breaks)
		}
		if i == 0 {
			if _, err := b.v.Checkpoint(ctx, b.signing); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestShutdownNotice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	op := vault.Actor{Kind: vault.ActorOperator, ID: "cli"}
	if _, err := b.v.CurrentNotice(ctx); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("no notice yet: %v", err)
	}
	at := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	for _, bad := range []string{"", "   ", string(bytes.Repeat([]byte("é"), vault.MaxNoticeLen+1))} {
		if _, err := b.v.AnnounceShutdown(ctx, op, bad, at); !errors.Is(err, vault.ErrInvalid) {
			t.Fatalf("notice %.10q: %v", bad, err)
		}
	}
	if _, err := b.v.AnnounceShutdown(ctx, op, "Premier avis", at); err != nil {
		t.Fatal(err)
	}
	n, err := b.v.AnnounceShutdown(ctx, op, "Le service fermera le 30 juin 2027. Téléchargez votre coffre.", at)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := b.v.CurrentNotice(ctx)
	if err != nil || cur.ID != n.ID || cur.Message != n.Message || !cur.ShutdownAt.Equal(at) {
		t.Fatalf("current notice %+v, %v; want the newest", cur, err)
	}
	if c, err := b.v.ClearNotices(ctx, op); err != nil || c != 2 {
		t.Fatalf("clear: %d, %v", c, err)
	}
	if _, err := b.v.CurrentNotice(ctx); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("after clearing: %v", err)
	}
	acts := b.actions(t, vault.SystemChain)
	want := []vault.Action{vault.ActionShutdownAnnounced, vault.ActionShutdownAnnounced, vault.ActionShutdownNoticeDone}
	if !slices.Equal(acts[len(acts)-3:], want) {
		t.Fatalf("service journal ends with %v, want %v", acts, want)
	}
}

// Whether a safe is open is decided once, by owners.open: it follows closing, reopening
// and erasure, and SafeOpenSQL (what other packages' statements use) says the same as
// CheckOpen.
func TestSafeOpenDecidedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	check := func(when string, want bool) {
		t.Helper()
		var column, fragment bool
		if err := b.db.QueryRow(ctx, `SELECT open, `+vault.SafeOpenSQL("$1")+` FROM owners WHERE id = $1`, owner).Scan(&column, &fragment); err != nil {
			t.Fatal(err)
		}
		if column != want || fragment != want || (b.v.CheckOpen(ctx, owner) == nil) != want {
			t.Fatalf("%s: open %v, SafeOpenSQL %v, CheckOpen %v; want %v", when, column, fragment, b.v.CheckOpen(ctx, owner), want)
		}
	}
	check("new safe", true)
	if _, err := b.v.CloseSafe(ctx, owner, by, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	check("closed", false)
	if err := b.v.ReopenSafe(ctx, owner, by); err != nil {
		t.Fatal(err)
	}
	check("reopened", true)
	if _, err := b.v.CloseSafe(ctx, owner, by, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Second)
	if n, err := b.v.EraseDue(ctx); err != nil || n != 1 {
		t.Fatalf("erase: %d, %v", n, err)
	}
	check("erased", false)
}
