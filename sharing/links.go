package sharing

import (
	"coffre/vault"
	"context"
	"errors"
	"fmt"

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

// usable is the condition every use of a link checks, in SQL so that it holds at the
// instant of the use. An owner whose safe is closed or erased has no usable link.
var usable = `l.revoked_at IS NULL AND l.expires_at > now()
	AND (l.max_downloads IS NULL OR l.downloads < l.max_downloads)
	AND l.code_failures < 5
	AND ` + vault.SafeOpenSQL("l.owner_id") //nolint:gochecknoglobals // a constant condition

// Resolve finds the usable link for token, for someone at ip.
func (s *Service) Resolve(ctx context.Context, token string) (*Link, error) {
	if _, err := ParseToken(token); err != nil {
		return nil, err
	}
	l, err := s.scanLink(ctx, s.db.QueryRow(ctx, `SELECT `+linkColumns+` FROM links l WHERE l.token_sha256 = $1 AND `+usable, hashToken(token)))
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
	tag, err := s.db.Exec(ctx, `UPDATE links l SET downloads = downloads + 1 WHERE l.id = $1 AND `+usable, l.ID)
	if err != nil {
		return fmt.Errorf("sharing: count bundle: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return ErrUnavailable
	}
	return nil
}

// revokeLinks revokes every live link of owner inside tx (the safe closes).
func revokeLinks(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE links SET revoked_at = now() WHERE owner_id = $1 AND revoked_at IS NULL`, owner)
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
