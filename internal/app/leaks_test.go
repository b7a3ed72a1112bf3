package app_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// deniedReasons counts the audited refusals of one action by reason.
func deniedReasons(t *testing.T, f *apptest.Fixture, action string) map[string]int {
	t.Helper()
	evs, err := f.App.SearchAudit(ctx, f.Actor("auditor"), apptestQuery("", action))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, ev := range evs {
		if ev.Outcome == custos.OutcomeDenied {
			out[ev.Reason]++
		}
	}
	return out
}

// TestDuplicateIdentityAnswersWithinScope_RC1: creating or editing with
// another customer's ID number is a conflict (one archive per customer),
// but the existing archive is named only to someone who may read it, and
// every such attempt is audited against the existing archive.
func TestDuplicateIdentityAnswersWithinScope_RC1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		in := apptest.Person("北京客户")
		held := f.Create(t, "am_bj01", in)
		probe := apptest.Person("上海试探")
		probe.IDNumber = in.IDNumber
		_, err := f.App.CreateCustomer(ctx, f.Actor("mgr_sh"), probe)
		if custos.ErrorCodeOf(err) != custos.EConflict || strings.Contains(err.Error(), held.ArchiveNo) || strings.Contains(custos.ErrorMessageOf(err).ZH, held.ArchiveNo) {
			t.Fatalf("a duplicate outside the actor's scope: %v", err)
		}
		_, err = f.App.CreateCustomer(ctx, f.Actor("am_bj01"), probe)
		if custos.ErrorCodeOf(err) != custos.EConflict || !strings.Contains(custos.ErrorMessageOf(err).ZH, held.ArchiveNo) {
			t.Fatalf("a duplicate the actor may read names the archive: %v", err)
		}
		// Editing a draft to another customer's identity is the same.
		mine := f.Create(t, "mgr_sh", apptest.Person("上海客户"))
		_, err = f.App.UpdateCustomer(ctx, f.Actor("mgr_sh"), mine.ID, 0, func(c *custos.CustomerInput) error {
			c.IDNumber, c.BirthDate, c.Sex = in.IDNumber, "", ""
			return nil
		})
		if custos.ErrorCodeOf(err) != custos.EConflict || strings.Contains(custos.ErrorMessageOf(err).ZH, held.ArchiveNo) {
			t.Fatalf("an edit to another customer's identity: %v", err)
		}
		if got := deniedReasons(t, f, string(custos.ActCustomerCreate))["duplicate_identity"] + deniedReasons(t, f, string(custos.ActCustomerUpdate))["duplicate_identity"]; got != 3 {
			t.Fatalf("audited duplicate refusals: %d, want 3", got)
		}
		evs, err := f.App.SearchAudit(ctx, f.Actor("auditor"), apptestQuery(held.ID, string(custos.ActCustomerCreate)))
		if err != nil || len(evs) < 3 { // the create, and two probes against it
			t.Fatalf("the probes are not filed against the existing archive: %v %d", err, len(evs))
		}
	})
}

