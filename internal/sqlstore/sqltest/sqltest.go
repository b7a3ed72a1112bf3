// Package sqltest opens real, migrated stores for tests: SQLite always, and
// PostgreSQL whenever CUSTOS_TEST_POSTGRES holds a URL, each test in its own
// schema. Under CI=true a missing PostgreSQL fails the test instead of
// skipping it.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// EnvPostgres names the variable holding the PostgreSQL test URL.
const EnvPostgres = "CUSTOS_TEST_POSTGRES"

// Each runs fn once per available dialect, as subtests named "sqlite" and
// "postgres", each with a fresh migrated store.
func Each(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, OpenSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t)) })
}

// Dialects lists the dialects tests can open here.
func Dialects(t testing.TB) []sqlstore.Dialect {
	d := []sqlstore.Dialect{sqlstore.SQLite}
	if PostgresURL(t) != "" {
		d = append(d, sqlstore.Postgres)
	}
	return d
}

// Open opens a fresh migrated store of one dialect.
func Open(t testing.TB, d sqlstore.Dialect) *sqlstore.DB {
	if d == sqlstore.Postgres {
		return OpenPostgres(t)
	}
	return OpenSQLite(t)
}

// OpenSQLite opens a fresh migrated SQLite store in a temporary directory.
func OpenSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	return OpenSQLiteAt(t, t.TempDir())
}

// EnvSQLiteSync names the variable that sets the SQLite synchronous level
// of test stores ("full" or "normal"; unset: the store's default, full),
// so that a benchmark can compare the two in one session.
const EnvSQLiteSync = "CUSTOS_TEST_SQLITE_SYNC"

// OpenSQLiteAt opens (and migrates) the SQLite store in dir.
func OpenSQLiteAt(t testing.TB, dir string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{DataDir: dir, SQLiteSync: os.Getenv(EnvSQLiteSync)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.SetRecordMAC(RecordMAC(t))
	return db
}

// PostgresURL returns the test server URL, or "" (after skipping, or failing under CI).
func PostgresURL(t testing.TB) string {
	u := os.Getenv(EnvPostgres)
	if u == "" && os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is not set: PostgreSQL tests must run in CI", EnvPostgres)
	}
	return u
}

// OpenPostgres opens a fresh migrated store in a new schema of the test
// database, dropped when the test ends. Without CUSTOS_TEST_POSTGRES the test
// is skipped (or failed, under CI=true).
func OpenPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, _ := OpenPostgresURL(t)
	return db
}

// OpenPostgresURL is OpenPostgres that also returns the schema's URL, for
// tests that start a second process or a second store on the same schema.
func OpenPostgresURL(t testing.TB) (*sqlstore.DB, string) {
	t.Helper()
	base := PostgresURL(t)
	if base == "" {
		t.Skipf("%s not set: PostgreSQL tests skipped", EnvPostgres)
	}
	u := NewSchema(t, base)
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.SetRecordMAC(RecordMAC(t))
	return db, u
}

// RecordMAC returns a record key of its own for a test's store (the
// services replace it with their keyring's).
func RecordMAC(t testing.TB) *seal.RecordMAC {
	var k [32]byte
	rand.Read(k[:])
	m, err := seal.NewRecordMAC(k[:])
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// NewSchema creates an empty schema in the database at base and returns a
// URL whose connections use it. The schema is dropped when the test ends.
func NewSchema(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "custos_t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Ping(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s unreachable: %v", base, err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	return pu.String()
}
