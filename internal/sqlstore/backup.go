package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Online backup and restore of the store (R-D2). The backup package owns the
// archive format; this file only knows how to take a consistent copy of the
// data out of each engine and put it back.
//
// SQLite: VACUUM INTO on a connection of its own. It reads one snapshot (a
// read transaction in WAL mode), so it neither waits for nor blocks the
// writer, and it writes a complete, compacted database file.
//
// PostgreSQL: every table of the store's schema is copied out with COPY …
// TO STDOUT inside one REPEATABLE READ READ ONLY transaction, so all tables
// come from the same snapshot, as with pg_dump. A restore migrates an empty
// schema to the backup's schema version, empties the tables (seed rows) and
// copies the rows back in one transaction, then resets the sequences. Doing
// this in Go rather than with pg_dump needs no client binary matching the
// server's major version, restores into whatever schema the target URL's
// search_path names (pg_dump's output is schema-qualified), and counts every
// table's rows inside the very snapshot it copies.

// TableStat is a table of a snapshot: its name, the columns copied (on
// PostgreSQL: every column but the generated ones, in table order) and
// its row count.
type TableStat struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns,omitempty"`
	Rows    int64    `json:"rows"`
}

// SequenceState is a PostgreSQL sequence's position in a snapshot.
type SequenceState struct {
	Name     string `json:"name"`
	Value    int64  `json:"last_value"`
	IsCalled bool   `json:"is_called"`
}

// PartitionState is a partition of a PostgreSQL table in a snapshot (the
// monthly partitions of the transactions): its rows are copied out through
// the parent, so a restore must create it before the parent's rows go in.
type PartitionState struct {
	Name   string `json:"name"`
	Parent string `json:"parent"`
	Bound  string `json:"bound"` // pg_get_expr(relpartbound): FOR VALUES …
}

// SnapshotStats describes what a backup snapshot holds.
type SnapshotStats struct {
	SchemaVersion int
	AuditHead     int64
	Tables        []TableStat // in load order
	Sequences     []SequenceState
	Partitions    []PartitionState
}

// Rows returns the row counts by table name.
func (s *SnapshotStats) Rows() map[string]int64 {
	m := make(map[string]int64, len(s.Tables))
	for _, t := range s.Tables {
		m[t.Name] = t.Rows
	}
	return m
}

// KnownVersion is the schema version this binary migrates a store of the
// dialect to.
func KnownVersion(d Dialect) (int, error) {
	all, err := (&DB{dialect: d}).migrations()
	return len(all), err
}

// SnapshotSQLite writes a consistent copy of the SQLite database to dest,
// which must not exist, while the store keeps serving. progress, if not
// nil, is called with the bytes written so far and the size of the source.
func (db *DB) SnapshotSQLite(ctx context.Context, dest string, progress func(done, total int64)) error {
	if db.dialect != SQLite {
		return errors.New("sqlstore: SnapshotSQLite on " + string(db.dialect))
	}
	// A connection of its own: the writer's is busy with the writer, and the
	// read pool's connections are query_only, which refuses VACUUM.
	c, err := sql.Open("sqlite", "file:"+(&url.URL{Path: db.path}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	var total int64
	if err := c.QueryRowContext(ctx, `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&total); err != nil {
		return fmt.Errorf("size of the database: %w", err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if progress == nil {
			return
		}
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if st, err := os.Stat(dest); err == nil {
					progress(min(st.Size(), total), total)
				}
			}
		}
	}()
	_, err = c.ExecContext(ctx, `VACUUM INTO ?`, dest)
	close(stop)
	<-done
	if err != nil {
		os.Remove(dest)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("VACUUM INTO: %w", err)
	}
	if progress != nil {
		progress(total, total)
	}
	return os.Chmod(dest, 0o600)
}

// SQLiteFileStats reads the schema version, the audit head and the row
// count of every table from a SQLite database file (a snapshot), without
// changing it.
func SQLiteFileStats(ctx context.Context, path string) (*SnapshotStats, error) {
	c, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	var q queryer = c
	st := &SnapshotStats{}
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable SQLite database: %w", path, err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		t := TableStat{Name: n}
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(n)).Scan(&t.Rows); err != nil {
			return nil, fmt.Errorf("count %s: %w", n, err)
		}
		st.Tables = append(st.Tables, t)
	}
	if err := snapshotMeta(func(s string, dest ...any) error { return q.QueryRowContext(ctx, s).Scan(dest...) }, st); err != nil {
		return nil, err
	}
	return st, nil
}

// snapshotMeta reads the schema version and the audit head with scan,
// which runs a one-row query.
func snapshotMeta(scan func(q string, dest ...any) error, st *SnapshotStats) error {
	if err := scan(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`, &st.SchemaVersion); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	err := scan(`SELECT seq FROM audit_head WHERE id = 1`, &st.AuditHead)
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		err = nil
	}
	return err
}

// CheckSQLiteFile runs SQLite's integrity check on a database file.
func CheckSQLiteFile(ctx context.Context, path string) error {
	c, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return err
	}
	defer c.Close()
	var res string
	if err := c.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&res); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// pgSession pins the settings that COPY's text format depends on, so that a
