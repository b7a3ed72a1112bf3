// Package backup makes, restores and drills Custos backups (R-D2).
//
// A backup is one file: a gzip-compressed tar archive encrypted with age
// under a passphrase (scrypt) that the operator holds and that is never
// stored beside it. Inside:
//
//	manifest.json           format version, dialect, time, schema version,
//	                        audit head and signing public key, row counts
//	                        per table, size and SHA-256 of every part
//	data/custos.db          SQLite: a VACUUM INTO snapshot
//	data/NNNN_TABLE.copy    PostgreSQL: each table in COPY text format,
//	                        all from one REPEATABLE READ snapshot, in load order
//	keys/…                  only with IncludeKeys: kek.json, index.json,
//	                        auditref.json, auditsign.json
//
// so an operator with the passphrase can also open it without Custos:
// `age -d FILE | tar xz`.
//
// The key directory is not in a backup unless asked for. Customer fields
// are encrypted under per-customer data keys wrapped by the key-encryption
// key in kek.json; a backup without the keys is ciphertext to whoever
// steals it together with its passphrase, and the keys are backed up on
// their own, to a different place (README, docs/backup.md). IncludeKeys
// puts them inside the encrypted archive for disaster recovery, where one
// file and one passphrase must bring everything back.
//
// Age authenticates every 64 KiB chunk and the end of the stream, so a
// corrupted or truncated file fails to decrypt, and a wrong passphrase is
// told apart from both; the manifest's SHA-256 sums check each part once
// more end to end.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// FormatVersion is the version of the archive layout and manifest.
const FormatVersion = 1

// MinPassphrase is the shortest passphrase accepted, in characters.
const MinPassphrase = 12

// Names inside the archive.
const (
	manifestName = "manifest.json"
	sqliteName   = "data/custos.db"
	keysPrefix   = "keys/"
)

// keyFiles are the files of a key directory, in archive order.
var keyFiles = seal.KeyFiles

// Manifest describes a backup. It holds no personal data.
type Manifest struct {
	Format          int                       `json:"format"`
	Dialect         sqlstore.Dialect          `json:"dialect"`
	CreatedAt       time.Time                 `json:"created_at"`
	SchemaVersion   int                       `json:"schema_version"`
	AuditHead       int64                     `json:"audit_head"`
	AuditKeyID      string                    `json:"audit_key_id,omitempty"`
	AuditPublicKey  string                    `json:"audit_public_key,omitempty"` // base64 Ed25519: verifies the checkpoints without the keys
	CheckpointEvery int64                     `json:"checkpoint_every"`
	KEKVersions     []uint32                  `json:"kek_versions,omitempty"`
	KeysIncluded    bool                      `json:"keys_included"`
	Tables          []sqlstore.TableStat      `json:"tables"`
	Sequences       []sqlstore.SequenceState  `json:"sequences,omitempty"`
	Partitions      []sqlstore.PartitionState `json:"partitions,omitempty"` // PostgreSQL: created before the rows go in
	Parts           []Part                    `json:"parts"`
}

