package app_test

import (
	"errors"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// verify records a passed identity check by the Beijing inspector against a
// fresh ID scan.
func verify(t *testing.T, f *apptest.Fixture, owner string, c *custos.Customer) error {
	t.Helper()
	at, err := f.App.AddAttachment(ctx, f.Actor(owner), c.ID, custos.AttachIDScan, "id.png", "", []byte("\x89PNG scan"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.App.RecordVerification(ctx, f.Actor("inspector_bj").WithPurpose("kyc"), c.ID, app.VerificationInput{
		Method: custos.VerifyPublicSecurity, Passed: true, NameMatches: true, EvidenceIDs: []string{at.ID}})
	return err
}

// TestVerificationBoundToIdentity_RA5_RA10 is issue 12's second hole: after
// the inspector verified a draft, its account manager changed the name, ID
// number and birth date, the archive stayed "verified" and the manager's
// approval made the unverified identity effective. A verification is bound
// to the identity it checked; a change of that identity, on a draft or
// through an approved change of an effective archive, needs a new check
// before onboarding or new business.
func TestVerificationBoundToIdentity_RA5_RA10(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		am := f.Actor("am_bj01")
		c := f.Create(t, "am_bj01", apptest.Person("真实姓名"))
		if err := verify(t, f, "am_bj01", c); err != nil {
			t.Fatal(err)
		}
		other := idcard.GenerateResidentID("110105", time.Date(1990, 3, 4, 0, 0, 0, 0, time.UTC), 917, false)
		swapped, err := f.App.UpdateCustomer(ctx, am, c.ID, 0, func(in *custos.CustomerInput) error {
			in.Name, in.IDNumber, in.BirthDate, in.Sex = "冒名顶替", other, "", ""
			return nil
		})
		if err != nil {
			var ce *custos.Error
			errors.As(err, &ce)
			t.Fatalf("%v %+v", err, ce.Fields)
		}
		if swapped.Verification != custos.Unverified {
			t.Fatalf("the swapped identity kept the verification: %s", swapped.Verification)
		}
		req := onboardingRequest(t, f, c.ID)
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), req.ID, true, "同意"); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("the unverified identity was approved: %v", err)
		}
		// An edit of something else keeps the verification.
		if err := verify(t, f, "am_bj01", c); err != nil {
			t.Fatal(err)
		}
		kept, err := f.App.UpdateCustomer(ctx, am, c.ID, 0, func(in *custos.CustomerInput) error {
			in.Occupation = "教师"
			return nil
		})
		if err != nil || kept.Verification != custos.Verified {
			t.Fatalf("an edit outside the identity: %v %v", kept, err)
		}
		// Even if the state were set back by hand, the check's digest no
		// longer matches an identity changed behind it.
		if _, err := f.App.UpdateCustomer(ctx, am, c.ID, 0, func(in *custos.CustomerInput) error {
			in.Name = "再次冒名"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.Write(ctx, func(tx *sqlstore.Tx) error {
			return tx.SetCustomerState(ctx, c.ID, custos.StatusDraft, custos.Verified)
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), req.ID, true, "同意"); !errors.Is(err, custos.ErrIdentityStale) {
			t.Fatalf("a stale verification was accepted: %v", err)
		}
		// A new check of the current identity lets it through.
		if err := verify(t, f, "am_bj01", c); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), req.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		business := app.BusinessInput{Kind: custos.BusinessAccount, Reference: "6222020200112233445", Product: "借记卡", OpenedOn: apptest.Day(0)}
		if _, err := f.App.AddBusiness(ctx, am, c.ID, business); err != nil {
			t.Fatal(err)
		}

		// An effective archive's identity changes through maker-checker, and
		// the new identity needs a new check before new business.
		ch, err := f.App.ChangeCustomer(ctx, am, c.ID, 0, "客户改名", func(in *custos.CustomerInput) error {
			in.Name = "依法改名"
			return nil
		})
		if err != nil || ch.Request == nil {
			t.Fatalf("an identity change of an effective archive: %+v %v", ch, err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), ch.Request.ID, true, "证明材料齐全"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.AddBusiness(ctx, am, c.ID, business); !errors.Is(err, custos.ErrNotEligible) {
			t.Fatalf("business on an identity not yet verified again: %v", err)
		}
		if err := verify(t, f, "am_bj01", c); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.AddBusiness(ctx, am, c.ID, business); err != nil {
			t.Fatalf("business after the new verification: %v", err)
		}
	})
}

// TestExpiredIDRefusesNewBusiness_RA5: once the identity document has been
// expired for longer than the grace period (30 days by default), new
// business is refused until the document is renewed; within it, allowed.
func TestExpiredIDRefusesNewBusiness_RA5(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		in := apptest.Person("证件将过期")
		in.IDExpiry = apptest.Day(10)
		c := f.Create(t, "am_bj01", in)
		onboard(t, f, c, "inspector_bj", "mgr_bj")
		am := f.Actor("am_bj01")
		business := app.BusinessInput{Kind: custos.BusinessLoan, Reference: "LN-1", Product: "消费贷", OpenedOn: apptest.Day(0)}
		f.Clock.Set(apptest.Start.AddDate(0, 0, 10+29))
		if _, err := f.App.AddBusiness(ctx, am, c.ID, business); err != nil {
			t.Fatalf("business within the grace period: %v", err)
		}
		f.Clock.Set(apptest.Start.AddDate(0, 0, 10+32))
		if _, err := f.App.AddBusiness(ctx, am, c.ID, business); !errors.Is(err, custos.ErrIDDocumentExpired) {
			t.Fatalf("business past the grace period: %v", err)
		}
		evs, err := f.App.SearchAudit(ctx, f.Actor("auditor"), apptestQuery(c.ID, string(custos.ActCustomerBusiness)))
		if err != nil || len(evs) == 0 || evs[0].Reason != "id_document_expired" {
			t.Fatalf("the refusal is not audited: %v %+v", err, evs)
		}
	})
}