// dump reads back the same whatever the server's or the role's defaults.
const pgSession = `SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL TimeZone = 'UTC'; SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3; SET LOCAL client_encoding = 'UTF8'`

// rawPG runs fn on a dedicated pgx connection of the pool.
func (db *DB) rawPG(ctx context.Context, fn func(*pgx.Conn) error) error {
	if db.dialect != Postgres {
		return errors.New("sqlstore: PostgreSQL only")
	}
	c, err := db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}

// PostgresSize estimates the bytes of the store's tables (for progress bars).
func (db *DB) PostgresSize(ctx context.Context) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_table_size(c.oid)), 0)::bigint FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`).Scan(&n)
	return n, err
}

// DumpPostgres copies every table of the store's schema out of one
// snapshot. For each table, in an order in which they can be loaded back
// (referenced tables first), part returns where its rows go, in COPY text
// format; the table's row count is known once the copy ends.
func (db *DB) DumpPostgres(ctx context.Context, part func(table string) (io.Writer, error)) (*SnapshotStats, error) {
	st := &SnapshotStats{}
	err := db.rawPG(ctx, func(c *pgx.Conn) error {
		tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if _, err := tx.Exec(ctx, pgSession); err != nil {
			return err
		}
		tables, err := pgTables(ctx, tx)
		if err != nil {
			return err
		}
		if err := snapshotMeta(func(s string, dest ...any) error { return tx.QueryRow(ctx, s).Scan(dest...) }, st); err != nil {
			return err
		}
		for _, t := range tables {
			w, err := part(t.Name)
			if err != nil {
				return err
			}
			cols := make([]string, len(t.Columns))
			for i, col := range t.Columns {
				cols[i] = pgx.Identifier{col}.Sanitize()
			}
			tag, err := tx.Conn().PgConn().CopyTo(ctx, w, `COPY (SELECT `+strings.Join(cols, ", ")+` FROM `+pgx.Identifier{t.Name}.Sanitize()+`) TO STDOUT`)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t.Name, err)
			}
			t.Rows = tag.RowsAffected()
			st.Tables = append(st.Tables, t)
		}
		rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind = 'S' ORDER BY c.relname`)
		if err != nil {
			return err
		}
		seqs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, s := range seqs {
			sq := SequenceState{Name: s}
			if err := tx.QueryRow(ctx, `SELECT last_value, is_called FROM `+pgx.Identifier{s}.Sanitize()).Scan(&sq.Value, &sq.IsCalled); err != nil {
				return fmt.Errorf("sequence %s: %w", s, err)
			}
			st.Sequences = append(st.Sequences, sq)
		}
		rows, err = tx.Query(ctx, `SELECT c.relname, p.relname, pg_get_expr(c.relpartbound, c.oid)
			FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relispartition AND c.relkind IN ('r', 'p') ORDER BY c.relname`)
		if err != nil {
			return err
		}
		st.Partitions, err = pgx.CollectRows(rows, pgx.RowToStructByPos[PartitionState])
		if err != nil {
			return fmt.Errorf("partitions: %w", err)
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return st, nil
}

