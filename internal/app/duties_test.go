package app_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// Separation of duties (三员分立, GB/T 22239-2019; issue 12, point 3).

// TestAdministratorReachesNoCustomer_RC1_RD4: the system administrator
// and the security administrator neither read nor find customers, grant
// access, manage portfolios or handovers, close relationships or read the
// audit trail; every refusal is audited.
func TestAdministratorReachesNoCustomer_RC1_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c := f.Create(t, "am_bj01", apptest.Person("三员客户"))
		for _, who := range []string{"admin", "secadmin"} {
			a := f.Actor(who)
			if _, err := f.App.GetCustomer(ctx, a, c.ID); custos.ErrorCodeOf(err) != custos.ENotFound {
				t.Errorf("%s reads a customer: %v", who, err)
			}
			if page, err := f.App.SearchCustomers(ctx, a, custos.CustomerFilter{}); err != nil || page.Total != 0 {
				t.Errorf("%s finds customers: %v %+v", who, err, page)
			}
			if _, err := f.App.CreateGrant(ctx, a, app.GrantInput{Username: "custodian", CustomerID: c.ID, Purpose: "audit", Reason: "检查", Duration: "1h"}); custos.ErrorCodeOf(err) != custos.EForbidden {
				t.Errorf("%s grants access: %v", who, err)
			}
			if _, err := f.App.AddPortfolio(ctx, a, custos.PortfolioEntry{UserID: f.Users["am2_bj01"].ID, CustomerID: c.ID}); custos.ErrorCodeOf(err) != custos.EForbidden {
				t.Errorf("%s assigns a portfolio: %v", who, err)
			}
			if _, err := f.App.SearchAudit(ctx, a, apptestQuery("", "")); custos.ErrorCodeOf(err) != custos.EForbidden {
				t.Errorf("%s reads the audit trail: %v", who, err)
			}
			if _, err := f.App.CloseRelationship(ctx, a, c.ID, app.CloseInput{Reason: "销户"}); custos.ErrorCodeOf(err) != custos.EForbidden {
				t.Errorf("%s closes a relationship: %v", who, err)
			}
		}
		if _, _, err := f.App.SetUserRole(ctx, f.Actor("admin"), f.Users["am_bj01"].ID, custos.RoleManager, "升职"); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Errorf("the administrator changes roles: %v", err)
		}
		evs, err := f.App.SearchAudit(ctx, f.Actor("auditor"), app.AuditQuery{AuditFilter: custos.AuditFilter{Actor: "admin", Outcome: custos.OutcomeDenied}})
		if err != nil || len(evs) < 5 {
			t.Fatalf("the administrator's refusals are not audited: %v %d", err, len(evs))
		}
	})
}

