package vault

// Deposit: a document's files are encrypted to the owner and stored while the document's
// rows and journal entry are written; the commit waits for the uploads (documents.go holds
// the documents table's statements, blobs.go and blob_uploads.go the files').

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// MaxTitleLen bounds titles, in characters.
const MaxTitleLen = 200

func (nd *NewDocument) validate() error {
	if _, err := ParseKind(string(nd.Kind)); err != nil {
		return err
	}
	if nd.Proof != nil {
		if err := nd.Proof.validate(); err != nil {
			return err
		}
	}
	if err := validTitle(nd.Title); err != nil {
		return err
	}
	if err := validDates(nd.IssuedOn, nd.ExpiresOn); err != nil {
		return err
	}
	if len(nd.Files) == 0 {
		return fmt.Errorf("a document needs at least one file: %w", ErrInvalid)
	}
	for i, f := range nd.Files {
		switch f.Role {
		case RoleOriginal, RoleRendition, RoleThumbnail:
		default:
			return fmt.Errorf("file %d: unknown role %q: %w", i, f.Role, ErrInvalid)
		}
		if f.MediaType == "" || f.Body == nil {
			return fmt.Errorf("file %d: media type and body are required: %w", i, ErrInvalid)
		}
	}
	return nil
}

func validTitle(t string) error {
	if strings.TrimSpace(t) == "" {
		return fmt.Errorf("empty title: %w", ErrInvalid)
	}
	if !utf8.ValidString(t) || utf8.RuneCountInString(t) > MaxTitleLen {
		return fmt.Errorf("title longer than %d characters or not UTF-8: %w", MaxTitleLen, ErrInvalid)
	}
	return nil
}

func validDates(issued, expires *time.Time) error {
	if issued != nil && expires != nil && expires.Before(*issued) {
		return fmt.Errorf("expiry date before issue date: %w", ErrInvalid)
	}
	return nil
}

func titleAD(owner, doc uuid.UUID) string { return "title:" + owner.String() + ":" + doc.String() }
func nameAD(owner, blob uuid.UUID) string { return "name:" + owner.String() + ":" + blob.String() }

// Deposit puts a document in owner's safe. Each file is encrypted to the owner while it
// streams to the blob store and hashed on the way; then the document, its blobs and the
// journal entry are committed in one transaction. On any error nothing is visible: blobs
// already uploaded are deleted, or left to the reaper if even that fails. When the
// commit's outcome is unknown (the connection dropped during COMMIT), Deposit asks the
// database on a fresh connection: a document that is there is a success; otherwise its
// files are left to the reaper, which deletes them only if the commit never happened.
func (v *Vault) Deposit(ctx context.Context, owner uuid.UUID, by Actor, nd NewDocument) (*Document, error) {
	return v.DepositWithin(ctx, owner, by, nd, nil)
}

// DepositWithin is Deposit with more work done in its transaction: within runs once the
// document, its blobs and its journal entry are written, before the commit, and its error
// undoes the whole deposit (and is returned, wrapped). Package sharing records an
// issuer's deposit with it, so that a retried request never makes two papers.
func (v *Vault) DepositWithin(ctx context.Context, owner uuid.UUID, by Actor, nd NewDocument, within func(ctx context.Context, tx pgx.Tx, d *Document) error) (_ *Document, err error) {
	if err := nd.validate(); err != nil {
		return nil, fmt.Errorf("vault: deposit: %w", err)
	}
	identity, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: deposit: %w", err)
	}
	// A closed safe is refused before the rows are written (the database trigger stays
	// the authority), and asked while the files upload: a deposit to a closed safe is
	// rare, and its files are then discarded like those of any failed deposit.
	isOpen := make(chan error, 1)
	go func() { isOpen <- v.CheckOpen(ctx, owner) }()
	d := &Document{
		ID:        uuid.New(),
		OwnerID:   owner,
		Kind:      nd.Kind,
		Title:     nd.Title,
		IssuedOn:  nd.IssuedOn,
		ExpiresOn: nd.ExpiresOn,
		Depositor: Actor{Kind: by.Kind, ID: by.ID},
		CreatedAt: v.now().UTC().Truncate(time.Microsecond),
	}
	positions := map[Role]int{}
	unsure := false // the commit may have happened: no file may be deleted
	// The store's answers to the uploads come while the rows are written: the
	// transaction waits for them only before its commit.
	var uploads []func() error
	stored := func() error {
		var first error
		for _, s := range uploads {
			if err := s(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	defer func() {
		stored() //nolint:errcheck // waited for so that nothing is discarded while uploading
		if err != nil && !unsure {
			v.discard(d.Blobs)
		}
	}()
	for i, f := range nd.Files {
		b, s, perr := v.startBlob(ctx, identity.Recipient(), f.Body, f.Size)
		if perr != nil {
			err = perr
			return nil, fmt.Errorf("vault: deposit: file %d: %w", i, perr)
		}
		b.Role, b.MediaType, b.Name, b.CreatedAt = f.Role, f.MediaType, f.Name, d.CreatedAt
		b.Position = positions[f.Role]
		positions[f.Role]++
		d.Blobs = append(d.Blobs, b)
		uploads = append(uploads, s)
	}
	if err = <-isOpen; err != nil {
		return nil, fmt.Errorf("vault: deposit: %w", err)
	}
	tx, err := v.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("vault: deposit: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err = v.insertDocument(ctx, tx, d, nd.Proof, dataKey, by); err != nil {
		return nil, fmt.Errorf("vault: deposit: %w", closedError(err))
	}
	if within != nil {
		if err = within(ctx, tx, d); err != nil {
			return nil, fmt.Errorf("vault: deposit: %w", err)
		}
	}
	if err = stored(); err != nil {
		return nil, fmt.Errorf("vault: deposit: %w", err)
	}
	if v.hooks.commit != nil {
		err = v.hooks.commit(ctx, tx)
	} else {
		err = tx.Commit(ctx)
	}
	if err != nil && !commitRefused(err) {
		committed, cerr := v.documentCommitted(ctx, owner, d.ID)
		if cerr == nil && committed {
			v.log.WarnContext(ctx, "deposit committed although its commit reported an error", "document", d.ID, "err", err)
			return d, nil
		}
		unsure = true
		v.log.WarnContext(ctx, "deposit commit outcome unknown: its files are left to the reaper", "document", d.ID, "err", err, "check", cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: deposit: %w", closedError(err))
	}
	return d, nil
}

// commitRefused tells whether a failed COMMIT certainly did not commit: the server
// answered with an error, or the transaction had already failed. Anything else (a
// dropped connection, a cancelled context) leaves the outcome unknown.
func commitRefused(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) || errors.Is(err, pgx.ErrTxCommitRollback)
}

// discard deletes blobs of a failed deposit, best effort: what stays is reaped later.
func (v *Vault) discard(blobs []Blob) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, b := range blobs {
		if err := v.blobs.Delete(ctx, b.ID.String()); err != nil {
			v.log.Warn("discard blob of failed deposit", "blob", b.ID, "err", err)
			continue
		}
		if err := deleteUpload(ctx, v.db, b.ID); err != nil {
			v.log.Warn("discard upload marker", "blob", b.ID, "err", err)
		}
	}
}
