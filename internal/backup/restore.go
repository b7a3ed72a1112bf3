package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/custos-cim/custos/internal/sqlstore"
)

// Target is where a restore goes: a new or empty directory for a SQLite
// backup, or a PostgreSQL URL whose search_path names an existing, empty
// schema. KeysDir receives the keys of a backup that holds them (default
// DataDir/keys for SQLite; required for PostgreSQL); it must not hold key
// files already.
type Target struct {
	DataDir string
	DBURL   string
	KeysDir string
}

func (t Target) keysDir() string {
	if t.KeysDir == "" && t.DBURL == "" && t.DataDir != "" {
		return filepath.Join(t.DataDir, "keys")
	}
	return t.KeysDir
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	Passphrase string
	Progress   func(Progress)

	id age.Identity // Drill's: the file key is derived from the passphrase once
}

// identity returns what decrypts the file: scrypt is deliberately slow
// (about a second), so a drill derives the file key once and reuses it.
func (o *RestoreOptions) identity() (age.Identity, error) {
	if o.id != nil {
		return o.id, nil
	}
	id, err := age.NewScryptIdentity(o.Passphrase)
	if err != nil {
		return nil, err
	}
	return id, nil
}

// keyOnce remembers the file key an identity unwrapped, for reading the
// same file again. The header MAC still checks it on every read.
type keyOnce struct {
	id  age.Identity
	key []byte
}

func (k *keyOnce) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if k.key != nil {
		return k.key, nil
	}
	key, err := k.id.Unwrap(stanzas)
	if err == nil {
		k.key = key
	}
	return key, err
}

// TableCount compares a table's rows in the manifest and in the restore.
type TableCount struct {
	Table    string `json:"table"`
	Manifest int64  `json:"manifest"`
	Restored int64  `json:"restored"`
}

// Restored describes a finished restore.
type Restored struct {
	Manifest *Manifest
	Tables   []TableCount
	Migrated []string // migrations applied after the load, up to this binary's schema
	KeysDir  string   // where the backup's keys were written; "" if it has none
}

// ErrNotEmpty reports a restore target that already holds something.
var ErrNotEmpty = errors.New("the restore target is not empty: a restore never writes over existing data")

// Restore restores a backup into an empty target and brings its schema up
// to this binary's version. It verifies, before anything becomes visible,
// that the archive decrypts and authenticates to its end, that every part
// matches the manifest's size and SHA-256, that the SQLite file passes its
// integrity check, and that every table holds the manifest's row count. On
// any failure or a cancelled ctx it removes what it wrote: a PostgreSQL
// load is one transaction, a SQLite file is renamed into place last.
func Restore(ctx context.Context, file string, t Target, o RestoreOptions) (*Restored, error) {
	if err := checkPassphrase(o.Passphrase); err != nil {
		return nil, err
	}
	if (t.DataDir == "") == (t.DBURL == "") {
		return nil, errors.New("restore: give either a data directory (SQLite) or a database URL (PostgreSQL)")
	}
	var db *sqlstore.DB
	if t.DBURL != "" {
		var err error
		if db, err = sqlstore.Open(ctx, sqlstore.Config{URL: t.DBURL}); err != nil {
			return nil, err
		}
		defer db.Close()
		empty, err := db.IsEmpty(ctx)
		if err != nil {
			return nil, err
		}
		if !empty {
			return nil, ErrNotEmpty
		}
	} else if !emptyDir(t.DataDir) {
		return nil, fmt.Errorf("%w: %s", ErrNotEmpty, t.DataDir)
	}
	id, err := o.identity()
	if err != nil {
		return nil, err
	}
	a, err := openArchive(ctx, file, id, o.Progress)
	if err != nil {
		return nil, err
	}
	defer a.close()
	m := a.m
	want := sqlstore.SQLite
	if t.DBURL != "" {
		want = sqlstore.Postgres
	}
	if m.Dialect != want {
		flag := map[sqlstore.Dialect]string{sqlstore.SQLite: "--data DIR", sqlstore.Postgres: "--db URL"}[m.Dialect]
		return nil, fmt.Errorf("this is a %s backup: restore it with %s", m.Dialect, flag)
	}
	known, err := sqlstore.KnownVersion(m.Dialect)
	if err != nil {
		return nil, err
	}
	if m.SchemaVersion > known {
		return nil, fmt.Errorf("the backup's schema version %d is newer than this binary's (%d): restore with a newer custos", m.SchemaVersion, known)
	}
	keysDir := t.keysDir()
	if m.KeysIncluded {
		if keysDir == "" {
			return nil, errors.New("the backup holds the key files: give the directory to restore them to (--keys DIR)")
		}
		for _, k := range keyFiles {
			if exists(filepath.Join(keysDir, k)) {
				return nil, fmt.Errorf("%w: %s already holds %s", ErrNotEmpty, keysDir, k)
			}
		}
	}
	r := &restore{a: a, keysDir: keysDir, res: &Restored{Manifest: m}}
	defer r.cleanup()
	if db != nil {
		err = r.postgres(ctx, db)
	} else {
		err = r.sqlite(ctx, t.DataDir)
	}
	if err != nil {
		return nil, err
	}
	r.done = true
	return r.res, nil
}

func emptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	return err == nil && len(entries) == 0
}

// restore is one restore in progress and what to undo if it fails.
type restore struct {
	a        *archive
	keysDir  string
	res      *Restored
	done     bool
	undo     []func()
	keyTemps map[string]string // archive name → temporary file
}

func (r *restore) cleanup() {
	if r.done {
		return
	}
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
}

// sqlite restores into a new directory.
func (r *restore) sqlite(ctx context.Context, dataDir string) error {
	if !exists(dataDir) {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return err
		}
		r.undo = append(r.undo, func() { os.RemoveAll(dataDir) })
	}
	tmp := filepath.Join(dataDir, ".custos.db.restore")
	r.undo = append(r.undo, func() { os.Remove(tmp) })
	err := r.a.parts(ctx, func(p Part, src io.Reader) error {
		if p.Path != sqliteName {
			return r.key(p, src)
		}
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, src)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := sqlstore.CheckSQLiteFile(ctx, tmp); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	stats, err := sqlstore.SQLiteFileStats(ctx, tmp)
	if err != nil {
		return err
	}
	if err := r.compare(stats.Tables); err != nil {
		return err
	}
	final := filepath.Join(dataDir, "custos.db")
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	r.undo = append(r.undo, func() { os.Remove(final); os.Remove(final + "-wal"); os.Remove(final + "-shm") })
	syncDir(dataDir)
	if err := r.placeKeys(); err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: dataDir})
	if err != nil {
		return err
	}
	defer db.Close()
	return r.finish(ctx, db)
}

// finish brings the restored store to this binary's schema and frees the
// job leases it copied from the backed-up servers.
func (r *restore) finish(ctx context.Context, db *sqlstore.DB) error {
	var err error
	if r.res.Migrated, err = db.Migrate(ctx); err != nil {
		return err
	}
	return db.ResetJobLeases(ctx, time.Now())
}

