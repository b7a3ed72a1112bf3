package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/tink-crypto/tink-go/v2/mac"
)

func newTestIndexer(t testing.TB) (*Indexer, string) {
	t.Helper()
	dir := t.TempDir()
	ix, err := OpenIndexer(filepath.Join(dir, IndexFile), filepath.Join(dir, AuditRefFile))
	if err != nil {
		t.Fatal(err)
	}
	return ix, dir
}

// R-D1: blind indexes let the store search encrypted fields.
func TestIndexer(t *testing.T) {
	ix, dir := newTestIndexer(t)
	a := ix.Index("idcard", "110101199003077777")
	if len(a) != IndexSize {
		t.Fatalf("index has %d bytes", len(a))
	}
	if !bytes.Equal(a, ix.Index("idcard", "110101199003077777")) {
		t.Error("index is not deterministic")
	}
	for _, other := range [][2]string{
		{"idcard", "110101199003077778"},
		{"phone", "110101199003077777"},
		{"idcard1", "10101199003077777"}, // the 0x00 separator keeps these apart
	} {
		if bytes.Equal(a, ix.Index(other[0], other[1])) {
			t.Errorf("Index%v collides", other)
		}
	}

	// The index is a plain HMAC-SHA256 under the key in index.json, and tink's
	// MAC primitive over that keyset gives the same tag (RAW prefix).
	h, _, err := readKeysetFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mac.New(h)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := m.ComputeMAC([]byte("idcard\x00110101199003077777"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tag, a) {
		t.Errorf("tink MAC = %x, Index = %x", tag, a)
	}
	key, err := openHMACKeyFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	std := hmac.New(sha256.New, key)
	std.Write([]byte("idcard\x00110101199003077777"))
	if !bytes.Equal(std.Sum(nil), a) {
		t.Error("Index is not crypto/hmac HMAC-SHA256")
	}
}

// Audit references use their own key: the same value gives unrelated bytes in
// the audit log and in the blind index.
func TestIndexerRef(t *testing.T) {
	ix, _ := newTestIndexer(t)
	r := ix.Ref("customer", "c-42")
	if len(r) != 64 {
		t.Fatalf("Ref = %q, want 64 hex chars", r)
	}
	if _, err := hex.DecodeString(r); err != nil {
		t.Fatal(err)
	}
	if r != ix.Ref("customer", "c-42") {
		t.Error("Ref is not deterministic")
	}
	if r == ix.Ref("customer", "c-43") || r == ix.Ref("user", "c-42") {
		t.Error("Ref collides")
	}
	if r == hex.EncodeToString(ix.Index("customer", "c-42")) {
		t.Error("Ref uses the index key")
	}
}

func TestNewIndexerRejectsSharedKey(t *testing.T) {
	k := bytes.Repeat([]byte{1}, 32)
	if _, err := NewIndexer(k, k); err == nil {
		t.Error("same key for index and audit reference accepted")
	}
	if _, err := NewIndexer(k[:16], bytes.Repeat([]byte{2}, 32)); err == nil {
		t.Error("short key accepted")
	}
}
