package vault

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	_ "embed" // the manifest's JSON Schema
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/text/unicode/norm"
)

// The export (L.103 5°, décret 2018-853): everything in a safe in one request, in open
// formats, as one ZIP archive streamed to the caller. Nothing is assembled in memory or on
// disk: each blob is decrypted, checked and written in turn, and the archive holds:
//
//	LISEZMOI.txt             what the files are and how to check them, in plain French
//	manifest.json            every document and file, with sizes and SHA-256 (ManifestSchema)
//	manifest.csv             the same, one line per file (RFC 4180, UTF-8 with BOM)
//	SHA256SUMS               the files' hashes, for sha256sum -c and shasum -a 256 -c
//	documents/<kind>/<date>_<title>_<id>/<role>-<n>.<ext>
//	                         the rendition (the clean A4 PDF), then the originals:
//	                         photos as deposited but without their location and
//	                         camera metadata, PDFs as received (see ingest.Original)
//	journal.jsonl            the owner's journal, one chained entry per line
//	journal-checkpoint.json  the latest signed checkpoint covering the owner's chain
//
// Thumbnails are left out: they are derived from the renditions and hold nothing more.

// ManifestSchema is the JSON Schema (2020-12) of manifest.json, published with the code.
//
//go:embed manifest.schema.json
var ManifestSchema []byte //nolint:gochecknoglobals // embedded, read-only

// ExportFormat names the archive layout; it changes when a file's meaning changes.
const ExportFormat = "coffre-export-1"

// MinPassphraseLen is the shortest passphrase accepted to encrypt an export, in characters.
const MinPassphraseLen = 12

// ErrShortPassphrase: the passphrase to encrypt an export is too short. Its message is a
// sentence for the person, in French. It matches ErrInvalid.
var ErrShortPassphrase error = shortPassphrase{} //nolint:gochecknoglobals // a sentinel error

type shortPassphrase struct{}

func (shortPassphrase) Error() string {
	return fmt.Sprintf("La phrase de passe doit compter au moins %d caractères : choisissez-en une plus longue, par exemple quatre mots.", MinPassphraseLen)
}
func (shortPassphrase) Is(target error) bool { return target == ErrInvalid }

// ExportOptions are the choices of one export.
type ExportOptions struct {
	// Passphrase, when not empty, encrypts the whole archive with age (scrypt), so that it
	// can be kept on a USB key or sent to a relative; the standard age tool decrypts it
	// (age -d archive.zip.age > archive.zip). At least MinPassphraseLen characters.
	Passphrase string
	// Request is the reference of the written request an operator acts on; it is
	// recorded in the journal entry of the export, which the owner sees. Free text that
	// may name the person: the journal keeps it sealed (Event.Private).
	Request string
}

// ExportSummary says what an export wrote.
type ExportSummary struct {
	Documents      int
	Files          int
	Bytes          int64 // the documents' files, before ZIP and encryption
	JournalEntries int64
	Checkpoint     int64 // ID of the signed checkpoint included, 0 when none covers the owner yet
	Encrypted      bool
}

// MaxRequestLen bounds the request reference of an export, in characters.
const MaxRequestLen = 200

