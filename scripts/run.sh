#!/usr/bin/env bash
# run.sh — everything a developer needs to see Coffre running locally:
# PostgreSQL, MinIO, keys, migrations, a demo account, then the server in the foreground.
. "$(dirname "$0")/services.sh"
cd "$ROOT"
"$ROOT/scripts/deps.sh"
services_up
export COFFRE_DATABASE_URL=${COFFRE_DATABASE_URL:-$("$ROOT/scripts/postgres.sh" url coffre)}
export COFFRE_S3_BUCKET=${COFFRE_S3_BUCKET:-coffre}
export COFFRE_MASTER_KEY_FILE=${COFFRE_MASTER_KEY_FILE:-$VAR/keys/master.key}
export COFFRE_SIGNING_KEY_FILE=${COFFRE_SIGNING_KEY_FILE:-$VAR/keys/signing.key}
export COFFRE_LISTEN=${COFFRE_LISTEN:-127.0.0.1:8080}
# Passkeys need a host name, not an address: the browser is sent to localhost.
export COFFRE_BASE_URL=${COFFRE_BASE_URL:-http://localhost:${COFFRE_LISTEN##*:}}
mkdir -p "$VAR/bin"
"$ROOT/scripts/assets.sh"
"$ROOT/scripts/ocr.sh"
go build -o "$VAR/bin/coffre" ./cmd/coffre
coffre="$VAR/bin/coffre"
[ -f "$COFFRE_MASTER_KEY_FILE" ] || "$coffre" keys init
"$coffre" migrate
echo "coffre de démonstration" | "$coffre" owners create --login demo --secret-stdin --if-absent
echo
echo "  Coffre: $COFFRE_BASE_URL/  (demo account: demo / coffre de démonstration; Ctrl-C stops everything)"
echo "  E-mails to owners: http://127.0.0.1:$MAILPIT_HTTP_PORT/  (Mailpit)"
echo
"$coffre" serve
