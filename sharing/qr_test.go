package sharing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// The one QR code of the service reads back as what it was given, 8 pixels a module.
func TestQRCode(t *testing.T) {
	for _, text := range []string{
		"https://coffre.example.fr/p/Yx3kq9Zr2mWcT8vN4bLh",
		"otpauth://totp/Coffre:agent%40ccas.fr?secret=JBSWY3DPEHPK3PXP&issuer=Coffre",
	} {
		b, err := QRCode(text)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if w := img.Bounds().Dx(); w%8 != 0 || w < 21*8 {
			t.Errorf("%d pixels wide, want 8 a module", w)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		got, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.GetText() != text {
			t.Errorf("reads %q, want %q", got.GetText(), text)
		}
	}
}

// TestReceiptFitsItsCard: with a real signed statement and every scope (the longest
// French text), the A6 receipt is one page in French, its code included, and one more
// for a translation; printed at 150 dpi, the code reads back as the statement.
func TestReceiptFitsItsCard(t *testing.T) {
	t.Parallel()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m := testMandate()
	jws, _, err := MandateReceipt(key, m)
	if err != nil {
		t.Fatal(err)
	}
	const verify = "https://coffre.example.fr/mandat/verifier"
	dir := t.TempDir()
	for _, c := range []struct {
		lang  string
		pages int
	}{{"fr", 1}, {"uk", 2}, {"ar", 2}, {"ps", 2}, {"ro", 2}} {
		var buf bytes.Buffer
		if err := MandateReceiptPDF(&buf, MandateReceiptDoc{Mandate: m, JWS: jws, VerifyURL: verify, Lang: c.lang}, A6); err != nil {
			t.Fatal(err)
		}
		if n := pages(buf.Bytes()); n != c.pages {
			t.Errorf("%s: %d A6 pages, want %d", c.lang, n, c.pages)
		}
		if c.lang != "fr" {
			continue
		}
		f := filepath.Join(dir, "receipt.pdf")
		if err := os.WriteFile(f, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("pdftoppm", "-r", "300", "-f", "1", "-l", "1", "-png", "-singlefile", f, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm (poppler-utils, installed by scripts/deps.sh): %v: %s", err, out)
		}
		// zbar reads the page as a phone's reader would: gozxing's detector misses about
		// 3 % of codes of this size (version 21) even drawn perfectly, which it reads when
		// told where the code is.
		out, err := exec.Command("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", filepath.Join(dir, "page.png")).Output()
		if err != nil {
			t.Fatalf("the printed code does not read (zbarimg, from zbar-tools, installed by scripts/test.sh): %v", err)
		}
		got := strings.TrimSuffix(string(out), "\n")
		if got != verify+"?r="+jws {
			t.Errorf("the printed code reads %q", got)
		}
	}
}
