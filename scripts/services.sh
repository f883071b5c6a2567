# Starts PostgreSQL, MinIO and Mailpit, remembers which of them this script started, and
# stops only those on exit: a 'make test' next to a running 'make run' leaves it alone. Sourced.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STARTED=()
services_up() {
	"$ROOT/scripts/postgres.sh" status || STARTED+=(postgres)
	"$ROOT/scripts/postgres.sh" start
	"$ROOT/scripts/minio.sh" status || STARTED+=(minio)
	"$ROOT/scripts/minio.sh" start
	"$ROOT/scripts/mailpit.sh" status || STARTED+=(mailpit)
	"$ROOT/scripts/mailpit.sh" start
	trap services_down EXIT
	trap 'exit 130' INT TERM
}
services_down() {
	local s
	for s in "${STARTED[@]}"; do "$ROOT/scripts/$s.sh" stop || true; done
}

export COFFRE_S3_ENDPOINT=127.0.0.1:$MINIO_PORT
export COFFRE_S3_ACCESS_KEY=$MINIO_USER
export COFFRE_S3_SECRET_KEY=$MINIO_PASSWORD
export COFFRE_S3_TLS=false
# The owners' e-mail messages go to the local Mailpit, whose page shows them.
export COFFRE_SMTP_ADDR=${COFFRE_SMTP_ADDR:-127.0.0.1:$MAILPIT_SMTP_PORT}
export COFFRE_SMTP_FROM=${COFFRE_SMTP_FROM:-"Coffre <ne-pas-repondre@coffre.localhost>"}
