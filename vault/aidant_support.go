package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// What the vault offers the aidants (package sharing): the owners' secret hashing and
// sign-in throttling for agents' own sign-in, a service secret wrapped to the master key
// (agents' TOTP secrets), temporary access codes, and activation tracking.

// Journal actions of temporary access codes, access recovery, and the end of what agents
// may do in a closed safe.
const (
	// ActionAccessCodeIssued: an agent opened a safe and gave its owner a temporary code.
	ActionAccessCodeIssued Action = "access_code_issued"
	// ActionAccessRecovered: an agent's new temporary code became the owner's secret
	// (at once under a mandate with the recovery right, or after the waiting period of a
	// desk identity check); the old secret, every session and every passkey ended.
	ActionAccessRecovered Action = "access_recovered"
	// ActionRecoveryRequested: an agent checked an identity document at the desk and
	// asked for a new temporary code, which works only after the waiting period.
	ActionRecoveryRequested Action = "recovery_requested"
	// ActionRecoveryCancelled: a waiting recovery was cancelled (by the owner, by a newer
	// request, or by the closure of the safe); its code never works.
	ActionRecoveryCancelled Action = "recovery_cancelled"
	// ActionMandateEnded: a mandate (or a mandate request) ended because the safe was
	// closed; the detail names the structure.
	ActionMandateEnded Action = "mandate_ended"
)

// ErrAccessCodeExpired: the owner signed in with a temporary code past its expiry. The
// web ends the session and says to ask the structure for a new code.
var ErrAccessCodeExpired = errors.New("temporary access code expired")

// DummySecretHash is a valid argon2id hash of nothing anyone knows: verify against it when
// a login is unknown, so that refusing an unknown login takes as long as a wrong secret.
const DummySecretHash = dummyHash

// HashSecret returns the argon2id PHC string of secret, with a fresh salt: the scheme of
// owners' secrets, for other credentials (agents' passwords). Like every argon2id
// computation it takes one of the process's slots, and may give ErrBusy.
func (v *Vault) HashSecret(ctx context.Context, secret string) (string, error) {
	return v.hash(ctx, secret)
}

// VerifySecret compares secret with a PHC string from HashSecret, in constant time, in
// one of the process's argon2id slots (ErrBusy). It counts nothing: a check of a secret
// typed by someone not signed in goes through TakeAttempt first.
func (v *Vault) VerifySecret(ctx context.Context, phc, secret string) (bool, error) {
	return v.verify(ctx, phc, secret)
}

// TakeAttempt counts one sign-in attempt for login and ip's network before the secret is
// checked, and returns a *LockedError, counting nothing more, while either is locked
// out. The attempt is a failure unless GiveBackAttempt or AttemptSucceeded follows.
// login must carry a namespace of its caller ("agent:" + login), so that the counters of
// agents and owners never mix; the network counter is shared with owners on purpose (a
// desk's address is one network whoever types).
func (v *Vault) TakeAttempt(ctx context.Context, login string, ip netip.Addr) error {
	return v.takeAttempt(ctx, throttleKeys(login, ip))
}

// GiveBackAttempt forgets an attempt whose secret could not be checked (ErrBusy).
func (v *Vault) GiveBackAttempt(ctx context.Context, login string, ip netip.Addr) error {
	return v.refundAttempt(ctx, throttleKeys(login, ip))
}

// AttemptSucceeded gives back a successful attempt and forgets login's failures.
func (v *Vault) AttemptSucceeded(ctx context.Context, login string, ip netip.Addr) error {
	keys := throttleKeys(login, ip)
	if err := v.refundAttempt(ctx, keys[1:]); err != nil {
		return err
	}
	return v.resetThrottle(ctx, keys[0])
}

// WrapServiceSecret encrypts a secret of the service (an agent's TOTP key) to the master
// key the database names as current, like owner identities, and names that key's
// recipient so the caller can record which master key wrapped it. The database refuses to
// record a retired key: a rotation that ends meanwhile makes the insert fail, never leave
// a secret wrapped to a key about to leave the key files.
func (v *Vault) WrapServiceSecret(ctx context.Context, secret []byte) (wrapped []byte, recipient string, err error) {
	key, out, err := v.wrap(ctx, v.db, secret)
	if err != nil {
		return nil, "", fmt.Errorf("vault: wrap service secret: %w", err)
	}
	return out[0], key.Recipient, nil
}

