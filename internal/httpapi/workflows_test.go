package httpapi_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/httpapi"
	"github.com/custos-cim/custos/internal/httpx"
	"github.com/custos-cim/custos/internal/pdfdoc"
)

// The approval workflows through the API. Each walk runs inside TestAPI on
// both databases, with every response checked against openapi.json.

// expect fails the test unless the response has the status.
func (r resp) expect(t *testing.T, status int, what string) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d, want %d: %s", what, r.status, status, r.body)
	}
	return r
}

// errorOf decodes an error answer.
func errorOf(t *testing.T, r resp) httpx.ErrorDetail {
	t.Helper()
	var e httpx.ErrorBody
	r.json(t, &e)
	return e.Error
}

// requireTokenAction skips the rest of a walk when an API token, whatever
// its scopes, cannot carry act: the action then answers 403 to every token
// (checked on path), and the walk cannot get further through the API.
func requireTokenAction(t *testing.T, c *client, user string, role custos.Role, act custos.Action, path string) {
	t.Helper()
	a := custos.Actor{Kind: custos.ActorUser, UserID: 1, Role: role, Scopes: custos.TokenScopes()}
	if d := custos.Allowed(a, act); d.Allowed || d.Reason != custos.DenyTokenScope {
		return
	}
	c.do(user, "GET", path, "", nil).expect(t, 403, "a token without "+string(act))
	t.Skipf("no API token scope covers %s (custos.tokenScopes, authz.go), so %s answers 403 to every token; "+
		"this walk runs once a scope does", act, path)
}

// createCustomer creates a customer through the API and returns it.
func createCustomer(t *testing.T, c *client, user string, in custos.CustomerInput) httpapi.CustomerView {
	t.Helper()
	var v httpapi.CustomerView
	c.do(user, "POST", "/api/v1/customers", "", in).expect(t, 201, "create customer").json(t, &v)
	return v
}

func customerOf(t *testing.T, c *client, user, id, purpose string) httpapi.CustomerView {
	t.Helper()
	var v httpapi.CustomerView
	c.do(user, "GET", "/api/v1/customers/"+id, purpose, nil).expect(t, 200, "read customer").json(t, &v)
	return v
}

// requestsOf lists the caller's requests matching a query.
func requestsOf(t *testing.T, c *client, user, query string) []custos.Request {
	t.Helper()
	var out struct{ Requests []custos.Request }
	c.do(user, "GET", "/api/v1/requests?"+query, "", nil).expect(t, 200, "list requests").json(t, &out)
	return out.Requests
}

func inboxOf(t *testing.T, c *client, user string) map[int64]custos.Request {
	t.Helper()
	var out struct{ Requests []custos.Request }
	c.do(user, "GET", "/api/v1/inbox", "", nil).expect(t, 200, "inbox").json(t, &out)
	m := map[int64]custos.Request{}
	for _, r := range out.Requests {
		m[r.ID] = r
	}
	return m
}

func reqPath(id int64, action string) string {
	p := fmt.Sprintf("/api/v1/requests/%d", id)
	if action != "" {
		p += "/" + action
	}
	return p
}

// attachIDScan uploads an ID scan as the customer's owner.
func attachIDScan(t *testing.T, c *client, owner, id string) string {
	t.Helper()
	var at custos.Attachment
	c.do(owner, "POST", "/api/v1/customers/"+id+"/attachments", "", fileBody(t, "id_scan", "", "身份证.png", []byte("\x89PNG\r\n\x1a\nscan"))).
		expect(t, 201, "attach ID scan").json(t, &at)
	return at.ID
}

// onboardAPI takes a draft through verification by an inspector and approval
// by a manager, all through the API (R-A10).
func onboardAPI(t *testing.T, c *client, owner, id, inspector, approver string) {
	t.Helper()
	evidence := attachIDScan(t, c, owner, id)
	c.do(inspector, "POST", "/api/v1/customers/"+id+"/verifications", "", app.VerificationInput{
		Method: custos.VerifyPublicSecurity, Passed: true, NameMatches: true, EvidenceIDs: []string{evidence}}).expect(t, 201, "verification")
	rs := requestsOf(t, c, owner, "kind=onboarding&customer_id="+id)
	if len(rs) != 1 || rs[0].State != custos.RequestPending {
		t.Fatalf("onboarding request: %+v", rs)
	}
	c.do(approver, "POST", reqPath(rs[0].ID, "approve"), "", map[string]any{"comment": "身份已核实"}).expect(t, 200, "approve onboarding")
}

