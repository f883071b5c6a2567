package vault

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"coffre/vault/i18n"
)

// TestReadmeFrenchSpaces: the export's LISEZMOI.txt and the passphrase's sentence are
// French written outside the catalogue, spaced as it is (i18n.FrenchSpaceFaults): a « : »
// or a « ? » does not start a line in a narrow editor, « OK » stays whole.
func TestReadmeFrenchSpaces(t *testing.T) {
	for _, checkpoint := range []*ExportedCheckpoint{nil, {}} {
		s := &snapshot{at: time.Date(2027, 3, 12, 8, 44, 0, 0, time.UTC), headHash: make([]byte, 32), checkpoint: checkpoint}
		var b bytes.Buffer
		if err := writeReadme(&b, s, &ExportSummary{Documents: 3, Files: 5}); err != nil {
			t.Fatal(err)
		}
		text := b.String()
		if !strings.Contains(text, "Nombre de documents\u00a0: 3.") || !strings.Contains(text, "UNE QUESTION\u202f?") ||
			!strings.Contains(text, "«\u00a0OK\u00a0»") || strings.Contains(text, "journal-checkpoint.json") != (checkpoint != nil) {
			t.Errorf("LISEZMOI.txt (checkpoint %v):\n%s", checkpoint != nil, text)
		}
		for i, line := range strings.Split(text, "\r\n") {
			for _, f := range i18n.FrenchSpaceFaults(line) {
				t.Errorf("LISEZMOI.txt line %d: %s: %q", i+1, f, line)
			}
		}
	}
	for _, f := range i18n.FrenchSpaceFaults(ErrShortPassphrase.Error()) {
		t.Errorf("ErrShortPassphrase: %s: %q", f, ErrShortPassphrase.Error())
	}
}