// CurrentMasterKey is the recipient new secrets are wrapped to, as the database names it:
// a service secret wrapped to another one is due for re-wrapping after a rotation.
func (v *Vault) CurrentMasterKey(ctx context.Context) (string, error) {
	key, err := currentMasterKey(ctx, v.db)
	if err != nil {
		return "", fmt.Errorf("vault: %w", err)
	}
	return key.Recipient, nil
}

// UnwrapServiceSecret opens what WrapServiceSecret wrapped.
func (v *Vault) UnwrapServiceSecret(wrapped []byte) ([]byte, error) {
	secret, err := v.keys.unwrap(wrapped)
	if err != nil {
		return nil, fmt.Errorf("vault: unwrap service secret: %w", err)
	}
	return secret, nil
}

// MarkActivated records that owner signed in by themselves for the first time (with
// their own secret, passkey or FranceConnect; not with an agent's temporary code, see
// ChangeTemporaryCode). It tells whether this was the first time; later calls do nothing.
func (v *Vault) MarkActivated(ctx context.Context, owner uuid.UUID) (bool, error) {
	tag, err := v.db.Exec(ctx, `UPDATE owners SET activated_at = now() WHERE id = $1 AND activated_at IS NULL AND shredded_at IS NULL`, owner)
	if err != nil {
		return false, fmt.Errorf("vault: mark activated %s: %w", owner, err)
	}
	return tag.RowsAffected() == 1, nil
}

// CheckOwnerSecret checks owner's secret without signing them in: the evidence of consent
// when the person types it on an agent's screen. Failures count against the owner's
// sign-in throttle, so this is no side door for guessing.
func (v *Vault) CheckOwnerSecret(ctx context.Context, owner uuid.UUID, secret string, ip netip.Addr) error {
	var login *string
	var hash *string
	err := v.db.QueryRow(ctx, `
		SELECT o.login, a.secret_hash FROM owners o LEFT JOIN accounts a ON a.owner_id = o.id
		WHERE o.id = $1 AND o.shredded_at IS NULL`, owner).Scan(&login, &hash)
	if err != nil {
		return fmt.Errorf("vault: check secret %s: %w", owner, notFound(err))
	}
	var keys []throttleKey
	if login != nil {
		keys = throttleKeys(*login, ip)
	}
	ok, err := v.verifyAttempt(ctx, keys, hash, secret)
	if err != nil {
		return fmt.Errorf("vault: check secret %s: %w", owner, err)
	}
	if !ok {
		return fmt.Errorf("vault: check secret %s: %w", owner, ErrBadCredentials)
	}
	return nil
}

// AccessCode is a temporary code an agent gave to an owner.
type AccessCode struct {
	Code      string // shown once, printed on the access card; only its hash is kept
	ExpiresAt time.Time
}

// IssueAccessCode makes code owner's secret (hashed, like any secret), valid until
// ttl from now and to be changed at the next sign-in. With recovery, it is an access
// recovery taken at once (the caller checked the owner gave that right): every session
// and every passkey of the owner ends, a recovery waiting after a desk identity check is
// cancelled (it would replace, later, the secret the owner is about to choose), and the
// owner is told at their next sign-in. detail is what the history shows of who did it
// ("Mme D. (CCAS de Lille)"). The safe must be open (ErrClosed). Everything commits in
// one transaction with its journal entries.
func (v *Vault) IssueAccessCode(ctx context.Context, owner uuid.UUID, code string, ttl time.Duration, recovery bool, by Actor, detail string) (*AccessCode, error) {
	hash, err := v.hashAccessCode(ctx, owner, code)
	if err != nil {
		return nil, fmt.Errorf("vault: issue access code %s: %w", owner, err)
	}
	ac := &AccessCode{Code: code, ExpiresAt: time.Now().Add(ttl).UTC().Truncate(time.Microsecond)}
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		if err := LockOpen(ctx, tx, owner); err != nil {
			return err
		}
		if err := writeAccessCode(ctx, tx, owner, hash, ac.ExpiresAt, recovery, by, detail); err != nil {
			return err
		}
		if !recovery {
			_, err := appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionAccessCodeIssued, Detail: detail})
			return err
		}
		if err := cancelRecoveries(ctx, tx, owner, by); err != nil {
			return err
		}
		return recovered(ctx, tx, owner, by, detail)
	})
	if err != nil {
		return nil, fmt.Errorf("vault: issue access code %s: %w", owner, err)
	}
	return ac, nil
}

