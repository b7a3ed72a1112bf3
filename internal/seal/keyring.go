package seal

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File names inside a keyring directory.
const (
	KEKFile        = "kek.json"
	IndexFile      = "index.json"
	AuditRefFile   = "auditref.json"
	SigningKeyFile = "auditsign.json"
	RecordsFile    = "records.json"
)

// KeyFiles are the files of a keyring directory, in a fixed order (the KEK
// file may live elsewhere, see OpenKeyring).
var KeyFiles = []string{KEKFile, IndexFile, AuditRefFile, SigningKeyFile, RecordsFile}

// The purposes of the keys, as a store records their fingerprints.
const (
	PurposeKEK       = "kek"
	PurposeIndex     = "index"
	PurposeAuditRef  = "auditref"
	PurposeAuditSign = "auditsign"
	PurposeRecords   = "records"
)

// Purposes lists the keys' purposes in the order of KeyFiles.
var Purposes = []string{PurposeKEK, PurposeIndex, PurposeAuditRef, PurposeAuditSign, PurposeRecords}

// FileOf names the key file of a purpose.
func FileOf(purpose string) string {
	for i, p := range Purposes {
		if p == purpose {
			return KeyFiles[i]
		}
	}
	return ""
}

// Keyring bundles the keys a Custos process needs.
type Keyring struct {
	KEK     *KeysetKEK
	Sealer  *Sealer
	Indexer *Indexer
	Signer  *Signer
	Records *RecordMAC
	Dir     string
}

// ErrNoKeys is what opening a keyring whose key files are missing wraps.
var ErrNoKeys = errors.New("seal: key files missing")

// MissingKeysError names the key files that are not where they should be.
// Opening refuses instead of creating them: fresh keys beside a store that
// holds data would make its data unreadable and its audit trail look
// tampered with.
type MissingKeysError struct {
	Dir     string
	Missing []string // paths
}

func (e *MissingKeysError) Error() string {
	return fmt.Sprintf("the key directory %s has no keys for this store (missing: %s); restore the keys (backup --include-keys) or point --keys at them",
		e.Dir, strings.Join(e.Missing, ", "))
}

func (e *MissingKeysError) Unwrap() error { return ErrNoKeys }

// OpenKeyring opens the keys in dir (the KEK from kekPath when it is set).
// It creates nothing unless told: a key file named (by its base name, e.g.
// KEKFile) in mayCreate is created (mode 0600, with the directory, 0700)
// when it is missing; any other missing file makes it fail with a
// *MissingKeysError, before anything is written. The caller decides what
// may be created, because only the store knows whether data depends on a
// key (see app.OpenKeys). The Sealer caches DefaultCacheSize data keys.
func OpenKeyring(dir string, kekPath string, mayCreate ...string) (*Keyring, error) {
	if dir == "" {
		return nil, errors.New("seal: keyring directory not set")
	}
	if kekPath == "" {
		kekPath = filepath.Join(dir, KEKFile)
	}
	path := func(name string) string {
		if name == KEKFile {
			return kekPath
		}
		return filepath.Join(dir, name)
	}
	var missing []string
	for _, name := range KeyFiles {
		if _, err := os.Stat(path(name)); err == nil || !errors.Is(err, os.ErrNotExist) {
			continue
		}
		allowed := false
		for _, c := range mayCreate {
			allowed = allowed || c == name
		}
		if !allowed {
			missing = append(missing, path(name))
		}
	}
	if len(missing) > 0 {
		return nil, &MissingKeysError{Dir: dir, Missing: missing}
	}
	kek, err := OpenKeysetKEK(kekPath)
	if err != nil {
		return nil, err
	}
	ix, err := OpenIndexer(path(IndexFile), path(AuditRefFile))
	if err != nil {
		return nil, err
	}
	sg, err := OpenSigner(path(SigningKeyFile))
	if err != nil {
		return nil, err
	}
	rm, err := OpenRecordMAC(path(RecordsFile))
	if err != nil {
		return nil, err
	}
	return &Keyring{KEK: kek, Sealer: NewSealer(kek, 0), Indexer: ix, Signer: sg, Records: rm, Dir: dir}, nil
}

// CreateKeyring opens the keys in dir, creating every missing key file: for
// a new, empty store, and for tests.
func CreateKeyring(dir string, kekPath string) (*Keyring, error) {
	return OpenKeyring(dir, kekPath, KeyFiles...)
}

// fingerprintLabel is what a key fingerprint MACs. A fingerprint tells keys
// apart without revealing anything about them.
const fingerprintLabel = "custos/key-fingerprint/v1"

// Fingerprints names the keys that have one, by purpose: the HMAC keys by
// 16 bytes (hex) of their MAC of a fixed label, the signing key by its
// KeyID. A store records them when its keys are made and compares them
// whenever it is opened. The KEK, which rotates, is checked by a sealed
// value instead (KEKCheck).
func (k *Keyring) Fingerprints() map[string]string {
	return map[string]string{
		PurposeIndex:     k.Indexer.index.fingerprint(),
		PurposeAuditRef:  k.Indexer.ref.fingerprint(),
		PurposeAuditSign: k.Signer.KeyID(),
		PurposeRecords:   k.Records.k.fingerprint(),
	}
}

// MatchesFingerprint reports whether the key of purpose has fingerprint fp.
func (k *Keyring) MatchesFingerprint(purpose, fp string) bool {
	mine, ok := k.Fingerprints()[purpose]
	return ok && subtle.ConstantTimeCompare([]byte(mine), []byte(fp)) == 1
}

const (
	kekCheckPurpose = "keycheck"
	kekCheckText    = "custos key check v1"
)

// KEKCheck seals a known text under the KEK, for the store to keep: while
// the KEK that sealed it (or a later version it was rewrapped to) is in the
// keyset, CheckKEK opens it.
func (k *Keyring) KEKCheck() ([]byte, error) {
	return k.Sealer.SealSystem(kekCheckPurpose, []byte(kekCheckText))
}

// CheckKEK reports whether the KEK opens a value made by KEKCheck.
func (k *Keyring) CheckKEK(ct []byte) bool {
	pt, err := k.Sealer.OpenSystem(kekCheckPurpose, ct)
	return err == nil && string(pt) == kekCheckText
}

// RewrapKEKCheck moves a KEKCheck value to the primary KEK version; it
// reports false when the value is already there.
func (k *Keyring) RewrapKEKCheck(ct []byte) ([]byte, bool, error) {
	if id, ok := WrappedKeyID(ct); ok && id == k.KEK.Primary().ID {
		return ct, false, nil
	}
	nw, err := k.Sealer.RewrapSystem(kekCheckPurpose, ct)
	return nw, err == nil, err
}
