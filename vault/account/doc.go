// Package account is how owners sign in to their safe: accounts (secret and language),
// sessions, passkeys and their WebAuthn ceremonies (also used for the OpenID Connect
// state), FranceConnect identities, temporary codes given at a desk and access
// recoveries, and the sign-in throttling shared by owners, agents and share-link
// guesses; and how owners are reached outside the app: their channels (an e-mail address,
// a mobile number, each verified by a code), the notices they were told of once each,
// and the kinds of device they sign in from. It owns the tables accounts, sessions,
// passkeys, webauthn_ceremonies, openid_identities, access_codes, recoveries,
// login_throttle, channels, notices and known_devices, each in a file named after it.
//
// Messages leave through River jobs (MessageArgs) enqueued in the transaction of what
// they tell of (notifyOwner, NotifyTx), one per verified channel and once per event;
// package notify words and sends them, and journals each one.
//
// It builds on package vault, which never imports it: owners and their keys come from the
// vault (CreateOwnerTx, Owner, a Sealer for what is kept sealed), every change is
// journaled with vault.RecordTx in its own transaction, and a Service is handed to the
// vault as a vault.Participant (account.go), so that in the vault's transaction closing a
// safe ends its sessions and waiting recovery, and erasing it deletes every row that lets
// someone in as the person or reach them (sign-in, channels, notices, known devices) and
// frees their login and FranceConnect identity. A master-key rotation has nothing to
// re-wrap here: what these tables keep sealed is sealed with the owner's data key, which
// the vault re-wraps with the owner.
//
// Every secret typed by someone not signed in (owners' sign-in, the secret typed at an
// agent's desk, a recovery code, agents' passwords) is one attempt, counted before the
// secret is checked and given back on success (TakeAttempt), so that a burst of guesses
// stops at the limit; every argon2id computation runs in one of a few slots per Service
// (one per process), and one that waits too long for its slot is ErrBusy.
//
// Time comes from Config.Now: session ends, lockouts, ceremonies, temporary codes and
// recoveries are decided with it and passed to SQL as parameters.
package account