// pgTables lists the tables of the current schema with their writable
// columns, referenced tables before the tables referring to them.
func pgTables(ctx context.Context, tx pgx.Tx) ([]TableStat, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname, a.attname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, err
	}
	byName := map[string]*TableStat{}
	var names []string
	for rows.Next() {
		var t, col string
		if err := rows.Scan(&t, &col); err != nil {
			rows.Close()
			return nil, err
		}
		ts, ok := byName[t]
		if !ok {
			ts = &TableStat{Name: t}
			byName[t] = ts
			names = append(names, t)
		}
		ts.Columns = append(ts.Columns, col)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT DISTINCT c.relname, p.relname FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			rows.Close()
			return nil, err
		}
		if child != parent { // a self-reference is checked at the end of the COPY
			deps[child] = append(deps[child], parent)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	order, err := topoSort(names, deps)
	if err != nil {
		return nil, err
	}
	out := make([]TableStat, len(order))
	for i, n := range order {
		out[i] = *byName[n]
	}
	return out, nil
}

// topoSort orders names so that each comes after its dependencies (only
// those among names count), alphabetically where the order is free.
func topoSort(names []string, deps map[string][]string) ([]string, error) {
	sort.Strings(names)
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	state := map[string]int{} // 1 visiting, 2 done
	var out []string
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("tables reference each other in a cycle: %s", strings.Join(append(path, n), " → "))
		}
		state[n] = 1
		ds := append([]string(nil), deps[n]...)
		sort.Strings(ds)
		for _, d := range ds {
			if known[d] {
				if err := visit(d, append(path, n)); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		out = append(out, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// IsEmpty reports whether the store holds no tables at all: the only kind
// of target a restore writes into. On PostgreSQL it looks at the schema the
// URL's search_path selects, which must exist.
func (db *DB) IsEmpty(ctx context.Context) (bool, error) {
	var n int
	if db.dialect == SQLite {
		err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n)
		return n == 0, err
	}
	var schema sql.NullString
	if err := db.r.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return false, err
	}
	if !schema.Valid {
		return false, errors.New("the search_path of the database URL names no existing schema: create the schema first")
	}
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')`).Scan(&n)
	return n == 0, err
}

// TableCounts counts the rows of every table of the store, in one snapshot
// on PostgreSQL.
func (db *DB) TableCounts(ctx context.Context) ([]TableStat, error) {
	if db.dialect == SQLite {
		st, err := SQLiteFileStats(ctx, db.path)
		if err != nil {
			return nil, err
		}
		return st.Tables, nil
	}
	var out []TableStat
	err := db.rawPG(ctx, func(c *pgx.Conn) error {
		tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		tables, err := pgTables(ctx, tx)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t.Name}.Sanitize()).Scan(&t.Rows); err != nil {
				return err
			}
			t.Columns = nil
			out = append(out, t)
		}
		return tx.Commit(ctx)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// PGLoader copies rows into the tables of a restore.
type PGLoader struct{ tx pgx.Tx }

// Copy loads rows in COPY text format into the given columns of table and
// returns how many it loaded.
func (l *PGLoader) Copy(ctx context.Context, table string, columns []string, r io.Reader) (int64, error) {
	cols := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = pgx.Identifier{c}.Sanitize()
	}
	tag, err := l.tx.Conn().PgConn().CopyFrom(ctx, r, `COPY `+pgx.Identifier{table}.Sanitize()+` (`+strings.Join(cols, ", ")+`) FROM STDIN`)
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", table, err)
	}
	return tag.RowsAffected(), nil
}

