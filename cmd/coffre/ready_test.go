package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
	"coffre/vault/vaulttest"
	"coffre/web"
)

func TestReadiness(t *testing.T) {
	ctx := context.Background()
	vb := vaulttest.NewVault(t)
	dir := filepath.Dir(vb.KeyPath)
	cfg := Config{MasterKeyFile: vb.KeyPath, SigningKeyFile: filepath.Join(dir, "signing.key")}
	if err := (&readiness{v: vb.V, pool: vb.DB, cfg: cfg}).Ping(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}

	readOnly, err := pgxpool.New(ctx, vb.DB.Config().ConnString()+"&default_transaction_read_only=on")
	if err != nil {
		t.Fatal(err)
	}
	defer readOnly.Close()
	missing, err := vault.NewS3Store(vault.S3Config{Endpoint: vb.S3.Endpoint, Bucket: "coffre-no-such-bucket", AccessKey: vb.S3.AccessKey, SecretKey: vb.S3.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	noBucket, err := vault.New(ctx, vault.Config{DB: vb.DB, Blobs: missing, Keys: vb.Keys})
	if err != nil {
		t.Fatal(err)
	}
	garbled := filepath.Join(dir, "garbled.key")
	if err := os.WriteFile(garbled, []byte("AGE-SECRET-KEY-NOT-A-KEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	draining := &readiness{v: vb.V, pool: vb.DB, cfg: cfg}
	draining.draining.Store(true)

	for _, tc := range []struct {
		name   string
		r      *readiness
		reason string
	}{
		{"database refuses writes", &readiness{v: vb.V, pool: readOnly, cfg: cfg}, "database refuses writes"},
		{"bucket missing", &readiness{v: noBucket, pool: vb.DB, cfg: cfg}, "blob store unreachable or bucket missing"},
		{"master key file gone", &readiness{v: vb.V, pool: vb.DB, cfg: Config{MasterKeyFile: filepath.Join(dir, "gone.key"), SigningKeyFile: cfg.SigningKeyFile}}, "master key file unreadable"},
		{"master key file garbled", &readiness{v: vb.V, pool: vb.DB, cfg: Config{MasterKeyFile: garbled, SigningKeyFile: cfg.SigningKeyFile}}, "master key file unreadable"},
		{"signing key file gone", &readiness{v: vb.V, pool: vb.DB, cfg: Config{MasterKeyFile: vb.KeyPath, SigningKeyFile: filepath.Join(dir, "gone.pem")}}, "signing key file unreadable"},
		{"shutting down", draining, "shutting down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var nr web.NotReady
			if err := tc.r.Ping(ctx); !errors.As(err, &nr) || nr.Reason != tc.reason {
				t.Fatalf("Ping = %v, want the reason %q", err, tc.reason)
			}
		})
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeMetricsAndShutdown runs 'coffre serve' with COFFRE_METRICS_LISTEN, reads its
// metrics, and stops it as SIGTERM does.
func TestServeMetricsAndShutdown(t *testing.T) {
	dir := t.TempDir()
	s3 := vaulttest.S3Config(t)
	env := map[string]string{
		"COFFRE_DATABASE_URL": vaulttest.DatabaseURL(t), "COFFRE_S3_ENDPOINT": s3.Endpoint, "COFFRE_S3_BUCKET": s3.Bucket,
		"COFFRE_S3_ACCESS_KEY": s3.AccessKey, "COFFRE_S3_SECRET_KEY": s3.SecretKey, "COFFRE_S3_TLS": "false",
		"COFFRE_MASTER_KEY_FILE": filepath.Join(dir, "master.key"), "COFFRE_SIGNING_KEY_FILE": filepath.Join(dir, "signing.key"),
		"COFFRE_LISTEN": freePort(t), "COFFRE_METRICS_LISTEN": freePort(t), "COFFRE_LOG_LEVEL": "warn",
		"COFFRE_SHUTDOWN_DRAIN": "1s",
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.GenerateMasterKey(cfg.MasterKeyFile); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.GenerateSigningKey(cfg.SigningKeyFile); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfg, nil, nil, io.Discard) }()

	base := "http://" + cfg.Listen
	var resp *http.Response
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err = http.Get(base + "/readyz"); err == nil && resp.StatusCode == http.StatusOK {
			break
		}
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("not ready: %v", err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-ID") == "" {
		t.Error("no X-Request-ID")
	}
	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the service's address: %v %v", err, resp.StatusCode)
	}
	resp, err = http.Get("http://" + cfg.MetricsListen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`coffre_http_requests_total{method="GET",route="/readyz",status="200"} 1`, "coffre_db_pool_max_connections 25",
		"coffre_river_jobs{", "coffre_journal_appends_total", "coffre_db_scrape_errors 0", "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	cancel() // as SIGTERM does
	// During the drain, the instance still answers, and says it is going away.
	time.Sleep(200 * time.Millisecond)
	resp, err = http.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("no answer during the drain: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != "not ready: shutting down\n" {
		t.Fatalf("readyz during the drain: %d %q", resp.StatusCode, body)
	}
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz during the drain: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve stopped with %v", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get(base + "/readyz"); err == nil {
		t.Error("still answering after the shutdown")
	}
	if _, err := http.Get(fmt.Sprintf("http://%s/metrics", cfg.MetricsListen)); err == nil {
		t.Error("metrics still answering after the shutdown")
	}
}
