package sharing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// AddClient registers a téléservice. For secret authentication it returns the secret,
// shown once and never stored.
func (s *Service) AddClient(ctx context.Context, nc NewClient) (*Client, string, error) {
	if err := nc.validate(); err != nil {
		return nil, "", fmt.Errorf("sharing: add client: %w", err)
	}
	id, err := randomString(16)
	if err != nil {
		return nil, "", fmt.Errorf("sharing: add client: %w", err)
	}
	var secret string
	var secretHash, jwks []byte
	if nc.AuthMethod == AuthPrivateKeyJWT {
		jwks = nc.JWKS
	} else {
		if secret, err = randomString(32); err != nil {
			return nil, "", fmt.Errorf("sharing: add client: %w", err)
		}
		secretHash = sha(secret)
	}
	if _, err := s.db.Exec(ctx, `
		INSERT INTO clients (id, name, redirect_uris, allowed_kinds, deposit_kinds, auth_method, secret_sha256, jwks)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		"ts_"+id, nc.Name, nc.RedirectURIs, kindStrings(nc.AllowedKinds), kindStrings(nc.DepositKinds), nc.AuthMethod, secretHash, jwks); err != nil {
		return nil, "", fmt.Errorf("sharing: add client: %w", err)
	}
	c, err := s.Client(ctx, "ts_"+id)
	return c, secret, err
}

func kindStrings(kinds []vault.Kind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

const clientColumns = `id, name, redirect_uris, allowed_kinds, deposit_kinds, auth_method, jwks, created_at`

func scanClient(row pgx.Row) (*Client, error) {
	c := &Client{}
	var kinds, deposits []string
	var jwks []byte
	if err := row.Scan(&c.ID, &c.Name, &c.RedirectURIs, &kinds, &deposits, &c.AuthMethod, &jwks, &c.CreatedAt); err != nil {
		return nil, err
	}
	for _, k := range kinds {
		c.AllowedKinds = append(c.AllowedKinds, vault.Kind(k))
	}
	for _, k := range deposits {
		c.DepositKinds = append(c.DepositKinds, vault.Kind(k))
	}
	if jwks != nil {
		c.JWKS = &jose.JSONWebKeySet{}
		if err := json.Unmarshal(jwks, c.JWKS); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Client returns a registered, not removed, client.
func (s *Service) Client(ctx context.Context, id string) (*Client, error) {
	c, err := scanClient(s.db.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1 AND removed_at IS NULL`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("sharing: client %q: %w", id, vault.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sharing: client %q: %w", id, err)
	}
	return c, nil
}

// Clients lists the registered clients.
func (s *Service) Clients(ctx context.Context) ([]Client, error) {
	rows, err := s.db.Query(ctx, `SELECT `+clientColumns+` FROM clients WHERE removed_at IS NULL ORDER BY created_at`)
	if err != nil {
		return nil, fmt.Errorf("sharing: clients: %w", err)
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sharing: clients: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// RemoveClient removes a client; its grants and tokens stop working at once.
func (s *Service) RemoveClient(ctx context.Context, id string) error {
	tag, err := s.db.Exec(ctx, `UPDATE clients SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL`, id, s.now())
	if err != nil {
		return fmt.Errorf("sharing: remove client %q: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("sharing: remove client %q: %w", id, vault.ErrNotFound)
	}
	return nil
}

// clientNames returns the name of each client among ids, removed ones included.
func (s *Service) clientNames(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name FROM clients WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ids))
	var id, name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		out[id] = name
		return nil
	})
	return out, err
}

// clientSecret returns the hash of client id's secret (nil for private_key_jwt).
func (s *Service) clientSecret(ctx context.Context, id string) ([]byte, error) {
	var stored []byte
	err := s.db.QueryRow(ctx, `SELECT secret_sha256 FROM clients WHERE id = $1`, id).Scan(&stored)
	return stored, err
}
