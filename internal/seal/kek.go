package seal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// ErrDecrypt reports that a ciphertext or wrapped key failed to authenticate:
// wrong key, wrong customer or field, tampered, truncated, or wrapped under a
// retired key version. It is always wrapped; test with errors.Is.
var ErrDecrypt = errors.New("seal: decryption failed")

// ErrKeyDestroyed is for callers whose wrapped data key is gone: after
// crypto-shredding the store has no key to hand to the Sealer, and reports
// this instead of a not-found, so that "erased" reads as erased.
var ErrKeyDestroyed = errors.New("seal: data key destroyed")

// KEK wraps and unwraps data keys. The keyset-file implementation lives here;
// a KMS or HSM can implement it later. Unwrap must fail, with an error that
// wraps ErrDecrypt, when ad differs from the one given to Wrap.
type KEK interface {
	Wrap(dek, ad []byte) ([]byte, error)
	Unwrap(wrapped, ad []byte) ([]byte, error)
}

// Key version statuses reported by Versions.
const (
	StatusEnabled   = "enabled"
	StatusDisabled  = "disabled"
	StatusDestroyed = "destroyed"
)

// KeyVersion describes one key of a KEK keyset.
type KeyVersion struct {
	ID      uint32
	Primary bool
	Status  string // StatusEnabled, StatusDisabled or StatusDestroyed
}

// kekRefreshInterval is how often Wrap looks whether another process has
// rewritten the keyset file (a stat, not a read).
const kekRefreshInterval = 5 * time.Second

// KeysetKEK is a KEK backed by a tink AEAD keyset (AES256-GCM keys) stored as
// a JSON keyset file with mode 0600. It is safe for concurrent use.
//
// Rotate and Retire re-read the file before changing it, so a long-running
// process does not write back a stale keyset; still, run key-management
// commands one at a time.
type KeysetKEK struct {
	path string

	// change serialises the changes of the keyset (refresh, Rotate, Retire,
	// Destroy), which read and write the file — with fsyncs — while holding
	// it; mu guards the live fields below only while they are swapped, so
	// that Wrap and Unwrap never wait for the disk.
	change sync.Mutex
	mu     sync.RWMutex
	handle *keyset.Handle
	aead   tink.AEAD
	ids    map[uint32]bool
	fi     fs.FileInfo // of the file the keyset was read from or written to

	lastCheck atomic.Int64 // unix nanoseconds of the last stat of path
}

var _ KEK = (*KeysetKEK)(nil)

// OpenKeysetKEK opens the keyset file at path, creating it (and its parent
// directory, mode 0700) with one fresh key on first use. It refuses a file
// that group or others can read.
func OpenKeysetKEK(path string) (*KeysetKEK, error) {
	h, fi, err := openKeysetFile(path, newKEKHandle, validateKEK)
	if err != nil {
		return nil, err
	}
	k := &KeysetKEK{path: path}
	if err := k.install(h, fi); err != nil {
		return nil, err
	}
	return k, nil
}

func newKEKHandle() (*keyset.Handle, error) {
	return keyset.NewHandle(aead.AES256GCMKeyTemplate())
}

// validateKEK accepts only AES-256-GCM keys with tink's prefix: the prefix is
// what WrappedKeyID reads.
func validateKEK(h *keyset.Handle) error {
	if _, err := h.Primary(); err != nil {
		return fmt.Errorf("keyset has no primary key: %w", err)
	}
	for i := 0; i < h.Len(); i++ {
		e, err := h.Entry(i)
		if err != nil {
			return err
		}
		k, ok := e.Key().(*aesgcm.Key)
		if !ok {
			return fmt.Errorf("key %d is %T, want an AES-GCM key", e.KeyID(), e.Key())
		}
		p := k.Parameters().(*aesgcm.Parameters)
		if p.KeySizeInBytes() != 32 || p.Variant() != aesgcm.VariantTink {
			return fmt.Errorf("key %d is AES-%d-GCM with %s prefix, want AES-256-GCM with TINK prefix", e.KeyID(), p.KeySizeInBytes()*8, p.Variant())
		}
	}
	return nil
}

