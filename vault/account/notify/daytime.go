package notify

import (
	"encoding/binary"
	"time"

	"github.com/google/uuid"

	"coffre/vault/account"
)

// Messages nobody is waiting for leave in the day where the person lives. A milestone
// before an expiry is reached at midnight, and the scan that finds it runs every hour: an
// SMS at 00:05 would wake the person, at 03:05 in La Réunion. What the person must hear
// at once still leaves at once: a code they are typing, a sign-in from a new device, an
// access recovery they may have to stop, a mandate being asked for or given, and a share
// link opened (they asked to hear of it: a link that leaked is cancelled now or never).

// DayStarts and DayEnds bound the hours, where the person lives, at which a message that
// can wait leaves (the page « Mon compte » says so: catalogue key messages.hours).
const (
	DayStarts = 9  // 9:00
	DayEnds   = 20 // 20:00
)

// canWait tells whether the message about what may wait for the day: the person did not
// just act, and need not act at once.
func canWait(what account.OwnerNotice) bool {
	switch what {
	case account.NoticeExpiry, account.NoticeMandateEnding, account.NoticeMandateEnded,
		account.NoticeIssuerDeposit:
		return true
	}
	return false
}

// untilDay is how long a message that can wait, at now, waits for DayStarts in zone: 0
// from DayStarts to DayEnds.
func untilDay(now time.Time, zone *time.Location) time.Duration {
	local := now.In(zone)
	h := local.Hour()
	if h >= DayStarts && h < DayEnds {
		return 0
	}
	y, m, d := local.Date()
	if h >= DayEnds {
		d++
	}
	// time.Date normalises the 32nd of a month, and a morning that a change of hour skips.
	return time.Date(y, m, d, DayStarts, 0, 0, 0, zone).Sub(now)
}

// morningSpread is how far into the first hour of the day owner's messages that waited
// the night leave, the same for each owner: a whole night's messages at 9:00:00 would
// be one burst that an SMS provider may throttle, and retries then run out.
func morningSpread(owner uuid.UUID) time.Duration {
	return time.Duration(binary.BigEndian.Uint32(owner[12:])%3600) * time.Second
}
