package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadShort is the short run of the load test that 'make test' makes: a minute of
// load with every fault, on services of its own (its own PostgreSQL, MinIO and ports,
// under var/loadtest-short), started and stopped by the run itself. It runs only when
// COFFRE_LOADTEST=short: scripts/test.sh runs it on its own after the other packages,
// so that its load and its restarts disturb none of their tests.
func TestLoadShort(t *testing.T) {
	if os.Getenv("COFFRE_LOADTEST") != "short" {
		t.Skip("the load test runs alone: COFFRE_LOADTEST=short go test -run TestLoadShort ./cmd/loadtest (make test does)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "coffre")
	build := exec.Command("go", "build", "-o", bin, "./cmd/coffre")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build coffre: %v\n%s", err, out)
	}
	var out bytes.Buffer
	o := options{
		Duration: 60 * time.Second, Instances: 2, People: 8,
		Var: filepath.Join(root, "var", "loadtest-short"), Bin: bin, Root: root, Shared: os.Getenv("COFFRE_TEST_SHARED"),
		PGPort: 56532, MinioPort: 59500, Port: 58300, Out: &out,
	}
	// The run stops what it started, by PID, on every way out it sees: a failure, ^C, or
	// this deadline, kept well before go test's own timeout (which ends the process
	// without running any deferred function). Its instances die with it in any case.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-time.Minute))
		defer cancel()
	}
	start := time.Now()
	err = run(ctx, o)
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		t.Log(l)
	}
	t.Logf("short load test: %s in all", time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(o.Var)
}
