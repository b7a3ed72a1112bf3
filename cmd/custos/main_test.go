package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// cli runs a command in-process with the store selected by flags.
type cli struct {
	t     *testing.T
	store []string          // --data DIR or --db URL, plus --keys
	pw    map[string]string // each user's own password, once they chose it
	roles map[string]string // each user's role
}

// The passwords of the test users: the first administrator's, the
// one-time one an administrator sets, and the one each user then chooses.
const (
	rootPassword    = "Zongheng-Guanli-2026!"
	initialPassword = "Haidian-Bank-2026"
	ownPassword     = "Chaoyang-Mine-%d-2027!"
)

// run runs a command. A command with --as USER (and --witness W) and no
// --password-stdin signs in as the person would: their own password (and
// then the witness's) come first on standard input, before stdin.
func (c cli) run(stdin string, args ...string) (string, string, error) {
	c.t.Helper()
	var out, errb bytes.Buffer
	full := append(append([]string{}, args...), c.store...)
	if !slices.Contains(args, "--password-stdin") && os.Getenv(envToken) == "" {
		var secrets string
		for _, flag := range []string{"--as", "--witness"} {
			if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
				if pw, ok := c.pw[args[i+1]]; ok {
					secrets += pw + "\n"
				}
			}
		}
		if secrets != "" {
			stdin, full = secrets+stdin, append(full, "--password-stdin")
		}
	}
	err := run(context.Background(), full, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func (c cli) must(stdin string, args ...string) string {
	c.t.Helper()
	out, stderr, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatalf("custos %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// addUser creates a user as the administrator root (created first, on the
// empty store, without a credential) and has the user replace the one-time
// password with their own (R-C4). extra are more user add flags.
func (c cli) addUser(username, role string, extra ...string) {
	c.t.Helper()
	if _, ok := c.pw["root"]; !ok {
		c.must(rootPassword+"\n", "user", "add", "--username", "root", "--role", "admin", "--password-stdin")
		c.pw["root"] = rootPassword
	}
	out := c.must(initialPassword+"\n", append([]string{"user", "add", "--username", username, "--role", role, "--as", "root"}, extra...)...)
	if m := filedRe.FindStringSubmatch(out); m != nil {
		// A privileged account once the installation has a second person:
		// one who may approve it does (三员分立).
		approver := ""
		for name, r := range c.roles {
			if r == string(custos.RoleSecurityAdmin) || r == string(custos.RoleGeneralManager) { // the default rule's approvers
				approver = name
				break
			}
		}
		if approver == "" {
			c.t.Fatalf("user add %s filed request %s, and nobody may approve it", username, m[1])
		}
		c.must("", "request", "approve", m[1], "--as", approver, "--comment", "同意")
	}
	c.roles[username] = role
	own := fmt.Sprintf(ownPassword, len(c.pw)) // everyone's own, different from everyone else's
	c.must(initialPassword+"\n"+own+"\n", "password", "--as", username, "--password-stdin")
	c.pw[username] = own
}

var filedRe = regexp.MustCompile(`request #(\d+) filed`)

func eachCLI(t *testing.T, fn func(t *testing.T, c cli)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, cli{t: t, store: []string{"--data", dir}, pw: map[string]string{}, roles: map[string]string{}})
	})
	t.Run("postgres", func(t *testing.T) {
		base := sqltest.PostgresURL(t)
		if base == "" {
			t.Skipf("%s not set", sqltest.EnvPostgres)
		}
		u := sqltest.NewSchema(t, base)
		fn(t, cli{t: t, store: []string{"--db", u, "--keys", filepath.Join(t.TempDir(), "keys")}, pw: map[string]string{}, roles: map[string]string{}})
	})
}

