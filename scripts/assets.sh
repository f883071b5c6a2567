#!/usr/bin/env bash
# assets.sh — fetches the front-end packages (web/package.json: the French State design
# system and axe-core for the tests) and copies into web/static/vendor/ only the files the
# pages use; the Go binary embeds that folder and bundles it at start (web/assets.go).
# Idempotent: npm runs only when node_modules is missing or older than the lock file.
. "$(dirname "$0")/lib.sh"
WEB=$ROOT/web
DSFR=$WEB/node_modules/@gouvfr/dsfr/dist
OUT=$WEB/static/vendor
stamp=$WEB/node_modules/.coffre-installed
if ! command -v npm >/dev/null; then
	log "installing Node.js and npm (Debian packages) to fetch the design system"
	apt_install nodejs npm
fi
if [ ! -f "$stamp" ] || [ "$WEB/package-lock.json" -nt "$stamp" ] || [ "$WEB/package.json" -nt "$stamp" ]; then
	log "installing front-end packages (npm)"
	# --ignore-scripts: the DSFR's preinstall script only suits projects built with its own
	# tooling; we use its compiled files as they are.
	if [ -f "$WEB/package-lock.json" ]; then
		(cd "$WEB" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
	else
		(cd "$WEB" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
	fi
	touch "$stamp"
fi

# The components the pages use, in cascade order after the core.
components="skiplink link button form input radio checkbox select alert badge card table header footer connect"
# Icons shown in the pages (web/templates use {{icon "name"}}).
icons="map/passport-line map/earth-line buildings/home-4-line finance/money-euro-circle-line
buildings/government-line business/briefcase-line health/heart-pulse-line user/parent-line
buildings/building-line buildings/bank-line document/file-text-line media/camera-line
business/printer-line system/download-line system/delete-bin-line design/edit-line
system/time-line user/user-line system/question-line system/lock-line system/logout-box-r-line
system/eye-line system/add-line document/folder-2-line system/alert-line
system/error-warning-line document/file-add-line user/account-circle-line business/calendar-line
system/checkbox-circle-line arrows/arrow-left-line device/fingerprint-line
system/share-line business/links-line business/mail-line communication/message-2-line
device/qr-code-line document/clipboard-line system/close-circle-line"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/css" "$tmp/fonts" "$tmp/icons"
cp "$DSFR/core/core.main.min.css" "$tmp/css/00-core.css"
i=1
for c in $components; do
	cp "$DSFR/component/$c/$c.main.min.css" "$tmp/css/$(printf %02d $i)-$c.css"
	i=$((i + 1))
done
cp "$DSFR/fonts/Marianne-Regular.woff2" "$tmp/fonts/"
# Marianne has no Arabic letters: the pages in Arabic, Dari and Pashto draw them with Noto
# Sans Arabic (SIL Open Font License), its Arabic-script part only (49 KB), which the
# browser fetches only for a page that has such letters in that font's place (app.css).
cp "$WEB/node_modules/@fontsource/noto-sans-arabic/files/noto-sans-arabic-arabic-400-normal.woff2" "$tmp/fonts/NotoSansArabic-Regular.woff2"
cp "$WEB/node_modules/@fontsource/noto-sans-arabic/LICENSE" "$tmp/fonts/LICENSE-noto.txt"
# Every icon the copied CSS refers to, plus the pages' own.
refs=$(grep -ho 'icons/[a-z]*/[a-z0-9-]*\.svg' "$tmp"/css/*.css | sed 's/^icons\///; s/\.svg$//' | sort -u)
for ic in $icons $refs; do
	[ -f "$DSFR/icons/$ic.svg" ] || continue
	mkdir -p "$tmp/icons/$(dirname "$ic")"
	cp "$DSFR/icons/$ic.svg" "$tmp/icons/$ic.svg"
done
cp "$WEB/node_modules/@gouvfr/dsfr/LICENSE.md" "$tmp/LICENSE-dsfr.md"

# Replace the vendor folder only when something changed, so that go build caches hold.
if ! diff -rq "$tmp" "$OUT" -x README >/dev/null 2>&1; then
	find "$OUT" -mindepth 1 ! -name README -exec rm -rf {} + 2>/dev/null || true
	mkdir -p "$OUT"
	cp -r "$tmp"/. "$OUT"/
fi
