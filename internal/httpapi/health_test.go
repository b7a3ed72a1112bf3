package httpapi_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestHealthzReportsUnwritableStore_RD4: /healthz answers 503 with a reason
// while another process holds the store's write lock (reads still work),
// 200 once the lock is gone, and 503 for a closed store.
func TestHealthzReportsUnwritableStore_RD4(t *testing.T) {
	for _, d := range sqltest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			var db *sqlstore.DB
			var other *sql.DB
			var lock []string
			var err error
			if d == sqlstore.Postgres {
				var u string
				db, u = sqltest.OpenPostgresURL(t)
				other, err = sql.Open("pgx", u)
				lock = []string{"LOCK TABLE settings IN ACCESS EXCLUSIVE MODE"}
			} else {
				dir := t.TempDir()
				db = sqltest.OpenSQLiteAt(t, dir)
				other, err = sql.Open("sqlite", "file:"+filepath.Join(dir, "custos.db")+"?_pragma=busy_timeout(10000)")
			}
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			_, c := startServer(t, db)

			ctx := context.Background()
			tx, err := other.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d == sqlstore.SQLite {
				// database/sql's BEGIN is deferred: take the write lock.
				lock = []string{"INSERT INTO settings (key, value) VALUES ('test.lock', 'held')"}
			}
			for _, q := range lock {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			var body struct{ Status, Reason string }
			r := c.do("", "GET", "/healthz", "", nil)
			r.json(t, &body)
			if r.status != 503 || body.Status != "unavailable" || body.Reason != "write_timeout" {
				t.Errorf("locked store: %d %s", r.status, r.body)
			}
			tx.Rollback()
			if r := c.do("", "GET", "/healthz", "", nil); r.status != 200 {
				t.Errorf("after the lock: %d %s", r.status, r.body)
			}

			db.Close()
			r = c.do("", "GET", "/healthz", "", nil)
			r.json(t, &body)
			if r.status != 503 || body.Reason == "" {
				t.Errorf("closed store: %d %s", r.status, r.body)
			}
		})
	}
}
