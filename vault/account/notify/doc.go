// Package notify sends the messages that tell owners, outside the app, of what happened
// and what to do: a paper that expires soon, a recovery of their access at a CCAS, a
// mandate asked for, given or ending, a sign-in from a new device, a share link opened
// for the first time, and the codes that verify a new channel.
//
// What to tell and to whom is decided elsewhere, in the transaction of what happened:
// package account records each event once (its notices) and enqueues one River job per
// verified channel of the owner (account.MessageArgs). This package works those jobs
// (AddWorkers): it reads and opens the channel's address, checks the message still holds
// (a channel removed, a paper replaced or deleted, a safe closed: nothing is sent),
// words it in the owner's language, hands it to the Sender of the channel's kind, and
// journals it in the owner's history (account.ActionMessageSent). It also runs the
// periodic job that finds what is due without anyone acting (Scan): papers reaching a
// milestone before their expiry (vault.DueReminders, each owner's days counted where
// they live) and mandates ending within a month. What can wait waits for the day where
// the person lives (daytime.go): its job is snoozed until 9:00 there.
//
// A job leaves its message once: River runs each unique job once across every process,
// and the job is marked done in the transaction that journals the message. Only if the
// database fails between the send and that transaction is the message sent again, and
// journaled once.
//
// # What a message says
//
// What happened, in one idea per sentence, and what to do; never what a paper holds,
// never its title (free text that may name a person, a number or a situation, read on a
// locked screen or a shared phone, and by the mail or SMS provider on the way), only its
// kind when that is the news ("Votre titre de séjour expire le 12 mars 2027."). No
// message carries a link to Coffre, signing in or not: people learn that a message with
// a link is not from us. The one address a message may name is the administration's
// official page on renewing a residence permit (vault.ResidencePermitPage).
//
// # Senders
//
// A Sender delivers one Message. SMTP sends e-mail (STARTTLS when the server offers it,
// or required, or implicit TLS); HTTPSMS posts one JSON document to an SMS gateway:
//
//	POST COFFRE_SMS_URL
//	Authorization: Bearer COFFRE_SMS_TOKEN
//	Content-Type: application/json
//
//	{"to": "+33612345678", "text": "Coffre : votre code est 123456. …"}
//
// answered with any 2xx once the provider has taken the message. A real French SMS
// provider is plugged in behind that interface by a small adapter (see the README).
// Errors never carry an address or a text: a server's answer may quote the address, and
// River keeps job errors in its table.
package notify
