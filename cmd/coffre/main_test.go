package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"coffre/vault/vaulttest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"coffre": main})
}

// TestScripts runs the command-line scenarios in testdata/script. Each script gets a fresh
// migrated-on-demand database (COFFRE_DATABASE_URL, empty), a filesystem blob store in its
// work directory, and a free loopback port in $PORT.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("COFFRE_DATABASE_URL", vaulttest.EmptyDatabaseURL(t))
			env.Setenv("COFFRE_BLOB_DIR", env.WorkDir+"/blobs")
			env.Setenv("COFFRE_MASTER_KEY_FILE", env.WorkDir+"/keys/master.key")
			env.Setenv("COFFRE_SIGNING_KEY_FILE", env.WorkDir+"/keys/signing.key")
			env.Setenv("COFFRE_LOG_LEVEL", "warn")
			for _, k := range []string{"COFFRE_S3_ENDPOINT", "COFFRE_S3_ACCESS_KEY", "COFFRE_S3_SECRET_KEY", "COFFRE_S3_TLS", "COFFRE_LISTEN"} {
				env.Setenv(k, "")
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			env.Setenv("PORT", fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
			ln.Close()
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// sql STATEMENT runs one statement on the script's database, as a person with
			// direct database access would.
			"sql": func(ts *testscript.TestScript, neg bool, args []string) {
				ctx := context.Background()
				conn, err := pgx.Connect(ctx, ts.Getenv("COFFRE_DATABASE_URL"))
				ts.Check(err)
				defer conn.Close(ctx)
				_, err = conn.Exec(ctx, args[0])
				if neg {
					if err == nil {
						ts.Fatalf("sql succeeded: %s", args[0])
					}
					return
				}
				ts.Check(err)
			},
			// waitready URL polls until URL answers 200, for 20 seconds at most.
			"waitready": func(ts *testscript.TestScript, neg bool, args []string) {
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					resp, err := http.Get(args[0])
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							return
						}
					}
					time.Sleep(100 * time.Millisecond)
				}
				ts.Fatalf("%s did not become ready", args[0])
			},
			// mode FILE PERM checks a file's permission bits.
			"mode": func(ts *testscript.TestScript, neg bool, args []string) {
				st, err := os.Stat(ts.MkAbs(args[0]))
				ts.Check(err)
				if got := fmt.Sprintf("%o", st.Mode().Perm()); got != args[1] {
					ts.Fatalf("%s has mode %s, want %s", args[0], got, args[1])
				}
			},
		},
	})
}
