package app_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// Names that look like one thing and are another: a right-to-left override
// that shows "张三ABC" as "张三CBA", an isolate, a mark, a NUL that ends
// the string in C code, a C1 control, and bytes that are not UTF-8.
var dirtyNames = map[string]string{
	"override": "张三\u202eCBA",
	"isolate":  "张\u2066三",
	"rlm":      "张三\u200f",
	"alm":      "张三\u061c",
	"nul":      "张\x00三",
	"c1":       "张\u0085三",
	"newline":  "张三\n李四",
	"invalid":  "张\xff三",
}

func wantCode(name string) string {
	if name == "invalid" {
		return custos.CodeInvalidEncoding
	}
	return custos.CodeControlChar
}

func TestNamesRefuseControlAndInvalidText_RA2_RA3_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		am, mgr, admin := f.Actor("am_bj01"), f.Actor("mgr_bj"), f.Actor("admin")
		before, _ := db.Reader().CountCustomers(ctx)
		for kind, name := range dirtyNames {
			want := wantCode(kind)
			p := apptest.Person(name)
			_, err := f.App.CreateCustomer(ctx, am, p)
			if got := fieldCodes(err)["name"]; got != want {
				t.Errorf("%s: person name code %q, want %q (%v)", kind, got, want, err)
			}
			if msg := fieldMessage(err, "name"); msg.ZH == "" || msg.EN == "" || msg.ZH == msg.EN {
				t.Errorf("%s: the field error needs a zh-CN and an English message: %+v", kind, msg)
			}

			inst := apptest.Institution("北京某某科技有限公司")
			inst.LegalRepresentative.Name = name
			inst.BeneficialOwners = []custos.Party{{Name: "受益人"}, {Name: name}}
			inst.Agents = []custos.Party{{Name: name}}
			inst.ContactName = name
			_, err = f.App.CreateCustomer(ctx, mgr, inst)
			codes := fieldCodes(err)
			for _, field := range []string{"legal_representative.name", "beneficial_owners[1].name", "agents[0].name", "contact_name"} {
				if codes[field] != want {
					t.Errorf("%s: %s code %q, want %q (all %v)", kind, field, codes[field], want, codes)
				}
			}
			if codes["beneficial_owners[0].name"] != "" {
				t.Errorf("%s: a clean beneficial owner is refused: %v", kind, codes)
			}

			_, _, err = f.App.CreateUser(ctx, admin, app.NewUser{Username: "clerk_" + kind, DisplayName: name, Org: "BJ01", Role: custos.RoleAccountManager, Password: "Zhang-San-2026!x"})
			if got := fieldCodes(err)["display_name"]; got != want {
				t.Errorf("%s: user display name code %q, want %q (%v)", kind, got, want, err)
			}
			err = f.App.CreateOrg(ctx, admin, &custos.Org{Code: "X" + kind[:2], Name: name, Kind: custos.SubBranch, ParentID: f.Orgs["BJ"].ID})
			if got := fieldCodes(err)["name"]; got != want {
				t.Errorf("%s: org name code %q, want %q (%v)", kind, got, want, err)
			}
		}
		if n, _ := db.Reader().CountCustomers(ctx); n != before {
			t.Fatalf("refused names stored %d customers", n-before)
		}

		// A change goes through the same rule.
		c := f.Create(t, "am_bj01", apptest.Person("王五"))
		_, err := f.App.UpdateCustomer(ctx, am, c.ID, c.Version, func(in *custos.CustomerInput) error {
			in.Name = dirtyNames["override"]
			return nil
		})
		if got := fieldCodes(err)["name"]; got != custos.CodeControlChar {
			t.Errorf("update: name code %q (%v)", got, err)
		}
		// Free text keeps its line breaks but refuses the rest.
		_, err = f.App.UpdateCustomer(ctx, am, c.ID, c.Version, func(in *custos.CustomerInput) error {
			in.Address = "北京市\n朝阳区"
			in.Occupation = "教师\u202e"
			return nil
		})
		if codes := fieldCodes(err); codes["occupation"] != custos.CodeControlChar || codes["address"] != "" {
			t.Errorf("update: codes %v", codes)
		}
		// Clean names with spaces and middle dots (as in 维吾尔族 names) stay fine.
		f.Create(t, "am_bj01", apptest.Person("阿不都·热合曼"))
		f.Create(t, "am_bj01", apptest.Person("John Smith"))
	})
}

