package sharing

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Watermarks: the person may have what a link or a téléservice receives marked with a
// text naming the recipient, the purpose and the date (« Transmis à l'agence Dupont le 3
// mars 2026 pour un dossier de location »), as the State recommends for copies of identity
// papers. The safe keeps the clean paper; the marking itself is done where the copy is
// sent (package web, with ingest.Watermark). The text is personal (it tells who the person
// deals with and why): it is sealed with the owner's data key, bound to its link or grant,
// and journaled sealed.

// maxWatermarkLen bounds the text, in characters (ingest.MaxWatermarkText).
const maxWatermarkLen = 160

func watermarkPlace(kind string, id uuid.UUID) string { return kind + "-watermark:" + id.String() }

// cleanWatermark trims the text and checks it: "" means no watermark.
func cleanWatermark(s string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxWatermarkLen {
		return "", fmt.Errorf("watermark longer than %d characters: %w", maxWatermarkLen, ErrInvalid)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return "", fmt.Errorf("watermark with a control character: %w", ErrInvalid)
		}
	}
	return s, nil
}

// WatermarkNote is what the journal keeps, sealed, of a copy given marked.
func WatermarkNote(text string) string {
	if text == "" {
		return ""
	}
	return "copie marquée « " + text + " »"
}
