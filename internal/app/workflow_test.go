package app_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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

// onboard takes a new customer through verification and approval (R-A10).
func onboard(t *testing.T, f *apptest.Fixture, c *custos.Customer, inspector, approver string) {
	t.Helper()
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
	if _, err := f.App.RecordVerification(ctx, f.Actor(inspector).WithPurpose("kyc"), c.ID, app.VerificationInput{
		Method: custos.VerifyPublicSecurity, Passed: true, NameMatches: true, EvidenceIDs: []string{at.ID}}); err != nil {
		t.Fatal(err)
	}
	req := onboardingRequest(t, f, c.ID)
	if _, err := f.App.DecideRequest(ctx, f.Actor(approver), req.ID, true, "身份已核实"); err != nil {
		t.Fatal(err)
	}
}

func onboardingRequest(t *testing.T, f *apptest.Fixture, customerID string) *custos.Request {
	t.Helper()
	rs, err := f.App.Requests(ctx, f.Actor("auditor"), custos.RequestFilter{CustomerID: customerID, Kind: custos.KindOnboarding})
	if err != nil || len(rs) != 1 {
		t.Fatalf("onboarding request: %v %d", err, len(rs))
	}
	return rs[0]
}

func TestOnboardingNeedsVerificationAndApproval(t *testing.T) { // R-A5, R-A6, R-A10
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		am := f.Actor("am_bj01")
		c := f.Create(t, "am_bj01", apptest.Person("新客户"))
		if c.Status != custos.StatusDraft || c.Verification != custos.Unverified {
			t.Fatalf("new archive is %s/%s, want draft/unverified", c.Status, c.Verification)
		}
		business := app.BusinessInput{Kind: custos.BusinessAccount, Reference: "6222020200112233445", Product: "借记卡", OpenedOn: apptest.Day(0)}
		if _, err := f.App.AddBusiness(ctx, am, c.ID, business); !errors.Is(err, custos.ErrNotEligible) {
			t.Fatalf("business for a draft: %v", err)
		}
		req := onboardingRequest(t, f, c.ID)
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), req.ID, true, ""); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("approval before verification: %v", err)
		}
		if _, err := f.App.RecordVerification(ctx, f.Actor("inspector_bj").WithPurpose("kyc"), c.ID, app.VerificationInput{
			Method: custos.VerifyInPerson, Passed: true, NameMatches: true}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("verification without evidence: %v", err)
		}
		if _, err := f.App.RecordVerification(ctx, am, c.ID, app.VerificationInput{Method: custos.VerifyInPerson, Passed: true, NameMatches: true}); err == nil {
			t.Fatal("an account manager verified an identity")
		}
		onboard(t, f, c, "inspector_bj", "mgr_bj")
		got, err := f.App.GetCustomer(ctx, am, c.ID)
		if err != nil || got.Status != custos.StatusEffective || got.Verification != custos.Verified {
			t.Fatalf("after approval: %v %+v", err, got)
		}
		b, err := f.App.AddBusiness(ctx, am, c.ID, business)
		if err != nil || b.Reference != "622202*********3445" {
			t.Fatalf("business for an effective customer: %v %+v", err, b)
		}
		vs, err := f.App.Verifications(ctx, am, c.ID)
		if err != nil || len(vs) != 1 || vs[0].Method != custos.VerifyPublicSecurity || vs[0].InspectorID != f.Users["inspector_bj"].ID {
			t.Fatalf("verifications: %v %+v", err, vs)
		}
		hist, err := f.App.Versions(ctx, am, c.ID)
		if err != nil || len(hist) != 1 || hist[0].ApprovedBy != f.Users["mgr_bj"].ID {
			t.Fatalf("history after onboarding: %v %+v", err, hist)
		}
	})
}