// walkMakerChecker: a change of an effective archive through the API needs a
// reason and a second person; it is invisible until approved, and the
// versions and their diff show it (R-B1, R-C10).
func walkMakerChecker(t *testing.T, f *apptest.Fixture, c *client) {
	cust := createCustomer(t, c, "am_bj01", apptest.Person("钱多多"))
	path := "/api/v1/customers/" + cust.ID
	onboardAPI(t, c, "am_bj01", cust.ID, "inspector_bj", "mgr_bj")
	before := customerOf(t, c, "am_bj01", cust.ID, "service")
	if before.Status != custos.StatusEffective {
		t.Fatalf("after onboarding: %s", before.Status)
	}

	change := map[string]any{"occupation": "律师", "phone": "13911112222"}
	r := c.do("am_bj01", "PATCH", path, "", change).expect(t, 422, "a change without reason")
	if fieldsOf(t, r)["reason"] != custos.CodeRequired {
		t.Fatalf("no reason: %s", r.body)
	}
	change["reason"] = "客户换工作"
	r = c.do("am_bj01", "PATCH", path, "", change).expect(t, 202, "change of an effective archive")
	var acc httpapi.ChangeAccepted
	r.json(t, &acc)
	rid := acc.Request.ID
	if acc.Request.State != custos.RequestPending || acc.Request.Kind != custos.KindChange || r.hdr.Get("Location") != reqPath(rid, "") ||
		acc.Customer.Occupation == "律师" || acc.Customer.Version != before.Version || !acc.Customer.Masked {
		t.Fatalf("202 answer: %s", r.body)
	}
	if bytes.Contains(r.body, []byte("13911112222")) {
		t.Fatal("the pending change leaked the new phone number")
	}
	if got := customerOf(t, c, "am_bj01", cust.ID, "service"); got.Occupation == "律师" || got.Version != before.Version {
		t.Fatalf("the change took effect before approval: %+v", got)
	}

	// Maker-checker: the maker cannot approve (403 forbidden); nobody
	// without business with the request sees it (404).
	r = c.do("am_bj01", "POST", reqPath(rid, "approve"), "", nil).expect(t, 403, "the maker approves")
	if e := errorOf(t, r); e.Code != custos.EForbidden || e.Message != custos.ErrSelfApproval.Message {
		t.Fatalf("self-approval answer: %s", r.body)
	}
	c.do("am2_bj01", "POST", reqPath(rid, "approve"), "", nil).expect(t, 404, "another account manager approves")
	c.do("mgr_sh", "POST", reqPath(rid, "approve"), "", nil).expect(t, 404, "a manager of another branch approves")
	c.do("mgr_sh", "GET", reqPath(rid, ""), "", nil).expect(t, 404, "a manager of another branch looks")
	c.do("mgr_bj", "GET", reqPath(999999, ""), "", nil).expect(t, 404, "a missing request")
	if _, ok := inboxOf(t, c, "mgr_bj")[rid]; !ok {
		t.Fatal("the change is not in the manager's inbox")
	}
	if _, ok := inboxOf(t, c, "am_bj01")[rid]; ok {
		t.Fatal("the change is in the maker's own inbox")
	}
	var view app.RequestView
	r = c.do("mgr_bj", "GET", reqPath(rid, ""), "", nil).expect(t, 200, "request view")
	r.json(t, &view)
	if !view.CanDecide || view.CanCancel || len(view.Changes) != 2 || view.ArchiveNo != cust.ArchiveNo {
		t.Fatalf("manager's view: %s", r.body)
	}
	for _, ch := range view.Changes {
		if ch.Field == "phone" && ch.New != "139****2222" {
			t.Fatalf("the diff must be masked: %+v", ch)
		}
	}
	if bytes.Contains(r.body, []byte("13911112222")) {
		t.Fatal("the request view leaked the new phone number")
	}
	c.do("am_bj01", "GET", reqPath(rid, ""), "", nil).expect(t, 200, "maker's view").json(t, &view)
	if view.CanDecide || !view.CanCancel {
		t.Fatalf("maker's view: %+v", view)
	}

	var done custos.Request
	c.do("mgr_bj", "POST", reqPath(rid, "approve"), "", map[string]any{"comment": "同意"}).expect(t, 200, "manager approves").json(t, &done)
	if done.State != custos.RequestApplied || len(done.Decisions) != 1 || done.Decisions[0].By != f.Users["mgr_bj"].ID {
		t.Fatalf("approved: %+v", done)
	}
	after := customerOf(t, c, "am_bj01", cust.ID, "service")
	if after.Occupation != "律师" || after.Phone != "139****2222" || after.Version != before.Version+1 {
		t.Fatalf("after approval: %+v", after)
	}
	c.do("gm", "POST", reqPath(rid, "approve"), "", nil).expect(t, 409, "approving an applied request")

	// Versions and their diff show who asked, who approved and why.
	var hist struct{ Versions []custos.ArchiveVersion }
	c.do("am_bj01", "GET", path+"/versions", "", nil).expect(t, 400, "versions without purpose")
	c.do("am_bj01", "GET", path+"/versions", "service", nil).expect(t, 200, "versions").json(t, &hist)
	if len(hist.Versions) != 2 || hist.Versions[1].Reason != "客户换工作" || hist.Versions[1].RequestID != rid ||
		hist.Versions[1].RequestedBy != f.Users["am_bj01"].ID || hist.Versions[1].ApprovedBy != f.Users["mgr_bj"].ID {
		t.Fatalf("versions: %+v", hist.Versions)
	}
	v0, v1 := hist.Versions[0].Version, hist.Versions[1].Version
	var diff struct{ Changes []custos.FieldChange }
	c.do("am_bj01", "GET", fmt.Sprintf("%s/diff?from=%d&to=%d", path, v0, v1), "service", nil).expect(t, 200, "diff").json(t, &diff)
	fields := map[string]custos.FieldChange{}
	for _, ch := range diff.Changes {
		fields[ch.Field] = ch
	}
	if len(diff.Changes) != 2 || fields["occupation"].New != "律师" || fields["phone"].New != "139****2222" {
		t.Fatalf("diff: %+v", diff.Changes)
	}
	if r = c.do("am_bj01", "GET", path+"/diff?to=2", "service", nil).expect(t, 422, "diff without from"); fieldsOf(t, r)["from"] != custos.CodeRequired {
		t.Fatalf("diff without from: %s", r.body)
	}
	c.do("am_bj01", "GET", fmt.Sprintf("%s/diff?from=%d&to=99", path, v0), "service", nil).expect(t, 404, "diff with a missing version")

	// A rejection needs a comment, stays on record and changes nothing.
	r = c.do("am_bj01", "PATCH", path, "", map[string]any{"occupation": "医生", "reason": "笔误"}).expect(t, 202, "second change")
	r.json(t, &acc)
	c.do("gm", "POST", reqPath(acc.Request.ID, "reject"), "", map[string]any{}).expect(t, 422, "a rejection without comment")
	c.do("gm", "POST", reqPath(acc.Request.ID, "reject"), "", map[string]any{"comment": "材料不全", "approve": true}).expect(t, 422, "an unknown field")
	var rej custos.Request
	c.do("gm", "POST", reqPath(acc.Request.ID, "reject"), "", map[string]any{"comment": "材料不全"}).expect(t, 200, "reject").json(t, &rej)
	if rej.State != custos.RequestRejected || rej.Decisions[0].Comment != "材料不全" {
		t.Fatalf("rejected: %+v", rej)
	}
	c.do("am_bj01", "POST", reqPath(acc.Request.ID, "cancel"), "", nil).expect(t, 409, "cancelling a rejected request")

	// Only the requester withdraws a pending request.
	r = c.do("am_bj01", "PATCH", path, "", map[string]any{"employer": "甲公司", "reason": "一"}).expect(t, 202, "third change")
	r.json(t, &acc)
	c.do("mgr_bj", "POST", reqPath(acc.Request.ID, "cancel"), "", nil).expect(t, 404, "someone else cancels")
	c.do("am_bj01", "POST", reqPath(acc.Request.ID, "cancel"), "", nil).expect(t, 204, "cancel")
	c.do("mgr_bj", "POST", reqPath(acc.Request.ID, "approve"), "", nil).expect(t, 409, "approving a cancelled request")

	// Optimistic locking: the version in the body is honoured like If-Match.
	c.do("am_bj01", "PATCH", path, "", map[string]any{"employer": "乙公司", "reason": "二", "version": before.Version}).expect(t, 409, "a stale version")

	// Lists: one's own requests, filtered; compliance sees everyone's.
	if rs := requestsOf(t, c, "am_bj01", "customer_id="+cust.ID); len(rs) != 4 {
		t.Fatalf("maker's requests: %+v", rs)
	}
	if rs := requestsOf(t, c, "am_bj01", "state=applied&customer_id="+cust.ID); len(rs) != 2 {
		t.Fatalf("applied requests: %+v", rs)
	}
	if rs := requestsOf(t, c, "mgr_bj", "customer_id="+cust.ID); len(rs) != 0 {
		t.Fatalf("the manager filed none: %+v", rs)
	}
	if rs := requestsOf(t, c, "compliance", "kind=customer_change&customer_id="+cust.ID+"&limit=10"); len(rs) != 3 {
		t.Fatalf("compliance sees all: %+v", rs)
	}
	c.do("am_bj01", "GET", "/api/v1/requests?kind=loan", "", nil).expect(t, 422, "an unknown kind")
	c.do("am_bj01", "GET", "/api/v1/requests?state=done", "", nil).expect(t, 422, "an unknown state")

	// Approval rules: everyone reads them; the security administrator asks
	// to change them and a second person approves (三员分立).
	var rules struct{ Rules []custos.ApprovalRule }
	c.do("am_bj01", "GET", "/api/v1/approval-rules", "", nil).expect(t, 200, "rules").json(t, &rules)
	if len(rules.Rules) != len(custos.DefaultApprovalRules) { // portfolio assignments have no rule until one is set
		t.Fatalf("rules: %+v", rules.Rules)
	}
	rule := map[string]any{"roles": []string{"manager", "general_manager"}, "scope": "unit", "required": 2, "ttl": "168h"}
	c.do("am_bj01", "PUT", "/api/v1/approval-rules/customer_change", "", rule).expect(t, 403, "a non-admin changes a rule")
	c.do("admin", "PUT", "/api/v1/approval-rules/customer_change", "", rule).expect(t, 403, "the administrator changes a rule")
	var put custos.Request
	c.do("secadmin", "PUT", "/api/v1/approval-rules/customer_change", "", rule).expect(t, 202, "change a rule, filed").json(t, &put)
	if put.Kind != custos.KindRuleChange || put.State != custos.RequestPending {
		t.Fatalf("rule request: %+v", put)
	}
	var rview app.RequestView
	c.do("gm", "GET", reqPath(put.ID, ""), "", nil).expect(t, 200, "the rule request").json(t, &rview)
	if rview.Rule == nil || rview.Rule.Rule.Required != 2 || rview.Rule.Was == nil || rview.Rule.Was.Required != 1 || !rview.CanDecide {
		t.Fatalf("rule request view: %+v", rview)
	}
	c.do("secadmin", "POST", reqPath(put.ID, "approve"), "", nil).expect(t, 403, "the requester approves the rule")
	c.do("gm", "POST", reqPath(put.ID, "approve"), "", nil).expect(t, 200, "approve the rule")
	c.do("am_bj01", "GET", "/api/v1/approval-rules", "", nil).expect(t, 200, "rules").json(t, &rules)
	for _, x := range rules.Rules {
		if x.Kind == custos.KindChange && (x.Required != 2 || time.Duration(x.TTL) != 168*time.Hour) {
			t.Fatalf("stored rule: %+v", x)
		}
	}
	rule["kind"] = "access"
	c.do("secadmin", "PUT", "/api/v1/approval-rules/customer_change", "", rule).expect(t, 422, "kind differs from the path")
	delete(rule, "kind")
	c.do("secadmin", "PUT", "/api/v1/approval-rules/teleport", "", rule).expect(t, 422, "an unknown kind")
	rule["required"] = 0
	c.do("secadmin", "PUT", "/api/v1/approval-rules/customer_change", "", rule).expect(t, 422, "no approvers")
	// Below the floors: destruction by one approver; account managers approving changes.
	c.do("secadmin", "PUT", "/api/v1/approval-rules/destruction", "", map[string]any{"roles": []string{"compliance"}, "scope": "any", "required": 1, "ttl": "720h"}).
		expect(t, 422, "a destruction rule lowered to one approver")
	c.do("secadmin", "PUT", "/api/v1/approval-rules/customer_change", "", map[string]any{"roles": []string{"account_manager"}, "scope": "unit", "required": 1, "ttl": "168h"}).
		expect(t, 422, "account managers approving account managers' changes")

	// Dual control now: one approval leaves the next change approved-pending.
	r = c.do("am_bj01", "PATCH", path, "", map[string]any{"employer": "丙公司", "reason": "三"}).expect(t, 202, "change under dual control")
	r.json(t, &acc)
	c.do("mgr_bj", "POST", reqPath(acc.Request.ID, "approve"), "", nil).expect(t, 200, "first approval").json(t, &done)
	if done.State != custos.RequestPending || done.Required != 2 {
		t.Fatalf("after one of two approvals: %+v", done)
	}
	c.do("gm", "POST", reqPath(acc.Request.ID, "approve"), "", nil).expect(t, 200, "second approval").json(t, &done)
	if done.State != custos.RequestApplied || customerOf(t, c, "am_bj01", cust.ID, "service").Employer != "丙公司" {
		t.Fatalf("after two approvals: %+v", done)
	}
}

