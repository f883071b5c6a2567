package sharing

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
	"coffre/vault/account"
)

// Journal actions of links, in the owner's history.
const (
	ActionLinkCreated    vault.Action = "link_created"
	ActionLinkOpened     vault.Action = "link_opened"
	ActionLinkRevoked    vault.Action = "link_revoked"
	ActionLinkCodeFailed vault.Action = "link_code_failed"
	ActionLinkLocked     vault.Action = "link_locked"
)

// Errors callers act on.
var (
	// ErrUnavailable: no usable link for this token — unknown, malformed, expired,
	// revoked, exhausted or locked. Deliberately one error for all.
	ErrUnavailable = errors.New("link unavailable")
	// ErrWrongCode: the code is wrong; the link is not locked yet.
	ErrWrongCode = errors.New("wrong code")
	// ErrInvalid: the owner's request is wrong (no document, bad lifetime…).
	ErrInvalid = errors.New("invalid link request")
)

// Lifetimes a link may have; the default is 24 hours.
var Lifetimes = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} //nolint:gochecknoglobals // a constant list

// DefaultLifetime is the lifetime of a link when the owner does not choose.
const DefaultLifetime = 24 * time.Hour

const (
	tokenBytes    = 32
	tokenLen      = 43 // base64url, unpadded
	maxCodeTries  = 5
	maxPurposeLen = 120
	maxLinkDocs   = 50
)

// Link is a share link, without its token (which only its creator ever sees).
type Link struct {
	ID           uuid.UUID
	OwnerID      uuid.UUID
	Purpose      string
	CreatedBy    vault.Actor
	CreatedAt    time.Time
	ExpiresAt    time.Time
	MaxDownloads int // 0: no limit
	Downloads    int
	HasCode      bool
	RevokedAt    *time.Time
	Documents    []uuid.UUID
	// Watermark is the text written across every page of what the link gives, ""
	// for none (watermark.go).
	Watermark string

	// Agent is set by the caller when the browser using the link is signed in as an
	// agent: what the link gives is then journaled with that agent as actor, so that the
	// person sees who read their papers, not only that a link was used.
	Agent *Agent
}

// user is who uses the link, for the journal: the link itself, or the agent of
// l.Agent, whose entries name the link in their detail ("Mme D. (CCAS de Lille) — <link
// ID>") so that the history can say which.
func (l *Link) user(ip netip.Addr, note string) (vault.Actor, string) {
	if l.Agent != nil {
		return l.Agent.Actor(ip), l.Agent.Label() + " — " + l.ID.String()
	}
	return vault.Actor{Kind: vault.ActorLink, ID: l.ID.String(), IP: ip}, note
}

// Active tells whether the link can still be used at t.
func (l *Link) Active(t time.Time) bool {
	return l.RevokedAt == nil && t.Before(l.ExpiresAt) && (l.MaxDownloads == 0 || l.Downloads < l.MaxDownloads)
}

// NewLink is what the owner chooses.
type NewLink struct {
	Documents    []uuid.UUID
	Purpose      string        // e.g. "CAF – aide au logement"
	Lifetime     time.Duration // one of Lifetimes; 0 means DefaultLifetime
	MaxDownloads int           // 0: no limit
	WithCode     bool          // ask for a 6-digit code said aloud
	// Watermark is written across every page of what the link gives (watermark.go);
	// "" gives the papers as they are.
	Watermark string
}

// Created is a new link with its secrets, to show once to the owner.
type Created struct {
	Link  *Link
	Token string // goes in the URL
	Code  string // 6 digits, empty without code
}

func (nl *NewLink) validate() error {
	if len(nl.Documents) == 0 || len(nl.Documents) > maxLinkDocs {
		return fmt.Errorf("a link shares 1 to %d documents: %w", maxLinkDocs, ErrInvalid)
	}
	if nl.Lifetime == 0 {
		nl.Lifetime = DefaultLifetime
	}
	ok := false
	for _, l := range Lifetimes {
		ok = ok || nl.Lifetime == l
	}
	if !ok {
		return fmt.Errorf("lifetime %s is not 1h, 24h or 7 days: %w", nl.Lifetime, ErrInvalid)
	}
	if nl.MaxDownloads < 0 || nl.MaxDownloads > 1000 {
		return fmt.Errorf("download limit %d out of range: %w", nl.MaxDownloads, ErrInvalid)
	}
	nl.Purpose = strings.TrimSpace(nl.Purpose)
	if !utf8.ValidString(nl.Purpose) || utf8.RuneCountInString(nl.Purpose) > maxPurposeLen {
		return fmt.Errorf("purpose longer than %d characters: %w", maxPurposeLen, ErrInvalid)
	}
	var err error
	nl.Watermark, err = cleanWatermark(nl.Watermark)
	return err
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func hashCode(token, code string) []byte {
	sum := sha256.Sum256([]byte(token + "\x00" + code))
	return sum[:]
}

// ParseToken checks a token's form before any database look-up.
func ParseToken(s string) (string, error) {
	if len(s) != tokenLen {
		return "", ErrUnavailable
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != tokenBytes {
		return "", ErrUnavailable
	}
	return s, nil
}

func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

func purposePlace(link uuid.UUID) string { return "link-purpose:" + link.String() }

// denyOthers journals a failed attempt at each of ids that is not among owner's docs:
// someone else's paper goes into its owner's journal, a missing one into owner's.
func (s *Service) denyOthers(ctx context.Context, owner uuid.UUID, by vault.Actor, ids []uuid.UUID, docs []vault.Document) {
	seen := map[uuid.UUID]bool{}
	for _, d := range docs {
		seen[d.ID] = true
	}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			s.vault.DenyDocument(ctx, owner, id, by)
		}
	}
}

