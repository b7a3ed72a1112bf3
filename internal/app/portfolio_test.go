package app_test

import (
	"errors"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestPortfolioAssignment_RC1_RC2 is issue 12's first hole, tried as the
// attacker did: the Shanghai branch manager put a Beijing private-banking
// customer into his own portfolio and then read it. Giving someone a
// customer is a decision: only within one's own unit and below, to a
// portfolio holder of that unit, never to oneself, never a protected
// customer, audited either way, and under maker-checker when a rule says so.
func TestPortfolioAssignment_RC1_RC2(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		normal := f.Create(t, "am_bj01", apptest.Person("北京普通客户"))
		pb := apptest.Person("北京私行客户")
		pb.Sensitivity, pb.ProtectedReason = custos.Protected, "private_banking"
		private := f.Create(t, "am_bj01", pb)
		shanghai := f.Create(t, "mgr_sh", apptest.Person("上海客户"))
		uid := func(name string) int64 { return f.Users[name].ID }
		assign := func(actor, to string, c *custos.Customer) error {
			_, err := f.App.AddPortfolio(ctx, f.Actor(actor), custos.PortfolioEntry{UserID: uid(to), CustomerID: c.ID})
			return err
		}
		readable := func(user string, c *custos.Customer) bool {
			_, err := f.App.GetCustomer(ctx, f.Actor(user), c.ID)
			if err != nil && !errors.Is(err, custos.ErrNotFound) {
				t.Fatalf("%s reads %s: %v", user, c.ArchiveNo, err)
			}
			return err == nil
		}

		// The attack: each step is refused, and answers as for a missing customer.
		for _, c := range []*custos.Customer{private, normal} {
			if err := assign("mgr_sh", "mgr_sh", c); !errors.Is(err, custos.ErrNotFound) {
				t.Errorf("the Shanghai manager took %s into his own portfolio: %v", c.ArchiveNo, err)
			}
			if err := assign("mgr_sh", "am_bj01", c); !errors.Is(err, custos.ErrNotFound) {
				t.Errorf("the Shanghai manager gave %s away: %v", c.ArchiveNo, err)
			}
		}
		if readable("mgr_sh", private) || readable("mgr_sh", normal) {
			t.Fatal("the Shanghai manager reads a Beijing customer")
		}
		// A customer that does not exist answers the same.
		if _, err := f.App.AddPortfolio(ctx, f.Actor("mgr_sh"), custos.PortfolioEntry{UserID: uid("mgr_sh"), CustomerID: "0190f0f0-0000-7000-8000-000000000000"}); !errors.Is(err, custos.ErrNotFound) {
			t.Errorf("a missing customer: %v", err)
		}
		// Never to oneself, even in one's own unit; never to someone outside it.
		if err := assign("mgr_sh", "mgr_sh", shanghai); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Errorf("self-assignment in one's own branch: %v", err)
		}
		if err := assign("mgr_sh", "am_bj01", shanghai); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Errorf("an assignee in another branch: %v", err)
		}
		if err := assign("mgr_bj", "inspector_bj", normal); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Errorf("an inspector as portfolio holder: %v", err)
		}
		// Not even the general manager puts a protected customer into a
		// portfolio: that takes a grant.
		if err := assign("gm", "am2_bj01", private); !errors.Is(err, custos.ErrNotFound) {
			t.Errorf("the general manager assigned a protected customer: %v", err)
		}
		if readable("am2_bj01", private) {
			t.Fatal("a protected customer reached through an assignment")
		}
		// The legitimate assignment works.
		if err := assign("mgr_bj", "am2_bj01", normal); err != nil {
			t.Fatal(err)
		}
		if !readable("am2_bj01", normal) {
			t.Fatal("an assigned customer is not readable by its new holder")
		}
		// Taking it out again is for the holder's own branch only.
		if err := f.App.RemovePortfolio(ctx, f.Actor("mgr_sh"), custos.PortfolioEntry{UserID: uid("am2_bj01"), CustomerID: normal.ID}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Errorf("the Shanghai manager emptied a Beijing portfolio: %v", err)
		}
		if !readable("am2_bj01", normal) {
			t.Fatal("a refused removal removed")
		}

		// Every refusal is in the audit trail with its reason.
		evs, err := f.App.SearchAudit(ctx, f.Actor("auditor"), apptestQuery("", "portfolio.manage"))
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]int{}
		for _, ev := range evs {
			if ev.Outcome == custos.OutcomeDenied {
				reasons[ev.Reason]++
			}
		}
		if reasons[custos.DenyScope] < 4 || reasons[custos.DenySelfAssignment] != 1 || reasons[custos.DenyAssigneeScope] != 2 ||
			reasons[custos.DenyProtected] != 1 || reasons[custos.DenyAssigneeRole] != 1 {
			t.Errorf("audited refusals: %v", reasons)
		}

		// Under maker-checker once a rule says so: the assignment waits for
		// a second person, and the requester cannot approve it.
		err = db.Write(ctx, func(tx *sqlstore.Tx) error {
			return tx.PutApprovalRule(ctx, custos.ApprovalRule{Kind: custos.KindPortfolio, Roles: []custos.Role{custos.RoleManager, custos.RoleGeneralManager},
				Scope: custos.ScopeUnit, Required: 1, TTL: custos.DefaultApprovalRules[0].TTL})
		})
		if err != nil {
			t.Fatal(err)
		}
		f.Clock.Advance(f.App.Config().RefCacheTTL + 1) // the rule is seen by every server
		second := f.Create(t, "am_bj01", apptest.Person("待分配客户"))
		req, err := f.App.AddPortfolio(ctx, f.Actor("mgr_bj"), custos.PortfolioEntry{UserID: uid("am2_bj01"), CustomerID: second.ID})
		if err != nil || req == nil || req.Kind != custos.KindPortfolio || req.State != custos.RequestPending {
			t.Fatalf("an assignment under an approval rule: %+v %v", req, err)
		}
		if readable("am2_bj01", second) {
			t.Fatal("the assignment took effect before approval")
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), req.ID, true, ""); !errors.Is(err, custos.ErrSelfApproval) {
			t.Fatalf("the requester approved their own assignment: %v", err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		if !readable("am2_bj01", second) {
			t.Fatal("the approved assignment did not take effect")
		}
		// Decided again at approval: a customer made protected meanwhile is
		// not assigned.
		third := f.Create(t, "am_bj01", apptest.Person("后改私行"))
		req, err = f.App.AddPortfolio(ctx, f.Actor("mgr_bj"), custos.PortfolioEntry{UserID: uid("am2_bj01"), CustomerID: third.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.UpdateCustomer(ctx, f.Actor("am_bj01"), third.ID, 0, func(in *custos.CustomerInput) error {
			in.Sensitivity, in.ProtectedReason = custos.Protected, "large_value"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, "同意"); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("an assignment of a customer made protected after filing: %v", err)
		}
		if readable("am2_bj01", third) {
			t.Fatal("the protected customer reached through a stale assignment")
		}
		// Listing someone's portfolio is for their own unit and above.
		if _, err := f.App.Portfolio(ctx, f.Actor("mgr_sh"), uid("am2_bj01")); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("the Shanghai manager lists a Beijing portfolio: %v", err)
		}
		if pf, err := f.App.Portfolio(ctx, f.Actor("mgr_bj"), uid("am2_bj01")); err != nil || len(pf) == 0 {
			t.Fatalf("the Beijing manager lists it: %v %v", pf, err)
		}
	})
}