// walkOnboarding: a new archive is a draft until an inspector has verified
// the identity against attached evidence and a manager has approved it; no
// business before that (R-A5, R-A6, R-A10).
func walkOnboarding(t *testing.T, f *apptest.Fixture, c *client) {
	cust := createCustomer(t, c, "am_bj01", apptest.Person("新客户"))
	if cust.Status != custos.StatusDraft || cust.Verification != custos.Unverified {
		t.Fatalf("a new archive is %s/%s, want draft/unverified", cust.Status, cust.Verification)
	}
	path := "/api/v1/customers/" + cust.ID
	business := map[string]any{"kind": "account", "reference": "6222020200112233445", "product": "借记卡", "opened_on": apptest.Day(0)}
	r := c.do("am_bj01", "POST", path+"/business", "", business).expect(t, 409, "business for a draft")
	if e := errorOf(t, r); e.Code != custos.EConflict || e.Message != custos.ErrNotEligible.Message {
		t.Fatalf("not eligible: %s", r.body)
	}
	c.do("am_bj01", "POST", path+"/business", "", map[string]any{"kind": "mortgage", "reference": "1", "opened_on": apptest.Day(0)}).expect(t, 422, "an unknown kind of business")

	rs := requestsOf(t, c, "am_bj01", "kind=onboarding&state=pending&customer_id="+cust.ID)
	if len(rs) != 1 {
		t.Fatalf("onboarding request: %+v", rs)
	}
	rid := rs[0].ID
	if _, ok := inboxOf(t, c, "mgr_bj")[rid]; !ok {
		t.Fatal("the onboarding request is not in the manager's inbox")
	}
	c.do("mgr_bj", "POST", reqPath(rid, "approve"), "", nil).expect(t, 409, "approval before verification")

	// The inspector verifies against an attached ID scan.
	evidence := attachIDScan(t, c, "am_bj01", cust.ID)
	vpath := path + "/verifications"
	r = c.do("inspector_bj", "POST", vpath, "", map[string]any{"method": "in_person", "passed": true, "name_matches": true}).expect(t, 422, "a pass without evidence")
	if fieldsOf(t, r)["evidence_ids"] != custos.CodeRequired {
		t.Fatalf("no evidence: %s", r.body)
	}
	c.do("inspector_bj", "POST", vpath, "", map[string]any{"method": "in_person", "passed": true, "name_matches": true, "evidence_ids": []string{"nope"}}).
		expect(t, 422, "unknown evidence")
	c.do("am_bj01", "POST", vpath, "", map[string]any{"method": "in_person", "passed": true, "name_matches": true, "evidence_ids": []string{evidence}}).
		expect(t, 403, "an account manager verifies")
	var vr custos.VerificationRecord
	c.do("inspector_bj", "POST", vpath, "", map[string]any{"method": "public_security", "passed": true, "name_matches": true,
		"evidence_ids": []string{evidence}, "note": "联网核查一致"}).expect(t, 201, "verification").json(t, &vr)
	if vr.InspectorID != f.Users["inspector_bj"].ID || !vr.Passed || vr.EvidenceIDs[0] != evidence {
		t.Fatalf("verification: %+v", vr)
	}
	c.do("am_bj01", "GET", vpath, "", nil).expect(t, 400, "verifications without purpose")
	var vs struct{ Verifications []custos.VerificationRecord }
	c.do("am_bj01", "GET", vpath, "kyc", nil).expect(t, 200, "verifications").json(t, &vs)
	if len(vs.Verifications) != 1 || vs.Verifications[0].Method != custos.VerifyPublicSecurity || vs.Verifications[0].Note != "联网核查一致" {
		t.Fatalf("verifications: %+v", vs.Verifications)
	}
	c.do("mgr_sh", "GET", vpath, "kyc", nil).expect(t, 404, "verifications out of scope")
	c.do("am_bj01", "POST", path+"/business", "", business).expect(t, 409, "business before approval")

	// The manager approves: the archive is effective; business is allowed.
	var done custos.Request
	c.do("mgr_bj", "POST", reqPath(rid, "approve"), "", map[string]any{"comment": "同意"}).expect(t, 200, "approve onboarding").json(t, &done)
	if done.State != custos.RequestApplied {
		t.Fatalf("onboarding: %+v", done)
	}
	if got := customerOf(t, c, "am_bj01", cust.ID, "service"); got.Status != custos.StatusEffective || got.Verification != custos.Verified {
		t.Fatalf("after approval: %s/%s", got.Status, got.Verification)
	}
	var b custos.BusinessRecord
	c.do("am_bj01", "POST", path+"/business", "", business).expect(t, 201, "business for an effective customer").json(t, &b)
	if b.Reference != "622202*********3445" || b.Kind != custos.BusinessAccount {
		t.Fatalf("business record: %+v", b)
	}
	c.do("am_bj01", "GET", path+"/business", "", nil).expect(t, 400, "business without purpose")
	var bs struct{ Records []custos.BusinessRecord }
	r = c.do("am_bj01", "GET", path+"/business", "service", nil).expect(t, 200, "business records")
	r.json(t, &bs)
	if len(bs.Records) != 1 || bytes.Contains(r.body, []byte("6222020200112233445")) {
		t.Fatalf("business records: %s", r.body)
	}
	var hist struct{ Versions []custos.ArchiveVersion }
	c.do("am_bj01", "GET", path+"/versions", "service", nil).expect(t, 200, "versions").json(t, &hist)
	if len(hist.Versions) != 1 || hist.Versions[0].ApprovedBy != f.Users["mgr_bj"].ID || hist.Versions[0].RequestID != rid {
		t.Fatalf("versions after onboarding: %+v", hist.Versions)
	}
}

