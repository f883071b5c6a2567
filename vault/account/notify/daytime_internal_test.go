package notify

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/vault/account"
)

func TestUntilDay(t *testing.T) {
	paris, cayenne := account.Location(account.Paris), account.Location("America/Cayenne")
	for _, tc := range []struct {
		at   time.Time
		zone *time.Location
		want time.Duration
	}{
		{time.Date(2027, 1, 12, 8, 59, 0, 0, paris), paris, time.Minute},
		{time.Date(2027, 1, 12, 9, 0, 0, 0, paris), paris, 0},
		{time.Date(2027, 1, 12, 19, 59, 0, 0, paris), paris, 0},
		{time.Date(2027, 1, 12, 20, 0, 0, 0, paris), paris, 13 * time.Hour},
		{time.Date(2027, 1, 12, 0, 5, 0, 0, paris), paris, 8*time.Hour + 55*time.Minute},
		{time.Date(2027, 1, 31, 23, 0, 0, 0, paris), paris, 10 * time.Hour}, // to 1 February
		// The night the clocks go forward is an hour shorter.
		{time.Date(2027, 3, 28, 0, 30, 0, 0, paris), paris, 7*time.Hour + 30*time.Minute},
		// The night they go back, an hour longer.
		{time.Date(2027, 10, 30, 20, 0, 0, 0, paris), paris, 14 * time.Hour},
		// Noon in Paris is 8:00 in Cayenne, in winter.
		{time.Date(2027, 1, 12, 12, 0, 0, 0, paris), cayenne, time.Hour},
		{time.Date(2027, 1, 12, 9, 0, 0, 0, cayenne), cayenne, 0},
	} {
		if got := untilDay(tc.at.UTC(), tc.zone); got != tc.want {
			t.Errorf("untilDay(%s in %s) = %s, want %s", tc.at, tc.zone, got, tc.want)
		}
	}
}

func TestMorningSpread(t *testing.T) {
	seen := map[time.Duration]bool{}
	var latest time.Duration
	for range 50 {
		owner := uuid.New()
		d := morningSpread(owner)
		if d < 0 || d >= time.Hour || d != morningSpread(owner) {
			t.Fatalf("morningSpread(%s) = %s, want the same, within the hour", owner, d)
		}
		seen[d] = true
		latest = max(latest, d)
	}
	if len(seen) < 40 || latest < 30*time.Minute {
		t.Fatalf("50 owners share %d times of the morning, the latest %s: want them over the hour", len(seen), latest)
	}
}

func TestWhatCanWait(t *testing.T) {
	for what, want := range map[account.OwnerNotice]bool{
		account.NoticeCode: false, account.NoticeNewDevice: false, account.NoticeRecoveryRequested: false,
		account.NoticeAccessRecovered: false, account.NoticeMandateAsked: false, account.NoticeMandateGiven: false,
		account.NoticeExpiry: true, account.NoticeMandateEnding: true, account.NoticeMandateEnded: true,
		account.NoticeIssuerDeposit: true, account.NoticeLinkOpened: false,
	} {
		if got := canWait(what); got != want {
			t.Errorf("canWait(%s) = %t, want %t", what, got, want)
		}
	}
}
