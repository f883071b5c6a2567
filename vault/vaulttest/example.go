package vaulttest

import (
	"log"
	"os"
	"testing"
)

// ExampleTB lets an Example function use this package's real services (PostgreSQL and
// MinIO, as every test does): it fails with log.Fatal, and Close runs the cleanups.
type ExampleTB struct {
	testing.TB // only the methods below are called
	cleanups   []func()
	dirs       []string
}

// Helper does nothing: an example has no test log.
func (e *ExampleTB) Helper() {}

// Fatal stops the example.
func (e *ExampleTB) Fatal(args ...any) { log.Fatal(args...) }

// Fatalf stops the example.
func (e *ExampleTB) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }

// Cleanup runs f at Close.
func (e *ExampleTB) Cleanup(f func()) { e.cleanups = append(e.cleanups, f) }

// TempDir returns a new directory, removed at Close.
func (e *ExampleTB) TempDir() string {
	dir, err := os.MkdirTemp("", "coffre-example")
	if err != nil {
		log.Fatal(err)
	}
	e.dirs = append(e.dirs, dir)
	return dir
}

// Close runs the cleanups, last first, and removes the directories.
func (e *ExampleTB) Close() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	for _, dir := range e.dirs {
		os.RemoveAll(dir)
	}
}
