package vaulttest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The benchmarks compare a path of ours with the raw component on a machine that the
// test process, MinIO and PostgreSQL share. When it is saturated, their ratio of
// throughputs is the ratio of the CPU each side spends per operation, summed over the
// three processes; so the benchmarks measure that too, in the same run (issue 12).

// userHZ is the unit of the times in /proc/<pid>/stat: Linux's USER_HZ, 100 on every
// architecture Go supports. A reading is thus rounded down to 10 ms: measure over many
// operations, never one.
const userHZ = 100

// CPUUse is the processor time (user + system) that each process group spent over an
// interval: this test process, MinIO, and PostgreSQL (the postmaster and its children).
// MinIOKnown and PostgresKnown are false when that component could not be measured; its
// time is then zero.
type CPUUse struct {
	Self, MinIO, Postgres     time.Duration
	MinIOKnown, PostgresKnown bool
}

// Add adds v's times to u's. A component stays known only if it is known in both.
func (u *CPUUse) Add(v CPUUse) {
	u.Self += v.Self
	u.MinIO += v.MinIO
	u.Postgres += v.Postgres
	u.MinIOKnown = u.MinIOKnown && v.MinIOKnown
	u.PostgresKnown = u.PostgresKnown && v.PostgresKnown
}

// Total is the sum over the three components (an unknown one counts zero).
func (u CPUUse) Total() time.Duration { return u.Self + u.MinIO + u.Postgres }

// CPUMeter measures CPUUse from StartCPU to Stop.
type CPUMeter struct {
	start cpuReading
}

// StartCPU starts measuring.
//
// MinIO is the process whose PID is in $COFFRE_VAR/minio.pid (scripts/minio.sh writes
// it); PostgreSQL is the postmaster, whose PID is the first line of
// $COFFRE_VAR/postgres/postmaster.pid, plus its children found by scanning /proc/*/stat
// for that parent. Their times are read from /proc/<pid>/stat (utime + stime, in ticks of
// 1/100 s). A backend that exits during the interval is not lost: the postmaster reaps
// it, and its time moves into the postmaster's cutime + cstime, which are counted too.
// What is lost is a process that is neither alive nor reaped at Stop (a zombie for a few
// microseconds), and MinIO's children (it has none). Without COFFRE_VAR, or when a PID
// file is missing or names no live process, or when MinIO was restarted meanwhile, that
// component is reported as unknown rather than failing the benchmark.
//
// MinIO and PostgreSQL are shared by every test running on the machine: their times
// include the other tests' load, which alternating the two sides of a comparison in
// batches spreads over both.
func StartCPU() *CPUMeter {
	return &CPUMeter{start: readCPU(true)}
}

// Stop returns the CPU spent since StartCPU.
func (m *CPUMeter) Stop() CPUUse {
	end := readCPU(false)
	s := m.start
	u := CPUUse{Self: end.self - s.self}
	if s.minioOK && end.minioOK && end.minioPID == s.minioPID && end.minio >= s.minio {
		u.MinIO, u.MinIOKnown = end.minio-s.minio, true
	}
	if s.pgOK && end.pgOK && end.pgPID == s.pgPID && end.pg >= s.pg {
		u.Postgres, u.PostgresKnown = end.pg-s.pg, true
	}
	return u
}

type cpuReading struct {
	self, minio, pg time.Duration
	minioPID, pgPID int
	minioOK, pgOK   bool
}

// readCPU reads the three counters. Our own is read after the scan of /proc when starting
// and before it when stopping, so that the scan's cost is not counted as ours.
func readCPU(starting bool) cpuReading {
	var r cpuReading
	if !starting {
		r.self = selfCPU()
	}
	if dir := os.Getenv("COFFRE_VAR"); dir != "" {
		if pid, ok := pidFile(filepath.Join(dir, "minio.pid")); ok {
			if st, ok := procStat(pid); ok {
				r.minio, r.minioPID, r.minioOK = st.own, pid, true
			}
		}
		if pid, ok := pidFile(filepath.Join(dir, "postgres", "postmaster.pid")); ok {
			r.pg, r.pgOK = treeCPU(pid)
			r.pgPID = pid
		}
	}
	if starting {
		r.self = selfCPU()
	}
	return r
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pidFile reads the PID on the first line of path.
func pidFile(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	return pid, err == nil && pid > 0
}

type procTimes struct {
	ppid int
	own  time.Duration // utime + stime
	kids time.Duration // cutime + cstime: the reaped children's
}

// procStat reads /proc/<pid>/stat (proc(5)).
func procStat(pid int) (procTimes, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procTimes{}, false
	}
	// The command name, field 2, is in parentheses and may hold spaces and parentheses:
	// the fields after it start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procTimes{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime…cstime fields 14–17.
	if len(f) < 15 {
		return procTimes{}, false
	}
	var n [5]int64
	for j, k := range []int{1, 11, 12, 13, 14} {
		if n[j], err = strconv.ParseInt(f[k], 10, 64); err != nil {
			return procTimes{}, false
		}
	}
	tick := time.Second / userHZ
	return procTimes{ppid: int(n[0]), own: time.Duration(n[1]+n[2]) * tick, kids: time.Duration(n[3]+n[4]) * tick}, true
}