// hashAccessCode checks a temporary code against the secret rules for owner's login and
// hashes it.
func (v *Vault) hashAccessCode(ctx context.Context, owner uuid.UUID, code string) (string, error) {
	a, err := v.Account(ctx, owner)
	if err != nil {
		return "", err
	}
	if err := CheckSecret(a.Owner.Login, code); err != nil {
		return "", err
	}
	return v.hash(ctx, code)
}

// writeAccessCode makes the code of hash owner's secret, to be changed at the next
// sign-in, until expires.
func writeAccessCode(ctx context.Context, tx pgx.Tx, owner uuid.UUID, hash string, expires time.Time, recovery bool, by Actor, detail string) error {
	if _, err := tx.Exec(ctx, `
		INSERT INTO accounts (owner_id, secret_hash) VALUES ($1, $2)
		ON CONFLICT (owner_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, updated_at = now()`, owner, hash); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO access_codes (owner_id, expires_at, must_change, recovery, notify_pending, issued_by_kind, issued_by_id, issued_detail)
		VALUES ($1, $2, true, $3, $3, $4, $5, $6)
		ON CONFLICT (owner_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, must_change = true,
			recovery = EXCLUDED.recovery, notify_pending = EXCLUDED.notify_pending OR access_codes.notify_pending,
			issued_by_kind = EXCLUDED.issued_by_kind, issued_by_id = EXCLUDED.issued_by_id,
			issued_detail = EXCLUDED.issued_detail, issued_at = now()`, owner, expires, recovery, by.Kind, by.ID, detail)
	return err
}

// recovered ends what let anyone into owner's safe before an access recovery, once the
// new code is the secret: every session and every passkey (an old phone, a thief's
// phone). Their FranceConnect link stays: it proves who they are. It journals it all,
// with by (the agent) as actor, and tells the owner.
func recovered(ctx context.Context, tx pgx.Tx, owner uuid.UUID, by Actor, detail string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE owner_id = $1`, owner); err != nil {
		return err
	}
	if _, err := appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionLogoutAll, Detail: detail}); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM passkeys WHERE owner_id = $1`, owner)
	if err != nil {
		return err
	}
	for range tag.RowsAffected() {
		if _, err := appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionPasskeyRemoved, Detail: detail}); err != nil {
			return err
		}
	}
	if _, err := appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionAccessRecovered, Detail: detail}); err != nil {
		return err
	}
	return notifyOwner(ctx, tx, owner, NoticeAccessRecovered)
}

// OwnerNotice is a change to an owner's access that they must hear about.
type OwnerNotice string

// Changes the owner is told of.
const (
	// NoticeRecoveryRequested: an agent asked for a new code after a desk identity check;
	// it works after the waiting period unless the owner cancels it.
	NoticeRecoveryRequested OwnerNotice = "recovery_requested"
	// NoticeAccessRecovered: an agent's new code is now the owner's secret.
	NoticeAccessRecovered OwnerNotice = "access_recovered"
)

// notifyOwner is the one place where the owner is told, by every channel they have, of
// a change to their access; it runs inside the transaction that makes the change.
//
// In the app, what to say is read back from the rows that transaction writes: the banner
// with its cancel button on every page of the owner while a recovery waits
// (PendingRecovery), and the notice on the first page after their next sign-in
// (AccessState.Recovered). Channels outside the app (e-mail, SMS: design.md « Messages
// outside the app ») do not exist yet. Their implementation goes here and nowhere else:
// for each verified channel of owner, enqueue in tx one unique job per notice, so that the
// message leaves once, and only if the change commits. Until then this does nothing more.
func notifyOwner(ctx context.Context, tx pgx.Tx, owner uuid.UUID, n OwnerNotice) error {
	return nil
}

// RecoveryIdentity is what an agent checked at the desk before asking for a new code: the
// kind of identity document and the last characters of its number. Sealed with the
// owner's data key: a residence permit tells a person's status.
type RecoveryIdentity struct {
	Document  string `json:"document"`
	NumberEnd string `json:"number_end"`
}

// PendingRecovery is a new temporary code waiting for its effective time, after an
// identity check at the desk.
type PendingRecovery struct {
	ID            uuid.UUID
	Code          string // set only by RequestRecovery: shown once, printed on the card
	By            string // who asked: "Mme D. (CCAS de Lille)"
	Identity      RecoveryIdentity
	RequestedAt   time.Time
	EffectiveAt   time.Time // the code is the owner's secret from then (ApplyDueRecoveries)
	CodeExpiresAt time.Time
}

func recoveryAD(owner, id uuid.UUID) string { return "recovery:" + owner.String() + ":" + id.String() }

// RequestRecovery records a new temporary code for owner that becomes their secret only
// wait after now (ApplyDueRecoveries), then lasts ttl; until then the owner's secret,
// sessions and passkeys keep working, and any session of the owner can cancel it
// (CancelRecovery). now is read from the clock ApplyDueRecoveries is given, not the
// database's: the wait is the one announced, whatever the two clocks say. A recovery
// already waiting is cancelled and replaced. The safe must be open (ErrClosed). The
// identity checked is sealed; the request is journaled with by as actor and detail
// naming them, and the owner is told.
func (v *Vault) RequestRecovery(ctx context.Context, owner uuid.UUID, code string, id RecoveryIdentity, wait, ttl time.Duration, by Actor, detail string, now time.Time) (*PendingRecovery, error) {
	if wait <= 0 || ttl <= 0 {
		return nil, fmt.Errorf("vault: request recovery %s: wait and lifetime must be positive: %w", owner, ErrInvalid)
	}
	hash, err := v.hashAccessCode(ctx, owner, code)
	if err != nil {
		return nil, fmt.Errorf("vault: request recovery %s: %w", owner, err)
	}
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: request recovery %s: %w", owner, err)
	}
	p := &PendingRecovery{ID: uuid.New(), Code: code, By: detail, Identity: id}
	plain, err := json.Marshal(id)
	if err != nil {
		return nil, fmt.Errorf("vault: request recovery %s: %w", owner, err)
	}
	sealed, err := seal(dataKey, plain, recoveryAD(owner, p.ID))
	if err != nil {
		return nil, fmt.Errorf("vault: request recovery %s: %w", owner, err)
	}
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		if err := LockOpen(ctx, tx, owner); err != nil {
			return err
		}
		if err := cancelRecoveries(ctx, tx, owner, by); err != nil {
			return err
		}
		p.RequestedAt = now.UTC().Truncate(time.Microsecond)
		p.EffectiveAt, p.CodeExpiresAt = p.RequestedAt.Add(wait), p.RequestedAt.Add(wait+ttl)
		if _, err := tx.Exec(ctx, `
			INSERT INTO recoveries (id, owner_id, code_hash, identity_sealed, requested_at, effective_at, code_expires_at, issued_by_kind, issued_by_id, issued_detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			p.ID, owner, hash, sealed, p.RequestedAt, p.EffectiveAt, p.CodeExpiresAt, by.Kind, by.ID, detail); err != nil {
			return err
		}
		if _, err := appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionRecoveryRequested, Detail: detail}); err != nil {
			return err
		}
		return notifyOwner(ctx, tx, owner, NoticeRecoveryRequested)
	})
	if err != nil {
		return nil, fmt.Errorf("vault: request recovery %s: %w", owner, err)
	}
	return p, nil
}

