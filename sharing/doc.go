// Package sharing gives people other than the owner access to documents, always with the
// owner's consent and always traced in the owner's journal: share links (capability URLs
// for a person at a counter), and later téléservice grants and aidant mandates.
//
// A link is a 256-bit random token in a URL; only its SHA-256 is stored. It is scoped to
// chosen documents, expires (1 hour, 24 hours or 7 days), may carry a download limit that
// holds exactly under concurrency, and may require a 6-digit code said aloud, locked
// after five wrong tries. Unknown, expired, revoked, exhausted and locked links all give
// the same ErrUnavailable, so that a guesser learns nothing.
package sharing
