// Package vault is the core of Coffre: owners, their encrypted documents, the keyring and
// the journal, on PostgreSQL and an S3-compatible blob store. It knows nothing of HTTP.
//
// # What it protects, and from whom
//
// Coffre keeps the papers of people who often have nothing else: an identity card, a
// residence permit, a tax notice. The law (article L.103 CPCE) asks that only the owner and
// the third parties they authorise can read them, that integrity and origin can be proven,
// and that every operation is traced and shown to the owner. The vault is built so that:
//
//   - A copy of the bucket reveals nothing. Each blob is encrypted with age to its owner's
//     own X25519 key, streaming, under a random object key: no name, type or owner in S3.
//     Tampering with a blob makes reading it fail (age authenticates every 64 KiB chunk);
//     substituting another valid ciphertext is caught by the SHA-256 of the plaintext
//     recorded at deposit and checked at the end of every full read.
//   - A dump of the database reveals no title, kind, file name or content. Owner keys
//     are stored wrapped (age-encrypted) to a master key that never enters the database;
//     titles, kinds of papers (a residence permit tells immigration status), file names,
//     link purposes and everything else personal are sealed with a per-owner data key
//     (XChaCha20-Poly1305), bound to their row so that they cannot be moved. The journal
//     copies nothing sealed elsewhere in clear (Event.Private). Only what jobs query
//     stays clear (dates, sizes, timestamps); lists filter after opening, since an owner
//     has hundreds of papers, not millions.
//   - An erased safe leaves nothing that identifies or authenticates the person: EraseDue
//     shreds the keys and deletes sign-in rows, links, grants and mandates in one
//     transaction, which frees the login and the FranceConnect identity.
//   - A database administrator cannot rewrite history unnoticed. The journal is one
//     SHA-256 hash chain per owner; the database refuses UPDATE and DELETE on it (only
//     the erasure of an entry's personal part, at the end of retention, is allowed, and
//     the chain covers that part only through a salted digest). Periodic checkpoints sign
//     the chain heads with the service's Ed25519 key, held outside the database, and chain
//     to each other; VerifyJournal checks all of it and names the first broken entry.
//   - Losing the database's master key file loses everything; destroying one owner's
//     wrapped keys (crypto-shredding) makes all their blobs unreadable, including copies in
//     backups and bucket versions.
//
// The operator who holds both the master key file and the database can read documents:
// the vault does not defend against that, but every read goes through the journal.
//
// # Using it
//
// A Vault is built with New from a migrated database (package migrations), a BlobStore
// (S3Store or FSStore) and a Keyring loaded from the master key file. Every method takes
// the owner's ID and an Actor (who acts, from which address); a document ID that is not
// the owner's gives ErrNotFound and a failed-attempt entry in the journal of the owner it
// belongs to.
//
// Deposits write the blobs first (each behind an upload marker) and then commit the
// document, its blobs and the journal entry in one transaction: a crash leaves at most an
// orphan object, which ReapUploads deletes after a grace period, never a row pointing at
// nothing.
package vault
