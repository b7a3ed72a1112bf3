package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/custos-cim/custos/internal/app"
)

var passwordLine = regexp.MustCompile(`(?m)^\s+([2-9a-z]{5}(?:-[2-9a-z]{5}){5})\s*$`)

// exportFile runs an export command that writes --out, takes the password
// from standard error and opens the file with it.
func exportFile(t *testing.T, c cli, args ...string) (map[string][]byte, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "export.zip.age")
	stdout, stderr, err := c.run("", append(args, "--out", out)...)
	if err != nil {
		t.Fatalf("custos %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	m := passwordLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no password on the terminal:\n%s", stderr)
	}
	password := m[1]
	if strings.Contains(stdout, password) {
		t.Fatal("the password went to standard output, with the file's report")
	}
	content, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(content), password) || !strings.Contains(stdout, "sha256 ") {
		t.Fatalf("file or report wrong: %s", stdout)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Fatalf("export file mode %v", st.Mode().Perm())
	}
	files, err := app.OpenExport(content, password)
	if err != nil {
		t.Fatalf("open the export with the password from the terminal: %v", err)
	}
	return files, password
}

// exportedCustomers is `custos customer export --as USER`, decrypted.
func exportedCustomers(t *testing.T, c cli, user string) string {
	t.Helper()
	files, _ := exportFile(t, c, "customer", "export", "--as", user)
	return string(files["customers.csv"])
}

// TestExportCLI_RC7_RC8 walks the export and agreement commands on both
// databases: encrypted files with the password shown once on the
// terminal, and exports to an outside party under an agreement and a
// second person's approval.
func TestExportCLI_RC7_RC8(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		c.must("", "migrate")
		c.addUser("co.li", "compliance")
		c.addUser("wang.gm", "general_manager", "--org", "HQ")

		if _, _, err := c.run("", "agreement", "add", "--as", "wang.gm", "--party", "某律所", "--reference", "NDA-1", "--scope", "transactions",
			"--valid-from", "2020-01-01", "--valid-to", "2099-12-31", "--signed-by", "王律师"); err == nil || !strings.Contains(err.Error(), "not allowed") {
			t.Fatalf("a general manager registers an agreement: %v", err)
		}
		out := c.must("", "agreement", "add", "--as", "co.li", "--party", "某律所", "--reference", "NDA-1", "--scope", "transactions",
			"--valid-from", "2020-01-01", "--valid-to", "2099-12-31", "--signed-by", "王律师")
		if !strings.Contains(out, "agreement 1 registered") {
			t.Fatalf("agreement add: %s", out)
		}
		if out = c.must("", "agreement", "list", "--as", "co.li", "--active"); !strings.Contains(out, "NDA-1") || !strings.Contains(out, "transactions") {
			t.Fatalf("agreement list: %s", out)
		}

		// Internal: the file at once, the password on the terminal.
		files, pw1 := exportFile(t, c, "export", "create", "--as", "co.li", "--kind", "transactions", "--reason", "月度核对")
		if _, ok := files["transactions.csv"]; !ok || !strings.Contains(string(files["manifest.json"]), `"recipient": "internal"`) {
			t.Fatalf("files %v", files)
		}
		if _, _, err := c.run("", "export", "create", "--as", "co.li", "--kind", "transactions"); err == nil {
			t.Fatal("an export without --out must be refused")
		}

		// External: the agreement must cover the kind, and a second person approves.
		if _, _, err := c.run("", "export", "create", "--as", "co.li", "--kind", "customers", "--agreement", "1"); err == nil ||
			!strings.Contains(err.Error(), "does not cover") {
			t.Fatalf("kind outside the agreement: %v", err)
		}
		out = c.must("", "export", "create", "--as", "co.li", "--kind", "transactions", "--agreement", "1", "--reason", "律所协查")
		if !strings.Contains(out, "export 2 filed for approval as request") {
			t.Fatalf("external export: %s", out)
		}
		if _, _, err := c.run("", "export", "generate", "2", "--as", "co.li", "--out", filepath.Join(t.TempDir(), "x")); err == nil ||
			!strings.Contains(err.Error(), "not been approved") {
			t.Fatalf("generate before approval: %v", err)
		}
		if _, _, err := c.run("", "request", "approve", "1", "--as", "co.li"); err == nil || !strings.Contains(err.Error(), "cannot approve their own") {
			t.Fatalf("self-approval: %v", err)
		}
		c.must("", "request", "approve", "1", "--as", "wang.gm")
		files, pw2 := exportFile(t, c, "export", "generate", "2", "--as", "co.li")
		if pw2 == pw1 || !strings.Contains(string(files["manifest.json"]), "NDA-1") {
			t.Fatalf("external manifest %s", files["manifest.json"])
		}
		out = c.must("", "export", "list", "--as", "co.li")
		if strings.Count(out, "ready") != 2 || strings.Contains(out, pw1) || strings.Contains(out, pw2) {
			t.Fatalf("export list: %s", out)
		}
		c.must("", "agreement", "revoke", "1", "--as", "co.li", "--reason", "合作终止")
		if _, _, err := c.run("", "export", "create", "--as", "co.li", "--kind", "transactions", "--agreement", "1", "--reason", "x"); err == nil ||
			!strings.Contains(err.Error(), "revoked") {
			t.Fatalf("export under a revoked agreement: %v", err)
		}
	})
}
