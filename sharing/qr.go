package sharing

import (
	"bytes"
	"fmt"
	"image/png"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

// QRCode draws text (a share link, an access card's sign-in address, a receipt's
// verification address, an authenticator's enrolment) as a PNG QR code: medium error
// correction, since a printed card gets creased and a phone's screen cracked, and 8
// pixels a module, enough for a counter's phone to read it from a screen. Pages show
// it, the access card and the receipt print it (aidant_pdf.go).
func QRCode(text string) ([]byte, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("sharing: qr code: %w", err)
	}
	n := code.Bounds().Dx() * 8
	if code, err = barcode.Scale(code, n, n); err != nil {
		return nil, fmt.Errorf("sharing: qr code: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, code); err != nil {
		return nil, fmt.Errorf("sharing: qr code: %w", err)
	}
	return b.Bytes(), nil
}