// treeCPU is the time of the process root, of its reaped children, and of its live
// children.
func treeCPU(root int) (time.Duration, bool) {
	st, ok := procStat(root)
	if !ok {
		return 0, false
	}
	total := st.own + st.kids
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if c, ok := procStat(pid); ok && c.ppid == root {
			total += c.own
		}
	}
	return total, true
}

// CPUSide accumulates one side of a comparison over its batches: the CPU spent, the wall
// time, and the number of operations.
type CPUSide struct {
	CPU  CPUUse
	Wall time.Duration
	Ops  int
}

func (s *CPUSide) add(u CPUUse, wall time.Duration, ops int) {
	if s.Ops == 0 {
		s.CPU = u
	} else {
		s.CPU.Add(u)
	}
	s.Wall += wall
	s.Ops += ops
}

// CPUComparison is the CPU of a raw path and of ours, measured in alternating batches.
type CPUComparison struct {
	Raw, Ours CPUSide
}

// cpuBatch is how many iterations of one side run between two readings: enough for the
// 10 ms ticks of /proc to round off a small part of a batch, few enough that the two sides
// share the machine's changing load.
const cpuBatch = 10

// Alternate runs raw(i) and ours(i) for i in [0, n), in batches of cpuBatch iterations of
// raw then of ours, and adds each batch's CPU and wall time to its side. An iteration does
// opsPerIter operations (a round of concurrent requests may count each of them).
func (c *CPUComparison) Alternate(n, opsPerIter int, raw, ours func(i int)) {
	run := func(side *CPUSide, from, to int, f func(int)) {
		m := StartCPU()
		start := time.Now()
		for i := from; i < to; i++ {
			f(i)
		}
		wall := time.Since(start)
		side.add(m.Stop(), wall, (to-from)*opsPerIter)
	}
	for from := 0; from < n; from += cpuBatch {
		to := min(from+cpuBatch, n)
		run(&c.Raw, from, to, raw)
		run(&c.Ours, from, to, ours)
	}
}

// Metric is one value for testing.B.ReportMetric.
type Metric struct {
	Value float64
	Unit  string
}

// Metrics are the comparison's figures, ours named by ours ("vault", "link"), per
// operation:
//
//   - raw-cpu-ms/op, ours-cpu-ms/op: CPU per operation, summed over the three processes;
//   - raw-self-cpu-ms/op, raw-minio-cpu-ms/op, raw-pg-cpu-ms/op, and the same for ours:
//     each process's share (an unknown one is left out, and so is it from the sums);
//   - raw-cores, ours-cores: CPU / wall time, the cores busy on average;
//   - cpu-ceiling: raw CPU per operation / ours: the best ours/raw throughput ratio this
//     machine could give if both sides saturated its processors.
func (c *CPUComparison) Metrics(ours string) []Metric {
	var ms []Metric
	ms = append(ms, side("raw", c.Raw)...)
	ms = append(ms, side(ours, c.Ours)...)
	if r, o := perOp(c.Raw.CPU.Total(), c.Raw.Ops), perOp(c.Ours.CPU.Total(), c.Ours.Ops); r > 0 && o > 0 {
		ms = append(ms, Metric{r / o, "cpu-ceiling"})
	}
	return ms
}

func side(name string, s CPUSide) []Metric {
	if s.Ops == 0 {
		return nil
	}
	ms := []Metric{{perOp(s.CPU.Total(), s.Ops), name + "-cpu-ms/op"}, {perOp(s.CPU.Self, s.Ops), name + "-self-cpu-ms/op"}}
	if s.CPU.MinIOKnown {
		ms = append(ms, Metric{perOp(s.CPU.MinIO, s.Ops), name + "-minio-cpu-ms/op"})
	}
	if s.CPU.PostgresKnown {
		ms = append(ms, Metric{perOp(s.CPU.Postgres, s.Ops), name + "-pg-cpu-ms/op"})
	}
	if s.Wall > 0 {
		ms = append(ms, Metric{float64(s.CPU.Total()) / float64(s.Wall), name + "-cores"})
	}
	return ms
}

func perOp(d time.Duration, ops int) float64 {
	return float64(d) / float64(time.Millisecond) / float64(ops)
}

// Report reports Metrics(ours) on b.
func (c *CPUComparison) Report(b *testing.B, ours string) {
	for _, m := range c.Metrics(ours) {
		b.ReportMetric(m.Value, m.Unit)
	}
}
