package sharing_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/vaulttest"
)

type testBundle struct {
	*vaulttest.Bundle
	s     *sharing.Service
	owner uuid.UUID
	by    vault.Actor
	doc   *vault.Document
	ip    netip.Addr
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	vb := vaulttest.NewVault(t)
	b := &testBundle{Bundle: vb, s: sharing.NewService(sharing.Config{DB: vb.DB, Vault: vb.V, Accounts: vb.A, Now: vb.Clock.Now}), ip: netip.MustParseAddr("198.51.100.23")}
	vb.V.AddParticipant(b.s)
	o, err := vb.V.CreateOwner(context.Background(), "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	b.owner, b.by = o.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}
	b.doc = b.deposit(t, "Attestation CAF")
	return b
}

func (b *testBundle) deposit(t *testing.T, title string) *vault.Document {
	t.Helper()
	d, err := b.V.Deposit(context.Background(), b.owner, b.by, vault.NewDocument{Kind: vault.KindCAF, Title: title, Files: []vault.File{
		{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("%PDF-1.7 " + title), Size: -1},
		{Role: vault.RoleThumbnail, MediaType: "image/jpeg", Body: strings.NewReader("thumb"), Size: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (b *testBundle) link(t *testing.T, nl sharing.NewLink) *sharing.Created {
	t.Helper()
	if nl.Documents == nil {
		nl.Documents = []uuid.UUID{b.doc.ID}
	}
	c, err := b.s.CreateLink(context.Background(), b.owner, b.by, nl)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (b *testBundle) actions(t *testing.T) map[vault.Action]int {
	t.Helper()
	entries, err := b.V.Journal(context.Background(), b.owner, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	m := map[vault.Action]int{}
	for _, e := range entries {
		m[e.Action]++
	}
	return m
}

func TestLinkLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.link(t, sharing.NewLink{Purpose: "CAF – aide au logement"})
	if len(c.Token) != 43 || c.Code != "" {
		t.Fatalf("token %q code %q", c.Token, c.Code)
	}
	if got := c.Link.ExpiresAt.Sub(c.Link.CreatedAt); got != 24*time.Hour {
		t.Fatalf("default lifetime %s, want 24h", got)
	}
	l, err := b.s.Resolve(ctx, c.Token)
	if err != nil {
		t.Fatal(err)
	}
	if l.Purpose != "CAF – aide au logement" || len(l.Documents) != 1 || l.Documents[0] != b.doc.ID {
		t.Fatalf("resolved %+v", l)
	}
	if err := b.s.Opened(ctx, l, b.ip); err != nil {
		t.Fatal(err)
	}
	docs, err := b.s.Documents(ctx, l)
	if err != nil || len(docs) != 1 || docs[0].Title != "Attestation CAF" {
		t.Fatalf("documents %+v, %v", docs, err)
	}
	pdf := docs[0].Blob(vault.RoleRendition)
	r, err := b.s.Open(ctx, l, b.doc.ID, pdf.ID, b.ip, vault.ActionDownload, "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.HasPrefix(got, []byte("%PDF")) {
		t.Fatalf("read %q", got)
	}
	// The purpose is sealed: not in the database in clear.
	var dump string
	if err := b.DB.QueryRow(ctx, `SELECT string_agg(t::text, ' ') FROM links t`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dump, "logement") || strings.Contains(dump, c.Token) {
		t.Fatal("links table holds the purpose or the token in clear")
	}

	links, err := b.s.Links(ctx, b.owner)
	if err != nil || len(links) != 1 || links[0].Downloads != 1 || !links[0].Active(time.Now()) {
		t.Fatalf("links %+v, %v", links, err)
	}
	if err := b.s.RevokeLink(ctx, b.owner, l.ID, b.by); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.Resolve(ctx, c.Token); !errors.Is(err, sharing.ErrUnavailable) {
		t.Fatalf("revoked link: %v", err)
	}
	if err := b.s.RevokeLink(ctx, b.owner, l.ID, b.by); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	a := b.actions(t)
	if a[sharing.ActionLinkCreated] != 1 || a[sharing.ActionLinkOpened] != 1 || a[vault.ActionDownload] != 1 || a[sharing.ActionLinkRevoked] != 1 {
		t.Fatalf("journal %v", a)
	}
}

func TestUnavailableLinksAllLookAlike(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	expired := b.link(t, sharing.NewLink{Lifetime: time.Hour})
	b.Clock.Advance(time.Hour + time.Second)
	revoked := b.link(t, sharing.NewLink{})
	if err := b.s.RevokeLink(ctx, b.owner, revoked.Link.ID, b.by); err != nil {
		t.Fatal(err)
	}
	exhausted := b.link(t, sharing.NewLink{MaxDownloads: 1})
	l, _ := b.s.Resolve(ctx, exhausted.Token)
	r, err := b.s.Open(ctx, l, b.doc.ID, b.doc.Blob(vault.RoleRendition).ID, b.ip, vault.ActionDownload, "")
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	unknown := strings.Repeat("A", 43)
	for name, token := range map[string]string{
		"expired": expired.Token, "revoked": revoked.Token, "exhausted": exhausted.Token, "unknown": unknown,
		"short": "abc", "long": strings.Repeat("A", 44), "bad alphabet": strings.Repeat("*", 43), "empty": "",
	} {
		if _, err := b.s.Resolve(ctx, token); !errors.Is(err, sharing.ErrUnavailable) {
			t.Errorf("%s token: %v, want exactly ErrUnavailable", name, err)
		}
	}
}

func TestDownloadLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const limit, clients = 5, 32
	c := b.link(t, sharing.NewLink{MaxDownloads: limit})
	l, err := b.s.Resolve(ctx, c.Token)
	if err != nil {
		t.Fatal(err)
	}
	pdf := b.doc.Blob(vault.RoleRendition).ID
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := b.s.Open(ctx, l, b.doc.ID, pdf, b.ip, vault.ActionDownload, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				_, _ = io.Copy(io.Discard, r) // counted when opened: the read does not matter
				r.Close()
			case errors.Is(err, sharing.ErrUnavailable):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != limit || refused != clients-limit {
		t.Fatalf("%d downloads succeeded and %d were refused, want %d and %d", ok, refused, limit, clients-limit)
	}
	// Thumbnails do not count, but an exhausted link shows nothing any more.
	if _, err := b.s.Resolve(ctx, c.Token); !errors.Is(err, sharing.ErrUnavailable) {
		t.Fatalf("exhausted link resolves: %v", err)
	}
}

func TestCodeLocksAfterFiveFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.link(t, sharing.NewLink{WithCode: true})
	if len(c.Code) != 6 || strings.Trim(c.Code, "0123456789") != "" {
		t.Fatalf("code %q is not 6 digits", c.Code)
	}
	l, err := b.s.Resolve(ctx, c.Token)
	if err != nil || !l.HasCode {
		t.Fatalf("resolve: %+v, %v", l, err)
	}
	if err := b.s.CheckCode(ctx, l, c.Token, c.Code, b.ip); err != nil {
		t.Fatalf("right code: %v", err)
	}
	wrong := "000000"
	if wrong == c.Code {
		wrong = "111111"
	}
	for i := 1; i <= 5; i++ {
		err := b.s.CheckCode(ctx, l, c.Token, wrong, b.ip)
		want := sharing.ErrWrongCode
		if i == 5 {
			want = sharing.ErrUnavailable
		}
		if !errors.Is(err, want) {
			t.Fatalf("wrong code #%d: %v, want %v", i, err, want)
		}
	}
	if err := b.s.CheckCode(ctx, l, c.Token, c.Code, b.ip); !errors.Is(err, sharing.ErrUnavailable) {
		t.Fatalf("right code after lock: %v", err)
	}
	if _, err := b.s.Resolve(ctx, c.Token); !errors.Is(err, sharing.ErrUnavailable) {
		t.Fatalf("locked link resolves: %v", err)
	}
	if a := b.actions(t); a[sharing.ActionLinkCodeFailed] != 4 || a[sharing.ActionLinkLocked] != 1 {
		t.Fatalf("journal %v", a)
	}
}

func TestLinkScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	other := b.deposit(t, "Avis d'imposition")
	c := b.link(t, sharing.NewLink{})
	l, _ := b.s.Resolve(ctx, c.Token)
	// A document of the same owner that was not shared.
	if _, err := b.s.Open(ctx, l, other.ID, other.Blobs[0].ID, b.ip, vault.ActionDownload, ""); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("unshared document: %v", err)
	}
	// A blob of another document under a shared document's ID.
	if _, err := b.s.Open(ctx, l, b.doc.ID, other.Blobs[0].ID, b.ip, vault.ActionDownload, ""); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("foreign blob: %v", err)
	}
	// Someone else's document cannot be shared; the attempt is in the journal of the
	// document's owner, not of whoever tried.
	stranger, _ := b.V.CreateOwner(ctx, "", vault.System)
	if _, err := b.s.CreateLink(ctx, stranger.ID, vault.Actor{Kind: vault.ActorOwner, ID: stranger.ID.String()},
		sharing.NewLink{Documents: []uuid.UUID{b.doc.ID}}); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("sharing someone else's document: %v", err)
	}
	if es, err := b.V.Journal(ctx, stranger.ID, 0, 1000); err != nil || slices.ContainsFunc(es, func(e vault.Entry) bool { return e.Action == vault.ActionDenied }) {
		t.Fatalf("the attempt is in the journal of whoever tried (%v)", err)
	}
	// A document deleted after being shared is gone from the link.
	if err := b.V.DeleteDocument(ctx, b.owner, b.doc.ID, b.by); err != nil {
		t.Fatal(err)
	}
	docs, err := b.s.Documents(ctx, l)
	if err != nil || len(docs) != 0 {
		t.Fatalf("deleted document still listed: %v, %v", docs, err)
	}
	if _, err := b.s.Open(ctx, l, b.doc.ID, b.doc.Blobs[0].ID, b.ip, vault.ActionDownload, ""); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("deleted document: %v", err)
	}
	if a := b.actions(t); a[vault.ActionDenied] != 4 {
		t.Fatalf("journal has %d failed attempts, want 4: %v", a[vault.ActionDenied], a)
	}
}

func TestCreateLinkValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, nl := range map[string]sharing.NewLink{
		"no document":    {},
		"odd lifetime":   {Documents: []uuid.UUID{b.doc.ID}, Lifetime: 3 * time.Hour},
		"long purpose":   {Documents: []uuid.UUID{b.doc.ID}, Purpose: strings.Repeat("x", 121)},
		"negative limit": {Documents: []uuid.UUID{b.doc.ID}, MaxDownloads: -1},
	} {
		if _, err := b.s.CreateLink(context.Background(), b.owner, b.by, nl); !errors.Is(err, sharing.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(strings.Repeat("A", 43))
	f.Add("")
	f.Add(strings.Repeat("-_", 22))
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := sharing.ParseToken(s)
		if err == nil && (len(tok) != 43 || tok != s) {
			t.Fatalf("accepted %q", s)
		}
		if err != nil && !errors.Is(err, sharing.ErrUnavailable) {
			t.Fatalf("error %v is not ErrUnavailable", err)
		}
	})
}

