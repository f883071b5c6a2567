#!/usr/bin/env bash
# run.sh — everything a developer needs to see Coffre running locally:
# PostgreSQL, MinIO, keys, migrations, a demo account, then the server in the foreground.
. "$(dirname "$0")/services.sh"
cd "$ROOT"
services_up
export COFFRE_DATABASE_URL=${COFFRE_DATABASE_URL:-$("$ROOT/scripts/postgres.sh" url coffre)}
export COFFRE_S3_BUCKET=${COFFRE_S3_BUCKET:-coffre}
export COFFRE_MASTER_KEY_FILE=${COFFRE_MASTER_KEY_FILE:-$VAR/keys/master.key}
export COFFRE_SIGNING_KEY_FILE=${COFFRE_SIGNING_KEY_FILE:-$VAR/keys/signing.key}
export COFFRE_LISTEN=${COFFRE_LISTEN:-127.0.0.1:8080}
mkdir -p "$VAR/bin"
"$ROOT/scripts/assets.sh"
go build -o "$VAR/bin/coffre" ./cmd/coffre
coffre="$VAR/bin/coffre"
[ -f "$COFFRE_MASTER_KEY_FILE" ] || "$coffre" keys init
"$coffre" migrate
"$coffre" owners create --login demo --if-absent
echo
echo "  Coffre: http://$COFFRE_LISTEN/  (demo account: demo; Ctrl-C stops everything)"
echo
"$coffre" serve
