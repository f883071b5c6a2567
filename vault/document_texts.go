package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// What reading a paper found (table document_texts): its text and what recognition
// suggests, sealed with the owner's data key and bound to the document. The reading
// itself (OCR, recognition) is done outside the vault, by package web's Reader, and
// only when the owner asked for it (reading_consents.go).

// MaxTextLen bounds the text kept of one paper, in bytes: a dense A4 page is about 5 KB.
const MaxTextLen = 64 << 10

// Suggestion is what recognition suggests about a paper. It is never applied by itself:
// the person confirms it (UpdateDocument with SettleSuggestion), corrects it, or
// dismisses it (DismissSuggestion).
type Suggestion struct {
	// Kind is the kind suggested, "" when recognition has none to suggest.
	Kind Kind `json:"kind,omitempty"`
	// Paper is what recognition took the paper for, in package ingest's words
	// ("passeport", "quittance_loyer"): more precise than Kind, it names the paper in
	// the question asked and in the title suggested.
	Paper     string     `json:"paper,omitempty"`
	IssuedOn  *time.Time `json:"issued,omitempty"`
	ExpiresOn *time.Time `json:"expires,omitempty"`
	// NumberEnd is the end (at most 4 characters) of the document number read in a
	// machine-readable zone whose check digits matched: enough for the person to tell
	// which card it is. The whole number is never kept apart from the sealed text.
	NumberEnd string `json:"number_end,omitempty"`
}

var (
	paperName = regexp.MustCompile(`^[a-z_]{0,40}$`)
	numberEnd = regexp.MustCompile(`^[A-Z0-9]{0,4}$`)
)

// empty tells whether s suggests nothing.
func (s *Suggestion) empty() bool {
	return s == nil || s.Kind == "" && s.IssuedOn == nil && s.ExpiresOn == nil
}

func (s *Suggestion) validate() error {
	if s.Kind != "" {
		if _, err := ParseKind(string(s.Kind)); err != nil {
			return err
		}
	}
	if !paperName.MatchString(s.Paper) || !numberEnd.MatchString(s.NumberEnd) {
		return fmt.Errorf("suggestion: malformed paper name or number: %w", ErrInvalid)
	}
	return validDates(s.IssuedOn, s.ExpiresOn)
}

// Reading is what reading one paper found.
type Reading struct {
	// Text is the text read, "" when there was nothing to read (a PDF of text without
	// pictures): the paper is then not read again. Cut at MaxTextLen.
	Text string
	// Suggestion is nil when recognition has nothing to suggest.
	Suggestion *Suggestion
}

func textAD(owner, doc uuid.UUID) string { return "text:" + owner.String() + ":" + doc.String() }
func suggestionAD(owner, doc uuid.UUID) string {
	return "suggestion:" + owner.String() + ":" + doc.String()
}

