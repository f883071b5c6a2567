package notify

import (
	"fmt"
	"strings"
	"time"

	"coffre/vault"
	"coffre/vault/account"
)

// The words of every message, in French (plain words, one idea per sentence) and in
// English. Each body is a few sentences, one per line: an SMS puts them on one line after
// "Coffre : ", an e-mail one per line above a footer.

type wording struct {
	subject string // the e-mail's subject: never the kind of a paper (it shows on locked screens)
	lines   []string
}

// subjects names each kind of paper as the subject of "… expire le …".
var subjects = map[string]map[vault.Kind]string{ //nolint:gochecknoglobals // a constant table
	"fr": {
		vault.KindIdentite: "Votre pièce d'identité", vault.KindTitreSejour: "Votre titre de séjour",
		vault.KindDomicile: "Votre justificatif de domicile", vault.KindRessources: "Votre justificatif de ressources",
		vault.KindImpots: "Votre avis d'imposition", vault.KindCAF: "Votre attestation CAF",
		vault.KindFranceTravail: "Votre attestation France Travail", vault.KindSante: "Votre papier de santé",
		vault.KindFamille: "Votre papier de famille", vault.KindLogement: "Votre papier de logement",
		vault.KindBanque: "Votre papier de banque", vault.KindAutre: "Un de vos papiers",
	},
	"en": {
		vault.KindIdentite: "Your identity document", vault.KindTitreSejour: "Your residence permit",
		vault.KindDomicile: "Your proof of address", vault.KindRessources: "Your proof of income",
		vault.KindImpots: "Your tax notice", vault.KindCAF: "Your CAF certificate",
		vault.KindFranceTravail: "Your France Travail certificate", vault.KindSante: "Your health document",
		vault.KindFamille: "Your family document", vault.KindLogement: "Your housing document",
		vault.KindBanque: "Your bank document", vault.KindAutre: "One of your papers",
	},
}

var monthsFR = []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"} //nolint:gochecknoglobals // a constant table

func day(lang string, t time.Time) string {
	if lang == "fr" {
		return fmt.Sprintf("%d %s %d", t.Day(), monthsFR[t.Month()-1], t.Year())
	}
	return t.Format("2 January 2006")
}

func dayTime(lang string, t time.Time) string {
	t = t.In(paris)
	if lang == "fr" {
		return day(lang, t) + " à " + t.Format("15h04")
	}
	return day(lang, t) + " at " + t.Format("15:04")
}

var paris = func() *time.Location { //nolint:gochecknoglobals // loaded once
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	return time.UTC
}()

// facts is what a message names besides the event: the kind of paper and its expiry,
// when it happens or ends, who acted, the code.
type facts struct {
	kind vault.Kind
	at   time.Time
	who  string
	code string
}

