package sharing

import (
	"crypto/ed25519"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// signJWS signs payload with the service's Ed25519 key as a compact JWS (EdDSA) of type
// typ: delivery receipts and mandate receipts share it.
func signJWS(key ed25519.PrivateKey, typ string, payload []byte) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

// verifyJWS checks a compact JWS from signJWS with the service's public key and returns
// its payload. The type must be typ: a mandate receipt never passes for a delivery
// receipt, though the same key signs both.
func verifyJWS(compact string, pub ed25519.PublicKey, typ string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 || jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType] != typ {
		return nil, fmt.Errorf("not a %s", typ)
	}
	return jws.Verify(pub)
}
