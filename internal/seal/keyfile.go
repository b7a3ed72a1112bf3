package seal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// maxKeysetFile bounds what we read from a key file; a real keyset is a few KB.
const maxKeysetFile = 1 << 20

// checkPrivate refuses a key file that group or others can access. The error
// names the fix, because the person who sees it is an operator at startup.
func checkPrivate(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("seal: key file %s is not a regular file", path)
	}
	if runtime.GOOS == "windows" {
		return nil // permission bits mean nothing there; ACLs are the operator's job
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("seal: key file %s has mode %04o and is accessible by group or others; run: chmod 600 %s", path, perm, path)
	}
	return nil
}

// readKeysetFile reads a cleartext JSON keyset after checking its permissions
// on the open file, so the file checked is the file read.
func readKeysetFile(path string) (*keyset.Handle, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeysetFile))
	if err != nil {
		return nil, nil, fmt.Errorf("seal: read key file %s: %w", path, err)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(data)))
	if err != nil {
		return nil, nil, fmt.Errorf("seal: key file %s is not a valid tink JSON keyset: %w", path, err)
	}
	return h, fi, nil
}

func marshalKeyset(h *keyset.Handle) ([]byte, error) {
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, fmt.Errorf("seal: serialise keyset: %w", err)
	}
	return buf.Bytes(), nil
}

// openKeysetFile reads the keyset at path, or creates it with newHandle when
// the file does not exist yet. validate runs on both paths.
func openKeysetFile(path string, newHandle func() (*keyset.Handle, error), validate func(*keyset.Handle) error) (*keyset.Handle, fs.FileInfo, error) {
	h, fi, err := readKeysetFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		h, fi, err = createKeysetFile(path, newHandle)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := validate(h); err != nil {
		return nil, nil, fmt.Errorf("seal: key file %s: %w", path, err)
	}
	return h, fi, nil
}

func createKeysetFile(path string, newHandle func() (*keyset.Handle, error)) (*keyset.Handle, fs.FileInfo, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("seal: create key directory: %w", err)
	}
	h, err := newHandle()
	if err != nil {
		return nil, nil, fmt.Errorf("seal: generate key for %s: %w", path, err)
	}
	data, err := marshalKeyset(h)
	if err != nil {
		return nil, nil, err
	}
	if err := createFileExclusive(path, data); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, nil, fmt.Errorf("seal: create key file %s: %w", path, err)
	}
	// Read back what is on disk: if another process won the race to create
	// the file, its key is the one everybody must use.
	return readKeysetFile(path)
}

// writeTemp writes data to a new 0600 temporary file next to path and syncs it.
func writeTemp(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// writeFileAtomic replaces path with data: a crash leaves the old or the new
// content, never a torn file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// createFileExclusive creates path with data only if it does not exist; the
// link makes a complete file appear at once, and fails with fs.ErrExist if
// another process got there first.
func createFileExclusive(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a rename durable. Best effort: not every platform can fsync a
// directory, and the file itself is already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
