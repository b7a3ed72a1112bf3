// Package sqlstore keeps Custos's records in SQLite (the embedded default) or
// PostgreSQL (production) behind one API. It never sees plaintext personal
// data: the services encrypt before they store and decrypt after they load,
// so everything personal that reaches this package is ciphertext or a blind
// index. Each dialect has its own numbered, forward-only migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/custos-cim/custos"
)

// Dialect names the database engine.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says where the store lives.
type Config struct {
	// URL selects PostgreSQL ("postgres://…"); empty means SQLite under DataDir.
	URL string
	// DataDir holds the SQLite file custos.db.
	DataDir string
	// SQLiteSync is the SQLite synchronous level. "full" (the default, also
	// for "") syncs the WAL on every commit, so that what a commit promised
	// survives a power loss: an audit event "committed before the data
	// leaves" must not vanish after the data left. "normal" syncs only at
	// checkpoints; it survives a crash of the process but may lose the last
	// commits on power loss, and is for stores whose loss of the last
	// seconds is acceptable (a test or demo store; see docs/performance.md
	// for what it saves). Anything else is refused.
	SQLiteSync string
	Clock      custos.Clock
}

// DB is an open store.
type DB struct {
	dialect Dialect
	w       *sql.DB // writes; for SQLite a single connection, so writers queue in Go, not in busy loops
	r       *sql.DB // reads; the same pool as w on PostgreSQL
	path    string  // SQLite file
	clock   custos.Clock
	binds   sync.Map // query text → dialect-specific text
	chain   chainConfig
	rmac    RecordMAC                              // tags the rows decisions depend on (integrity.go)
	alarm   func(context.Context, *IntegrityError) // raised when a row fails its tag

	reads  *stmtPool // SQLite: prepared statements of the read pool
	writes writer    // the group-committing writer
	ckpt   *sql.DB   // SQLite: the WAL checkpointer's connection
	ckStop chan struct{}
	ckDone chan struct{}
}

// SQLiteSynchronous returns the PRAGMA synchronous value of a
// Config.SQLiteSync setting: FULL for "" and "full", NORMAL for "normal".
func SQLiteSynchronous(level string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "", "full":
		return "FULL", nil
	case "normal":
		return "NORMAL", nil
	}
	return "", fmt.Errorf("unknown SQLite synchronous level %q: want full (the default) or normal", level)
}

// Open connects to the store. It does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	db := &DB{clock: cfg.Clock}
	if db.clock == nil {
		db.clock = custos.SystemClock{}
	}
	if cfg.URL != "" {
		db.dialect = Postgres
		p, err := sql.Open("pgx", cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		p.SetMaxOpenConns(max(8, 4*runtime.NumCPU()))
		p.SetMaxIdleConns(max(8, 4*runtime.NumCPU()))
		p.SetConnMaxIdleTime(5 * time.Minute)
		db.w, db.r = p, p
		if err := p.PingContext(ctx); err != nil {
			p.Close()
			return nil, fmt.Errorf("connect to postgres: %w", err)
		}
		db.startWriter(nil)
		return db, nil
	}
	db.dialect = SQLite
	dir := cfg.DataDir
	if dir == "" {
		dir = "custos-data"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	sync, err := SQLiteSynchronous(cfg.SQLiteSync)
	if err != nil {
		return nil, err
	}
	db.path = filepath.Join(dir, "custos.db")
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(" + sync + ")&_pragma=secure_delete(1)&_pragma=temp_store(MEMORY)"
	u := "file:" + (&url.URL{Path: db.path}).EscapedPath()
	// The writer does not checkpoint the WAL itself (a background
	// checkpointer does, off the commit path) and keeps a 32 MiB page cache:
	// twice that bought nothing measurable and took a 1,000,000-row
	// transaction import past 200 MB resident (docs/performance.md).
	if db.w, err = sql.Open("sqlite", u+"?"+pragmas+"&_pragma=wal_autocheckpoint(0)&_pragma=cache_size(-32768)"); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxIdleTime(0)
	db.w.SetConnMaxLifetime(0)
	if err := db.w.PingContext(ctx); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", db.path, err)
	}
	if err := os.Chmod(db.path, 0o600); err != nil {
		db.w.Close()
		return nil, err
	}
	if db.r, err = sql.Open("sqlite", u+"?"+pragmas+"&_pragma=query_only(1)&_pragma=cache_size(-16384)"); err != nil {
		db.w.Close()
		return nil, err
	}
	if db.ckpt, err = sql.Open("sqlite", u+"?"+pragmas); err != nil {
		db.w.Close()
		db.r.Close()
		return nil, err
	}
	db.ckpt.SetMaxOpenConns(1)
	n := max(4, 2*runtime.NumCPU())
	db.r.SetMaxOpenConns(n)
	db.r.SetMaxIdleConns(n)
	db.reads = &stmtPool{pool: db.r}
	// The writer owns the only write connection for the life of the store.
	conn, err := db.w.Conn(ctx)
	if err != nil {
		db.r.Close()
		db.w.Close()
		return nil, err
	}
	db.startWriter(conn)
	db.startCheckpointer()
	return db, nil
}

