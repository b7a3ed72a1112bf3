package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
)

const (
	dataKeySize  = 32 // AES-256
	fieldVersion = 0x01
	nonceSize    = 12
	tagSize      = 16
	fieldHeader  = 1 + nonceSize

	adDataKey = "custos/dek/v1|"
	adField   = "custos/field/v1|"
	adSystem  = "custos/system/v1|"
)

// Sealer encrypts customer fields under per-customer data keys (AES-256-GCM,
// 32 random bytes each), wrapped by the KEK. It is safe for concurrent use.
//
// Unwrapped keys are cached in a bounded LRU keyed by customer ID and the
// SHA-256 of the wrapped bytes, so a rewrapped or replaced key is never
// served from a stale entry.
type Sealer struct {
	kek   KEK
	cache *keyCache
}

// NewSealer returns a Sealer that wraps data keys with kek and caches up to
// cacheSize unwrapped keys (DefaultCacheSize if cacheSize <= 0).
func NewSealer(kek KEK, cacheSize int) *Sealer {
	return &Sealer{kek: kek, cache: newKeyCache(cacheSize)}
}

var errCustomerID = errors.New("seal: customer ID must be non-empty and must not contain '|'")

func checkCustomerID(id string) error {
	if id == "" || strings.IndexByte(id, '|') >= 0 {
		return errCustomerID
	}
	return nil
}

func dataKeyAD(customerID string) []byte {
	return []byte(adDataKey + customerID)
}

func fieldAD(customerID, field string) []byte {
	ad := make([]byte, 0, len(adField)+len(customerID)+1+len(field))
	ad = append(ad, adField...)
	ad = append(ad, customerID...)
	ad = append(ad, '|')
	return append(ad, field...)
}

// NewDataKey makes a fresh data key for a customer and returns it wrapped
// under the KEK's primary version, bound to the customer ID. The store keeps
// the wrapped bytes; the plaintext key never leaves this package.
func (s *Sealer) NewDataKey(customerID string) (wrapped []byte, err error) {
	if err := checkCustomerID(customerID); err != nil {
		return nil, err
	}
	dek := make([]byte, dataKeySize)
	rand.Read(dek) // never fails; crashes the program if the OS cannot supply randomness
	defer clear(dek)
	wrapped, err = s.kek.Wrap(dek, dataKeyAD(customerID))
	if err != nil {
		return nil, fmt.Errorf("seal: wrap new data key: %w", err)
	}
	return wrapped, nil
}

