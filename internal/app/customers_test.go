package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

var ctx = context.Background()

func fieldCodes(err error) map[string]string {
	var e *custos.Error
	if !errors.As(err, &e) {
		return nil
	}
	m := map[string]string{}
	for _, f := range e.Fields {
		m[f.Field] = f.Code
	}
	return m
}

func TestCreatePersonValidatesIdentity(t *testing.T) { // R-A2, R-A4
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		in := apptest.Person("张三")
		in.IDNumber = "11010519491231002X"
		in.Phone = "+86 138-0013-8000"
		c := f.Create(t, "am_bj01", in)
		if !strings.HasPrefix(c.ArchiveNo, "BJ01-P-"+apptest.Year(0)+"-") || len(c.ArchiveNo) != len("BJ01-P-2026-000001") {
			t.Errorf("archive number %q", c.ArchiveNo)
		}
		if c.Person.BirthDate != "1949-12-31" || c.Person.Sex != "F" {
			t.Errorf("birth date and sex not derived from the ID: %q %q", c.Person.BirthDate, c.Person.Sex)
		}
		if c.Person.Phones[0] != "13800138000" {
			t.Errorf("phone not normalised: %q", c.Person.Phones[0])
		}

		bad := apptest.Person("李四")
		bad.IDNumber = "110105194912310021"
		_, err := f.App.CreateCustomer(ctx, f.Actor("am_bj01"), bad)
		if custos.ErrorCodeOf(err) != custos.EInvalid || fieldCodes(err)["id_number"] != "invalid_checksum" {
			t.Fatalf("bad checksum: %v %v", err, fieldCodes(err))
		}

		dup := apptest.Person("张三")
		dup.IDNumber = "11010519491231002x"
		_, err = f.App.CreateCustomer(ctx, f.Actor("am_bj01"), dup)
		if custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("second archive for the same identity: %v", err)
		}

		_, err = f.App.CreateCustomer(ctx, f.Actor("am_bj01"), custos.CustomerInput{Type: custos.TypePerson, Email: "nope", Sex: "X", BirthDate: "2020-02-30"})
		codes := fieldCodes(err)
		for field, code := range map[string]string{"name": "required", "id_type": "required", "id_number": "required", "email": "invalid_format", "sex": "not_allowed", "birth_date": "invalid_date"} {
			if codes[field] != code {
				t.Errorf("field %s: code %q, want %q (all: %v)", field, codes[field], code, codes)
			}
		}
		n, _ := db.Reader().CountCustomers(ctx)
		if n != 1 {
			t.Fatalf("invalid input stored something: %d customers", n)
		}
	})
}

func TestCreateInstitutionValidatesUSCC(t *testing.T) { // R-A3, R-A4
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		in := apptest.Institution("北京某某科技有限公司")
		in.USCC = "91350100M000100Y43"
		c := f.Create(t, "mgr_bj", in)
		if c.Institution.USCC != "91350100M000100Y43" || !strings.Contains(c.ArchiveNo, "-I-") {
			t.Fatalf("%+v", c)
		}
		in = apptest.Institution("另一家公司")
		in.USCC = "91350100M000100Y44"
		in.LegalRepresentative.IDNumber = "110105194912310021"
		_, err := f.App.CreateCustomer(ctx, f.Actor("mgr_bj"), in)
		codes := fieldCodes(err)
		if codes["uscc"] != "invalid_checksum" || codes["legal_representative.id_number"] != "invalid_checksum" {
			t.Fatalf("codes %v", codes)
		}
	})
}

func TestCustomFieldsAndTaxonomiesValidated(t *testing.T) { // R-A7, R-A8
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		admin := f.Actor("admin")
		for _, d := range []custos.CustomFieldDef{
			{Category: "retail", Key: "family", LabelZH: "家庭情况", Type: custos.FieldText, Sensitive: true},
			{Category: "retail", Key: "income", LabelZH: "年收入", Type: custos.FieldNumber, Required: true},
			{Category: "retail", Key: "channel", LabelZH: "来源", Type: custos.FieldChoice, Choices: []string{"branch", "online"}},
		} {
			if err := f.App.PutCustomFieldDef(ctx, admin, &d); err != nil {
				t.Fatal(err)
			}
		}
		in := apptest.Person("王五")
		in.Custom = map[string]any{"channel": "fax", "bogus": 1}
		in.Classifications = map[string]string{"tier": "platinum", "aml_risk": "high"}
		_, err := f.App.CreateCustomer(ctx, f.Actor("am_bj01"), in)
		codes := fieldCodes(err)
		want := map[string]string{"custom.channel": "not_allowed", "custom.bogus": "unknown", "custom.income": "required",
			"classifications.tier": "not_allowed", "risk_reason": "required"}
		for k, v := range want {
			if codes[k] != v {
				t.Errorf("%s: %q want %q (%v)", k, codes[k], v, codes)
			}
		}
		in.Custom = map[string]any{"channel": "online", "income": 120000.5, "family": "已婚，两个孩子"}
		in.Classifications = map[string]string{"tier": "important", "aml_risk": "medium", "lifecycle": "new"}
		c := f.Create(t, "am_bj01", in)
		got, err := f.App.GetCustomer(ctx, f.Actor("am_bj01"), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Custom["income"] != 120000.5 || got.Custom["family"] == "已婚，两个孩子" || got.Classes["tier"] != "important" {
			t.Fatalf("custom %v classes %v", got.Custom, got.Classes)
		}
	})
}

