package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
)

// The kind of a paper says a person's situation (a residence permit tells immigration
// status): the database keeps it sealed, and every list filters after opening it.
func TestKindIsSealed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	permit, err := b.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: vault.KindTitreSejour, Title: "Carte de séjour",
		Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("%PDF-1.7"), Size: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	caf := b.deposit(t, owner, by, "Attestation", []byte("caf"))

	var row string
	if err := b.db.QueryRow(ctx, `SELECT d::text FROM documents d WHERE id = $1`, permit.ID).Scan(&row); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row, string(vault.KindTitreSejour)) {
		t.Fatalf("the documents row shows the kind in clear: %s", row)
	}

	// Every way of reading gives the kind back.
	d, err := b.v.Document(ctx, owner, permit.ID, by)
	if err != nil || d.Kind != vault.KindTitreSejour {
		t.Fatalf("Document: %v, %v", d, err)
	}
	docs, err := b.v.Documents(ctx, owner)
	if err != nil || len(docs) != 2 || docs[0].Kind != vault.KindCAF || docs[1].Kind != vault.KindTitreSejour {
		t.Fatalf("Documents: %+v, %v", docs, err)
	}
	shelves, _, err := b.v.Shelves(ctx, owner, 12, time.Now())
	if err != nil || len(shelves) != 2 || shelves[0].Kind != vault.KindTitreSejour || shelves[1].Kind != vault.KindCAF {
		t.Fatalf("Shelves: %+v, %v", shelves, err)
	}
	only, err := b.v.DocumentsOfKind(ctx, owner, vault.KindCAF, 10)
	if err != nil || len(only) != 1 || only[0].ID != caf.ID || only[0].Title != "Attestation" {
		t.Fatalf("DocumentsOfKind: %+v, %v", only, err)
	}
	kind := vault.KindIdentite
	if _, err := b.v.UpdateDocument(ctx, owner, permit.ID, by, vault.Update{Kind: &kind}); err != nil {
		t.Fatal(err)
	}
	if d, err := b.v.Document(ctx, owner, permit.ID, by); err != nil || d.Kind != vault.KindIdentite {
		t.Fatalf("after update: %v, %v", d, err)
	}

	// A sealed kind is bound to its document: copied onto another row, it does not open.
	if _, err := b.db.Exec(ctx, `UPDATE documents SET kind_sealed = (SELECT kind_sealed FROM documents WHERE id = $1) WHERE id = $2`,
		permit.ID, caf.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.Document(ctx, owner, caf.ID, by); !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("a kind moved to another document opened: %v", err)
	}
	// And the database refuses a kind in clear.
	if _, err := b.db.Exec(ctx, `UPDATE documents SET kind = 'titre_sejour' WHERE id = $1`, permit.ID); err == nil {
		t.Fatal("the database took a kind in clear")
	}
}

// Shelves groups and counts in Go what SQL can no longer see: the most recent perKind of
// each kind, the total of each, and what expires soon.
func TestShelvesAfterDecryption(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	day := func(n int) *time.Time {
		d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n)
		return &d
	}
	var ids []uuid.UUID
	for i, k := range []vault.Kind{vault.KindCAF, vault.KindImpots, vault.KindCAF, vault.KindCAF, vault.KindImpots} {
		d, err := b.v.Deposit(ctx, owner, by, vault.NewDocument{Kind: k, Title: "papier " + string(rune('a'+i)), ExpiresOn: day(10 - i),
			Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("x"), Size: -1}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	shelves, soon, err := b.v.Shelves(ctx, owner, 2, *day(8))
	if err != nil {
		t.Fatal(err)
	}
	if len(shelves) != 2 || shelves[0].Kind != vault.KindImpots || shelves[1].Kind != vault.KindCAF {
		t.Fatalf("shelves %+v", shelves)
	}
	if s := shelves[1]; s.Total != 3 || len(s.Docs) != 2 || s.Docs[0].ID != ids[3] || s.Docs[1].ID != ids[2] || s.Docs[0].Title != "papier d" {
		t.Fatalf("CAF shelf %+v", s)
	}
	if s := shelves[0]; s.Total != 2 || len(s.Docs) != 2 || s.Docs[0].ID != ids[4] {
		t.Fatalf("impôts shelf %+v", s)
	}
	// Expiring before day 8: days 6 (e) and 7 (d), soonest first.
	if len(soon) != 2 || soon[0].ID != ids[4] || soon[1].ID != ids[3] || soon[0].Kind != vault.KindImpots {
		t.Fatalf("expiring %+v", soon)
	}
	if got, err := b.v.DocumentsOfKind(ctx, owner, vault.KindCAF, 2); err != nil || len(got) != 2 || got[0].ID != ids[3] {
		t.Fatalf("DocumentsOfKind with a limit: %+v, %v", got, err)
	}
}