// install makes h the live keyset. Callers other than OpenKeysetKEK hold
// k.change; it takes k.mu only to swap the fields.
func (k *KeysetKEK) install(h *keyset.Handle, fi fs.FileInfo) error {
	a, err := aead.New(h)
	if err != nil {
		return fmt.Errorf("seal: KEK primitive: %w", err)
	}
	ids := make(map[uint32]bool, h.Len())
	for i := 0; i < h.Len(); i++ {
		if e, err := h.Entry(i); err == nil {
			ids[e.KeyID()] = true
		}
	}
	k.mu.Lock()
	k.handle, k.aead, k.ids, k.fi = h, a, ids, fi
	k.mu.Unlock()
	k.lastCheck.Store(time.Now().UnixNano())
	return nil
}

// Wrap encrypts dek under the primary key version, bound to ad.
func (k *KeysetKEK) Wrap(dek, ad []byte) ([]byte, error) {
	k.maybeRefresh()
	k.mu.RLock()
	a := k.aead
	k.mu.RUnlock()
	w, err := a.Encrypt(dek, ad)
	if err != nil {
		return nil, fmt.Errorf("seal: wrap: %w", err)
	}
	return w, nil
}

// Unwrap decrypts a key wrapped by any enabled version. A wrong ad, a
// tampered or truncated input, or a retired version give ErrDecrypt.
func (k *KeysetKEK) Unwrap(wrapped, ad []byte) ([]byte, error) {
	k.mu.RLock()
	a := k.aead
	k.mu.RUnlock()
	dek, err := a.Decrypt(wrapped, ad)
	if err == nil {
		return dek, nil
	}
	id, ok := WrappedKeyID(wrapped)
	if !ok {
		return nil, fmt.Errorf("%w: wrapped key has no KEK version prefix", ErrDecrypt)
	}
	// A version we have never seen was probably added by another process
	// (custos kek rotate); look at the file once before giving up.
	if !k.knows(id) && k.refresh() == nil && k.knows(id) {
		k.mu.RLock()
		a = k.aead
		k.mu.RUnlock()
		if dek, err := a.Decrypt(wrapped, ad); err == nil {
			return dek, nil
		}
	}
	return nil, fmt.Errorf("%w: cannot unwrap with KEK version %d", ErrDecrypt, id)
}

func (k *KeysetKEK) knows(id uint32) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.ids[id]
}

// maybeRefresh re-reads the keyset file if it changed, at most once per
// kekRefreshInterval, so that a running server starts wrapping under a key
// rotated by another process.
func (k *KeysetKEK) maybeRefresh() {
	now := time.Now().UnixNano()
	last := k.lastCheck.Load()
	if now-last < int64(kekRefreshInterval) || !k.lastCheck.CompareAndSwap(last, now) {
		return
	}
	_ = k.refresh() // keep the keyset we have if the file is unreadable
}

// refresh re-reads the file if it is not the one last read or written.
func (k *KeysetKEK) refresh() error {
	fi, err := os.Stat(k.path)
	if err != nil {
		return err
	}
	k.change.Lock()
	defer k.change.Unlock()
	if sameFile(k.fi, fi) {
		return nil
	}
	return k.reloadLocked()
}

