package sharing_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/vaulttest"
)

// A link's purpose is sealed in links: the journal keeps it sealed too, and the owner
// still reads it in their history.
func TestLinkPurposeNotCopiedInClear(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const purpose = "Préfecture du Nord, demande d'asile"
	c := b.link(t, sharing.NewLink{Purpose: purpose})
	if err := b.s.RevokeLink(ctx, b.owner, c.Link.ID, b.by); err != nil {
		t.Fatal(err)
	}
	rows, err := b.DB.Query(ctx, `SELECT personal FROM journal WHERE owner_id = $1 AND personal IS NOT NULL`, b.owner)
	if err != nil {
		t.Fatal(err)
	}
	personal, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range personal {
		if bytes.Contains(p, []byte("Préfecture")) {
			t.Fatalf("the journal holds the purpose in clear: %s", p)
		}
	}
	seen := 0
	for _, action := range []vault.Action{sharing.ActionLinkCreated, sharing.ActionLinkRevoked} {
		for _, e := range b.entries(t, b.owner, action) {
			if got := e.OwnerDetail(); got != purpose {
				t.Errorf("%s: the owner reads %q, want the purpose", action, got)
			}
			seen++
		}
	}
	if seen != 2 {
		t.Fatalf("%d link entries, want 2", seen)
	}
}

