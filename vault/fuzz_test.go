package vault

import (
	"bytes"
	"testing"
)

// FuzzOpenSealed feeds arbitrary bytes to the metadata decoder: it must never panic and
// must refuse everything it did not seal itself.
func FuzzOpenSealed(f *testing.F) {
	key := bytes.Repeat([]byte{9}, 32)
	good, err := seal(key, []byte("Avis d'imposition 2025"), "title:a:b")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, sealed []byte) {
		// Only values sealed with this key and place open (the fuzzing workers each seal
		// their own seed, with a fresh nonce, so compare plaintexts, not ciphertexts).
		pt, err := open(key, sealed, "title:a:b")
		if err == nil && string(pt) != "Avis d'imposition 2025" {
			t.Fatalf("opened a value it did not seal: %q", pt)
		}
	})
}

// FuzzParseKeyring: a malformed key file is an error, never a panic or an empty keyring
// that would let the vault start.
func FuzzParseKeyring(f *testing.F) {
	f.Add("# comment\nAGE-SECRET-KEY-1QGN768HAM3H3SDL9WRZZYNP9JESEMEQFLFSJYLZE5A52U55WM2GQH8PMPW\n")
	f.Add("")
	f.Add("AGE-SECRET-KEY-1")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKeyring(bytes.NewReader([]byte(s)))
		if err == nil && k.Current() == "" {
			t.Fatal("parsed a keyring with no key")
		}
	})
}
