#!/usr/bin/env bash
# minio.sh start|stop|status|build — a private MinIO for development and tests.
# The binary is built once with 'go install' at a pinned version and cached outside the clone.
# Idempotent: start does nothing when our MinIO already answers; stop kills the PID we recorded.
. "$(dirname "$0")/lib.sh"

build() {
	[ -x "$MINIO_BIN" ] && return
	log "building MinIO $MINIO_VERSION (several minutes, once; cached in $(dirname "$MINIO_BIN"))"
	mkdir -p "$(dirname "$MINIO_BIN")"
	GOBIN=$(dirname "$MINIO_BIN") GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION"
}

alive() { curl -fsS -o /dev/null "http://127.0.0.1:$MINIO_PORT/minio/health/live" 2>/dev/null; }
ours() { [ -f "$MINIO_PID" ] && kill -0 "$(cat "$MINIO_PID")" 2>/dev/null; }

case "${1:-}" in
build)
	build
	;;
start)
	build
	mkdir -p "$MINIO_DATA"
	if ours && alive; then
		log "MinIO already running on 127.0.0.1:$MINIO_PORT"
		exit 0
	fi
	if alive; then
		echo "coffre-scripts: error: something else answers on 127.0.0.1:$MINIO_PORT; set COFFRE_MINIO_PORT" >&2
		exit 1
	fi
	# What MinIO deleted waits in its trash for a background sweep that a stop cuts short:
	# buckets of test runs piled up there to 31 GB on a developer's disk, until MinIO
	# refused writes. It is stopped here, so nothing is lost by emptying it.
	rm -rf "$MINIO_DATA"/.minio.sys/tmp/.trash "$MINIO_DATA"/d*/.minio.sys/tmp/.trash
	drives=("$MINIO_DATA")
	ci=()
	if [ "$MINIO_DRIVES" -gt 1 ]; then
		# Erasure coding over folders of one disk: MinIO refuses that unless MINIO_CI_CD
		# is set (it would otherwise wait for distinct drives forever).
		mkdir -p $(eval echo "$MINIO_DATA/d{1..$MINIO_DRIVES}")
		drives=("$MINIO_DATA/d{1...$MINIO_DRIVES}")
		ci=(MINIO_CI_CD=1)
	fi
	env MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASSWORD \
		MINIO_BROWSER=off MINIO_UPDATE=off "${ci[@]}" \
		nohup "$MINIO_BIN" server --quiet --address "127.0.0.1:$MINIO_PORT" \
		--console-address "127.0.0.1:$MINIO_CONSOLE_PORT" "${drives[@]}" >"$VAR/minio.log" 2>&1 &
	echo $! >"$MINIO_PID"
	for _ in $(seq 1 100); do
		alive && { log "MinIO started on 127.0.0.1:$MINIO_PORT"; exit 0; }
		ours || break
		sleep 0.2
	done
	echo "coffre-scripts: error: MinIO did not start; see $VAR/minio.log" >&2
	exit 1
	;;
stop)
	if ours; then
		pid=$(cat "$MINIO_PID")
		kill "$pid"
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		log "MinIO stopped"
	fi
	rm -f "$MINIO_PID"
	;;
status)
	ours && alive
	;;
*)
	echo "usage: $0 start|stop|status|build" >&2
	exit 2
	;;
esac