// walkAccessRequest: a manager of another branch asks for access, the
// general manager approves, the grant opens the archive, and the borrowing
// register shows it, as JSON and CSV (R-C1, R-C3).
func walkAccessRequest(t *testing.T, f *apptest.Fixture, c *client) {
	cust := createCustomer(t, c, "am_bj01", apptest.Person("孙借阅"))
	path := "/api/v1/customers/" + cust.ID
	c.do("mgr_sh", "GET", path, "risk", nil).expect(t, 404, "out of scope before the grant")

	ask := map[string]any{"archive_no": cust.ArchiveNo, "purpose": "risk", "duration": "2h"}
	if r := c.do("mgr_sh", "POST", "/api/v1/access-requests", "", ask).expect(t, 422, "no reason"); fieldsOf(t, r)["reason"] != custos.CodeRequired {
		t.Fatalf("no reason: %s", r.body)
	}
	// The reason is free text; in the CSV export it must not turn into a formula.
	ask["reason"] = "=关联交易排查"
	var req custos.Request
	r := c.do("mgr_sh", "POST", "/api/v1/access-requests", "", ask).expect(t, 201, "access request")
	r.json(t, &req)
	if req.State != custos.RequestPending || req.Kind != custos.KindAccess || r.hdr.Get("Location") != reqPath(req.ID, "") {
		t.Fatalf("access request: %s", r.body)
	}
	var ghost custos.Request
	c.do("mgr_sh", "POST", "/api/v1/access-requests", "", map[string]any{"archive_no": "NO-SUCH-1", "purpose": "risk", "reason": "排查", "duration": "2h"}).
		expect(t, 201, "a request for a missing archive looks the same").json(t, &ghost)
	if ghost.State != custos.RequestPending {
		t.Fatalf("ghost: %+v", ghost)
	}

	c.do("mgr_bj", "POST", reqPath(req.ID, "approve"), "", nil).expect(t, 404, "a manager decides an access request")
	if _, ok := inboxOf(t, c, "gm")[req.ID]; !ok {
		t.Fatal("the access request is not in the general manager's inbox")
	}
	var view app.RequestView
	c.do("gm", "GET", reqPath(req.ID, ""), "", nil).expect(t, 200, "access request view").json(t, &view)
	if view.Access == nil || view.Access.UserID != f.Users["mgr_sh"].ID || view.Access.Duration != "2h0m0s" || !view.CanDecide {
		t.Fatalf("access view: %+v", view)
	}
	c.do("gm", "POST", reqPath(req.ID, "approve"), "", map[string]any{"comment": "同意，两小时"}).expect(t, 200, "approve access")
	if got := customerOf(t, c, "mgr_sh", cust.ID, "risk"); got.ID != cust.ID {
		t.Fatalf("read with the grant: %+v", got)
	}
	c.do("gm", "POST", reqPath(ghost.ID, "approve"), "", nil).expect(t, 409, "approving access to a missing archive")
	c.do("gm", "POST", reqPath(ghost.ID, "reject"), "", map[string]any{"comment": "档案不存在"}).expect(t, 200, "reject the ghost")

	// The borrowing register: the grant (who, why, approved by whom, until
	// when) and the read itself.
	reg := path + "/register"
	c.do("am_bj01", "GET", reg, "", nil).expect(t, 400, "register without purpose")
	var entries struct{ Entries []app.RegisterEntry }
	c.do("am_bj01", "GET", reg, "service", nil).expect(t, 200, "register").json(t, &entries)
	var grant, access bool
	for _, e := range entries.Entries {
		if e.Kind == "grant" && e.UserID == f.Users["mgr_sh"].ID && e.ApprovedBy == f.Users["gm"].ID && e.Purpose == "risk" && e.Until != nil && e.ReturnedAt == nil {
			grant = true
		}
		if e.Kind == "access" && e.Username == "mgr_sh" && e.Action == "customer.read" && e.Purpose == "risk" {
			access = true
		}
	}
	if !grant || !access {
		t.Fatalf("register: %+v", entries.Entries)
	}
	r = c.do("auditor", "GET", reg+"?format=csv", "", nil).expect(t, 200, "register as CSV")
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/csv") || !strings.HasPrefix(lines[0], "kind,user_id,username,action,purpose,reason,at,approved_by") ||
		len(lines) != len(entries.Entries)+1 {
		t.Fatalf("CSV register: %s\n%s", r.hdr.Get("Content-Type"), r.body)
	}
	if !strings.Contains(string(r.body), "grant,"+fmt.Sprint(f.Users["mgr_sh"].ID)+",mgr_sh,,risk,'=关联交易排查,") {
		t.Fatalf("the grant's line (with the reason escaped): %s", r.body)
	}
	c.do("am_bj01", "GET", reg+"?format=xml", "service", nil).expect(t, 422, "an unknown format")
	c.do("am2_bj01", "GET", reg, "service", nil).expect(t, 404, "register out of scope")

	// The grant ends by itself.
	f.Clock.Advance(2*time.Hour + time.Second)
	c.do("mgr_sh", "GET", path, "risk", nil).expect(t, 404, "after the grant ran out")
}