// LockOpen locks owner's row FOR SHARE inside tx, against a closure committing at the
// same moment (CloseSafe takes the row to update it, then ends what lets anyone but the
// owner in), and checks the safe is open: ErrClosed, or ErrNotFound for an erased or
// missing owner. What gives someone other than the owner a way in (a mandate, a link, a
// temporary code, a waiting recovery) is written after it in the same transaction, so
// that it either ends with the closure or sees the safe closed.
func LockOpen(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	return lockOpen(ctx, tx, owner, "FOR SHARE")
}

// LockOpenAlone is LockOpen with a lock that also serialises its callers for one owner
// (FOR NO KEY UPDATE): two mandates granted at once, the second one sees the first.
func LockOpenAlone(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	return lockOpen(ctx, tx, owner, "FOR NO KEY UPDATE")
}

func lockOpen(ctx context.Context, tx pgx.Tx, owner uuid.UUID, lock string) error {
	var closed bool
	err := tx.QueryRow(ctx, `SELECT closed_at IS NOT NULL FROM owners WHERE id = $1 AND shredded_at IS NULL `+lock, owner).Scan(&closed)
	if err != nil {
		return notFound(err)
	}
	if closed {
		return ErrClosed
	}
	return nil
}

// cancelRecoveries cancels owner's waiting recovery, if any, and journals it with by as
// actor and the requester's name as detail.
func cancelRecoveries(ctx context.Context, tx pgx.Tx, owner uuid.UUID, by Actor) error {
	rows, err := tx.Query(ctx, `UPDATE recoveries SET cancelled_at = now(), cancelled_by_kind = $2, cancelled_by_id = $3
		WHERE owner_id = $1 AND applied_at IS NULL AND cancelled_at IS NULL RETURNING issued_detail`, owner, by.Kind, by.ID)
	if err != nil {
		return err
	}
	cancelled, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, detail := range cancelled {
		if _, err := appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionRecoveryCancelled, Detail: detail}); err != nil {
			return err
		}
	}
	return nil
}