func TestMakerCheckerChange(t *testing.T) { // R-B1
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		am := f.Actor("am_bj01")
		c := f.Create(t, "am_bj01", apptest.Person("钱多多"))
		onboard(t, f, c, "inspector_bj", "mgr_bj")

		patch := func(in *custos.CustomerInput) error { in.Occupation, in.Phone = "律师", "13911112222"; return nil }
		if _, err := f.App.ChangeCustomer(ctx, am, c.ID, 0, "", patch); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a change without reason: %v", err)
		}
		ch, err := f.App.ChangeCustomer(ctx, am, c.ID, 0, "客户换工作", patch)
		if err != nil || ch.Request == nil || ch.Request.State != custos.RequestPending {
			t.Fatalf("change: %v %+v", err, ch)
		}
		// Invisible until approved.
		got, _ := f.App.GetCustomer(ctx, am, c.ID)
		if got.Person.Occupation == "律师" {
			t.Fatal("the change took effect before approval")
		}
		if _, err := f.App.DecideRequest(ctx, am, ch.Request.ID, true, ""); !errors.Is(err, custos.ErrSelfApproval) && !errors.Is(err, app.ErrRequestNotFound) {
			t.Fatalf("the maker approved their own change: %v", err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("am2_bj01"), ch.Request.ID, true, ""); err == nil {
			t.Fatal("another account manager approved")
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_sh"), ch.Request.ID, true, ""); err == nil {
			t.Fatal("a manager of another branch approved")
		}
		inbox, _ := f.App.Inbox(ctx, f.Actor("mgr_bj"))
		if len(inbox) != 1 || inbox[0].ID != ch.Request.ID {
			t.Fatalf("manager's inbox: %+v", inbox)
		}
		view, err := f.App.Request(ctx, f.Actor("mgr_bj"), ch.Request.ID)
		if err != nil || !view.CanDecide || len(view.Changes) != 2 {
			t.Fatalf("request view: %v %+v", err, view)
		}
		for _, chg := range view.Changes {
			if chg.Field == "phone" && (chg.New != "139****2222" || strings.Contains(chg.Old+chg.New, "13911112222")) {
				t.Fatalf("diff must be masked: %+v", chg)
			}
		}
		ro := f.Actor("mgr_bj")
		ro.Scopes = []string{"customers:read"}
		if _, err := f.App.DecideRequest(ctx, ro, ch.Request.ID, true, ""); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("a read-only token decided a request: %v", err)
		}
		done, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), ch.Request.ID, true, "同意")
		if err != nil || done.State != custos.RequestApplied {
			t.Fatalf("approve: %v %+v", err, done)
		}
		got, _ = f.App.GetCustomer(ctx, am, c.ID)
		if got.Person.Occupation != "律师" || got.Version != c.Version+1 {
			t.Fatalf("after approval: %+v", got.Person)
		}
		// A rejected request stays on record and changes nothing.
		ch2, _ := f.App.ChangeCustomer(ctx, am, c.ID, 0, "笔误", func(in *custos.CustomerInput) error { in.Occupation = "医生"; return nil })
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), ch2.Request.ID, false, ""); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a rejection needs a reason: %v", err)
		}
		if r, err := f.App.DecideRequest(ctx, f.Actor("gm"), ch2.Request.ID, false, "材料不全"); err != nil || r.State != custos.RequestRejected {
			t.Fatalf("reject: %v", err)
		}
		rs, _ := f.App.Requests(ctx, am, custos.RequestFilter{CustomerID: c.ID})
		if len(rs) != 3 {
			t.Fatalf("requests on record: %d", len(rs))
		}
		hist, _ := f.App.Versions(ctx, am, c.ID)
		if len(hist) != 2 || hist[1].Reason != "客户换工作" || hist[1].RequestedBy != f.Users["am_bj01"].ID || hist[1].ApprovedBy != f.Users["mgr_bj"].ID {
			t.Fatalf("history: %+v", hist)
		}
		diff, err := f.App.DiffVersions(ctx, am, c.ID, hist[0].Version, hist[1].Version)
		if err != nil || len(diff) != 2 {
			t.Fatalf("diff: %v %+v", err, diff)
		}
		// A stale proposal cannot overwrite a newer state.
		ch3, _ := f.App.ChangeCustomer(ctx, am, c.ID, 0, "一", func(in *custos.CustomerInput) error { in.Employer = "甲公司"; return nil })
		ch4, _ := f.App.ChangeCustomer(ctx, am, c.ID, 0, "二", func(in *custos.CustomerInput) error { in.Employer = "乙公司"; return nil })
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), ch3.Request.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), ch4.Request.ID, true, ""); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("stale proposal applied: %v", err)
		}
		if rep, err := f.App.VerifyAudit(ctx, 2); err != nil || !rep.OK() {
			t.Fatalf("audit: %v %+v", err, rep.Broken)
		}
	})
}

