#!/usr/bin/env bash
# lint.sh [golangci-lint run flags] — the checks of .golangci.yml over Coffre's packages,
# and go.mod kept tidy. golangci-lint is pinned: it is built once with 'go install' and
# cached outside the clone, keyed by its version (like MinIO), so that a fresh clone, CI's
# included, reuses it.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/deps.sh" # cgo: ingest links libheif and libjpeg-turbo, which the linter type-checks
if [ ! -x "$GOLANGCI_LINT_BIN" ]; then
	log "building golangci-lint $GOLANGCI_LINT_VERSION (a few minutes, once; cached in $(dirname "$GOLANGCI_LINT_BIN"))"
	mkdir -p "$(dirname "$GOLANGCI_LINT_BIN")"
	GOBIN=$(dirname "$GOLANGCI_LINT_BIN") GOFLAGS=-mod=mod \
		go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
fi
# A requirement marked '// indirect' that the code imports, or one no longer used, fails here.
if ! go mod tidy -diff >/dev/null; then
	echo "coffre-scripts: error: go.mod or go.sum is not tidy; run 'go mod tidy' (go mod tidy -diff shows what)" >&2
	exit 1
fi
# The packages by their roots, not ./...: var/ holds the running PostgreSQL's files.
"$GOLANGCI_LINT_BIN" run --allow-parallel-runners "$@" ./cmd/... ./ingest/... ./migrations/... ./sharing/... ./vault/... ./web/...
