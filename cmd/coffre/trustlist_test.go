package main

import (
	"os"
	"path/filepath"
	"testing"

	"coffre/ingest/ingesttest"
)

// The trust list is read from a file or a directory, and a refresh that fails keeps the
// list in use.
func TestTrustList(t *testing.T) {
	a, err := ingesttest.NewAuthority()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "fr00.pem")
	if err := os.WriteFile(file, a.TrustList(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "LISEZMOI.txt"), []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, file} {
		tl, err := loadTrustList(path)
		if err != nil || tl.Get() == nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	tl, _ := loadTrustList(dir)
	before := tl.Get()
	if err := os.WriteFile(file, []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tl.reload(); err == nil {
		t.Fatal("a broken list was read")
	}
	if tl.Get() != before {
		t.Fatal("a broken list replaced the one in use")
	}
	if _, err := loadTrustList(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing list let the service start")
	}
	if _, err := loadTrustList(t.TempDir()); err == nil {
		t.Error("an empty directory let the service start")
	}
}