// walkPaper: a secure location, a paper file registered there, lent, overdue,
// returned with inspection and transferred; a protected customer's file
// leaves only by approval (R-H1, R-H2).
func walkPaper(t *testing.T, f *apptest.Fixture, c *client) {
	requireTokenAction(t, c, "custodian", custos.RoleCustodian, custos.ActPaperManage, "/api/v1/paper/locations")
	cust := createCustomer(t, c, "am_bj01", apptest.Person("纸质档"))
	p := apptest.Person("私行客户")
	p.Category = "private_banking"
	vip := createCustomer(t, c, "am_bj01", p)
	custodian := f.Users["custodian"].ID

	loc := map[string]any{"room": "档案室 301", "cabinet": "A-01", "lock_type": "key"}
	if r := c.do("custodian", "POST", "/api/v1/paper/locations", "", loc).expect(t, 422, "a location without custodian"); fieldsOf(t, r)["custodian_id"] != custos.CodeRequired {
		t.Fatalf("no custodian: %s", r.body)
	}
	loc["custodian_id"] = custodian
	c.do("am_bj01", "POST", "/api/v1/paper/locations", "", loc).expect(t, 403, "an account manager registers a location")
	var l1, l2 custos.SecureLocation
	c.do("custodian", "POST", "/api/v1/paper/locations", "", loc).expect(t, 201, "location").json(t, &l1)
	c.do("custodian", "POST", "/api/v1/paper/locations", "", map[string]any{"room": "档案室 302", "cabinet": "保险柜 S-1", "shelf": "2",
		"lock_type": "safe", "custodian_id": custodian}).expect(t, 201, "second location").json(t, &l2)
	var locs struct{ Locations []custos.SecureLocation }
	c.do("custodian", "GET", "/api/v1/paper/locations", "", nil).expect(t, 200, "locations").json(t, &locs)
	if len(locs.Locations) != 2 || !l1.Active || l1.CustodianID != custodian {
		t.Fatalf("locations: %+v", locs.Locations)
	}
	c.do("am_bj01", "GET", "/api/v1/paper/locations", "", nil).expect(t, 403, "an account manager lists locations")

	// Paper only at a registered secure location (R-H2).
	c.do("custodian", "POST", "/api/v1/paper/files", "", map[string]any{"archive_no": cust.ArchiveNo, "title": "开户资料", "location_id": 999}).
		expect(t, 422, "paper at an unregistered place")
	var file app.PaperView
	r := c.do("custodian", "POST", "/api/v1/paper/files", "", map[string]any{"archive_no": cust.ArchiveNo, "title": "开户资料", "contents": "身份证复印件", "location_id": l1.ID}).
		expect(t, 201, "register paper file")
	r.json(t, &file)
	fpath := fmt.Sprintf("/api/v1/paper/files/%d", file.ID)
	if r.hdr.Get("Location") != fpath || file.Status != custos.PaperInPlace || file.Title != "开户资料" || file.CustomerID != cust.ID {
		t.Fatalf("registered: %s", r.body)
	}

	due := apptest.Start.AddDate(0, 0, 3).Format(time.DateOnly)
	c.do("custodian", "POST", fpath+"/lend", "", map[string]any{"borrower": "am_bj01", "due": due}).expect(t, 422, "a loan without reason")
	var lent app.PaperView
	c.do("custodian", "POST", fpath+"/lend", "", map[string]any{"borrower": "am_bj01", "due": due, "reason": "客户回访"}).expect(t, 200, "lend").json(t, &lent)
	if lent.Status != custos.PaperLent || lent.BorrowerID != f.Users["am_bj01"].ID || lent.Overdue {
		t.Fatalf("lent: %+v", lent)
	}
	c.do("custodian", "POST", fpath+"/lend", "", map[string]any{"borrower": "am2_bj01", "due": due, "reason": "x"}).expect(t, 409, "lending a lent file")
	c.do("custodian", "POST", fpath+"/transfer", "", map[string]any{"to_location_id": l2.ID}).expect(t, 409, "transferring a lent file")

	f.Clock.Advance(5 * 24 * time.Hour)
	var files struct{ Files []app.PaperView }
	c.do("custodian", "GET", "/api/v1/paper/files?overdue=1", "", nil).expect(t, 200, "overdue list").json(t, &files)
	if len(files.Files) != 1 || files.Files[0].ID != file.ID || !files.Files[0].Overdue {
		t.Fatalf("overdue: %+v", files.Files)
	}
	c.do("custodian", "GET", "/api/v1/paper/files?overdue=maybe", "", nil).expect(t, 422, "a bad overdue flag")
	c.do("am_bj01", "GET", "/api/v1/paper/files", "", nil).expect(t, 403, "an account manager lists the paper store")

	c.do("custodian", "POST", fpath+"/return", "", map[string]any{"inspection": " "}).expect(t, 422, "a return without inspection")
	var back app.PaperView
	c.do("custodian", "POST", fpath+"/return", "", map[string]any{"inspection": "完好"}).expect(t, 200, "return").json(t, &back)
	if back.Status != custos.PaperInPlace || back.BorrowerID != 0 {
		t.Fatalf("returned: %+v", back)
	}
	c.do("custodian", "POST", fpath+"/return", "", map[string]any{"inspection": "完好"}).expect(t, 409, "returning a file in place")
	c.do("custodian", "POST", fpath+"/transfer", "", map[string]any{"to_location_id": 999}).expect(t, 422, "a transfer to nowhere")
	var moved app.PaperView
	c.do("custodian", "POST", fpath+"/transfer", "", map[string]any{"to_location_id": l2.ID}).expect(t, 200, "transfer").json(t, &moved)
	if moved.LocationID != l2.ID || moved.Location == nil || moved.Location.ID != l2.ID {
		t.Fatalf("moved: %+v", moved)
	}
	var detail httpapi.PaperFileDetail
	c.do("custodian", "GET", fpath, "", nil).expect(t, 200, "paper file").json(t, &detail)
	kinds := []custos.MovementKind{}
	for _, m := range detail.Movements {
		kinds = append(kinds, m.Kind)
	}
	if fmt.Sprint(kinds) != "[register lend return transfer]" || detail.Movements[2].Inspection != "完好" {
		t.Fatalf("movements: %+v", detail.Movements)
	}
	c.do("custodian", "GET", "/api/v1/paper/files/99999", "", nil).expect(t, 404, "a missing file")

	// A protected customer's file leaves only by approval (R-H1).
	var vfile app.PaperView
	c.do("custodian", "POST", "/api/v1/paper/files", "", map[string]any{"customer_id": vip.ID, "title": "私行签约文件", "location_id": l2.ID}).
		expect(t, 201, "register protected file").json(t, &vfile)
	vpath := fmt.Sprintf("/api/v1/paper/files/%d", vfile.ID)
	due = f.Clock.Now().AddDate(0, 0, 2).Format(time.DateOnly)
	var loan custos.Request
	r = c.do("custodian", "POST", vpath+"/lend", "", map[string]any{"borrower": "am_bj01", "due": due, "reason": "续签"}).expect(t, 202, "protected loan")
	r.json(t, &loan)
	if loan.Kind != custos.KindPaperLoan || loan.State != custos.RequestPending || r.hdr.Get("Location") != reqPath(loan.ID, "") {
		t.Fatalf("loan request: %s", r.body)
	}
	c.do("custodian", "GET", vpath, "", nil).expect(t, 200, "protected file").json(t, &detail)
	if detail.Status != custos.PaperInPlace {
		t.Fatalf("the file left before approval: %+v", detail)
	}
	var view app.RequestView
	c.do("gm", "GET", reqPath(loan.ID, ""), "", nil).expect(t, 200, "loan view").json(t, &view)
	if view.Paper == nil || view.Paper.FileID != vfile.ID || view.Paper.BorrowerID != f.Users["am_bj01"].ID {
		t.Fatalf("loan view: %+v", view)
	}
	c.do("gm", "POST", reqPath(loan.ID, "approve"), "", map[string]any{"comment": "同意"}).expect(t, 200, "approve loan")
	c.do("custodian", "GET", vpath, "", nil).expect(t, 200, "protected file after approval").json(t, &detail)
	if detail.Status != custos.PaperLent || len(detail.Movements) != 2 || detail.Movements[1].RequestID != loan.ID {
		t.Fatalf("after approval: %+v", detail)
	}
}

