package seal

import (
	"crypto/ed25519"
	"path/filepath"
	"testing"

	"github.com/tink-crypto/tink-go/v2/signature"
)

// R-D3: audit checkpoints are signed so that tampering is detectable by a
// witness with nothing but the raw public key and a standard Ed25519 library.
func TestSigner(t *testing.T) {
	path := filepath.Join(t.TempDir(), SigningKeyFile)
	s, err := OpenSigner(path)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("checkpoint 1024 a3f5...")
	sig, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	pub := s.PublicKey()
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		t.Fatalf("public key %d bytes, signature %d bytes", len(pub), len(sig))
	}
	// A witness: only the standard library and the raw key.
	if !ed25519.Verify(ed25519.PublicKey(append([]byte(nil), pub...)), msg, sig) {
		t.Error("crypto/ed25519 rejects the signature")
	}
	if !VerifySignature(pub, msg, sig) {
		t.Error("VerifySignature rejects the signature")
	}
	// tink agrees, from the public half of the stored keyset.
	h, _, err := readKeysetFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := h.Public()
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.NewVerifier(ph)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(sig, msg); err != nil {
		t.Errorf("tink verifier: %v", err)
	}

	bad := append([]byte(nil), sig...)
	bad[0] ^= 1
	for name, c := range map[string][3][]byte{
		"tampered message":   {pub, []byte("checkpoint 1025 a3f5..."), sig},
		"tampered signature": {pub, msg, bad},
		"short signature":    {pub, msg, sig[:63]},
		"short key":          {pub[:31], msg, sig},
	} {
		if VerifySignature(c[0], c[1], c[2]) {
			t.Errorf("%s: verified", name)
		}
	}

	if id := s.KeyID(); len(id) != 16 {
		t.Errorf("KeyID = %q, want 16 hex chars", id)
	}
	pub[0] ^= 1 // PublicKey returns a copy
	if !VerifySignature(s.PublicKey(), msg, sig) {
		t.Error("caller could modify the signer's public key")
	}
}