// TestBuildingAssignment_RC1: a building is only a name. The same estate
// and building in Shanghai do not open to a Beijing butler, a protected
// household is never reached through a building, and a manager assigns
// buildings only to butlers of their own unit and below.
func TestBuildingAssignment_RC1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		household := func(creator, name string, protected bool) *custos.Customer {
			h := apptest.Person(name)
			h.Category, h.Household = "property_owner", &custos.Household{Estate: "阳光花园", Building: "3栋", Floor: "5", Unit: "502"}
			if creator == "mgr_bj" {
				h.Org = "BJ01"
			}
			if protected {
				h.Sensitivity, h.ProtectedReason = custos.Protected, "private_banking"
			}
			return f.Create(t, creator, h)
		}
		here := household("mgr_bj", "北京住户", false)
		guarded := household("mgr_bj", "北京受保护住户", true)
		there := household("mgr_sh", "上海同名楼住户", false)
		building := custos.PortfolioEntry{UserID: f.Users["butler_bj01"].ID, Building: custos.BuildingKey("阳光花园", "3栋")}
		if _, err := f.App.AddPortfolio(ctx, f.Actor("mgr_sh"), building); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("the Shanghai manager gave a Beijing butler a building: %v", err)
		}
		self := custos.PortfolioEntry{UserID: f.Users["mgr_bj"].ID, Building: building.Building}
		if _, err := f.App.AddPortfolio(ctx, f.Actor("mgr_bj"), self); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a manager took a building himself: %v", err)
		}
		if _, err := f.App.AddPortfolio(ctx, f.Actor("mgr_bj"), building); err != nil {
			t.Fatal(err)
		}
		butler := f.Actor("butler_bj01")
		page, err := f.App.SearchCustomers(ctx, butler, custos.CustomerFilter{PageSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, c := range page.Items {
			found[c.ID] = true
		}
		for _, c := range []struct {
			c    *custos.Customer
			want bool
		}{{here, true}, {guarded, false}, {there, false}} {
			_, err := f.App.GetCustomer(ctx, butler, c.c.ID)
			if (err == nil) != c.want || found[c.c.ID] != c.want {
				t.Errorf("butler and %s: read %v, found %v, want %v", c.c.ArchiveNo, err, found[c.c.ID], c.want)
			}
		}
	})
}

var _ = app.GrantInput{}
