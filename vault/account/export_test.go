package account

import (
	"context"
	"testing"
	"time"
)

// HoldArgonSlots takes every argon2id slot of srv, as a burst of sign-ins would, and
// makes a check wait at most wait for one; release gives them back.
func HoldArgonSlots(t testing.TB, srv *Service, wait time.Duration) (release func()) {
	if err := srv.argonSlots.Acquire(context.Background(), argonSlots); err != nil {
		t.Fatal(err)
	}
	old := srv.argonWait
	srv.argonWait = wait
	return func() {
		srv.argonWait = old
		srv.argonSlots.Release(argonSlots)
	}
}