func TestAccessRequestGrantExpires(t *testing.T) { // R-C1, R-C3
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c := f.Create(t, "am_bj01", apptest.Person("孙借阅"))
		sh := f.Actor("mgr_sh").WithPurpose("risk")
		if _, err := f.App.GetCustomer(ctx, sh, c.ID); !errors.Is(err, custos.ErrNotFound) {
			t.Fatal("visible before a grant")
		}
		req, err := f.App.RequestAccess(ctx, sh, app.AccessInput{ArchiveNo: c.ArchiveNo, Purpose: "risk", Reason: "关联交易排查", Duration: "2h"})
		if err != nil || req.State != custos.RequestPending {
			t.Fatalf("request: %v", err)
		}
		ghost, err := f.App.RequestAccess(ctx, sh, app.AccessInput{ArchiveNo: "NO-SUCH-1", Purpose: "risk", Reason: "x", Duration: "2h"})
		if err != nil || ghost.State != custos.RequestPending {
			t.Fatalf("a request for a missing archive must look the same: %v", err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), req.ID, true, ""); err == nil {
			t.Fatal("a manager approved an access request; the general manager decides")
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, "同意，两小时"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.GetCustomer(ctx, sh, c.ID); err != nil {
			t.Fatalf("read with the grant: %v", err)
		}
		f.Clock.Advance(2*time.Hour + time.Second)
		if _, err := f.App.GetCustomer(ctx, sh, c.ID); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("the grant did not end by itself: %v", err)
		}
		reg, err := f.App.BorrowingRegister(ctx, f.Actor("am_bj01"), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var grant, access bool
		for _, e := range reg {
			if e.Kind == "grant" && e.UserID == f.Users["mgr_sh"].ID && e.ApprovedBy == f.Users["gm"].ID && e.ReturnedAt != nil && e.Purpose == "risk" {
				grant = true
			}
			if e.Kind == "access" && e.UserID == f.Users["mgr_sh"].ID && e.Action == "customer.read" {
				access = true
			}
		}
		if !grant || !access {
			t.Fatalf("register: %+v", reg)
		}
		// Requests left pending expire on their own.
		f.Clock.Advance(8 * 24 * time.Hour)
		if n, err := f.App.ExpireRequests(ctx); err != nil || n < 1 {
			t.Fatalf("expire: %d %v", n, err)
		}
	})
}

func TestPaperArchives(t *testing.T) { // R-H1, R-H2
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		cust := f.Actor("custodian")
		c := f.Create(t, "am_bj01", apptest.Person("纸质档"))
		p := apptest.Person("私行客户")
		p.Category = "private_banking"
		vip := f.Create(t, "am_bj01", p)

		if err := f.App.CreateLocation(ctx, cust, &custos.SecureLocation{Room: "档案室 301", Cabinet: "A-01", LockType: custos.LockKey}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a location without custodian: %v", err)
		}
		loc := &custos.SecureLocation{Room: "档案室 301", Cabinet: "保险柜 S-1", Shelf: "2", LockType: custos.LockSafe, CustodianID: f.Users["custodian"].ID}
		if err := f.App.CreateLocation(ctx, cust, loc); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.RegisterPaperFile(ctx, cust, app.PaperInput{ArchiveNo: c.ArchiveNo, Title: "开户资料", LocationID: 999}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("paper at an unregistered place: %v", err)
		}
		file, err := f.App.RegisterPaperFile(ctx, cust, app.PaperInput{ArchiveNo: c.ArchiveNo, Title: "开户资料", Contents: "身份证复印件", LocationID: loc.ID})
		if err != nil {
			t.Fatal(err)
		}
		due := apptest.Start.AddDate(0, 0, 3).Format(time.DateOnly)
		lent, req, err := f.App.LendPaperFile(ctx, cust, file.ID, app.LendInput{Borrower: "am_bj01", Due: due, Reason: "客户回访"})
		if err != nil || req != nil || lent.Status != custos.PaperLent {
			t.Fatalf("lend: %v %+v %+v", err, lent, req)
		}
		f.Clock.Advance(5 * 24 * time.Hour)
		over, err := f.App.PaperFiles(ctx, cust, true)
		if err != nil || len(over) != 1 || !over[0].Overdue {
			t.Fatalf("overdue list: %v %+v", err, over)
		}
		if _, err := f.App.ReturnPaperFile(ctx, cust, file.ID, ""); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("return without inspection: %v", err)
		}
		back, err := f.App.ReturnPaperFile(ctx, cust, file.ID, "完好")
		if err != nil || back.Status != custos.PaperInPlace {
			t.Fatalf("return: %v", err)
		}
		// A protected customer's file needs approval before it leaves.
		vfile, err := f.App.RegisterPaperFile(ctx, cust, app.PaperInput{CustomerID: vip.ID, Title: "私行签约文件", LocationID: loc.ID})
		if err != nil {
			t.Fatal(err)
		}
		due = f.Clock.Now().AddDate(0, 0, 2).Format(time.DateOnly)
		_, req, err = f.App.LendPaperFile(ctx, cust, vfile.ID, app.LendInput{Borrower: "am_bj01", Due: due, Reason: "续签"})
		if err != nil || req == nil || req.Kind != custos.KindPaperLoan {
			t.Fatalf("protected loan: %v %+v", err, req)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		v, moves, err := f.App.PaperFile(ctx, cust, vfile.ID)
		if err != nil || v.Status != custos.PaperLent || len(moves) != 2 || moves[1].RequestID != req.ID {
			t.Fatalf("after approval: %v %+v %+v", err, v, moves)
		}
		if _, err := f.App.PaperFiles(ctx, f.Actor("am_bj01"), false); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("an account manager lists the paper store: %v", err)
		}
	})
}

