#!/usr/bin/env bash
# test.sh [go test flags] — every test, against the real PostgreSQL and MinIO started here.
# Each test package creates and drops its own database and bucket.
. "$(dirname "$0")/services.sh"
cd "$ROOT"
"$ROOT/scripts/deps.sh"
# The linter first (.golangci.yml, go.mod tidy): a finding fails the run before the
# services start and the tests take their minutes.
"$ROOT/scripts/lint.sh"
services_up
export COFFRE_TEST_DATABASE_URL=$("$ROOT/scripts/postgres.sh" url postgres)
export COFFRE_TEST_S3_ENDPOINT=$COFFRE_S3_ENDPOINT
export COFFRE_TEST_S3_ACCESS_KEY=$COFFRE_S3_ACCESS_KEY
export COFFRE_TEST_S3_SECRET_KEY=$COFFRE_S3_SECRET_KEY
export COFFRE_TEST_SMTP=127.0.0.1:$MAILPIT_SMTP_PORT
export COFFRE_TEST_MAILPIT=http://127.0.0.1:$MAILPIT_HTTP_PORT
export COFFRE_TEST_SHARED=${COFFRE_TEST_SHARED:-$ROOT/../shared}
# The benchmarks read the CPU that MinIO and PostgreSQL spend from their PID files there.
export COFFRE_VAR=$VAR
"$ROOT/scripts/assets.sh"
"$ROOT/scripts/browser.sh"
"$ROOT/scripts/ocr.sh"
# The export tests (issue 7) unpack archives with the system unzip and decrypt them with
# the age command-line tool, built once into the cache.
command -v unzip >/dev/null || { log "installing unzip"; apt_install unzip; }
# The mandate receipt's test prints its QR code and reads it back with zbar, a reader of
# its own, as a phone would (gozxing, in Go, misses 3 % of such dense codes however clean).
command -v zbarimg >/dev/null || { log "installing zbar-tools"; apt_install --no-install-recommends zbar-tools; }
AGE_DIR=$CACHE/age-v1.3.2
[ -x "$AGE_DIR/age" ] || { log "building age v1.3.2"; GOBIN=$AGE_DIR go install filippo.io/age/cmd/...@v1.3.2; }
export COFFRE_TEST_AGE=$AGE_DIR/age
# The packages by their roots, not ./...: var/ holds the running PostgreSQL's files, which
# come and go while the go command walks the tree.
PKGS=(./cmd/... ./ingest/... ./migrations/... ./sharing/... ./vault/... ./web/...)
go vet "${PKGS[@]}"
go test -count=1 -timeout 30m "$@" "${PKGS[@]}"
# The short load test runs alone, after the others: it starts its own PostgreSQL, MinIO
# and coffre processes on other ports, kills and restarts them (cmd/loadtest).
if [ $# = 0 ]; then
	COFFRE_LOADTEST=short go test -count=1 -timeout 10m -run '^TestLoadShort$' -v ./cmd/loadtest
fi