// StoreReading keeps what reading owner's document doc found: its text and suggestion
// sealed, the text's words in the blind index beside the title's and kind's. A reading
// stored again replaces the previous one. It is refused with ErrReadingOff when the
// owner has not asked for their papers to be read, or stopped it while the paper was
// being read (nothing is kept), and with ErrNotFound when the document is gone.
func (v *Vault) StoreReading(ctx context.Context, owner, doc uuid.UUID, r Reading) error {
	if !r.Suggestion.empty() {
		if err := r.Suggestion.validate(); err != nil {
			return fmt.Errorf("vault: store reading %s: %w", doc, err)
		}
	} else {
		r.Suggestion = nil
	}
	text := cutText(r.Text, MaxTextLen)
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return fmt.Errorf("vault: store reading %s: %w", doc, err)
	}
	textSealed, err := seal(dataKey, []byte(text), textAD(owner, doc))
	if err != nil {
		return fmt.Errorf("vault: store reading %s: %w", doc, err)
	}
	var sugSealed []byte
	if r.Suggestion != nil {
		b, err := json.Marshal(r.Suggestion)
		if err != nil {
			return fmt.Errorf("vault: store reading %s: %w", doc, err)
		}
		if sugSealed, err = seal(dataKey, b, suggestionAD(owner, doc)); err != nil {
			return fmt.Errorf("vault: store reading %s: %w", doc, err)
		}
	}
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		// The consent is held until commit: turning reading off waits for this reading,
		// then erases it.
		err := holdReadingConsent(ctx, tx, owner)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrReadingOff
		}
		if err != nil {
			return err
		}
		title, kind, err := lockDocument(ctx, tx, dataKey, owner, doc)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO document_texts (document_id, owner_id, text_sealed, suggestion_sealed, read_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (document_id) DO UPDATE SET text_sealed = EXCLUDED.text_sealed,
				suggestion_sealed = EXCLUDED.suggestion_sealed, read_at = EXCLUDED.read_at
			WHERE document_texts.owner_id = EXCLUDED.owner_id`,
			doc, owner, textSealed, sugSealed, v.now()); err != nil {
			return err
		}
		return indexTx(ctx, tx, dataKey, owner, doc, title, kind, text)
	})
	if err != nil {
		return fmt.Errorf("vault: store reading %s: %w", doc, err)
	}
	return nil
}

// cutText cuts s to at most n bytes, on a character boundary, and drops invalid UTF-8.
func cutText(s string, n int) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // invalid bytes become U+FFFD
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Text returns the text read from owner's document doc: "" when nothing could be read,
// ErrNotFound when it was not read (reading off, or not yet).
func (v *Vault) Text(ctx context.Context, owner, doc uuid.UUID) (string, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return "", fmt.Errorf("vault: text %s: %w", doc, err)
	}
	var sealed []byte
	err = v.db.QueryRow(ctx, `SELECT t.text_sealed FROM document_texts t JOIN documents d ON d.id = t.document_id
		WHERE t.owner_id = $1 AND t.document_id = $2 AND d.deleted_at IS NULL`, owner, doc).Scan(&sealed)
	if err != nil {
		return "", fmt.Errorf("vault: text %s: %w", doc, notFound(err))
	}
	b, err := open(dataKey, sealed, textAD(owner, doc))
	if err != nil {
		return "", fmt.Errorf("vault: text %s: %w", doc, err)
	}
	return string(b), nil
}

// textTx returns, inside tx, the text read from owner's document doc, "" when none.
func textTx(ctx context.Context, tx pgx.Tx, dataKey []byte, owner, doc uuid.UUID) (string, error) {
	var sealed []byte
	err := tx.QueryRow(ctx, `SELECT text_sealed FROM document_texts WHERE owner_id = $1 AND document_id = $2`, owner, doc).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	b, err := open(dataKey, sealed, textAD(owner, doc))
	if err != nil {
		return "", fmt.Errorf("document %s text: %w", doc, err)
	}
	return string(b), nil
}

// Suggestion returns what recognition suggests about owner's document doc, still
// waiting for the person's answer; ErrNotFound when there is none.
func (v *Vault) Suggestion(ctx context.Context, owner, doc uuid.UUID) (*Suggestion, error) {
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: suggestion %s: %w", doc, err)
	}
	var sealed []byte
	err = v.db.QueryRow(ctx, `SELECT t.suggestion_sealed FROM document_texts t JOIN documents d ON d.id = t.document_id
		WHERE t.owner_id = $1 AND t.document_id = $2 AND t.suggestion_sealed IS NOT NULL AND d.deleted_at IS NULL`,
		owner, doc).Scan(&sealed)
	if err != nil {
		return nil, fmt.Errorf("vault: suggestion %s: %w", doc, notFound(err))
	}
	s, err := openSuggestion(dataKey, owner, doc, sealed)
	if err != nil {
		return nil, fmt.Errorf("vault: suggestion %s: %w", doc, err)
	}
	return s, nil
}

func openSuggestion(dataKey []byte, owner, doc uuid.UUID, sealed []byte) (*Suggestion, error) {
	b, err := open(dataKey, sealed, suggestionAD(owner, doc))
	if err != nil {
		return nil, err
	}
	s := &Suggestion{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrIntegrity)
	}
	return s, nil
}

// ReadingState is where the reading of one paper stands, for its page.
type ReadingState struct {
	// Pending: the owner asked for their papers to be read, and this one is not read yet.
	Pending bool
	// Suggestion waits for the person's answer; nil when there is none.
	Suggestion *Suggestion
}

// ReadingOf tells where the reading of owner's document doc stands, in one query. The
// caller has looked the document up (Document): a document that is not the owner's
// reads as neither pending nor suggested.
func (v *Vault) ReadingOf(ctx context.Context, owner, doc uuid.UUID) (ReadingState, error) {
	var st ReadingState
	var on, read bool
	var sealed []byte
	err := v.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reading_consents WHERE owner_id = $1), t.document_id IS NOT NULL, t.suggestion_sealed
		FROM (SELECT 1) one LEFT JOIN document_texts t ON t.owner_id = $1 AND t.document_id = $2`, owner, doc).Scan(&on, &read, &sealed)
	if err != nil {
		return st, fmt.Errorf("vault: reading of %s: %w", doc, err)
	}
	st.Pending = on && !read
	if sealed != nil {
		_, dataKey, err := v.ownerKeys(ctx, owner)
		if err != nil {
			return st, fmt.Errorf("vault: reading of %s: %w", doc, err)
		}
		if st.Suggestion, err = openSuggestion(dataKey, owner, doc, sealed); err != nil {
			return st, fmt.Errorf("vault: reading of %s: %w", doc, err)
		}
	}
	return st, nil
}

