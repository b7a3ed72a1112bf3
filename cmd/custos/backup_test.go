package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/jobs"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// runArgs runs a command in-process with exactly these arguments.
func runArgs(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// TestBackupCLI walks the operator's backup commands on both databases
// (R-D2): create while the store is live, show, restore into a new place,
// verify the restored audit chain with the separately kept keys, drill
// with a report, and the refusals: no passphrase, a wrong one, a non-empty
// target, a passphrase file beside the backups.
func TestBackupCLI(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		c.must("", "migrate")
		c.addUser("li.na", "account_manager")
		csv := filepath.Join(t.TempDir(), "customers.csv")
		id := idcard.GenerateResidentID("110105", time.Date(1985, 3, 4, 0, 0, 0, 0, time.UTC), 17, true)
		os.WriteFile(csv, []byte("type,name,id_type,id_number,id_expiry,phone,address\nperson,赵一,cn_resident_id,"+id+",2035-01-01,13800000001,北京市朝阳区1号\n"), 0o600)
		c.must("", "customer", "import", csv, "--as", "li.na", "--quiet")

		secrets := t.TempDir()
		pass := filepath.Join(secrets, "passphrase")
		os.WriteFile(pass, []byte("a long operator passphrase\n"), 0o600)
		dir := t.TempDir()
		file := filepath.Join(dir, "custos.tar.gz.age")

		if _, _, err := c.run("", "backup", "create", file); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "passphrase") {
			t.Fatalf("a backup without a passphrase: %v", err)
		}
		beside := filepath.Join(dir, "pass")
		os.WriteFile(beside, []byte("a long operator passphrase\n"), 0o600)
		if _, _, err := c.run("", "backup", "create", file, "--passphrase-file", beside); err == nil || !strings.Contains(err.Error(), "backup directory") {
			t.Fatalf("a passphrase file beside the backup: %v", err)
		}
		os.Remove(beside)
		out := c.must("", "backup", "create", file, "--passphrase-file", pass, "--quiet")
		if !strings.Contains(out, "backup written to") || !strings.Contains(out, "NOT in this backup") {
			t.Fatalf("create: %s", out)
		}
		out = c.must("", "backup", "show", file, "--passphrase-file", pass)
		if !strings.Contains(out, "customers") || !strings.Contains(out, "keys not included") {
			t.Fatalf("show: %s", out)
		}
		if _, _, err := c.run("", "backup", "show", file, "--passphrase-file", filepath.Join(secrets, "nope")); err == nil {
			t.Fatal("a missing passphrase file was accepted")
		}
		t.Setenv("CUSTOS_BACKUP_PASSPHRASE", "another long passphrase")
		if _, _, err := c.run("", "backup", "show", file); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
			t.Fatalf("wrong passphrase: %v", err)
		}
		t.Setenv("CUSTOS_BACKUP_PASSPHRASE", "a long operator passphrase")

		// Restore into a new place named on the command line; the keys
		// come from the live store's key directory, kept separately.
		keys := c.store[len(c.store)-1]
		var target []string
		if c.store[0] == "--db" {
			target = []string{"--db", sqltest.NewSchema(t, sqltest.PostgresURL(t))}
		} else {
			keys = filepath.Join(c.store[1], "keys")
			target = []string{"--data", filepath.Join(t.TempDir(), "restored")}
		}
		if _, _, err := runArgs("backup", "restore", file); err == nil || exitCode(err) != 2 {
			t.Fatalf("a restore without a target: %v", err)
		}
		out, stderr, err := runArgs(append([]string{"backup", "restore", file, "--quiet"}, target...)...)
		if err != nil || !strings.Contains(out, "row counts match the manifest") || !strings.Contains(out, "holds no keys") {
			t.Fatalf("restore: %v\n%s%s", err, out, stderr)
		}
		if _, _, err := runArgs(append([]string{"backup", "restore", file, "--quiet"}, target...)...); err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("a second restore into the same target: %v", err)
		}
		out, stderr, err = runArgs(append([]string{"audit", "verify", "--keys", keys}, target...)...)
		if err != nil || !strings.Contains(out, "events intact") {
			t.Fatalf("verify the restore: %v\n%s%s", err, out, stderr)
		}

		// The drill, with its report.
		report := filepath.Join(t.TempDir(), "drill.json")
		out = c.must("", "backup", "drill", file, "--report", report, "--quiet")
		if !strings.Contains(out, "Backup drill PASSED") || !strings.Contains(out, "1 sampled customers decrypt") {
			t.Fatalf("drill: %s", out)
		}
		var rep struct {
			OK     bool `json:"ok"`
			Checks []struct {
				Name string `json:"name"`
				OK   bool   `json:"ok"`
			} `json:"checks"`
		}
		b, err := os.ReadFile(report)
		if err != nil || json.Unmarshal(b, &rep) != nil || !rep.OK || len(rep.Checks) != 6 { // restore, row counts, keys, audit chain, decrypt, records
			t.Fatalf("drill report: %v %s", err, b)
		}
		if txt, err := os.ReadFile(strings.TrimSuffix(report, ".json") + ".txt"); err != nil || !strings.Contains(string(txt), "PASSED") {
			t.Fatalf("drill summary: %v", err)
		}
		if strings.Contains(string(b), "赵一") || strings.Contains(string(b), id) {
			t.Fatal("the drill report holds personal data")
		}

		// A damaged backup fails its drill with a non-zero exit.
		data, _ := os.ReadFile(file)
		data[len(data)/2] ^= 1
		bad := filepath.Join(dir, "damaged.tar.gz.age")
		os.WriteFile(bad, data, 0o600)
		if out, _, err := c.run("", "backup", "drill", bad, "--quiet"); err == nil || !strings.Contains(out, "FAILED") {
			t.Fatalf("drill of a damaged backup: %v\n%s", err, out)
		}

		// With the keys inside, the backup alone restores a readable store.
		withKeys := filepath.Join(dir, "with-keys.tar.gz.age")
		c.must("", "backup", "create", withKeys, "--include-keys", "--quiet")
		out = c.must("", "backup", "drill", withKeys, "--quiet", "--keys", t.TempDir())
		if !strings.Contains(out, "from the backup") {
			t.Fatalf("drill with included keys: %s", out)
		}
	})
}

