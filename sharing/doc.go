// Package sharing gives people other than the owner access to documents, always with the
// owner's consent and always traced in the owner's journal: share links (capability URLs
// for a person at a counter), téléservice grants (« Choisir dans mon coffre »), and
// aidants (agents of a CCAS, France Services or association) acting under a mandate.
//
// Issuers (« Recevoir mes papiers ») are clients registered with kinds they may deposit:
// a person consents once through the authorization endpoint (Subscribe), and the issuer
// then deposits through that subscription with a deposit token (DepositToken,
// DepositThrough): write-only, idempotent by key, receipted, journaled, stopped by the
// person (StopSubscription) or by the safe's closure.
//
// A link is a 256-bit random token in a URL; only its SHA-256 is stored. It is scoped to
// chosen documents, expires (1 hour, 24 hours or 7 days), may carry a download limit that
// holds exactly under concurrency, and may require a 6-digit code said aloud, locked
// after five wrong tries. Unknown, expired, revoked, exhausted and locked links all give
// the same ErrUnavailable, so that a guesser learns nothing.
//
// A link or a grant may carry a watermark (watermark.go): a text naming the recipient, the
// purpose and the date, written across every page of what it gives (package web makes the
// marked copy at each download, with ingest.Watermark). The safe keeps the clean paper.
// The text is sealed like the purpose, journaled sealed with each download it marks, and
// named in the receipt with the marked copy's hash.
//
// # What an agent may do in someone's safe
//
// One function decides, Authorize, and every agent action calls it (the web on each
// request, and the Agent* methods, GrantMandate and the recovery methods themselves). A
// refusal is one failed-attempt entry in the person's history and the same
// vault.ErrNotFound as a missing safe, so that an agent learns nothing of safes they may
// not reach. A closed safe answers nobody but its owner: closing it ends every mandate,
// pending requests included, in the closing transaction, and Authorize refuses it even if
// a mandate row were still live.
//
// An agent reaches a safe (ScopeReach: look its login up, see it, ask for a mandate) only
// if their structure opened it at its desk (until the person ends a mandate of that
// structure: they no longer want its help), holds a live mandate from the person, or the
// person has just unlocked it at this agent's desk by typing their secret (DeskUnlock, or
// the consent by secret itself; DeskUnlockTTL, kept in PostgreSQL so that every instance
// honours it). The temporary code an agent printed on an access card is no consent and
// unlocks nothing (ErrTemporarySecret): the person chooses their own secret first, then
// types it or confirms from their phone. What gives an agent a way in is written under a
// lock of the owner's row (vault.CheckOpenTx, vault.LockOpenAlone), so that a closure at
// the same moment ends it or refuses it.
//
// A mandate is given by the person to a structure for scopes they tick one by one and a
// duration (1 day to 12 months), with the evidence of consent and the version of the
// text shown: deposit, read, share, and recover. Share lets an agent list the titles to
// pick what to send, so that listing is journaled like a read one. No mandate ever allows
// deleting, exporting, or changing the person's credentials.
//
// Access recovery is never implied. With ScopeRecover, which the person ticks knowingly,
// RecoverAccess gives a new temporary code at once. Without it, an agent whose structure
// reaches the safe may check an identity document at the desk and record what
// (RecoverAfterIdentityCheck): the code works only RecoveryWait later, and until then every
// page of the owner shows the request with a button to cancel it. When a recovery takes
// effect, the owner's passkeys and sessions end and they are told at their next sign-in,
// and by the channels they chose (e-mail, SMS: package account's notices).
//
// The owner is told that way too when a structure asks for a mandate, when one starts,
// when a structure ends it (not when the owner does), when it ends within a month (the
// notice job of package notify), and, if they asked for it, when one of their links is
// first opened: account.NotifyTx inside the transaction that does it, once per event.
//
// # Time
//
// Every time that decides something (a link's or a code's expiry, a mandate's start and
// end, a TOTP step, a desk unlock, an agent session's idle time) comes from Config.Now
// and is passed to SQL as a parameter, never read from PostgreSQL's now(): tests move the
// clock (vaulttest.Clock) instead of sleeping or rewriting rows.
//
// # Where things are
//
// Each table sharing owns has one file named after it that holds all its SQL and the
// small functions over its rows; a statement that needs another table's fact composes
// the fragment that table's file gives (liveScopesSQL, openedSQL, unlockedSQL,
// structureOfAgent), and vault's tables are reached only through vault's methods
// (vault.SafeOpenSQL for "is the safe open?" inside a statement). The concepts live in
// files of their own:
//
//   - service.go: Config, Service and its clock; participant.go: what closing and
//     erasing a safe end (vault.Participant).
//   - link.go: share links (tokens, codes said aloud, downloads); links.go: the tables
//     links and link_documents; watermark.go: the text written across what is given.
//   - grant.go: « Choisir dans mon coffre » (OAuth 2.0 with PKCE, RFC 9396 details, client
//     assertions); grants.go, client_assertions.go: their tables; client.go: registering
//     and authenticating téléservices; clients.go: the table clients.
//   - subscriptions.go, subscription_deposits.go: « Recevoir mes papiers », each over its
//     table; receipt.go, jws.go: signed receipts of deliveries and deposits.
//   - aidant.go: the errors and roles of aidants; structures.go, siret.go: structures and
//     their SIRET; agents.go: the table agents; agent_signin.go, totp.go: an agent's
//     sign-in (password, TOTP, ProConnect); agent_sessions.go: their sessions.
//   - scope.go: what an agent may ask to do; authorize.go: Authorize, the one decision;
//     mandate.go: giving, confirming and ending mandates; mandates.go: the table mandates;
//     unlock.go, desk_unlocks.go: the person's secret typed at the desk; desk.go: opening
//     a safe at the desk and access recovery; assisted_openings.go: the safes a structure
//     opened; agent_actions.go: what an agent does in a safe under a mandate.
//   - stats.go: a structure's figures by month; notices.go: what the owner is told;
//     aidant_pdf.go, qr.go: access cards and mandate receipts on paper.
package sharing
