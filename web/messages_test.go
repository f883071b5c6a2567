package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/web"
)

func withChannels(c *web.Config) {
	c.Channels = []account.ChannelKind{account.ChannelEmail, account.ChannelSMS}
}

// expiring sets the expiry of owner's paper days from today.
func expiring(t *testing.T, b *testBundle, owner uuid.UUID, d *vault.Document, days int) {
	t.Helper()
	expires := vault.Today(time.Now()).AddDate(0, 0, days)
	if _, err := b.v.UpdateDocument(context.Background(), owner, d.ID, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, vault.Update{ExpiresOn: &expires}); err != nil {
		t.Fatal(err)
	}
}

// « Recevoir des messages » without JavaScript: an address refused with its sentence,
// the code asked for, a wrong code refused, the right one confirming it, the link
// notice chosen, the address removed; each change in the history.
func TestChannelsPage(t *testing.T) {
	t.Parallel()
	b := setup(t, withChannels)
	c := b.client(t)
	c.signup("amina", "le chat mange la pomme")
	owner := ownerOf(t, b, "amina")
	ctx := context.Background()
	post := func(path string, form url.Values) (*http.Response, string) {
		t.Helper()
		form.Set("csrf", c.csrf("/compte"))
		return c.post(path, form)
	}
	_, page := c.get("/compte")
	if !strings.Contains(page, "Recevoir des messages") || !strings.Contains(page, `action="/compte/messages/sms/ajouter"`) {
		t.Fatalf("no messages section on « Mon compte »")
	}
	for _, tc := range []struct {
		kind, address, sentence string
	}{
		{"email", "amina@", "Cette adresse e-mail n&#39;est pas complète"},
		{"sms", "01 23 45 67 89", "Ce numéro n&#39;est pas un portable français"},
		{"sms", "  ", "Tapez votre numéro de portable"},
	} {
		resp, body := post("/compte/messages/"+tc.kind+"/ajouter", url.Values{"address": {tc.address}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tc.sentence) {
			t.Errorf("adding %q: %d, want 422 with %q", tc.address, resp.StatusCode, tc.sentence)
		}
	}
	resp, _ := post("/compte/messages/email/ajouter", url.Values{"address": {"amina@exemple.fr"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte?messages=code#s-messages" {
		t.Fatalf("adding an address: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = c.get("/compte?messages=code")
	if !strings.Contains(page, "Un code vient d&#39;être envoyé") || !strings.Contains(page, "Un code a été envoyé à amina@exemple.fr") ||
		!strings.Contains(page, `action="/compte/messages/email/code"`) {
		t.Fatalf("the page after asking for a code: %s", excerpt([]byte(page)))
	}
	list, err := b.a.Channels(ctx, owner)
	if err != nil || len(list) != 1 {
		t.Fatalf("channels: %v %v", list, err)
	}
	rc, err := b.a.MessageRecipient(ctx, owner, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if rc.Code == wrong {
		wrong = "999999"
	}
	for code, sentence := range map[string]string{"12 34": "Le code a 6 chiffres", wrong: "Ce code n&#39;est pas le bon"} {
		resp, body := post("/compte/messages/email/code", url.Values{"code": {code}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, sentence) {
			t.Errorf("code %q: %d, want 422 with %q", code, resp.StatusCode, sentence)
		}
	}
	resp, _ = post("/compte/messages/email/code", url.Values{"code": {rc.Code[:3] + " " + rc.Code[3:]}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/compte?messages=ok#s-messages" {
		t.Fatalf("the right code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = c.get("/compte?messages=ok")
	if !strings.Contains(page, "<strong>amina@exemple.fr</strong> · Vous recevez les messages ici.") || strings.Contains(page, `action="/compte/messages/email/code"`) {
		t.Fatalf("the page after confirming: %s", excerpt([]byte(page)))
	}
	if resp, _ := post("/compte/messages/liens", url.Values{"links": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the link notice: %d", resp.StatusCode)
	}
	if a, err := b.a.Account(ctx, owner); err != nil || !a.NotifyLinkOpened {
		t.Fatalf("the link notice is not recorded: %+v %v", a, err)
	}
	if _, page = c.get("/compte"); !strings.Contains(page, `name="links" value="1" checked`) {
		t.Errorf("the link notice is not shown ticked")
	}
	if resp, _ := post("/compte/messages/email/retirer", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("removing: %d", resp.StatusCode)
	}
	if _, page = c.get("/compte"); strings.Contains(page, "amina@exemple.fr") {
		t.Errorf("the removed address still shows")
	}
	if resp, _ := post("/compte/messages/email/retirer", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("removing twice: %d", resp.StatusCode)
	}
	_, history := c.get("/historique")
	for _, want := range []string{"Vous avez confirmé votre adresse e-mail", "Vous avez retiré votre adresse e-mail"} {
		if !strings.Contains(history, want) {
			t.Errorf("the history lacks %q", want)
		}
	}
}

// Without a sender, « Mon compte » offers no channel and its forms answer "not found".
func TestChannelsOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("karim", "le chat mange la pomme")
	if _, page := c.get("/compte"); strings.Contains(page, "Recevoir des messages") {
		t.Fatal("« Mon compte » offers channels the service cannot send")
	}
	resp, _ := c.post("/compte/messages/email/ajouter", url.Values{"csrf": {c.csrf("/compte")}, "address": {"karim@exemple.fr"}})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("adding a channel the service cannot send: %d", resp.StatusCode)
	}
}

// « Mes papiers » shows a residence permit near its end with the steps and the official
// page, once (not again in the list of papers to renew soon), in French and English; the
// person dismisses it; the messages sent read as sentences in the history.
func TestRemindersOnPapers(t *testing.T) {
	t.Parallel()
	b := setup(t, withChannels)
	c := b.client(t)
	c.signup("awa", "le chat mange la pomme")
	owner := ownerOf(t, b, "awa")
	ctx := context.Background()
	permit := paper(t, b, owner, vault.KindTitreSejour, "Carte de séjour Awa")
	expiring(t, b, owner, permit, 50)
	card := paper(t, b, owner, vault.KindIdentite, "Carte nationale")
	expiring(t, b, owner, card, 200)

	_, page := c.get("/papiers")
	for _, want := range []string{"Rappels", "«\u00a0Carte de séjour Awa\u00a0» expire le", "dans 50\u00a0jours", "2 à 4\u00a0mois avant", vault.ResidencePermitPage,
		`action="/papiers/` + permit.ID.String() + `/rappel/masquer"`, `href="/compte#s-messages"`} {
		if !strings.Contains(page, want) {
			t.Errorf("« Mes papiers » lacks %q", want)
		}
	}
	if n := strings.Count(page, "Carte de séjour Awa"); n != 2 {
		t.Errorf("the permit shows %d times, want 2 (its reminder and its shelf)", n)
	}
	if strings.Contains(page, "«\u00a0Carte nationale\u00a0»") {
		t.Error("a card valid for 200 days has a reminder")
	}
	en := b.client(t)
	en.hc.Jar.SetCookies(mustURL(t, b.srv.URL), []*http.Cookie{{Name: "lang", Value: "en"}})
	copyCookies(t, b, c, en)
	if _, page := en.get("/papiers"); !strings.Contains(page, "“Carte de séjour Awa” expires on") || !strings.Contains(page, "in 50 days") {
		t.Errorf("the English reminder: %s", excerpt([]byte(page)))
	}

	resp, _ := c.post("/papiers/"+permit.ID.String()+"/rappel/masquer", url.Values{"csrf": {c.csrf("/papiers")}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/papiers" {
		t.Fatalf("dismissing: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, page := c.get("/papiers"); strings.Contains(page, "Rappels") {
		t.Error("the dismissed reminder still shows")
	}

	// The messages sent, in the history.
	expires := vault.Today(time.Now()).AddDate(0, 0, 50)
	for _, m := range []account.MessageEntry{
		{Channel: account.ChannelSMS, What: account.NoticeExpiry, Kind: vault.KindTitreSejour, Date: expires},
		{Channel: account.ChannelEmail, What: account.NoticeMandateEnding, Who: "CCAS de Lille", Date: expires},
		{Channel: account.ChannelEmail, What: account.NoticeCode},
	} {
		doc := uuid.Nil
		if m.What == account.NoticeExpiry {
			doc = permit.ID
		}
		if err := b.v.Record(ctx, owner, m.Event(doc)); err != nil {
			t.Fatal(err)
		}
	}
	_, history := c.get("/historique")
	for _, want := range []string{"Rappel envoyé par SMS\u00a0: votre titre de séjour expire le", "Message envoyé par e-mail\u00a0: le mandat donné à CCAS de Lille s&#39;arrête bientôt.",
		"Code de vérification envoyé par e-mail."} {
		if !strings.Contains(history, want) {
			t.Errorf("the history lacks %q", want)
		}
	}
	if _, history := en.get("/historique"); !strings.Contains(history, "Reminder sent by text message: your residence permit expires on") {
		t.Errorf("the English history lacks the reminder")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// copyCookies gives to the session cookies of from, so that to is the same person.
func copyCookies(t *testing.T, b *testBundle, from, to *client) {
	t.Helper()
	u := mustURL(t, b.srv.URL)
	for _, ck := range from.hc.Jar.Cookies(u) {
		if ck.Name != "lang" {
			to.hc.Jar.SetCookies(u, []*http.Cookie{ck})
		}
	}
}