// LoadPostgres replaces the rows of every table of the (freshly migrated)
// store in one transaction: it empties all tables (the seed rows the
// migrations inserted), creates the backup's partitions, lets fn copy the
// backup's rows in, and sets the sequences to where the backup had them.
// Nothing is kept if fn fails.
func (db *DB) LoadPostgres(ctx context.Context, seqs []SequenceState, parts []PartitionState, fn func(*PGLoader) error) error {
	return db.rawPG(ctx, func(c *pgx.Conn) error {
		tx, err := c.BeginTx(ctx, pgx.TxOptions{})
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if _, err := tx.Exec(ctx, pgSession); err != nil {
			return err
		}
		tables, err := pgTables(ctx, tx)
		if err != nil {
			return err
		}
		if len(tables) > 0 {
			names := make([]string, len(tables))
			for i, t := range tables {
				names[i] = pgx.Identifier{t.Name}.Sanitize()
			}
			if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(names, ", ")); err != nil {
				return err
			}
		}
		for _, p := range parts {
			if !strings.HasPrefix(p.Bound, "FOR VALUES ") && p.Bound != "DEFAULT" {
				return fmt.Errorf("partition %s: unexpected bound %q", p.Name, p.Bound)
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+pgx.Identifier{p.Name}.Sanitize()+
				` PARTITION OF `+pgx.Identifier{p.Parent}.Sanitize()+` `+p.Bound); err != nil {
				return fmt.Errorf("partition %s: %w", p.Name, err)
			}
		}
		if err := fn(&PGLoader{tx: tx}); err != nil {
			return err
		}
		for _, s := range seqs {
			if _, err := tx.Exec(ctx, `SELECT setval($1::regclass, $2, $3)`, pgx.Identifier{s.Name}.Sanitize(), s.Value, s.IsCalled); err != nil {
				return fmt.Errorf("sequence %s: %w", s.Name, err)
			}
		}
		return tx.Commit(ctx)
	})
}

// DropAll removes every table, view, sequence, function and type from the
// store's PostgreSQL schema. It undoes a failed restore into a schema that
// was empty before; it is never used on anything else.
func (db *DB) DropAll(ctx context.Context) error {
	if db.dialect != Postgres {
		return errors.New("sqlstore: DropAll is for PostgreSQL")
	}
	stmts := []string{
		`SELECT 'DROP TABLE IF EXISTS ' || string_agg(format('%I', c.relname), ', ') || ' CASCADE' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') HAVING count(*) > 0`,
		`SELECT 'DROP VIEW IF EXISTS ' || string_agg(format('%I', c.relname), ', ') || ' CASCADE' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind = 'v' HAVING count(*) > 0`,
		`SELECT 'DROP SEQUENCE IF EXISTS ' || string_agg(format('%I', c.relname), ', ') || ' CASCADE' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind = 'S' HAVING count(*) > 0`,
		`SELECT 'DROP ROUTINE IF EXISTS ' || string_agg(p.oid::regprocedure::text, ', ') || ' CASCADE' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = current_schema() HAVING count(*) > 0`,
		`SELECT 'DROP TYPE IF EXISTS ' || string_agg(format('%I', t.typname), ', ') || ' CASCADE' FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
			WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'r') HAVING count(*) > 0`,
	}
	ctx = context.WithoutCancel(ctx)
	for _, q := range stmts {
		var drop string
		err := db.w.QueryRowContext(ctx, q).Scan(&drop)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := db.w.ExecContext(ctx, drop); err != nil {
			return err
		}
	}
	return nil
}

// SampleCustomerIDs returns up to n customer ids picked at random (the
// backup drill decrypts them).
func (tx *Tx) SampleCustomerIDs(ctx context.Context, n int) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT id FROM customers ORDER BY random() LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