// Export writes owner's whole safe to w as a ZIP archive (see above), and journals it in
// the owner's chain with the actor: the owner, or the operator acting on a written request
// (opts.Request). A closed safe can be exported until it is erased; an erased one gives
// ErrShredded.
//
// The archive is a consistent snapshot of the safe at the start of the export: documents
// added during it are not in it, documents deleted during it are (they were in the safe
// when it was asked for), and their purge waits until the export ends. The journal stops
// at the export's own entry.
//
// On error nothing is finished: the ZIP has no central directory (and an encrypted one no
// final chunk), so no tool takes a truncated archive for a complete one. A blob whose
// bytes do not match their SHA-256 stops the export with ErrIntegrity. An HTTP handler
// must then abort the response rather than end it normally.
func (v *Vault) Export(ctx context.Context, owner uuid.UUID, by Actor, w io.Writer, opts ExportOptions) (*ExportSummary, error) {
	if opts.Passphrase != "" && utf8.RuneCountInString(opts.Passphrase) < MinPassphraseLen {
		return nil, fmt.Errorf("vault: export %s: %w", owner, ErrShortPassphrase)
	}
	if !utf8.ValidString(opts.Request) || utf8.RuneCountInString(opts.Request) > MaxRequestLen {
		return nil, fmt.Errorf("vault: export %s: request reference longer than %d characters or not UTF-8: %w", owner, MaxRequestLen, ErrInvalid)
	}
	identity, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: export %s: %w", owner, err)
	}
	// Journaled first: an export that fails half-way was still asked for, and the archive
	// then holds the record of its own export.
	if err := v.Record(ctx, owner, Event{Actor: by, Action: ActionExport, Private: opts.Request}); err != nil {
		return nil, fmt.Errorf("vault: export %s: %w", owner, err)
	}
	tx, snap, err := v.exportSnapshot(ctx, owner, dataKey)
	if err != nil {
		return nil, fmt.Errorf("vault: export %s: %w", owner, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // read only: nothing to commit

	sum := &ExportSummary{Documents: len(snap.docs), Encrypted: opts.Passphrase != ""}
	out := w
	var enc io.WriteCloser
	if opts.Passphrase != "" {
		r, err := age.NewScryptRecipient(opts.Passphrase)
		if err != nil {
			return nil, fmt.Errorf("vault: export %s: %w", owner, err)
		}
		if enc, err = age.Encrypt(w, r); err != nil {
			return nil, fmt.Errorf("vault: export %s: %w", owner, err)
		}
		out = enc
	}
	zw := zip.NewWriter(out)
	if err := v.writeArchive(ctx, tx, zw, identity, snap, sum); err != nil {
		// Not closing zw nor enc is deliberate: see the doc comment.
		return nil, fmt.Errorf("vault: export %s: %w", owner, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("vault: export %s: %w", owner, err)
	}
	if enc != nil {
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("vault: export %s: %w", owner, err)
		}
	}
	return sum, nil
}

// snapshot is what an export reads from the database before the first byte is written.
type snapshot struct {
	owner      uuid.UUID
	dataKey    []byte
	at         time.Time
	docs       []exportDoc
	headSeq    int64
	headHash   []byte
	checkpoint *ExportedCheckpoint
}

type exportDoc struct {
	Document
	dir   string   // directory in the archive
	paths []string // entry name of each blob, in Blobs order
}

// exportSnapshot opens a REPEATABLE READ transaction that stays open for the whole export,
// and reads the documents, their blobs, the journal head and the latest checkpoint in its
// single snapshot. The transaction also holds, until the export ends, a FOR KEY SHARE lock
// on each exported document, which lets the owner delete documents meanwhile but makes
// PurgeDeleted (FOR UPDATE SKIP LOCKED) leave their blobs alone; and a shared advisory
// lock that makes EraseDue leave the safe alone.
func (v *Vault) exportSnapshot(ctx context.Context, owner uuid.UUID, dataKey []byte) (pgx.Tx, *snapshot, error) {
	for attempt := 0; ; attempt++ {
		tx, err := v.db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
		if err != nil {
			return nil, nil, err
		}
		snap, err := v.readSnapshot(ctx, tx, owner, dataKey)
		if err == nil {
			return tx, snap, nil
		}
		tx.Rollback(context.WithoutCancel(ctx))
		// A document changed between the snapshot and its lock: try again.
		var pgErr *pgconn.PgError
		if attempt < 5 && errors.As(err, &pgErr) && pgErr.Code == "40001" {
			continue
		}
		return nil, nil, err
	}
}

func (v *Vault) readSnapshot(ctx context.Context, tx pgx.Tx, owner uuid.UUID, dataKey []byte) (*snapshot, error) {
	s := &snapshot{owner: owner, dataKey: dataKey}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(`+ownerLockKey+`)`, owner); err != nil {
		return nil, fmt.Errorf("lock safe: %w", err)
	}
	var shredded bool
	if err := tx.QueryRow(ctx, `SELECT shredded_at IS NOT NULL, now() FROM owners WHERE id = $1`, owner).Scan(&shredded, &s.at); err != nil {
		return nil, fmt.Errorf("owner: %w", notFound(err))
	}
	if shredded {
		return nil, ErrShredded
	}
	s.at = s.at.UTC()
	rows, err := tx.Query(ctx, `SELECT `+documentColumns+` FROM documents
		WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY created_at, id FOR KEY SHARE`, owner)
	if err != nil {
		return nil, fmt.Errorf("documents: %w", err)
	}
	docs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (exportDoc, error) {
		d, err := scanDocument(row, dataKey)
		return exportDoc{Document: d}, err
	})
	if err != nil {
		return nil, fmt.Errorf("documents: %w", err)
	}
	index := make(map[uuid.UUID]int, len(docs))
	for i := range docs {
		index[docs[i].ID] = i
	}
	rows, err = tx.Query(ctx, `
		SELECT document_id, id, role, position, media_type, size, sha256, name_sealed, created_at, mac
		FROM blobs WHERE owner_id = $1 AND role <> 'thumbnail'
		ORDER BY document_id, role = 'original', position`, owner) // the rendition first: it is the paper
	if err != nil {
		return nil, fmt.Errorf("blobs: %w", err)
	}
	var (
		doc       uuid.UUID
		b         Blob
		name, mac []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&doc, &b.ID, &b.Role, &b.Position, &b.MediaType, &b.Size, &b.SHA256, &name, &b.CreatedAt, &mac}, func() error {
		i, ok := index[doc]
		if !ok {
			return nil // a deleted document's
		}
		if err := v.checkBlob(ctx, owner, dataKey, doc, &b, mac); err != nil {
			return err
		}
		nb := b
		nb.SHA256 = bytes.Clone(b.SHA256)
		nb.Name = ""
		if name != nil {
			n, err := open(dataKey, name, nameAD(owner, b.ID))
			if err != nil {
				return fmt.Errorf("blob %s name: %w", b.ID, err)
			}
			nb.Name = string(n)
		}
		docs[i].Blobs = append(docs[i].Blobs, nb)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blobs: %w", err)
	}
	s.docs = docs
	nameEntries(s.docs)

	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM journal_heads WHERE owner_id = $1`, owner).Scan(&s.headSeq, &s.headHash); err != nil {
		return nil, fmt.Errorf("journal head: %w", err)
	}
	cp := &ExportedCheckpoint{}
	var at time.Time
	var prev, digest, pub, sig, hash []byte
	err = tx.QueryRow(ctx, `
		SELECT c.id, c.at, c.chains, c.prev_digest, c.digest, c.public_key, c.signature, h.seq, h.hash
		FROM journal_checkpoint_heads h JOIN journal_checkpoints c ON c.id = h.checkpoint_id
		WHERE h.owner_id = $1 ORDER BY h.checkpoint_id DESC LIMIT 1`, owner).
		Scan(&cp.ID, &at, &cp.Chains, &prev, &digest, &pub, &sig, &cp.OwnerHead.Seq, &hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("checkpoint: %w", err)
	default:
		cp.At = at.UTC().Format(timeFormat)
		cp.PrevDigest, cp.Digest = hex.EncodeToString(prev), hex.EncodeToString(digest)
		cp.PublicKey, cp.Signature = hex.EncodeToString(pub), hex.EncodeToString(sig)
		cp.OwnerHead.OwnerID, cp.OwnerHead.Hash = owner, hex.EncodeToString(hash)
		s.checkpoint = cp
	}
	return s, nil
}