func TestCounterpartyNamesRefuseControlAndInvalidText_RE1_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTxnWorld(t, db)
		for kind, name := range dirtyNames {
			in := txnIn("N-"+kind, "6222020200110000001", w.at(1), "10.00")
			in.CounterpartyName = name
			_, _, err := w.f.App.RecordTransaction(ctx, w.f.Actor("am_bj01"), w.c1.ID, in)
			if got := fieldCodes(err)["counterparty_name"]; got != wantCode(kind) {
				t.Errorf("%s: counterparty name code %q, want %q (%v)", kind, got, wantCode(kind), err)
			}
		}
		// The file import refuses the same rows by line and keeps the good ones.
		var csv bytes.Buffer
		csv.WriteString("reference,customer_id,account,time,amount,currency,direction,type,channel,counterparty_name\n")
		csv.WriteString("G1," + w.c1.ID + ",6222020200110000001," + w.at(2) + ",1.00,CNY,debit,transfer,online,房东\n")
		csv.WriteString("B2," + w.c1.ID + ",6222020200110000001," + w.at(2) + ",1.00,CNY,debit,transfer,online,房\u202e东\n")
		csv.WriteString("B3," + w.c1.ID + ",6222020200110000001," + w.at(2) + ",1.00,CNY,debit,transfer,online,房\xff东\n")
		csv.WriteString("G4," + w.c1.ID + ",6222020200110000001," + w.at(2) + ",1.00,CNY,debit,transfer,online,房东\n")
		rep, err := w.f.App.ImportTransactions(ctx, w.f.Actor("am_bj01"), &csv, app.TxnImportOptions{Format: "csv"})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Imported != 2 || rep.Failed != 2 || len(rep.Errors) != 2 {
			t.Fatalf("report %+v", rep)
		}
		if e := rep.Errors[0]; e.Line != 3 || e.Code != custos.CodeControlChar {
			t.Errorf("first error %+v", e)
		}
		if e := rep.Errors[1]; e.Line != 4 || e.Code != custos.CodeInvalidEncoding {
			t.Errorf("second error %+v", e)
		}

		jl := `{"reference":"J1","customer_id":"` + w.c1.ID + `","account":"6222020200110000001","time":"` + w.at(3) + `","amount":"1.00","currency":"CNY","direction":"debit","type":"transfer","channel":"online","counterparty_name":"房东"}` + "\n" +
			`{"reference":"J2","customer_id":"` + w.c1.ID + `","account":"6222020200110000001","time":"` + w.at(3) + `","amount":"1.00","currency":"CNY","direction":"debit","type":"transfer","channel":"online","counterparty_name":"房` + "\xff" + `东"}` + "\n" +
			`{"reference":"J3","customer_id":"` + w.c1.ID + `","account":"6222020200110000001","time":"` + w.at(3) + `","amount":"1.00","currency":"CNY","direction":"debit","type":"transfer","channel":"online","counterparty_name":"房\ud800东"}` + "\n"
		rep, err = w.f.App.ImportTransactions(ctx, w.f.Actor("am_bj01"), strings.NewReader(jl), app.TxnImportOptions{Format: "jsonl"})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Imported != 1 || rep.Failed != 2 || len(rep.Errors) != 2 || rep.Errors[0].Line != 2 || rep.Errors[0].Code != custos.CodeInvalidEncoding || rep.Errors[1].Line != 3 || rep.Errors[1].Code != custos.CodeInvalidEncoding {
			t.Fatalf("JSON Lines report %+v", rep)
		}
	})
}

func TestPortalCorrectionRefusesControlText_RB5_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newPortalWorld(t, db)
		_, me := w.login(t)
		_, err := w.f.App.PortalRequestCorrection(ctx, me, app.CorrectionInput{Employer: "某某\u202e公司", Note: "单位变更"})
		if got := fieldCodes(err)["employer"]; got != custos.CodeControlChar {
			t.Errorf("employer code %q (%v)", got, err)
		}
		_, err = w.f.App.PortalRequestCorrection(ctx, me, app.CorrectionInput{Occupation: "教师", Note: "职业\x00变更"})
		if got := fieldCodes(err)["note"]; got != custos.CodeControlChar {
			t.Errorf("note code %q (%v)", got, err)
		}
		if reqs, err := w.f.App.PortalRequests(ctx, me); err != nil || len(reqs) != 0 {
			t.Fatalf("refused corrections were filed: %d %v", len(reqs), err)
		}
	})
}

func fieldMessage(err error, field string) custos.Message {
	var e *custos.Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			if f.Field == field {
				return f.Message
			}
		}
	}
	return custos.Message{}
}

// TestTxnImportCSVAfterBrokenQuote_RE1: a transaction file whose row 3
// opens a quote it never closes: row 3 is reported by its line and rows 4
// to 6 are imported (encoding/csv took them into row 3's field).
func TestTxnImportCSVAfterBrokenQuote_RE1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTxnWorld(t, db)
		row := func(ref, remarks string) string {
			return ref + "," + w.c1.ID + ",6222020200110000001," + w.at(2) + ",1.00,CNY,debit,transfer,online," + remarks + "\n"
		}
		data := "reference,customer_id,account,time,amount,currency,direction,type,channel,remarks\n" +
			row("Q2", "房租") + row("Q3", `"房租`) + row("Q4", `"房租,水电"`) + row("Q5", "房租") + row("Q6", "房租")
		rep, err := w.f.App.ImportTransactions(ctx, w.f.Actor("am_bj01"), strings.NewReader(data), app.TxnImportOptions{Format: "csv"})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Imported != 4 || rep.Failed != 1 || len(rep.Errors) != 1 || rep.Errors[0].Line != 3 || rep.Errors[0].Code != app.CodeInvalidCSV {
			t.Fatalf("report %+v", rep)
		}
		page, err := w.f.App.SearchTransactions(ctx, w.f.Actor("am_bj01"), custos.TxnFilter{CustomerID: w.c1.ID})
		if err != nil {
			t.Fatal(err)
		}
		refs := map[string]string{}
		for _, tx := range page.Items {
			refs[tx.Reference] = tx.Remarks
		}
		if len(refs) != 4 || refs["Q4"] != "房租,水电" || refs["Q6"] != "房租" || refs["Q3"] != "" {
			t.Fatalf("stored %v", refs)
		}
	})
}
