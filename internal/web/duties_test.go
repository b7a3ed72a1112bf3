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
		link := func(id int64) string { return fmt.Sprintf("/requests/%d", id) }

		// The retention page files a closure; a backdated one is refused.
		comp := session(t, f, "compliance", "audit")
		a := comp.get("/retention")
		wantBody(t, a, `id="close-form"`)
		a = comp.post("/retention/closures", url.Values{"archive_no": {c.ArchiveNo}, "relationship_end": {"2010-01-01"}, "reason": {"客户销户"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="relationship_end"`, "最多只能追溯 7 天")
		a = comp.post("/retention/closures", url.Values{"archive_no": {"NO-SUCH-ARCHIVE"}, "reason": {"客户销户"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="archive_no"`)
		a = comp.post("/retention/closures", url.Values{"archive_no": {c.ArchiveNo}, "reason": {"客户销户"}})
		wantRedirect(t, a, "/requests/")
		rs, err := f.App.Requests(ctx, f.Actor("compliance"), custos.RequestFilter{Kind: custos.KindClosure, CustomerID: c.ID})
		if err != nil || len(rs) != 1 || rs[0].State != custos.RequestPending {
			t.Fatalf("the page's closure: %v %+v", err, rs)
		}
		closure := rs[0]

		admin := session(t, f, "admin", "")
		wantStatus(t, admin.get("/retention"), http.StatusNotFound)
		a = admin.get(link(acct.ID))
		wantStatus(t, a, http.StatusOK)
		wantBody(t, a, "特权账户", "new_comp", "合规官", `id="own-request"`)
		lacks(t, a, `id="approve-form"`, "password_hash", "Known-Passw0rd-2026", "argon2") // the header's change-password link says "password"

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
