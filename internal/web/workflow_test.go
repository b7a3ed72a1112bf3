package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/pdfdoc"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// onboard takes a new customer through the inspector's verification and
// the manager's approval, as the services do it (R-A10).
func onboard(t *testing.T, f *apptest.Fixture, c *custos.Customer) {
	t.Helper()
	ctx := context.Background()
	owner := ""
	for name, u := range f.Users {
		if u.ID == c.OwnerID {
			owner = name
		}
	}
	at, err := f.App.AddAttachment(ctx, f.Actor(owner), c.ID, custos.AttachIDScan, "id.png", "", []byte("\x89PNG scan"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.App.RecordVerification(ctx, f.Actor("inspector_bj").WithPurpose("kyc"), c.ID, app.VerificationInput{
		Method: custos.VerifyPublicSecurity, Passed: true, NameMatches: true, EvidenceIDs: []string{at.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), onboardingRequest(t, f, c.ID), true, "身份已核实"); err != nil {
		t.Fatal(err)
	}
}

func onboardingRequest(t *testing.T, f *apptest.Fixture, customerID string) int64 {
	t.Helper()
	rs, err := f.App.Requests(context.Background(), f.Actor("auditor"), custos.RequestFilter{CustomerID: customerID, Kind: custos.KindOnboarding})
	if err != nil || len(rs) != 1 {
		t.Fatalf("onboarding request: %v %d", err, len(rs))
	}
	return rs[0].ID
}

// session logs a fixture user in on their own client, with a purpose when given.
func session(t *testing.T, f *apptest.Fixture, username, purpose string) *env {
	t.Helper()
	e := newEnvWith(t, f, Options{Log: quiet}, true)
	e.login(username)
	if purpose != "" {
		e.purpose(purpose)
	}
	return e
}

// lacks fails when the body contains any of the parts.
func lacks(t *testing.T, a answer, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if strings.Contains(a.Body, s) {
			t.Errorf("%s %s: body must not contain %q", a.Request.Method, a.Request.URL.Path, s)
		}
	}
}

var filedRe = regexp.MustCompile(`\?filed=(\d+)$`)

func TestEditEffectiveArchiveFilesRequest(t *testing.T) { // R-B1
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		in := apptest.Person("褚一")
		in.Occupation = "工程师"
		c := f.Create(t, "am_bj01", in)
		onboard(t, f, c)
		draft := f.Create(t, "am_bj01", apptest.Person("卫二"))
		am := session(t, f, "am_bj01", "service")
		edit := "/customers/" + c.ID + "/edit"

		a := am.get(edit)
		wantStatus(t, a, 200)
		wantBody(t, a, "申请修改客户档案", `name="reason"`, `name="effective" value="1"`, "提交审批", "经主管审批后才生效")
		vals := formValues(t, a.Body, edit)
		vals.Set("occupation", "律师")

		// Without a reason: the inline error, the form as submitted, nothing filed.
		a = am.post(edit, vals)
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="reason">修改已生效的档案须说明理由`, `value="律师"`, `name="reason"`)
		if rs, _ := f.App.Requests(context.Background(), f.Actor("am_bj01"), custos.RequestFilter{Kind: custos.KindChange}); len(rs) != 0 {
			t.Fatalf("a change without reason was filed: %+v", rs)
		}

		vals.Set("reason", "客户换工作")
		a = am.post(edit, vals)
		wantRedirect(t, a, "/customers/"+c.ID+"?filed=")
		m := filedRe.FindStringSubmatch(a.Header.Get("Location"))
		if m == nil {
			t.Fatalf("no request number in %q", a.Header.Get("Location"))
		}
		n := m[1]
		a = am.get(a.Header.Get("Location"))
		wantStatus(t, a, 200)
		wantBody(t, a, "变更已提交审批（申请 #"+n+"）", `id="badge-pending"`, `id="archive-requests"`, `href="/requests/`+n+`"`, "档案变更", "待审批")
		old := regexp.MustCompile(`id="v-f-occupation"[^>]*>([^<]*)<`).FindStringSubmatch(a.Body)
		if old == nil || old[1] != "工程师" {
			t.Fatalf("the customer page must keep the old value until approval: %v", old)
		}
		// A made-up request number says nothing.
		lacks(t, am.get("/customers/"+c.ID+"?filed=999"), "申请 #999")

		am.post("/lang", url.Values{"lang": {"en"}})
		a = am.get("/customers/" + c.ID + "?filed=" + n)
		wantBody(t, a, "Submitted for approval (request #"+n+")", "Approval pending", "Request a change")

		// A draft changes at once, without a reason.
		dedit := "/customers/" + draft.ID + "/edit"
		a = am.get(dedit)
		wantBody(t, a, `id="draft-notice"`)
		lacks(t, a, `name="reason"`, `name="effective"`)
		vals = formValues(t, a.Body, dedit)
		vals.Set("occupation", "教师")
		a = am.post(dedit, vals)
		wantRedirect(t, a, "/customers/"+draft.ID)
		if strings.Contains(a.Header.Get("Location"), "filed") {
			t.Fatal("a draft's edit was filed for approval")
		}
		got, _ := f.App.GetCustomer(context.Background(), f.Actor("am_bj01"), draft.ID)
		if got.Person.Occupation != "教师" {
			t.Fatalf("the draft did not change at once: %+v", got.Person)
		}
	})
}

func TestRequestPagesMakerChecker(t *testing.T) { // R-B1
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		ctx := context.Background()
		in := apptest.Person("蒋三")
		in.Occupation = "工程师"
		c := f.Create(t, "am_bj01", in)
		onboard(t, f, c)
		ch, err := f.App.ChangeCustomer(ctx, f.Actor("am_bj01"), c.ID, 0, "客户换工作", func(in *custos.CustomerInput) error { in.Occupation = "律师"; return nil })
		if err != nil || ch.Request == nil {
			t.Fatalf("change: %v", err)
		}
		rid := strconv.FormatInt(ch.Request.ID, 10)
		link := "/requests/" + rid

		// The maker sees the request, may withdraw it, and finds no way to approve it.
		am := session(t, f, "am_bj01", "")
		a := am.get("/requests")
		wantStatus(t, a, 200)
		wantBody(t, a, `href="`+link+`"`, "档案变更", "待审批")
		a = am.get(link)
		wantStatus(t, a, 200)
		wantBody(t, a, "申请 #"+rid, "客户换工作", `id="own-request"`, "须由其他有权限的人员审批", `id="cancel-request"`, "职业", "工程师", "律师")
		lacks(t, a, `id="approve"`, `id="reject"`, `action="`+link+`/decide"`)
		lacks(t, am.get("/requests"), `id="nav-inbox"`)
		// Forced anyway: the service refuses, and the page says why.
		a = am.post(link+"/decide", url.Values{"decision": {"approve"}})
		wantStatus(t, a, http.StatusForbidden)
		wantBody(t, a, "申请人不能审批自己的申请")
		lacks(t, a, `id="approve"`)

		// Others outside the rule do not even see it.
		for _, who := range []string{"am2_bj01", "mgr_sh", "custodian"} {
			o := session(t, f, who, "")
			wantStatus(t, o.get(link), http.StatusNotFound)
			wantStatus(t, o.post(link+"/decide", url.Values{"decision": {"approve"}}), http.StatusNotFound)
			lacks(t, o.get("/inbox"), `href="`+link+`"`)
		}

		// The manager: the badge, the inbox, the diff, a rejection needs a comment, the approval.
		mgr := session(t, f, "mgr_bj", "")
		a = mgr.get("/requests")
		wantBody(t, a, `id="nav-inbox"`, `id="inbox-count"`)
		if m := regexp.MustCompile(`id="inbox-count"[^>]*>(\d+)<`).FindStringSubmatch(a.Body); m == nil || m[1] != "1" {
			t.Fatalf("inbox badge: %v", m)
		}
		a = mgr.get("/inbox")
		wantStatus(t, a, 200)
		wantBody(t, a, `href="`+link+`"`, "档案变更", c.ArchiveNo+": 职业", "am_bj01", "分钟前")
		a = mgr.get(link)
		wantStatus(t, a, 200)
		wantBody(t, a, `id="approve"`, `id="reject"`, `id="request-diff"`, "<th scope=\"row\">职业</th>", "工程师", "律师", "am_bj01")
		lacks(t, a, `id="cancel-request"`)
		a = mgr.post(link+"/decide", url.Values{"decision": {"reject"}, "comment": {"  "}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="comment">驳回须说明理由`)
		wantStatus(t, mgr.post(link+"/decide", url.Values{"decision": {"maybe"}}), http.StatusUnprocessableEntity)
		a = mgr.post(link+"/decide", url.Values{"decision": {"approve"}, "comment": {"同意"}})
		wantRedirect(t, a, link+"?done=approved")
		a = mgr.get(a.Header.Get("Location"))
		wantBody(t, a, "已批准。", "已生效", "同意")
		lacks(t, a, `id="approve"`)
		wantStatus(t, mgr.post(link+"/decide", url.Values{"decision": {"approve"}}), http.StatusConflict)
		lacks(t, mgr.get("/requests"), `id="inbox-count"`)

		// The maker sees the new value and the version with who asked and who approved.
		a = am.get("/customers/" + c.ID)
		wantRedirect(t, a, "/purpose")
		am.purpose("service")
		a = am.get("/customers/" + c.ID)
		wantStatus(t, a, 200)
		wantBody(t, a, `id="version-2"`, "客户换工作", "新建档案审批生效", `href="`+link+`"`, `id="compare-form"`)
		lacks(t, a, `id="badge-pending"`)
		if v := regexp.MustCompile(`id="v-f-occupation"[^>]*>([^<]*)<`).FindStringSubmatch(a.Body); v == nil || v[1] != "律师" {
			t.Fatalf("after approval: %v", v)
		}
		row := regexp.MustCompile(`(?s)<tr id="version-2">.*?</tr>`).FindString(a.Body)
		if !strings.Contains(row, "am_bj01") || !strings.Contains(row, "职业") {
			t.Errorf("version row: %s", row)
		}
		// The manager's view of the same history names the approver.
		mgr.purpose("service")
		row = regexp.MustCompile(`(?s)<tr id="version-2">.*?</tr>`).FindString(mgr.get("/customers/" + c.ID).Body)
		if !strings.Contains(row, "mgr_bj") || !strings.Contains(row, "am_bj01") {
			t.Errorf("version row for the manager: %s", row)
		}

		// Compare two versions.
		a = am.get("/customers/" + c.ID + "/diff?from=1&to=2")
		wantStatus(t, a, 200)
		wantBody(t, a, `id="version-diff"`, "职业", "工程师", "律师", "版本 1 与版本 2 的差异")
		a = am.get("/customers/" + c.ID + "/diff?from=1&to=9")
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, "请选择该档案的两个版本")
		other := f.Create(t, "am2_bj01", apptest.Person("沈四"))
		wantStatus(t, am.get("/customers/"+other.ID+"/diff?from=1&to=2"), http.StatusNotFound)

		// A rejected request stays on the archive's page.
		ch2, _ := f.App.ChangeCustomer(ctx, f.Actor("am_bj01"), c.ID, 0, "笔误", func(in *custos.CustomerInput) error { in.Occupation = "医生"; return nil })
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), ch2.Request.ID, false, "材料不全"); err != nil {
			t.Fatal(err)
		}
		a = am.get("/customers/" + c.ID)
		wantBody(t, a, `href="/requests/`+strconv.FormatInt(ch2.Request.ID, 10)+`"`, "已驳回", "审批人驳回")

		// Withdrawing one's own pending request.
		ch3, _ := f.App.ChangeCustomer(ctx, f.Actor("am_bj01"), c.ID, 0, "再改", func(in *custos.CustomerInput) error { in.Employer = "甲公司"; return nil })
		l3 := "/requests/" + strconv.FormatInt(ch3.Request.ID, 10)
		wantStatus(t, mgr.post(l3+"/cancel", nil), http.StatusNotFound)
		wantRedirect(t, am.post(l3+"/cancel", nil), l3+"?done=cancelled")
		wantBody(t, am.get(l3), "已撤回", "申请人撤回")
		wantStatus(t, am.post(l3+"/cancel", nil), http.StatusConflict)
		wantStatus(t, am.get("/requests/abc"), http.StatusNotFound)
	})
}

