package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestGovernanceRequestPages_RC4_RF1: the request pages show the new kinds
// in zh-CN and English — a privileged account to create, an approval rule
// and a closure — with the approval form for a second authorised person
// only; the requester sees that someone else must decide.
func TestGovernanceRequestPages_RC4_RF1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := apptest.New(t, db)
		_, acct, err := f.App.CreateUser(ctx, f.Actor("admin"), app.NewUser{Username: "new_comp", DisplayName: "新合规官", Org: "HQ", Role: custos.RoleCompliance, Password: "Known-Passw0rd-2026"})
		if err != nil || acct == nil {
			t.Fatalf("privileged account: %v %+v", err, acct)
		}
		rule, err := f.App.PutApprovalRule(ctx, f.Actor("secadmin"), custos.ApprovalRule{Kind: custos.KindExport, Roles: []custos.Role{custos.RoleCompliance},
			Scope: custos.ScopeAny, Required: 1, TTL: custos.Duration(72 * 3600 * 1e9)})
		if err != nil {
			t.Fatal(err)
		}
		c := f.Create(t, "am_bj01", apptest.Person("页面终止"))
		closure, err := f.App.CloseRelationship(ctx, f.Actor("compliance"), c.ID, app.CloseInput{Reason: "客户销户"})
		if err != nil {
			t.Fatal(err)
		}
		link := func(id int64) string { return fmt.Sprintf("/requests/%d", id) }

		admin := session(t, f, "admin", "")
		a := admin.get(link(acct.ID))
		wantStatus(t, a, http.StatusOK)
		wantBody(t, a, "特权账户", "new_comp", "合规官", `id="own-request"`)
		lacks(t, a, `id="approve-form"`, "password", "argon2")

		sec := session(t, f, "secadmin", "")
		a = sec.get("/inbox")
		wantBody(t, a, link(acct.ID), "新建账户 new_comp（合规官）")
		a = sec.get(link(acct.ID))
		wantBody(t, a, `id="approve-form"`, `id="request-account"`, "新合规官")
		wantRedirect(t, sec.post(link(acct.ID)+"/decide", url.Values{"decision": {"approve"}}), link(acct.ID))
		if u, _, err := f.App.UserByName(ctx, "new_comp"); err != nil || u.Role != custos.RoleCompliance {
			t.Fatalf("the account after the page's approval: %v %+v", err, u)
		}

		gm := session(t, f, "gm", "")
		a = gm.get(link(rule.ID))
		wantBody(t, a, "审批规则变更", "对外提供数据", `id="request-rule"`, "现行规则", `id="approve-form"`)
		gm.post("/lang", url.Values{"lang": {"en"}})
		a = gm.get(link(rule.ID))
		wantBody(t, a, "Approval rule change", "Export to an outside party", "Rule in force")
		a = gm.get(link(closure.ID))
		wantBody(t, a, "Relationship closure", `id="request-closure"`, apptest.Day(0), "客户销户", "the end of a customer relationship")
	})
}
