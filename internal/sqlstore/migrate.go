package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the dialect's migrations: its own directory plus the
// common one, ordered by version. A version may appear only once.
func (db *DB) migrations() ([]migration, error) {
	var out []migration
	seen := map[int]string{}
	for _, dir := range []string{"migrations/" + string(db.dialect), "migrations/common"} {
		entries, err := fs.ReadDir(migrationFS, dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".sql") {
				continue
			}
			num, _, ok := strings.Cut(name, "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil || v <= 0 {
				return nil, fmt.Errorf("migration %s/%s: name must start with a number and '_'", dir, name)
			}
			if prev, dup := seen[v]; dup {
				return nil, fmt.Errorf("migration version %d appears twice: %s and %s", v, prev, name)
			}
			seen[v] = name
			body, err := migrationFS.ReadFile(path.Join(dir, name))
			if err != nil {
				return nil, err
			}
			out = append(out, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(body)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations must be numbered 1, 2, 3…: %s is number %d", m.name, i+1)
		}
	}
	return out, nil
}

func (db *DB) ensureMigrationTable(ctx context.Context) error {
	return db.Write(ctx, func(tx *Tx) error {
		return tx.execScript(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`)
	})
}

// Migrate applies every pending migration, each in its own transaction, and
// returns the names applied. Concurrent servers on one PostgreSQL database
// serialise on an advisory lock.
func (db *DB) Migrate(ctx context.Context) ([]string, error) { return db.MigrateTo(ctx, 0) }

// MigrateTo is Migrate up to and including version (0: all). A restore uses
// it to build the schema a backup was taken at before loading its rows.
func (db *DB) MigrateTo(ctx context.Context, version int) ([]string, error) {
	all, err := db.migrations()
	if err != nil {
		return nil, err
	}
	if version > len(all) {
		return nil, fmt.Errorf("schema version %d is newer than this binary (%d): upgrade custos", version, len(all))
	}
	if err := db.ensureMigrationTable(ctx); err != nil {
		return nil, fmt.Errorf("migrations table: %w", err)
	}
	var applied []string
	for _, m := range all {
		if version > 0 && m.version > version {
			break
		}
		done := false
		err := db.Write(ctx, func(tx *Tx) error {
			if db.dialect == Postgres {
				if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(7215123001)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.row(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				done = true
				return nil
			}
			if err := tx.execScript(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, tx.Now().Format("2006-01-02T15:04:05Z"))
			return err
		})
		if err != nil {
			return applied, err
		}
		if !done {
			applied = append(applied, m.name)
		}
	}
	return applied, nil
}

// SchemaStatus reports the applied and known migration counts.
func (db *DB) SchemaStatus(ctx context.Context) (applied, known int, err error) {
	all, err := db.migrations()
	if err != nil {
		return 0, 0, err
	}
	if err := db.ensureMigrationTable(ctx); err != nil {
		return 0, 0, err
	}
	err = db.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied)
	return applied, len(all), err
}

// CheckSchema refuses a database whose schema is older or newer than this binary.
func (db *DB) CheckSchema(ctx context.Context) error {
	applied, known, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	switch {
	case applied < known:
		return fmt.Errorf("database schema is at version %d, this binary needs %d: run `custos migrate`", applied, known)
	case applied > known:
		return fmt.Errorf("database schema is at version %d, newer than this binary (%d): upgrade custos", applied, known)
	}
	return nil
}
