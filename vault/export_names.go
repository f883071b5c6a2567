package vault

import (
	_ "embed" // the manifest's JSON Schema
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

// nameEntries gives each document its directory and each blob its entry name, all built
// from sanitised parts: nothing a title holds can climb out of documents/.
func nameEntries(docs []exportDoc) {
	used := make(map[string]bool, len(docs))
	for i := range docs {
		d := &docs[i]
		date := d.CreatedAt.UTC().Format(time.DateOnly)
		if d.IssuedOn != nil {
			date = d.IssuedOn.UTC().Format(time.DateOnly)
		}
		id := strings.ReplaceAll(d.ID.String(), "-", "")
		base := "documents/" + SafeFileName(string(d.Kind)) + "/" + date + "_" + SafeFileName(d.Title) + "_"
		d.dir = base + id[:8]
		if used[strings.ToLower(d.dir)] { // two IDs with the same first 8 digits: use all of it
			d.dir = base + id
		}
		used[strings.ToLower(d.dir)] = true
		d.paths = make([]string, len(d.Blobs))
		for j, b := range d.Blobs {
			d.paths[j] = d.dir + "/" + string(b.Role) + "-" + strconv.Itoa(b.Position+1) + "." + extension(b)
		}
	}
}

// extension picks a file extension from the media type, or else from the original name.
func extension(b Blob) string {
	mt, _, _ := strings.Cut(strings.ToLower(b.MediaType), ";")
	switch strings.TrimSpace(mt) {
	case "application/pdf":
		return "pdf"
	case "image/jpeg":
		return "jpg"
	case "image/png":
		return "png"
	case "image/webp":
		return "webp"
	case "image/heic", "image/heif":
		return "heic"
	case "image/tiff":
		return "tif"
	case "image/gif":
		return "gif"
	case "text/plain":
		return "txt"
	}
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(b.Name, `\`, "/")))
	ext = strings.TrimPrefix(ext, ".")
	if ext == "" || len(ext) > 8 || strings.IndexFunc(ext, func(r rune) bool { return !('a' <= r && r <= 'z' || '0' <= r && r <= '9') }) >= 0 {
		return "bin"
	}
	return ext
}

// compressible tells whether a blob gains from Deflate: JPEG, PDF and the like are
// compressed already, and storing them keeps the export at the speed of the network.
func compressible(mediaType string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(mediaType), ";")
	mt = strings.TrimSpace(mt)
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/xml" || mt == "image/svg+xml"
}

const maxNameBytes = 80

// SafeFileName turns untrusted text (a document title, an original file name) into one
// file-name component that is safe on every common system and in a ZIP entry: valid UTF-8
// in NFC; no control or formatting characters, path separators, ".." or characters
// Windows refuses (<>:"|?*); no leading dot, dash or space, no trailing dot or space; not a
// Windows device name (CON, NUL, COM1…); at most 80 bytes, cut on a character boundary;
// never empty. Spaces are kept, so that names stay readable.
func SafeFileName(s string) string {
	s = norm.NFC.String(strings.ToValidUTF8(s, "_"))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '/' || r == '\\' || strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || !unicode.IsPrint(r) && !unicode.IsMark(r):
			// dropped: invisible characters (bidi overrides, zero-width…) can disguise a name
		default:
			b.WriteRune(r)
		}
	}
	s = b.String()
	for {
		prev := s
		for strings.Contains(s, "  ") {
			s = strings.ReplaceAll(s, "  ", " ")
		}
		for strings.Contains(s, "..") {
			s = strings.ReplaceAll(s, "..", ".")
		}
		s = strings.TrimLeft(s, ". -")
		s = strings.TrimRight(s, ". ")
		if len(s) > maxNameBytes {
			cut := maxNameBytes
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			s = s[:cut]
		}
		// Dropping characters can bring a base letter and a combining mark together.
		s = norm.NFC.String(s)
		if s == prev {
			break
		}
	}
	if s == "" {
		return "sans titre"
	}
	if windowsReserved(s) {
		s = "_" + s
	}
	return s
}

func windowsReserved(s string) bool {
	base, _, _ := strings.Cut(s, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && '0' <= base[3] && base[3] <= '9' {
		return true
	}
	if (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && strings.ContainsAny(base[3:], "¹²³") && utf8.RuneCountInString(base) == 4 {
		return true
	}
	return false
}
