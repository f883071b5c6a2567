package vault

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	_ "embed" // the manifest's JSON Schema
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// ExportFormat names the archive layout; it changes when a file's meaning changes.
const ExportFormat = "coffre-export-1"

// MinPassphraseLen is the shortest passphrase accepted to encrypt an export, in characters.
const MinPassphraseLen = 12

// ErrShortPassphrase: the passphrase to encrypt an export is too short. Its message is a
// sentence for the person, in French. It matches ErrInvalid.
var ErrShortPassphrase error = shortPassphrase{}

type shortPassphrase struct{}

func (shortPassphrase) Error() string {
	return fmt.Sprintf("La phrase de passe doit compter au moins %d caractères\u00a0: choisissez-en une plus longue, par exemple quatre mots.", MinPassphraseLen)
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
	// Zone is the owner's time, ZoneName its place in French (« La Réunion »): LISEZMOI.txt
	// dates the copy in it. Without them, in UTC, said so.
	Zone     *time.Location
	ZoneName string
	// Lang is the owner's language, a code of coffre/vault/i18n. Other than French, a
	// short notice in it is written beside LISEZMOI.txt, which stays in French:
	// LISEZMOI-<Lang>.txt. manifest.csv's column names and kind labels follow it (its
	// values, and manifest.json, do not). Empty or unknown: French.
	Lang string
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

	snap.zone, snap.zoneName = opts.Zone, opts.ZoneName
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
	if err := v.writeArchive(ctx, tx, zw, identity, snap, sum, exportLang(opts.Lang)); err != nil {
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
	// zone and zoneName date LISEZMOI.txt (ExportOptions.Zone); at stays in UTC for the
	// files' times.
	zone     *time.Location
	zoneName string
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
		_ = tx.Rollback(context.WithoutCancel(ctx)) // read only: nothing to undo
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
	if err := shreddedNowRow(ctx, tx, owner).Scan(&shredded, &s.at); err != nil {
		return nil, fmt.Errorf("owner: %w", notFound(err))
	}
	if shredded {
		return nil, ErrShredded
	}
	s.at = s.at.UTC()
	rows, err := exportDocumentRows(ctx, tx, owner)
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
	rows, err = exportBlobRows(ctx, tx, owner)
	if err != nil {
		return nil, fmt.Errorf("blobs: %w", err)
	}
	var (
		doc       uuid.UUID
		b         Blob
		name, mac []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&doc, &b.ID, &b.Role, &b.Position, &b.MediaType, &b.Size, &b.SHA256, &name, &b.CreatedAt, &mac, &b.headerMAC}, func() error {
		i, ok := index[doc]
		if !ok {
			return nil // a deleted document's
		}
		if err := v.checkBlob(ctx, owner, dataKey, doc, &b, mac); err != nil {
			return err
		}
		nb := b
		nb.SHA256 = bytes.Clone(b.SHA256)
		nb.headerMAC = bytes.Clone(b.headerMAC)
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

	if err := headOf(ctx, tx, owner).Scan(&s.headSeq, &s.headHash); err != nil {
		return nil, fmt.Errorf("journal head: %w", err)
	}
	cp := &ExportedCheckpoint{}
	var at time.Time
	var prev, digest, pub, sig, hash []byte
	err = lastCheckpointOf(ctx, tx, owner).
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

func (v *Vault) writeArchive(ctx context.Context, tx pgx.Tx, zw *zip.Writer, identity age.Identity, s *snapshot, sum *ExportSummary, lang string) error {
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
	if lang != "fr" { // lang is a code of i18n: a safe file name
		note := strings.ReplaceAll(readmeTranslation(lang, sum.Documents, sum.Files), "\n", "\r\n")
		if err := text("LISEZMOI-"+lang+".txt", func(w io.Writer) error { _, err := io.WriteString(w, note); return err }); err != nil {
			return err
		}
	}
	if err := text("manifest.json", func(w io.Writer) error { return writeManifestJSON(w, s) }); err != nil {
		return err
	}
	if err := text("manifest.csv", func(w io.Writer) error { return writeManifestCSV(w, s, lang) }); err != nil {
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

// exportAhead is how many blobs are open at once. Opening one costs the store's round trip
// and the age header, and each open blob then reads ahead on its own: with a few in
// flight the export runs at the speed of the copy rather than of the latency. Each holds
// about 2.5 MB at most (the blocks queued between its stages, stream.go).
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
					r, err := v.openBlob(ctx, &BlobReader{Blob: b, Document: d.ID}, v.fetchAs(ctx, b.ID, identity), s.owner, d.ID, b.ID)
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

// The notice in the archive, in plain French (facile à lire et à comprendre), spaced as
// the French catalogue is (package i18n): U+00A0 before « : » and inside « … », U+202F
// before « ; ! ? », written as they are since a raw string cannot escape them.
// TestReadmeFrenchSpaces fails on a plain space there.
//
//nolint:gochecknoglobals // a template parsed once
var readmeTemplate = template.Must(template.New("LISEZMOI").Parse(`VOTRE COFFRE-FORT NUMÉRIQUE — COPIE COMPLÈTE
============================================

Ce dossier contient une copie de tout votre coffre, faite le {{.At}} ({{.Clock}}).
Nombre de documents : {{.Documents}}. Nombre de fichiers : {{.Files}}.

Vous pouvez garder cette copie sur une clé USB ou un ordinateur, la donner à un proche
ou à un autre service. Elle vous appartient. Gardez-la en lieu sûr : elle contient vos
papiers.


CE QU'IL Y A DANS CE DOSSIER
----------------------------

documents/
    Vos papiers, rangés par type puis par document. Pour chaque document :
    - « rendition-1.pdf » : le papier nettoyé, au format A4, fait par le coffre. C'est
      lui que vous montrez, imprimez ou envoyez ;
    - « original-1 », « original-2 »… : les fichiers déposés. Les photos sont gardées
      sans la position ni le modèle du téléphone qui les a prises ; les documents PDF
      sont gardés tels qu'ils ont été reçus. Les photos HEIC et les scans TIFF ne sont
      pas gardés : le PDF nettoyé les remplace.
    Le nom du dossier d'un document donne sa date, son titre et le début de son numéro.

manifest.csv
    La liste de tous les fichiers, à ouvrir avec un tableur (Excel, LibreOffice).
    Une ligne par fichier : le document, son type, son titre, ses dates, qui l'a déposé,
    le nom du fichier dans ce dossier, sa taille et son empreinte SHA-256.

SHA256SUMS
    Les empreintes de tous les fichiers, dans le format des outils sha256sum et shasum.

manifest.json
    La même liste, pour un programme informatique (format JSON). Sa description
    exacte (schéma JSON) est publiée avec le code de Coffre.

journal.jsonl
    L'historique de votre coffre : chaque dépôt, chaque consultation, chaque partage,
    chaque tentative refusée, et cette copie elle-même. Une ligne par action, en JSON.
    Chaque ligne contient l'empreinte de la ligne précédente : on ne peut pas retirer ou
    changer une ligne sans que cela se voie.
{{- if .Checkpoint}}

journal-checkpoint.json
    La dernière signature électronique du service sur votre historique (Ed25519) :
    elle atteste l'empreinte de votre historique jusqu'à la ligne {{.CheckpointSeq}}.
{{- end}}


VÉRIFIER QU'UN FICHIER N'A PAS ÉTÉ MODIFIÉ
-----------------------------------------

Chaque fichier a une « empreinte » (SHA-256) : une suite de 64 chiffres et lettres,
écrite dans manifest.csv (colonne « sha256 »). Si le fichier change, même d'un seul
point, son empreinte change. Pour calculer l'empreinte d'un fichier :

Sous Linux ou Mac, dans un terminal :
    sha256sum "documents/…/original-1.jpg"
  (sur un Mac ancien : shasum -a 256 "documents/…/original-1.jpg")

Sous Windows, dans l'invite de commandes :
    certutil -hashfile "documents\…\original-1.jpg" SHA256

Comparez le résultat avec l'empreinte écrite dans manifest.csv : elles doivent être
identiques (les majuscules et les espaces ne comptent pas).

Pour vérifier tous les fichiers d'un coup, depuis ce dossier :
    sha256sum -c SHA256SUMS               (Linux)
    shasum -a 256 -c SHA256SUMS           (Mac)
  Chaque fichier doit être suivi de « OK ».


VÉRIFIER L'HISTORIQUE
---------------------

Chaque ligne de journal.jsonl porte :
    prev_hash : l'empreinte de la ligne précédente (64 zéros pour la première) ;
    hash      : SHA-256 de prev_hash suivi du contenu de la ligne, encodé comme le
                décrit le code de Coffre (fonction VerifyExportedJournal) ;
    personal  : l'adresse réseau approximative et le détail de l'action, effacés
                (null) à la fin de la durée de conservation ; son empreinte
                personal_sha256 reste, et la chaîne reste vérifiable.
    private   : le détail que personal garde chiffré (le nom d'un lien de partage),
                ici en clair pour vous.
La dernière ligne a pour empreinte :
    {{.LastHash}}
{{- if .Checkpoint}}
La signature du service (journal-checkpoint.json) porte sur la ligne {{.CheckpointSeq}}.
{{- end}}


UNE QUESTION ?
--------------

Adressez-vous au service qui gère votre coffre. Cette copie est gratuite ; vous pouvez
en demander une à tout moment, autant de fois que vous le voulez.
`))

func writeReadme(w io.Writer, s *snapshot, sum *ExportSummary) error {
	at, clock := s.at, "heure UTC"
	if s.zone != nil && s.zoneName != "" {
		at, clock = s.at.In(s.zone), "heure de "+s.zoneName
	}
	data := struct {
		At, Clock        string
		Documents, Files int
		Checkpoint       bool
		CheckpointSeq    int64
		LastHash         string
	}{
		At: at.Format("02/01/2006 à 15:04"), Clock: clock, Documents: sum.Documents, Files: sum.Files,
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