// DismissSuggestion forgets the suggestion about owner's document doc, which the person
// turned down; nothing of the paper changes. ErrNotFound when there is none.
func (v *Vault) DismissSuggestion(ctx context.Context, owner, doc uuid.UUID) error {
	tag, err := v.db.Exec(ctx, `UPDATE document_texts SET suggestion_sealed = NULL
		WHERE owner_id = $1 AND document_id = $2 AND suggestion_sealed IS NOT NULL`, owner, doc)
	if err != nil {
		return fmt.Errorf("vault: dismiss suggestion %s: %w", doc, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("vault: dismiss suggestion %s: %w", doc, ErrNotFound)
	}
	return nil
}

// settleTx forgets, inside tx, the suggestion about owner's document doc, answered by a
// change of the paper.
func settleTx(ctx context.Context, tx pgx.Tx, owner, doc uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE document_texts SET suggestion_sealed = NULL
		WHERE owner_id = $1 AND document_id = $2 AND suggestion_sealed IS NOT NULL`, owner, doc)
	return err
}

// eraseTextsTx deletes, inside tx, every text read from owner's papers and every
// suggestion, and indexes each of those papers again by its title and kind alone.
func (v *Vault) eraseTextsTx(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, dataKey, err := v.ownerKeysIn(ctx, tx, owner)
	if err != nil {
		return err
	}
	docs, err := documentsWithTexts(ctx, tx, owner)
	if err != nil {
		return err
	}
	for _, doc := range docs {
		title, kind, err := lockDocument(ctx, tx, dataKey, owner, doc)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile: its terms went with it
		}
		if err != nil {
			return err
		}
		if err := indexTx(ctx, tx, dataKey, owner, doc, title, kind, ""); err != nil {
			return err
		}
	}
	return forgetTextsTx(ctx, tx, owner)
}

// dropTextTx deletes, inside tx, what was read from owner's document doc (deleted).
func dropTextTx(ctx context.Context, tx pgx.Tx, owner, doc uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM document_texts WHERE owner_id = $1 AND document_id = $2`, owner, doc); err != nil {
		return fmt.Errorf("drop text: %w", err)
	}
	return nil
}

// forgetTextsTx deletes, inside tx, every text and suggestion of owner.
func forgetTextsTx(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM document_texts WHERE owner_id = $1`, owner); err != nil {
		return fmt.Errorf("forget texts: %w", err)
	}
	return nil
}
