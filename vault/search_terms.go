package vault

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"coffre/vault/i18n"
)

// The blind index (table search_terms). Every word of a paper's title, kind and text
// is normalised (searchWords), then hashed with HMAC-SHA256 under the owner's search
// key, derived from their data key; a search hashes the words typed the same way and
// asks the database for the papers that hold all of them. See doc.go for what the
// table reveals.

const (
	// termLen is the length of a stored term: 128 bits of the HMAC, enough that two
	// words of one owner never share a term.
	termLen = 16
	// maxTerms bounds the terms of one paper: a dense A4 page has about 400 distinct
	// words.
	maxTerms = 2000
	// maxWordLen bounds a word, in letters: longer runs (a machine-readable zone, an
	// IBAN written without spaces) are cut.
	maxWordLen = 40
	// maxQueryWords bounds the words of one search.
	maxQueryWords = 10
)

// searchKey derives the key of owner's blind index from their data key. The label keeps
// it apart from every other use of the data key (sealing, blob MACs).
func searchKey(dataKey []byte) []byte {
	k, err := hkdf.Key(sha256.New, dataKey, nil, "coffre search terms v1", sha256.Size)
	if err != nil {
		panic(err) // only for an output longer than HKDF allows
	}
	return k
}

// terms hashes normalised words into the index's terms.
func terms(key []byte, words []string) [][]byte {
	out := make([][]byte, len(words))
	for i, w := range words {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(w))
		out[i] = m.Sum(nil)[:termLen]
	}
	return out
}

// stopWords are left out of the index and of searches: they are in nearly every paper,
// so they find nothing and would only tell which hash is the commonest word.
var stopWords = map[string]bool{ //nolint:gochecknoglobals // a constant table
	"de": true, "du": true, "des": true, "la": true, "le": true, "les": true, "un": true, "une": true,
	"et": true, "en": true, "au": true, "aux": true, "pour": true, "par": true, "sur": true, "dans": true,
	"avec": true, "ou": true, "ce": true, "cette": true, "est": true, "il": true, "elle": true, "vous": true,
	"the": true, "of": true, "and": true, "to": true, "in": true, "on": true, "for": true,
}

// letterFolds spells the letters that do not decompose into a base letter and accents.
var letterFolds = map[rune]string{ //nolint:gochecknoglobals // a constant table
	'œ': "oe", 'æ': "ae", 'ß': "ss", 'ø': "o", 'ł': "l", 'đ': "d", 'ı': "i",
}

// searchWords splits text into the words the index holds, each once, in order: lower
// case, without accents (« Séjour », « SEJOUR » and « séjour » are one word), letters
// and digits only (an apostrophe or a hyphen splits: « d'identité » gives « identite »),
// at least two characters, without a final s or x on words of four letters or more (the
// plural of most French words: « impôts » finds « impôt »), and without the commonest
// words (stopWords). The same function reads a search, so that both sides agree.
func searchWords(text string) []string {
	var words []string
	seen := map[string]bool{}
	var b strings.Builder
	flush := func() {
		w := b.String()
		b.Reset()
		n := len([]rune(w))
		if n < 2 {
			return
		}
		if n > maxWordLen {
			w = string([]rune(w)[:maxWordLen])
		}
		if r := []rune(w); len(r) >= 4 && (r[len(r)-1] == 's' || r[len(r)-1] == 'x') && !unicode.IsDigit(r[len(r)-2]) {
			w = string(r[:len(r)-1])
		}
		if stopWords[w] || seen[w] {
			return
		}
		seen[w] = true
		words = append(words, w)
	}
	for _, r := range norm.NFD.String(text) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// an accent, decomposed from its letter by NFD
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			if f, ok := letterFolds[r]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(r)
			}
		default:
			flush()
		}
	}
	flush()
	return words
}

// documentWords are the words a paper is found by: its title's, its kind's
// (kindSearchWords) and its text's, at most maxTerms.
func documentWords(title string, kind Kind, text string) []string {
	words := searchWords(title + "\n" + kindSearchWords(kind) + "\n" + text)
	return words[:min(len(words), maxTerms)]
}

