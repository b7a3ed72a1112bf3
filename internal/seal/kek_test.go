package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestKEK(t testing.TB) *KeysetKEK {
	t.Helper()
	k, err := OpenKeysetKEK(filepath.Join(t.TempDir(), "keys", KEKFile))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", path, got, want)
	}
}

func TestKeysetKEKWrapUnwrap(t *testing.T) {
	k := newTestKEK(t)
	dek := bytes.Repeat([]byte{7}, 32)
	w, err := k.Wrap(dek, []byte("ad-1"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Unwrap(w, []byte("ad-1"))
	if err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("Unwrap = %x, %v; want %x", got, err, dek)
	}
	if _, err := k.Unwrap(w, []byte("ad-2")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Unwrap with other AD: err = %v, want ErrDecrypt", err)
	}
	if _, err := k.Unwrap(w[:4], []byte("ad-1")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Unwrap of truncated key: err = %v, want ErrDecrypt", err)
	}
	id, ok := WrappedKeyID(w)
	if !ok || id != k.Primary().ID {
		t.Errorf("WrappedKeyID = %d, %v; want primary %d", id, ok, k.Primary().ID)
	}
}

func TestWrappedKeyID(t *testing.T) {
	for _, tc := range []struct {
		in     []byte
		id     uint32
		wantOK bool
	}{
		{[]byte{0x01, 0, 0, 1, 2, 9, 9}, 258, true},
		{[]byte{0x01, 0xde, 0xad, 0xbe, 0xef}, 0xdeadbeef, true},
		{[]byte{0x00, 0, 0, 1, 2, 9}, 0, false}, // legacy prefix, never produced here
		{[]byte{0x01, 0, 0, 1}, 0, false},
		{nil, 0, false},
	} {
		id, ok := WrappedKeyID(tc.in)
		if id != tc.id || ok != tc.wantOK {
			t.Errorf("WrappedKeyID(%x) = %d, %v; want %d, %v", tc.in, id, ok, tc.id, tc.wantOK)
		}
	}
}

// R-D1: the KEK rotates without losing data: wrap under v1, rotate, v1 keys
// still unwrap, rewrap moves them to v2, and once v1 is retired only the
// keys left behind fail.
func TestKeysetKEKRotation(t *testing.T) {
	k := newTestKEK(t)
	s := NewSealer(k, 0)
	v1 := k.Primary()

	wA, err := s.NewDataKey("cust-a")
	if err != nil {
		t.Fatal(err)
	}
	wB, err := s.NewDataKey("cust-b")
	if err != nil {
		t.Fatal(err)
	}
	ctA, err := s.Encrypt("cust-a", wA, "name", []byte("张三"))
	if err != nil {
		t.Fatal(err)
	}
	ctB, err := s.Encrypt("cust-b", wB, "name", []byte("李四"))
	if err != nil {
		t.Fatal(err)
	}

	v2, err := k.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if v2.ID == v1.ID || !v2.Primary || v2.Status != StatusEnabled {
		t.Fatalf("Rotate = %+v after %+v", v2, v1)
	}
	assertMode(t, k.path, 0o600)
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(k.path), ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
	vs := k.Versions()
	if len(vs) != 2 {
		t.Fatalf("Versions = %+v, want 2", vs)
	}
	for _, v := range vs {
		if v.Primary != (v.ID == v2.ID) || v.Status != StatusEnabled {
			t.Errorf("after rotate: %+v", v)
		}
	}

	// New keys go under v2; the old one still works through a fresh sealer
	// (no cache) and through the KEK.
	wC, err := s.NewDataKey("cust-c")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := WrappedKeyID(wC); id != v2.ID {
		t.Errorf("new data key wrapped under %d, want %d", id, v2.ID)
	}
	fresh := NewSealer(k, 0)
	if pt, err := fresh.Decrypt("cust-a", wA, "name", ctA); err != nil || string(pt) != "张三" {
		t.Fatalf("old key after rotate: %q, %v", pt, err)
	}

	// Rewrap A only.
	wA2, err := s.Rewrap("cust-a", wA)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := WrappedKeyID(wA2); id != v2.ID {
		t.Errorf("rewrapped under %d, want %d", id, v2.ID)
	}
	if pt, err := fresh.Decrypt("cust-a", wA2, "name", ctA); err != nil || string(pt) != "张三" {
		t.Fatalf("rewrapped key: %q, %v", pt, err)
	}

	if err := k.Retire(v2.ID); err == nil {
		t.Error("Retire(primary) succeeded")
	}
	if err := k.Retire(12345); err == nil {
		t.Error("Retire(unknown) succeeded")
	}
	if err := k.Retire(v1.ID); err != nil {
		t.Fatal(err)
	}
	if err := k.Retire(v1.ID); err != nil {
		t.Errorf("second Retire: %v", err)
	}

	// Reopen from the file: state persisted.
	k2, err := OpenKeysetKEK(k.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, kk := range []*KeysetKEK{k, k2} {
		var sawV1 bool
		for _, v := range kk.Versions() {
			if v.ID == v1.ID {
				sawV1 = true
				if v.Status != StatusDisabled || v.Primary {
					t.Errorf("v1 after retire: %+v", v)
				}
			}
		}
		if !sawV1 {
			t.Error("v1 missing after retire")
		}
		s := NewSealer(kk, 0)
		if pt, err := s.Decrypt("cust-a", wA2, "name", ctA); err != nil || string(pt) != "张三" {
			t.Errorf("rewrapped key after retire: %q, %v", pt, err)
		}
		if _, err := s.Decrypt("cust-b", wB, "name", ctB); !errors.Is(err, ErrDecrypt) {
			t.Errorf("key left under retired v1: err = %v, want ErrDecrypt", err)
		}
		if _, err := s.Rewrap("cust-b", wB); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Rewrap under retired v1: err = %v, want ErrDecrypt", err)
		}
	}
}

// A rotation done by another process (custos kek rotate while the server
// runs) is picked up when a key wrapped under the new version shows up.
func TestKeysetKEKSeesRotationByAnotherProcess(t *testing.T) {
	server := newTestKEK(t)
	cli, err := OpenKeysetKEK(server.path)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := cli.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewSealer(cli, 0).NewDataKey("cust-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSealer(server, 0).Rewrap("cust-a", w); err != nil {
		t.Fatalf("server cannot unwrap a key wrapped under %d: %v", v2.ID, err)
	}
	if server.Primary().ID != v2.ID {
		t.Errorf("server primary = %d, want %d", server.Primary().ID, v2.ID)
	}

	// And the server's own Rotate starts from the file, not from memory.
	cli2, _ := OpenKeysetKEK(server.path)
	if _, err := cli2.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Rotate(); err != nil {
		t.Fatal(err)
	}
	if n := len(server.Versions()); n != 4 {
		t.Errorf("after three rotations: %d versions, want 4", n)
	}
}

func TestKeysetKEKFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	path := filepath.Join(dir, KEKFile)
	if _, err := OpenKeysetKEK(path); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, path, 0o600)
	if runtime.GOOS == "windows" {
		t.Skip("permission bits are not enforced on Windows")
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := OpenKeysetKEK(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: err = %v, want a refusal naming chmod 600", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeysetKEK(path); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}

func TestKeysetKEKRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty":   "",
		"garbage": "not json",
		"mac":     "", // filled below with an HMAC keyset
	} {
		path := filepath.Join(dir, name+".json")
		if name == "mac" {
			if _, err := openHMACKeyFile(path); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenKeysetKEK(path); err == nil {
			t.Errorf("%s: OpenKeysetKEK succeeded", name)
		}
	}
}

// Processes starting at once on an empty directory must agree on one KEK.
func TestKeysetKEKConcurrentCreation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", KEKFile)
	const n = 16
	keks := make([]*KeysetKEK, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keks[i], errs[i] = OpenKeysetKEK(path) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	w, err := keks[0].Wrap([]byte("k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keks {
		if _, err := k.Unwrap(w, nil); err != nil {
			t.Errorf("instance %d has another key: %v", i, err)
		}
	}
}

// TestKeysetKEKChangeDoesNotBlockUnwrap: while a change of the keyset is
// writing and syncing the file (here: holding the change lock, as Rotate,
// Retire and Destroy do during the write), Wrap and Unwrap go on with the
// live keyset instead of waiting for the disk. Readers whose data keys
// were just rewrapped miss the key cache and unwrap, so a destruction's
// closing key rotation would otherwise stall them (docs/performance.md).
func TestKeysetKEKChangeDoesNotBlockUnwrap(t *testing.T) {
	k := newTestKEK(t)
	dek := bytes.Repeat([]byte{7}, 32)
	w, err := k.Wrap(dek, []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	k.change.Lock()
	done := make(chan error, 1)
	go func() {
		got, err := k.Unwrap(w, []byte("ad"))
		if err == nil && !bytes.Equal(got, dek) {
			err = errors.New("unwrapped a different key")
		}
		if err == nil {
			_, err = k.Wrap(dek, []byte("ad"))
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Unwrap waited for a keyset change in progress")
	}
	k.change.Unlock()
	if _, err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Unwrap(w, []byte("ad")); err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("after rotation: %v", err)
	}
}
