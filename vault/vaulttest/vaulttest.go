// Package vaulttest gives tests real PostgreSQL databases and MinIO buckets, started by
// 'make test' (scripts/test.sh), and the conformance suite every BlobStore must pass.
//
// Each call to DB gets a fresh database cloned from a template migrated once for the
// schema (and shared by every test binary); each call to Bucket gets a fresh bucket. Both are dropped when the test ends.
// Without COFFRE_TEST_DATABASE_URL (or COFFRE_TEST_S3_ENDPOINT) the tests that need them
// fail with a hint, rather than silently skip: 'make test' always provides them.
package vaulttest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"coffre/migrations"
	"coffre/vault"
)

//nolint:gochecknoglobals // the template is looked up once per test binary
var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

func adminURL(tb testing.TB) string {
	u := os.Getenv("COFFRE_TEST_DATABASE_URL")
	if u == "" {
		tb.Fatal("COFFRE_TEST_DATABASE_URL is not set: run the tests with 'make test'")
	}
	return u
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func withDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func adminExec(ctx context.Context, tb testing.TB, sql string) {
	conn, err := pgx.Connect(ctx, adminURL(tb))
	if err != nil {
		tb.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// DatabaseURL creates a fresh, migrated database and returns its URL. It is dropped when
// the test ends.
func DatabaseURL(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	templateOnce.Do(func() { templateName, templateErr = migrateTemplate(ctx, adminURL(tb)) })
	if templateErr != nil {
		tb.Fatalf("prepare template database: %v", templateErr)
	}
	name := randomName("coffre_test_")
	adminExec(ctx, tb, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName))
	tb.Cleanup(func() {
		adminExec(context.Background(), tb, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return withDatabase(adminURL(tb), name)
}

// EmptyDatabaseURL creates a fresh database with no schema at all, for migration tests.
func EmptyDatabaseURL(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	name := randomName("coffre_empty_")
	adminExec(ctx, tb, "CREATE DATABASE "+name)
	tb.Cleanup(func() {
		adminExec(context.Background(), tb, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return withDatabase(adminURL(tb), name)
}

// DB is DatabaseURL opened as a pool, closed when the test ends.
func DB(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(DatabaseURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = 16 // as a server would have; the default (4 on 2 cores) queues concurrent tests
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// The template is named after what it holds (the migration files and the job queue's
// version), so that every test binary of a tree shares one, migrated by the first; its
// comment says when a binary last used it. A template per binary piled up a thousand
// databases (9 GB) on a developer's machine in a week, and PostgreSQL's autovacuum
// launcher, visiting each, took a few per cent of a core from every benchmark.
// Templates unused for a day (an older schema, another branch's) are dropped; one without
// a comment is being migrated (by an older binary, which took no lock) or was left by a
// binary that died, and is left alone.
func migrateTemplate(ctx context.Context, admin string) (string, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to test PostgreSQL (is 'make test' running it?): %w", err)
	}
	defer conn.Close(ctx)
	name, err := templateFor()
	if err != nil {
		return "", err
	}
	// The first binary migrates, the others wait here and find the template ready. The
	// lock is the connection's: it ends with it, even if the binary dies.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('coffre-test-template'))`); err != nil {
		return "", err
	}
	var ready bool
	if err := conn.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM pg_database d JOIN pg_shdescription s ON s.objoid = d.oid
			WHERE d.datname = $1)`, name).Scan(&ready); err != nil {
		return "", err
	}
	if !ready {
		// Not there, or left without its comment by a binary that died migrating it.
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return "", err
		}
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			return "", err
		}
		pool, err := pgxpool.New(ctx, withDatabase(admin, name))
		if err != nil {
			return "", err
		}
		err = migrations.Up(ctx, pool, nil)
		pool.Close()
		if err != nil {
			return "", err
		}
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("COMMENT ON DATABASE %s IS '%s'", name, time.Now().UTC().Format(time.RFC3339))); err != nil {
		return "", err
	}
	dropStaleTemplates(ctx, conn)
	return name, nil
}

// templateFor names the template of this binary's schema: a hash of the migration files
// and of the job queue's module versions, whose migrations Up applies too.
func templateFor() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash the migrations: %w", err)
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if strings.HasPrefix(m.Path, "github.com/riverqueue/river") { // its migrations ship in its drivers
				fmt.Fprintf(h, "%s %s\n", m.Path, m.Version)
			}
		}
	}
	return "coffre_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

func dropStaleTemplates(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, `
		SELECT d.datname FROM pg_database d
		JOIN pg_shdescription s ON s.objoid = d.oid
		WHERE d.datname LIKE 'coffre_tmpl_%' AND s.description < $1`,
		time.Now().UTC().Add(-24*time.Hour).Format(time.RFC3339))
	if err != nil {
		return
	}
	names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, n := range names {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)") // best effort: the next run tries again
	}
}

// S3Config returns the test MinIO's address and credentials with a fresh bucket, removed
// with its objects when the test ends.
func S3Config(tb testing.TB) vault.S3Config {
	tb.Helper()
	endpoint := os.Getenv("COFFRE_TEST_S3_ENDPOINT")
	if endpoint == "" {
		tb.Fatal("COFFRE_TEST_S3_ENDPOINT is not set: run the tests with 'make test'")
	}
	cfg := vault.S3Config{
		Endpoint:  endpoint,
		Bucket:    strings.ReplaceAll(randomName("coffre-test-"), "_", "-"),
		AccessKey: os.Getenv("COFFRE_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("COFFRE_TEST_S3_SECRET_KEY"),
	}
	client := Client(tb, cfg)
	ctx := context.Background()
	if err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("create test bucket: %v", err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		for obj := range client.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err == nil {
				_ = client.RemoveObject(ctx, cfg.Bucket, obj.Key, minio.RemoveObjectOptions{}) // best effort, as below
			}
		}
		_ = client.RemoveBucket(ctx, cfg.Bucket) // best effort: a leftover test bucket fails nothing
	})
	return cfg
}

// Client is a plain minio-go client for cfg, for tests that look at the raw objects.
func Client(tb testing.TB, cfg vault.S3Config) *minio.Client {
	client, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")})
	if err != nil {
		tb.Fatal(err)
	}
	return client
}

// S3Store returns a store on a fresh test bucket.
func S3Store(tb testing.TB) (*vault.S3Store, vault.S3Config) {
	cfg := S3Config(tb)
	s, err := vault.NewS3Store(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s, cfg
}