// TestPrivilegedAccountNeedsSecondPerson_RC4: an administrator creating a
// general manager only files a request; the account does not exist (and
// cannot sign in) until someone else authorised approves; the requester
// cannot approve, nor can the account raised approve its own raise. An
// account manager is created at once. The password hash is wiped from the
// request once it has ended.
func TestPrivilegedAccountNeedsSecondPerson_RC4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		admin := f.Actor("admin")
		const pw = "Known-Passw0rd-2026"
		u, req, err := f.App.CreateUser(ctx, admin, app.NewUser{Username: "new_gm", DisplayName: "新总经理", Org: "HQ", Role: custos.RoleGeneralManager, Password: pw})
		if err != nil || u != nil || req == nil || req.Kind != custos.KindPrivilege || req.State != custos.RequestPending {
			t.Fatalf("privileged account: %v %+v %+v", err, u, req)
		}
		if _, _, err := f.App.UserByName(ctx, "new_gm"); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("the account exists before approval: %v", err)
		}
		if _, err := f.App.Login(ctx, app.Credentials{Username: "new_gm", Password: pw, ClientAddr: "10.0.0.1", Via: "test"}); err == nil {
			t.Fatal("the pending account signed in")
		}
		if _, err := f.App.DecideRequest(ctx, admin, req.ID, true, "同意"); !errors.Is(err, custos.ErrSelfApproval) {
			t.Fatalf("the requester approved: %v", err)
		}
		for _, who := range []string{"mgr_bj", "auditor", "compliance"} {
			if _, err := f.App.DecideRequest(ctx, f.Actor(who), req.ID, true, "同意"); err == nil {
				t.Fatalf("%s, not an approver, approved", who)
			}
		}
		v, err := f.App.Request(ctx, f.Actor("secadmin"), req.ID)
		if err != nil || v.Account == nil || v.Account.Username != "new_gm" || v.Account.PasswordHash != "" || !v.CanDecide {
			t.Fatalf("the approver's view: %v %+v", err, v)
		}
		if r, err := f.App.DecideRequest(ctx, f.Actor("secadmin"), req.ID, true, "核实无误"); err != nil || r.State != custos.RequestApplied {
			t.Fatalf("approval: %v %+v", err, r)
		}
		gm, _, err := f.App.UserByName(ctx, "new_gm")
		if err != nil || gm.Role != custos.RoleGeneralManager {
			t.Fatalf("the approved account: %v %+v", err, gm)
		}
		if _, err := f.App.Login(ctx, app.Credentials{Username: "new_gm", Password: pw, ClientAddr: "10.0.0.2", Via: "test"}); err != nil {
			t.Fatalf("the approved account signs in: %v", err)
		}
		assertNoHash(t, f, req.ID)

		// A manager at the head office reaches the whole bank: approval too.
		if _, req, err := f.App.CreateUser(ctx, admin, app.NewUser{Username: "hq_mgr", Org: "HQ", Role: custos.RoleManager, Password: pw}); err != nil || req == nil {
			t.Fatalf("a head-office manager: %v %+v", err, req)
		}
		// A rejected request creates nothing and keeps no hash.
		_, rej, err := f.App.CreateUser(ctx, admin, app.NewUser{Username: "new_audit", Org: "HQ", Role: custos.RoleAuditor, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), rej.ID, false, "无此岗位"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.App.UserByName(ctx, "new_audit"); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("a rejected account exists: %v", err)
		}
		assertNoHash(t, f, rej.ID)
		// Nor does an expired one.
		_, old, err := f.App.CreateUser(ctx, admin, app.NewUser{Username: "late_admin", Org: "HQ", Role: custos.RoleAdmin, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		f.Clock.Advance(8 * 24 * time.Hour)
		if n, err := f.App.ExpireRequests(ctx); err != nil || n < 1 {
			t.Fatalf("expiry: %d %v", n, err)
		}
		assertNoHash(t, f, old.ID)
		if _, err := f.App.DecideRequest(ctx, f.Actor("secadmin"), old.ID, true, "同意"); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("an expired account request was approved: %v", err)
		}
		// An account manager takes effect at once.
		am, req2, err := f.App.CreateUser(ctx, admin, app.NewUser{Username: "new_am", Org: "BJ01", Role: custos.RoleAccountManager, Password: pw})
		if err != nil || am == nil || req2 != nil || am.ID == 0 {
			t.Fatalf("an account manager: %v %+v %+v", err, am, req2)
		}

		// Raising an account: the security administrator files, someone
		// else approves; the account raised cannot approve its own raise.
		sec := f.Actor("secadmin")
		if _, _, err := f.App.SetUserRole(ctx, sec, am.ID, custos.RoleButler, "转岗"); err != nil {
			t.Fatalf("a plain role change: %v", err)
		}
		_, raise, err := f.App.SetUserRole(ctx, sec, f.Users["compliance"].ID, custos.RoleSecurityAdmin, "兼任")
		if err != nil || raise == nil {
			t.Fatalf("raise: %v %+v", err, raise)
		}
		if _, err := f.App.DecideRequest(ctx, sec, raise.ID, true, "同意"); !errors.Is(err, custos.ErrSelfApproval) {
			t.Fatalf("the requester approved the raise: %v", err)
		}
		if u, _, _ := f.App.UserByName(ctx, "compliance"); u.Role != custos.RoleCompliance {
			t.Fatalf("the role changed before approval: %s", u.Role)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), raise.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		if u, _, _ := f.App.UserByName(ctx, "compliance"); u.Role != custos.RoleSecurityAdmin {
			t.Fatalf("the role after approval: %s", u.Role)
		}
		// The raised officer, now a security administrator, cannot approve
		// a raise of their own.
		_, self, err := f.App.SetUserRole(ctx, sec, f.Users["compliance"].ID, custos.RoleGeneralManager, "再升")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("compliance"), self.ID, true, "同意"); err == nil {
			t.Fatal("an account approved its own raise")
		}
	})
}

