#!/usr/bin/env bash
# loadtest.sh [flags] — 'make loadtest': Coffre under a bounded load with faults, for
# about ten minutes (cmd/loadtest: --duration, --people, --instances…). It starts its own
# PostgreSQL, a MinIO over four drives and its coffre processes under var/loadtest, on
# loopback ports apart from 'make run' and 'make test' (26432, 29400, 28100…), and stops
# them, by PID, when it ends. Its last line states the outcome; it exits 1 on any loss.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/assets.sh"
"$ROOT/scripts/ocr.sh"
"$ROOT/scripts/minio.sh" build
mkdir -p "$VAR/bin"
go build -o "$VAR/bin/coffre" ./cmd/coffre
go build -o "$VAR/bin/loadtest" ./cmd/loadtest
export COFFRE_TEST_SHARED=${COFFRE_TEST_SHARED:-$ROOT/../shared}
exec "$VAR/bin/loadtest" --root "$ROOT" --coffre "$VAR/bin/coffre" --var "$VAR/loadtest" "$@"
