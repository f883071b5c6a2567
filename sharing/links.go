package sharing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"coffre/vault"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

const linkColumns = `l.id, l.owner_id, l.purpose_sealed, l.created_by_kind, l.created_by_id, l.created_at, l.expires_at,
	coalesce(l.max_downloads, 0), l.downloads, l.code_sha256 IS NOT NULL, l.revoked_at,
	array(SELECT document_id FROM link_documents d WHERE d.link_id = l.id ORDER BY document_id), l.watermark_sealed`

func (s *Service) scanLink(ctx context.Context, row pgx.Row) (*Link, error) {
	l := &Link{}
	var purpose, watermark []byte
	if err := row.Scan(&l.ID, &l.OwnerID, &purpose, &l.CreatedBy.Kind, &l.CreatedBy.ID, &l.CreatedAt, &l.ExpiresAt,
		&l.MaxDownloads, &l.Downloads, &l.HasCode, &l.RevokedAt, &l.Documents, &watermark); err != nil {
		return nil, err
	}
	if watermark != nil {
		w, err := s.vault.Unseal(ctx, l.OwnerID, watermark, watermarkPlace("link", l.ID))
		if err != nil {
			return nil, err
		}
		l.Watermark = string(w)
	}
	p, err := s.vault.Unseal(ctx, l.OwnerID, purpose, purposePlace(l.ID))
	if err != nil {
		return nil, err
	}
	l.Purpose = string(p)
	l.CreatedAt, l.ExpiresAt = l.CreatedAt.UTC(), l.ExpiresAt.UTC()
	return l, nil
}

// Links lists owner's links, newest first.
func (s *Service) Links(ctx context.Context, owner uuid.UUID) ([]Link, error) {
	rows, err := s.db.Query(ctx, `SELECT `+linkColumns+` FROM links l WHERE l.owner_id = $1 ORDER BY l.created_at DESC`, owner)
	if err != nil {
		return nil, fmt.Errorf("sharing: links: %w", err)
	}
	defer rows.Close()
	var out []Link
	for rows.Next() {
		l, err := s.scanLink(ctx, rows)
		if err != nil {
			return nil, fmt.Errorf("sharing: links: %w", err)
		}
		out = append(out, *l)
	}
	return out, rows.Err()
}

// usableSQL is the condition every use of a link l checks at the time now (a parameter
// of the caller's statement), in SQL so that it holds at the instant of the use. An
// owner whose safe is closed or erased has no usable link.
func usableSQL(now string) string {
	return `l.revoked_at IS NULL AND l.expires_at > ` + now + `
	AND (l.max_downloads IS NULL OR l.downloads < l.max_downloads)
	AND l.code_failures < ` + strconv.Itoa(maxCodeTries) + `
	AND ` + vault.SafeOpenSQL("l.owner_id")
}

// Resolve finds the usable link for token, for someone at ip.
func (s *Service) Resolve(ctx context.Context, token string) (*Link, error) {
	if _, err := ParseToken(token); err != nil {
		return nil, err
	}
	l, err := s.scanLink(ctx, s.db.QueryRow(ctx, `SELECT `+linkColumns+` FROM links l WHERE l.token_sha256 = $1 AND `+usableSQL("$2"), hashToken(token), s.now()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrUnavailable
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: resolve link: %w", err)
	}
	return l, nil
}

// CountBundle counts one download for the whole link at once (every document as one
// PDF), so that a limit of n allows n bundles; the documents are then opened with
// OpenUncounted.
func (s *Service) CountBundle(ctx context.Context, l *Link) error {
	tag, err := s.db.Exec(ctx, countDownloadSQL, l.ID, s.now())
	if err != nil {
		return fmt.Errorf("sharing: count bundle: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return ErrUnavailable
	}
	return nil
}

// revokeLinks revokes every live link of owner inside tx (the safe closes).
func revokeLinks(ctx context.Context, tx pgx.Tx, owner uuid.UUID, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE links SET revoked_at = $2 WHERE owner_id = $1 AND revoked_at IS NULL`, owner, now)
	return err
}

// forgetLinks deletes every link of owner and what it shared, inside tx (erasure).
func forgetLinks(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM link_documents WHERE link_id IN (SELECT id FROM links WHERE owner_id = $1)`, owner); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM links WHERE owner_id = $1`, owner)
	return err
}

// aidantLinksByMonth counts the links the agents (by actor ID) created, per month of
// creation from from to to (StructureStats); used: only those downloaded at least once.
func (s *Service) aidantLinksByMonth(ctx context.Context, agents []string, used bool, from, to time.Time) ([]int, error) {
	return vault.CountByMonth(ctx, s.db, `SELECT (SELECT count(*) FROM links l WHERE l.created_by_kind = 'aidant' AND l.created_by_id = ANY($3)
		AND l.created_at >= months.start AND l.created_at < months.stop AND (NOT $4 OR l.downloads > 0)) FROM months ORDER BY months.start`,
		from, to, agents, used)
}

// countDownloadSQL counts one download of link $1 if it is usable at $2.
var countDownloadSQL = `UPDATE links l SET downloads = downloads + 1 WHERE l.id = $1 AND ` + usableSQL("$2") //nolint:gochecknoglobals // a constant statement

// insertLink records c's link (its token's hash, its purpose and watermark sealed, its
// code's hash) and its documents, inside tx.
func insertLink(ctx context.Context, tx pgx.Tx, c *Created, purpose, watermark, codeHash []byte) error {
	l := c.Link
	var maxDownloads *int
	if l.MaxDownloads > 0 {
		maxDownloads = &l.MaxDownloads
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO links (id, owner_id, token_sha256, purpose_sealed, created_by_kind, created_by_id, created_at, expires_at, max_downloads, code_sha256, watermark_sealed)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		l.ID, l.OwnerID, hashToken(c.Token), purpose, l.CreatedBy.Kind, l.CreatedBy.ID, l.CreatedAt, l.ExpiresAt, maxDownloads, codeHash, watermark); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO link_documents (link_id, document_id) SELECT $1, unnest($2::uuid[])`, l.ID, l.Documents)
	return err
}

// revokeLink ends owner's link id at now, inside tx, and returns its sealed purpose;
// vault.ErrNotFound when there is no such live link.
func revokeLink(ctx context.Context, tx pgx.Tx, owner, id uuid.UUID, now time.Time) ([]byte, error) {
	var sealed []byte
	err := tx.QueryRow(ctx, `UPDATE links SET revoked_at = $3 WHERE owner_id = $1 AND id = $2 AND revoked_at IS NULL
		RETURNING purpose_sealed`, owner, id, now).Scan(&sealed)
	return sealed, notFound(err)
}

// lockCode locks link id, if usable at now, inside tx and returns its code's hash;
// pgx.ErrNoRows if it is not usable.
func lockCode(ctx context.Context, tx pgx.Tx, id uuid.UUID, now time.Time) ([]byte, error) {
	var stored []byte
	err := tx.QueryRow(ctx, `SELECT code_sha256 FROM links l WHERE l.id = $1 AND `+usableSQL("$2")+` FOR UPDATE OF l`, id, now).Scan(&stored)
	return stored, err
}

// addCodeFailure counts a wrong code for link id, inside tx, and returns how many so far.
func addCodeFailure(ctx context.Context, tx pgx.Tx, id uuid.UUID) (int, error) {
	var failures int
	err := tx.QueryRow(ctx, `UPDATE links SET code_failures = code_failures + 1 WHERE id = $1 RETURNING code_failures`, id).Scan(&failures)
	return failures, err
}
