package seal

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"hash"
)

// RecordTagSize is the length of a record tag: HMAC-SHA256 truncated to
// 128 bits, as RFC 4868 truncates it, which is ample for a tag that an
// attacker must forge without the key and keeps a transaction row short.
const RecordTagSize = 16

// RecordMAC computes the tags that make the security-relevant columns of
// stored rows tamper-evident (R-D3): a customer's status, verification,
// sensitivity, classes, owner and unit, a transaction's amount, currency,
// time and direction. Its key (records.json) lives outside the database
// with the other keys, so someone who can only write the database cannot
// make a changed row verify. The store decides what a row's message is;
// this type only MACs it. It is safe for concurrent use.
type RecordMAC struct{ k *hmacKey }

// NewRecordMAC builds a RecordMAC from a raw 32-byte key; for tests and tools.
func NewRecordMAC(key []byte) (*RecordMAC, error) {
	if len(key) != 32 {
		return nil, errors.New("seal: the record key must be 32 bytes")
	}
	return &RecordMAC{k: newHMACKey(key)}, nil
}

// OpenRecordMAC opens (creating on first use, mode 0600) the tink MAC
// keyset of the record key.
func OpenRecordMAC(path string) (*RecordMAC, error) {
	k, err := openHMACKeyFile(path)
	if err != nil {
		return nil, err
	}
	return NewRecordMAC(k)
}

// MAC appends the RecordTagSize-byte tag of msg to dst.
func (m *RecordMAC) MAC(dst, msg []byte) []byte {
	h := m.k.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(msg)
	var sum [32]byte
	dst = append(dst, h.Sum(sum[:0])[:RecordTagSize]...)
	m.k.pool.Put(h)
	return dst
}

// Verify reports whether tag is msg's tag, in constant time.
func (m *RecordMAC) Verify(msg, tag []byte) bool {
	if len(tag) != RecordTagSize {
		return false
	}
	var b [RecordTagSize]byte
	return hmac.Equal(m.MAC(b[:0], msg), tag)
}

// fingerprint is 16 bytes (hex) of the key's MAC of a fixed label.
func (k *hmacKey) fingerprint() string {
	var b [IndexSize]byte
	return hex.EncodeToString(k.sum(b[:0], fingerprintLabel, "")[:16])
}