// TestAccessRequestRevealsNothing_RC1: the requester's answer to an access
// request is the same whether or not the archive exists.
func TestAccessRequestRevealsNothing_RC1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		held := f.Create(t, "am_bj01", apptest.Person("存在的客户"))
		asker := f.Actor("am2_bj01")
		ask := func(no string) (*custos.Request, *app.RequestView) {
			r, err := f.App.RequestAccess(ctx, asker, app.AccessInput{ArchiveNo: no, Purpose: "service", Reason: "代客户办理", Duration: "24h"})
			if err != nil {
				t.Fatal(err)
			}
			v, err := f.App.Request(ctx, asker, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			return r, v
		}
		missing := strings.Replace(held.ArchiveNo, "000001", "999999", 1)
		r1, v1 := ask(held.ArchiveNo)
		r2, v2 := ask(missing)
		for _, c := range []struct {
			name   string
			r      *custos.Request
			v      *app.RequestView
			number string
		}{{"existing", r1, v1, held.ArchiveNo}, {"missing", r2, v2, missing}} {
			if c.r.CustomerID != "" || c.r.OrgID != 0 || c.r.SubjectID != c.number || c.v.CustomerID != "" || c.v.OrgID != 0 || c.v.ArchiveNo != c.number || c.v.Access != nil {
				t.Errorf("%s archive: the answer tells it apart: %+v / %+v", c.name, c.r, c.v)
			}
		}
		list, err := f.App.Requests(ctx, asker, custos.RequestFilter{Kind: custos.KindAccess})
		if err != nil || len(list) != 2 || list[0].CustomerID != "" || list[1].CustomerID != "" {
			t.Fatalf("the requester's list: %+v %v", list, err)
		}
		// Whoever decides sees which one exists.
		v, err := f.App.Request(ctx, f.Actor("gm"), r1.ID)
		if err != nil || v.CustomerID != held.ID || v.Access == nil {
			t.Fatalf("the approver's view: %+v %v", v, err)
		}
	})
}