func TestHighRiskCustomersAreProtectedByRule(t *testing.T) { // R-C2, R-A8
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		in := apptest.Person("赵六")
		in.Classifications = map[string]string{"aml_risk": "high"}
		in.RiskReason = "频繁大额现金交易"
		c := f.Create(t, "am_bj01", in)
		if c.Sensitivity != custos.Protected || c.ProtectedReason != "high_risk" {
			t.Fatalf("sensitivity %s %s", c.Sensitivity, c.ProtectedReason)
		}
		if _, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj"), c.ID); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("manager reads protected customer without grant: %v", err)
		}
		if _, err := f.App.GetCustomer(ctx, f.Actor("am_bj01"), c.ID); err != nil {
			t.Fatalf("owner cannot read own protected customer: %v", err)
		}
	})
}

func TestReadsAreMaskedAndRevealIsAudited(t *testing.T) { // R-C10, R-C5
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		in := apptest.Person("孙七")
		in.IDNumber = "11010519491231002X"
		in.Phone = "13800138000"
		in.Email = "sunqi@example.com"
		c := f.Create(t, "am_bj01", in)
		am := f.Actor("am_bj01")
		got, err := f.App.GetCustomer(ctx, am, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		p := got.Person
		if p.IDDocuments[0].Number != "110105********002X" || p.Phones[0] != "138****8000" || p.Email != "s***@example.com" || p.BirthDate != "1949-**-**" {
			t.Fatalf("not masked: %+v", p)
		}
		rev, err := f.App.RevealCustomer(ctx, am.WithPurpose("kyc"), c.ID, []string{"id_number"})
		if err != nil {
			t.Fatal(err)
		}
		if rev.Person.IDDocuments[0].Number != "11010519491231002X" || rev.Person.Phones[0] != "138****8000" {
			t.Fatalf("reveal: %+v", rev.Person)
		}
		if _, err := f.App.RevealCustomer(ctx, am, c.ID, []string{"password"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("unknown reveal field: %v", err)
		}
		// The butler is out of scope: 404, and inspectors may reveal within their unit.
		if _, err := f.App.RevealCustomer(ctx, f.Actor("butler_bj01"), c.ID, []string{"phone"}); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("butler reveal: %v", err)
		}
		evs, err := f.App.SearchAudit(ctx, f.Actor("auditor"), apptestQuery(c.ID, "customer.reveal"))
		if err != nil {
			t.Fatal(err)
		}
		var ok, denied int
		for _, e := range evs {
			switch e.Outcome {
			case custos.OutcomeOK:
				ok++
				if e.Purpose != "kyc" || !strings.Contains(e.Detail, "id_number") || strings.Contains(e.Detail, "11010519491231002X") {
					t.Errorf("reveal event %+v", e)
				}
			case custos.OutcomeDenied:
				denied++
			}
		}
		if ok != 1 || denied != 1 {
			t.Fatalf("reveal events ok=%d denied=%d: %+v", ok, denied, evs)
		}
	})
}

func TestReadWithoutPurposeIsRefused(t *testing.T) { // R-C6
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c := f.Create(t, "am_bj01", apptest.Person("周八"))
		_, err := f.App.GetCustomer(ctx, f.Actor("am_bj01").WithPurpose(""), c.ID)
		if custos.ErrorCodeOf(err) != custos.EPurposeRequired {
			t.Fatalf("no purpose: %v", err)
		}
		_, err = f.App.GetCustomer(ctx, f.Actor("am_bj01").WithPurpose("curiosity"), c.ID)
		if custos.ErrorCodeOf(err) != custos.EPurposeRequired {
			t.Fatalf("unknown purpose: %v", err)
		}
		_, err = f.App.SearchCustomers(ctx, f.Actor("am_bj01").WithPurpose(""), custos.CustomerFilter{})
		if custos.ErrorCodeOf(err) != custos.EPurposeRequired {
			t.Fatalf("search without purpose: %v", err)
		}
	})
}