// timeFormat is RFC 3339 with microseconds, the journal's precision.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

// nameEntries gives each document its directory and each blob its entry name, all built
// from sanitised parts: nothing a title holds can climb out of documents/.
func nameEntries(docs []exportDoc) {
	used := make(map[string]bool, len(docs))
	for i := range docs {
		d := &docs[i]
		date := d.CreatedAt.UTC().Format(time.DateOnly)
		if d.IssuedOn != nil {
			date = d.IssuedOn.UTC().Format(time.DateOnly)
		}
		id := strings.ReplaceAll(d.ID.String(), "-", "")
		base := "documents/" + SafeFileName(string(d.Kind)) + "/" + date + "_" + SafeFileName(d.Title) + "_"
		d.dir = base + id[:8]
		if used[strings.ToLower(d.dir)] { // two IDs with the same first 8 digits: use all of it
			d.dir = base + id
		}
		used[strings.ToLower(d.dir)] = true
		d.paths = make([]string, len(d.Blobs))
		for j, b := range d.Blobs {
			d.paths[j] = d.dir + "/" + string(b.Role) + "-" + strconv.Itoa(b.Position+1) + "." + extension(b)
		}
	}
}

// extension picks a file extension from the media type, or else from the original name.
func extension(b Blob) string {
	mt, _, _ := strings.Cut(strings.ToLower(b.MediaType), ";")
	switch strings.TrimSpace(mt) {
	case "application/pdf":
		return "pdf"
	case "image/jpeg":
		return "jpg"
	case "image/png":
		return "png"
	case "image/webp":
		return "webp"
	case "image/heic", "image/heif":
		return "heic"
	case "image/tiff":
		return "tif"
	case "image/gif":
		return "gif"
	case "text/plain":
		return "txt"
	}
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(b.Name, `\`, "/")))
	ext = strings.TrimPrefix(ext, ".")
	if ext == "" || len(ext) > 8 || strings.IndexFunc(ext, func(r rune) bool { return !('a' <= r && r <= 'z' || '0' <= r && r <= '9') }) >= 0 {
		return "bin"
	}
	return ext
}

// compressible tells whether a blob gains from Deflate: JPEG, PDF and the like are
// compressed already, and storing them keeps the export at the speed of the network.
func compressible(mediaType string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(mediaType), ";")
	mt = strings.TrimSpace(mt)
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/xml" || mt == "image/svg+xml"
}

func (v *Vault) writeArchive(ctx context.Context, tx pgx.Tx, zw *zip.Writer, identity age.Identity, s *snapshot, sum *ExportSummary) error {
	for _, d := range s.docs {
		sum.Files += len(d.Blobs)
		for _, b := range d.Blobs {
			sum.Bytes += b.Size
		}
	}
	if s.checkpoint != nil {
		sum.Checkpoint = s.checkpoint.ID
	}
	sum.JournalEntries = s.headSeq
	text := func(name string, write func(io.Writer) error) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: s.at})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		bw := bufio.NewWriterSize(w, 32<<10)
		if err := write(bw); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return bw.Flush()
	}
	if err := text("LISEZMOI.txt", func(w io.Writer) error { return writeReadme(w, s, sum) }); err != nil {
		return err
	}
	if err := text("manifest.json", func(w io.Writer) error { return writeManifestJSON(w, s) }); err != nil {
		return err
	}
	if err := text("manifest.csv", func(w io.Writer) error { return writeManifestCSV(w, s) }); err != nil {
		return err
	}
	if err := text("SHA256SUMS", func(w io.Writer) error {
		for _, d := range s.docs {
			for j, b := range d.Blobs {
				if _, err := fmt.Fprintf(w, "%x  %s\n", b.SHA256, d.paths[j]); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	ahead, release, stop := v.openAhead(ctx, identity, s)
	defer stop()
	buf := make([]byte, 256<<10)
	for _, d := range s.docs {
		for j, b := range d.Blobs {
			next, ok := <-ahead
			if !ok {
				return fmt.Errorf("document %s: %w", d.ID, context.Cause(ctx))
			}
			o := <-next
			if o.err != nil {
				return fmt.Errorf("document %s: %w", d.ID, o.err)
			}
			err := exportBlob(zw, o.r, d, b, d.paths[j], buf)
			release()
			if err != nil {
				return err
			}
		}
	}
	if err := text("journal.jsonl", func(w io.Writer) error { return writeJournal(ctx, tx, w, s) }); err != nil {
		return err
	}
	if s.checkpoint != nil {
		if err := text("journal-checkpoint.json", func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(s.checkpoint)
		}); err != nil {
			return err
		}
	}
	return nil
}

// openedBlob is a blob opened ahead of its turn, or the error that stopped the opening.
type openedBlob struct {
	r   *BlobReader
	err error
}

// exportAhead is how many blobs are open at once. Opening one costs the store's round trips
// (HEAD, GET, the age header), and each open blob then reads ahead on its own: with a few
// in flight the export runs at the speed of the copy rather than of the latency. Each
// holds about a megabyte at most.
const exportAhead = 4

// openAhead opens the snapshot's blobs, up to exportAhead at a time, and hands them over in
// archive order: each value received is a one-shot channel that gives the blob when it is
// open. The caller calls release after closing each blob it received, and stop at the end,
// which closes whatever was opened and not consumed. Not v.Open: one journal entry for the
// whole export says more than one per file.
func (v *Vault) openAhead(ctx context.Context, identity age.Identity, s *snapshot) (ahead <-chan chan openedBlob, release, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	order := make(chan chan openedBlob, exportAhead)
	slots := make(chan struct{}, exportAhead)
	go func() {
		defer close(order)
		for _, d := range s.docs {
			for _, b := range d.Blobs {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				next := make(chan openedBlob, 1)
				go func() {
					r, err := v.openBlob(ctx, &BlobReader{Blob: b, Document: d.ID, h: newAsyncHash()}, identity, s.owner, d.ID, b.ID)
					next <- openedBlob{r, err}
				}()
				order <- next // never blocks: the slots bound what is in order
			}
		}
	}()
	release = func() { <-slots }
	stop = func() {
		cancel()
		for next := range order {
			if o := <-next; o.r != nil {
				o.r.Close()
			}
		}
	}
	return order, release, stop
}

// exportBlob copies one decrypted blob into the archive, and closes it. The BlobReader
// checks the SHA-256 at the end of the stream, so a blob that does not match fails the
// export, and the failure is journaled.
func exportBlob(zw *zip.Writer, r *BlobReader, d exportDoc, b Blob, name string, buf []byte) error {
	defer r.Close()
	method := zip.Store
	if compressible(b.MediaType) {
		method = zip.Deflate
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: b.CreatedAt.UTC()})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	n, err := io.CopyBuffer(w, r, buf)
	if err != nil {
		return fmt.Errorf("document %s: %w", d.ID, err)
	}
	if n != b.Size {
		return fmt.Errorf("document %s: blob %s: read %d bytes of %d: %w", d.ID, b.ID, n, b.Size, ErrIntegrity)
	}
	return nil
}

// The manifest, as published in manifest.schema.json.
type (
	manifest struct {
		Format     string             `json:"format"`
		OwnerID    uuid.UUID          `json:"owner_id"`
		ExportedAt string             `json:"exported_at"`
		Documents  []manifestDocument `json:"documents"`
		Journal    manifestJournal    `json:"journal"`
	}
	manifestDocument struct {
		ID          uuid.UUID      `json:"id"`
		Kind        Kind           `json:"kind"`
		KindLabel   string         `json:"kind_label"`
		Title       string         `json:"title"`
		IssuedOn    *string        `json:"issued_on"`
		ExpiresOn   *string        `json:"expires_on"`
		DepositedAt string         `json:"deposited_at"`
		Depositor   manifestActor  `json:"depositor"`
		Files       []manifestFile `json:"files"`
	}
	manifestActor struct {
		Kind ActorKind `json:"kind"`
		ID   string    `json:"id"`
	}
	manifestFile struct {
		Path         string  `json:"path"`
		Role         Role    `json:"role"`
		Position     int     `json:"position"`
		MediaType    string  `json:"media_type"`
		OriginalName *string `json:"original_name"`
		Size         int64   `json:"size"`
		SHA256       string  `json:"sha256"`
	}
	manifestJournal struct {
		Path           string  `json:"path"`
		Entries        int64   `json:"entries"`
		LastHash       string  `json:"last_hash"`
		CheckpointPath *string `json:"checkpoint_path"`
	}
)

func dateOrNil(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.DateOnly)
	return &s
}

func writeManifestJSON(w io.Writer, s *snapshot) error {
	m := manifest{
		Format: ExportFormat, OwnerID: s.owner, ExportedAt: s.at.Format(timeFormat),
		Documents: make([]manifestDocument, 0, len(s.docs)),
		Journal:   manifestJournal{Path: "journal.jsonl", Entries: s.headSeq, LastHash: hex.EncodeToString(s.headHash)},
	}
	if s.checkpoint != nil {
		p := "journal-checkpoint.json"
		m.Journal.CheckpointPath = &p
	}
	for _, d := range s.docs {
		md := manifestDocument{
			ID: d.ID, Kind: d.Kind, KindLabel: d.Kind.Label(), Title: d.Title,
			IssuedOn: dateOrNil(d.IssuedOn), ExpiresOn: dateOrNil(d.ExpiresOn),
			DepositedAt: d.CreatedAt.UTC().Format(timeFormat),
			Depositor:   manifestActor{Kind: d.Depositor.Kind, ID: d.Depositor.ID},
			Files:       make([]manifestFile, len(d.Blobs)),
		}
		for j, b := range d.Blobs {
			f := manifestFile{Path: d.paths[j], Role: b.Role, Position: b.Position, MediaType: b.MediaType, Size: b.Size, SHA256: hex.EncodeToString(b.SHA256)}
			if b.Name != "" {
				f.OriginalName = &b.Name
			}
			md.Files[j] = f
		}
		m.Documents = append(m.Documents, md)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// csvCell defuses a value a spreadsheet would run as a formula (CSV injection): a title
// such as "=HYPERLINK(…)" is shown as text. manifest.json keeps the exact value.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeManifestCSV(w io.Writer, s *snapshot) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil { // so that Excel reads UTF-8
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write([]string{"document", "type", "type (libellé)", "titre", "date d'émission", "date d'expiration",
		"déposé le", "déposé par (type)", "déposé par (identifiant)", "fichier", "rôle", "position", "type de média",
		"nom d'origine", "taille (octets)", "sha256"}); err != nil {
		return err
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	for _, d := range s.docs {
		for j, b := range d.Blobs {
			if err := cw.Write([]string{d.ID.String(), string(d.Kind), d.Kind.Label(), csvCell(d.Title),
				deref(dateOrNil(d.IssuedOn)), deref(dateOrNil(d.ExpiresOn)), d.CreatedAt.UTC().Format(timeFormat),
				string(d.Depositor.Kind), d.Depositor.ID, d.paths[j], string(b.Role), strconv.Itoa(b.Position),
				b.MediaType, csvCell(b.Name), strconv.FormatInt(b.Size, 10), hex.EncodeToString(b.SHA256)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// JournalLine is one line of journal.jsonl: every field the chain covers, binary values
// in hexadecimal (personal in base64, null once erased), plus a readable copy of the
// personal part.
type JournalLine struct {
	OwnerID        uuid.UUID  `json:"owner_id"`
	Seq            int64      `json:"seq"`
	At             string     `json:"at"` // RFC 3339, microseconds
	ActorKind      ActorKind  `json:"actor_kind"`
	ActorID        string     `json:"actor_id"`
	Action         Action     `json:"action"`
	DocumentID     *uuid.UUID `json:"document_id"`
	Personal       []byte     `json:"personal"`
	PersonalSHA256 string     `json:"personal_sha256"`
	PrevHash       string     `json:"prev_hash"`
	Hash           string     `json:"hash"`
	// IPPrefix and Detail repeat what Personal holds, for a human reader.
	IPPrefix string `json:"ip_prefix,omitempty"`
	Detail   string `json:"detail,omitempty"`
	// Private is the private detail (a link's purpose), which Personal holds sealed with
	// the owner's key, opened for its owner. The chain covers it only sealed:
	// VerifyExportedJournal cannot check it.
	Private string `json:"private,omitempty"`
}

func journalLine(e *Entry) JournalLine {
	l := JournalLine{
		OwnerID: e.OwnerID, Seq: e.Seq, At: e.At.UTC().Format(timeFormat),
		ActorKind: e.ActorKind, ActorID: e.ActorID, Action: e.Action, Personal: e.Personal,
		PersonalSHA256: hex.EncodeToString(e.PersonalSHA256),
		PrevHash:       hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
	}
	if e.DocumentID.Valid {
		id := e.DocumentID.UUID
		l.DocumentID = &id
	}
	l.IPPrefix, l.Detail = e.PersonalData()
	return l
}

// writeJournal streams the owner's chain up to the snapshot's head: entries are never
// changed once written, so the rows stream without being held in memory.
func writeJournal(ctx context.Context, tx pgx.Tx, w io.Writer, s *snapshot) error {
	rows, err := tx.Query(ctx, `
		SELECT owner_id, seq, at, actor_kind, actor_id, action, document_id, personal, personal_sha256, prev_hash, hash
		FROM journal WHERE owner_id = $1 AND seq <= $2 ORDER BY seq`, s.owner, s.headSeq)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var e Entry
	_, err = pgx.ForEachRow(rows, []any{&e.OwnerID, &e.Seq, &e.At, &e.ActorKind, &e.ActorID, &e.Action, &e.DocumentID,
		&e.Personal, &e.PersonalSHA256, &e.PrevHash, &e.Hash}, func() error {
		l := journalLine(&e)
		var err error
		if l.Private, err = openPrivate(s.dataKey, &e); err != nil {
			return err
		}
		return enc.Encode(l)
	})
	return err
}

// VerifyExportedJournal recomputes the hash chain of a journal.jsonl from the file alone:
// sequence numbers from 1 without gaps, each entry linked to the one before, each hash
// recomputed with the journal's canonical encoding, each personal part matching its
// digest (an erased one is null). It names the first line that fails.
func VerifyExportedJournal(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prev := genesis
	var owner uuid.UUID
	line := 0
	for sc.Scan() {
		line++
		var l JournalLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return fmt.Errorf("journal line %d: %w", line, err)
		}
		e, err := l.entry()
		if err != nil {
			return fmt.Errorf("journal line %d: %w", line, err)
		}
		if line == 1 {
			owner = e.OwnerID
		}
		switch {
		case e.OwnerID != owner:
			return fmt.Errorf("journal line %d: entry of another owner %s", line, e.OwnerID)
		case e.Seq != int64(line):
			return fmt.Errorf("journal line %d: sequence number %d, expected %d (entries removed?)", line, e.Seq, line)
		case !bytes.Equal(e.PrevHash, prev):
			return fmt.Errorf("journal line %d: previous hash does not match the entry before it", line)
		case !bytes.Equal(e.computeHash(), e.Hash):
			return fmt.Errorf("journal line %d: hash does not match the entry's contents (entry altered)", line)
		case e.Personal != nil && !personalMatches(*e):
			return fmt.Errorf("journal line %d: personal data does not match its digest (altered)", line)
		}
		if ip, detail := e.PersonalData(); ip != l.IPPrefix || detail != l.Detail {
			return fmt.Errorf("journal line %d: ip_prefix or detail differs from the personal data", line)
		}
		prev = e.Hash
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("journal line %d: %w", line+1, err)
	}
	if line == 0 {
		return errors.New("journal: no entry")
	}
	return nil
}

func (l *JournalLine) entry() (*Entry, error) {
	at, err := time.Parse(time.RFC3339Nano, l.At)
	if err != nil {
		return nil, fmt.Errorf("at: %w", err)
	}
	e := &Entry{OwnerID: l.OwnerID, Seq: l.Seq, At: at, ActorKind: l.ActorKind, ActorID: l.ActorID, Action: l.Action, Personal: l.Personal}
	if l.DocumentID != nil {
		e.DocumentID = uuid.NullUUID{UUID: *l.DocumentID, Valid: true}
	}
	for _, f := range []struct {
		dst *[]byte
		hex string
	}{{&e.PersonalSHA256, l.PersonalSHA256}, {&e.PrevHash, l.PrevHash}, {&e.Hash, l.Hash}} {
		b, err := hex.DecodeString(f.hex)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("malformed hash %q", f.hex)
		}
		*f.dst = b
	}
	return e, nil
}

// ExportedCheckpoint is journal-checkpoint.json: the latest signed checkpoint that covers
// the owner's chain, and the owner's head it signed. The digest covers the heads of every
// chain that moved since the checkpoint before; only the owner's own head is given, so
// the signature can be checked offline, and the binding of the head to the digest with
// 'coffre journal verify' on the service.
type ExportedCheckpoint struct {
	ID         int64  `json:"id"`
	At         string `json:"at"`
	Chains     int64  `json:"chains"`
	PrevDigest string `json:"prev_digest"`
	Digest     string `json:"digest"`
	PublicKey  string `json:"public_key"` // Ed25519
	Signature  string `json:"signature"`  // Ed25519 over the digest bytes
	OwnerHead  struct {
		OwnerID uuid.UUID `json:"owner_id"`
		Seq     int64     `json:"seq"`
		Hash    string    `json:"hash"`
	} `json:"owner_head"`
}

// maxNameBytes caps a sanitised name, so that a path stays well under the 255-byte limit
// of common file systems.
const maxNameBytes = 80

// SafeFileName turns untrusted text (a document title, an original file name) into one
// file-name component that is safe on every common system and in a ZIP entry: valid UTF-8
// in NFC; no control or formatting characters, path separators, ".." or characters
// Windows refuses (<>:"|?*); no leading dot, dash or space, no trailing dot or space; not a
// Windows device name (CON, NUL, COM1…); at most 80 bytes, cut on a character boundary;
// never empty. Spaces are kept, so that names stay readable.
func SafeFileName(s string) string {
	s = norm.NFC.String(strings.ToValidUTF8(s, "_"))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '/' || r == '\\' || strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || !unicode.IsPrint(r) && !unicode.IsMark(r):
			// dropped: invisible characters (bidi overrides, zero-width…) can disguise a name
		default:
			b.WriteRune(r)
		}
	}
	s = b.String()
	for {
		prev := s
		for strings.Contains(s, "  ") {
			s = strings.ReplaceAll(s, "  ", " ")
		}
		for strings.Contains(s, "..") {
			s = strings.ReplaceAll(s, "..", ".")
		}
		s = strings.TrimLeft(s, ". -")
		s = strings.TrimRight(s, ". ")
		if len(s) > maxNameBytes {
			cut := maxNameBytes
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			s = s[:cut]
		}
		// Dropping characters can bring a base letter and a combining mark together.
		s = norm.NFC.String(s)
		if s == prev {
			break
		}
	}
	if s == "" {
		return "sans titre"
	}
	if windowsReserved(s) {
		s = "_" + s
	}
	return s
}

func windowsReserved(s string) bool {
	base, _, _ := strings.Cut(s, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && '0' <= base[3] && base[3] <= '9' {
		return true
	}
	if (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && strings.ContainsAny(base[3:], "¹²³") && utf8.RuneCountInString(base) == 4 {
		return true
	}
	return false
}

// The notice in the archive, in plain French (facile à lire et à comprendre).
var readmeTemplate = template.Must(template.New("LISEZMOI").Parse(`VOTRE COFFRE-FORT NUMÉRIQUE — COPIE COMPLÈTE
============================================

Ce dossier contient une copie de tout votre coffre, faite le {{.At}} (heure UTC).
Nombre de documents : {{.Documents}}. Nombre de fichiers : {{.Files}}.

Vous pouvez garder cette copie sur une clé USB ou un ordinateur, la donner à un proche
ou à un autre service. Elle vous appartient. Gardez-la en lieu sûr : elle contient vos
papiers.


CE QU'IL Y A DANS CE DOSSIER
----------------------------

documents/
    Vos papiers, rangés par type puis par document. Pour chaque document :
    - « rendition-1.pdf » : le papier nettoyé, au format A4, fait par le coffre. C'est
      lui que vous montrez, imprimez ou envoyez ;
    - « original-1 », « original-2 »… : les fichiers déposés. Les photos sont gardées
      sans la position ni le modèle du téléphone qui les a prises ; les documents PDF
      sont gardés tels qu'ils ont été reçus. Les photos HEIC et les scans TIFF ne sont
      pas gardés : le PDF nettoyé les remplace.
    Le nom du dossier d'un document donne sa date, son titre et le début de son numéro.

manifest.csv
    La liste de tous les fichiers, à ouvrir avec un tableur (Excel, LibreOffice).
    Une ligne par fichier : le document, son type, son titre, ses dates, qui l'a déposé,
    le nom du fichier dans ce dossier, sa taille et son empreinte SHA-256.

SHA256SUMS
    Les empreintes de tous les fichiers, dans le format des outils sha256sum et shasum.

manifest.json
    La même liste, pour un programme informatique (format JSON). Sa description
    exacte (schéma JSON) est publiée avec le code de Coffre.

journal.jsonl
    L'historique de votre coffre : chaque dépôt, chaque consultation, chaque partage,
    chaque tentative refusée, et cette copie elle-même. Une ligne par action, en JSON.
    Chaque ligne contient l'empreinte de la ligne précédente : on ne peut pas retirer ou
    changer une ligne sans que cela se voie.
{{- if .Checkpoint}}

journal-checkpoint.json
    La dernière signature électronique du service sur votre historique (Ed25519) :
    elle atteste l'empreinte de votre historique jusqu'à la ligne {{.CheckpointSeq}}.
{{- end}}


VÉRIFIER QU'UN FICHIER N'A PAS ÉTÉ MODIFIÉ
-----------------------------------------

Chaque fichier a une « empreinte » (SHA-256) : une suite de 64 chiffres et lettres,
écrite dans manifest.csv (colonne « sha256 »). Si le fichier change, même d'un seul
point, son empreinte change. Pour calculer l'empreinte d'un fichier :

Sous Linux ou Mac, dans un terminal :
    sha256sum "documents/…/original-1.jpg"
  (sur un Mac ancien : shasum -a 256 "documents/…/original-1.jpg")

Sous Windows, dans l'invite de commandes :
    certutil -hashfile "documents\…\original-1.jpg" SHA256

Comparez le résultat avec l'empreinte écrite dans manifest.csv : elles doivent être
identiques (les majuscules et les espaces ne comptent pas).

Pour vérifier tous les fichiers d'un coup, depuis ce dossier :
    sha256sum -c SHA256SUMS               (Linux)
    shasum -a 256 -c SHA256SUMS           (Mac)
  Chaque fichier doit être suivi de « OK ».


VÉRIFIER L'HISTORIQUE
---------------------

Chaque ligne de journal.jsonl porte :
    prev_hash : l'empreinte de la ligne précédente (64 zéros pour la première) ;
    hash      : SHA-256 de prev_hash suivi du contenu de la ligne, encodé comme le
                décrit le code de Coffre (fonction VerifyExportedJournal) ;
    personal  : l'adresse réseau approximative et le détail de l'action, effacés
                (null) à la fin de la durée de conservation ; son empreinte
                personal_sha256 reste, et la chaîne reste vérifiable.
    private   : le détail que personal garde chiffré (le nom d'un lien de partage),
                ici en clair pour vous.
La dernière ligne a pour empreinte :
    {{.LastHash}}
{{- if .Checkpoint}}
La signature du service (journal-checkpoint.json) porte sur la ligne {{.CheckpointSeq}}.
{{- end}}


UNE QUESTION ?
--------------

Adressez-vous au service qui gère votre coffre. Cette copie est gratuite ; vous pouvez
en demander une à tout moment, autant de fois que vous le voulez.
`))

func writeReadme(w io.Writer, s *snapshot, sum *ExportSummary) error {
	data := struct {
		At               string
		Documents, Files int
		Checkpoint       bool
		CheckpointSeq    int64
		LastHash         string
	}{
		At: s.at.Format("02/01/2006 à 15:04"), Documents: sum.Documents, Files: sum.Files,
		Checkpoint: s.checkpoint != nil, LastHash: hex.EncodeToString(s.headHash),
	}
	if s.checkpoint != nil {
		data.CheckpointSeq = s.checkpoint.OwnerHead.Seq
	}
	// Windows' Notepad copes with LF since 2018; CRLF costs nothing and helps older ones.
	var b bytes.Buffer
	if err := readmeTemplate.Execute(&b, data); err != nil {
		return err
	}
	_, err := w.Write(bytes.ReplaceAll(b.Bytes(), []byte("\n"), []byte("\r\n")))
	return err
}
