package vault

import (
	"bytes"
	"errors"
	"testing"

	"filippo.io/age"
)

func TestCiphertextSize(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{0, 1, ageChunk - 1, ageChunk, ageChunk + 1, 2 * ageChunk, 5*ageChunk + 7} {
		var b bytes.Buffer
		if err := encrypt(&b, id.Recipient(), bytes.NewReader(make([]byte, n))); err != nil {
			t.Fatal(err)
		}
		if got := ciphertextSize(n); got != int64(b.Len()) {
			t.Errorf("ciphertextSize(%d) = %d, age wrote %d", n, got, b.Len())
		}
	}
}

func TestSealBindsPlace(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	sealed, err := seal(key, []byte("Avis d'imposition"), "title:a:b")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := open(key, sealed, "title:a:b"); err != nil || string(got) != "Avis d'imposition" {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := open(key, sealed, "title:a:c"); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("sealed value moved to another document opened: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := open(key, sealed, "title:a:b"); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("altered sealed value opened: %v", err)
	}
	if _, err := open(key, []byte{1, 2}, "x"); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("short sealed value: %v", err)
	}
}
