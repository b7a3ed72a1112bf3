package seal

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/keyset"
	tinked25519 "github.com/tink-crypto/tink-go/v2/signature/ed25519"
)

// Signer signs audit checkpoints with an Ed25519 key. It is safe for
// concurrent use.
//
// The key is kept as a tink signature keyset (auditsign.json) holding one
// Ed25519 private key with the RAW prefix, rather than as a PKCS#8 PEM file,
// so that all of Custos's keys share one file format, one loader, one
// permission check and one future path to keysets encrypted by a KMS. The
// RAW prefix matters for witnesses: signatures are plain 64-byte RFC 8032
// Ed25519 signatures over the message itself (tink's TINK prefix would
// prepend five bytes, and its LEGACY variant would sign message||0x00), so
// anyone holding the 32-byte public key (PublicKey, published alongside
// KeyID) verifies them with any Ed25519 library, Go's crypto/ed25519, OpenSSL
// or libsodium, without tink.
type Signer struct {
	priv  ed25519.PrivateKey
	pub   ed25519.PublicKey
	keyID string
}

// OpenSigner opens the signing keyset at path, creating it (mode 0600) with a
// fresh key on first use.
func OpenSigner(path string) (*Signer, error) {
	h, _, err := openKeysetFile(path, newSigningHandle, func(h *keyset.Handle) error {
		_, err := primarySigningKey(h)
		return err
	})
	if err != nil {
		return nil, err
	}
	k, err := primarySigningKey(h)
	if err != nil {
		return nil, err
	}
	priv := ed25519.NewKeyFromSeed(k.PrivateKeyBytes().Data(insecuresecretdataaccess.Token{}))
	pub := priv.Public().(ed25519.PublicKey)
	pk, err := k.PublicKey()
	if err != nil {
		return nil, err
	}
	if !pub.Equal(ed25519.PublicKey(pk.(*tinked25519.PublicKey).KeyBytes())) {
		return nil, fmt.Errorf("seal: key file %s: public key does not match the private key", path)
	}
	return newSigner(priv), nil
}

// NewSigner wraps an existing Ed25519 private key; for tools and for tests of
// other packages.
func NewSigner(priv ed25519.PrivateKey) *Signer {
	return newSigner(append(ed25519.PrivateKey(nil), priv...))
}

func newSigner(priv ed25519.PrivateKey) *Signer {
	pub := priv.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return &Signer{priv: priv, pub: pub, keyID: hex.EncodeToString(sum[:8])}
}

func newSigningHandle() (*keyset.Handle, error) {
	p, err := tinked25519.NewParameters(tinked25519.VariantNoPrefix)
	if err != nil {
		return nil, err
	}
	m := keyset.NewManager()
	id, err := m.AddNewKeyFromParameters(&p)
	if err != nil {
		return nil, err
	}
	if err := m.SetPrimary(id); err != nil {
		return nil, err
	}
	return m.Handle()
}

func primarySigningKey(h *keyset.Handle) (*tinked25519.PrivateKey, error) {
	e, err := h.Primary()
	if err != nil {
		return nil, fmt.Errorf("keyset has no primary key: %w", err)
	}
	k, ok := e.Key().(*tinked25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("primary key is %T, want an Ed25519 private key", e.Key())
	}
	if v := k.Parameters().(*tinked25519.Parameters).Variant(); v != tinked25519.VariantNoPrefix {
		return nil, fmt.Errorf("Ed25519 key has the %s variant, want RAW (no prefix) so that signatures are plain Ed25519", v)
	}
	return k, nil
}

// Sign returns the 64-byte Ed25519 signature of msg.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, msg), nil
}

// PublicKey returns the raw 32-byte public key a witness needs.
func (s *Signer) PublicKey() ed25519.PublicKey {
	return append(ed25519.PublicKey(nil), s.pub...)
}

// KeyID is a short stable name for the key: the first 8 bytes of
// SHA-256(public key), in hex. Checkpoints record it so that a verifier
// knows which published key to use after the key is replaced.
func (s *Signer) KeyID() string { return s.keyID }

// VerifySignature reports whether sig is a valid Ed25519 signature of msg
// under pub. A malformed key or signature is simply invalid.
func VerifySignature(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(pub, msg, sig)
}