// postgres restores into an empty schema.
func (r *restore) postgres(ctx context.Context, db *sqlstore.DB) error {
	m := r.a.m
	if _, err := db.MigrateTo(ctx, m.SchemaVersion); err != nil {
		db.DropAll(ctx)
		return err
	}
	r.undo = append(r.undo, func() { db.DropAll(context.Background()) })
	columns := map[string][]string{}
	want := map[string]int64{}
	for _, t := range m.Tables {
		columns[t.Name], want[t.Name] = t.Columns, t.Rows
	}
	err := db.LoadPostgres(ctx, m.Sequences, m.Partitions, func(l *sqlstore.PGLoader) error {
		return r.a.parts(ctx, func(p Part, src io.Reader) error {
			if p.Table == "" {
				return r.key(p, src)
			}
			cols, ok := columns[p.Table]
			if !ok {
				return fmt.Errorf("%w: part %s names table %s, which the manifest does not list", ErrCorrupt, p.Path, p.Table)
			}
			n, err := l.Copy(ctx, p.Table, cols, src)
			if err != nil {
				return err
			}
			if n != want[p.Table] {
				return fmt.Errorf("%w: table %s: %d rows loaded, the manifest says %d", ErrCorrupt, p.Table, n, want[p.Table])
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	counts, err := db.TableCounts(ctx)
	if err != nil {
		return err
	}
	if err := r.compare(counts); err != nil {
		return err
	}
	if err := r.placeKeys(); err != nil {
		return err
	}
	return r.finish(ctx, db)
}

// compare checks the restored row counts against the manifest, table by
// table, before the restore is made visible.
func (r *restore) compare(got []sqlstore.TableStat) error {
	have := map[string]int64{}
	for _, t := range got {
		have[t.Name] = t.Rows
	}
	var bad []string
	for _, t := range r.a.m.Tables {
		n, ok := have[t.Name]
		r.res.Tables = append(r.res.Tables, TableCount{Table: t.Name, Manifest: t.Rows, Restored: n})
		if !ok || n != t.Rows {
			bad = append(bad, fmt.Sprintf("%s %d≠%d", t.Name, n, t.Rows))
		}
		delete(have, t.Name)
	}
	for name, n := range have {
		if n > 0 {
			bad = append(bad, fmt.Sprintf("%s %d rows not in the manifest", name, n))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: row counts differ from the manifest: %s", ErrCorrupt, strings.Join(bad, ", "))
	}
	return nil
}

// key writes a key file of the archive to a temporary file in the keys
// directory; placeKeys renames them once everything else is verified.
func (r *restore) key(p Part, src io.Reader) error {
	name, ok := strings.CutPrefix(p.Path, keysPrefix)
	if !ok || !contains(keyFiles, name) {
		return fmt.Errorf("%w: unexpected part %s", ErrCorrupt, p.Path)
	}
	if !exists(r.keysDir) {
		if err := os.MkdirAll(r.keysDir, 0o700); err != nil {
			return err
		}
		dir := r.keysDir
		r.undo = append(r.undo, func() { os.Remove(dir) })
	}
	f, err := os.CreateTemp(r.keysDir, "."+name+".restore-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	r.undo = append(r.undo, func() { os.Remove(tmp) })
	if r.keyTemps == nil {
		r.keyTemps = map[string]string{}
	}
	r.keyTemps[name] = tmp
	err = f.Chmod(0o600)
	if err == nil {
		_, err = io.Copy(f, src)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (r *restore) placeKeys() error {
	if !r.a.m.KeysIncluded {
		return nil
	}
	for _, name := range keyFiles {
		tmp, ok := r.keyTemps[name]
		if !ok {
			return fmt.Errorf("%w: key file %s missing from the archive", ErrCorrupt, name)
		}
		final := filepath.Join(r.keysDir, name)
		if err := os.Link(tmp, final); err != nil {
			return fmt.Errorf("place key file %s: %w", final, err)
		}
		r.undo = append(r.undo, func() { os.Remove(final) })
		os.Remove(tmp)
	}
	syncDir(r.keysDir)
	r.res.KeysDir = r.keysDir
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// archive is an open, decrypting backup file positioned after its manifest.
type archive struct {
	f  *os.File
	ar io.Reader
	gz *gzip.Reader
	tr *tar.Reader
	m  *Manifest
}

func (a *archive) close() { a.f.Close() }

// corruption marks errors that come from reading the archive.
type corruption struct{ err error }

func (c corruption) Error() string   { return ErrCorrupt.Error() + ": " + c.err.Error() }
func (c corruption) Unwrap() []error { return []error{ErrCorrupt, c.err} }

func corrupt(err error) error {
	if err == nil || errors.Is(err, ErrCorrupt) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return corruption{err}
}

// readErrs turns every read error but io.EOF into a corruption.
type readErrs struct{ r io.Reader }

func (r readErrs) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = corrupt(err)
	}
	return n, err
}

// maxManifest bounds the manifest's size.
const maxManifest = 64 << 20

// openArchive decrypts a backup file and reads its manifest.
func openArchive(ctx context.Context, file string, id age.Identity, progress func(Progress)) (*archive, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	src := &ctxReader{ctx: ctx, r: f, progress: func(n int64) {
		if progress != nil {
			progress(Progress{Phase: "restore", Done: n, Total: st.Size()})
		}
	}}
	ar, err := age.Decrypt(src, id)
	if err != nil {
		f.Close()
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, ErrWrongPassphrase
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, corrupt(fmt.Errorf("not a readable age file: %w", err))
	}
	a := &archive{f: f, ar: readErrs{ar}}
	if a.gz, err = gzip.NewReader(a.ar); err != nil {
		f.Close()
		return nil, corrupt(err)
	}
	a.tr = tar.NewReader(a.gz)
	h, err := a.tr.Next()
	if err != nil {
		f.Close()
		return nil, corrupt(err)
	}
	if h.Name != manifestName {
		f.Close()
		return nil, corrupt(fmt.Errorf("the archive starts with %s, not the manifest", h.Name))
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(readErrs{a.tr}, maxManifest)).Decode(&m); err != nil {
		f.Close()
		return nil, corrupt(fmt.Errorf("manifest: %w", err))
	}
	if m.Format != FormatVersion {
		f.Close()
		return nil, fmt.Errorf("backup format %d is not supported by this binary (format %d)", m.Format, FormatVersion)
	}
	a.m = &m
	return a, nil
}

// parts calls fn for every part after the manifest, in order, with a reader
// of its content; once fn has read it (whatever fn leaves is read too) the
// part's size and SHA-256 are checked. After the last part it reads the
// archive to its end, so that the authentication of the last chunk and the
// gzip checksum are checked before the caller commits anything.
func (a *archive) parts(ctx context.Context, fn func(Part, io.Reader) error) error {
	byPath := map[string]Part{}
	for _, p := range a.m.Parts {
		byPath[p.Path] = p
	}
	seen := 0
	for {
		h, err := a.tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return corrupt(err)
		}
		p, ok := byPath[h.Name]
		if !ok || a.m.Parts[seen].Path != h.Name {
			return corrupt(fmt.Errorf("unexpected part %s", h.Name))
		}
		seen++
		hr := &hashReader{r: readErrs{a.tr}, h: sha256.New()}
		if err := fn(p, hr); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, hr); err != nil {
			return err
		}
		if hr.n != p.Size || hex.EncodeToString(hr.h.Sum(nil)) != p.SHA256 {
			return corrupt(fmt.Errorf("part %s does not match its checksum", p.Path))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if seen != len(a.m.Parts) {
		return corrupt(fmt.Errorf("%d of %d parts present", seen, len(a.m.Parts)))
	}
	if _, err := io.Copy(io.Discard, readErrs{a.gz}); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, a.ar); err != nil {
		return err
	}
	return nil
}

type hashReader struct {
	r io.Reader
	h interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	n int64
}

func (r *hashReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	return n, err
}

// ReadManifest decrypts a backup's manifest without restoring anything.
func ReadManifest(ctx context.Context, file, passphrase string) (*Manifest, error) {
	if err := checkPassphrase(passphrase); err != nil {
		return nil, err
	}
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, err
	}
	return readManifest(ctx, file, id)
}

func readManifest(ctx context.Context, file string, id age.Identity) (*Manifest, error) {
	a, err := openArchive(ctx, file, id, nil)
	if err != nil {
		return nil, err
	}
	defer a.close()
	return a.m, nil
}