// PendingRecovery returns owner's waiting recovery (without its code), or ErrNotFound.
// The owner's pages show it on every request, with a button to cancel it.
func (v *Vault) PendingRecovery(ctx context.Context, owner uuid.UUID) (*PendingRecovery, error) {
	p := &PendingRecovery{}
	var sealed []byte
	err := v.db.QueryRow(ctx, `SELECT id, issued_detail, identity_sealed, requested_at, effective_at, code_expires_at FROM recoveries
		WHERE owner_id = $1 AND applied_at IS NULL AND cancelled_at IS NULL`, owner).
		Scan(&p.ID, &p.By, &sealed, &p.RequestedAt, &p.EffectiveAt, &p.CodeExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("vault: pending recovery %s: %w", owner, notFound(err))
	}
	_, dataKey, err := v.ownerKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: pending recovery %s: %w", owner, err)
	}
	plain, err := open(dataKey, sealed, recoveryAD(owner, p.ID))
	if err != nil {
		return nil, fmt.Errorf("vault: pending recovery %s: %w", owner, err)
	}
	if err := json.Unmarshal(plain, &p.Identity); err != nil {
		return nil, fmt.Errorf("vault: pending recovery %s: %w", owner, err)
	}
	return p, nil
}

// CheckRecoveryCode tells whether code is that of owner's waiting recovery, for the
// agent printing its access card: only who holds the code gets the card. No waiting
// recovery is ErrNotFound; a wrong code is ErrBadCredentials, and counts against the
// owner's sign-in throttle.
func (v *Vault) CheckRecoveryCode(ctx context.Context, owner uuid.UUID, code string, ip netip.Addr) (*PendingRecovery, error) {
	var hash string
	var login *string
	err := v.db.QueryRow(ctx, `SELECT r.code_hash, o.login FROM recoveries r JOIN owners o ON o.id = r.owner_id
		WHERE r.owner_id = $1 AND r.applied_at IS NULL AND r.cancelled_at IS NULL`, owner).Scan(&hash, &login)
	if err != nil {
		return nil, fmt.Errorf("vault: check recovery code %s: %w", owner, notFound(err))
	}
	var keys []throttleKey
	if login != nil {
		keys = throttleKeys(*login, ip)
	}
	ok, err := v.verifyAttempt(ctx, keys, &hash, code)
	if err != nil {
		return nil, fmt.Errorf("vault: check recovery code %s: %w", owner, err)
	}
	if !ok {
		return nil, fmt.Errorf("vault: check recovery code %s: %w", owner, ErrBadCredentials)
	}
	return v.PendingRecovery(ctx, owner)
}

