#!/usr/bin/env bash
# browser.sh — makes sure a headless Chromium is installed for the end-to-end page tests
# (web/e2e_test.go). Idempotent: does nothing when /usr/bin/chromium is already there.
. "$(dirname "$0")/lib.sh"
if [ -x /usr/bin/chromium ]; then
	exit 0
fi
log "installing chromium (Debian package) for the browser tests"
apt_install --no-install-recommends chromium fonts-dejavu-core
