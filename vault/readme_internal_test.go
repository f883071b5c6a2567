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
	// The copy is dated in the owner's time when it is given, in UTC, said so, when not.
	at := time.Date(2027, 3, 12, 20, 44, 0, 0, time.UTC)
	reunion, _ := time.LoadLocation("Indian/Reunion")
	for _, c := range []struct {
		zone *time.Location
		name string
		want string
	}{
		{nil, "", "faite le 12/03/2027 à 20:44 (heure UTC)."},
		{reunion, "La Réunion", "faite le 13/03/2027 à 00:44 (heure de La Réunion)."},
	} {
		var b bytes.Buffer
		if err := writeReadme(&b, &snapshot{at: at, headHash: make([]byte, 32), zone: c.zone, zoneName: c.name}, &ExportSummary{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("LISEZMOI.txt in %q: want %q:\n%.300s", c.name, c.want, b.String())
		}
	}
	for _, f := range i18n.FrenchSpaceFaults(ErrShortPassphrase.Error()) {
		t.Errorf("ErrShortPassphrase: %s: %q", f, ErrShortPassphrase.Error())
	}
}