// TestCLI walks the README's operator commands on both databases.
func TestCLI(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		if out := c.must("", "migrate"); !strings.Contains(out, "schema at version") {
			t.Fatalf("migrate: %s", out)
		}
		if _, _, err := c.run(initialPassword+"\n", "user", "add", "--username", "li.na", "--role", "account_manager", "--password-stdin"); err == nil ||
			!strings.Contains(err.Error(), "administrator") {
			t.Fatalf("the first user of an empty store must be an administrator: %v", err)
		}
		c.addUser("wang.gm", "general_manager", "--org", "HQ")
		if _, _, err := c.run("short\n", "user", "add", "--username", "li.na", "--role", "account_manager", "--as", "root"); err == nil ||
			!strings.Contains(err.Error(), "password_too_short") {
			t.Fatalf("weak password accepted: %v", err)
		}
		if _, _, err := c.run("", "user", "add", "--username", "li.na", "--role", "account_manager"); err == nil || exitCode(err) != 2 {
			t.Fatalf("a second user added without an administrator's credentials: %v", err)
		}
		c.addUser("li.na", "account_manager", "--name", "李娜")
		tok := strings.TrimSpace(c.must("", "token", "create", "--as", "li.na", "--scopes", "customers:read", "--ttl", "24h"))
		if !strings.HasPrefix(tok, "cst_") {
			t.Fatalf("token %q", tok)
		}

		csv := filepath.Join(t.TempDir(), "customers.csv")
		id := idcard.GenerateResidentID("110105", time.Date(1985, 3, 4, 0, 0, 0, 0, time.UTC), 17, true)
		body := "type,name,id_type,id_number,id_expiry,phone,address,tier\n" +
			"person,赵一,cn_resident_id," + id + ",2035-01-01,13800000001,北京市朝阳区1号,important\n" +
			"person,钱二,cn_resident_id,110105194912310021,2035-01-01,13800000002,北京市朝阳区2号,general\n"
		if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		out, _, err := c.run("", "customer", "import", csv, "--as", "li.na", "--quiet")
		if err == nil || !strings.Contains(out, "imported 1 customers, 1 rows failed") || !strings.Contains(out, "line 3: id_number") {
			t.Fatalf("import: %v\n%s", err, out)
		}
		// The export is an encrypted archive; its password comes once, on the terminal (R-C8).
		out = exportedCustomers(t, c, "wang.gm")
		if !strings.Contains(out, "赵一") || strings.Contains(out, id) || !strings.Contains(out, id[:6]+"********"+id[14:]) {
			t.Fatalf("export must list the customer with a masked ID:\n%s", out)
		}
		if _, _, err := c.run("", "customer", "export", "--out", filepath.Join(t.TempDir(), "x.zip.age")); err == nil {
			t.Fatal("an export without a named person must be refused")
		}

		// The imported archive is a draft awaiting onboarding approval; its
		// requester cannot approve it from the CLI either (R-A10, R-B1).
		out = c.must("", "request", "list", "--as", "li.na")
		if !strings.Contains(out, "onboarding") || !strings.Contains(out, "pending") {
			t.Fatalf("request list: %s", out)
		}
		if _, _, err := c.run("", "request", "approve", "1", "--as", "li.na"); err == nil || !strings.Contains(err.Error(), "cannot approve their own") {
			t.Fatalf("self-approval through the CLI: %v", err)
		}
		if _, _, err := c.run("", "request", "approve", "1", "--as", "wang.gm"); err == nil || !strings.Contains(err.Error(), "not been verified") {
			t.Fatalf("approval before verification: %v", err)
		}
		out = c.must("", "audit", "verify")
		if !strings.Contains(out, "events intact") {
			t.Fatalf("verify: %s", out)
		}
		c.must("", "audit", "checkpoint")
		if out = c.must("", "audit", "pubkey"); !strings.HasPrefix(out, "Ed25519 ") {
			t.Fatalf("pubkey: %s", out)
		}
		if out = c.must("", "keys", "rotate"); !strings.Contains(out, "1 data keys rewrapped") {
			t.Fatalf("rotate: %s", out)
		}
		status := c.must("", "keys", "status")
		if strings.Count(status, "\n") != 2 || !strings.Contains(status, "primary=true") {
			t.Fatalf("status: %s", status)
		}
		// The customer still reads after rotation: export again.
		if out = exportedCustomers(t, c, "wang.gm"); !strings.Contains(out, "赵一") {
			t.Fatal("customer unreadable after rotation")
		}
		if out = c.must("", "audit", "verify"); !strings.Contains(out, "events intact") {
			t.Fatalf("verify after rotation: %s", out)
		}
	})
}

func TestUsage(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), nil, nil, &out, &out); err != nil || !strings.Contains(out.String(), "serve") {
		t.Fatalf("%v %s", err, out.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, nil, &out, &out); exitCode(err) != 2 {
		t.Fatalf("unknown command: %v", err)
	}
	if err := run(context.Background(), []string{"serve", "--mfa-roles", "pilot", "--data", t.TempDir()}, nil, &out, &out); err == nil || exitCode(err) != 2 {
		t.Fatalf("unknown MFA role: %v", err)
	}
}
