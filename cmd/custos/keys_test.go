package main

import (
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos/internal/idcard"
)

// storeWithKeys is the store of c with its key directory replaced.
func storeWithKeys(c cli, keys string) []string {
	return append(append([]string{}, c.store[:2]...), "--keys", keys)
}

// keysOf is the key directory c uses.
func keysOf(c cli) string {
	if c.store[0] == "--data" {
		return filepath.Join(c.store[1], "keys")
	}
	return c.store[len(c.store)-1]
}

// rawDB opens the database of c underneath the CLI, for playing attacker.
func rawDB(t *testing.T, c cli) (*sql.DB, func(string) string) {
	t.Helper()
	driver, dsn := "sqlite", "file:"+(&url.URL{Path: filepath.Join(c.store[1], "custos.db")}).EscapedPath()+"?_pragma=busy_timeout(10000)"
	bind := func(q string) string { return q }
	if c.store[0] == "--db" {
		driver, dsn = "pgx", c.store[1]
		bind = func(q string) string { return strings.Replace(q, "?", "$1", 1) }
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, bind
}

// TestAuditVerifyKeys_RD3: on a store whose keys are gone, verify (and
// every other command, creators included) refuses with the missing-keys
// message and creates nothing; with another store's keys it says "wrong
// keys", exits non-zero and does not say BROKEN; a real tamper still says
// BROKEN.
func TestAuditVerifyKeys_RD3(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		c.must("", "migrate")
		c.addUser("li.na", "account_manager")
		c.must("", "audit", "checkpoint")
		if out := c.must("", "audit", "verify"); !strings.Contains(out, "events intact") {
			t.Fatalf("verify: %s", out)
		}

		keys := keysOf(c)
		moved := filepath.Join(t.TempDir(), "kept-elsewhere")
		if err := os.Rename(keys, moved); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"audit", "verify"}, {"migrate"}, {"keys", "init"}, {"serve", "--listen", "127.0.0.1:0"}} {
			_, _, err := c.run("Haidian-Bank-2026\n", args...)
			if err == nil || !strings.Contains(err.Error(), "the key directory "+keys+" has no keys for this store") ||
				!strings.Contains(err.Error(), "--include-keys") || strings.Contains(err.Error(), "BROKEN") {
				t.Fatalf("%v without keys: %v", args, err)
			}
			if _, err := os.Stat(keys); !os.IsNotExist(err) {
				t.Fatalf("%v created the key directory beside a store that holds data", args)
			}
		}
		_, _, err := c.run("Haidian-Bank-2026\n", "user", "add", "--username", "wang", "--role", "account_manager", "--password-stdin")
		if err == nil || !strings.Contains(err.Error(), "has no keys for this store") {
			t.Fatalf("user add without keys: %v", err)
		}

		// Another store's keys.
		otherData := t.TempDir()
		if _, _, err := runArgs("migrate", "--data", otherData); err != nil {
			t.Fatal(err)
		}
		_, _, err = runArgs(append([]string{"audit", "verify"}, storeWithKeys(c, filepath.Join(otherData, "keys"))...)...)
		if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), "wrong keys") || strings.Contains(err.Error(), "BROKEN") {
			t.Fatalf("verify with another store's keys: %v", err)
		}

		// The right keys back: intact; then a real tamper is BROKEN.
		if err := os.Rename(moved, keys); err != nil {
			t.Fatal(err)
		}
		c.must("", "audit", "verify")
		raw, bind := rawDB(t, c)
		var payload string
		if err := raw.QueryRow(bind(`SELECT payload FROM audit_events WHERE seq = ?`), 1).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(bind(`UPDATE audit_events SET payload = ? WHERE seq = 1`), strings.Replace(payload, `"ok"`, `"denied"`, 1)); err != nil {
			t.Fatal(err)
		}
		_, _, err = c.run("", "audit", "verify")
		if err == nil || !strings.Contains(err.Error(), "BROKEN at event 1") || strings.Contains(err.Error(), "wrong keys") {
			t.Fatalf("verify after a tamper: %v", err)
		}
	})
}