func TestHiddenCustomerLooksMissing(t *testing.T) { // R-C1, upspin rule
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c := f.Create(t, "am_bj01", apptest.Person("吴九"))
		_, hidden := f.App.GetCustomer(ctx, f.Actor("mgr_sh"), c.ID)
		_, missing := f.App.GetCustomer(ctx, f.Actor("mgr_sh"), "0190f5a0-0000-7000-8000-000000000000")
		if !errors.Is(hidden, custos.ErrNotFound) || !errors.Is(missing, custos.ErrNotFound) || hidden.Error() != missing.Error() {
			t.Fatalf("hidden %v, missing %v", hidden, missing)
		}
	})
}

func TestSearchUsesBlindIndexesAndScope(t *testing.T) { // R-D1, R-C1
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		in := apptest.Person("郑十")
		in.IDNumber = "11010519491231002X"
		mine := f.Create(t, "am_bj01", in)
		f.Create(t, "am2_bj01", apptest.Person("郑十一"))
		co := apptest.Institution("上海外滩贸易有限公司")
		f.Create(t, "mgr_sh", co)

		am := f.Actor("am_bj01")
		page, err := f.App.SearchCustomers(ctx, am, custos.CustomerFilter{IDNumber: "11010519491231002x"})
		if err != nil || page.Total != 1 || page.Items[0].ID != mine.ID {
			t.Fatalf("by id number: %v %+v", err, page)
		}
		page, _ = f.App.SearchCustomers(ctx, am, custos.CustomerFilter{Name: "郑十"})
		if page.Total != 1 {
			t.Fatalf("exact person name: %d", page.Total)
		}
		page, _ = f.App.SearchCustomers(ctx, am, custos.CustomerFilter{})
		if page.Total != 1 {
			t.Fatalf("account manager sees %d customers, want only their own", page.Total)
		}
		page, _ = f.App.SearchCustomers(ctx, f.Actor("mgr_bj"), custos.CustomerFilter{})
		if page.Total != 2 {
			t.Fatalf("BJ manager sees %d, want 2", page.Total)
		}
		page, _ = f.App.SearchCustomers(ctx, f.Actor("gm"), custos.CustomerFilter{Name: "外滩"})
		if page.Total != 1 {
			t.Fatalf("institution substring: %d", page.Total)
		}
		page, _ = f.App.SearchCustomers(ctx, f.Actor("mgr_sh"), custos.CustomerFilter{IDNumber: "11010519491231002X"})
		if page.Total != 0 {
			t.Fatal("search returned a customer out of scope")
		}
		// An administrator finds nothing without a grant (R-C1).
		if page, err := f.App.SearchCustomers(ctx, f.Actor("admin"), custos.CustomerFilter{}); err != nil || page.Total != 0 {
			t.Fatalf("admin searching customers: %v %+v", err, page)
		}
	})
}

func TestUpdateKeepsHistoryInAudit(t *testing.T) { // R-B1 (audit side), R-C5
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c := f.Create(t, "am_bj01", apptest.Person("冯十二"))
		am := f.Actor("am_bj01")
		up, err := f.App.UpdateCustomer(ctx, am, c.ID, c.Version, func(in *custos.CustomerInput) error {
			in.Phone = "13912345678"
			in.Occupation = "教师"
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if up.Version != 2 || up.Person.Occupation != "教师" {
			t.Fatalf("%+v", up)
		}
		if _, err := f.App.UpdateCustomer(ctx, am, c.ID, 1, func(in *custos.CustomerInput) error { return nil }); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("stale version: %v", err)
		}
		page, _ := f.App.SearchCustomers(ctx, am, custos.CustomerFilter{Phone: "139 1234 5678"})
		if page.Total != 1 {
			t.Fatal("blind index not updated")
		}
		evs, _ := f.App.SearchAudit(ctx, f.Actor("auditor"), apptestQuery(c.ID, "customer.update"))
		if len(evs) != 1 || !strings.Contains(evs[0].Detail, `"phone"`) || strings.Contains(evs[0].Detail, "13912345678") {
			t.Fatalf("update events %+v", evs)
		}
	})
}
