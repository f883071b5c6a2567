#!/usr/bin/env bash
# scaledb.sh [scaledb flags] | clean — the database measurement behind SCALE.md: a
# PostgreSQL of its own (var/scaledb, port 56632) filled with 1 million safes and 10
# million documents copied from a real model safe (cmd/scaledb), then the list page, a
# link download's queries and one safe's journal verification measured there, their plans
# in var/scaledb/plans.txt. About 20 GB of disk and half an hour on two cores; PostgreSQL
# is stopped at the end and the data kept for --measure-only; 'scaledb.sh clean' removes it.
export COFFRE_VAR=${COFFRE_VAR:-$(cd "$(dirname "$0")/.." && pwd)/var/scaledb}
export COFFRE_PG_PORT=${COFFRE_PG_PORT:-56632}
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
if [ "${1:-}" = clean ]; then
	scripts/postgres.sh stop
	rm -rf "$VAR"
	exit 0
fi
scripts/postgres.sh start
trap 'scripts/postgres.sh stop' EXIT
# A server sized like a production one on this machine (24 GB): 2 GB of shared buffers.
psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -qc "ALTER SYSTEM SET shared_buffers = '2GB'" \
	-c "ALTER SYSTEM SET max_wal_size = '2GB'" -c "ALTER SYSTEM SET checkpoint_timeout = '30min'"
scripts/postgres.sh stop && scripts/postgres.sh start
export COFFRE_DATABASE_URL=$(scripts/postgres.sh url coffre)
export COFFRE_MASTER_KEY_FILE=$VAR/keys/master.key COFFRE_SIGNING_KEY_FILE=$VAR/keys/signing.key
export COFFRE_BLOB_DIR=$VAR/blobs COFFRE_S3_ENDPOINT=
mkdir -p "$VAR/bin"
go build -o "$VAR/bin/coffre" ./cmd/coffre
go build -o "$VAR/bin/scaledb" ./cmd/scaledb
[ -f "$COFFRE_MASTER_KEY_FILE" ] || "$VAR/bin/coffre" keys init >/dev/null
"$VAR/bin/coffre" migrate >/dev/null
"$VAR/bin/scaledb" --database-url "$COFFRE_DATABASE_URL" --master-key-file "$COFFRE_MASTER_KEY_FILE" \
	--blob-dir "$COFFRE_BLOB_DIR" --pg-log "$PG_DATA/server.log" --plans "$VAR/plans.txt" "$@"