// Part is one file of the archive after the manifest.
type Part struct {
	Path   string `json:"path"`
	Table  string `json:"table,omitempty"` // PostgreSQL: the table the part loads
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Rows is the total row count.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// Progress reports a long step: Phase names it, Done of Total bytes (Total
// is an estimate, or -1 when unknown).
type Progress struct {
	Phase       string
	Done, Total int64
}

// Options configure Create.
type Options struct {
	Passphrase string
	// WorkFactor is the scrypt cost as log2(N); 0 means age's default (18,
	// about a second and 256 MiB to derive the key). Tests lower it.
	WorkFactor int
	// IncludeKeys puts the key directory into the archive.
	IncludeKeys bool
	// KeysDir and KEKPath locate the key files (KEKPath defaults to
	// KeysDir/kek.json). Without IncludeKeys they are only read for the
	// public audit signing key and the KEK versions, and may be missing.
	KeysDir, KEKPath string
	// CheckpointEvery is the store's audit checkpoint interval (events),
	// recorded for the verifier.
	CheckpointEvery int64
	Clock           custos.Clock
	Progress        func(Progress)
}

// ErrPassphrase reports a missing or too short passphrase.
var ErrPassphrase = fmt.Errorf("a backup passphrase of at least %d characters is required (--passphrase-file or CUSTOS_BACKUP_PASSPHRASE)", MinPassphrase)

// ErrWrongPassphrase reports a passphrase that does not open the backup.
var ErrWrongPassphrase = errors.New("wrong passphrase: it does not open this backup")

// ErrCorrupt reports a backup file that fails authentication or its
// checksums: damaged, truncated or tampered with.
var ErrCorrupt = errors.New("the backup file is damaged, truncated or tampered with")

func checkPassphrase(p string) error {
	if utf8.RuneCountInString(p) < MinPassphrase {
		return ErrPassphrase
	}
	return nil
}

func (o *Options) progress(phase string, done, total int64) {
	if o.Progress != nil {
		o.Progress(Progress{Phase: phase, Done: done, Total: total})
	}
}

func (o *Options) kekPath() string {
	if o.KEKPath != "" {
		return o.KEKPath
	}
	return filepath.Join(o.KeysDir, seal.KEKFile)
}

// spooled is a part written to the spool directory before the archive.
type spooled struct {
	Part
	file string
}

// Create writes an encrypted backup of the store to out, which must not
// exist, while the store keeps serving. It writes to a temporary file next
// to out and renames it at the end, so an error or a cancelled ctx
// (Ctrl-C) leaves nothing behind; the parts are spooled meanwhile in a
// private (0700) temporary directory next to out, removed on return.
func Create(ctx context.Context, db *sqlstore.DB, out string, o Options) (*Manifest, error) {
	if err := checkPassphrase(o.Passphrase); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("%s exists: a backup never overwrites a file", out)
	}
	clock := o.Clock
	if clock == nil {
		clock = custos.SystemClock{}
	}
	dir := filepath.Dir(out)
	spool, err := os.MkdirTemp(dir, ".custos-backup-*")
	if err != nil {
		return nil, fmt.Errorf("spool directory: %w", err)
	}
	defer os.RemoveAll(spool)

	m := &Manifest{Format: FormatVersion, Dialect: db.Dialect(), CreatedAt: clock.Now().UTC().Truncate(time.Second),
		CheckpointEvery: o.CheckpointEvery, KeysIncluded: o.IncludeKeys}
	keys, err := readKeys(&o, m, spool)
	if err != nil {
		return nil, err
	}

	var parts []spooled
	var stats *sqlstore.SnapshotStats
	switch db.Dialect() {
	case sqlstore.SQLite:
		file := filepath.Join(spool, "custos.db")
		if err := db.SnapshotSQLite(ctx, file, func(done, total int64) { o.progress("snapshot", done, total) }); err != nil {
			return nil, err
		}
		if err := sqlstore.CheckSQLiteFile(ctx, file); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		if stats, err = sqlstore.SQLiteFileStats(ctx, file); err != nil {
			return nil, err
		}
		p, err := hashFile(file)
		if err != nil {
			return nil, err
		}
		p.Path = sqliteName
		parts = append(parts, spooled{Part: p, file: file})
	case sqlstore.Postgres:
		if parts, stats, err = dumpPostgres(ctx, db, spool, &o); err != nil {
			return nil, err
		}
	}
	m.SchemaVersion, m.AuditHead, m.Tables, m.Sequences, m.Partitions = stats.SchemaVersion, stats.AuditHead, stats.Tables, stats.Sequences, stats.Partitions
	parts = append(parts, keys...)
	for _, p := range parts {
		m.Parts = append(m.Parts, p.Part)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := writeArchive(ctx, out, m, parts, &o); err != nil {
		return nil, err
	}
	return m, nil
}

// readKeys records the public facts of the keys in the manifest (the audit
// signing public key, the KEK versions) and, with IncludeKeys, copies the
// key files into the spool directory, so that the archive holds the keys
// as they were read even if a rotation rewrites them meanwhile.
func readKeys(o *Options, m *Manifest, spool string) ([]spooled, error) {
	signPath := filepath.Join(o.KeysDir, seal.SigningKeyFile)
	if o.KeysDir != "" && exists(signPath) {
		s, err := seal.OpenSigner(signPath)
		if err != nil {
			return nil, err
		}
		m.AuditKeyID, m.AuditPublicKey = s.KeyID(), base64.StdEncoding.EncodeToString(s.PublicKey())
	}
	if o.KeysDir != "" && exists(o.kekPath()) {
		k, err := seal.OpenKeysetKEK(o.kekPath())
		if err != nil {
			return nil, err
		}
		for _, v := range k.Versions() {
			m.KEKVersions = append(m.KEKVersions, v.ID)
		}
	}
	if !o.IncludeKeys {
		return nil, nil
	}
	if o.KeysDir == "" {
		return nil, errors.New("--include-keys: the key directory is not set")
	}
	var out []spooled
	for _, name := range keyFiles {
		file := filepath.Join(o.KeysDir, name)
		if name == seal.KEKFile {
			file = o.kekPath()
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--include-keys: %w", err)
		}
		copyPath := filepath.Join(spool, "key-"+name)
		if err := os.WriteFile(copyPath, data, 0o600); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		out = append(out, spooled{Part: Part{Path: keysPrefix + name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, file: copyPath})
	}
	return out, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// dumpPostgres copies every table to a spool file of its own.
func dumpPostgres(ctx context.Context, db *sqlstore.DB, spool string, o *Options) ([]spooled, *sqlstore.SnapshotStats, error) {
	total, err := db.PostgresSize(ctx)
	if err != nil {
		return nil, nil, err
	}
	var (
		parts []spooled
		cur   *os.File
		hw    *hashWriter
		done  int64
	)
	closeCur := func() error {
		if cur == nil {
			return nil
		}
		err := cur.Close()
		p := &parts[len(parts)-1]
		p.Size, p.SHA256 = hw.n, hex.EncodeToString(hw.h.Sum(nil))
		done += hw.n
		cur = nil
		return err
	}
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	stats, err := db.DumpPostgres(ctx, func(table string) (io.Writer, error) {
		if err := closeCur(); err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%04d_%s.copy", len(parts)+1, table)
		f, err := os.OpenFile(filepath.Join(spool, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, err
		}
		cur = f
		base := done
		hw = &hashWriter{h: sha256.New(), w: f, progress: func(n int64) { o.progress("snapshot", base+n, max(total, base+n)) }}
		parts = append(parts, spooled{Part: Part{Path: "data/" + name, Table: table}, file: f.Name()})
		return hw, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := closeCur(); err != nil {
		return nil, nil, err
	}
	if len(parts) != len(stats.Tables) {
		return nil, nil, fmt.Errorf("dump: %d parts for %d tables", len(parts), len(stats.Tables))
	}
	o.progress("snapshot", done, done)
	return parts, stats, nil
}

// hashWriter hashes and counts what it writes.
type hashWriter struct {
	h        hash.Hash
	w        io.Writer
	n        int64
	progress func(n int64)
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	if w.progress != nil {
		w.progress(w.n)
	}
	return n, err
}

func hashFile(path string) (Part, error) {
	f, err := os.Open(path)
	if err != nil {
		return Part{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Part{}, err
	}
	return Part{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeArchive encrypts the manifest and the parts into out.
func writeArchive(ctx context.Context, out string, m *Manifest, parts []spooled, o *Options) (err error) {
	rcpt, err := age.NewScryptRecipient(o.Passphrase)
	if err != nil {
		return err
	}
	if o.WorkFactor > 0 {
		rcpt.SetWorkFactor(o.WorkFactor)
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	enc, err := age.Encrypt(f, rcpt)
	if err != nil {
		return err
	}
	gz, err := gzip.NewWriterLevel(enc, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	man, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(header(manifestName, int64(len(man)), m.CreatedAt)); err != nil {
		return err
	}
	if _, err := tw.Write(man); err != nil {
		return err
	}
	var total, done int64
	for _, p := range parts {
		total += p.Size
	}
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := tw.WriteHeader(header(p.Path, p.Size, m.CreatedAt)); err != nil {
			return err
		}
		src, err := os.Open(p.file)
		if err != nil {
			return err
		}
		n, err := io.Copy(tw, &ctxReader{ctx: ctx, r: src, progress: func(n int64) { o.progress("encrypt", done+n, total) }})
		src.Close()
		if err != nil {
			return err
		}
		if n != p.Size {
			return fmt.Errorf("%s changed while it was archived", p.Path)
		}
		done += n
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// A link, not a rename: it fails instead of replacing a file that
	// appeared at out meanwhile.
	if err := os.Link(tmp, out); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: a backup never overwrites a file", out)
		}
		return err
	}
	os.Remove(tmp)
	syncDir(filepath.Dir(out))
	return nil
}

func header(name string, size int64, t time.Time) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: t, Format: tar.FormatPAX}
}

// ctxReader stops a copy when ctx ends and reports progress.
type ctxReader struct {
	ctx      context.Context
	r        io.Reader
	n        int64
	progress func(n int64)
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.progress != nil && n > 0 {
		r.progress(r.n)
	}
	return n, err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