// CreateLink shares some of owner's documents. Every document must be the owner's and
// not deleted; otherwise nothing is created and the answer is vault.ErrNotFound. A closed
// safe shares nothing (vault.ErrClosed).
func (s *Service) CreateLink(ctx context.Context, owner uuid.UUID, by vault.Actor, nl NewLink) (*Created, error) {
	if err := nl.validate(); err != nil {
		return nil, fmt.Errorf("sharing: create link: %w", err)
	}
	docs, err := s.vault.DocumentsIn(ctx, owner, nl.Documents)
	if err != nil {
		return nil, fmt.Errorf("sharing: create link: %w", err)
	}
	unique := map[uuid.UUID]bool{}
	for _, id := range nl.Documents {
		unique[id] = true
	}
	if len(docs) != len(unique) {
		s.denyOthers(ctx, owner, by, nl.Documents, docs)
		return nil, fmt.Errorf("sharing: create link: a document is not the owner's: %w", vault.ErrNotFound)
	}
	c := &Created{Link: &Link{
		ID: uuid.New(), OwnerID: owner, Purpose: nl.Purpose, CreatedBy: vault.Actor{Kind: by.Kind, ID: by.ID},
		CreatedAt: s.now(), MaxDownloads: nl.MaxDownloads, HasCode: nl.WithCode,
		Watermark: nl.Watermark,
	}}
	c.Link.ExpiresAt = c.Link.CreatedAt.Add(nl.Lifetime)
	for id := range unique {
		c.Link.Documents = append(c.Link.Documents, id)
	}
	if c.Token, err = newToken(); err != nil {
		return nil, fmt.Errorf("sharing: create link: %w", err)
	}
	var codeHash []byte
	if nl.WithCode {
		if c.Code, err = newCode(); err != nil {
			return nil, fmt.Errorf("sharing: create link: %w", err)
		}
		codeHash = hashCode(c.Token, c.Code)
	}
	purpose, err := s.vault.Seal(ctx, owner, []byte(nl.Purpose), purposePlace(c.Link.ID))
	if err != nil {
		return nil, fmt.Errorf("sharing: create link: %w", err)
	}
	var watermark []byte
	if nl.Watermark != "" {
		if watermark, err = s.vault.Seal(ctx, owner, []byte(nl.Watermark), watermarkPlace("link", c.Link.ID)); err != nil {
			return nil, fmt.Errorf("sharing: create link: %w", err)
		}
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// A closure committing meanwhile revokes every link: this one is written before
		// it, or sees the safe closed.
		if err := s.vault.CheckOpenTx(ctx, tx, owner); err != nil {
			return err
		}
		if err := insertLink(ctx, tx, c, purpose, watermark, codeHash); err != nil {
			return err
		}
		private := nl.Purpose
		if nl.Watermark != "" {
			private = strings.TrimPrefix(private+" — "+WatermarkNote(nl.Watermark), " — ")
		}
		return s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionLinkCreated, Private: private})
	})
	if err != nil {
		return nil, fmt.Errorf("sharing: create link: %w", err)
	}
	return c, nil
}

// RevokeLink ends one of owner's links at once.
func (s *Service) RevokeLink(ctx context.Context, owner, id uuid.UUID, by vault.Actor) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		sealed, err := revokeLink(ctx, tx, owner, id, s.now())
		if err != nil {
			return err
		}
		purpose, err := s.vault.Unseal(ctx, owner, sealed, purposePlace(id))
		if err != nil {
			return err
		}
		return s.vault.RecordTx(ctx, tx, owner, vault.Event{Actor: by, Action: ActionLinkRevoked, Private: string(purpose)})
	})
	if err != nil {
		return fmt.Errorf("sharing: revoke link %s: %w", id, err)
	}
	return nil
}

