package sharing

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// ParseTOTPCode checks the form of a code typed from an authenticator app: six digits,
// spaces allowed ("123 456").
func ParseTOTPCode(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '\u00a0' || r == '-':
			continue
		case r >= '0' && r <= '9' && b.Len() < 6:
			b.WriteRune(r)
		default:
			return "", ErrBadTOTP
		}
	}
	if b.Len() != 6 {
		return "", ErrBadTOTP
	}
	return b.String(), nil
}

// MatchTOTP returns the 30-second step at which code is valid for secret, looking one
// step either side of at (clock drift of phones). It does not check reuse: VerifyTOTP does.
func MatchTOTP(secret, code string, at time.Time) (int64, error) {
	code, err := ParseTOTPCode(code)
	if err != nil {
		return 0, err
	}
	step := at.Unix() / totpPeriod
	found := int64(-1)
	for d := int64(-1); d <= 1; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, fmt.Errorf("totp: %w", err)
		}
		// Compare every candidate, whatever matched, so timing tells nothing.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = step + d
		}
	}
	if found < 0 {
		return 0, ErrBadTOTP
	}
	return found, nil
}

// VerifyTOTP checks an agent's code at t and consumes its step: the same code (or an
// older one) is refused afterwards, even by another process.
func (s *Service) VerifyTOTP(ctx context.Context, agent uuid.UUID, code string, at time.Time) error {
	var wrapped []byte
	if err := s.db.QueryRow(ctx, `SELECT totp_wrapped FROM agents WHERE id = $1`, agent).Scan(&wrapped); err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, notFound(err))
	}
	secret, err := s.vault.UnwrapServiceSecret(wrapped)
	if err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, err)
	}
	step, err := MatchTOTP(string(secret), code, at)
	if err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, err)
	}
	tag, err := s.db.Exec(ctx, `UPDATE agents SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)`, agent, step)
	if err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("sharing: totp %s: replayed: %w", agent, ErrBadTOTP)
	}
	return nil
}

// RewrapAgentSecrets re-wraps to the current master key the agents' TOTP secrets still
// wrapped to an older one, after 'coffre keys rotate', so that the old key can leave the
// key file. It returns how many it re-wrapped.
func (s *Service) RewrapAgentSecrets(ctx context.Context) (int, error) {
	current, err := s.vault.CurrentMasterKey(ctx)
	if err != nil {
		return 0, fmt.Errorf("sharing: rewrap agent secrets: %w", err)
	}
	currentID, err := s.vault.MasterKeyID(ctx, current)
	if err != nil {
		return 0, fmt.Errorf("sharing: rewrap agent secrets: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT id, totp_wrapped FROM agents WHERE totp_master_key_id <> $1`, currentID)
	if err != nil {
		return 0, fmt.Errorf("sharing: rewrap agent secrets: %w", err)
	}
	type wrapped struct {
		id  uuid.UUID
		old []byte
	}
	todo, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (wrapped, error) {
		var w wrapped
		return w, row.Scan(&w.id, &w.old)
	})
	if err != nil {
		return 0, fmt.Errorf("sharing: rewrap agent secrets: %w", err)
	}
	for i, w := range todo {
		secret, err := s.vault.UnwrapServiceSecret(w.old)
		if err != nil {
			return i, fmt.Errorf("sharing: rewrap agent %s: %w", w.id, err)
		}
		nw, recipient, err := s.vault.WrapServiceSecret(ctx, secret)
		if err != nil {
			return i, fmt.Errorf("sharing: rewrap agent %s: %w", w.id, err)
		}
		keyID, err := s.vault.MasterKeyID(ctx, recipient)
		if err != nil {
			return i, fmt.Errorf("sharing: rewrap agent %s: %w", w.id, err)
		}
		// Only if nobody changed it meanwhile: the old ciphertext must still be there.
		if _, err := s.db.Exec(ctx, `UPDATE agents SET totp_wrapped = $2, totp_master_key_id = $3
			WHERE id = $1 AND totp_wrapped = $4`, w.id, nw, keyID, w.old); err != nil {
			return i, fmt.Errorf("sharing: rewrap agent %s: %w", w.id, err)
		}
	}
	return len(todo), nil
}
