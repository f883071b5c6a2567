#!/usr/bin/env bash
# ocr.sh — makes sure Tesseract and its French data are installed for paper recognition
# (ingest/ocr.go runs `tesseract` as a bounded subprocess; the tests fail without it).
# Also installs the fonts that the generator of the evaluation papers draws with
# (go test ./ingest -run TestGeneratePapers -papers.generate).
# Idempotent: does nothing when everything is already there.
. "$(dirname "$0")/lib.sh"
missing=()
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
if ! tesseract --list-langs 2>/dev/null | grep -qx fra; then missing+=(tesseract-ocr-fra); fi
[ -f /usr/share/fonts/opentype/ocr-b/OCRBS.otf ] || missing+=(fonts-ocr-b)
[ -d /usr/share/fonts/truetype/liberation2 ] || missing+=(fonts-liberation2)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} = 0 ]; then
	exit 0
fi
log "installing ${missing[*]} (Debian packages) for paper recognition"
apt_install --no-install-recommends "${missing[@]}"
