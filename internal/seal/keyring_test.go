package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestOpenKeyring(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	kr, err := CreateKeyring(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	for _, f := range KeyFiles {
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
	other, err := CreateKeyring(t.TempDir(), "")
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
	if _, err := CreateKeyring(dir, kekPath); err != nil {
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
	for _, f := range KeyFiles {
		t.Run(f, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := CreateKeyring(dir, ""); err != nil {
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

// TestOpenKeyringCreatesNothing_RD3: opening a key directory that lacks
// keys refuses, names what is missing and how to fix it, and writes
// nothing, not even the directory; only the files the caller allows are
// created.
func TestOpenKeyringCreatesNothing_RD3(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	_, err := OpenKeyring(dir, "")
	var me *MissingKeysError
	if !errors.As(err, &me) || !errors.Is(err, ErrNoKeys) || len(me.Missing) != len(KeyFiles) {
		t.Fatalf("err = %v, want every key file missing", err)
	}
	if !strings.Contains(err.Error(), "the key directory "+dir+" has no keys for this store") || !strings.Contains(err.Error(), "--include-keys") {
		t.Errorf("message %q does not say what is wrong and how to fix it", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the key directory was created: %v", err)
	}

	kr, err := CreateKeyring(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, IndexFile))
	os.Remove(filepath.Join(dir, RecordsFile))
	_, err = OpenKeyring(dir, "", RecordsFile)
	if !errors.As(err, &me) || len(me.Missing) != 1 || me.Missing[0] != filepath.Join(dir, IndexFile) {
		t.Fatalf("err = %v, want only index.json missing", err)
	}
	if _, err := os.Stat(filepath.Join(dir, RecordsFile)); !os.IsNotExist(err) {
		t.Fatal("a refused open created the records key")
	}
	// Allowed: the records key alone is created; the others stay.
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	kr2, err := OpenKeyring(dir, "", IndexFile, RecordsFile)
	if err != nil {
		t.Fatal(err)
	}
	if kr2.Signer.KeyID() != kr.Signer.KeyID() || !kr2.MatchesFingerprint(PurposeAuditSign, kr.Fingerprints()[PurposeAuditSign]) {
		t.Error("the signing key changed")
	}
	if kr2.MatchesFingerprint(PurposeIndex, kr.Fingerprints()[PurposeIndex]) || kr2.MatchesFingerprint(PurposeRecords, kr.Fingerprints()[PurposeRecords]) {
		t.Error("recreated keys have the old fingerprints")
	}
	if !kr2.MatchesFingerprint(PurposeAuditRef, kr.Fingerprints()[PurposeAuditRef]) {
		t.Error("the audit-reference key's fingerprint is not stable")
	}
}

// TestKEKCheck_RD3: the KEK's check value opens with its own keyset, not
// with another's, and survives a rotation once rewrapped and the old
// version retired.
func TestKEKCheck_RD3(t *testing.T) {
	kr, err := CreateKeyring(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := CreateKeyring(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := kr.KEKCheck()
	if err != nil {
		t.Fatal(err)
	}
	if !kr.CheckKEK(ct) || other.CheckKEK(ct) {
		t.Fatal("the check value must open with its own KEK only")
	}
	old := kr.KEK.Primary().ID
	if _, err := kr.KEK.Rotate(); err != nil {
		t.Fatal(err)
	}
	nw, changed, err := kr.RewrapKEKCheck(ct)
	if err != nil || !changed {
		t.Fatalf("rewrap: %v %v", changed, err)
	}
	if _, changed, _ := kr.RewrapKEKCheck(nw); changed {
		t.Error("a check value under the primary version was rewrapped again")
	}
	if err := kr.KEK.Retire(old); err != nil {
		t.Fatal(err)
	}
	if !kr.CheckKEK(nw) || kr.CheckKEK(ct) {
		t.Error("after retirement only the rewrapped value must open")
	}
}

func TestRecordMAC_RD3(t *testing.T) {
	kr, err := CreateKeyring(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("customers|c-1|active")
	tag := kr.Records.MAC(nil, msg)
	if len(tag) != RecordTagSize || !kr.Records.Verify(msg, tag) {
		t.Fatalf("tag %x does not verify", tag)
	}
	if kr.Records.Verify([]byte("customers|c-1|closed"), tag) || kr.Records.Verify(msg, tag[:8]) || kr.Records.Verify(msg, nil) {
		t.Error("a changed message or a short tag verified")
	}
}
