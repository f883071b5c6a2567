package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // zones embedded: a server image without /usr/share/zoneinfo would show every hour in UTC

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"coffre/vault"
)

// TimeZones are the zones an owner may read dates and hours in (IANA names, as migration
// 22 allows them): metropolitan France first, then the overseas departments and
// territories, where a paper added in the evening is dated the next day in Paris and an
// hour of the history is off by up to twelve.
var TimeZones = []string{ //nolint:gochecknoglobals // a constant list
	Paris, "America/Guadeloupe", "America/Martinique", "America/Cayenne", "Indian/Reunion",
	"Indian/Mayotte", "America/Miquelon", "Pacific/Tahiti", "Pacific/Noumea", "Pacific/Wallis",
}

// TimeZoneLabel is the catalogue ID (coffre/vault/i18n) naming the places of zone, one of
// TimeZones: « La Réunion », « Guadeloupe, Saint-Martin, Saint-Barthélemy »; Paris's
// for any other name.
func TimeZoneLabel(zone string) string {
	if l, ok := zoneLabels[zone]; ok {
		return l
	}
	return zoneLabels[Paris]
}

// zoneLabels name each zone by the places that live in it.
var zoneLabels = map[string]string{ //nolint:gochecknoglobals // a constant table
	"Europe/Paris":       "zone.paris",
	"America/Guadeloupe": "zone.guadeloupe",
	"America/Martinique": "zone.martinique",
	"America/Cayenne":    "zone.guyane",
	"Indian/Reunion":     "zone.reunion",
	"Indian/Mayotte":     "zone.mayotte",
	"America/Miquelon":   "zone.miquelon",
	"Pacific/Tahiti":     "zone.tahiti",
	"Pacific/Noumea":     "zone.noumea",
	"Pacific/Wallis":     "zone.wallis",
}

// Paris is the zone of an owner who has not chosen one.
const Paris = "Europe/Paris"

// locations are TimeZones loaded once: time.LoadLocation reads its file at every call.
var locations = sync.OnceValue(func() map[string]*time.Location { //nolint:gochecknoglobals // loaded once
	m := make(map[string]*time.Location, len(TimeZones))
	for _, name := range TimeZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			panic(fmt.Sprintf("account: zone %s: %v", name, err)) // embedded by time/tzdata: cannot fail
		}
		m[name] = loc
	}
	return m
})

// Location is the zone named, one of TimeZones; Paris's for any other name ("" included).
func Location(name string) *time.Location {
	if loc, ok := locations()[name]; ok {
		return loc
	}
	return locations()[Paris]
}

// ValidTimeZone tells whether name is one of TimeZones.
func ValidTimeZone(name string) bool { return slices.Contains(TimeZones, name) }

// SetTimeZone records the zone the owner reads dates and hours in, one of TimeZones.
func (srv *Service) SetTimeZone(ctx context.Context, owner uuid.UUID, zone string) error {
	if !ValidTimeZone(zone) {
		return fmt.Errorf("account: time zone %q: %w", zone, vault.ErrInvalid)
	}
	_, err := srv.db.Exec(ctx, `
		INSERT INTO accounts (owner_id, time_zone) VALUES ($1, $2)
		ON CONFLICT (owner_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, updated_at = $3`, owner, zone, srv.now())
	if err != nil {
		return fmt.Errorf("account: set time zone %s: %w", owner, err)
	}
	return nil
}

// KeepTimeZone records zone as the owner's unless they have one already: the zone of the
// device they signed up or in with, so that the messages Coffre sends them are in their
// time before they ever open their account's page. It tells whether it was recorded.
func (srv *Service) KeepTimeZone(ctx context.Context, owner uuid.UUID, zone string) (bool, error) {
	if !ValidTimeZone(zone) {
		return false, fmt.Errorf("account: time zone %q: %w", zone, vault.ErrInvalid)
	}
	tag, err := srv.db.Exec(ctx, `
		INSERT INTO accounts (owner_id, time_zone) VALUES ($1, $2)
		ON CONFLICT (owner_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, updated_at = $3
		WHERE accounts.time_zone IS NULL`, owner, zone, srv.now())
	if err != nil {
		return false, fmt.Errorf("account: keep time zone %s: %w", owner, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Zone is the zone owner reads dates and hours in: the one chosen, Paris's if none (or no
// account). It fits vault.ZoneOf, for the job that finds which reminders are due.
func (srv *Service) Zone(ctx context.Context, owner uuid.UUID) (*time.Location, error) {
	var name string
	err := srv.db.QueryRow(ctx, `SELECT coalesce(time_zone, '') FROM accounts WHERE owner_id = $1`, owner).Scan(&name)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("account: zone of %s: %w", owner, err)
	}
	return Location(name), nil
}