// Closing a safe kills its links and its téléservice tokens at once, and reopening it does
// not bring them back.
func TestClosedSafeSharesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.link(t, sharing.NewLink{})
	if _, err := b.V.CloseSafe(ctx, b.owner, b.by, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.Resolve(ctx, c.Token); !errors.Is(err, sharing.ErrUnavailable) {
		t.Fatalf("link of a closed safe: %v", err)
	}
	if err := b.V.ReopenSafe(ctx, b.owner, b.by); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.Resolve(ctx, c.Token); !errors.Is(err, sharing.ErrUnavailable) {
		t.Fatalf("link after reopening: %v", err)
	}
}

// A burst of parallel guesses tests five codes, no more.
func TestCodeGuessesInParallel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.link(t, sharing.NewLink{WithCode: true})
	l, err := b.s.Resolve(ctx, c.Token)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[error]int{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guess := fmt.Sprintf("%06d", i)
			if guess == c.Code {
				guess = "999999"
			}
			err := b.s.CheckCode(ctx, l, c.Token, guess, b.ip)
			mu.Lock()
			results[err]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if results[sharing.ErrWrongCode] != 4 || results[sharing.ErrUnavailable] != 16 {
		t.Fatalf("20 parallel wrong codes: %v, want 4 wrong and 16 unavailable", results)
	}
	if err := b.s.CheckCode(ctx, l, c.Token, c.Code, b.ip); !errors.Is(err, sharing.ErrUnavailable) {
		t.Fatalf("right code after the burst: %v", err)
	}
}