// TestAuditVerifyRecords_RD3: `audit verify --records` passes an untouched
// store and reports a row changed in raw SQL, with a non-zero exit.
func TestAuditVerifyRecords_RD3(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		c.must("", "migrate")
		c.addUser("li.na", "account_manager")
		csv := filepath.Join(t.TempDir(), "customers.csv")
		id := idcard.GenerateResidentID("110105", time.Date(1985, 3, 4, 0, 0, 0, 0, time.UTC), 17, true)
		os.WriteFile(csv, []byte("type,name,id_type,id_number,id_expiry,phone,address\nperson,赵一,cn_resident_id,"+id+",2035-01-01,13800000001,北京市朝阳区1号\n"), 0o600)
		c.must("", "customer", "import", csv, "--as", "li.na", "--quiet")
		out := c.must("", "audit", "verify", "--records")
		if !strings.Contains(out, "1 customers") || !strings.Contains(out, "intact") {
			t.Fatalf("verify --records: %s", out)
		}
		raw, _ := rawDB(t, c)
		if _, err := raw.Exec(`UPDATE customers SET sensitivity = 'protected'`); err != nil {
			t.Fatal(err)
		}
		out, _, err := c.run("", "audit", "verify", "--records")
		if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), "records BROKEN: 1 of") || !strings.Contains(out, "customers: archive ") {
			t.Fatalf("verify --records after a tamper: %v\n%s", err, out)
		}
	})
}

// TestKeysUpgrade_RD3: a store from before key fingerprints and row tags
// (no key_checks, untagged rows, no records.json) refuses to run a command
// that may not create keys; migrate creates the record key only, tags the
// rows and records the fingerprints, after which the rows verify. Opened
// with another store's keys, such a store is refused as wrong keys.
func TestKeysUpgrade_RD3(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		c.must("", "migrate")
		c.addUser("li.na", "account_manager")
		csv := filepath.Join(t.TempDir(), "customers.csv")
		id := idcard.GenerateResidentID("110105", time.Date(1985, 3, 4, 0, 0, 0, 0, time.UTC), 17, true)
		os.WriteFile(csv, []byte("type,name,id_type,id_number,id_expiry,phone,address\nperson,赵一,cn_resident_id,"+id+",2035-01-01,13800000001,北京市朝阳区1号\n"), 0o600)
		c.must("", "customer", "import", csv, "--as", "li.na", "--quiet")
		c.must("", "audit", "checkpoint")

		// Back to how a store looked before migration 0015's keys and tags.
		raw, _ := rawDB(t, c)
		for _, q := range []string{`UPDATE customers SET row_mac = NULL`, `UPDATE txn_customers SET row_mac = NULL`, `DELETE FROM key_checks`} {
			if _, err := raw.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		keys := keysOf(c)
		if err := os.Remove(filepath.Join(keys, "records.json")); err != nil {
			t.Fatal(err)
		}

		// Another store's keys are refused even without fingerprints: its
		// signing key did not sign this store's checkpoints.
		otherData := t.TempDir()
		if _, _, err := runArgs("migrate", "--data", otherData); err != nil {
			t.Fatal(err)
		}
		if _, _, err := runArgs(append([]string{"migrate"}, storeWithKeys(c, filepath.Join(otherData, "keys"))...)...); err == nil || !strings.Contains(err.Error(), "wrong keys") {
			t.Fatalf("legacy store with another store's keys: %v", err)
		}

		if _, _, err := c.run("", "audit", "verify"); err == nil || !strings.Contains(err.Error(), "records.json") {
			t.Fatalf("verify created the record key or ran without it: %v", err)
		}
		c.must("", "migrate")
		if _, err := os.Stat(filepath.Join(keys, "records.json")); err != nil {
			t.Fatalf("migrate did not create the record key: %v", err)
		}
		if out := c.must("", "audit", "verify", "--records"); !strings.Contains(out, "1 customers") || !strings.Contains(out, "intact") {
			t.Fatalf("after the upgrade: %s", out)
		}
		// Now an untagged row is a tampered one, and nothing tags it again.
		if _, err := raw.Exec(`UPDATE customers SET row_mac = NULL`); err != nil {
			t.Fatal(err)
		}
		c.must("", "migrate")
		if _, _, err := c.run("", "audit", "verify", "--records"); err == nil || !strings.Contains(err.Error(), "records BROKEN") {
			t.Fatalf("an untagged row after the upgrade: %v", err)
		}
	})
}