// gcm returns the customer's data key as a ready GCM instance, from the cache
// or by unwrapping.
func (s *Sealer) gcm(customerID string, wrapped []byte) (cipher.AEAD, error) {
	if err := checkCustomerID(customerID); err != nil {
		return nil, err
	}
	if len(wrapped) == 0 {
		return nil, fmt.Errorf("seal: no data key given: %w", ErrKeyDestroyed)
	}
	k := cacheKey{customer: customerID, sum: sha256.Sum256(wrapped)}
	if g, ok := s.cache.get(k); ok {
		return g, nil
	}
	dek, err := s.kek.Unwrap(wrapped, dataKeyAD(customerID))
	if err != nil {
		return nil, fmt.Errorf("seal: unwrap data key: %w", err)
	}
	defer clear(dek)
	if len(dek) != dataKeySize {
		return nil, fmt.Errorf("%w: unwrapped data key has %d bytes, want %d", ErrDecrypt, len(dek), dataKeySize)
	}
	block, err := aes.NewCipher(dek)
	if err != nil {
		return nil, fmt.Errorf("seal: data key: %w", err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: data key: %w", err)
	}
	s.cache.add(k, g)
	return g, nil
}

// Encrypt seals one field of one customer: 0x01 | 12-byte random nonce | GCM
// ciphertext and tag, with associated data
// "custos/field/v1|" + customerID + "|" + field.
func (s *Sealer) Encrypt(customerID string, wrapped []byte, field string, plaintext []byte) ([]byte, error) {
	g, err := s.gcm(customerID, wrapped)
	if err != nil {
		return nil, err
	}
	return sealField(g, customerID, field, plaintext), nil
}

// Decrypt opens a ciphertext made by Encrypt for the same customer, data key
// and field. Any authentication failure, including a ciphertext moved from
// another customer or field, wraps ErrDecrypt.
func (s *Sealer) Decrypt(customerID string, wrapped []byte, field string, ciphertext []byte) ([]byte, error) {
	if err := checkField(field, ciphertext); err != nil {
		return nil, err
	}
	g, err := s.gcm(customerID, wrapped)
	if err != nil {
		return nil, err
	}
	return openField(g, customerID, field, ciphertext)
}

// DataKey is one customer's data key, unwrapped once, for sealing or
// opening many of that customer's fields in a row — a bulk import's
// records — without a key-cache lookup (a SHA-256 of the wrapped key and a
// locked LRU) for each. It seals exactly as Encrypt does and only for its
// customer. Hold it no longer than the operation: after crypto-shredding
// (Forget) a held DataKey would still work.
type DataKey struct {
	customer string
	g        cipher.AEAD
}

// DataKey unwraps a customer's data key, or finds it in the cache.
func (s *Sealer) DataKey(customerID string, wrapped []byte) (*DataKey, error) {
	g, err := s.gcm(customerID, wrapped)
	if err != nil {
		return nil, err
	}
	return &DataKey{customer: customerID, g: g}, nil
}

// Encrypt is Sealer.Encrypt with the key already unwrapped.
func (k *DataKey) Encrypt(field string, plaintext []byte) []byte {
	return sealField(k.g, k.customer, field, plaintext)
}

// Decrypt is Sealer.Decrypt with the key already unwrapped.
func (k *DataKey) Decrypt(field string, ciphertext []byte) ([]byte, error) {
	if err := checkField(field, ciphertext); err != nil {
		return nil, err
	}
	return openField(k.g, k.customer, field, ciphertext)
}

func sealField(g cipher.AEAD, customerID, field string, plaintext []byte) []byte {
	out := make([]byte, fieldHeader, fieldHeader+len(plaintext)+tagSize)
	out[0] = fieldVersion
	nonce := out[1:fieldHeader]
	rand.Read(nonce)
	return g.Seal(out, nonce, plaintext, fieldAD(customerID, field))
}

func checkField(field string, ciphertext []byte) error {
	if len(ciphertext) < fieldHeader+tagSize {
		return fmt.Errorf("%w: field %s: ciphertext too short (%d bytes)", ErrDecrypt, field, len(ciphertext))
	}
	if ciphertext[0] != fieldVersion {
		return fmt.Errorf("%w: field %s: unknown ciphertext version %#x", ErrDecrypt, field, ciphertext[0])
	}
	return nil
}

func openField(g cipher.AEAD, customerID, field string, ciphertext []byte) ([]byte, error) {
	pt, err := g.Open(nil, ciphertext[1:fieldHeader], ciphertext[fieldHeader:], fieldAD(customerID, field))
	if err != nil {
		return nil, fmt.Errorf("%w: field %s", ErrDecrypt, field)
	}
	return pt, nil
}

// EncryptString encrypts a string field. The empty string encrypts to nil,
// so empty optional fields cost nothing (and a NULL column reads back as "").
func (s *Sealer) EncryptString(customerID string, wrapped []byte, field, plaintext string) ([]byte, error) {
	if plaintext == "" {
		return nil, nil
	}
	return s.Encrypt(customerID, wrapped, field, []byte(plaintext))
}

// DecryptString decrypts a field made by EncryptString; an empty ciphertext
// decrypts to "".
func (s *Sealer) DecryptString(customerID string, wrapped []byte, field string, ciphertext []byte) (string, error) {
	if len(ciphertext) == 0 {
		return "", nil
	}
	pt, err := s.Decrypt(customerID, wrapped, field, ciphertext)
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// Rewrap unwraps a customer's data key under any enabled KEK version and
// wraps it again under the primary. Field ciphertexts are unchanged; the
// store replaces the wrapped key, after which the old version can be retired.
func (s *Sealer) Rewrap(customerID string, wrapped []byte) ([]byte, error) {
	if err := checkCustomerID(customerID); err != nil {
		return nil, err
	}
	ad := dataKeyAD(customerID)
	dek, err := s.kek.Unwrap(wrapped, ad)
	if err != nil {
		return nil, fmt.Errorf("seal: rewrap: %w", err)
	}
	defer clear(dek)
	out, err := s.kek.Wrap(dek, ad)
	if err != nil {
		return nil, fmt.Errorf("seal: rewrap: %w", err)
	}
	// The old wrapped bytes are about to disappear from the store.
	s.cache.remove(cacheKey{customer: customerID, sum: sha256.Sum256(wrapped)})
	return out, nil
}

// Forget drops the customer's unwrapped keys from memory. Crypto-shredding
// deletes the wrapped key row; call Forget after that delete has committed,
// so that a request already in flight cannot put the key back for long.
func (s *Sealer) Forget(customerID string) {
	s.cache.removeCustomer(customerID)
}

func systemAD(purpose string) ([]byte, error) {
	if purpose == "" {
		return nil, errors.New("seal: system secret needs a purpose")
	}
	return []byte(adSystem + purpose), nil
}

// SealSystem encrypts a secret that belongs to no customer (a user's TOTP
// secret, a webhook token) directly under the KEK, bound to purpose, e.g.
// "totp|" + userID.
func (s *Sealer) SealSystem(purpose string, plaintext []byte) ([]byte, error) {
	ad, err := systemAD(purpose)
	if err != nil {
		return nil, err
	}
	ct, err := s.kek.Wrap(plaintext, ad)
	if err != nil {
		return nil, fmt.Errorf("seal: seal system secret: %w", err)
	}
	return ct, nil
}

// OpenSystem decrypts a secret made by SealSystem with the same purpose.
func (s *Sealer) OpenSystem(purpose string, ciphertext []byte) ([]byte, error) {
	ad, err := systemAD(purpose)
	if err != nil {
		return nil, err
	}
	pt, err := s.kek.Unwrap(ciphertext, ad)
	if err != nil {
		return nil, fmt.Errorf("seal: open system secret: %w", err)
	}
	return pt, nil
}

// RewrapSystem moves a SealSystem ciphertext to the primary KEK version, as
// Rewrap does for data keys; run it before retiring a version.
func (s *Sealer) RewrapSystem(purpose string, ciphertext []byte) ([]byte, error) {
	pt, err := s.OpenSystem(purpose, ciphertext)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	return s.SealSystem(purpose, pt)
}
