package web

import "testing"

// Exports beyond maxExports are refused until one ends; the handler then answers 503.
func TestExportSlots(t *testing.T) {
	var rc recovery
	for i := range maxExports {
		if !rc.takeExport() {
			t.Fatalf("slot %d refused", i)
		}
	}
	if rc.takeExport() {
		t.Fatal("a slot beyond the limit")
	}
	rc.releaseExport()
	if !rc.takeExport() {
		t.Fatal("a released slot is not free again")
	}
}