// TestHandoverAndPaperWithinScope_RC1_RG1_RH1: a manager opens a handover
// only for staff of their own unit and below (the inventory names the
// leaver's customers); paper files are registered only for customers of the
// actor's unit, lent only to someone who may read the customer, and a
// protected customer's loan is approved in the customer's unit.
func TestHandoverAndPaperWithinScope_RC1_RG1_RH1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c := f.Create(t, "am_bj01", apptest.Person("交接客户"))
		_, err := f.App.StartHandover(ctx, f.Actor("mgr_sh"), app.HandoverInput{Leaver: "am_bj01", Supervisor: "mgr_sh", Successors: []string{"am2_bj01"}, Reason: "离职"})
		if custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("the Shanghai manager opened a Beijing handover: %v", err)
		}
		// Whoever opens it does not receive its customers, nor does its
		// supervisor, and customers go only to portfolio holders.
		for _, in := range []app.HandoverInput{
			{Leaver: "am_bj01", Supervisor: "gm", Successors: []string{"mgr_bj", "am2_bj01"}, Reason: "离职"},
			{Leaver: "am_bj01", Supervisor: "gm", Successors: []string{"inspector_bj"}, Reason: "离职"},
			{Leaver: "am_bj01", Supervisor: "am2_bj01", Successors: []string{"am2_bj01"}, Reason: "离职"},
		} {
			if _, err := f.App.StartHandover(ctx, f.Actor("mgr_bj"), in); custos.ErrorCodeOf(err) != custos.EInvalid {
				t.Fatalf("handover %+v: %v", in, err)
			}
		}
		h, err := f.App.StartHandover(ctx, f.Actor("mgr_bj"), app.HandoverInput{Leaver: "am_bj01", Supervisor: "mgr_bj", Successors: []string{"am2_bj01"}, Reason: "离职"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.App.Handover(ctx, f.Actor("mgr_sh"), h.ID); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("the Shanghai manager read a Beijing handover: %v", err)
		}
		if _, err := f.App.AssignHandover(ctx, f.Actor("mgr_sh"), h.ID, map[string]int64{c.ID: f.Users["am2_bj01"].ID}); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("the Shanghai manager reassigned a Beijing handover: %v", err)
		}
		if hs, err := f.App.Handovers(ctx, f.Actor("mgr_sh")); err != nil || len(hs) != 0 {
			t.Fatalf("the Shanghai manager lists Beijing handovers: %v %d", err, len(hs))
		}
		if hs, err := f.App.Handovers(ctx, f.Actor("mgr_bj")); err != nil || len(hs) != 1 {
			t.Fatalf("the Beijing manager's handovers: %v %d", err, len(hs))
		}
		r := deniedReasons(t, f, string(custos.ActHandoverManage))
		if r[custos.DenyAssigneeScope] != 1 || r[custos.DenyScope] != 2 {
			t.Fatalf("audited handover refusals: %v", r)
		}

		// Paper.
		sh := &custos.SecureLocation{Room: "上海档案室", Cabinet: "B-01", LockType: custos.LockKey, CustodianID: f.Users["mgr_sh"].ID, OrgID: f.Orgs["SH"].ID}
		if err := f.App.CreateLocation(ctx, f.Actor("mgr_sh"), sh); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.RegisterPaperFile(ctx, f.Actor("mgr_sh"), app.PaperInput{ArchiveNo: c.ArchiveNo, Title: "试探", LocationID: sh.ID}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("the Shanghai manager registered paper for a Beijing customer: %v", err)
		}
		if deniedReasons(t, f, string(custos.ActPaperManage))[custos.DenyScope] != 1 {
			t.Fatal("the paper probe is not audited")
		}
		cust := f.Actor("custodian")
		loc := &custos.SecureLocation{Room: "总行档案室", Cabinet: "S-1", LockType: custos.LockSafe, CustodianID: f.Users["custodian"].ID}
		if err := f.App.CreateLocation(ctx, cust, loc); err != nil {
			t.Fatal(err)
		}
		file, err := f.App.RegisterPaperFile(ctx, cust, app.PaperInput{ArchiveNo: c.ArchiveNo, Title: "开户资料", LocationID: loc.ID})
		if err != nil {
			t.Fatal(err)
		}
		due := apptest.Start.AddDate(0, 0, 3).Format(time.DateOnly)
		if _, _, err := f.App.LendPaperFile(ctx, cust, file.ID, app.LendInput{Borrower: "am2_bj01", Due: due, Reason: "查看"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a file lent to someone who may not read the customer: %v", err)
		}
		if _, _, err := f.App.LendPaperFile(ctx, cust, file.ID, app.LendInput{Borrower: "am_bj01", Due: due, Reason: "回访"}); err != nil {
			t.Fatalf("a file lent to the customer's account manager: %v", err)
		}
		p := apptest.Person("私行纸档")
		p.Sensitivity, p.ProtectedReason = custos.Protected, "private_banking"
		vip := f.Create(t, "am_bj01", p)
		vfile, err := f.App.RegisterPaperFile(ctx, cust, app.PaperInput{CustomerID: vip.ID, Title: "私行签约文件", LocationID: loc.ID})
		if err != nil {
			t.Fatal(err)
		}
		_, req, err := f.App.LendPaperFile(ctx, cust, vfile.ID, app.LendInput{Borrower: "am_bj01", Due: due, Reason: "续签"})
		if err != nil || req == nil || req.OrgID != vip.OrgID {
			t.Fatalf("a protected file's loan is decided in the customer's unit: %+v %v", req, err)
		}
	})
}

// TestClosureWithinScope_RF1: a closure is filed only for a customer of the
// actor's unit or below; another unit's answers exactly like a missing
// archive, so filing tells nobody whether an archive exists elsewhere.
func TestClosureWithinScope_RF1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		addUser(t, f, "comp_sh", custos.RoleCompliance, "SH")
		bj := f.Create(t, "am_bj01", apptest.Person("北京销户"))
		sh := f.Create(t, "mgr_sh", apptest.Person("上海销户"))
		in := app.CloseInput{Reason: "客户销户"}
		for _, no := range []string{bj.ArchiveNo, "BJ01-P-1999-999999"} {
			in.ArchiveNo = no
			if _, err := f.App.CloseRelationship(ctx, f.Actor("comp_sh"), "", in); !errors.Is(err, custos.ErrNotFound) {
				t.Fatalf("Shanghai compliance closes %s: %v", no, err)
			}
		}
		in.ArchiveNo = sh.ArchiveNo
		if req, err := f.App.CloseRelationship(ctx, f.Actor("comp_sh"), "", in); err != nil || req == nil {
			t.Fatalf("Shanghai compliance closes a Shanghai customer: %+v %v", req, err)
		}
	})
}