// CheckCode checks the code said aloud. After the fifth wrong code the link is locked for
// good (ErrUnavailable from then on); the owner sees each failure in the history.
func (s *Service) CheckCode(ctx context.Context, l *Link, token, code string, ip netip.Addr) error {
	if !l.HasCode {
		return nil
	}
	// Compare and count under the row's lock: otherwise a burst of parallel guesses would
	// all be compared before the fifth failure is written, and test more than five codes.
	actor := vault.Actor{Kind: vault.ActorLink, ID: l.ID.String(), IP: ip}
	right, failures := false, 0
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		stored, err := lockCode(ctx, tx, l.ID, s.now())
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(stored, hashCode(token, code)) == 1 {
			right = true
			return nil
		}
		if failures, err = addCodeFailure(ctx, tx, l.ID); err != nil {
			return err
		}
		action := ActionLinkCodeFailed
		if failures >= maxCodeTries {
			action = ActionLinkLocked
		}
		return s.vault.RecordTx(ctx, tx, l.OwnerID, vault.Event{Actor: actor, Action: action})
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrUnavailable
	case err != nil:
		return fmt.Errorf("sharing: check code: %w", err)
	case right:
		return nil
	case failures >= maxCodeTries:
		return ErrUnavailable
	}
	return ErrWrongCode
}

// Opened journals that someone opened the link's page or manifest, and tells the owner
// the first time if they asked for it (account.NoticeLinkOpened).
func (s *Service) Opened(ctx context.Context, l *Link, ip netip.Addr) error {
	by, detail := l.user(ip, "")
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.vault.RecordTx(ctx, tx, l.OwnerID, vault.Event{Actor: by, Action: ActionLinkOpened, Detail: detail}); err != nil {
			return err
		}
		return s.accounts.NotifyTx(ctx, tx, l.OwnerID, account.Notice{What: account.NoticeLinkOpened, Key: "link_opened:" + l.ID.String(), At: s.now()})
	})
}

// Documents returns the link's documents that still exist: one deleted after being
// shared is simply gone from the link.
func (s *Service) Documents(ctx context.Context, l *Link) ([]vault.Document, error) {
	return s.vault.DocumentsIn(ctx, l.OwnerID, l.Documents)
}

// Document returns one of the link's documents, if it still exists: what a download
// needs, without reading every document of the link. Another document gives
// vault.ErrNotFound, not journaled: Open journals the attempt.
func (s *Service) Document(ctx context.Context, l *Link, id uuid.UUID) (*vault.Document, error) {
	if !slices.Contains(l.Documents, id) {
		return nil, fmt.Errorf("sharing: document: %w", vault.ErrNotFound)
	}
	docs, err := s.vault.DocumentsIn(ctx, l.OwnerID, []uuid.UUID{id})
	if err != nil {
		return nil, fmt.Errorf("sharing: document: %w", err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("sharing: document: %w", vault.ErrNotFound)
	}
	return &docs[0], nil
}

// Open reads one blob of one of the link's documents. Full documents count against the
// download limit, atomically and in the same transaction as the journal entry: with a
// limit of n, exactly n opens succeed however many race. Thumbnails do not count. note
// goes into the journal entry (the number of the receipt given, say).
func (s *Service) Open(ctx context.Context, l *Link, doc, blob uuid.UUID, ip netip.Addr, action vault.Action, note string) (*vault.BlobReader, error) {
	if !slices.Contains(l.Documents, doc) {
		actor := vault.Actor{Kind: vault.ActorLink, ID: l.ID.String(), IP: ip}
		if jerr := s.vault.Record(ctx, l.OwnerID, vault.Event{Actor: actor, Action: vault.ActionDenied, DocumentID: doc}); jerr != nil {
			return nil, fmt.Errorf("sharing: open: %w", jerr)
		}
		return nil, fmt.Errorf("sharing: open: %w", vault.ErrNotFound)
	}
	access := vault.Access{Action: action, Private: WatermarkNote(l.Watermark)}
	access.Actor, access.Detail = l.user(ip, note)
	access.Require = func(b *vault.Blob) *vault.Requirement {
		if b.Role == vault.RoleThumbnail {
			return nil
		}
		return &vault.Requirement{SQL: countDownloadSQL, Args: []any{l.ID, s.now()}, Refused: ErrUnavailable}
	}
	// A download counted and journaled whose bytes then failed to come is not given back:
	// the count may only go up, and the owner can make a new link.
	r, err := s.vault.OpenAccess(ctx, l.OwnerID, doc, blob, access)
	if err != nil {
		return nil, fmt.Errorf("sharing: open: %w", err)
	}
	return r, nil
}

// OpenUncounted reads one of the link's documents already counted by CountBundle. The
// access is journaled like any other.
func (s *Service) OpenUncounted(ctx context.Context, l *Link, doc, blob uuid.UUID, ip netip.Addr) (*vault.BlobReader, error) {
	if !slices.Contains(l.Documents, doc) {
		return nil, fmt.Errorf("sharing: open: %w", vault.ErrNotFound)
	}
	a := vault.Access{Action: vault.ActionDownload, Private: WatermarkNote(l.Watermark)}
	a.Actor, a.Detail = l.user(ip, "")
	return s.vault.OpenAccess(ctx, l.OwnerID, doc, blob, a)
}
