package sharing

import (
	"bytes"
	"image/png"
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
