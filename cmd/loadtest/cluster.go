package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cluster is everything the load test starts, under its own folder and on its own
// loopback ports: a PostgreSQL, a MinIO over four drives, and the coffre serve processes.
// It stops only what it started, by PID.
type cluster struct {
	opts    options
	scripts string
	env     []string // what the scripts and coffre commands run with
	dbURL   string

	clientID, clientSecret string // the téléservice
	agentLogin, agentPass  string
	agentTOTP              string

	mu        sync.Mutex
	instances []*instance
	mem       map[string]int64 // peak resident memory by process name, in bytes
}

// instance is one coffre serve process, restarted under the same name and port.
type instance struct {
	name    string
	addr    string // host:port
	metrics string // host:port of /metrics
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
	up      bool // started and not killed since
}

func (in *instance) base() string { return "http://" + in.addr }

func newCluster(o options) *cluster {
	c := &cluster{opts: o, scripts: filepath.Join(o.Root, "scripts"), mem: map[string]int64{}}
	c.dbURL = fmt.Sprintf("postgres://coffre@127.0.0.1:%d/coffre?sslmode=disable", o.PGPort)
	keys := filepath.Join(o.Var, "keys")
	c.env = append(os.Environ(),
		"COFFRE_VAR="+o.Var,
		"COFFRE_PG_PORT="+strconv.Itoa(o.PGPort),
		"COFFRE_MINIO_PORT="+strconv.Itoa(o.MinioPort),
		"COFFRE_MINIO_CONSOLE_PORT="+strconv.Itoa(o.MinioPort+1),
		"COFFRE_MINIO_DRIVES=4",
		"COFFRE_DATABASE_URL="+c.dbURL,
		"COFFRE_S3_ENDPOINT="+fmt.Sprintf("127.0.0.1:%d", o.MinioPort),
		"COFFRE_S3_ACCESS_KEY=coffre-local",
		"COFFRE_S3_SECRET_KEY=coffre-local-secret",
		"COFFRE_S3_TLS=false",
		"COFFRE_S3_BUCKET=coffre",
		// The people of the load all sign up from this machine's one address.
		"COFFRE_SIGNUPS_PER_NETWORK=1000000",
		"COFFRE_MASTER_KEY_FILE="+filepath.Join(keys, "master.key"),
		"COFFRE_SIGNING_KEY_FILE="+filepath.Join(keys, "signing.key"),
		// Checkpoints are signed during the run, so that verify checks some.
		"COFFRE_CHECKPOINT_EVERY=20s",
		// MinIO heals a drive that came back without pausing between objects (its
		// default pauses up to 250 ms each while the disks are busy: on one shared disk
		// under load, the heal would outlast the test).
		"MINIO_HEAL_MAX_SLEEP=5ms", "MINIO_HEAL_MAX_IO=1000",
		// Its request counts, read at the start and the end of the load (loopback only).
		"MINIO_PROMETHEUS_AUTH_TYPE=public",
		"COFFRE_LOG_LEVEL=info",
	)
	for i := range o.Instances {
		c.instances = append(c.instances, &instance{
			name:    fmt.Sprintf("coffre-%d", i+1),
			addr:    fmt.Sprintf("127.0.0.1:%d", o.Port+i),
			metrics: fmt.Sprintf("127.0.0.1:%d", o.Port+100+i),
		})
	}
	return c
}

