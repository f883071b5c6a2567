package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"coffre/ingest"
	"coffre/vault"
)

// Reading papers (issue 14). When an owner has asked for it (vault.SetReading), their
// papers are read in the background, a few at a time: the first page of each paper's
// rendition goes through local OCR and recognition (ingest.RecognizePDF), and the vault
// keeps the text, sealed, with its words in the blind index, and what recognition
// suggests, until the person answers (suggestion.go).
//
// Recognition runs in a job, not in the deposit's request: OCR alone takes 0.4 to 3 s
// per paper on an idle core (TestRecognizeRenditions), identity papers take extra runs
// for their machine-readable zone, and a deposit already holds its share of the memory
// budget while it is processed. The person lands on the paper's page at once, and the
// suggestion is there a few seconds later (the page says so, with a link to look again).

// ReadingQueue asks for an owner's papers to be read in the background; cmd/coffre
// implements it with a River job unique per owner, which calls Reader.ReadSome.
type ReadingQueue interface {
	QueueReading(ctx context.Context, owner uuid.UUID) error
}

// ReaderConfig is what a Reader is built from.
type ReaderConfig struct {
	Vault *vault.Vault
	// Budget is the memory budget the reading shares with deposits (the one given to
	// Config.Budget); nil gives the reading a budget of its own of DefaultReadMemory.
	Budget *ingest.Budget
	Log    *slog.Logger
	// Now is the clock that decides which dates are plausible; nil means time.Now.
	Now func() time.Time
	// Tesseract is the tesseract program; empty looks it up on PATH.
	Tesseract string
}

// DefaultReadMemory is the budget of a Reader given none: one paper at a time.
const DefaultReadMemory = 256 << 20

// maxReadBytes bounds the rendition a Reader reads: a larger one (a scan of a hundred
// pages) is marked read with no text, rather than held in memory for its first page.
const maxReadBytes = ingest.DefaultMaxBytes

// Reader reads owners' papers. It is safe for concurrent use; cmd/coffre runs one job at
// a time per process (each tesseract run takes a core).
type Reader struct {
	cfg ReaderConfig
}

// NewReader returns a Reader.
func NewReader(cfg ReaderConfig) *Reader {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Budget == nil {
		cfg.Budget = ingest.NewBudget(DefaultReadMemory, DefaultAdmissionWait)
	}
	return &Reader{cfg: cfg}
}

// ReadSome reads at most n of owner's papers not read yet, newest first, and tells
// whether more are waiting. It reads nothing when the owner has not asked for it, or has
// stopped it meanwhile. An error means the reading should be tried again later: OCR not
// installed (ingest.ErrOCRUnavailable), the memory budget busy (ingest.ErrBusy), the
// context ended. A paper in which nothing can be read is marked read with no text, so
// that it is not read again.
func (rd *Reader) ReadSome(ctx context.Context, owner uuid.UUID, n int) (more bool, err error) {
	ids, err := rd.cfg.Vault.UnreadDocuments(ctx, owner, n+1)
	if err != nil {
		return false, err
	}
	for i, id := range ids {
		if i == n {
			return true, nil
		}
		err := rd.read(ctx, owner, id)
		switch {
		case errors.Is(err, vault.ErrReadingOff):
			return false, nil
		case errors.Is(err, vault.ErrNotFound): // deleted meanwhile
		case err != nil:
			return true, err
		}
	}
	return false, nil
}

// read reads one paper and stores what it found.
func (rd *Reader) read(ctx context.Context, owner, id uuid.UUID) error {
	docs, err := rd.cfg.Vault.DocumentsIn(ctx, owner, []uuid.UUID{id})
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return vault.ErrNotFound
	}
	d := &docs[0]
	rec, err := rd.recognize(ctx, owner, d)
	switch {
	case errors.Is(err, ingest.ErrOCRUnavailable), errors.Is(err, ingest.ErrBusy), ctx.Err() != nil:
		return err
	case errors.Is(err, vault.ErrNotFound):
		return err
	case err != nil:
		// Nothing to read (a PDF of text), a damaged file, OCR that failed or ran out of
		// time: the paper is marked read, with no text. The error never holds text.
		rd.cfg.Log.Info("paper not read", "document", d.ID, "err", err)
		rec = nil
	}
	var r vault.Reading
	if rec != nil {
		r = vault.Reading{Text: rec.Text, Suggestion: suggest(rec, d)}
	}
	err = rd.cfg.Vault.StoreReading(ctx, owner, d.ID, r)
	if errors.Is(err, vault.ErrInvalid) && r.Suggestion != nil {
		// A suggestion the vault refuses is dropped; the text is kept.
		rd.cfg.Log.Warn("suggestion refused", "document", d.ID, "err", err)
		r.Suggestion = nil
		err = rd.cfg.Vault.StoreReading(ctx, owner, d.ID, r)
	}
	return err
}