// indexTx replaces, inside tx, the terms of owner's document doc with those of its title,
// kind and text. Callers hold the document's row (FOR UPDATE, or the UPDATE that changes
// it), so that two changes of one paper index it one after the other.
func indexTx(ctx context.Context, tx pgx.Tx, dataKey []byte, owner, doc uuid.UUID, title string, kind Kind, text string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM search_terms WHERE owner_id = $1 AND document_id = $2`, owner, doc); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	ts := terms(searchKey(dataKey), documentWords(title, kind, text))
	if _, err := tx.Exec(ctx, `INSERT INTO search_terms (owner_id, term, document_id)
		SELECT $1, t, $2 FROM unnest($3::bytea[]) t ON CONFLICT DO NOTHING`, owner, doc, ts); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// queueIndexNew queues in b the terms of a new document, which has none yet: a deposit
// sends all its rows in one batch.
func queueIndexNew(b *pgx.Batch, dataKey []byte, owner, doc uuid.UUID, title string, kind Kind) {
	b.Queue(`INSERT INTO search_terms (owner_id, term, document_id)
		SELECT $1, t, $2 FROM unnest($3::bytea[]) t ON CONFLICT DO NOTHING`, owner, doc, terms(searchKey(dataKey), documentWords(title, kind, "")))
}

// unindexTx removes, inside tx, every term of owner's document doc.
func unindexTx(ctx context.Context, tx pgx.Tx, owner, doc uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM search_terms WHERE owner_id = $1 AND document_id = $2`, owner, doc); err != nil {
		return fmt.Errorf("unindex: %w", err)
	}
	return nil
}