// script runs one of the project's scripts with the cluster's settings.
func (c *cluster) script(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(c.scripts, name)}, args...)...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// coffre runs a coffre command and returns its output.
func (c *cluster) coffre(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.opts.Bin, args...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("coffre %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// stopServices stops the PostgreSQL and MinIO of the load test's folder, if they run
// (each script stops only the process whose PID it recorded there).
func (c *cluster) stopServices(ctx context.Context) {
	if err := c.script(ctx, "minio.sh", "stop"); err != nil {
		logf("%v", err)
	}
	if err := c.script(ctx, "postgres.sh", "stop"); err != nil {
		logf("%v", err)
	}
}

var (
	clientIDRE     = regexp.MustCompile(`client_id: (\S+)`)
	clientSecretRE = regexp.MustCompile(`client_secret: (\S+)`)
	structureRE    = regexp.MustCompile(`created: ([0-9a-f-]{36})`)
	tempPassRE     = regexp.MustCompile(`temporary_password: (.+)`)
	totpURIRE      = regexp.MustCompile(`totp_uri: (\S+)`)
)

// setUp starts fresh services in the load test's folder and prepares the service: keys,
// schema, a téléservice, a structure and its agent.
func (c *cluster) setUp(ctx context.Context) error {
	// What a previous run in this folder left running, if anything: it was killed
	// before it could stop what it started.
	c.killLeftovers()
	c.stopServices(ctx)
	if err := os.RemoveAll(c.opts.Var); err != nil {
		return err
	}
	if err := os.MkdirAll(c.opts.Var, 0o755); err != nil {
		return err
	}
	if err := c.script(ctx, "postgres.sh", "start"); err != nil {
		return err
	}
	if err := c.script(ctx, "minio.sh", "start"); err != nil {
		return err
	}
	steps := [][]string{{"keys", "init"}, {"migrate"}}
	for _, s := range steps {
		if _, err := c.coffre(ctx, "", s...); err != nil {
			return err
		}
	}
	out, err := c.coffre(ctx, "", "clients", "add", "--name", "Téléservice de charge",
		"--kinds", strings.Join(kinds, ","), "--redirect-uri", redirectURI)
	if err != nil {
		return err
	}
	c.clientID, c.clientSecret = match(clientIDRE, out), match(clientSecretRE, out)
	out, err = c.coffre(ctx, "", "structures", "create", "--name", "CCAS de Charge", "--kind", "ccas",
		"--siret", "21590350100017", "--contact", "CCAS de Charge, 03 20 00 00 00")
	if err != nil {
		return err
	}
	c.agentLogin = "agent.charge"
	out, err = c.coffre(ctx, "", "agents", "create", "--structure", match(structureRE, out),
		"--login", c.agentLogin, "--name", "Mme Charge", "--role", "agent")
	if err != nil {
		return err
	}
	c.agentPass = strings.TrimSpace(match(tempPassRE, out))
	if u, err := url.Parse(match(totpURIRE, out)); err == nil {
		c.agentTOTP = u.Query().Get("secret")
	}
	if c.clientID == "" || c.clientSecret == "" || c.agentPass == "" || c.agentTOTP == "" {
		return fmt.Errorf("set-up: could not read the client or the agent from the commands' output")
	}
	for _, in := range c.instances {
		if err := c.start(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

func match(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// start runs in (again) and waits until it is ready. When its port is taken (the
// ports are chosen below the kernel's ephemeral range, but another program may listen
// there for a moment), the start is tried again.
func (c *cluster) start(ctx context.Context, in *instance) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = c.startOnce(ctx, in)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 5 {
			return err
		}
		logf("%v; trying again", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

var errPortTaken = errors.New("port taken")

func (c *cluster) startOnce(ctx context.Context, in *instance) error {
	logFile, err := os.OpenFile(filepath.Join(c.opts.Var, in.name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.opts.Bin, "serve")
	cmd.Env = append(c.env, "COFFRE_LISTEN="+in.addr, "COFFRE_METRICS_LISTEN="+in.metrics)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Should the load test itself be killed, its instances go with it (and their PIDs
	// are recorded for the next run, should that fail).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", in.name, err)
	}
	if err := os.WriteFile(filepath.Join(c.opts.Var, in.name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		logf("record the PID of %s: %v", in.name, err)
	}
	done := make(chan struct{})
	c.mu.Lock()
	in.cmd, in.done = cmd, done
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logFile.Close()
		c.mu.Lock()
		in.exitErr, in.up = err, false
		c.mu.Unlock()
		close(done)
	}()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			if tail := logTail(filepath.Join(c.opts.Var, in.name+".log")); strings.Contains(tail, "address already in use") {
				return fmt.Errorf("%s could not listen: %w", in.name, errPortTaken)
			}
			return fmt.Errorf("%s exited at start: %v (see %s.log)", in.name, in.exitErr, in.name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if ready(in.base()) {
			c.mu.Lock()
			in.up = true
			c.mu.Unlock()
			return nil
		}
	}
	return fmt.Errorf("%s not ready after 90 s (see %s.log)", in.name, in.name)
}

// logTail is the end of a log file.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b[max(0, len(b)-512):])
}

func ready(base string) bool {
	hc := http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get(base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// kill ends in with SIGKILL, as a crashed machine would, and waits for it to be gone.
func (c *cluster) kill(in *instance) {
	c.mu.Lock()
	cmd, done := in.cmd, in.done
	in.up = false
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL) // fails only when it has already exited, which done tells
	<-done
}

// stop ends in gracefully (SIGTERM) and returns how long it took and how it exited.
func (c *cluster) stop(in *instance) (time.Duration, error) {
	c.mu.Lock()
	cmd, done := in.cmd, in.done
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0, nil
	}
	select {
	case <-done:
		return 0, nil
	default:
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM) // fails only when it has already exited, which done tells
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return time.Since(start), fmt.Errorf("%s did not stop within 60 s of SIGTERM", in.name)
	}
	c.mu.Lock()
	err := in.exitErr
	c.mu.Unlock()
	return time.Since(start), err
}

// live is the instances a load balancer would send requests to now.
func (c *cluster) live() []*instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*instance
	for _, in := range c.instances {
		if in.up {
			out = append(out, in)
		}
	}
	return out
}

// tearDown stops every coffre process, then the services, all by PID.
func (c *cluster) tearDown() {
	for _, in := range c.instances {
		c.kill(in)
	}
	c.stopServices(context.Background())
}

// killLeftovers kills the coffre processes whose PIDs a previous run recorded in the
// folder, when they still run with this folder's settings (a PID reused by another
// process is left alone), and waits until they are gone.
func (c *cluster) killLeftovers() {
	files, _ := filepath.Glob(filepath.Join(c.opts.Var, "coffre-*.pid"))
	for _, f := range files {
		pid := readPID(f)
		if pid <= 0 || !runsIn(pid, c.opts.Var) {
			continue
		}
		logf("killing %s (PID %d), left running by a previous run", strings.TrimSuffix(filepath.Base(f), ".pid"), pid)
		_ = syscall.Kill(pid, syscall.SIGKILL) // whether it went is checked just below
		for i := 0; i < 50 && runsIn(pid, c.opts.Var); i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// runsIn tells whether process pid is a coffre process started by a load test whose
// folder is dir.
func runsIn(pid int, dir string) bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	return slices.Contains(strings.Split(string(env), "\x00"), "COFFRE_VAR="+dir)
}

// restartPostgres stops PostgreSQL (fast: sessions are cut, as in a failover) and
// starts it again.
func (c *cluster) restartPostgres(ctx context.Context) error {
	if err := c.script(ctx, "postgres.sh", "stop"); err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // requests meanwhile find no database
	return c.script(ctx, "postgres.sh", "start")
}

// drive is the folder of one MinIO drive. offline moves it aside and leaves a file in
// its place, as a disk that disappears (MinIO cannot recreate the folder and write there);
// online puts it back.
func (c *cluster) drive(n int) string {
	return filepath.Join(c.opts.Var, "minio", "d"+strconv.Itoa(n))
}

func (c *cluster) driveOffline(n int) error {
	if err := os.Rename(c.drive(n), c.drive(n)+".off"); err != nil {
		return err
	}
	return os.WriteFile(c.drive(n), []byte("drive taken away by the load test\n"), 0o444)
}

func (c *cluster) driveOnline(n int) error {
	if err := os.Remove(c.drive(n)); err != nil {
		return err
	}
	return os.Rename(c.drive(n)+".off", c.drive(n))
}

// watchMemory samples the resident memory of every process of the cluster each second,
// keeping each one's peak (VmHWM, the kernel's own high-water mark, read while it runs).
func (c *cluster) watchMemory(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		pids := map[string]int{}
		for _, in := range c.instances {
			if in.cmd != nil && in.cmd.Process != nil && in.up {
				pids[in.name] = in.cmd.Process.Pid
			}
		}
		c.mu.Unlock()
		if pid := readPID(filepath.Join(c.opts.Var, "minio.pid")); pid > 0 {
			pids["minio"] = pid
		}
		for name, pid := range pids {
			c.notePeak(name, hwm(pid))
		}
		// PostgreSQL is many processes sharing their buffers: the sum of their
		// proportional set sizes (shared pages divided among them) at each sample.
		if pid := readPID(filepath.Join(c.opts.Var, "postgres", "postmaster.pid")); pid > 0 {
			c.notePeak("postgres", groupRSS(pid))
		}
	}
}

func (c *cluster) notePeak(name string, b int64) {
	c.mu.Lock()
	if b > c.mem[name] {
		c.mem[name] = b
	}
	c.mu.Unlock()
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// hwm is a process's peak resident size, from /proc.
func hwm(pid int) int64 { return procStatus(pid, "VmHWM:") }

func pss(pid int) int64 { return procField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:") }

func procStatus(pid int, field string) int64 {
	return procField(fmt.Sprintf("/proc/%d/status", pid), field)
}

func procField(path, field string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// groupRSS is the proportional resident size of a process and its children.
func groupRSS(pid int) int64 {
	total := pss(pid)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return total
	}
	for _, f := range strings.Fields(string(b)) {
		if child, err := strconv.Atoi(f); err == nil {
			total += pss(child)
		}
	}
	return total
}
