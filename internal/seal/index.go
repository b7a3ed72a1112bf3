package seal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"

	tinkhmac "github.com/tink-crypto/tink-go/v2/mac/hmac"

	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// IndexSize is the length of a blind index in bytes.
const IndexSize = sha256.Size

// Indexer computes blind indexes and audit references. It is safe for
// concurrent use.
//
// Blind index: HMAC-SHA256 under the index key over kind + 0x00 + normalised
// value. Deterministic, 32 bytes. Putting the kind in the input means the same
// digits as an identity number and as a phone number give unrelated indexes.
// Normalising (trimming, case, full-width digits, the check character of an
// identity number) is the caller's job, because only the caller knows the
// kind; the index is only as good as that normalisation.
type Indexer struct {
	index *hmacKey
	ref   *hmacKey
}

// hmacKey pools HMAC states so the hot path does not re-derive the pads.
type hmacKey struct{ pool sync.Pool }

func newHMACKey(key []byte) *hmacKey {
	k := append([]byte(nil), key...)
	return &hmacKey{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, k) }}}
}

func (k *hmacKey) sum(dst []byte, kind, value string) []byte {
	h := k.pool.Get().(hash.Hash)
	h.Reset()
	buf := make([]byte, 0, 64)
	if n := len(kind) + 1 + len(value); n > cap(buf) {
		buf = make([]byte, 0, n)
	}
	buf = append(buf, kind...)
	buf = append(buf, 0)
	buf = append(buf, value...)
	h.Write(buf)
	dst = h.Sum(dst)
	k.pool.Put(h)
	return dst
}

// NewIndexer builds an Indexer from raw 32-byte keys. OpenIndexer is the
// normal way in; this one is for tools and tests of other packages.
func NewIndexer(indexKey, refKey []byte) (*Indexer, error) {
	if len(indexKey) != 32 || len(refKey) != 32 {
		return nil, errors.New("seal: index and audit-reference keys must be 32 bytes")
	}
	if hmac.Equal(indexKey, refKey) {
		return nil, errors.New("seal: the index key and the audit-reference key must differ, or audit rows could be joined to blind indexes")
	}
	return &Indexer{index: newHMACKey(indexKey), ref: newHMACKey(refKey)}, nil
}

// OpenIndexer opens (creating on first use, mode 0600) the tink MAC keysets
// holding the index key and the audit-reference key.
func OpenIndexer(indexPath, refPath string) (*Indexer, error) {
	ik, err := openHMACKeyFile(indexPath)
	if err != nil {
		return nil, err
	}
	rk, err := openHMACKeyFile(refPath)
	if err != nil {
		return nil, err
	}
	return NewIndexer(ik, rk)
}

// hmacParams are HMAC-SHA256 with a 256-bit tag and the RAW (no) prefix, so
// that tink's tag is exactly crypto/hmac's and anyone can recompute it.
func hmacParams() (*tinkhmac.Parameters, error) {
	return tinkhmac.NewParameters(tinkhmac.ParametersOpts{
		KeySizeInBytes: 32,
		TagSizeInBytes: 32,
		HashType:       tinkhmac.SHA256,
		Variant:        tinkhmac.VariantNoPrefix,
	})
}

func newHMACHandle() (*keyset.Handle, error) {
	p, err := hmacParams()
	if err != nil {
		return nil, err
	}
	m := keyset.NewManager()
	id, err := m.AddNewKeyFromParameters(p)
	if err != nil {
		return nil, err
	}
	if err := m.SetPrimary(id); err != nil {
		return nil, err
	}
	return m.Handle()
}

func primaryHMACKey(h *keyset.Handle) (*tinkhmac.Key, error) {
	e, err := h.Primary()
	if err != nil {
		return nil, fmt.Errorf("keyset has no primary key: %w", err)
	}
	k, ok := e.Key().(*tinkhmac.Key)
	if !ok {
		return nil, fmt.Errorf("primary key is %T, want an HMAC key", e.Key())
	}
	want, err := hmacParams()
	if err != nil {
		return nil, err
	}
	if !k.Parameters().Equal(want) {
		return nil, fmt.Errorf("primary key is not HMAC-SHA256 with a 32-byte key, 32-byte tag and RAW prefix")
	}
	return k, nil
}

func openHMACKeyFile(path string) ([]byte, error) {
	h, _, err := openKeysetFile(path, newHMACHandle, func(h *keyset.Handle) error {
		_, err := primaryHMACKey(h)
		return err
	})
	if err != nil {
		return nil, err
	}
	k, err := primaryHMACKey(h)
	if err != nil {
		return nil, err
	}
	return k.KeyBytes().Data(insecuresecretdataaccess.Token{}), nil
}

// Index returns the blind index of a normalised value of the given kind
// (for example "idcard", "phone"). kind must not contain a zero byte.
func (ix *Indexer) Index(kind, normalized string) []byte {
	return ix.index.sum(make([]byte, 0, IndexSize), kind, normalized)
}

// Ref returns the reference an audit row stores instead of a value: 64 hex
// characters of HMAC-SHA256 under the audit-reference key, stable across
// restarts, and unrelated to the blind index of the same value.
func (ix *Indexer) Ref(kind, value string) string {
	var b [IndexSize]byte
	return hex.EncodeToString(ix.ref.sum(b[:0], kind, value))
}