// walkHandover: a leaver's customers and records are inventoried, assigned
// to a successor, signed off by leaver, successor and supervisor once
// borrowed paper is back, and certified in JSON and PDF (R-G1).
func walkHandover(t *testing.T, f *apptest.Fixture, c *client) {
	requireTokenAction(t, c, "mgr_bj", custos.RoleManager, custos.ActHandoverManage, "/api/v1/handovers")
	requireTokenAction(t, c, "custodian", custos.RoleCustodian, custos.ActPaperManage, "/api/v1/paper/locations")
	c1 := createCustomer(t, c, "am_bj01", apptest.Person("交接一"))
	var loc custos.SecureLocation
	c.do("custodian", "POST", "/api/v1/paper/locations", "", map[string]any{"room": "301", "cabinet": "A", "lock_type": "key", "custodian_id": f.Users["custodian"].ID}).
		expect(t, 201, "location").json(t, &loc)
	var pf app.PaperView
	c.do("custodian", "POST", "/api/v1/paper/files", "", map[string]any{"customer_id": c1.ID, "title": "档案袋", "location_id": loc.ID}).
		expect(t, 201, "paper file").json(t, &pf)
	c.do("custodian", "POST", fmt.Sprintf("/api/v1/paper/files/%d/lend", pf.ID), "", map[string]any{"borrower": "am_bj01",
		"due": apptest.Start.AddDate(0, 0, 5).Format(time.DateOnly), "reason": "客户回访"}).expect(t, 200, "lend to the leaver")

	start := map[string]any{"leaver": "am_bj01", "supervisor": "mgr_bj", "reason": "离职"}
	if r := c.do("mgr_bj", "POST", "/api/v1/handovers", "", start).expect(t, 422, "no successor"); fieldsOf(t, r)["successors"] != custos.CodeRequired {
		t.Fatalf("no successor: %s", r.body)
	}
	start["successors"] = []string{"am2_bj01"}
	c.do("am2_bj01", "POST", "/api/v1/handovers", "", start).expect(t, 403, "an account manager opens a handover")
	var h custos.Handover
	r := c.do("mgr_bj", "POST", "/api/v1/handovers", "", start).expect(t, 201, "start handover")
	r.json(t, &h)
	hpath := fmt.Sprintf("/api/v1/handovers/%d", h.ID)
	if r.hdr.Get("Location") != hpath || h.State != custos.HandoverOpen || len(h.Inventory.Customers) != 1 || h.Inventory.Customers[0] != c1.ID ||
		len(h.Inventory.BorrowedFiles) != 1 || h.Assignments[c1.ID] != f.Users["am2_bj01"].ID {
		t.Fatalf("handover: %s", r.body)
	}
	var list struct{ Handovers []custos.Handover }
	c.do("mgr_bj", "GET", "/api/v1/handovers", "", nil).expect(t, 200, "handovers").json(t, &list)
	if len(list.Handovers) != 1 {
		t.Fatalf("handovers: %+v", list.Handovers)
	}
	c.do("am_bj01", "GET", "/api/v1/handovers", "", nil).expect(t, 403, "an account manager lists handovers")
	var detail httpapi.HandoverDetail
	c.do("am_bj01", "GET", hpath, "", nil).expect(t, 200, "the leaver looks at the handover").json(t, &detail)
	if detail.LiveInventory == nil || len(detail.LiveInventory.BorrowedFiles) != 1 {
		t.Fatalf("live inventory: %+v", detail.LiveInventory)
	}
	c.do("butler_bj01", "GET", hpath, "", nil).expect(t, 404, "someone not party to it looks")
	c.do("mgr_bj", "GET", "/api/v1/handovers/9999", "", nil).expect(t, 404, "a missing handover")

	c.do("mgr_bj", "PUT", hpath+"/assignments", "", map[string]any{"assignments": map[string]int64{c1.ID: f.Users["gm"].ID}}).expect(t, 422, "assigned to a non-successor")
	c.do("mgr_bj", "PUT", hpath+"/assignments", "", map[string]any{"assignments": map[string]int64{c1.ID: f.Users["am2_bj01"].ID}}).expect(t, 200, "assign")
	c.do("mgr_bj", "GET", hpath+"/certificate", "", nil).expect(t, 409, "a certificate before completion")

	sig := map[string]any{"password": apptest.Password}
	c.do("am_bj01", "POST", hpath+"/sign", "", map[string]any{"password": "wrong"}).expect(t, 422, "a signature with a wrong password")
	c.do("am_bj01", "POST", hpath+"/sign", "", sig).expect(t, 200, "the leaver signs")
	c.do("mgr_bj", "PUT", hpath+"/assignments", "", map[string]any{"assignments": map[string]int64{c1.ID: f.Users["am2_bj01"].ID}}).expect(t, 409, "assignments after signing began")
	c.do("am2_bj01", "POST", hpath+"/sign", "", sig).expect(t, 200, "the successor signs")
	c.do("gm", "POST", hpath+"/sign", "", sig).expect(t, 404, "someone not party to it signs")
	c.do("mgr_bj", "POST", hpath+"/sign", "", sig).expect(t, 409, "completion with borrowed paper still out")
	c.do("custodian", "POST", fmt.Sprintf("/api/v1/paper/files/%d/return", pf.ID), "", map[string]any{"inspection": "完好"}).expect(t, 200, "the file comes back")
	c.do("mgr_bj", "POST", hpath+"/sign", "", sig).expect(t, 200, "the supervisor signs").json(t, &h)
	if h.State != custos.HandoverCompleted || h.CompletedAt == nil || len(h.SignedAt) != 3 {
		t.Fatalf("completed: %+v", h)
	}
	c.do("mgr_bj", "POST", hpath+"/sign", "", sig).expect(t, 409, "signing a closed handover")

	// The successor owns the customer; the leaver's token is dead.
	if got := customerOf(t, c, "am2_bj01", c1.ID, "service"); got.OwnerID != f.Users["am2_bj01"].ID {
		t.Fatalf("successor: %+v", got)
	}
	c.do("am_bj01", "GET", "/api/v1/me", "", nil).expect(t, 401, "the leaver's token after the handover")

	var cert app.HandoverCertificate
	r = c.do("mgr_bj", "GET", hpath+"/certificate?format=json", "", nil).expect(t, 200, "JSON certificate")
	r.json(t, &cert)
	if !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/json") || cert.Handover != h.ID || cert.Customers[c1.ArchiveNo] == "" {
		t.Fatalf("JSON certificate: %s", r.body)
	}
	c.do("mgr_bj", "GET", hpath+"/certificate?format=docx", "", nil).expect(t, 422, "an unknown format")
	if pdfdoc.New("").Available() != nil {
		c.do("mgr_bj", "GET", hpath+"/certificate?format=pdf", "", nil).expect(t, 404, "a PDF without the Chinese font")
		return
	}
	r = c.do("am2_bj01", "GET", hpath+"/certificate?format=pdf", "", nil).expect(t, 200, "PDF certificate")
	if r.hdr.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.body, []byte("%PDF")) {
		t.Fatalf("PDF certificate: %s %.20q", r.hdr.Get("Content-Type"), r.body)
	}
}
