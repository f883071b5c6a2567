package vault_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"testing"

	"coffre/vault"
)

// A private detail (a link's purpose) is sealed in the journal: a dump does not show it,
// the owner reads it in their history and in their export, and the chains still verify.
func TestJournalPrivateDetail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner, by := b.owner(t)
	const private = "Préfecture, rendez-vous asile"
	if err := b.v.Record(ctx, owner, vault.Event{Actor: by, Action: "link_created", Detail: "Mme D. (CCAS de Lille)", Private: private}); err != nil {
		t.Fatal(err)
	}
	var personal []byte
	if err := b.db.QueryRow(ctx, `SELECT personal FROM journal WHERE owner_id = $1 AND action = 'link_created'`, owner).Scan(&personal); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(personal, []byte("Préfecture")) || !bytes.Contains(personal, []byte("Mme D.")) {
		t.Fatalf("personal part: %s", personal)
	}
	entries, err := b.v.Journal(ctx, owner, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := entries[0].OwnerDetail(); got != "Mme D. (CCAS de Lille) — "+private {
		t.Fatalf("the owner reads %q", got)
	}

	var zipped bytes.Buffer
	if _, err := b.v.Export(ctx, owner, by, &zipped, vault.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped.Bytes()), int64(zipped.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open("journal.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	journal, _ := io.ReadAll(rc)
	rc.Close()
	if err := vault.VerifyExportedJournal(bytes.NewReader(journal)); err != nil {
		t.Fatalf("exported journal: %v", err)
	}
	found := false
	for _, line := range bytes.Split(bytes.TrimSpace(journal), []byte("\n")) {
		var l vault.JournalLine
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatal(err)
		}
		found = found || (l.Action == "link_created" && l.Private == private && l.Detail == "Mme D. (CCAS de Lille)")
	}
	if !found {
		t.Fatalf("the export does not give the owner the private detail: %s", journal)
	}
	if rep, err := b.v.VerifyJournal(ctx, b.signing.Public().(ed25519.PublicKey)); err != nil || len(rep.Breaks) > 0 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}