// recognize decrypts the paper's rendition into memory reserved from the budget and
// recognises its first page. The access is journaled as the service reading the paper.
func (rd *Reader) recognize(ctx context.Context, owner uuid.UUID, d *vault.Document) (*ingest.Recognition, error) {
	b := d.Blob(vault.RoleRendition)
	switch {
	case b == nil, b.MediaType != "application/pdf":
		return nil, fmt.Errorf("no rendition to read: %w", ingest.ErrNoPicture)
	case b.Size > maxReadBytes:
		return nil, fmt.Errorf("rendition of %d bytes: %w", b.Size, ingest.ErrTooLarge)
	}
	res, err := rd.cfg.Budget.Reserve(ctx, b.Size)
	if err != nil {
		return nil, err
	}
	defer res.Release()
	br, err := rd.cfg.Vault.OpenAccess(ctx, owner, d.ID, b.ID, vault.Access{Actor: vault.System, Action: vault.ActionRead})
	if err != nil {
		return nil, err
	}
	pdf := bytes.NewBuffer(make([]byte, 0, b.Size))
	_, err = io.Copy(pdf, br)
	br.Close()
	if err != nil {
		return nil, err
	}
	return ingest.RecognizePDF(ctx, pdf, ingest.Options{MaxBytes: maxReadBytes, Reservation: res},
		ingest.RecognizeOptions{Now: rd.cfg.Now(), Tesseract: rd.cfg.Tesseract})
}

// paperKinds maps what recognition names a paper to the vault's kinds.
var paperKinds = map[ingest.Kind]vault.Kind{ //nolint:gochecknoglobals // a constant table
	ingest.KindIdentityCard:    vault.KindIdentite,
	ingest.KindPassport:        vault.KindIdentite,
	ingest.KindResidencePermit: vault.KindTitreSejour,
	ingest.KindTaxNotice:       vault.KindImpots,
	ingest.KindCAF:             vault.KindCAF,
	ingest.KindPayslip:         vault.KindRessources,
	ingest.KindFranceTravail:   vault.KindFranceTravail,
	ingest.KindRentReceipt:     vault.KindLogement,
	ingest.KindInvoice:         vault.KindDomicile,
	ingest.KindBankDetails:     vault.KindBanque,
}

// suggest turns a recognition into what to ask the person about paper d: only what
// differs from what the paper already says. Nil when there is nothing to ask.
func suggest(rec *ingest.Recognition, d *vault.Document) *vault.Suggestion {
	s := &vault.Suggestion{}
	if k, ok := paperKinds[rec.Kind]; ok {
		s.Paper = string(rec.Kind)
		if k != d.Kind {
			s.Kind = k
		}
	}
	if t := rec.Issued.Date; !t.IsZero() && (d.IssuedOn == nil || !d.IssuedOn.Equal(t)) {
		s.IssuedOn = &t
	}
	if t := rec.Expires.Date; !t.IsZero() && (d.ExpiresOn == nil || !d.ExpiresOn.Equal(t)) {
		s.ExpiresOn = &t
	}
	if s.IssuedOn != nil && s.ExpiresOn != nil && s.ExpiresOn.Before(*s.IssuedOn) {
		s.IssuedOn = nil // two readings that disagree: keep the expiry, which matters more
	}
	if rec.MRZ != nil && rec.MRZ.Valid {
		s.NumberEnd = numberEnd(rec.MRZ.NumberLast4)
	}
	if s.Kind == "" && s.IssuedOn == nil && s.ExpiresOn == nil {
		return nil
	}
	return s
}

// numberEnd keeps the letters and digits of the end of a document number, at most 4.
func numberEnd(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b[max(0, len(b)-4):])
}
