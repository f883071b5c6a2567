#!/usr/bin/env bash
# test.sh [go test flags] — every test, against the real PostgreSQL and MinIO started here.
# Each test package creates and drops its own database and bucket.
. "$(dirname "$0")/services.sh"
cd "$ROOT"
services_up
export COFFRE_TEST_DATABASE_URL=$("$ROOT/scripts/postgres.sh" url postgres)
export COFFRE_TEST_S3_ENDPOINT=$COFFRE_S3_ENDPOINT
export COFFRE_TEST_S3_ACCESS_KEY=$COFFRE_S3_ACCESS_KEY
export COFFRE_TEST_S3_SECRET_KEY=$COFFRE_S3_SECRET_KEY
export COFFRE_TEST_SHARED=${COFFRE_TEST_SHARED:-$ROOT/../shared}
go vet ./...
go test -count=1 -timeout 30m "$@" ./...
