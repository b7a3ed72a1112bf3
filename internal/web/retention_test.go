package web

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
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

// TestRetentionPages_RF2_RF3 walks the retention page as compliance: the
// due-list, a legal hold, a batch filed for approval, and after two
// approvals its execution with a witness and the signed certificate.
func TestRetentionPages_RF2_RF3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		u := &custos.User{Username: "compliance2", DisplayName: "compliance2", OrgID: e.f.Orgs["HQ"].ID, Role: custos.RoleCompliance}
		if err := db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.CreateUser(ctx, u, "x") }); err != nil {
			t.Fatal(err)
		}
		e.f.Users["compliance2"] = u
		gone, held := e.f.Create(t, "am_bj01", apptest.Person("页面销毁")), e.f.Create(t, "am_bj01", apptest.Person("页面保全"))
		for _, c := range []*custos.Customer{gone, held} {
			req, err := e.f.App.CloseRelationship(ctx, e.f.Actor("compliance"), c.ID, app.CloseInput{RelationshipEnd: apptest.Day(0), Reason: "销户"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.f.App.DecideRequest(ctx, e.f.Actor("gm"), req.ID, true, "同意"); err != nil {
				t.Fatal(err)
			}
		}
		e.f.Clock.Advance(11 * 365 * 24 * time.Hour) // past the AML 2024 period

		e.login("am_bj01")
		e.purpose("service")
		wantStatus(t, e.get("/retention"), http.StatusNotFound)
		jar, _ := cookiejar.New(nil)
		e.c.Jar = jar

		e.login("compliance")
		e.purpose("audit")
		a := e.get("/retention")
		wantStatus(t, a, http.StatusOK)
		wantBody(t, a, "保存期限、法律保全与销毁", gone.ArchiveNo, held.ArchiveNo, `id="batch-form"`, `href="/retention"`)

		a = e.post("/retention/holds", url.Values{"archive_no": {held.ArchiveNo}, "reason": {"诉讼"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="case_ref"`)
		wantRedirect(t, e.post("/retention/holds", url.Values{"archive_no": {held.ArchiveNo}, "case_ref": {"(2026)京01民初7号"}, "reason": {"诉讼"}, "scope": {"customer"}}), "/retention")
		a = e.get("/retention")
		wantBody(t, a, "(2026)京01民初7号", "因法律保全而保留", "生效中")

		a = e.post("/retention/batches", url.Values{"reason": {"到期销毁"}})
		wantRedirect(t, a, "/requests/")
		rid, err := strconv.ParseInt(strings.TrimPrefix(a.Header.Get("Location"), "/requests/"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"gm", "compliance2"} {
			if _, err := e.f.App.DecideRequest(ctx, e.f.Actor(who), rid, true, "同意"); err != nil {
				t.Fatal(err)
			}
		}
		batches, err := e.f.App.DestructionBatches(ctx, e.f.Actor("compliance"))
		if err != nil || len(batches) != 1 || batches[0].State != custos.BatchApproved {
			t.Fatalf("batches: %v %+v", err, batches)
		}
		exec := "/retention/batches/" + strconv.FormatInt(batches[0].ID, 10) + "/execute"
		// The witness signs in on the form itself (R-F3): a name alone, a
		// wrong password, the executor or an approver do not confirm.
		a = e.post(exec, url.Values{"witness": {"compliance"}, "witness_password": {apptest.Password}})
		wantStatus(t, a, http.StatusForbidden)
		wantBody(t, a, "监销人不能是执行人本人")
		a = e.post(exec, url.Values{"witness": {"gm"}, "witness_password": {apptest.Password}})
		wantStatus(t, a, http.StatusForbidden)
		wantBody(t, a, "监销人不能是该批次的审批人")
		a = e.post(exec, url.Values{"witness": {"auditor"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, "用户名或密码错误")
		wantStatus(t, e.post(exec, url.Values{"witness": {"auditor"}, "witness_password": {"Wrong-Passw0rd!"}}), http.StatusUnprocessableEntity)
		wantBody(t, e.get("/retention"), `name="witness_password"`)
		wantRedirect(t, e.post(exec, url.Values{"witness": {"auditor"}, "witness_password": {apptest.Password}}), "/retention")
		a = e.get("/retention")
		wantBody(t, a, "已销毁", "certificate.pdf", "certificate.json")
		cert := e.get("/retention/batches/" + strconv.FormatInt(batches[0].ID, 10) + "/certificate.json")
		wantStatus(t, cert, http.StatusOK)
		if _, err := app.VerifyDestructionCertificate([]byte(cert.Body), e.f.Keys.Signer.PublicKey()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.f.App.GetCustomer(ctx, e.f.Actor("mgr_bj").WithPurpose("legal"), gone.ID); custos.ErrorCodeOf(err) != custos.ENotFound {
			t.Fatalf("destroyed customer: %v", err)
		}
		if _, err := e.f.App.GetCustomer(ctx, e.f.Actor("mgr_bj").WithPurpose("legal"), held.ID); err != nil {
			t.Fatalf("held customer: %v", err)
		}
	})
}
