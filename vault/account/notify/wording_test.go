package notify

import (
	"errors"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/i18n"
)

// allNotices are every notice a person can get.
var allNotices = []account.OwnerNotice{account.NoticeCode, account.NoticeExpiry, account.NoticeRecoveryRequested, //nolint:gochecknoglobals // a constant list
	account.NoticeAccessRecovered, account.NoticeMandateAsked, account.NoticeMandateGiven, account.NoticeMandateEnding,
	account.NoticeMandateEnded, account.NoticeNewDevice, account.NoticeLinkOpened, account.NoticeIssuerDeposit}

// Every notice has words in every language Coffre speaks, one sentence per line, with no link but the
// official page on renewing a residence permit, and a subject that never names a kind.
func TestWording(t *testing.T) {
	at := time.Date(2027, 3, 12, 0, 0, 0, 0, time.UTC)
	for _, lang := range i18n.Languages {
		for _, what := range allNotices {
			kinds := []vault.Kind{""}
			if what == account.NoticeExpiry {
				kinds = vault.Kinds
			}
			for _, k := range kinds {
				w := word(lang, what, facts{kind: k, at: at, who: "CCAS de Lille", code: "123456"})
				if len(w.lines) == 0 || w.subject == "" {
					t.Fatalf("[%s] %s: no words", lang, what)
				}
				for _, l := range w.lines {
					if k == vault.KindTitreSejour && strings.HasSuffix(l, ": "+vault.ResidencePermitPage) && strings.Count(l, "http") == 1 {
						continue // the official page, the one address a message may name
					}
					if strings.Contains(l, "http") {
						t.Errorf("[%s] %s (%s): a link: %q", lang, what, k, l)
					}
					if !strings.HasSuffix(l, ".") || strings.Contains(l, "%!") || strings.Contains(l, "  ") {
						t.Errorf("[%s] %s (%s): %q is not one sentence", lang, what, k, l)
					}
				}
				if k != "" && (strings.Contains(strings.ToLower(w.subject), "séjour") || strings.Contains(strings.ToLower(w.subject), "permit")) {
					t.Errorf("[%s] the subject names the kind: %q", lang, w.subject)
				}
				sms := message(account.ChannelSMS, "+33612345678", lang, w)
				mail := message(account.ChannelEmail, "a@b.fr", lang, w)
				if strings.Contains(sms.Text, "\n") || !strings.HasPrefix(sms.Text, "Coffre") || sms.Subject != "" {
					t.Errorf("[%s] %s: the SMS %q", lang, what, sms.Text)
				}
				if strings.ContainsAny(sms.Text, "\u00a0\u202f") {
					t.Errorf("[%s] %s: the SMS has a no-break space, not in the GSM alphabet: %q", lang, what, sms.Text)
				}
				if !strings.HasPrefix(mail.Subject, "Coffre") || !strings.Contains(mail.Text, "—\n") {
					t.Errorf("[%s] %s: the e-mail %q", lang, what, mail.Subject)
				}
			}
		}
	}
	if w := word("fr", account.NoticeExpiry, facts{kind: vault.KindTitreSejour, at: at}); w.lines[0] != "Votre titre de séjour expire le 12 mars 2027." ||
		!strings.HasSuffix(w.lines[len(w.lines)-1], vault.ResidencePermitPage) {
		t.Errorf("the permit's reminder: %q", w.lines)
	}
	if w := word("en", account.NoticeExpiry, facts{kind: vault.KindIdentite, at: at}); w.lines[0] != "Your identity document expires on 12 March 2027." {
		t.Errorf("the English reminder: %q", w.lines)
	}
	if w := word("ar", account.NoticeExpiry, facts{kind: vault.KindIdentite, at: at}); w.lines[0] != "بطاقة هويتك تنتهي صلاحيتها يوم 12 مارس 2027." || w.subject != "إحدى أوراقك تنتهي صلاحيتها يوم 12 مارس 2027" {
		t.Errorf("the Arabic reminder: %q %q", w.subject, w.lines)
	}
	// The French code: GSM's characters only by SMS (plain spaces, straight quotes), so that
	// it goes out as one 160-character part; French spaces and guillemets by e-mail.
	w := word("fr", account.NoticeCode, facts{code: "123456"})
	sms := message(account.ChannelSMS, "+33612345678", "fr", w).Text
	if !strings.HasPrefix(sms, "Coffre : Votre code de vérification est 123456.") || !strings.Contains(sms, `page "Mon compte".`) {
		t.Errorf("the French code by SMS: %q", sms)
	}
	if septets, outside := i18n.GSMSeptets(sms); len(outside) > 0 || septets > 160 {
		t.Errorf("the French code by SMS is not one part in the GSM 03.38 alphabet: %d septets, %q outside: %q", septets, string(outside), sms)
	}
	if mail := message(account.ChannelEmail, "a@b.fr", "fr", w); mail.Subject != "Coffre\u00a0: Votre code pour Coffre" ||
		!strings.Contains(mail.Text, "page «\u00a0Mon compte\u00a0».") {
		t.Errorf("the French code by e-mail: %q %q", mail.Subject, mail.Text)
	}
	// An hour is told in the owner's time: 03:30 UTC is 23:30 the day before in
	// Martinique, 07:30 in La Réunion, 04:30 in Paris when nothing is chosen; an expiry
	// day stays its day.
	signedIn := time.Date(2026, 12, 1, 3, 30, 0, 0, time.UTC)
	for zone, want := range map[string]string{"America/Martinique": "le 30 novembre 2026 à 23h30,", "Indian/Reunion": "le 1er décembre 2026 à 07h30,", "": "le 1er décembre 2026 à 04h30,"} {
		if w := word("fr", account.NoticeNewDevice, facts{at: signedIn, zone: zone}); !strings.Contains(w.lines[0], want) {
			t.Errorf("a sign-in in %q: %q, want %q", zone, w.lines[0], want)
		}
	}
	if w := word("fr", account.NoticeExpiry, facts{kind: vault.KindIdentite, at: at, zone: "America/Cayenne"}); !strings.Contains(w.lines[0], "12 mars 2027") {
		t.Errorf("an expiry in Guyane: %q", w.lines)
	}
	// A language Coffre does not speak gets French.
	if w := word("de", account.NoticeCode, facts{code: "123456"}); w.lines[0] != "Votre code de vérification est 123456." {
		t.Errorf("the reminder in an unknown language: %q", w.lines)
	}
}

