package web_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"coffre/vault"
	"coffre/vault/account"
)

// TestBrowserMessages checks, in headless Chromium on a 360×740 phone screen, in French
// and in English, « Mon compte » with a channel waiting for its code and one confirmed,
// and « Mes papiers » with a residence permit's reminder: no axe-core violation, within
// the page budgets. Then the person confirms the address by typing its code, and
// dismisses the reminder, without JavaScript's help.
func TestBrowserMessages(t *testing.T) {
	t.Parallel()
	b := setup(t, withChannels)
	br := newBrowser(t)
	defer br.report()
	ctx := context.Background()
	br.signup(b.base, "Amina", "le chat mange la pomme")
	owner := ownerOf(t, b, "amina")
	permit := paper(t, b, owner, vault.KindTitreSejour, "Carte de séjour pluriannuelle")
	expiring(t, b, owner, permit, 58)
	card := paper(t, b, owner, vault.KindIdentite, "Carte nationale d'identité")
	expiring(t, b, owner, card, 20)
	sms, err := b.a.AddChannel(ctx, owner, account.ChannelSMS, "06 12 34 56 78", testIP)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := b.a.MessageRecipient(ctx, owner, sms.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.a.VerifyChannel(ctx, owner, account.ChannelSMS, rc.Code, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}); err != nil {
		t.Fatal(err)
	}
	email, err := b.a.AddChannel(ctx, owner, account.ChannelEmail, "amina@exemple.fr", testIP)
	if err != nil {
		t.Fatal(err)
	}

	for _, lang := range []string{"fr", "en"} {
		br.do("language "+lang, chromedp.Navigate(b.base+"/langue/"+lang+"?retour=/compte"))
		br.waitURL(`/compte$`)
		br.visit("Mon compte, messages ("+lang+")", b.base+"/compte")
		want := map[string][]string{"fr": {"Recevoir des messages", "06 12 34 56 78", "Un code a été envoyé à amina@exemple.fr"},
			"en": {"Receive messages", "06 12 34 56 78", "A code was sent to amina@exemple.fr"}}[lang]
		for _, w := range want {
			if !strings.Contains(br.text(), w) {
				t.Errorf("[%s] « Mon compte » lacks %q", lang, w)
			}
		}
		br.visit("Mes papiers, rappels ("+lang+")", b.base+"/papiers")
		want = map[string][]string{"fr": {"Rappels", "«\u00a0Carte de séjour pluriannuelle\u00a0» expire le", "service-public.fr", "«\u00a0Carte nationale d'identité\u00a0» expire le"},
			"en": {"Reminders", "“Carte de séjour pluriannuelle” expires on", "service-public.fr"}}[lang]
		for _, w := range want {
			if !strings.Contains(br.text(), w) {
				t.Errorf("[%s] « Mes papiers » lacks %q", lang, w)
			}
		}
	}

	// Without JavaScript's help: the code typed, then the reminder dismissed.
	rc, err = b.a.MessageRecipient(ctx, owner, email.ID)
	if err != nil {
		t.Fatal(err)
	}
	br.do("back to French", chromedp.Navigate(b.base+"/langue/fr?retour=/compte"))
	br.waitURL(`/compte$`)
	br.do("type the code",
		chromedp.SendKeys(chromedp.CSS("#code-email"), rc.Code),
		chromedp.Click(chromedp.CSS("form[action='/compte/messages/email/code'] button[type=submit]")))
	br.waitURL(`/compte\?messages=ok`)
	if s := br.text(); !strings.Contains(s, "C'est confirmé") || !strings.Contains(s, "amina@exemple.fr · Vous recevez les messages ici.") {
		t.Errorf("after typing the code: %s", s)
	}
	br.visit("Mon compte, deux moyens confirmés", b.base+"/compte")
	br.visit("Mes papiers (rappels)", b.base+"/papiers")
	// The answer is « Mes papiers » again: wait for the form to be gone, not for the address.
	dismiss := "form[action='/papiers/" + permit.ID.String() + "/rappel/masquer']"
	br.do("dismiss", chromedp.Click(chromedp.CSS(dismiss+" button")), chromedp.WaitNotPresent(chromedp.CSS(dismiss)),
		chromedp.WaitVisible(chromedp.CSS("main h1")))
	if s := br.text(); strings.Contains(s, "Carte de séjour pluriannuelle\u00a0» expire") || !strings.Contains(s, "Carte nationale d'identité\u00a0» expire") {
		t.Errorf("after dismissing the permit's reminder: %s", s)
	}
}

var testIP = netip.MustParseAddr("192.0.2.99") //nolint:gochecknoglobals // a test constant
