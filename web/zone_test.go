package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/i18n"
)

// TestTimeZones: a person whose device is in Martinique keeps its time from the sign-up,
// and reads a paper added at 23:30 there dated that day (in Paris, the next), in its
// title, the list and the history; choosing metropolitan France on « Mon compte » gives
// the history in Paris's time, whatever the device says; a place not offered is refused with a sentence,
// and a device in Paris or outside France records nothing.
func TestTimeZones(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// 03:30 UTC: 23:30 the day before in Martinique, 04:30 in Paris.
	now := b.clock.Now()
	at := time.Date(now.Year(), now.Month(), now.Day(), 3, 30, 0, 0, time.UTC)
	if !at.After(now) {
		at = at.AddDate(0, 0, 1)
	}
	b.clock.Advance(at.Sub(now))

	c := b.client(t)
	u, _ := url.Parse(c.base)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "tz", Value: "America/Martinique", Path: "/"}})
	c.signup("lea.m", "une phrase secrète assez longue")
	owner := mustOwner(t, b, "lea.m")
	if a, err := b.a.Account(ctx, owner); err != nil || a.TimeZone != "America/Martinique" {
		t.Fatalf("the device's zone is not kept at sign-up: %+v %v", a, err)
	}
	id := c.deposit(map[string]string{"kind": "caf"}, paperPath("27-attestation_caf.jpg"))
	d, err := b.v.Document(ctx, owner, id, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()})
	if err != nil {
		t.Fatal(err)
	}
	fr := i18n.LocaleOf("fr")
	there, paris := d.CreatedAt.In(account.Location("America/Martinique")), d.CreatedAt.In(account.Location(account.Paris))
	if there.Day() == paris.Day() {
		t.Fatalf("added at %s: the same day in Martinique and in Paris", d.CreatedAt)
	}
	if want := "Attestation CAF du " + fr.Date(there); d.Title != want {
		t.Errorf("title given in Martinique: %q, want %q", d.Title, want)
	}
	shows := func(when string, path string, want, not string) {
		t.Helper()
		resp, body := c.get(path)
		page := html.UnescapeString(body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) || strings.Contains(page, not) {
			i := strings.Index(page, "cf-when")
			t.Errorf("%s, %s: %d, want %q and not %q: %.300s", when, path, resp.StatusCode, want, not, page[max(i, 0):])
		}
	}
	// The history's last entry, the paper added, is dated in the reader's time.
	entries, err := b.v.Journal(ctx, owner, 0, 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("journal: %v %v", entries, err)
	}
	added := entries[0].At
	shows("in Martinique", "/papiers", "Attestation CAF du "+fr.Date(there), "Attestation CAF du "+fr.Date(paris))
	shows("in Martinique", "/historique", fr.DateTime(added.In(account.Location("America/Martinique"))), fr.DateTime(added.In(account.Location(account.Paris))))
	before := b.clock.Now()
	_, body := c.get("/compte")
	after := b.clock.Now()
	if !regexp.MustCompile(`value="America/Martinique" checked`).MatchString(body) || strings.Count(body, `name="zone"`) != len(account.TimeZones) {
		t.Errorf("Mon compte does not offer the ten places with Martinique chosen")
	}
	told := func(at time.Time) bool {
		return strings.Contains(html.UnescapeString(body), "Martinique ("+fr.Clock(at.In(account.Location("America/Martinique")))+")")
	}
	if !told(before) && !told(after) {
		t.Errorf("Mon compte does not tell the time it is in Martinique (%s)", fr.Clock(before.In(account.Location("America/Martinique"))))
	}

	// The copy of the safe is named by Martinique's day, and dated in its time inside.
	resp, archive := c.exportArchive(nil)
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := zr.Open("LISEZMOI.txt")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(readme)
	day := b.clock.Now().In(account.Location("America/Martinique")).Format("02/01/2006")
	if !strings.Contains(string(text), "faite le "+day+" à ") || !strings.Contains(string(text), "(heure de Martinique).") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), b.clock.Now().In(account.Location("America/Martinique")).Format(time.DateOnly)) {
		t.Errorf("the copy in Martinique: %s, %.200s", resp.Header.Get("Content-Disposition"), text)
	}

	tok := c.csrf("/compte")
	if resp, body := c.post("/compte/heure", url.Values{"csrf": {tok}, "zone": {"Europe/Berlin"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(body), "choisissez un lieu de la liste") {
		t.Errorf("a place not offered: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/compte/heure", url.Values{"csrf": {tok}, "zone": {account.Paris}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("choose Paris: %d", resp.StatusCode)
	}
	// The device still says Martinique: the person's choice wins.
	// Its title keeps Martinique's day: in Paris it cannot be told from a title written
	// with the day before (isDefaultTitle).
	shows("in Paris", "/papiers", "Attestation CAF du "+fr.Date(there), "Attestation CAF du "+fr.Date(paris))
	shows("in Paris", "/historique", fr.DateTime(added.In(account.Location(account.Paris))), fr.DateTime(added.In(account.Location("America/Martinique"))))
	if a, err := b.a.Account(ctx, owner); err != nil || a.TimeZone != account.Paris {
		t.Errorf("the choice is not kept: %+v %v", a, err)
	}

	for _, device := range []string{account.Paris, "Europe/Berlin", "../../etc/passwd"} {
		o := b.client(t)
		o.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "tz", Value: device, Path: "/"}})
		login := "p" + strings.ToLower(regexp.MustCompile(`[^A-Za-z]`).ReplaceAllString(device, ""))
		o.signup(login, "une phrase secrète assez longue")
		if a, err := b.a.Account(ctx, mustOwner(t, b, login)); err != nil || a.TimeZone != "" {
			t.Errorf("a device in %q records %q (%v)", device, a.TimeZone, err)
		}
	}
}

// TestAgentDepositInPersonsTime: a paper an agent adds without a title at a desk in
// Paris, for a person who lives in Martinique, is dated on Martinique's day, where the
// person will read it.
func TestAgentDepositInPersonsTime(t *testing.T) {
	t.Parallel()
	b, _ := agentBundle(t)
	now := b.clock.Now()
	at := time.Date(now.Year(), now.Month(), now.Day(), 3, 30, 0, 0, time.UTC) // 23:30 the day before in Martinique
	if !at.After(now) {
		at = at.AddDate(0, 0, 1)
	}
	b.clock.Advance(at.Sub(now))
	c, owner := mandatedAgent(t, b, sharing.ScopeDeposit)
	ctx := context.Background()
	if err := b.a.SetTimeZone(ctx, owner, "America/Martinique"); err != nil {
		t.Fatal(err)
	}
	ppath := "/agent/personnes/" + owner.String()
	if resp, body := c.upload(ppath+"/ajouter", c.csrf(ppath+"/ajouter"), map[string]string{"kind": string(vault.KindCAF)}, pngFile(t)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("agent deposit: %d %.300s", resp.StatusCode, body)
	}
	docs, err := b.v.Documents(ctx, owner)
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents: %v %v", docs, err)
	}
	there := docs[0].CreatedAt.In(account.Location("America/Martinique"))
	if want := "Attestation CAF du " + i18n.LocaleOf("fr").Date(there); docs[0].Title != want {
		t.Errorf("the title given at a desk in Paris: %q, want %q", docs[0].Title, want)
	}
}