// A server's refusal is reported by its code only (its text may quote the address), and
// a 5xx refusal is for good.
func TestSMTPErrors(t *testing.T) {
	err := smtpError("RCPT", &textproto.Error{Code: 550, Msg: "5.1.1 <amina@exemple.fr>: unknown user"})
	if !errors.Is(err, ErrPermanent) || strings.Contains(err.Error(), "amina") || !strings.Contains(err.Error(), "550") {
		t.Errorf("a 550: %v", err)
	}
	err = smtpError("RCPT", &textproto.Error{Code: 451, Msg: "4.7.1 <amina@exemple.fr>: try later"})
	if errors.Is(err, ErrPermanent) || strings.Contains(err.Error(), "amina") {
		t.Errorf("a 451: %v", err)
	}
}

// TestSMSAlphabet: every text message Coffre sends in French or English, whatever the
// notice, the kind of paper and the month of its date, has only characters of the GSM
// 03.38 alphabet (i18n.GSMSeptets): one ê, ô or “ would send it in UCS-2, 70 characters a
// part instead of 160. The French messages of a mandate and of a deposit said « arrêter »,
// « dépôts »; a date in August, « août ». Spanish, Romanian and Portuguese go in UCS-2
// (i18n's TestSMSAlphabet says why).
func TestSMSAlphabet(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		for _, what := range allNotices {
			kinds := []vault.Kind{""}
			if what == account.NoticeExpiry {
				kinds = vault.Kinds
			}
			for _, k := range kinds {
				for m := time.January; m <= time.December; m++ {
					at := time.Date(2027, m, 1, 7, 44, 0, 0, time.UTC)
					w := word(lang, what, facts{kind: k, at: at, who: "CCAS de Lille", code: "123456"})
					sms := message(account.ChannelSMS, "+33612345678", lang, w).Text
					if _, outside := i18n.GSMSeptets(sms); len(outside) > 0 {
						t.Errorf("[%s] %s (%s): %q is not in the GSM alphabet: %q", lang, what, k, string(outside), sms)
					}
				}
			}
		}
	}
}

// TestSMSNamesInGSM: a structure whose name has a letter GSM lacks (Mâcon, Besançon)
// no longer sends a French or English SMS in UCS-2: the name is respelled in the SMS
// only; the e-mail, and an SMS in a language GSM cannot write, keep it as written.
func TestSMSNamesInGSM(t *testing.T) {
	at := time.Date(2027, 3, 1, 7, 44, 0, 0, time.UTC)
	for _, c := range []struct {
		lang, who, want string
		kind            account.ChannelKind
	}{
		{"fr", "CCAS de Mâcon", "CCAS de Macon", account.ChannelSMS},
		{"fr", "France Services de Besançon", "France Services de Besancon", account.ChannelSMS},
		{"en", "CCAS de Nîmes (Hôtel de ville)", "CCAS de Nimes (Hotel de ville)", account.ChannelSMS},
		{"fr", "CCAS de Saint-Étienne", "CCAS de Saint-Étienne", account.ChannelSMS},
		{"fr", "CCAS de Mâcon", "CCAS de Mâcon", account.ChannelEmail},
		{"es", "CCAS de Mâcon", "CCAS de Mâcon", account.ChannelSMS},
		{"ar", "CCAS de Mâcon", "CCAS de Mâcon", account.ChannelSMS},
	} {
		rc := &account.Recipient{Kind: c.kind, Language: c.lang}
		msg := message(c.kind, "+33612345678", c.lang, wordFor(rc, account.NoticeMandateGiven, facts{at: at, who: c.who}))
		if !strings.Contains(msg.Text, c.want) {
			t.Errorf("[%s, %s] %q: want %q in %q", c.lang, c.kind, c.who, c.want, msg.Text)
		}
		if _, outside := i18n.GSMSeptets(msg.Text); c.kind == account.ChannelSMS && (c.lang == "fr" || c.lang == "en") && len(outside) > 0 {
			t.Errorf("[%s] %q: %q outside GSM in %q", c.lang, c.who, string(outside), msg.Text)
		}
	}
}
