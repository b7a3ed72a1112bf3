package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/custos-cim/custos/internal/sqlstore"
)

// TestSQLiteSynchronousDefaultsToFull_RD3_RC5: with synchronous=NORMAL a
// commit in WAL mode is not synced, so an audit event "committed before the
// data leaves" can vanish on power loss after the data left. The store
// opens with FULL (PRAGMA synchronous = 2) on every connection unless
// NORMAL (1) is asked for by name; an unknown level is refused, not
// quietly taken for one of the two.
func TestSQLiteSynchronousDefaultsToFull_RD3_RC5(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		level string
		want  int64
	}{{"", 2}, {"full", 2}, {"FULL", 2}, {"normal", 1}, {" Normal ", 1}} {
		db, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: t.TempDir(), SQLiteSync: c.level})
		if err != nil {
			t.Fatalf("%q: %v", c.level, err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		w, r, ck, err := db.SQLitePragma(ctx, "synchronous")
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if w != c.want || r != c.want || ck != c.want {
			t.Errorf("level %q: synchronous writer %d, readers %d, checkpointer %d; want %d", c.level, w, r, ck, c.want)
		}
	}
	for _, bad := range []string{"off", "extra", "fast", "1"} {
		db, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: t.TempDir(), SQLiteSync: bad})
		if err == nil {
			db.Close()
			t.Errorf("level %q accepted", bad)
		} else if !strings.Contains(err.Error(), "full") {
			t.Errorf("level %q: the error does not name the choices: %v", bad, err)
		}
	}
}