// CancelRecovery cancels owner's waiting recovery: its code will never work. by is the
// owner, from one of their sessions. No waiting recovery is ErrNotFound.
func (v *Vault) CancelRecovery(ctx context.Context, owner uuid.UUID, by Actor) error {
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		var detail string
		err := tx.QueryRow(ctx, `UPDATE recoveries SET cancelled_at = now(), cancelled_by_kind = $2, cancelled_by_id = $3
			WHERE owner_id = $1 AND applied_at IS NULL AND cancelled_at IS NULL RETURNING issued_detail`, owner, by.Kind, by.ID).Scan(&detail)
		if err != nil {
			return notFound(err)
		}
		_, err = appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionRecoveryCancelled, Detail: detail})
		return err
	})
	if err != nil {
		return fmt.Errorf("vault: cancel recovery %s: %w", owner, err)
	}
	return nil
}

// ApplyDueRecoveries makes the code of every waiting recovery whose effective time is at
// or before now the owner's secret, as IssueAccessCode does for a recovery: sessions and
// passkeys end, the owner is told at their next sign-in, and the agent who asked is the
// actor in the history. Closed safes are left alone. It returns how many it applied. Safe
// to run from several processes (a periodic job).
func (v *Vault) ApplyDueRecoveries(ctx context.Context, now time.Time) (int, error) {
	rows, err := v.db.Query(ctx, `SELECT r.id FROM recoveries r JOIN owners o ON o.id = r.owner_id AND o.closed_at IS NULL AND o.shredded_at IS NULL
		WHERE r.applied_at IS NULL AND r.cancelled_at IS NULL AND r.effective_at <= $1 ORDER BY r.effective_at LIMIT 1000`, now)
	if err != nil {
		return 0, fmt.Errorf("vault: apply recoveries: %w", err)
	}
	due, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, fmt.Errorf("vault: apply recoveries: %w", err)
	}
	n := 0
	for _, id := range due {
		applied, err := v.applyRecovery(ctx, id, now)
		if err != nil {
			return n, fmt.Errorf("vault: apply recovery %s: %w", id, err)
		}
		if applied {
			n++
		}
	}
	return n, nil
}

func (v *Vault) applyRecovery(ctx context.Context, id uuid.UUID, now time.Time) (applied bool, err error) {
	err = pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		var owner uuid.UUID
		var hash, detail string
		var expires time.Time
		var by Actor
		// The owner row first, in the order CloseSafe takes its locks.
		err := tx.QueryRow(ctx, `SELECT o.id FROM owners o JOIN recoveries r ON r.owner_id = o.id
			WHERE r.id = $1 AND o.closed_at IS NULL AND o.shredded_at IS NULL FOR SHARE OF o`, id).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT code_hash, code_expires_at, issued_by_kind, issued_by_id, issued_detail FROM recoveries
			WHERE id = $1 AND applied_at IS NULL AND cancelled_at IS NULL AND effective_at <= $2 FOR UPDATE SKIP LOCKED`, id, now).
			Scan(&hash, &expires, &by.Kind, &by.ID, &detail)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // cancelled meanwhile, or another process has it
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE recoveries SET applied_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		if err := writeAccessCode(ctx, tx, owner, hash, expires, true, by, detail); err != nil {
			return err
		}
		applied = true
		return recovered(ctx, tx, owner, by, detail)
	})
	return applied, err
}

// endAgentAccess ends, inside CloseSafe's transaction, everything that lets an agent act
// in owner's safe: every mandate not yet ended, requests waiting for the owner's phone
// included (one "mandate_ended" entry each, naming the structure), the waiting recovery,
// and desk unlocks. A closed safe answers nobody but its owner, and reopening it gives
// none of this back.
func endAgentAccess(ctx context.Context, tx pgx.Tx, owner uuid.UUID, by Actor) error {
	rows, err := tx.Query(ctx, `UPDATE mandates m SET revoked_at = now(), revoked_by_kind = $2, revoked_by_id = $3
		FROM structures s WHERE s.id = m.structure_id AND m.owner_id = $1 AND m.revoked_at IS NULL
			AND (m.expires_at IS NULL OR m.expires_at > now())
		RETURNING s.name`, owner, by.Kind, by.ID)
	if err != nil {
		return err
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, structure := range ended {
		if _, err := appendEntry(ctx, tx, owner, Event{Actor: by, Action: ActionMandateEnded, Detail: structure}); err != nil {
			return err
		}
	}
	if err := cancelRecoveries(ctx, tx, owner, by); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM desk_unlocks WHERE owner_id = $1`, owner)
	return err
}

