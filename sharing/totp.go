package sharing

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
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
	wrapped, err := s.agentTOTP(ctx, agent)
	if err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, err)
	}
	secret, err := s.vault.UnwrapServiceSecret(wrapped)
	if err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, err)
	}
	step, err := MatchTOTP(string(secret), code, at)
	if err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, err)
	}
	fresh, err := s.consumeTOTPStep(ctx, agent, step)
	if err != nil {
		return fmt.Errorf("sharing: totp %s: %w", agent, err)
	}
	if !fresh {
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
	todo, err := s.agentsWrappedByOther(ctx, currentID)
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
		if err := s.rewrapTOTP(ctx, w, nw, keyID); err != nil {
			return i, fmt.Errorf("sharing: rewrap agent %s: %w", w.id, err)
		}
	}
	return len(todo), nil
}
