package web

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"testing"
)

// TestCatalogueKeysOnce: a key written twice in a language file is a merge gone wrong —
// encoding/json keeps the last text silently, and the first is lost with no one noticing.
func TestCatalogueKeysOnce(t *testing.T) {
	files, err := fs.Glob(catalogueFiles, "i18n/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no catalogue: %v", err)
	}
	for _, name := range files {
		b, err := catalogueFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("%s: not one JSON object", name)
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			key, _ := tok.(string)
			if seen[key] {
				t.Errorf("%s: key %q written twice", name, key)
			}
			seen[key] = true
			var text string
			if err := dec.Decode(&text); err != nil {
				t.Fatalf("%s: %s: %v", name, key, err)
			}
		}
	}
}