func TestStaffHandover(t *testing.T) { // R-G1
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		renderer := pdfdoc.New(os.Getenv("CUSTOS_PDF_FONT"))
		if renderer.Available() == nil {
			f.App.SetPDF(renderer)
		}
		leaver := f.Actor("am_bj01")
		c1 := f.Create(t, "am_bj01", apptest.Person("交接一"))
		c2 := f.Create(t, "am_bj01", apptest.Person("交接二"))
		onboard(t, f, c2, "inspector_bj", "mgr_bj")
		pending, _ := f.App.ChangeCustomer(ctx, leaver, c2.ID, 0, "待批", func(in *custos.CustomerInput) error { in.Occupation = "x"; return nil })
		other := f.Create(t, "am2_bj01", apptest.Person("别人的"))
		grant, err := f.App.CreateGrant(ctx, f.Actor("gm"), app.GrantInput{Username: "am_bj01", CustomerID: other.ID, Purpose: "service", Reason: "代班", Duration: "48h"})
		if err != nil {
			t.Fatal(err)
		}
		loc := &custos.SecureLocation{Room: "301", Cabinet: "A", LockType: custos.LockKey, CustodianID: f.Users["custodian"].ID}
		f.App.CreateLocation(ctx, f.Actor("custodian"), loc)
		pf, _ := f.App.RegisterPaperFile(ctx, f.Actor("custodian"), app.PaperInput{CustomerID: c1.ID, Title: "档案袋", LocationID: loc.ID})
		f.App.LendPaperFile(ctx, f.Actor("custodian"), pf.ID, app.LendInput{Borrower: "am_bj01", Due: apptest.Start.AddDate(0, 0, 5).Format(time.DateOnly), Reason: "x"})

		h, err := f.App.StartHandover(ctx, f.Actor("mgr_bj"), app.HandoverInput{Leaver: "am_bj01", Supervisor: "mgr_bj", Successors: []string{"am2_bj01"}, Reason: "离职"})
		if err != nil {
			t.Fatal(err)
		}
		inv := h.Inventory
		if len(inv.Customers) != 2 || len(inv.ActiveGrants) != 1 || len(inv.BorrowedFiles) != 1 || len(inv.OpenRequests) != 2 {
			t.Fatalf("inventory: %+v", inv)
		}
		// Looking at a handover (its inventory names customers) is audited;
		// someone who is no party to it gets 404 and no event.
		if _, _, err := f.App.Handover(ctx, f.Actor("am2_bj01"), h.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.App.Handover(ctx, f.Actor("inspector_bj"), h.ID); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("a stranger reads the handover: %v", err)
		}
		if evs := auditActions(t, f, "handover.read"); len(evs) != 1 || evs[0].Actor != "am2_bj01" || evs[0].TargetRef != strconv.FormatInt(f.Users["am_bj01"].ID, 10) {
			t.Fatalf("handover.read events: %+v", evs)
		}
		if _, err := f.App.SignHandover(ctx, f.Actor("am_bj01"), h.ID, f.Proof("am_bj01")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.SignHandover(ctx, f.Actor("am2_bj01"), h.ID, f.Proof("am2_bj01")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.SignHandover(ctx, f.Actor("gm"), h.ID, f.Proof("gm")); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("someone not party to it signed: %v", err)
		}
		if _, err := f.App.SignHandover(ctx, f.Actor("mgr_bj"), h.ID, f.Proof("mgr_bj")); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("completion with a borrowed file still out: %v", err)
		}
		f.App.ReturnPaperFile(ctx, f.Actor("custodian"), pf.ID, "完好")
		done, err := f.App.SignHandover(ctx, f.Actor("mgr_bj"), h.ID, f.Proof("mgr_bj"))
		if err != nil || done.State != custos.HandoverCompleted {
			t.Fatalf("complete: %v %+v", err, done)
		}
		// The leaver's customers now belong to the successor; the account is disabled.
		got, err := f.App.GetCustomer(ctx, f.Actor("am2_bj01"), c1.ID)
		if err != nil || got.OwnerID != f.Users["am2_bj01"].ID {
			t.Fatalf("successor reads: %v", err)
		}
		if _, err := f.App.Login(ctx, app.Credentials{Username: "am_bj01", Password: apptest.Password, ClientAddr: "10.0.0.9"}); custos.ErrorCodeOf(err) != custos.EUnauthenticated {
			t.Fatalf("the leaver can still log in: %v", err)
		}
		gs, _ := f.App.Grants(ctx, f.Actor("gm"), 0, other.ID)
		if len(gs) != 1 || gs[0].ID != grant.ID || gs[0].RevokedAt == nil {
			t.Fatalf("grant not revoked: %+v", gs)
		}
		r, _ := f.App.Request(ctx, f.Actor("auditor"), pending.Request.ID)
		if r.State != custos.RequestCancelled || r.Outcome != "requester_left" {
			t.Fatalf("open request: %+v", r.Request)
		}
		if ob := onboardingRequest(t, f, c1.ID); ob.State != custos.RequestPending || ob.RequestedBy != f.Users["am2_bj01"].ID {
			t.Fatalf("the draft's onboarding must continue under the successor: %+v", ob)
		}
		js, err := f.App.HandoverCertificateFile(ctx, f.Actor("mgr_bj"), h.ID, "json")
		if err != nil || !strings.Contains(string(js), c1.ArchiveNo) {
			t.Fatalf("certificate JSON: %v %s", err, js)
		}
		if renderer.Available() != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("CI=true but the Chinese font is missing")
			}
			return
		}
		pdf, err := f.App.HandoverCertificateFile(ctx, f.Actor("mgr_bj"), h.ID, "pdf")
		if err != nil {
			t.Fatal(err)
		}
		text := pdftotext(t, pdf)
		for _, want := range []string{"员工离岗交接证明书", c1.ArchiveNo, c2.ArchiveNo, "已停用"} {
			if !strings.Contains(text, want) {
				t.Errorf("certificate lacks %q:\n%s", want, text)
			}
		}
	})
}

// pdftotext extracts a PDF's text (skipping without the tool, except in CI).
func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but pdftotext is missing")
		}
		t.Skip("pdftotext missing")
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	os.WriteFile(path, pdf, 0o600)
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestStaffNamesForEveryColleague(t *testing.T) {
	f := apptest.New(t, sqltest.OpenSQLite(t))
	names, err := f.App.StaffNames(ctx, f.Actor("am_bj01"), []int64{f.Users["gm"].ID, 9999})
	if err != nil || names[f.Users["gm"].ID].Username != "gm" || names[9999] != nil {
		t.Fatalf("%v %+v", err, names)
	}
	if _, err := f.App.StaffNames(ctx, custos.SystemActor("x"), nil); err == nil {
		t.Fatal("only staff may ask")
	}
}