// AccessState is what the web checks right after an owner signs in with a secret.
type AccessState struct {
	// TemporaryCode: the secret is a code an agent gave; MustChange: it must be changed
	// now (ChangeTemporaryCode). Expired: the code is past its expiry (sign-in refused).
	TemporaryCode, MustChange, Expired bool
	ExpiresAt                          time.Time
	// Recovered: an agent reset the owner's access since their last sign-in; By is who
	// ("Mme D. (CCAS de Lille)"), At when. Shown once, then AcknowledgeAccessNotice.
	Recovered bool
	By        string
	At        time.Time
}

// AccessState returns owner's temporary-code state; an owner without one gets the zero
// state.
func (v *Vault) AccessState(ctx context.Context, owner uuid.UUID) (AccessState, error) {
	var s AccessState
	err := v.db.QueryRow(ctx, `
		SELECT must_change, expires_at, must_change AND expires_at <= now(), notify_pending, issued_detail, issued_at
		FROM access_codes WHERE owner_id = $1`, owner).Scan(&s.MustChange, &s.ExpiresAt, &s.Expired, &s.Recovered, &s.By, &s.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return AccessState{}, nil
	}
	if err != nil {
		return s, fmt.Errorf("vault: access state %s: %w", owner, err)
	}
	s.TemporaryCode = s.MustChange
	if !s.Recovered {
		s.By, s.At = "", time.Time{}
	}
	return s, nil
}

// AcknowledgeAccessNotice records that the owner was told of an access recovery.
func (v *Vault) AcknowledgeAccessNotice(ctx context.Context, owner uuid.UUID) error {
	// Once the code is changed and the notice seen, nothing is left to remember.
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM access_codes WHERE owner_id = $1 AND must_change = false`, owner)
	b.Queue(`UPDATE access_codes SET notify_pending = false WHERE owner_id = $1`, owner)
	if err := v.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("vault: acknowledge access notice %s: %w", owner, err)
	}
	return nil
}

// ChangeTemporaryCode replaces owner's temporary code with the secret they choose
// (ChangeSecret rules), forgets the code and marks the safe activated: choosing one's own
// secret is the first thing the owner does by themselves. An expired code is refused
// (ErrAccessCodeExpired). Like ChangeSecret, it ends every other session of the owner
// (another browser still parked on the code) and returns a new token for the session
// from, which stops being restricted to this change.
func (v *Vault) ChangeTemporaryCode(ctx context.Context, owner uuid.UUID, code, next string, by Actor, from uuid.UUID) (string, error) {
	s, err := v.AccessState(ctx, owner)
	if err != nil {
		return "", err
	}
	if s.Expired {
		return "", fmt.Errorf("vault: change temporary code %s: %w", owner, ErrAccessCodeExpired)
	}
	if strings.TrimSpace(next) == strings.TrimSpace(code) {
		return "", fmt.Errorf("vault: change temporary code %s: the new secret is the code: %w", owner, ErrSecretCommon)
	}
	token, err := v.changeSecret(ctx, owner, code, next, by, from, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM access_codes WHERE owner_id = $1 AND notify_pending = false`, owner)
		b.Queue(`UPDATE access_codes SET must_change = false WHERE owner_id = $1`, owner)
		b.Queue(`UPDATE owners SET activated_at = now() WHERE id = $1 AND activated_at IS NULL`, owner)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return "", fmt.Errorf("vault: change temporary code %s: %w", owner, err)
	}
	return token, nil
}