// word returns the subject and lines of the message of what, in lang ("fr" or "en").
func word(lang string, what account.OwnerNotice, f facts) wording {
	if lang != "en" {
		lang = "fr"
	}
	fr := lang == "fr"
	pick := func(french, english string, args ...any) string {
		if fr {
			return fmt.Sprintf(french, args...)
		}
		return fmt.Sprintf(english, args...)
	}
	switch what {
	case account.NoticeCode:
		return wording{pick("Votre code pour Coffre", "Your code for Coffre"), []string{
			pick("Votre code de vérification est %s.", "Your verification code is %s.", f.code),
			pick("Tapez-le dans votre coffre, page « Mon compte ».", "Type it in your safe, on the “My account” page."),
			pick("Il marche %d minutes.", "It works for %d minutes.", int(account.CodeTTL/time.Minute)),
			pick("Ne le donnez à personne.", "Do not give it to anyone."),
		}}
	case account.NoticeExpiry:
		lines := []string{pick("%s expire le %s.", "%s expires on %s.", subjects[lang][f.kind], day(lang, f.at))}
		if page := f.kind.RenewalPage(); page != "" {
			lines = append(lines,
				pick("Demandez son renouvellement dès maintenant : la préfecture demande de le faire 2 à 4 mois avant.",
					"Apply to renew it now: the préfecture asks for it 2 to 4 months ahead."),
				pick("Les étapes sont expliquées sur le site officiel : %s", "The steps are explained on the official site (in French): %s", page))
		} else {
			lines = append(lines, pick("Pensez à demander le nouveau papier.", "Remember to ask for the new one."))
		}
		return wording{pick("Un de vos papiers expire le %s", "One of your papers expires on %s", day(lang, f.at)), lines}
	case account.NoticeRecoveryRequested:
		return wording{pick("Une demande d'accès à votre coffre", "A request to access your safe"), []string{
			pick("%s a demandé un nouveau code pour ouvrir votre coffre.", "%s asked for a new code to open your safe.", f.who),
			pick("Ce code marchera à partir du %s.", "This code will work from %s.", dayTime(lang, f.at)),
			pick("Si vous n'avez rien demandé, ouvrez votre coffre et annulez la demande.",
				"If you did not ask for it, open your safe and cancel the request."),
		}}
	case account.NoticeAccessRecovered:
		return wording{pick("L'accès à votre coffre a été rétabli", "Access to your safe was restored"), []string{
			pick("L'accès à votre coffre a été rétabli par %s.", "Access to your safe was restored by %s.", f.who),
			pick("Votre ancien mot de passe ne marche plus.", "Your old password no longer works."),
			pick("Si vous n'avez rien demandé, contactez vite la structure qui vous aide.",
				"If you did not ask for it, contact the organisation that helps you at once."),
		}}
	case account.NoticeMandateAsked:
		return wording{pick("Une demande de mandat", "A request for a mandate"), []string{
			pick("%s vous demande un mandat pour vous aider dans votre coffre.", "%s asks you for a mandate to help you in your safe.", f.who),
			pick("Pour répondre, ouvrez votre coffre.", "To answer, open your safe."),
			pick("Si vous ne connaissez pas cette structure, refusez.", "If you do not know this organisation, refuse."),
		}}
	case account.NoticeMandateGiven:
		return wording{pick("Vous avez donné un mandat", "You gave a mandate"), []string{
			pick("Vous avez donné un mandat à %s, jusqu'au %s.", "You gave a mandate to %s, until %s.", f.who, day(lang, f.at.In(paris))),
			pick("Vous pouvez l'arrêter quand vous voulez, dans votre coffre, page « Mon compte ».",
				"You can end it whenever you want, in your safe, on the “My account” page."),
		}}
	case account.NoticeMandateEnding:
		return wording{pick("Votre mandat s'arrête bientôt", "Your mandate ends soon"), []string{
			pick("Le mandat que vous avez donné à %s s'arrête le %s.", "The mandate you gave to %s ends on %s.", f.who, day(lang, f.at.In(paris))),
			pick("Pour le prolonger, voyez cette structure.", "To extend it, see this organisation."),
		}}
	case account.NoticeMandateEnded:
		return wording{pick("Un mandat est arrêté", "A mandate has ended"), []string{
			pick("%s a arrêté le mandat que vous lui aviez donné.", "%s ended the mandate you gave them.", f.who),
			pick("Cette structure ne peut plus agir dans votre coffre.", "This organisation can no longer act in your safe."),
		}}
	case account.NoticeNewDevice:
		return wording{pick("Une connexion depuis un nouvel appareil", "A sign-in from a new device"), []string{
			pick("Quelqu'un s'est connecté à votre coffre le %s, depuis un appareil nouveau pour Coffre.",
				"Someone signed in to your safe on %s, from a device new to Coffre.", dayTime(lang, f.at)),
			pick("Si c'est vous, il n'y a rien à faire.", "If it was you, there is nothing to do."),
			pick("Sinon, changez votre mot de passe et fermez les autres sessions, page « Mon compte ».",
				"Otherwise, change your password and end the other sessions, on the “My account” page."),
		}}
	case account.NoticeLinkOpened:
		return wording{pick("Un de vos liens de partage a été ouvert", "One of your share links was opened"), []string{
			pick("Un lien de partage que vous avez créé a été ouvert pour la première fois, le %s.",
				"A share link you made was opened for the first time, on %s.", dayTime(lang, f.at)),
			pick("Vous le voyez dans votre historique.", "You can see it in your history."),
		}}
	}
	return wording{}
}

// footer ends every e-mail: where it comes from, that it never carries a link, and how to
// stop it.
func footer(lang string) string {
	if lang == "en" {
		return "—\nThis message comes from Coffre, your digital safe. Our messages never contain a link: to open your safe, go to its usual address.\nTo receive no more messages here, remove this address on the “My account” page."
	}
	return "—\nCe message vient de Coffre, votre coffre-fort numérique. Nos messages ne contiennent jamais de lien : pour ouvrir votre coffre, allez à son adresse habituelle.\nPour ne plus recevoir de messages ici, retirez cette adresse page « Mon compte »."
}

// message puts a wording into the form of a channel.
func message(kind account.ChannelKind, to, lang string, w wording) Message {
	prefix := "Coffre : "
	if lang == "en" {
		prefix = "Coffre: "
	}
	if kind == account.ChannelSMS {
		return Message{To: to, Lang: lang, Text: prefix + strings.Join(w.lines, " ")}
	}
	return Message{To: to, Lang: lang, Subject: prefix + w.subject, Text: strings.Join(w.lines, "\n") + "\n\n" + footer(lang) + "\n"}
}
