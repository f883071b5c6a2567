package notify

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/i18n"
)

// The words of every message are in coffre/vault/i18n with the pages' (keys notify.*), in
// every language Coffre speaks, in plain words, one idea per sentence. Each body is a
// few sentences, one per line: an SMS puts them on one line after "Coffre : ", an e-mail
// one per line above a footer.

type wording struct {
	subject string // the e-mail's subject: never the kind of a paper (it shows on locked screens)
	lines   []string
}

// facts is what a message names besides the event: the kind of paper and its expiry,
// when it happens or ends, who acted, the code.
type facts struct {
	kind vault.Kind
	at   time.Time
	zone string // the owner's (account.Location): at is told in its time
	who  string
	code string
}

// local is at in the owner's time.
func (f facts) local() time.Time { return f.at.In(account.Location(f.zone)) }

// word returns the subject and lines of the message of what, in lang (French if Coffre
// does not speak it).
func word(lang string, what account.OwnerNotice, f facts) wording {
	if !i18n.Valid(lang) {
		lang = "fr"
	}
	t := func(id string, args ...any) string { return i18n.Text(lang, "notify."+id, args...) }
	loc := i18n.LocaleOf(lang)
	switch what {
	case account.NoticeCode:
		return wording{t("code.subject"), []string{t("code.1", f.code), t("code.2"), t("code.3", int(account.CodeTTL/time.Minute)), t("code.4")}}
	case account.NoticeExpiry:
		lines := []string{capitalize(t("expiry.1", i18n.Text(lang, "reminder.subject."+string(f.kind)), loc.Date(f.at)))}
		if page := f.kind.RenewalPage(); page != "" {
			lines = append(lines, t("expiry.permit1"), t("expiry.permit2", page))
		} else {
			lines = append(lines, t("expiry.renew"))
		}
		return wording{t("expiry.subject", loc.Date(f.at)), lines}
	case account.NoticeRecoveryRequested:
		return wording{t("recovery_requested.subject"), []string{t("recovery_requested.1", f.who), t("recovery_requested.2", loc.DateTime(f.local())), t("recovery_requested.3")}}
	case account.NoticeAccessRecovered:
		return wording{t("access_recovered.subject"), []string{t("access_recovered.1", f.who), t("access_recovered.2"), t("access_recovered.3")}}
	case account.NoticeMandateAsked:
		return wording{t("mandate_asked.subject"), []string{t("mandate_asked.1", f.who), t("mandate_asked.2"), t("mandate_asked.3")}}
	case account.NoticeMandateGiven:
		return wording{t("mandate_given.subject"), []string{t("mandate_given.1", f.who, loc.Date(f.local())), t("mandate_given.2")}}
	case account.NoticeMandateEnding:
		return wording{t("mandate_ending.subject"), []string{t("mandate_ending.1", f.who, loc.Date(f.local())), t("mandate_ending.2")}}
	case account.NoticeMandateEnded:
		return wording{t("mandate_ended.subject"), []string{t("mandate_ended.1", f.who), t("mandate_ended.2")}}
	case account.NoticeNewDevice:
		return wording{t("new_device.subject"), []string{t("new_device.1", loc.DateTime(f.local())), t("new_device.2"), t("new_device.3")}}
	case account.NoticeIssuerDeposit:
		return wording{t("issuer_deposit.subject"), []string{t("issuer_deposit.1", f.who), t("issuer_deposit.2"), t("issuer_deposit.3")}}
	case account.NoticeLinkOpened:
		return wording{t("link_opened.subject"), []string{t("link_opened.1", loc.DateTime(f.local())), t("link_opened.2")}}
	}
	return wording{}
}

// capitalize starts a sentence with a capital, whatever word starts it.
func capitalize(s string) string {
	if c, size := utf8.DecodeRuneInString(s); c != utf8.RuneError {
		return string(unicode.ToUpper(c)) + s[size:]
	}
	return s
}

// footer ends every e-mail: where it comes from, that it never carries a link, and how to
// stop it.
func footer(lang string) string {
	return "—\n" + i18n.Text(lang, "notify.footer1") + "\n" + i18n.Text(lang, "notify.footer2")
}

// wordFor is word for rc: by SMS, a name (f.who: a structure, an agent) that alone would
// send a French or English message in UCS-2 is respelled in GSM's letters (i18n.GSMSpelling).
// A message in a language GSM cannot write keeps the name as written.
func wordFor(rc *account.Recipient, what account.OwnerNotice, f facts) wording {
	if rc.Kind == account.ChannelSMS && f.who != "" && gsmWithout(rc.Language, what, f) {
		f.who = i18n.GSMSpelling(f.who)
	}
	return word(rc.Language, what, f)
}

// gsmWithout tells whether the SMS of what, in lang, is written in GSM 03.38's alphabet
// but for the name it carries (f.who): French and English are, Spanish and Arabic are not.
func gsmWithout(lang string, what account.OwnerNotice, f facts) bool {
	f.who = ""
	_, outside := i18n.GSMSeptets(message(account.ChannelSMS, "", lang, word(lang, what, f)).Text)
	return len(outside) == 0
}

// message puts a wording into the form of a channel. A text message has plain spaces
// only (i18n.ForSMS): French's no-break spaces would make it cost twice as much. Its
// words, in French and English, keep to the GSM alphabet for the same reason
// (TestSMSAlphabet): a new line in those languages says it without ê, ô, î, â, ç, œ.
func message(kind account.ChannelKind, to, lang string, w wording) Message {
	prefix := i18n.Text(lang, "notify.prefix")
	if kind == account.ChannelSMS {
		return Message{To: to, Lang: lang, Text: i18n.ForSMS(prefix + strings.Join(w.lines, " "))}
	}
	return Message{To: to, Lang: lang, Subject: prefix + w.subject, Text: strings.Join(w.lines, "\n") + "\n\n" + footer(lang) + "\n"}
}