// Close stops the writer (after it finishes what it has accepted) and
// releases the connections.
func (db *DB) Close() error {
	db.stopWriter()
	db.stopCheckpointer()
	if db.r != db.w {
		db.r.Close()
	}
	return db.w.Close()
}

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Path is the SQLite database file ("" on PostgreSQL).
func (db *DB) Path() string { return db.path }

// Now is the store's clock.
func (db *DB) Now() time.Time { return db.clock.Now() }

// SetClock replaces the clock (tests).
func (db *DB) SetClock(c custos.Clock) { db.clock = c }

// queryer is what *sql.DB, *sql.Tx and the statement caches have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx runs queries: inside the writer's transaction (Write), inside a
// read-only transaction (Snapshot) or straight on the read pool (Reader).
type Tx struct {
	db *DB
	q  queryer
	// batched: the transaction is shared with other writers, so no caller's
	// cancellation may interrupt a statement (that would roll back everyone).
	batched bool
	// head is the audit chain head as extended by this write transaction.
	head *chainHead
}

// Snapshot runs fn in a read-only transaction, so that all its reads see one
// consistent state.
func (db *DB) Snapshot(ctx context.Context, fn func(*Tx) error) error {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: db.dialect == Postgres})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var q queryer = tx
	if db.reads != nil {
		q = &stmtTx{tx: tx, pool: db.reads}
	}
	err = fn(&Tx{db: db, q: q})
	db.raiseFrom(ctx, err)
	return err
}

// Reader returns a Tx that runs each query on its own from the read pool.
func (db *DB) Reader() *Tx {
	if db.reads != nil {
		return &Tx{db: db, q: db.reads}
	}
	return &Tx{db: db, q: db.r}
}

// bind rewrites '?' placeholders into '$n' for PostgreSQL. Queries never put
// '?' inside string literals.
func (db *DB) bind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	if v, ok := db.binds.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	s := b.String()
	db.binds.Store(q, s)
	return s
}

func (tx *Tx) ctx(ctx context.Context) context.Context {
	if tx.batched {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.q.ExecContext(tx.ctx(ctx), tx.db.bind(q), args...)
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.q.QueryContext(tx.ctx(ctx), tx.db.bind(q), args...)
}

func (tx *Tx) row(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.q.QueryRowContext(tx.ctx(ctx), tx.db.bind(q), args...)
}

// execScript runs a multi-statement script (migrations) without preparing it.
func (tx *Tx) execScript(ctx context.Context, script string) error {
	if w, ok := tx.q.(*stmtConn); ok {
		_, err := w.conn.ExecContext(tx.ctx(ctx), script)
		return err
	}
	_, err := tx.q.ExecContext(tx.ctx(ctx), script)
	return err
}

// Now is the store's clock time, truncated to what both engines keep.
func (tx *Tx) Now() time.Time { return tx.db.clock.Now().UTC().Truncate(time.Microsecond) }

// ts converts a time into the dialect's column value.
func (db *DB) ts(t time.Time) any {
	if db.dialect == SQLite {
		if t.IsZero() {
			return int64(0)
		}
		return t.UnixMicro()
	}
	return t.UTC()
}

// tsp converts an optional time.
func (db *DB) tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return db.ts(*t)
}

// scanTime reads either dialect's time column.
type scanTime struct{ t *time.Time }

func (s scanTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case int64:
		if v == 0 {
			*s.t = time.Time{}
		} else {
			*s.t = time.UnixMicro(v).UTC()
		}
	case time.Time:
		if v.Year() <= 1 {
			*s.t = time.Time{}
		} else {
			*s.t = v.UTC()
		}
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

// scanTimePtr reads a nullable time column.
type scanTimePtr struct{ t **time.Time }

func (s scanTimePtr) Scan(src any) error {
	if src == nil {
		*s.t = nil
		return nil
	}
	var t time.Time
	if err := (scanTime{&t}).Scan(src); err != nil {
		return err
	}
	*s.t = &t
	return nil
}

// isUnique reports a unique or primary-key violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// isForeignKey reports a foreign-key violation.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	return false
}

// notFound maps sql.ErrNoRows to the domain's not-found error.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return custos.ErrNotFound
	}
	return err
}

// like escapes a LIKE pattern fragment.
func like(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// placeholders returns "?, ?, …" for n arguments.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
