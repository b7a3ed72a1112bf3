package app_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestPrivilegedResetNeedsSecondPerson_RC4: an administrator who resets a
// privileged account's password knows the one-time password and could sign
// in as the general manager before them; so that reset, the reset of its
// second factor and re-enabling a disabled privileged account only file a
// request a second authorised person approves (三员分立). Other accounts
// are reset at once.
func TestPrivilegedResetNeedsSecondPerson_RC4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		admin, gm := f.Actor("admin"), f.Users["gm"]
		login := func(pw string) error {
			_, err := f.App.Login(ctx, app.Credentials{Username: "gm", Password: pw, Via: "web", ClientAddr: "10.0.0.9"})
			return err
		}
		req, err := f.App.ResetPassword(ctx, admin, gm.ID, "Admin-Chosen-Pw-2026!")
		if err != nil || req == nil || req.Kind != custos.KindPrivilege || req.State != custos.RequestPending {
			t.Fatalf("the reset of the general manager's password: %+v %v", req, err)
		}
		if login("Admin-Chosen-Pw-2026!") == nil {
			t.Fatal("the administrator's password works before anyone approved it")
		}
		if err := login(apptest.Password); err != nil {
			t.Fatalf("the general manager's own password stopped working: %v", err)
		}
		if err := f.App.SetPassword(ctx, admin, gm.ID, "", "Admin-Chosen-Pw-2026!"); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("SetPassword's reset of a privileged account: %v", err)
		}
		if _, err := f.App.DecideRequest(ctx, admin, req.ID, true, ""); err == nil {
			t.Fatal("the administrator approved their own reset")
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, ""); err == nil {
			t.Fatal("the account concerned approved its own reset")
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("secadmin"), req.ID, true, "本人来电确认"); err != nil {
			t.Fatal(err)
		}
		if err := login("Admin-Chosen-Pw-2026!"); err != nil {
			t.Fatalf("the approved one-time password: %v", err)
		}
		if login(apptest.Password) == nil {
			t.Fatal("the old password still works after the approved reset")
		}

		// The second factor and re-enabling follow the same rule.
		if filed, err := f.App.ResetSecondFactor(ctx, admin, f.Users["compliance"].ID); err != nil || filed == nil {
			t.Fatalf("the reset of compliance's second factor: %+v %v", filed, err)
		}
		if _, err := f.App.SetUserDisabled(ctx, admin, f.Users["auditor"].ID, true); err != nil {
			t.Fatal(err) // disabling takes a privilege away: at once
		}
		if filed, err := f.App.SetUserDisabled(ctx, admin, f.Users["auditor"].ID, false); err != nil || filed == nil {
			t.Fatalf("re-enabling the auditor: %+v %v", filed, err)
		}
		if _, err := f.App.Login(ctx, app.Credentials{Username: "auditor", Password: apptest.Password, Via: "web"}); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("the auditor signs in before the re-enabling is approved: %v", err)
		}
		// An account manager's too: with its one-time password the
		// administrator could read the account manager's portfolio.
		if filed, err := f.App.ResetPassword(ctx, admin, f.Users["am_bj01"].ID, "Einmal-Passw0rt-9!"); err != nil || filed == nil {
			t.Fatalf("an account manager's reset: %+v %v", filed, err)
		}
		// A custodian's, who reaches no customer, is made at once.
		if filed, err := f.App.ResetPassword(ctx, admin, f.Users["custodian"].ID, "Einmal-Passw0rt-9!"); err != nil || filed != nil {
			t.Fatalf("a custodian's reset: %+v %v", filed, err)
		}
		// A branch manager or an inspector approves and verifies others'
		// work: creating one is privileged too, at any unit — otherwise the
		// administrator could be maker, verifier and checker alone.
		for _, role := range []custos.Role{custos.RoleManager, custos.RoleInspector} {
			u, req, err := f.App.CreateUser(ctx, admin, app.NewUser{Username: "puppet_" + string(role), Org: "BJ", Role: role, Password: "Puppet-Passw0rd-2026!"})
			if err != nil || u != nil || req == nil {
				t.Fatalf("a branch %s created by the administrator alone: %+v %+v %v", role, u, req, err)
			}
		}
		if u, req, err := f.App.CreateUser(ctx, admin, app.NewUser{Username: "new_am", Org: "BJ01", Role: custos.RoleAccountManager, Password: "Puppet-Passw0rd-2026!"}); err != nil || u == nil || req != nil {
			t.Fatalf("an account manager (an empty portfolio): %+v %+v %v", u, req, err)
		}
	})
}