// assertNoHash opens an ended privileged-account request's sealed payload
// and checks the password hash is gone.
func assertNoHash(t *testing.T, f *apptest.Fixture, id int64) {
	t.Helper()
	r, err := f.DB.Reader().Request(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := f.Keys.Sealer.OpenSystem("request|"+strconv.FormatInt(id, 10), r.PayloadCT)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(pt), "argon2") || strings.Contains(string(pt), "password_hash") {
		t.Fatalf("request %d keeps the password hash: %s", id, pt)
	}
}

// TestApprovalRuleChange_RF3_RB1: a destruction rule lowered to one
// approver and account managers made approvers of changes are refused;
// an administrator cannot change rules; a legitimate change takes effect
// only once a second person approves it; a rule lowered in the database
// itself is still held to its floor.
func TestApprovalRuleChange_RF3_RB1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		sec := f.Actor("secadmin")
		week := custos.Duration(7 * 24 * time.Hour)
		one := custos.ApprovalRule{Kind: custos.KindDestruction, Roles: []custos.Role{custos.RoleCompliance, custos.RoleGeneralManager}, Scope: custos.ScopeAny, Required: 1, TTL: week}
		if _, err := f.App.PutApprovalRule(ctx, sec, one); custos.ErrorCodeOf(err) != custos.EInvalid || fieldCodes(err)["required"] == "" {
			t.Fatalf("destruction by one approver: %v", err)
		}
		ams := custos.ApprovalRule{Kind: custos.KindChange, Roles: []custos.Role{custos.RoleAccountManager}, Scope: custos.ScopeUnit, Required: 1, TTL: week}
		if _, err := f.App.PutApprovalRule(ctx, sec, ams); custos.ErrorCodeOf(err) != custos.EInvalid || fieldCodes(err)["roles"] == "" {
			t.Fatalf("account managers approving changes: %v", err)
		}
		legit := custos.ApprovalRule{Kind: custos.KindChange, Roles: []custos.Role{custos.RoleGeneralManager}, Scope: custos.ScopeUnit, Required: 2, TTL: week}
		if _, err := f.App.PutApprovalRule(ctx, f.Actor("admin"), legit); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("the administrator changes a rule: %v", err)
		}
		req, err := f.App.PutApprovalRule(ctx, sec, legit)
		if err != nil || req.Kind != custos.KindRuleChange || req.State != custos.RequestPending {
			t.Fatalf("a legitimate change: %v %+v", err, req)
		}
		ruleOf := func(k custos.RequestKind) custos.ApprovalRule {
			rules, err := f.App.ApprovalRules(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rules {
				if r.Kind == k {
					return r
				}
			}
			t.Fatalf("no rule for %s", k)
			return custos.ApprovalRule{}
		}
		if r := ruleOf(custos.KindChange); r.Required != 1 {
			t.Fatalf("the rule changed before approval: %+v", r)
		}
		if _, err := f.App.DecideRequest(ctx, sec, req.ID, true, "同意"); !errors.Is(err, custos.ErrSelfApproval) {
			t.Fatalf("the requester approved: %v", err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		if r := ruleOf(custos.KindChange); r.Required != 2 || len(r.Roles) != 1 || r.Roles[0] != custos.RoleGeneralManager {
			t.Fatalf("the rule after approval: %+v", r)
		}
		// A change filed now needs two general managers' approvals.
		c := f.Create(t, "am_bj01", apptest.Person("规则客户"))
		onboard(t, f, c, "inspector_bj", "mgr_bj")
		ch, err := f.App.ChangeCustomer(ctx, f.Actor("am_bj01"), c.ID, 0, "更正职业", func(in *custos.CustomerInput) error { in.Occupation = "教师"; return nil })
		if err != nil || ch.Request == nil || ch.Request.Required != 2 {
			t.Fatalf("a change under the new rule: %v %+v", err, ch)
		}
		// Edited below the floor in the database, the rule is still two.
		if err := f.DB.Write(ctx, func(tx *sqlstore.Tx) error { return tx.PutApprovalRule(ctx, one) }); err != nil {
			t.Fatal(err)
		}
		if r := ruleOf(custos.KindDestruction); r.Required != 2 {
			t.Fatalf("a destruction rule lowered in the database: %+v", r)
		}
	})
}

