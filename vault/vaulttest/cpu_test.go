package vaulttest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const tick = time.Second / userHZ

// burn spends CPU in this process: hashing 256 MB takes 100 ms or more on any machine we
// run on, whatever the load (it is work, not a duration).
func burn() {
	buf := make([]byte, 32<<20)
	for range 8 {
		sha256.Sum256(buf)
	}
}

// fakeVar makes a COFFRE_VAR whose minio.pid and postmaster.pid name the given processes
// (0: no file).
func fakeVar(t *testing.T, minio, postmaster int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "postgres"), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(path string, pid int) {
		if pid == 0 {
			return
		}
		// postmaster.pid holds more lines after the PID: the data folder, the start time…
		if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n/var/lib/postgres\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "minio.pid"), minio)
	write(filepath.Join(dir, "postgres", "postmaster.pid"), postmaster)
	t.Setenv("COFFRE_VAR", dir)
	return dir
}

// TestCPUSelf: the time of this process is measured by getrusage and, standing in for
// MinIO and for the postmaster, by /proc/<pid>/stat; the two agree to a tick.
func TestCPUSelf(t *testing.T) {
	fakeVar(t, os.Getpid(), os.Getpid())
	m := StartCPU()
	start := time.Now()
	burn()
	wall := time.Since(start)
	u := m.Stop()
	if !u.MinIOKnown || !u.PostgresKnown {
		t.Fatalf("unknown: %+v", u)
	}
	if u.Self < 50*time.Millisecond || u.Self > wall*time.Duration(runtime.NumCPU())+tick {
		t.Errorf("self %v over %v of wall time", u.Self, wall)
	}
	// Our own time is read inside the /proc readings: /proc can only show as much, or more.
	for _, d := range []time.Duration{u.MinIO, u.Postgres} {
		if d < u.Self-tick || d > u.Self+5*tick {
			t.Errorf("/proc says %v, getrusage %v", d, u.Self)
		}
	}
	if u.Total() != u.Self+u.MinIO+u.Postgres {
		t.Errorf("total %v of %+v", u.Total(), u)
	}
}

// child runs a shell that spends CPU, then says so and sleeps until killed.
func child(t *testing.T) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command("sh", "-c", `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done; exec sleep 60`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitDone := func() {
		if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "done\n" {
			t.Fatalf("child said %q, %v", line, err)
		}
	}
	return cmd, waitDone
}

// TestCPUTree: the postmaster's share counts its live children and, once reaped, the
// children that exited during the interval. This process stands in for the postmaster.
func TestCPUTree(t *testing.T) {
	fakeVar(t, 0, os.Getpid())

	// A live child: its time while the meter runs is counted.
	m := StartCPU()
	cmd, waitDone := child(t)
	waitDone()
	live := m.Stop()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: the error says so
	spent := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if spent < 5*tick {
		t.Fatalf("the child spent only %v", spent)
	}
	if live.MinIOKnown || !live.PostgresKnown {
		t.Fatalf("known: %+v", live)
	}
	if live.Postgres-live.Self < spent-2*tick {
		t.Errorf("tree %v, self %v, child %v", live.Postgres, live.Self, spent)
	}

	// A child that exits and is reaped before the meter stops: not lost.
	m = StartCPU()
	cmd = exec.Command("sh", "-c", `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done`)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	reaped := m.Stop()
	spent = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if reaped.Postgres-reaped.Self < spent-2*tick {
		t.Errorf("tree %v, self %v, child %v", reaped.Postgres, reaped.Self, spent)
	}
}