// TestPrivilegedBootstrap_RC4: a fresh installation has nobody to be the
// second person, so its administrator creates the first privileged
// accounts; once someone may approve them (or the store holds a customer),
// a privileged account never comes from one administrator alone again —
// and disabling every approver does not reopen the bootstrap of a store
// with customers.
func TestPrivilegedBootstrap_RC4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		keys, err := seal.CreateKeyring(t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		a := app.New(app.DefaultConfig(), db, keys, custos.NewFakeClock(apptest.Start), slog.New(slog.NewTextHandler(io.Discard, nil)))
		defer a.Close()
		sys := custos.SystemActor("cli")
		hq := &custos.Org{Code: "HQ", Name: "总行", Kind: custos.HeadOffice}
		if err := a.CreateOrg(ctx, sys, hq); err != nil {
			t.Fatal(err)
		}
		root, _, err := a.CreateUser(ctx, sys, app.NewUser{Username: "root", Org: "HQ", Role: custos.RoleAdmin, Password: "Zongheng-Guanli-2026!"})
		if err != nil {
			t.Fatal(err)
		}
		admin := app.ActorFor(root, hq, "cli", "", "", "service")
		add := func(name string, role custos.Role) (*custos.User, *custos.Request) {
			u, req, err := a.CreateUser(ctx, admin, app.NewUser{Username: name, Org: "HQ", Role: role, Password: "Erst-Passw0rt-2026!"})
			if err != nil {
				t.Fatal(err)
			}
			return u, req
		}
		if u, req := add("first.sec", custos.RoleSecurityAdmin); u == nil || req != nil || !u.MustChangePassword {
			t.Fatalf("the first security administrator of a fresh installation: %+v %+v", u, req)
		}
		if u, req := add("second.gm", custos.RoleGeneralManager); u != nil || req == nil {
			t.Fatalf("a general manager once a security administrator exists: %+v %+v", u, req)
		}
		if _, err := a.SetUserDisabled(ctx, admin, mustUser(t, a, "first.sec"), true); err != nil {
			t.Fatal(err)
		}
		// With the only approver disabled the store is fresh again — but not
		// once it holds a customer.
		if u, req := add("third.gm", custos.RoleGeneralManager); u == nil || req != nil {
			t.Fatalf("an empty store without approvers: %+v %+v", u, req)
		}
		c := apptest.Person("第一位客户")
		c.Org, c.Owner = "HQ", "third.gm"
		if _, err := a.CreateCustomer(ctx, sys, c); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SetUserDisabled(ctx, admin, mustUser(t, a, "third.gm"), true); err != nil {
			t.Fatal(err)
		}
		if u, req := add("fourth.gm", custos.RoleGeneralManager); u != nil || req == nil {
			t.Fatalf("a store with customers reopened the bootstrap: %+v %+v", u, req)
		}
	})
}

func mustUser(t *testing.T, a *app.App, name string) int64 {
	t.Helper()
	u, _, err := a.UserByName(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestTxnPolicyFloor_RE4_RE6: the security administrator sets the
// large-value and real-name policy alone, so alone they may only tighten
// it: no threshold above the regulatory line, no verification counting
// longer than a year.
func TestTxnPolicyFloor_RE4_RE6(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		loose := custos.DefaultTxnPolicy()
		loose.LargeValue["CNY"] *= 100_000
		if err := f.App.SetTxnPolicy(ctx, f.Actor("secadmin"), loose); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a large-value line raised 100,000-fold: %v", err)
		}
		long := custos.DefaultTxnPolicy()
		long.RealNameWithin *= 5
		if err := f.App.SetTxnPolicy(ctx, f.Actor("secadmin"), long); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a verification counting five years: %v", err)
		}
		strict := custos.DefaultTxnPolicy()
		strict.LargeValue["CNY"] /= 2
		if err := f.App.SetTxnPolicy(ctx, f.Actor("secadmin"), strict); err != nil {
			t.Fatalf("a stricter policy: %v", err)
		}
	})
}
