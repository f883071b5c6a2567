package sharing

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"coffre/vault"
	"coffre/vault/account"

	"github.com/google/uuid"
)

// codeAlphabet has no letters or digits that read alike (0/o, 1/l/i), lowercase only: the
// person types the code from a printed card on a phone.
const codeAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// NewTemporaryCode returns a code of 12 random characters in three groups of four,
// "k7qa-m9xp-2htw": about 59 bits, to be changed at first sign-in.
func NewTemporaryCode() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	var out strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		// 256 % 31 leaves a bias of under 1 %: irrelevant for a short-lived code.
		out.WriteByte(codeAlphabet[int(c)%len(codeAlphabet)])
	}
	return out.String(), nil
}

// Opened is a safe an agent just opened at the desk, with what goes on the access card.
type Opened struct {
	Owner *vault.Owner
	Code  *account.AccessCode
}

// OpenSafeFor opens a safe for the person at the desk: no e-mail needed, a temporary code
// to print on the access card (AccessCardPDF) and to change at first sign-in. Every
// step is in the new owner's history with the agent as actor. The first deposit needs a
// mandate (GrantMandate): the temporary code is no consent, the person gives it from
// their phone once they chose their own secret, or types that secret at the desk.
func (s *Service) OpenSafeFor(ctx context.Context, agent *Agent, login string, ip netip.Addr) (*Opened, error) {
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil || cur.DeactivatedAt != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", ErrForbidden)
	}
	login, err = account.NormalizeLogin(login)
	if err != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", err)
	}
	code, err := NewTemporaryCode()
	if err != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", err)
	}
	by := cur.Actor(ip)
	o, err := s.vault.CreateOwner(ctx, login, by)
	if err != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", err)
	}
	// The owner exists from here on; should what follows fail, the safe has no code: the
	// agent helps the person again with RecoverAfterIdentityCheck.
	if err := s.recordOpening(ctx, o.ID, cur); err != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", err)
	}
	ac, err := s.accounts.IssueAccessCode(ctx, o.ID, code, AccessCodeTTL, false, by, cur.Label())
	if err != nil {
		return nil, fmt.Errorf("sharing: open safe: %w", err)
	}
	return &Opened{Owner: o, Code: ac}, nil
}

// RecoveryWait is how long a new code given after an identity check at the desk waits
// before it works (RecoverAfterIdentityCheck): long enough for the owner to see it from
// any session of theirs and cancel it if it was not them.
const RecoveryWait = 24 * time.Hour

// RecoverAccess gives the owner a new temporary code at once, for a person who gave the
// agent's structure the recovery right (a live mandate with ScopeRecover) and whose
// identity the agent checked in person. The old secret stops working, every session and
// passkey of the owner ends, the owner is told at their next sign-in, and it is all in
// their history. Without that right, see RecoverAfterIdentityCheck.
func (s *Service) RecoverAccess(ctx context.Context, agent *Agent, owner uuid.UUID, ip netip.Addr) (*account.AccessCode, error) {
	if err := s.Authorize(ctx, agent, owner, ScopeRecover, ip); err != nil {
		return nil, err
	}
	code, err := NewTemporaryCode()
	if err != nil {
		return nil, fmt.Errorf("sharing: recover access: %w", err)
	}
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil {
		return nil, err
	}
	ac, err := s.accounts.IssueAccessCode(ctx, owner, code, AccessCodeTTL, true, cur.Actor(ip), cur.Label())
	if err != nil {
		return nil, fmt.Errorf("sharing: recover access: %w", err)
	}
	return ac, nil
}

// IdentityDocument is the kind of identity document an agent checked at the desk.
type IdentityDocument string

// Identity documents an agent may check.
const (
	DocumentIDCard          IdentityDocument = "cni"
	DocumentPassport        IdentityDocument = "passeport"
	DocumentResidencePermit IdentityDocument = "titre_sejour"
	DocumentDrivingLicence  IdentityDocument = "permis"
)

// IdentityDocuments are the documents offered, in the order shown.
var IdentityDocuments = []IdentityDocument{DocumentIDCard, DocumentPassport, DocumentResidencePermit, DocumentDrivingLicence} //nolint:gochecknoglobals // a constant list

// NumberEndLen is how many of the last characters of the document's number the agent
// records: enough to tell later which document was shown, too few to be of use to anyone.
const NumberEndLen = 4

// IdentityCheck is what the agent records of the identity document the person showed.
type IdentityCheck struct {
	Document  IdentityDocument
	NumberEnd string // the last NumberEndLen letters or digits of its number
}

// normalize checks the document kind and keeps the last characters in capitals without
// spaces.
func (c IdentityCheck) normalize() (account.RecoveryIdentity, error) {
	if !slices.Contains(IdentityDocuments, c.Document) {
		return account.RecoveryIdentity{}, fmt.Errorf("identity document %q: %w", c.Document, ErrBadRequest)
	}
	end := strings.ToUpper(strings.Join(strings.Fields(c.NumberEnd), ""))
	if len(end) != NumberEndLen {
		return account.RecoveryIdentity{}, fmt.Errorf("identity number end: %d characters instead of %d: %w", utf8.RuneCountInString(end), NumberEndLen, ErrBadRequest)
	}
	for _, r := range end {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return account.RecoveryIdentity{}, fmt.Errorf("identity number end: character %q: %w", r, ErrBadRequest)
		}
	}
	return account.RecoveryIdentity{Document: string(c.Document), NumberEnd: end}, nil
}

// RecoverAfterIdentityCheck helps a person who lost their secret and never gave the
// recovery right: the agent checked an identity document at the desk and records what
// (check). The new temporary code works only RecoveryWait later; until then the owner's
// secret, sessions and passkeys keep working, every page of the owner shows the request
// with a button to cancel it, and it is all journaled. When the wait is over, the
// periodic job (vault.ApplyDueRecoveries) makes it the secret as RecoverAccess would. The
// agent's structure must reach the safe (ScopeDeskRecovery). The returned recovery
// carries the code, shown once.
func (s *Service) RecoverAfterIdentityCheck(ctx context.Context, agent *Agent, owner uuid.UUID, check IdentityCheck, ip netip.Addr) (*account.PendingRecovery, error) {
	if err := s.Authorize(ctx, agent, owner, ScopeDeskRecovery, ip); err != nil {
		return nil, err
	}
	id, err := check.normalize()
	if err != nil {
		return nil, fmt.Errorf("sharing: recover after identity check: %w", err)
	}
	code, err := NewTemporaryCode()
	if err != nil {
		return nil, fmt.Errorf("sharing: recover after identity check: %w", err)
	}
	cur, err := s.Agent(ctx, agent.ID)
	if err != nil {
		return nil, err
	}
	p, err := s.accounts.RequestRecovery(ctx, owner, code, id, RecoveryWait, AccessCodeTTL, cur.Actor(ip), cur.Label())
	if err != nil {
		return nil, fmt.Errorf("sharing: recover after identity check: %w", err)
	}
	return p, nil
}