// TestCPUUnknown: a component that cannot be measured is reported as unknown, with no
// time, and the others still are.
func TestCPUUnknown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T)
	}{
		{"no COFFRE_VAR", func(t *testing.T) { t.Setenv("COFFRE_VAR", "") }},
		{"no PID files", func(t *testing.T) { fakeVar(t, 0, 0) }},
		{"no such processes", func(t *testing.T) { fakeVar(t, 999_999_999, 999_999_999) }},
		{"not a PID", func(t *testing.T) {
			dir := fakeVar(t, 0, 0)
			for _, p := range []string{"minio.pid", "postgres/postmaster.pid"} {
				if err := os.WriteFile(filepath.Join(dir, p), []byte("x\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(t)
			m := StartCPU()
			burn()
			u := m.Stop()
			if u.MinIOKnown || u.PostgresKnown || u.MinIO != 0 || u.Postgres != 0 {
				t.Errorf("%+v", u)
			}
			if u.Self < 50*time.Millisecond {
				t.Errorf("self %v", u.Self)
			}
		})
	}

	// A restarted MinIO: another process's counter says nothing about the interval.
	dir := fakeVar(t, os.Getpid(), os.Getpid())
	m := StartCPU()
	if err := os.WriteFile(filepath.Join(dir, "minio.pid"), []byte(strconv.Itoa(os.Getppid())), 0o600); err != nil {
		t.Fatal(err)
	}
	if u := m.Stop(); u.MinIOKnown || !u.PostgresKnown {
		t.Errorf("restarted: %+v", u)
	}
}

// TestCPUServices measures the real MinIO and PostgreSQL named by COFFRE_VAR: a query
// that spends CPU in a backend that then exits is counted.
func TestCPUServices(t *testing.T) {
	if os.Getenv("COFFRE_VAR") == "" {
		t.Skip("COFFRE_VAR is not set (scripts/test.sh sets it)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	m := StartCPU()
	var sum int64
	if err := conn.QueryRow(ctx, `SELECT sum(i) FROM generate_series(1, 2000000) i`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Wait until the postmaster has reaped the backend.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend %d still there", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	u := m.Stop()
	if !u.MinIOKnown || !u.PostgresKnown {
		t.Fatalf("unknown: %+v", u)
	}
	if u.Postgres < 5*tick {
		t.Errorf("the query's backend spent %v", u.Postgres)
	}
}

// TestCPUComparison: Alternate runs both sides in alternating batches, raw first, and
// Metrics divides by the operations, leaving out what is unknown.
func TestCPUComparison(t *testing.T) {
	fakeVar(t, 0, 0)
	var c CPUComparison
	var calls []string
	c.Alternate(25, 4,
		func(i int) { calls = append(calls, "r"+strconv.Itoa(i)) },
		func(i int) { calls = append(calls, "o"+strconv.Itoa(i)) })
	var want []string
	for _, b := range [][2]int{{0, 10}, {10, 20}, {20, 25}} {
		for _, side := range []string{"r", "o"} {
			for i := b[0]; i < b[1]; i++ {
				want = append(want, side+strconv.Itoa(i))
			}
		}
	}
	if !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	if c.Raw.Ops != 100 || c.Ours.Ops != 100 || c.Raw.CPU.MinIOKnown || c.Ours.CPU.PostgresKnown {
		t.Errorf("%+v", c)
	}

	c = CPUComparison{
		Raw: CPUSide{Ops: 10, Wall: 100 * time.Millisecond, CPU: CPUUse{Self: 80 * time.Millisecond, MinIO: 120 * time.Millisecond, MinIOKnown: true}},
		Ours: CPUSide{Ops: 10, Wall: 200 * time.Millisecond, CPU: CPUUse{Self: 250 * time.Millisecond, MinIO: 100 * time.Millisecond,
			Postgres: 50 * time.Millisecond, MinIOKnown: true, PostgresKnown: true}},
	}
	got := map[string]float64{}
	for _, m := range c.Metrics("link") {
		got[m.Unit] = m.Value
	}
	wantM := map[string]float64{
		"raw-cpu-ms/op": 20, "raw-self-cpu-ms/op": 8, "raw-minio-cpu-ms/op": 12, "raw-cores": 2,
		"link-cpu-ms/op": 40, "link-self-cpu-ms/op": 25, "link-minio-cpu-ms/op": 10, "link-pg-cpu-ms/op": 5, "link-cores": 2,
		"cpu-ceiling": 0.5,
	}
	if !maps.Equal(got, wantM) {
		t.Errorf("metrics %v, want %v", got, wantM)
	}
}
