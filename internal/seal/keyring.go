package seal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File names inside a keyring directory.
const (
	KEKFile        = "kek.json"
	IndexFile      = "index.json"
	AuditRefFile   = "auditref.json"
	SigningKeyFile = "auditsign.json"
)

// Keyring bundles the keys a Custos process needs.
type Keyring struct {
	KEK     *KeysetKEK
	Sealer  *Sealer
	Indexer *Indexer
	Signer  *Signer
	Dir     string
}

// OpenKeyring opens the keys in dir, creating on first start the directory
// (0700) and every missing key file (0600): kek.json unless kekPath names
// the KEK file elsewhere, index.json, auditref.json and auditsign.json.
// The Sealer caches DefaultCacheSize data keys.
func OpenKeyring(dir string, kekPath string) (*Keyring, error) {
	if dir == "" {
		return nil, errors.New("seal: keyring directory not set")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("seal: create keyring directory: %w", err)
	}
	if kekPath == "" {
		kekPath = filepath.Join(dir, KEKFile)
	}
	kek, err := OpenKeysetKEK(kekPath)
	if err != nil {
		return nil, err
	}
	ix, err := OpenIndexer(filepath.Join(dir, IndexFile), filepath.Join(dir, AuditRefFile))
	if err != nil {
		return nil, err
	}
	sg, err := OpenSigner(filepath.Join(dir, SigningKeyFile))
	if err != nil {
		return nil, err
	}
	return &Keyring{KEK: kek, Sealer: NewSealer(kek, 0), Indexer: ix, Signer: sg, Dir: dir}, nil
}