// forgetTermsTx removes every term of owner, for the erasure of their safe.
func forgetTermsTx(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM search_terms WHERE owner_id = $1`, owner); err != nil {
		return fmt.Errorf("forget terms: %w", err)
	}
	return nil
}

// Found is the answer to a search: the papers, newest first, and how many matched in
// all (more than len(Docs) when the limit cut the list).
type Found struct {
	Docs  []Summary
	Total int
}

// Search finds owner's current papers whose title, kind or text (when reading is on)
// hold every word of query, whatever their accents and case (see searchWords), newest
// first, at most limit. The database answers from the blind index alone: only the titles
// and kinds of the papers found are opened. A query with no word to look for (empty,
// or only one-letter and common words) is ErrInvalid.
func (v *Vault) Search(ctx context.Context, owner uuid.UUID, query string, limit int) (*Found, error) {
	words := searchWords(query)
	if len(words) == 0 {
		return nil, fmt.Errorf("vault: search: no word to look for: %w", ErrInvalid)
	}
	words = words[:min(len(words), maxQueryWords)]
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: search: %w", err)
	}
	alts, masks := kindAlternatives(words)
	rows, err := foundRows(ctx, v.db, owner, terms(searchKey(dataKey), alts), masks, 1<<len(words)-1, max(limit, 0))
	if err != nil {
		return nil, fmt.Errorf("vault: search: %w", err)
	}
	f := &Found{Docs: []Summary{}}
	var r summaryRow
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.kind, &r.title, &r.IssuedOn, &r.ExpiresOn, &r.CreatedAt, &r.HasThumbnail, &f.Total}, func() error {
		k, err := openKind(dataKey, owner, r.ID, r.kind)
		if err != nil {
			return err
		}
		r.Kind, r.CreatedAt = k, r.CreatedAt.UTC()
		s, err := r.open(owner, dataKey)
		if err != nil {
			return err
		}
		f.Docs = append(f.Docs, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vault: search: %w", err)
	}
	return f, nil
}

// kindAlternatives gives the words a search looks up for words, each once, with the mask
// of the words of the search it stands for (bit i for words[i]): each word itself and,
// when it names kinds in another language (nameKinds), the word every paper of each such
// kind is indexed by (kindKeys). A paper is found when the masks of the words it holds
// cover every word of the search: « رسید » or « квитанция » finds the rent receipts,
// which the index knows by their French and English names only (kindSearchWords). A word
// those names hold already needs no alternative: « France Travail » still wants both
// words, and a paper of the kind holds them anyway.
func kindAlternatives(words []string) (alts []string, masks []int32) {
	index := map[string]int{}
	add := func(w string, i int) {
		j, ok := index[w]
		if !ok {
			j = len(alts)
			index[w] = j
			alts, masks = append(alts, w), append(masks, 0)
		}
		masks[j] |= 1 << i
	}
	names := nameKinds()
	for i, w := range words {
		add(w, i)
		for _, k := range names[w] {
			add(kindKeys[k], i)
		}
	}
	return alts, masks
}

// nameKinds maps each word people search a kind of paper by, in every language Coffre
// speaks ("search.kind.<k>" in the catalogues), to the kinds it names that are not
// indexed by it already (kindSearchWords). The kinds' labels are left out: they hold
// little words (« про », « da ») and words as general as « document ».
var nameKinds = sync.OnceValue(func() map[string][]Kind { //nolint:gochecknoglobals // computed once from the catalogues
	m := map[string][]Kind{}
	for _, k := range Kinds {
		indexed := searchWords(kindSearchWords(k))
		for _, l := range i18n.Languages {
			for _, w := range searchWords(i18n.Text(l, "search.kind."+string(k))) {
				if !slices.Contains(indexed, w) && !slices.Contains(m[w], k) {
					m[w] = append(m[w], k)
				}
			}
		}
	}
	return m
})

// kindKeys is, for each kind, a word it is indexed by (kindSearchWords) and no other kind
// is: every paper of the kind holds it. They are English names, which French papers seldom
// hold in their own text, where « France », « pièce » or « titre » are everywhere.
var kindKeys = map[Kind]string{ //nolint:gochecknoglobals // a constant table
	KindIdentite: "passport", KindTitreSejour: "permit", KindDomicile: "proof", KindRessources: "payslip",
	KindImpots: "tax", KindCAF: "caf", KindFranceTravail: "pole", KindSante: "health", KindFamille: "family",
	KindLogement: "housing", KindBanque: "bank", KindAutre: "other",
}

// indexBatch is how many documents IndexDocuments indexes per transaction.
const indexBatch = 500

// IndexDocuments puts in the blind index the title and kind of every current document
// that has no term yet: those deposited before migration 14. 'coffre migrate' runs it
// after the SQL migrations; it returns how many documents it indexed. Running it again,
// or from several processes at once, is safe.
func (v *Vault) IndexDocuments(ctx context.Context) (int, error) {
	total := 0
	after := uuid.Nil
	for {
		n, last, err := v.indexSome(ctx, after)
		total += n
		if err != nil {
			return total, fmt.Errorf("vault: index documents: %w", err)
		}
		if last == uuid.Nil {
			return total, nil
		}
		after = last
	}
}

// indexSome indexes the next batch of unindexed documents whose ID comes after after,
// and returns how many it indexed and the last ID it saw (uuid.Nil at the end).
func (v *Vault) indexSome(ctx context.Context, after uuid.UUID) (n int, last uuid.UUID, err error) {
	type unindexed struct {
		id, owner   uuid.UUID
		kind, title []byte
	}
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		rows, err := unindexedDocumentRows(ctx, tx, after, indexBatch)
		if err != nil {
			return err
		}
		batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (unindexed, error) {
			var u unindexed
			return u, row.Scan(&u.id, &u.owner, &u.kind, &u.title)
		})
		if err != nil {
			return err
		}
		for _, u := range batch {
			last = u.id
			_, dataKey, err := v.ownerKeys(ctx, u.owner)
			if errors.Is(err, ErrShredded) {
				continue
			}
			if err != nil {
				return fmt.Errorf("document %s: %w", u.id, err)
			}
			kind, err := openKind(dataKey, u.owner, u.id, u.kind)
			if err != nil {
				v.log.Warn("not indexed: its kind does not open", "document", u.id, "err", err)
				continue
			}
			title, err := open(dataKey, u.title, titleAD(u.owner, u.id))
			if err != nil {
				// Still found by its kind.
				v.log.Warn("indexed without its title: it does not open", "document", u.id, "err", err)
				title = nil
			}
			if err := indexTx(ctx, tx, dataKey, u.owner, u.id, string(title), kind, ""); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, last, err
}
