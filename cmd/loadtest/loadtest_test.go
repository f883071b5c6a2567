package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
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
		PGPort: 26532, MinioPort: 29500, Port: 28300, Out: &out,
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

// TestKillLeftovers checks that a run kills the coffre processes a previous run in its
// folder left running (its PIDs recorded there), and nothing else: not a process that
// took a recorded PID but runs with another folder.
func TestKillLeftovers(t *testing.T) {
	dir := t.TempDir()
	start := func(varDir string) *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		cmd.Env = append(os.Environ(), "COFFRE_VAR="+varDir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // it may have exited already
		return cmd
	}
	ours, other := start(dir), start(dir+"-other")
	for name, cmd := range map[string]*exec.Cmd{"coffre-1": ours, "coffre-2": other} {
		if err := os.WriteFile(filepath.Join(dir, name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := newCluster(options{Var: dir, Instances: 2})
	c.killLeftovers()
	if runsIn(ours.Process.Pid, dir) {
		t.Errorf("the process left by a previous run in %s still runs", dir)
	}
	if err := ours.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("the leftover ended with %v, want killed", err)
	}
	if !runsIn(other.Process.Pid, dir+"-other") {
		t.Errorf("a process of another folder was killed")
	}
}
