#!/usr/bin/env bash
# mailpit.sh start|stop|status|build — a private mail server for development and tests.
# Mailpit takes mail on an SMTP port and shows it through an HTTP API (and a web page),
# both on loopback only; it keeps messages in a temporary file. The binary is built once with
# 'go install' at a pinned version and cached outside the clone.
# Idempotent: start does nothing when our Mailpit already answers; stop kills the PID we recorded.
. "$(dirname "$0")/lib.sh"

build() {
	[ -x "$MAILPIT_BIN" ] && return
	log "building Mailpit $MAILPIT_VERSION (once; cached in $(dirname "$MAILPIT_BIN"))"
	mkdir -p "$(dirname "$MAILPIT_BIN")"
	GOBIN=$(dirname "$MAILPIT_BIN") GOFLAGS=-mod=mod go install "github.com/axllent/mailpit@$MAILPIT_VERSION"
}

alive() { curl -fsS -o /dev/null "http://127.0.0.1:$MAILPIT_HTTP_PORT/api/v1/info" 2>/dev/null; }
ours() { [ -f "$MAILPIT_PID" ] && kill -0 "$(cat "$MAILPIT_PID")" 2>/dev/null; }

case "${1:-}" in
build)
	build
	;;
start)
	build
	mkdir -p "$VAR"
	if ours && alive; then
		log "Mailpit already running on 127.0.0.1:$MAILPIT_SMTP_PORT"
		exit 0
	fi
	if alive; then
		echo "coffre-scripts: error: something else answers on 127.0.0.1:$MAILPIT_HTTP_PORT; set COFFRE_MAILPIT_HTTP_PORT" >&2
		exit 1
	fi
	# --smtp-auth-accept-any with --smtp-auth-allow-insecure: the tests sign in with a user
	# and password over plain SMTP on loopback, as Coffre does with a relay that asks for it.
	nohup "$MAILPIT_BIN" --listen "127.0.0.1:$MAILPIT_HTTP_PORT" --smtp "127.0.0.1:$MAILPIT_SMTP_PORT" \
		--smtp-auth-accept-any --smtp-auth-allow-insecure --disable-version-check \
		>"$VAR/mailpit.log" 2>&1 &
	echo $! >"$MAILPIT_PID"
	for _ in $(seq 1 100); do
		alive && { log "Mailpit started: SMTP 127.0.0.1:$MAILPIT_SMTP_PORT, API http://127.0.0.1:$MAILPIT_HTTP_PORT"; exit 0; }
		ours || break
		sleep 0.2
	done
	echo "coffre-scripts: error: Mailpit did not start; see $VAR/mailpit.log" >&2
	exit 1
	;;
stop)
	if ours; then
		pid=$(cat "$MAILPIT_PID")
		kill "$pid"
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		log "Mailpit stopped"
	fi
	rm -f "$MAILPIT_PID"
	;;
smtp)
	echo "127.0.0.1:$MAILPIT_SMTP_PORT"
	;;
api)
	echo "http://127.0.0.1:$MAILPIT_HTTP_PORT"
	;;
status)
	ours && alive
	;;
*)
	echo "usage: $0 start|stop|status|build|smtp|api" >&2
	exit 2
	;;
esac
