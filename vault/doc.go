// Package vault is the core of Coffre: owners, their encrypted documents, the keyring and
// the journal, on PostgreSQL and an S3-compatible blob store. It knows nothing of HTTP.
//
// # Tables and participants
//
// The vault owns the tables owners, documents, blobs, blob_uploads, journal,
// journal_heads, journal_checkpoints, journal_checkpoint_heads, master_keys (and the view
// master_key_uses), service_notices, dismissed_reminders, reading_consents,
// document_texts and search_terms, and holds all their SQL, each in a file named after
// its table; other packages call its methods. It also decides when a paper's expiry is
// near enough to recall (reminders.go: Reminders for the owner's page, DueReminders for
// the job that tells owners, package notify). How owners sign in (accounts,
// sessions, passkeys, FranceConnect identities, temporary codes, recoveries, throttling)
// is package vault/account; links, grants and mandates are package sharing. Both keep rows
// about owners in their own tables, so the work that must happen in one transaction with
// the vault's goes through a Participant, which they implement and the program hands to
// the vault where it is wired (AddParticipant): closing a safe (CloseSafe: sessions,
// links, grants, mandates and waiting recoveries end), erasure (EraseDue: every row that
// identifies the person goes) and master-key rotation (Rewrap: agents' TOTP secrets are
// re-wrapped). Other cross-package transactions go through methods that take a pgx.Tx
// (RecordTx, CreateOwnerTx, LockOwner, CheckOpenTx, LockOpenAlone, MarkActivatedTx), and
// personal values another package keeps are sealed with the owner's data key through
// Seal or a Sealer.
//
// Whether a safe is open (not closed, not erased) is decided by CheckOpen (CheckOpenTx
// inside a transaction, LockOpenAlone when its callers must also wait for each other),
// which every path that acts on a safe calls. What lets someone other than the owner in
// (a mandate, a link, a temporary code, a desk unlock, a waiting recovery) is written
// after CheckOpenTx in the same transaction, so that a closure ends it or refuses it.
//
// Time comes from the clock in Config (Now): expiries, retention, the reaper's grace,
// purges and checkpoints are read from it and passed to SQL as parameters, so that tests
// move time (vaulttest.Clock) instead of sleeping or rewriting timestamps.
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
//   - The blob row that records that SHA-256 cannot be changed either. Each row carries an
//     HMAC-SHA256 of its owner, document, blob ID, role, position, media type, size and
//     SHA-256, under a key derived (HKDF) from the owner's data key, which the database
//     holds only wrapped to the master key. Every read, document listing and export
//     checks it before anything is served or a receipt can be signed from it: someone
//     who can write to the database and the bucket cannot re-point a row at another
//     object, change its hash and size, swap originals and renditions or pages, or move
//     a file to another document. A failed check is an ErrIntegrity error, journaled in
//     the owner's history. A MAC rather than the file hashes in the journal's deposit
//     entry: the check is one HMAC on the row being read, where the journal would mean
//     finding the entry and walking the chain to a signed checkpoint on every read, and
//     would leave unprotected every deposit made since the last checkpoint (a chain can
//     be recomputed up to there by whoever writes to the database). Rows written before
//     the MAC existed (migration 00008) get theirs once, at the first start of a vault
//     that holds the master key, taken as they are then; a journal entry in the service's
//     chain records it, and a row without a MAC after that is refused. Limits: deleting
//     a row still makes a file disappear; an object swapped behind an intact row is
//     caught at the end of the read, after the first bytes were sent (the response is
//     then cut off); and the document row itself (kind, dates, depositor) is not covered.
//   - A dump of the database reveals no title, kind, file name or content. Owner keys
//     are stored wrapped (age-encrypted) to a master key that never enters the database;
//     titles, kinds of papers (a residence permit tells immigration status), file names,
//     link purposes, the facts a paper's 2D-Doc carries (proof.go) and everything else
//     personal are sealed with a per-owner data key
//     (XChaCha20-Poly1305), bound to their row so that they cannot be moved. The journal
//     copies nothing sealed elsewhere in clear (Event.Private). Only what jobs query
//     stays clear (dates, sizes, timestamps); lists filter after opening, since an owner
//     has hundreds of papers, not millions.
//   - Papers are read (OCR) only for an owner who asked for it (SetReading), on the
//     service's own machines, never by a remote service; turning it off erases every
//     text read in the same transaction. The text and what recognition suggests (kind,
//     dates, the last four characters of a document number) are sealed like titles,
//     bound to their document (document_texts); nothing is written to a temporary file
//     or a log.
//   - Search answers from a blind index (search_terms) without a word in clear. Each
//     word of a paper's title, kind and text is normalised (lower case, no accents, no
//     plural s, at least two characters, the commonest words left out) and stored as
//     the first 128 bits of its HMAC-SHA256 under a search key derived (HKDF, its own
//     label) from the owner's data key; a search hashes the words typed the same way.
//     A dump of the table reveals, for each owner, how many distinct words each paper
//     has, which of their papers share a word (papers of one kind share its name's
//     terms) and, by counting, how common each (unknown) word is among their papers;
//     someone watching queries sees which terms a search looks up and which papers it
//     finds. It does not reveal any word, nor whether two owners share one (each owner
//     has their own key), nor anything to someone without the master key: guessing a
//     word means computing its HMAC under a key the database holds only wrapped. Whole
//     words only: indexing prefixes (« pass » for « passeport ») would store one term
//     per prefix, telling each word's length and which words begin alike, for a search
//     that people can do by typing the whole word; accents, capitals and plurals, the
//     usual differences, are folded instead. Kinds are indexed by their French and
//     English names; a word that names a kind in another language Coffre speaks
//     (search.kind.* in the catalogues) is looked up with that kind's English name
//     (kindKeys) as an alternative, so that nothing needs indexing again when a
//     language or a word is added. Someone watching queries then also sees that a
//     search holds such a word, and the term of that kind's English name: whoever could
//     tell which kind it is (the order of the alternatives follows the kinds') learns,
//     with a dump of the table, which of that person's papers are of that kind, as a
//     search for the kind's French name always showed. For an owner with 1,000 papers
//     of about 300 words each, a search takes 6 ms, of which 1.1 ms for the indexed
//     query (medians, BenchmarkSearch, index of 2.2 million terms).
//   - An erased safe leaves nothing that identifies or authenticates the person: EraseDue
//     shreds the keys and, through the participants, deletes sign-in rows, links, grants
//     and mandates in one transaction, which frees the login and the FranceConnect
//     identity.
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
// # Master keys and their rotation
//
// The master key file holds age identities, newest first; it never enters the database.
// The database records their public recipients (master_keys), names the current one (the
// newest not retired) and lists everything wrapped to each (the view master_key_uses:
// owners' identities and data keys, agents' TOTP secrets). It is the one truth that all
// processes share: each wraps new secrets to the current key the database names, and
// reads its key file again when it meets a key it does not hold, so a running process
// follows a rotation without a restart once its key file is updated. A process wraps only
// to a key its own file holds: someone who can write to the database cannot register a
// key of theirs and collect new secrets (a process missing the current key refuses to
// wrap, with ErrWrongMasterKey). New refuses a key file that lacks a key something is
// still wrapped to, or the current one, and names the key.
//
// A rotation ('coffre keys rotate', in two runs) adds a new key at the head of the file
// (AddMasterKey), which the operator copies to every instance; then registers it
// (RegisterMasterKey), after which every process wraps to it; then re-wraps what the
// older keys wrap (Rewrap, and through the participants sharing's RewrapAgentSecrets) and
// retires each older key once nothing is wrapped to it. The database itself refuses to
// retire a key anything is still wrapped to, and to wrap anything to a retired key,
// whatever process or person runs the statement: a retired key can leave every key file (an offline copy stays
// useful for restoring backups from before the rotation).
//
// # Using it
//
// A Vault is built with New from a Config: a migrated database (package migrations), a
// BlobStore (S3Store or FSStore), a Keyring loaded from the master key file and a clock;
// then the participants are added (AddParticipant). Every method takes
// the owner's ID and an Actor (who acts, from which address); a document ID that is not
// the owner's gives ErrNotFound and a failed-attempt entry in the journal of the owner it
// belongs to.
//
// Deposits write the blobs first (each behind an upload marker) and then commit the
// document, its blobs and the journal entry in one transaction: a crash leaves at most an
// orphan object, which ReapUploads deletes after a grace period, never a row pointing at
// nothing. No object is deleted while a row may reference it: a deposit whose COMMIT got
// no clear answer checks on a fresh connection whether its document is there and, if it
// cannot tell, leaves its files to the reaper; the reaper and PurgeDeleted commit the
// claim on an object (or the removal of its rows) before they delete it, so a
// transaction of theirs that rolls back has deleted nothing. The pages of a paper built
// one photo at a time wait as such uploads, encrypted to their owner, until the paper is
// sent or the reaper takes them (PutPending, pending.go).
//
// Every read of a file (Open; OpenAccess for links, grants and the reading of papers) is
// journaled, and committed, before its first byte leaves, with what must commit with it (a
// link's count of downloads, Requirement): the owner's history is the proof of who saw
// what. An owner's chain takes one append at a time, so the accesses to one safe that
// arrive while one of its commits is under way wait together and are journaled by the
// next transaction in one append (access_queue.go): a téléservice fetching twenty papers
// at once costs a commit per burst, not per paper, and each caller still returns only
// once its own entry is committed. The round trip to the blob store starts at the same
// time as the row's, and nothing of it is used unless the row allows the access.
package vault