// TestClosureNeedsApprovalAndRecentEnd_RF1: a relationship cannot be
// closed as of 2010 (its data would fall due at once), more than a week
// back, in the future, or before the customer's last business activity;
// a valid closure is a request and takes effect only when a second person
// approves it, after checking again for activity recorded meanwhile.
func TestClosureNeedsApprovalAndRecentEnd_RF1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c := f.Create(t, "am_bj01", apptest.Person("终止客户"))
		onboard(t, f, c, "inspector_bj", "mgr_bj")
		f.Clock.Advance(5 * 24 * time.Hour) // now Day(5)
		if _, _, err := f.App.RecordTransaction(ctx, f.Actor("am_bj01"), c.ID, txnIn("C1", "6222020200110000123", apptest.DayTime(4, "10:00:00"), "10.00")); err != nil {
			t.Fatal(err)
		}
		comp := f.Actor("compliance")
		for _, end := range []string{"2010-01-01", apptest.Day(-3), apptest.Day(6), apptest.Day(-1), apptest.Day(3)} {
			if _, err := f.App.CloseRelationship(ctx, comp, c.ID, app.CloseInput{RelationshipEnd: end, Reason: "销户"}); custos.ErrorCodeOf(err) != custos.EInvalid {
				t.Errorf("end date %s accepted: %v", end, err)
			}
		}
		req, err := f.App.CloseRelationship(ctx, comp, c.ID, app.CloseInput{RelationshipEnd: apptest.Day(4), Reason: "客户销户"})
		if err != nil || req.Kind != custos.KindClosure || req.State != custos.RequestPending {
			t.Fatalf("a valid closure: %v %+v", err, req)
		}
		if _, err := f.App.CloseRelationship(ctx, comp, c.ID, app.CloseInput{RelationshipEnd: apptest.Day(4), Reason: "again"}); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("a second closure while one is pending: %v", err)
		}
		if got, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj"), c.ID); err != nil || got.Status != custos.StatusEffective {
			t.Fatalf("the customer before approval: %v %+v", err, got)
		}
		if _, err := f.App.DecideRequest(ctx, comp, req.ID, true, "同意"); !errors.Is(err, custos.ErrSelfApproval) {
			t.Fatalf("the requester approved: %v", err)
		}
		v, err := f.App.Request(ctx, f.Actor("mgr_bj"), req.ID)
		if err != nil || v.Closure == nil || v.Closure.RelationshipEnd != apptest.Day(4) || v.Closure.Reason != "客户销户" {
			t.Fatalf("the approver's view: %v %+v", err, v)
		}
		// Business recorded after the end date: the approval is refused.
		if _, _, err := f.App.RecordTransaction(ctx, f.Actor("am_bj01"), c.ID, txnIn("C2", "6222020200110000123", apptest.DayTime(5, "08:00:00"), "20.00")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), req.ID, true, "同意"); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("approved despite later business: %v", err)
		}
		if err := f.App.CancelRequest(ctx, comp, req.ID); err != nil {
			t.Fatal(err)
		}
		req, err = f.App.CloseRelationship(ctx, comp, c.ID, app.CloseInput{RelationshipEnd: apptest.Day(5), Reason: "客户销户"})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), req.ID, true, "同意"); err != nil || r.State != custos.RequestApplied {
			t.Fatalf("approval: %v %+v", err, r)
		}
		if _, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj"), c.ID); custos.ErrorCodeOf(err) != custos.ENotFound {
			t.Fatalf("a service read of the closed customer: %v", err)
		}
		if got, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj").WithPurpose("legal"), c.ID); err != nil || got.Status != custos.StatusClosed {
			t.Fatalf("the closed customer: %v %+v", err, got)
		}
	})
}
