#!/usr/bin/env bash
# deps.sh — makes sure the C libraries that the build links are installed
# (Debian packages), before anything runs go vet, go build or go test:
#   - libheif-dev: HEIC/HEIF photos are decoded by libheif (ingest/heif.go), the
#     library whose own tools define what a readable HEIF file is; libheif-examples
#     brings those tools (heif-convert, heif-enc), which the tests and benchmarks use;
#   - libturbojpeg0-dev: JPEG photos are decoded and pages encoded by libjpeg-turbo
#     (ingest/jpegturbo.go);
#   - gcc and libc6-dev: cgo compiles the two bindings;
#   - fonts-noto-core: Noto Sans and Noto Sans Arabic, the fonts of the translated pages
#     of the access card and the mandate receipt (sharing/pdffont.go; COFFRE_FONTS
#     points elsewhere); poppler-utils: pdftotext, with which the tests read them back.
# One decoder for each format, the same on every machine: the build fails without
# them rather than decode differently. Idempotent: does nothing when all is there.
. "$(dirname "$0")/lib.sh"
missing=()
for pkg in gcc libc6-dev libheif-dev libheif-examples libturbojpeg0-dev fonts-noto-core poppler-utils; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} = 0 ]; then
	exit 0
fi
log "installing ${missing[*]} (Debian packages) for the photo decoders and the printed pages"
apt_install --no-install-recommends "${missing[@]}"