func sameFile(a, b fs.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// Reload re-reads the keyset file unconditionally.
func (k *KeysetKEK) Reload() error {
	k.change.Lock()
	defer k.change.Unlock()
	return k.reloadLocked()
}

func (k *KeysetKEK) reloadLocked() error {
	h, fi, err := readKeysetFile(k.path)
	if err != nil {
		return err
	}
	if err := validateKEK(h); err != nil {
		return fmt.Errorf("seal: key file %s: %w", k.path, err)
	}
	return k.install(h, fi)
}

// Rotate adds a new key, makes it primary and rewrites the file atomically
// (temporary file and rename, mode 0600). Keys wrapped under older versions
// still unwrap until those versions are retired.
func (k *KeysetKEK) Rotate() (KeyVersion, error) {
	k.change.Lock()
	defer k.change.Unlock()
	if err := k.reloadLocked(); err != nil {
		return KeyVersion{}, err
	}
	m := keyset.NewManagerFromHandle(k.handle)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return KeyVersion{}, fmt.Errorf("seal: rotate: %w", err)
	}
	if err := m.SetPrimary(id); err != nil {
		return KeyVersion{}, fmt.Errorf("seal: rotate: %w", err)
	}
	if err := k.commitLocked(m); err != nil {
		return KeyVersion{}, fmt.Errorf("seal: rotate: %w", err)
	}
	return KeyVersion{ID: id, Primary: true, Status: StatusEnabled}, nil
}

// Retire disables an old, non-primary key version. Call it only once the
// store holds no key wrapped under that version (Sealer.Rewrap them first,
// finding them with WrappedKeyID): keys still wrapped under it then fail to
// unwrap. Retiring a version that is already disabled does nothing.
func (k *KeysetKEK) Retire(id uint32) error {
	k.change.Lock()
	defer k.change.Unlock()
	if err := k.reloadLocked(); err != nil {
		return err
	}
	for _, v := range versionsOf(k.handle) {
		if v.ID != id {
			continue
		}
		if v.Primary {
			return fmt.Errorf("seal: retire: KEK version %d is the primary; rotate first", id)
		}
		if v.Status != StatusEnabled {
			return nil
		}
		m := keyset.NewManagerFromHandle(k.handle)
		if err := m.Disable(id); err != nil {
			return fmt.Errorf("seal: retire: %w", err)
		}
		if err := k.commitLocked(m); err != nil {
			return fmt.Errorf("seal: retire: %w", err)
		}
		return nil
	}
	return fmt.Errorf("seal: retire: no KEK version %d", id)
}

// commitLocked writes the manager's keyset to the file, then makes it live;
// if the write fails the live keyset is unchanged.
func (k *KeysetKEK) commitLocked(m *keyset.Manager) error {
	h, err := m.Handle()
	if err != nil {
		return err
	}
	if err := validateKEK(h); err != nil {
		return err
	}
	data, err := marshalKeyset(h)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(k.path, data); err != nil {
		return err
	}
	fi, err := os.Stat(k.path)
	if err != nil {
		return err
	}
	return k.install(h, fi)
}

// Versions lists the key versions in keyset order.
func (k *KeysetKEK) Versions() []KeyVersion {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return versionsOf(k.handle)
}

// Primary returns the version that Wrap uses.
func (k *KeysetKEK) Primary() KeyVersion {
	for _, v := range k.Versions() {
		if v.Primary {
			return v
		}
	}
	return KeyVersion{}
}

func versionsOf(h *keyset.Handle) []KeyVersion {
	vs := make([]KeyVersion, 0, h.Len())
	for i := 0; i < h.Len(); i++ {
		e, err := h.Entry(i)
		if err != nil {
			continue
		}
		status := "unknown"
		switch e.KeyStatus() {
		case keyset.Enabled:
			status = StatusEnabled
		case keyset.Disabled:
			status = StatusDisabled
		case keyset.Destroyed:
			status = StatusDestroyed
		}
		vs = append(vs, KeyVersion{ID: e.KeyID(), Primary: e.IsPrimary(), Status: status})
	}
	return vs
}

// WrappedKeyID reports which KEK version wrapped a key, read from tink's
// 5-byte prefix (0x01 then the big-endian key id). It does not authenticate
// anything; it tells a re-wrap job what is left to move.
func WrappedKeyID(wrapped []byte) (uint32, bool) {
	if len(wrapped) < 5 || wrapped[0] != 0x01 {
		return 0, false
	}
	return binary.BigEndian.Uint32(wrapped[1:5]), true
}
