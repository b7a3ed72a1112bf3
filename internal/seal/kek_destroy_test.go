package seal

import (
	"bytes"
	"errors"
	"testing"
)

// TestKeysetKEKDestroy_RF3: a destroyed version is gone from the keyset
// file for good — a key it wrapped no longer unwraps, not even after the
// file is opened afresh — and only a retired, non-primary version can be
// destroyed.
func TestKeysetKEKDestroy_RF3(t *testing.T) {
	k := newTestKEK(t)
	old := k.Primary().ID
	dek := bytes.Repeat([]byte{9}, 32)
	w, err := k.Wrap(dek, []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Destroy(old); err == nil {
		t.Fatal("the primary version was destroyed")
	}
	if _, err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := k.Destroy(old); err == nil {
		t.Fatal("an enabled version was destroyed before it was retired")
	}
	if err := k.Retire(old); err != nil {
		t.Fatal(err)
	}
	if err := k.Destroy(old); err != nil {
		t.Fatal(err)
	}
	for _, v := range k.Versions() {
		if v.ID == old {
			t.Fatalf("version %d still in the keyset: %+v", old, v)
		}
	}
	if err := k.Destroy(old); err != nil {
		t.Fatalf("destroying a version already gone: %v", err)
	}
	reopened, err := OpenKeysetKEK(k.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reopened.Unwrap(w, []byte("ad")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("a key wrapped under the destroyed version unwraps: %v", err)
	}
	if len(reopened.Versions()) != 1 {
		t.Fatalf("versions after destruction: %+v", reopened.Versions())
	}
}
