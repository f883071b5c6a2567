# Shared settings for Coffre's local services. Sourced, not run.
# Everything lives under the project's ignored var/ folder and listens on loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=${COFFRE_VAR:-$ROOT/var}
CACHE=${COFFRE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/coffre}

# The go command walks the module's folders ('go mod tidy', './...'); PostgreSQL's files
# come and go under var/ while it runs, which makes that walk fail. A go.mod there makes
# var/ a module of its own, which the go command does not enter.
mkdir -p "$VAR"
[ -f "$VAR/go.mod" ] || printf 'module coffre/var // the local services data, not code\n' >"$VAR/go.mod"

PG_PORT=${COFFRE_PG_PORT:-55432}
PG_DATA=$VAR/postgres
PG_SOCK=$VAR/run
PG_USER=coffre

# MinIO is pinned: the build takes minutes, so the binary is cached outside the clone.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN=$CACHE/minio-$MINIO_VERSION/minio
MINIO_PORT=${COFFRE_MINIO_PORT:-59000}
MINIO_CONSOLE_PORT=${COFFRE_MINIO_CONSOLE_PORT:-59001}
MINIO_DATA=$VAR/minio
# COFFRE_MINIO_DRIVES=4 runs MinIO distributed and erasure-coded over four folders
# (var/minio/d1…d4), so that losing one drive is survivable, as in a real deployment
# (the load test); 1, the default, is the single-drive MinIO of 'make run' and 'make test'.
MINIO_DRIVES=${COFFRE_MINIO_DRIVES:-1}
MINIO_PID=$VAR/minio.pid
MINIO_USER=coffre-local
MINIO_PASSWORD=coffre-local-secret

# golangci-lint (scripts/lint.sh, .golangci.yml) is pinned and cached like MinIO: a newer
# version brings new findings, so it changes in a commit of its own, with their fixes.
GOLANGCI_LINT_VERSION=v2.15.0
GOLANGCI_LINT_BIN=$CACHE/golangci-lint-$GOLANGCI_LINT_VERSION/golangci-lint

# Mailpit is a local mail server with an HTTP API: the e-mail tests send through its SMTP
# port and read what arrived through its API. Pinned and cached like MinIO.
MAILPIT_VERSION=v1.33.1
MAILPIT_BIN=$CACHE/mailpit-$MAILPIT_VERSION/mailpit
MAILPIT_SMTP_PORT=${COFFRE_MAILPIT_SMTP_PORT:-51025}
MAILPIT_HTTP_PORT=${COFFRE_MAILPIT_HTTP_PORT:-58025}
MAILPIT_PID=$VAR/mailpit.pid

log() { echo "coffre-scripts: $*" >&2; }

# apt_install [--no-install-recommends] PKG... installs Debian packages. Another apt may
# hold its locks: a fresh machine's unattended upgrades, or a second of these scripts
# (make run beside make test). apt-get update does not wait for the lists' lock
# (DPkg::Lock::Timeout covers only dpkg's), so both steps are tried again while a lock is
# the reason, for up to ten minutes; any other failure stops at once.
apt_install() {
	apt_get update && apt_get install -y "$@"
}
apt_get() {
	local sudo= err i
	[ "$(id -u)" = 0 ] || sudo=sudo
	for i in $(seq 60); do
		if err=$($sudo env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=10 "$@" 2>&1 >/dev/null); then
			return 0
		fi
		case $err in
		*"Could not get lock"* | *"Unable to lock"* | *"Unable to acquire"*) [ "$i" = 1 ] && log "apt is busy (another install); waiting for it" ;;
		*) break ;;
		esac
		sleep 10
	done
	printf '%s\n' "$err" >&2
	return 1
}