// The guard: after a deposit, shares, a mandate and the erasure of another safe, a dump
// of every table of the database shows no title, file name, kind, purpose, phone number,
// e-mail or login where it should not be. What is allowed in clear, and why:
//   - an owner's login in owners.login and an agent's in agents.login: sign-in looks them
//     up by index (a person chooses their login, and may choose something else than a
//     phone number);
//   - what is professional, not personal: structures (name, SIRET, contact printed on
//     access cards), agents' names, a téléservice's name and the kinds it may ask for or
//     deposit;
//   - nothing at all of an erased safe.
func TestTableDumpRevealsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	st := b.structure(t, "CCAS de Lille")
	a := b.agent(t, st, "agent.lille", "Mme D.", sharing.RoleAgent)

	// A person whose safe an agent opened at the desk, with a phone number as login.
	opened, err := b.s.OpenSafeFor(ctx, a.Agent, "06 12 34 56 78", b.ip)
	if err != nil {
		t.Fatal(err)
	}
	person := opened.Owner.ID
	self := vault.Actor{Kind: vault.ActorOwner, ID: person.String(), IP: b.ip}
	b.grant(t, a, person, sharing.OneMonth, sharing.ScopeDeposit, sharing.ScopeRead, sharing.ScopeShare)
	permit, err := b.s.AgentDeposit(ctx, a.Agent, person, vault.NewDocument{Kind: vault.KindTitreSejour, Title: "Carte de résident Awa Diallo",
		Files: []vault.File{
			{Role: vault.RoleOriginal, MediaType: "image/jpeg", Name: "scan-recto-diallo.jpg", Body: strings.NewReader("jpeg"), Size: -1},
			{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("%PDF-1.7"), Size: -1},
		}}, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	// The person asked for her papers to be read: the text read and what recognition
	// suggests are kept, sealed, and the words go into the blind index.
	if err := b.V.SetReading(ctx, person, self, true); err != nil {
		t.Fatal(err)
	}
	expiry := time.Date(2027, 3, 12, 0, 0, 0, 0, time.UTC)
	if err := b.V.StoreReading(ctx, person, permit.ID, vault.Reading{
		Text:       "RÉPUBLIQUE FRANÇAISE\nCARTE DE RÉSIDENT\nNom : DIALLO Prénom : Awa\nNationalité : sénégalaise\nIRFRAX4RTBPFW46<<<<<<<<<<<<<<<",
		Suggestion: &vault.Suggestion{Kind: vault.KindTitreSejour, Paper: "titre_sejour", ExpiresOn: &expiry, NumberEnd: "4CXZ"},
	}); err != nil {
		t.Fatal(err)
	}
	// Her tax notice carries a 2D-Doc that verified at deposit: its facts are kept with it.
	issued := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	if _, err := b.V.Deposit(ctx, person, self, vault.NewDocument{Kind: vault.KindImpots, Title: "Avis",
		Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("%PDF-1.7"), Size: -1}},
		Proof: &vault.Proof{Status: vault.ProofValid, Type: "Avis d'impôt sur les revenus", TypeCode: "28", Issuer: "Finances publiques (essai)",
			Authority: "Autorité de test", IssuedOn: &issued, CheckedAt: issued,
			Facts: []vault.ProofFact{{Label: "Déclarant 1", Value: "DIALLO AWA MARIAM"}, {Label: "Référence de l'avis", Value: "2578012345678"}}},
	}); err != nil {
		t.Fatal(err)
	}
	c, err := b.s.CreateLink(ctx, person, self, sharing.NewLink{Documents: []uuid.UUID{permit.ID}, Purpose: "Préfecture du Nord, demande d'asile"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.s.RevokeLink(ctx, person, c.Link.ID, self); err != nil {
		t.Fatal(err)
	}
	// A link whose copies carry a watermark naming who gets them and why.
	if _, err := b.s.CreateLink(ctx, person, self, sharing.NewLink{Documents: []uuid.UUID{permit.ID},
		Watermark: "Transmis à l'agence Immo Nord le 3 mars 2026 pour un dossier de location"}); err != nil {
		t.Fatal(err)
	}
	// And a téléservice she gave her CAF attestation to, marked.
	cafDoc, err := b.V.Deposit(ctx, person, self, vault.NewDocument{Kind: vault.KindCAF, Title: "Attestation",
		Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("%PDF-1.7"), Size: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	client, _, err := b.s.AddClient(ctx, sharing.NewClient{Name: "CAF", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindCAF}})
	if err != nil {
		t.Fatal(err)
	}
	_, challenge := pkce()
	areq, err := b.s.ParseAuthorization(ctx, authQuery(client.ID, challenge, cafDetails))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.ApproveMarked(ctx, areq, person, self, []uuid.UUID{cafDoc.ID}, "Transmis à la CAF le 3 mars 2026 pour le dossier Kerbrat"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.AgentCreateLink(ctx, a.Agent, person, sharing.NewLink{Documents: []uuid.UUID{permit.ID}, Purpose: "Avocat, recours CNDA"}, b.ip); err != nil {
		t.Fatal(err)
	}

	// A préfecture deposits her receipt of application through the subscription she gave
	// it (« Recevoir mes papiers »).
	pref := b.issuerClient(t, "Préfecture du Nord", vault.KindTitreSejour)
	if _, _, _, err := b.issue(pref, b.subscribe(t, pref, person, vault.KindTitreSejour), "recepisse-diallo", vault.KindTitreSejour, "Récépissé de Mme Diallo"); err != nil {
		t.Fatal(err)
	}

	// The person adds an e-mail address and a mobile number to be told of things, and
	// confirms the number with its code; a sign-in from their phone is remembered.
	if _, err := b.A.AddChannel(ctx, person, account.ChannelEmail, "awa.diallo@exemple.fr", b.ip); err != nil {
		t.Fatal(err)
	}
	phone, err := b.A.AddChannel(ctx, person, account.ChannelSMS, "07 98 76 54 32", b.ip)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := b.A.MessageRecipient(ctx, person, phone.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.A.VerifyChannel(ctx, person, account.ChannelSMS, rc.Code, self); err != nil {
		t.Fatal(err)
	}
	for _, ua := range []string{"Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0.0.0 Safari/537.36"} {
		if _, _, err := b.A.CreateSession(ctx, person, "secret", ua, time.Hour); err != nil {
			t.Fatal(err)
		}
	}

	// An operator exports the safe on a written request whose reference names the person.
	op := vault.Actor{Kind: vault.ActorOperator, ID: "cli"}
	if _, err := b.V.Export(ctx, person, op, io.Discard, vault.ExportOptions{Request: "lettre de Mme Diallo du 3 mars"}); err != nil {
		t.Fatal(err)
	}

	// Another person, whose closed safe is erased at the end of retention.
	gone, err := b.A.CreateAccount(ctx, "erased.person@example.org", "une phrase secrète assez longue", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	goneBy := vault.Actor{Kind: vault.ActorOwner, ID: gone.ID.String(), IP: b.ip}
	notice, err := b.V.Deposit(ctx, gone.ID, goneBy, vault.NewDocument{Kind: vault.KindImpots, Title: "Avis 2025 de M. Kone",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Name: "avis-kone.pdf", Body: strings.NewReader("%PDF"), Size: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.CreateLink(ctx, gone.ID, goneBy, sharing.NewLink{Documents: []uuid.UUID{notice.ID}, Purpose: "Bailleur social Lille Métropole"}); err != nil {
		t.Fatal(err)
	}
	b.grant(t, a, gone.ID, sharing.OneMonth, sharing.ScopeRead)
	if _, err := b.A.AddChannel(ctx, gone.ID, account.ChannelEmail, "kone.erased@exemple.fr", b.ip); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.A.CreateSession(ctx, gone.ID, "secret", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1", time.Hour); err != nil {
		t.Fatal(err)
	}
	taxes := b.issuerClient(t, "DGFiP", vault.KindImpots)
	if _, _, _, err := b.issue(taxes, b.subscribe(t, taxes, gone.ID, vault.KindImpots), "avis-kone-2026", vault.KindImpots, "Avis 2026 de M. Kone"); err != nil {
		t.Fatal(err)
	}
	if err := b.A.Notify(ctx, gone.ID, account.Notice{What: account.NoticeMandateEnding, Key: "mandate_ending:kone", Detail: "CCAS de Lille"}); err != nil {
		t.Fatal(err)
	}
	if err := b.V.SetReading(ctx, gone.ID, goneBy, true); err != nil {
		t.Fatal(err)
	}
	if err := b.V.StoreReading(ctx, gone.ID, notice.ID, vault.Reading{Text: "Revenu fiscal de référence : 9 870 — KONE Mamadou"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.A.AddPasskey(ctx, gone.ID, []byte("credential-of-kone"), []byte(`{}`), goneBy); err != nil {
		t.Fatal(err)
	}
	if _, err := b.V.CloseSafe(ctx, gone.ID, goneBy, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(time.Second)
	if n, err := b.V.EraseDue(ctx); err != nil || n != 1 {
		t.Fatalf("erase: %d, %v", n, err)
	}
	vaulttest.AssertErased(t, b.DB, gone.ID)

	secrets := []struct {
		what, text string
		allowed    string // the one table where it may appear, "" for none
	}{
		{"title", "Carte de résident Awa Diallo", ""},
		{"file name", "scan-recto-diallo.jpg", ""},
		{"kind code", string(vault.KindTitreSejour), "public.clients"}, // what an issuer may deposit
		{"title deposited by an issuer", "Récépissé de Mme Diallo", ""},
		{"issuer's idempotency key", "recepisse-diallo", ""},
		{"kind name", vault.KindTitreSejour.Label(), ""},
		{"purpose", "Préfecture du Nord, demande d'asile", ""},
		{"purpose of an agent's link", "Avocat, recours CNDA", ""},
		{"export request", "lettre de Mme Diallo du 3 mars", ""},
		{"text read", "CARTE DE RÉSIDENT", ""},
		{"word read", "sénégalaise", ""},
		{"zone read", "X4RTBPFW46", ""},
		{"suggested paper", "titre_sejour", "public.clients"},
		{"suggested expiry", "2027-03-12", ""},
		{"end of the document number", "4CXZ", ""},
		{"watermark", "Immo Nord", ""},
		{"watermark of a téléservice", "Kerbrat", ""},
		{"2D-Doc fact", "DIALLO AWA MARIAM", ""},
		{"2D-Doc fact label", "Déclarant 1", ""},
		{"2D-Doc number", "2578012345678", ""},
		{"2D-Doc type", "Avis d'impôt sur les revenus", ""},
		{"2D-Doc issuer", "Finances publiques (essai)", ""},
		{"phone number", "0612345678", "public.owners"},
		{"channel e-mail", "awa.diallo@exemple.fr", ""},
		{"channel phone (E.164)", "+33798765432", ""},
		{"channel phone", "0798765432", ""},
		{"channel phone as typed", "07 98 76 54 32", ""},
		{"channel phone digits", "798765432", ""},
		{"device", "Firefox / Android", ""},
		{"erased channel e-mail", "kone.erased@exemple.fr", ""},
		{"erased device", "Safari / iOS", ""},
		{"agent login", "agent.lille", "public.agents"},
		{"erased title", "Avis 2025 de M. Kone", ""},
		{"erased file name", "avis-kone.pdf", ""},
		{"erased kind code", string(vault.KindImpots), "public.clients"},
		{"erased title deposited by an issuer", "Avis 2026 de M. Kone", ""},
		{"erased issuer's idempotency key", "avis-kone-2026", ""},
		{"erased kind name", vault.KindImpots.Label(), ""},
		{"erased purpose", "Bailleur social Lille Métropole", ""},
		{"erased e-mail", "erased.person@example.org", ""},
		{"erased text read", "Revenu fiscal de référence", ""},
		{"erased word read", "Mamadou", ""},
	}
	dump := dumpTables(t, b)
	for table, rows := range dump {
		for _, row := range rows {
			lower := strings.ToLower(row)
			for _, s := range secrets {
				if table == s.allowed {
					continue
				}
				needle := strings.ToLower(s.text)
				// Inside bytea columns (the journal's personal part) text shows as hex.
				if strings.Contains(lower, needle) || strings.Contains(lower, hex.EncodeToString([]byte(s.text))) {
					t.Errorf("%s %q in clear in %s: %.300s", s.what, s.text, table, row)
				}
			}
		}
	}
	if len(dump["public.owners"]) == 0 || len(dump["public.journal"]) == 0 || len(dump["public.mandates"]) == 0 || len(dump["public.links"]) == 0 ||
		len(dump["public.channels"]) != 2 || len(dump["public.river_job"]) == 0 || len(dump["public.known_devices"]) != 2 || len(dump["public.notices"]) == 0 ||
		len(dump["public.document_texts"]) == 0 || len(dump["public.search_terms"]) == 0 ||
		len(dump["public.subscriptions"]) != 1 || len(dump["public.subscription_deposits"]) != 1 {
		t.Fatalf("the dump missed tables: %d tables", len(dump))
	}
	found := false
	for _, row := range dump["public.owners"] {
		found = found || strings.Contains(row, "0612345678")
	}
	if !found {
		t.Fatal("the dump does not show the logins it allows: it would not show the others either")
	}
}

// dumpTables reads every row of every table as text, as a database dump would show it.
func dumpTables(t *testing.T, b *testBundle) map[string][]string {
	t.Helper()
	ctx := context.Background()
	rows, err := b.DB.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	dump := map[string][]string{}
	for _, table := range tables {
		rows, err := b.DB.Query(ctx, `SELECT t::text FROM `+table+` t`)
		if err != nil {
			t.Fatal(err)
		}
		if dump[table], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
	}
	return dump
}
