package main

import (
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/auth"
)

// TestCLICredentials_RC4: a command that acts for a person needs that
// person's credentials: a password read from stdin (here) or the terminal,
// or an API token in CUSTOS_TOKEN checked against the store; a wrong one
// counts toward the same lockout as a web login.
func TestCLICredentials_RC4(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		c.must("", "migrate")
		c.addUser("li.na", "account_manager")
		c.addUser("wang.gm", "general_manager", "--org", "HQ")
		c.addUser("sec.wu", "security_admin", "--org", "HQ")

		// --as alone is no credential.
		if _, _, err := c.run("", "request", "list", "--as", "wang.gm", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "standard input ended") {
			t.Fatalf("no password: %v", err)
		}
		if _, _, err := c.run("", "request", "list", "--as", "nobody"); err == nil || !strings.Contains(err.Error(), "no terminal") {
			t.Fatalf("no terminal and no --password-stdin: %v", err)
		}
		if _, _, err := c.run("", "request", "list"); exitCode(err) != 2 {
			t.Fatalf("nobody named: %v", err)
		}
		// A wrong password is a failed login: five of them lock the account.
		for range 5 {
			if _, _, err := c.run("Wrong-Passw0rd!\n", "request", "list", "--as", "li.na", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "wrong username or password") {
				t.Fatalf("wrong password: %v", err)
			}
		}
		if _, _, err := c.run("", "request", "list", "--as", "li.na"); err == nil || !strings.Contains(err.Error(), "locked") {
			t.Fatalf("the right password of a locked account: %v", err)
		}
		// A one-time password works for nothing but its change.
		// The general manager's account is privileged: the administrator's
		// reset waits for the security administrator (三员分立).
		out := c.must("Einmal-Passw0rt-2026!\n", "user", "reset-password", "--username", "wang.gm", "--as", "root")
		m := filedRe.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("the reset of a privileged account was not filed: %s", out)
		}
		if _, _, err := c.run("Einmal-Passw0rt-2026!\n", "request", "list", "--as", "wang.gm", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "wrong username or password") {
			t.Fatalf("the filed reset took effect: %v", err)
		}
		c.must("", "request", "approve", m[1], "--as", "sec.wu", "--comment", "本人确认")
		if _, _, err := c.run("Einmal-Passw0rt-2026!\n", "request", "list", "--as", "wang.gm", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "one-time password") {
			t.Fatalf("a one-time password: %v", err)
		}
		c.must("Einmal-Passw0rt-2026!\nEigenes-Passw0rt-2027!\n", "password", "--as", "wang.gm", "--password-stdin")
		c.pw["wang.gm"] = "Eigenes-Passw0rt-2027!"

		// A user with a second factor gives the code after the password.
		secret := enrolTOTPCLI(t, c, "wang.gm")
		if _, _, err := c.run(c.pw["wang.gm"]+"\n000000\n", "request", "list", "--as", "wang.gm", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "wrong one-time code") {
			t.Fatalf("a wrong code: %v", err)
		}
		code, err := auth.TOTPCode(secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c.must(c.pw["wang.gm"]+"\n"+code+"\n", "request", "list", "--as", "wang.gm", "--password-stdin")

		// CUSTOS_TOKEN: the token's person, its scopes, its life.
		code, _ = auth.TOTPCode(secret, time.Now())
		tok := strings.TrimSpace(c.must(c.pw["wang.gm"]+"\n"+code+"\n", "token", "create", "--as", "wang.gm", "--password-stdin", "--scopes", "customers:read", "--ttl", "24h"))
		t.Setenv(envToken, tok)
		if out := c.must("", "token", "list"); !strings.Contains(out, "customers:read") || !strings.Contains(out, "live") {
			t.Fatalf("token list: %s", out)
		}
		if _, _, err := c.run("", "token", "create", "--scopes", "customers:read,customers:write"); err == nil || !strings.Contains(err.Error(), "beyond the scopes") {
			t.Fatalf("a token minted more scopes: %v", err)
		}
		if _, _, err := c.run("", "token", "create", "--ttl", "48h"); err == nil || !strings.Contains(err.Error(), "outlive") {
			t.Fatalf("a token minted a longer one: %v", err)
		}
		if _, _, err := c.run("", "request", "list", "--as", "li.na"); err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("a token used for another person: %v", err)
		}
		if _, _, err := c.run("", "export", "create", "--kind", "customers", "--purpose", "service", "--out", t.TempDir()+"/x.age"); err == nil {
			t.Fatal("a read-only token exported customers")
		}
		c.must("", "token", "revoke", "1")
		if _, _, err := c.run("", "token", "list"); err == nil || !strings.Contains(err.Error(), "invalid or expired token") {
			t.Fatalf("a revoked token: %v", err)
		}
		t.Setenv(envToken, "cst_forged")
		if _, _, err := c.run("", "request", "list"); err == nil || !strings.Contains(err.Error(), "invalid or expired token") {
			t.Fatalf("a forged token: %v", err)
		}
		t.Setenv(envToken, "")
		// Maintenance acts for no person and needs no credential.
		if out := c.must("", "audit", "verify"); !strings.Contains(out, "events intact") {
			t.Fatalf("verify: %s", out)
		}
	})
}

// enrolTOTPCLI gives a user of the CLI's store a second factor, through
// the services as the web enrolment does, and returns its secret.
func enrolTOTPCLI(t *testing.T, c cli, username string) string {
	t.Helper()
	e := &env{stdout: io.Discard, stderr: io.Discard}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	globalFlags(fs, &e.cfg)
	if err := fs.Parse(c.store); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.open(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	defer e.close()
	actor, err := e.app.Authenticate(ctx, app.Credentials{Username: username, Password: c.pw[username], Via: "cli"}, "")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := e.app.StartTOTP(ctx, actor.UserID, username)
	if err != nil {
		t.Fatal(err)
	}
	code, err := auth.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.ConfirmTOTP(ctx, actor, nil, code); err != nil {
		t.Fatal(err)
	}
	return secret
}
