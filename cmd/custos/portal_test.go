package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos/internal/idcard"
)

// TestPortalCLI_RB5: staff switch the portal on through the CLI as a named
// person; passwords come only on standard input; the archive must be
// effective; an unknown archive answers like a missing one.
func TestPortalCLI_RB5(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		c.must("", "migrate")
		c.addUser("li.na", "account_manager")
		csv := filepath.Join(t.TempDir(), "customers.csv")
		id := idcard.GenerateResidentID("110105", time.Date(1986, 4, 5, 0, 0, 0, 0, time.UTC), 21, false)
		if err := os.WriteFile(csv, []byte("type,name,id_type,id_number,id_expiry,phone,address\nperson,孙三,cn_resident_id,"+id+",2035-01-01,13800000003,北京市朝阳区3号\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.must("", "customer", "import", csv, "--as", "li.na", "--quiet")
		archive := ""
		for _, line := range strings.Split(c.must("", "request", "list", "--as", "li.na"), "\n") {
			if f := strings.Fields(line); len(f) > 0 && strings.Contains(line, "onboarding") {
				archive = f[len(f)-1]
			}
		}
		if archive == "" {
			t.Fatal("no archive number")
		}
		for _, args := range [][]string{
			{"portal"},
			{"portal", "enable", "--customer", archive, "--password-stdin"},
		} {
			if _, _, err := c.run("Kehu-Mima-2026!\n", args...); err == nil || exitCode(err) != 2 {
				t.Fatalf("%v: %v, want a usage error", args, err)
			}
		}
		if _, _, err := c.run("Kehu-Mima-2026!\n", "portal", "enable", "--as", "li.na", "--customer", archive); err == nil || !strings.Contains(err.Error(), "effective") {
			t.Fatalf("enable for a draft: %v", err)
		}
		if _, _, err := c.run("Kehu-Mima-2026!\n", "portal", "enable", "--as", "li.na", "--customer", "NO-SUCH-ARCHIVE"); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("enable for a missing archive: %v", err)
		}
	})
}
