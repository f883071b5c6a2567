package web

import (
	"errors"
	"testing"

	"github.com/google/uuid"
)

// Exports beyond maxExports are refused until one ends, and a safe has one export at a
// time; the handler then answers 503 and 429.
func TestExportSlots(t *testing.T) {
	t.Parallel()
	var rc recovery
	owners := make([]uuid.UUID, maxExports+1)
	for i := range owners {
		owners[i] = uuid.New()
	}
	for i := range maxExports {
		if err := rc.takeExport(owners[i]); err != nil {
			t.Fatalf("slot %d refused: %v", i, err)
		}
	}
	if err := rc.takeExport(owners[maxExports]); !errors.Is(err, errExportsBusy) {
		t.Fatalf("a slot beyond the limit: %v", err)
	}
	rc.releaseExport(owners[0])
	if err := rc.takeExport(owners[0]); err != nil {
		t.Fatalf("a released slot is not free again: %v", err)
	}
	rc.releaseExport(owners[1])
	if err := rc.takeExport(owners[0]); !errors.Is(err, errExportRunning) {
		t.Fatalf("a second export of the same safe: %v", err)
	}
}
