package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/vaulttest"
	"coffre/web"
)

// reviewMaskedRE is what differs between two answers by design: masked CSRF tokens.
var reviewMaskedRE = regexp.MustCompile(`[A-Za-z0-9_-]{80,}`)

// TestEverySafeRouteIsActedOnOnce walks the real router: every route that names a
// person ({owner}) is an agent's route under /agent/personnes/{owner}/, so under
// agentActing. For each, whatever its method, an agent holding every scope of a mandate
// gets from a safe closed since exactly the answer of a safe that does not exist, and the
// closed safe's history gets exactly one failed attempt; once the safe is erased, the
// same answer and nothing more written in what is left of its history. A route registered outside agentActing, or a
// handler trusting the path rather than the authorized safe, fails here (safeOf panics,
// or the answer differs).
func TestEverySafeRouteIsActedOnOnce(t *testing.T) {
	vb := vaulttest.NewVault(t)
	share := sharing.New(vb.DB, vb.V, vb.A)
	vb.V.AddParticipant(share)
	b := setup(t, func(c *web.Config) {
		c.Vault, c.Accounts, c.Ready, c.Sharing, c.Signing = vb.V, vb.A, vb.V, share, vb.Signing
	})
	b.v, b.a, b.share, b.signing = vb.V, vb.A, share, vb.Signing
	ctx := context.Background()
	const secret = "un secret bien à moi"
	o, err := b.a.CreateAccount(ctx, "lea.fermee", secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
	if err != nil {
		t.Fatal(err)
	}
	by := vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}
	d, err := b.v.Deposit(ctx, o.ID, by, vault.NewDocument{Kind: vault.KindCAF, Title: "Attestation", Files: []vault.File{
		{Role: vault.RoleRendition, MediaType: "application/pdf", Body: strings.NewReader("%PDF-1.7 attestation"), Size: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, b, newStructure(t, b, "CCAS de Lille"), "claire.dupont", "Mme Dupont")
	m, err := b.share.GrantMandate(ctx, a.Agent, o.ID, sharing.NewMandate{Scopes: sharing.GrantableScopes, Duration: sharing.TwelveMonths},
		sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v2", Secret: secret}, netipLocal())
	if err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	c.agentSignIn(a)
	tok := c.csrf("/agent")

	var routes []string
	if err := chi.Walk(b.srv.Config.Handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.Contains(route, "{owner}") {
			routes = append(routes, method+" "+route)
			if !strings.HasPrefix(route, "/agent/personnes/{owner}/") {
				t.Errorf("%s %s names a person outside /agent/personnes/{owner}/", method, route)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(routes) < 13 {
		t.Fatalf("only %d routes name a person: %v", len(routes), routes)
	}
	fill := func(route string, owner uuid.UUID) string {
		return strings.NewReplacer("{owner}", owner.String(), "{mid}", m.ID.String(), "{id}", d.ID.String(),
			"{blob}", d.Blob(vault.RoleRendition).ID.String()).Replace(route)
	}
	send := func(method, path string) (int, []byte) {
		t.Helper()
		var req *http.Request
		if method == http.MethodPost {
			form := url.Values{"csrf": {tok}, "code": {"abcd-efgh-jkmn"}, "consent": {"phone"}, "duration": {"6m"}, "scope": {"read"},
				"doc": {d.ID.String()}, "lifetime": {"1h"}, "purpose": {"Revue"}, "verifie": {"oui"}}
			req, _ = http.NewRequest(method, c.base+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest(method, c.base+path, nil)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, reviewMaskedRE.ReplaceAll(body, []byte("…"))
	}
	denied := func(owner uuid.UUID) int {
		t.Helper()
		es, err := b.v.Journal(ctx, owner, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range es {
			if e.Action == vault.ActionDenied {
				n++
			}
		}
		return n
	}
	// Reached while open: the mandate holds every scope, so no route refuses yet (the
	// mandate's own pages included).
	if status, _ := send(http.MethodGet, fill("/agent/personnes/{owner}/papiers", o.ID)); status != http.StatusOK {
		t.Fatalf("papers while open: %d", status)
	}
	check := func(when string, wantJournal int) {
		t.Helper()
		for _, r := range routes {
			method, route, _ := strings.Cut(r, " ")
			before := denied(o.ID)
			status, body := send(method, fill(route, o.ID))
			after := denied(o.ID)
			missing := uuid.New()
			mstatus, mbody := send(method, fill(route, missing))
			mbody = bytes.ReplaceAll(mbody, []byte(missing.String()), []byte(o.ID.String()))
			if status != http.StatusNotFound || status != mstatus || !bytes.Equal(body, mbody) {
				t.Errorf("%s, %s: %d, a missing person %d: a %s safe must answer like a missing one", when, r, status, mstatus, when)
			}
			if got := after - before; got != wantJournal {
				t.Errorf("%s, %s: %d failed attempts journaled, want %d", when, r, got, wantJournal)
			}
		}
	}
	if _, err := b.v.CloseSafe(ctx, o.ID, by, 0); err != nil {
		t.Fatal(err)
	}
	check("closed", 1)
	if err := b.v.ReopenSafe(ctx, o.ID, by); err != nil {
		t.Fatal(err)
	}
	if _, err := b.v.CloseSafe(ctx, o.ID, by, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	vb.Clock.Advance(time.Second)
	if n, err := b.v.EraseDue(ctx); err != nil || n != 1 {
		t.Fatalf("erase: %d, %v", n, err)
	}
	check("erased", 0)
}
