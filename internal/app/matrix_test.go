package app_test

import (
	"errors"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestServiceMatrix drives the real services on both databases: for every
// fixture user and customer, a read succeeds exactly where the table says,
// search returns exactly the readable customers, grants open access and
// expire on time (R-C1, R-C2, R-L2).
func TestServiceMatrix(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c1 := f.Create(t, "am_bj01", apptest.Person("一号"))
		p := apptest.Person("二号")
		p.Sensitivity, p.ProtectedReason = custos.Protected, "large_value"
		c2 := f.Create(t, "am_bj01", p)
		c3 := f.Create(t, "mgr_sh", apptest.Person("三号"))
		h := apptest.Person("四号")
		h.Category, h.Household = "property_owner", &custos.Household{Estate: "阳光花园", Building: "3栋", Floor: "5", Unit: "502"}
		h.Org = "BJ01" // the estate is the sub-branch's: its butler's buildings reach no further (R-C1)
		c4 := f.Create(t, "mgr_bj", h)
		if _, err := f.App.AddPortfolio(ctx, f.Actor("mgr_bj"), custos.PortfolioEntry{UserID: f.Users["butler_bj01"].ID, Building: custos.BuildingKey("阳光花园", "3栋")}); err != nil {
			t.Fatal(err)
		}
		customers := []*custos.Customer{c1, c2, c3, c4}
		//                         c1   c2   c3   c4
		want := map[string]string{
			"admin":        "----",
			"gm":           "Y-YY",
			"mgr_bj":       "Y--Y",
			"mgr_sh":       "--Y-",
			"am_bj01":      "YY--",
			"am2_bj01":     "----",
			"butler_bj01":  "---Y",
			"inspector_bj": "Y--Y",
			"compliance":   "Y-YY",
			"auditor":      "----",
			"custodian":    "----",
			"secadmin":     "----",
		}
		check := func(user, row string) {
			t.Helper()
			actor := f.Actor(user)
			page, err := f.App.SearchCustomers(ctx, actor, custos.CustomerFilter{PageSize: 200})
			if err != nil {
				t.Fatalf("%s search: %v", user, err)
			}
			found := map[string]bool{}
			for _, c := range page.Items {
				found[c.ID] = true
			}
			for i, c := range customers {
				_, err := f.App.GetCustomer(ctx, actor, c.ID)
				readable := err == nil
				if err != nil && !errors.Is(err, custos.ErrNotFound) {
					t.Fatalf("%s read c%d: %v", user, i+1, err)
				}
				if exp := row[i] == 'Y'; readable != exp {
					t.Errorf("%s read c%d: %v, want %v", user, i+1, readable, exp)
				}
				if found[c.ID] != readable {
					t.Errorf("%s: search and read disagree on c%d", user, i+1)
				}
			}
			if page.Total != len(page.Items) {
				t.Errorf("%s: total %d, items %d", user, page.Total, len(page.Items))
			}
		}
		for user, row := range want {
			check(user, row)
		}

		// A grant opens a protected customer to the custodian for one hour only.
		g, err := f.App.CreateGrant(ctx, f.Actor("gm"), app.GrantInput{Username: "custodian", CustomerID: c2.ID, Purpose: "audit", Reason: "档案检查", Duration: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		check("custodian", "-Y--")
		if _, err := f.App.RevealCustomer(ctx, f.Actor("custodian"), c2.ID, []string{"phone"}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("a read grant must not allow reveal: %v", err)
		}
		f.Clock.Advance(time.Hour + time.Second)
		check("custodian", "----")

		// A revoked grant ends at once.
		g2, err := f.App.CreateGrant(ctx, f.Actor("gm"), app.GrantInput{Username: "mgr_sh", CustomerID: c1.ID, Purpose: "risk", Reason: "跨行风险排查", Duration: "24h"})
		if err != nil {
			t.Fatal(err)
		}
		check("mgr_sh", "Y-Y-")
		if err := f.App.RevokeGrant(ctx, f.Actor("gm"), g2.ID); err != nil {
			t.Fatal(err)
		}
		check("mgr_sh", "--Y-")
		if _, err := f.App.CreateGrant(ctx, f.Actor("mgr_bj"), app.GrantInput{Username: "custodian", CustomerID: c2.ID, Purpose: "audit", Reason: "x", Duration: "1h"}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("a manager granting access: %v", err)
		}
		_ = g

		// Giving a customer to a portfolio and granting access are decisions
		// of their own (R-C1): for every fixture user, exactly who may.
		mayAssign, mayGrant := map[string]bool{"mgr_bj": true, "gm": true}, map[string]bool{"gm": true}
		for user := range want {
			_, err := f.App.AddPortfolio(ctx, f.Actor(user), custos.PortfolioEntry{UserID: f.Users["am2_bj01"].ID, CustomerID: c1.ID})
			if (err == nil) != mayAssign[user] {
				t.Errorf("%s gives c1 to am2_bj01: %v, want allowed=%v", user, err, mayAssign[user])
			}
			_, err = f.App.CreateGrant(ctx, f.Actor(user), app.GrantInput{Username: "am2_bj01", CustomerID: c3.ID, Purpose: "risk", Reason: "排查", Duration: "1h"})
			if (err == nil) != mayGrant[user] {
				t.Errorf("%s grants am2_bj01 c3: %v, want allowed=%v", user, err, mayGrant[user])
			}
		}
	})
}
