package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// archiveNos lists the stored customers' archive numbers, read straight
// from the store the CLI uses.
func archiveNos(t *testing.T, c cli) []string {
	t.Helper()
	cfg := sqlstore.Config{}
	keysDir := ""
	for i := 0; i+1 < len(c.store); i += 2 {
		switch c.store[i] {
		case "--data":
			cfg.DataDir = c.store[i+1]
			if keysDir == "" {
				keysDir = filepath.Join(cfg.DataDir, "keys")
			}
		case "--db":
			cfg.URL = c.store[i+1]
		case "--keys":
			keysDir = c.store[i+1]
		}
	}
	db, err := sqlstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys, err := seal.OpenKeyring(keysDir, "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetRecordMAC(keys.Records) // the rows are read as the services read them: checked
	recs, _, err := db.Reader().FindCustomers(context.Background(), sqlstore.CustomerQuery{Filter: custos.CustomerFilter{Sort: "archive_no"}}, custos.Scope{All: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.ArchiveNo)
	}
	return out
}

// backdateClosures sets every closed relationship's end date in the
// store the CLI uses, standing in for the years a test cannot wait.
func backdateClosures(t *testing.T, c cli, end string) {
	t.Helper()
	driver, dsn := "", ""
	for i := 0; i+1 < len(c.store); i += 2 {
		switch c.store[i] {
		case "--data":
			driver, dsn = "sqlite", filepath.Join(c.store[i+1], "custos.db")
		case "--db":
			driver, dsn = "pgx", c.store[i+1]
		}
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE customer_closures SET relationship_end = '` + end + `'`); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionCLI_RF1_RF2_RF3 walks closing, holds, the due-list and a
// destruction with two approvers and a witness through the CLI, on both
// databases; the certificate verifies with the audit public key and the
// audit chain still verifies.
func TestRetentionCLI_RF1_RF2_RF3(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		c.must("", "migrate")
		for _, u := range [][3]string{{"li.na", "account_manager", ""}, {"wang.gm", "general_manager", "HQ"}, {"comp1", "compliance", "HQ"},
			{"comp2", "compliance", "HQ"}, {"aud", "auditor", "HQ"}} {
			var extra []string
			if u[2] != "" {
				extra = []string{"--org", u[2]}
			}
			c.addUser(u[0], u[1], extra...)
		}
		csv := filepath.Join(t.TempDir(), "customers.csv")
		id1 := idcard.GenerateResidentID("110105", time.Date(1971, 3, 4, 0, 0, 0, 0, time.UTC), 31, true)
		id2 := idcard.GenerateResidentID("110105", time.Date(1972, 5, 6, 0, 0, 0, 0, time.UTC), 32, false)
		body := "type,name,id_type,id_number,id_expiry,phone,address,tier\n" +
			"person,孙销,cn_resident_id," + id1 + ",2035-01-01,13900000011,北京市朝阳区11号,general\n" +
			"person,周保,cn_resident_id," + id2 + ",2035-01-01,13900000012,北京市朝阳区12号,general\n"
		if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		c.must("", "customer", "import", csv, "--as", "li.na", "--quiet")
		nos := archiveNos(t, c)
		if len(nos) != 2 {
			t.Fatalf("archives: %v", nos)
		}
		gone, held := nos[0], nos[1]

		if _, _, err := c.run("", "retention", "close", "--archive-no", gone, "--end", "2010-01-01", "--reason", "销户", "--as", "li.na"); err == nil {
			t.Fatal("an account manager closed a relationship")
		}
		// Backdated to 2010 (its data would fall due at once): refused.
		if _, _, err := c.run("", "retention", "close", "--archive-no", gone, "--end", "2010-01-01", "--reason", "销户", "--as", "comp1"); err == nil || !strings.Contains(err.Error(), "days back") {
			t.Fatalf("a closure backdated to 2010: %v", err)
		}
		// A closure is a request: the requester cannot approve it, another person does.
		for _, no := range nos {
			out := c.must("", "retention", "close", "--archive-no", no, "--reason", "销户", "--as", "comp1")
			m := regexp.MustCompile(`closure filed as request (\d+)`).FindStringSubmatch(out)
			if m == nil || !strings.Contains(out, "restricted") {
				t.Fatalf("close: %s", out)
			}
			if _, _, err := c.run("", "request", "approve", m[1], "--as", "comp1"); err == nil || !strings.Contains(err.Error(), "cannot approve their own") {
				t.Fatalf("the requester approved the closure: %v", err)
			}
			c.must("", "request", "approve", m[1], "--as", "wang.gm")
		}
		// Years pass: the CLI runs on the real clock, so the test moves the
		// approved closures' end dates back in the store instead.
		backdateClosures(t, c, "2010-01-01")
		out := c.must("", "hold", "place", "--archive-no", held, "--case", "(2026)京01民初1号", "--reason", "诉讼", "--as", "comp1")
		hid := regexp.MustCompile(`hold (\d+) placed`).FindStringSubmatch(out)
		if hid == nil {
			t.Fatalf("hold place: %s", out)
		}
		if out = c.must("", "hold", "list", "--active", "--as", "aud"); !strings.Contains(out, held) || !strings.Contains(out, "in force") {
			t.Fatalf("hold list: %s", out)
		}
		out = c.must("", "retention", "due", "--dry-run", "--as", "comp1")
		if !strings.Contains(out, "1 due, 1 kept by a legal hold") || !strings.Contains(out, gone) || !strings.Contains(out, "dry run") {
			t.Fatalf("due --dry-run: %s", out)
		}
		if out = c.must("", "destruction", "list", "--as", "comp1"); strings.Count(out, "\n") != 1 {
			t.Fatalf("the dry run filed a batch: %s", out)
		}

		out = c.must("", "destruction", "create", "--reason", "到期销毁", "--as", "comp1")
		m := regexp.MustCompile(`batch (\d+) with 1 customers; request (\d+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("create: %s", out)
		}
		bid, rid := m[1], m[2]
		if _, _, err := c.run("", "request", "approve", rid, "--as", "comp1"); err == nil || !strings.Contains(err.Error(), "cannot approve their own") {
			t.Fatalf("the requester approved: %v", err)
		}
		c.must("", "request", "approve", rid, "--as", "wang.gm")
		if _, _, err := c.run("", "destruction", "execute", bid, "--witness", "aud", "--as", "comp1"); err == nil || !strings.Contains(err.Error(), "two approvers") {
			t.Fatalf("executed with one approval: %v", err)
		}
		c.must("", "request", "approve", rid, "--as", "comp2")
		if _, _, err := c.run("", "destruction", "execute", bid, "--witness", "comp1", "--as", "comp1"); err == nil || !strings.Contains(err.Error(), "witness") {
			t.Fatalf("executed as its own witness: %v", err)
		}
		// One operator with only their own credentials cannot complete it
		// (R-F3): naming the witness is not enough, the witness types their
		// own password; an approver is no witness; nor is the operator.
		own := c.pw["comp1"] + "\n"
		for _, w := range []struct{ witness, stdin, want string }{
			{"aud", own + own, "wrong username or password"},
			{"aud", own, "standard input ended"},
			{"wang.gm", own + c.pw["wang.gm"] + "\n", "approver"},
			{"comp1", own + own, "witness cannot be the person executing"},
		} {
			if _, _, err := c.run(w.stdin, "destruction", "execute", bid, "--witness", w.witness, "--as", "comp1", "--password-stdin"); err == nil || !strings.Contains(err.Error(), w.want) {
				t.Fatalf("witness %s: %v, want %q", w.witness, err, w.want)
			}
		}
		if _, _, err := c.run("", "destruction", "execute", bid, "--as", "comp1"); exitCode(err) != 2 {
			t.Fatalf("execute without a witness: %v", err)
		}
		out = c.must("", "destruction", "execute", bid, "--witness", "aud", "--as", "comp1")
		if !strings.Contains(out, "1 customers") {
			t.Fatalf("execute: %s", out)
		}
		if nos := archiveNos(t, c); len(nos) != 1 || nos[0] != held {
			t.Fatalf("after destruction: %v", nos)
		}

		certFile := filepath.Join(t.TempDir(), "cert.json")
		c.must("", "destruction", "certificate", bid, "--format", "json", "--out", certFile, "--as", "aud")
		signed, err := os.ReadFile(certFile)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(c.must("", "audit", "pubkey"))
		pub, err := base64.StdEncoding.DecodeString(f[len(f)-1])
		if err != nil {
			t.Fatal(err)
		}
		cert, err := app.VerifyDestructionCertificate(signed, pub)
		if err != nil {
			t.Fatal(err)
		}
		if len(cert.Approvers) != 2 || cert.Witness.Name != "aud" || len(cert.Archives) != 1 || cert.Archives[0].ArchiveNo != gone {
			t.Fatalf("certificate: %+v", cert)
		}
		if out = c.must("", "audit", "verify"); !strings.Contains(out, "events intact") {
			t.Fatalf("verify after destruction: %s", out)
		}
		if out = c.must("", "hold", "release", hid[1], "--reason", "结案", "--as", "comp1"); !strings.Contains(out, "waits for another person's approval") {
			t.Fatalf("hold release: %s", out)
		}
	})
}