func TestAccessRequestAndRegister(t *testing.T) { // R-C1, R-C3, R-C6
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c := f.Create(t, "am_bj01", apptest.Person("韩五"))
		sh := session(t, f, "mgr_sh", "")
		a := sh.get("/access-requests/new?archive_no=" + url.QueryEscape(c.ArchiveNo))
		wantStatus(t, a, 200)
		wantBody(t, a, `value="`+c.ArchiveNo+`"`, `name="actions" value="customer.read" checked`, `<option value="24h" selected>1 天</option>`, "风险")
		a = sh.post("/access-requests/new", url.Values{"duration": {"24h"}, "actions": {"customer.destroy"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="archive_no">必填`, `data-field="reason">必填`, `data-field="purpose">`, `data-field="actions">`)
		a = sh.post("/access-requests/new", url.Values{"archive_no": {c.ArchiveNo}, "purpose": {"risk"}, "duration": {"8h"},
			"actions": {"customer.read", "customer.print"}, "reason": {"关联交易排查"}})
		wantRedirect(t, a, "/requests/")
		link := strings.TrimSuffix(a.Header.Get("Location"), "?done=filed")
		a = sh.get(a.Header.Get("Location"))
		wantBody(t, a, "申请已提交", "访问申请", "关联交易排查", "8 小时")
		sh.post("/lang", url.Values{"lang": {"en"}})
		wantBody(t, sh.get("/requests"), "Access request", c.ArchiveNo+" · ", " · 8 hours", "Pending")
		sh.post("/lang", url.Values{"lang": {"zh"}})

		// A manager of the customer's unit does not decide access; the general manager does.
		mgr := session(t, f, "mgr_bj", "")
		lacks(t, mgr.get("/inbox"), `href="`+link+`"`)
		gm := session(t, f, "gm", "")
		a = gm.get(link)
		wantBody(t, a, `id="approve"`, c.ArchiveNo, "查看", "打印", "8 小时", "mgr_sh")
		wantRedirect(t, gm.post(link+"/decide", url.Values{"decision": {"approve"}}), link+"?done=approved")

		sh.purpose("risk")
		wantStatus(t, sh.get("/customers/"+c.ID), 200)

		// The owner's register shows the loan and the read.
		am := session(t, f, "am_bj01", "service")
		a = am.get("/customers/" + c.ID)
		wantBody(t, a, `href="/customers/`+c.ID+`/register"`)
		a = am.get("/customers/" + c.ID + "/register")
		wantStatus(t, a, 200)
		wantBody(t, a, `id="register"`, "授权借阅", "访问记录", "mgr_sh", "关联交易排查", "借阅中", `href="/customers/`+c.ID+`/register.csv"`)
		a = am.get("/customers/" + c.ID + "/register.csv")
		wantStatus(t, a, 200)
		if !strings.HasPrefix(a.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(a.Body, "kind,user_id,username") ||
			!strings.Contains(a.Body, "grant,") || !strings.Contains(a.Body, "mgr_sh") || a.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("register CSV: %v\n%s", a.Header, a.Body)
		}
		wantBody(t, sh.get("/customers/"+c.ID+"/register"), "授权借阅")
		other := session(t, f, "am2_bj01", "service")
		wantStatus(t, other.get("/customers/"+c.ID+"/register"), http.StatusNotFound)
		wantStatus(t, other.get("/customers/"+c.ID+"/register.csv"), http.StatusNotFound)
	})
}

func TestVerificationAndBusinessForms(t *testing.T) { // R-A5, R-A6, R-A10
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		ctx := context.Background()
		c := f.Create(t, "am_bj01", apptest.Person("杨六"))
		scan, err := f.App.AddAttachment(ctx, f.Actor("am_bj01"), c.ID, custos.AttachIDScan, "身份证.png", "", []byte("\x89PNG"))
		if err != nil {
			t.Fatal(err)
		}
		loc := "/customers/" + c.ID
		business := url.Values{"kind": {"account"}, "reference": {"6222020200112233445"}, "product": {"借记卡"}, "opened_on": {apptest.Day(0)}}

		am := session(t, f, "am_bj01", "service")
		a := am.get(loc)
		wantBody(t, a, "草稿", "身份未核实", `id="badge-pending"`, "新建档案生效", `id="business-form"`, `id="business-hint"`)
		lacks(t, a, `id="verify-form"`)
		a = am.post(loc+"/business", business)
		wantStatus(t, a, http.StatusConflict)
		wantBody(t, a, `id="business-error"`, custos.ErrNotEligible.Message.ZH)
		am.post("/lang", url.Values{"lang": {"en"}})
		a = am.post(loc+"/business", business)
		wantStatus(t, a, http.StatusConflict)
		wantBody(t, a, "archive is not effective or the identity is not verified")
		am.post("/lang", url.Values{"lang": {"zh"}})
		// An account manager cannot verify, even by posting the form.
		a = am.post(loc+"/verifications", url.Values{"method": {"in_person"}, "passed": {"1"}, "name_matches": {"1"}, "evidence_ids": {scan.ID}})
		wantStatus(t, a, http.StatusForbidden)

		insp := session(t, f, "inspector_bj", "kyc")
		a = insp.get(loc)
		wantStatus(t, a, 200)
		wantBody(t, a, `id="verify-form"`, `name="evidence_ids" value="`+scan.ID+`"`, "身份证.png", "公安联网核查")
		lacks(t, a, `id="business-form"`)
		a = insp.post(loc+"/verifications", url.Values{"method": {"public_security"}, "passed": {"1"}, "name_matches": {"1"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="evidence_ids">核实通过须有附件证据`)
		a = insp.post(loc+"/verifications", url.Values{"method": {"public_security"}, "passed": {"1"}, "evidence_ids": {scan.ID}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="name_matches">`, `value="`+scan.ID+`" checked`)
		a = insp.post(loc+"/verifications", url.Values{"method": {"public_security"}, "passed": {"1"}, "name_matches": {"1"}, "evidence_ids": {scan.ID}, "note": {"联网核查一致"}})
		wantRedirect(t, a, loc+"#verifications")
		a = insp.get(loc)
		wantBody(t, a, `id="verification-records"`, "公安联网核查", "通过", "inspector_bj", "身份证.png", "联网核查一致", "身份已核实")

		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), onboardingRequest(t, f, c.ID), true, ""); err != nil {
			t.Fatal(err)
		}
		a = am.post(loc+"/business", url.Values{"kind": {"loan"}, "reference": {""}, "opened_on": {"2026-13-01"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="reference">必填`, `data-field="opened_on">`)
		wantRedirect(t, am.post(loc+"/business", business), loc+"#business")
		a = am.get(loc)
		wantBody(t, a, `id="business-records"`, "622202*********3445", "借记卡", "有效")
		lacks(t, a, "6222020200112233445", `id="business-hint"`)
	})
}

func TestPaperPages(t *testing.T) { // R-H1, R-H2
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c := f.Create(t, "am_bj01", apptest.Person("朱七"))
		vipIn := apptest.Person("秦八")
		vipIn.Category = "private_banking"
		vip := f.Create(t, "am_bj01", vipIn)

		for _, who := range []string{"am_bj01", "inspector_bj", "auditor", "admin"} {
			e := session(t, f, who, "")
			wantStatus(t, e.get("/paper"), http.StatusForbidden)
			wantStatus(t, e.post("/paper/locations", url.Values{"room": {"x"}}), http.StatusForbidden)
			lacks(t, e.get("/requests"), `href="/paper"`)
		}

		cu := session(t, f, "custodian", "")
		a := cu.get("/paper")
		wantStatus(t, a, 200)
		wantBody(t, a, `href="/paper"`, `id="location-form"`, `name="custodian" value="custodian"`, "保险柜")
		a = cu.post("/paper/locations", url.Values{"room": {"档案室 301"}, "lock_type": {"safe"}, "custodian": {"nobody"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="cabinet">必填`, `data-field="custodian">不存在`, `value="档案室 301"`)
		wantRedirect(t, cu.post("/paper/locations", url.Values{"room": {"档案室 301"}, "cabinet": {"保险柜 S-1"}, "lock_type": {"safe"}, "custodian": {"custodian"}}), "/paper")
		wantRedirect(t, cu.post("/paper/locations", url.Values{"room": {"档案室 302"}, "cabinet": {"A-02"}, "lock_type": {"key"}, "custodian": {"custodian"}}), "/paper")
		locs, _ := f.App.Locations(context.Background(), f.Actor("custodian"))
		if len(locs) != 2 {
			t.Fatalf("locations: %d", len(locs))
		}
		var l1, l2 string
		for _, l := range locs {
			if l.Room == "档案室 301" {
				l1 = strconv.FormatInt(l.ID, 10)
			} else {
				l2 = strconv.FormatInt(l.ID, 10)
			}
		}

		a = cu.post("/paper/files", url.Values{"archive_no": {"NO-SUCH"}, "title": {"开户资料"}, "location_id": {l1}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="archive_no">不存在`)
		a = cu.post("/paper/files", url.Values{"archive_no": {c.ArchiveNo}, "title": {"开户资料"}, "contents": {"身份证复印件"}, "location_id": {l1}})
		wantRedirect(t, a, "/paper/files/")
		file := a.Header.Get("Location")
		a = cu.get(file)
		wantStatus(t, a, 200)
		wantBody(t, a, "开户资料", "身份证复印件", "在库", "登记入库", `id="lend-form"`, `id="transfer-form"`)

		due := apptest.Start.AddDate(0, 0, 3).Format(time.DateOnly)
		a = cu.post(file+"/lend", url.Values{"borrower": {"am_bj01"}, "due": {due}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="reason">必填`, `value="am_bj01"`)
		wantRedirect(t, cu.post(file+"/lend", url.Values{"borrower": {"am_bj01"}, "due": {due}, "reason": {"客户回访"}}), file+"?done=lent")
		a = cu.get(file + "?done=lent")
		wantBody(t, a, "已登记借出", "借出中", `id="return-form"`, due)
		lacks(t, a, `id="lend-form"`)

		f.Clock.Advance(5 * 24 * time.Hour)
		cu = session(t, f, "custodian", "") // the idle session has ended meanwhile
		a = cu.get("/paper")
		wantBody(t, a, `id="overdue-files"`, "逾期未还", "开户资料")
		a = cu.post(file+"/return", url.Values{"inspection": {""}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="inspection">归还须记录检查结果`)
		wantRedirect(t, cu.post(file+"/return", url.Values{"inspection": {"完好"}}), file+"?done=returned")
		wantRedirect(t, cu.post(file+"/transfer", url.Values{"to_location_id": {l2}}), file+"?done=transferred")
		a = cu.get(file)
		wantBody(t, a, "档案室 302 / A-02", "完好", "转移", "归还", "借出")
		lacks(t, cu.get("/paper"), `id="overdue-files"`)

		// A protected customer's file: the loan waits for approval.
		a = cu.post("/paper/files", url.Values{"archive_no": {vip.ArchiveNo}, "title": {"私行签约文件"}, "location_id": {l1}})
		vfile := a.Header.Get("Location")
		a = cu.post(vfile+"/lend", url.Values{"borrower": {"am_bj01"}, "due": {f.Clock.Now().AddDate(0, 0, 2).Format(time.DateOnly)}, "reason": {"续签"}})
		wantRedirect(t, a, vfile+"?requested=")
		a = cu.get(a.Header.Get("Location"))
		wantBody(t, a, "借出已申请审批（申请 #", `id="paper-requested"`, "在库")
		lacks(t, a, `id="lend-form"`)
		wantBody(t, cu.get("/paper"), "已申请审批 #")
		// The file sits at head office: the general manager decides.
		gm := session(t, f, "gm", "")
		reqLink := regexp.MustCompile(`id="paper-requested" href="(/requests/\d+)"`).FindStringSubmatch(a.Body)[1]
		a = gm.get(reqLink)
		wantBody(t, a, "纸质档案借阅", "am_bj01", `id="approve"`)
		wantRedirect(t, gm.post(reqLink+"/decide", url.Values{"decision": {"approve"}}), reqLink)
		a = cu.get(vfile)
		wantBody(t, a, "借出中", `href="`+reqLink+`"`)
		lacks(t, a, `id="paper-requested"`)
		wantStatus(t, cu.get("/paper/files/99999"), http.StatusNotFound)
	})
}

func TestHandoverPages(t *testing.T) { // R-G1
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		pdf := pdfdoc.New("")
		if pdf.Available() == nil {
			f.App.SetPDF(pdf)
		}
		c1 := f.Create(t, "am_bj01", apptest.Person("尤九"))
		c2 := f.Create(t, "am_bj01", apptest.Person("许十"))

		for _, who := range []string{"am_bj01", "custodian", "inspector_bj"} {
			e := session(t, f, who, "")
			wantStatus(t, e.get("/handovers"), http.StatusForbidden)
			wantStatus(t, e.get("/handovers/new"), http.StatusForbidden)
			wantStatus(t, e.post("/handovers/new", url.Values{"leaver": {"am2_bj01"}}), http.StatusForbidden)
			lacks(t, e.get("/requests"), `href="/handovers"`)
		}

		mgr := session(t, f, "mgr_bj", "")
		a := mgr.get("/handovers/new")
		wantStatus(t, a, 200)
		wantBody(t, a, `name="leaver"`, `name="successors"`, `value="mgr_bj"`)
		a = mgr.post("/handovers/new", url.Values{"leaver": {"nobody"}, "supervisor": {"mgr_bj"}, "successors": {"am2_bj01, ghost"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="leaver">不存在`, `data-field="successors">不存在`, `data-field="reason">必填`, `value="am2_bj01, ghost"`)
		a = mgr.post("/handovers/new", url.Values{"leaver": {"mgr_bj"}, "supervisor": {"gm"}, "successors": {"am2_bj01"}, "reason": {"调岗"}})
		wantStatus(t, a, http.StatusForbidden)
		wantBody(t, a, "不能为自己发起交接")
		a = mgr.post("/handovers/new", url.Values{"leaver": {"am_bj01"}, "supervisor": {"mgr_bj"}, "successors": {"am2_bj01，butler_bj01"}, "reason": {"离职"}})
		wantRedirect(t, a, "/handovers/")
		link := a.Header.Get("Location")
		a = mgr.get(link)
		wantStatus(t, a, 200)
		wantBody(t, a, `id="handover-inventory"`, `href="/customers/`+c1.ID+`"`, `href="/customers/`+c2.ID+`"`, `id="assign-form"`, "butler_bj01", "进行中", "离职")
		wantBody(t, mgr.get("/handovers"), `href="`+link+`"`, "am_bj01", "离职")
		butler := strconv.FormatInt(f.Users["butler_bj01"].ID, 10)
		wantRedirect(t, mgr.post(link+"/assign", url.Values{"assign." + c2.ID: {butler}}), link+"?done=assigned")
		wantStatus(t, mgr.post(link+"/assign", url.Values{"assign." + c2.ID: {"1"}}), http.StatusUnprocessableEntity)
		sel := regexp.MustCompile(`(?s)<select name="assign\.` + c2.ID + `"[^>]*>(.*?)</select>`).FindStringSubmatch(mgr.get(link).Body)
		if sel == nil || !strings.Contains(sel[1], `<option value="`+butler+`" selected>`) {
			t.Errorf("the assignment did not stick: %v", sel)
		}

		// The parties sign; signing locks the assignments.
		leaver := session(t, f, "am_bj01", "")
		a = leaver.get(link)
		wantStatus(t, a, 200)
		wantBody(t, a, `id="sign-submit"`, "离岗人员")
		lacks(t, a, `id="assign-form"`)
		// A signature is the party signing in (R-G1): their own password.
		wantBody(t, a, `name="password"`)
		a = leaver.post(link+"/sign", nil)
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, "用户名或密码错误")
		wantStatus(t, leaver.post(link+"/sign", url.Values{"password": {"Wrong-Passw0rd!"}}), http.StatusUnprocessableEntity)
		own := url.Values{"password": {apptest.Password}}
		wantRedirect(t, leaver.post(link+"/sign", own), link+"?done=signed")
		lacks(t, mgr.get(link), `id="assign-form"`)
		wantStatus(t, mgr.post(link+"/assign", url.Values{"assign." + c2.ID: {butler}}), http.StatusConflict)
		wantStatus(t, session(t, f, "compliance", "").get(link), http.StatusNotFound)
		wantStatus(t, mgr.get(link+"/certificate.json"), http.StatusConflict)
		succ := session(t, f, "am2_bj01", "")
		wantRedirect(t, succ.post(link+"/sign", own), link+"?done=signed")
		lacks(t, succ.get(link), `id="sign-submit"`)
		wantRedirect(t, mgr.post(link+"/sign", own), link+"?done=completed")
		a = mgr.get(link + "?done=completed")
		wantBody(t, a, "交接已完成", "已完成", `id="certificate-pdf"`, `id="certificate-json"`)
		lacks(t, a, `id="sign-submit"`)

		a = mgr.get(link + "/certificate.json")
		wantStatus(t, a, 200)
		var cert app.HandoverCertificate
		if err := json.Unmarshal([]byte(a.Body), &cert); err != nil || cert.Customers[c1.ArchiveNo] == "" || !strings.Contains(cert.Customers[c2.ArchiveNo], "butler_bj01") {
			t.Fatalf("certificate: %v %s", err, a.Body)
		}
		if pdf.Available() == nil {
			a = mgr.get(link + "/certificate.pdf")
			wantStatus(t, a, 200)
			if !strings.HasPrefix(a.Body, "%PDF") || a.Header.Get("Content-Type") != "application/pdf" {
				t.Fatalf("certificate PDF: %v", a.Header)
			}
		}
		// The leaver's account is closed.
		wantRedirect(t, leaver.get(link), "/login")
	})
}

// The header offers each role the pages it may use.
func TestNavigationByRole(t *testing.T) {
	f := apptest.New(t, sqltest.OpenSQLite(t))
	for _, tc := range []struct {
		user      string
		has, lack []string
	}{
		{"am_bj01", []string{`href="/requests"`, `href="/access-requests/new"`}, []string{`href="/inbox"`, `href="/paper"`, `href="/handovers"`}},
		{"mgr_bj", []string{`href="/inbox"`, `href="/paper"`, `href="/handovers"`}, []string{`href="/audit"`}},
		{"gm", []string{`href="/inbox"`, `href="/paper"`, `href="/handovers"`}, nil},
		{"custodian", []string{`href="/paper"`}, []string{`href="/inbox"`, `href="/handovers"`}},
		{"admin", nil, []string{`href="/inbox"`, `href="/paper"`, `href="/handovers"`, `href="/audit"`}}, // 三员分立: nothing that reaches customers
		{"secadmin", []string{`href="/inbox"`}, []string{`href="/paper"`, `href="/handovers"`, `href="/audit"`}},
		{"auditor", []string{"全部申请", `href="/audit"`}, []string{`href="/inbox"`, `href="/paper"`, "我的申请"}},
		{"inspector_bj", []string{"我的申请"}, []string{`href="/inbox"`, `href="/paper"`, `href="/handovers"`}},
	} {
		t.Run(tc.user, func(t *testing.T) {
			e := session(t, f, tc.user, "")
			a := e.get("/requests")
			wantStatus(t, a, 200)
			nav := regexp.MustCompile(`(?s)<nav class="mainnav".*?</nav>`).FindString(a.Body)
			for _, s := range tc.has {
				if !strings.Contains(nav, s) {
					t.Errorf("nav lacks %s", s)
				}
			}
			for _, s := range tc.lack {
				if strings.Contains(nav, s) {
					t.Errorf("nav offers %s", s)
				}
			}
		})
	}
}

// The new pages are no-store like every page (R-C9).
func TestWorkflowPagesAreNoStore(t *testing.T) {
	f := apptest.New(t, sqltest.OpenSQLite(t))
	c := f.Create(t, "am_bj01", apptest.Person("何十一"))
	mgr := session(t, f, "mgr_bj", "service")
	for _, path := range []string{"/inbox", "/requests", "/requests/1", "/access-requests/new", "/paper", "/handovers", "/handovers/new",
		"/customers/" + c.ID + "/register", "/customers/" + c.ID + "/register.csv", "/customers/" + c.ID + "/diff?from=1&to=1"} {
		a := mgr.get(path)
		if a.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s (%d): Cache-Control %q", path, a.StatusCode, a.Header.Get("Cache-Control"))
		}
	}
}

// The workflow's labels exist in both languages for every value the
// services can hand the pages.
func TestWorkflowCatalogue(t *testing.T) {
	var keys []string
	add := func(prefix string, vals ...string) {
		for _, v := range vals {
			keys = append(keys, prefix+v)
		}
	}
	for _, k := range custos.RequestKinds {
		add("kind.", string(k))
	}
	for _, s := range []custos.RequestState{custos.RequestPending, custos.RequestApproved, custos.RequestApplied, custos.RequestRejected, custos.RequestCancelled, custos.RequestExpired} {
		add("state.", string(s))
	}
	add("request_outcome.", "rejected", "cancelled", "expired", "requester_left")
	for _, m := range custos.VerificationMethods {
		add("method.", string(m))
	}
	for _, b := range businessKinds {
		add("business.", string(b))
	}
	for _, l := range lockTypes {
		add("lock.", string(l))
	}
	add("paper.", string(custos.PaperInPlace), string(custos.PaperLent), string(custos.PaperDestroyed))
	add("move.", string(custos.MoveRegister), string(custos.MoveLend), string(custos.MoveReturn), string(custos.MoveTransfer))
	add("handover_state.", string(custos.HandoverOpen), string(custos.HandoverCompleted), string(custos.HandoverCancelled))
	add("handover.party_", custos.SignLeaver, custos.SignSuccessor, custos.SignSupervisor)
	for _, a := range custos.GrantableActions {
		add("action.", string(a))
	}
	add("register.kind_", "grant", "access")
	add("request.done_", "approved", "rejected", "cancelled", "filed")
	add("paper.done_", "lent", "returned", "transferred")
	add("handover.done_", "assigned", "signed", "completed")
	for _, k := range diffFieldKeys {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if !hasKey(k) {
			t.Errorf("catalogue lacks %q", k)
		}
	}
	// Every field a change can name has a label.
	for _, f := range app.ChangedFields(custos.CustomerInput{}, custos.CustomerInput{Type: "x", Category: "x", Sensitivity: "x", ProtectedReason: "x",
		Classifications: map[string]string{"a": "b"}, RiskReason: "x", Name: "x", Address: "x", Phone: "x", Phones: []string{"x"}, Sex: "x",
		Nationality: "x", BirthDate: "x", Occupation: "x", Employer: "x", HabitualAddress: "x", Email: "x", IDType: "x", IDNumber: "x", IDAuthority: "x",
		IDIssueDate: "x", IDExpiry: "x", IDDocuments: []custos.IDDocument{{}}, USCC: "x", TaxNumber: "x", Licence: &custos.Licence{}, BusinessAddress: "x",
		BusinessScope: "x", RegisteredCapital: "x", Fax: "x", Postcode: "x", ContactName: "x", ContactPhone: "x", LegalRepresentative: &custos.Party{},
		ResponsiblePerson: &custos.Party{}, Agents: []custos.Party{{}}, BeneficialOwners: []custos.Party{{}}, Household: &custos.Household{}, Custom: map[string]any{"a": 1}}) {
		if diffFieldLabel(&page{Lang: "en"}, f) == f {
			t.Errorf("no label for the changed field %q", f)
		}
	}
}
