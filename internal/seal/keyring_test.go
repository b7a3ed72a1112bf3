package seal

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestOpenKeyring(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	kr, err := OpenKeyring(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	for _, f := range []string{KEKFile, IndexFile, AuditRefFile, SigningKeyFile} {
		assertMode(t, filepath.Join(dir, f), 0o600)
	}
	w, err := kr.Sealer.NewDataKey("c-1")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := kr.Sealer.EncryptString("c-1", w, "name", "王五")
	if err != nil {
		t.Fatal(err)
	}
	idx := kr.Indexer.Index("phone", "13800138000")
	ref := kr.Indexer.Ref("customer", "c-1")
	msg := []byte("checkpoint")
	sig, _ := kr.Signer.Sign(msg)

	// A restart sees the same keys.
	kr2, err := OpenKeyring(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := kr2.Sealer.DecryptString("c-1", w, "name", ct); err != nil || got != "王五" {
		t.Errorf("after reopen: %q, %v", got, err)
	}
	if !bytes.Equal(idx, kr2.Indexer.Index("phone", "13800138000")) {
		t.Error("index changed across reopen")
	}
	if ref != kr2.Indexer.Ref("customer", "c-1") {
		t.Error("audit reference changed across reopen")
	}
	if !kr.Signer.PublicKey().Equal(kr2.Signer.PublicKey()) || kr.Signer.KeyID() != kr2.Signer.KeyID() {
		t.Error("signing key changed across reopen")
	}
	if !VerifySignature(kr2.Signer.PublicKey(), msg, sig) {
		t.Error("old signature does not verify after reopen")
	}

	// A second keyring is a different world.
	other, err := OpenKeyring(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(idx, other.Indexer.Index("phone", "13800138000")) {
		t.Error("two keyrings share an index key")
	}
}

func TestOpenKeyringSeparateKEK(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "keys")
	kekPath := filepath.Join(base, "hsm-volume", "custos-kek.json")
	if _, err := OpenKeyring(dir, kekPath); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, KEKFile)); !os.IsNotExist(err) {
		t.Errorf("kek.json created in the keyring dir despite kekPath: %v", err)
	}
	assertMode(t, kekPath, 0o600)
	assertMode(t, filepath.Dir(kekPath), 0o700)
}

func TestOpenKeyringRefusesOpenFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits are not enforced on Windows")
	}
	for _, f := range []string{KEKFile, IndexFile, AuditRefFile, SigningKeyFile} {
		t.Run(f, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := OpenKeyring(dir, ""); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, f)
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenKeyring(dir, "")
			if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Errorf("err = %v, want a refusal naming chmod 600 %s", err, path)
			}
		})
	}
}