// TestJobsCLI: `custos jobs list` shows the schedule and the recorded runs.
func TestJobsCLI(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		c.must("", "migrate")
		cfg := sqlstore.Config{}
		if c.store[0] == "--db" {
			cfg.URL = c.store[1]
		} else {
			cfg.DataDir = c.store[1]
		}
		db, err := sqlstore.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := jobs.New(db, nil, jobs.Options{Holder: "test-host"})
		s.Add(jobs.Job{Name: "demo.job", Every: time.Hour, Run: func(context.Context) (string, error) { return "3 things done", nil }})
		if _, err := s.RunDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		db.Close()
		out := c.must("", "jobs", "list")
		if !strings.Contains(out, "demo.job") || !strings.Contains(out, "3 things done") || !strings.Contains(out, "test-host") {
			t.Fatalf("jobs list: %s", out)
		}
		if out := c.must("", "jobs", "list", "--json"); !strings.Contains(out, `"outcome": "ok"`) {
			t.Fatalf("jobs list --json: %s", out)
		}
	})
}

// TestServeBackupFlags: scheduled backups without a passphrase are refused
// before the server starts.
func TestServeBackupFlags(t *testing.T) {
	t.Setenv("CUSTOS_BACKUP_PASSPHRASE", "")
	_, _, err := runArgs("serve", "--data", t.TempDir(), "--backup-dir", t.TempDir())
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("serve with backups and no passphrase: %v", err)
	}
}
