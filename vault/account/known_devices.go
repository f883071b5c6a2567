package account

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// The table known_devices: the kinds of device an owner signed in from lately, sealed, so
// that a sign-in from another one is told to them (NoticeNewDevice). Sessions are not
// enough: they end within hours and are purged.

// KnownDeviceWindow is how long a kind of device stays known after its last sign-in: a
// sign-in from a device not seen within it is told to the owner.
const KnownDeviceWindow = 90 * 24 * time.Hour

// DeviceFamily reduces a browser's description (its User-Agent) to what stays the same
// from one update to the next: the browser and the system ("Firefox / Android"). Versions
// change every month and would make every device new.
func DeviceFamily(userAgent string) string {
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(userAgent, x) {
				return true
			}
		}
		return false
	}
	system := "?"
	switch {
	case has("Android"):
		system = "Android"
	case has("iPhone", "iPad", "iPod"):
		system = "iOS"
	case has("Windows"):
		system = "Windows"
	case has("CrOS"):
		system = "ChromeOS"
	case has("Macintosh", "Mac OS X"):
		system = "macOS"
	case has("Linux"):
		system = "Linux"
	}
	browser := "?"
	switch {
	case has("Edg/", "EdgA/", "EdgiOS/"):
		browser = "Edge"
	case has("OPR/", "Opera"):
		browser = "Opera"
	case has("SamsungBrowser"):
		browser = "Samsung Internet"
	case has("Firefox/", "FxiOS/"):
		browser = "Firefox"
	case has("CriOS/", "Chrome/", "Chromium/"):
		browser = "Chrome"
	case has("Safari/"):
		browser = "Safari"
	}
	return browser + " / " + system
}

func knownDeviceAD(owner, id uuid.UUID) string {
	return "known-device:" + owner.String() + ":" + id.String()
}

// rememberDevice records, inside the transaction that opens session, that owner signed in
// from a device of that family, and tells them when the family is new: not seen within
// KnownDeviceWindow, for an owner who signed in before (the very first sign-in of a safe
// is no news). Families unseen for longer are forgotten.
func (srv *Service) rememberDevice(ctx context.Context, tx pgx.Tx, sealer *vault.Sealer, owner, session uuid.UUID, family string) error {
	now := srv.now()
	// Locked, so that two sign-ins at once from a new device record it once.
	rows, err := tx.Query(ctx, `SELECT id, device_sealed, last_seen_at FROM known_devices WHERE owner_id = $1 FOR UPDATE`, owner)
	if err != nil {
		return err
	}
	type known struct {
		id       uuid.UUID
		sealed   []byte
		lastSeen time.Time
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (known, error) {
		var k known
		err := r.Scan(&k.id, &k.sealed, &k.lastSeen)
		return k, err
	})
	if err != nil {
		return err
	}
	seen := uuid.Nil
	for _, k := range list {
		d, err := sealer.Open(k.sealed, knownDeviceAD(owner, k.id))
		if err != nil {
			return err
		}
		if string(d) == family && now.Sub(k.lastSeen) < KnownDeviceWindow {
			seen = k.id
		}
	}
	if seen != uuid.Nil {
		_, err := tx.Exec(ctx, `UPDATE known_devices SET last_seen_at = $2 WHERE id = $1`, seen, now)
		return err
	}
	id := uuid.New()
	sealed, err := sealer.Seal([]byte(family), knownDeviceAD(owner, id))
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM known_devices WHERE owner_id = $1 AND last_seen_at <= $2::timestamptz - $3::interval`, owner, now, KnownDeviceWindow)
	b.Queue(`INSERT INTO known_devices (id, owner_id, device_sealed, last_seen_at) VALUES ($1, $2, $3, $4)`, id, owner, sealed, now)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if len(list) == 0 {
		return nil
	}
	return srv.notifyOwner(ctx, tx, owner, Notice{What: NoticeNewDevice, Key: "new_device:" + session.String(), At: now})
}

func forgetKnownDevices(ctx context.Context, tx pgx.Tx, owner uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM known_devices WHERE owner_id = $1`, owner)
	return err
}
