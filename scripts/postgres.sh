#!/usr/bin/env bash
# postgres.sh start|stop|status|url — a private PostgreSQL for development and tests.
# Idempotent: start does nothing when it is already running; stop uses the postmaster's PID.
. "$(dirname "$0")/lib.sh"

pgbin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
	return 1
}

install_postgres() {
	log "installing PostgreSQL from Debian packages"
	apt_install postgresql
}

# PostgreSQL refuses to run as root: as root we run it as the 'postgres' system user.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

running() { [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

BIN=$(pgbin || true)
case "${1:-}" in
start)
	[ -n "$BIN" ] || { install_postgres; BIN=$(pgbin); }
	mkdir -p "$VAR" "$PG_SOCK"
	# As root, the server runs as 'postgres', which must be able to reach var/: a clone in
	# a private folder (mktemp -d is mode 0700) gets the search bit, and nothing more, on
	# the folders above var/ that lack it.
	if [ "$(id -u)" -eq 0 ]; then
		d=$VAR
		while [ "$d" != "/" ]; do
			runuser -u postgres -- test -x "$d" 2>/dev/null || { chmod o+x "$d"; log "gave the search permission on $d to PostgreSQL"; }
			d=$(dirname "$d")
		done
	fi
	if [ ! -f "$PG_DATA/PG_VERSION" ]; then
		mkdir -p "$PG_DATA"
		[ "$(id -u)" -eq 0 ] && chown postgres "$PG_DATA" "$PG_SOCK"
		chmod 700 "$PG_DATA"
		as_pg "$BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
	fi
	[ "$(id -u)" -eq 0 ] && chown postgres "$PG_SOCK"
	if running; then
		log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
	else
		# fsync stays on: tests and benchmarks measure what production does.
		as_pg "$BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start \
			-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_SOCK -c max_connections=200" >/dev/null
		log "PostgreSQL started on 127.0.0.1:$PG_PORT"
	fi
	"$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname='coffre'" | grep -q 1 ||
		"$BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" coffre
	;;
stop)
	if [ -n "$BIN" ] && running; then
		as_pg "$BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
		log "PostgreSQL stopped"
	fi
	;;
status)
	[ -n "$BIN" ] && running
	;;
url)
	echo "postgres://$PG_USER@127.0.0.1:$PG_PORT/${2:-coffre}?sslmode=disable"
	;;
*)
	echo "usage: $0 start|stop|status|url [database]" >&2
	exit 2
	;;
esac
