package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// txnWorld is a fixture with onboarded (effective, verified) customers:
// two of am_bj01's, one of am2_bj01's, and a protected (private banking)
// one of am_bj01's. The clock then moves a day on, so that transactions
// between the verification and now pass the real-name rule (R-E6).
type txnWorld struct {
	f                     *apptest.Fixture
	c1, c2, other, vip    *custos.Customer
	verifiedAt, recording time.Time
}

func newTxnWorld(t *testing.T, db *sqlstore.DB) *txnWorld {
	t.Helper()
	f := apptest.New(t, db)
	w := &txnWorld{f: f, verifiedAt: f.Clock.Now()}
	w.c1 = f.Create(t, "am_bj01", apptest.Person("交易一"))
	w.c2 = f.Create(t, "am_bj01", apptest.Person("交易二"))
	w.other = f.Create(t, "am2_bj01", apptest.Person("交易三"))
	vip := apptest.Person("交易贵宾")
	vip.Category = "private_banking"
	w.vip = f.Create(t, "am_bj01", vip)
	onboard(t, f, w.c1, "inspector_bj", "mgr_bj")
	onboard(t, f, w.c2, "inspector_bj", "mgr_bj")
	onboard(t, f, w.other, "inspector_bj", "mgr_bj")
	onboard(t, f, w.vip, "inspector_bj", "mgr_bj")
	f.Clock.Advance(24 * time.Hour)
	w.recording = f.Clock.Now()
	return w
}

// at is a transaction time h hours after the verification, as the CSV writes it (CST).
func (w *txnWorld) at(h float64) string {
	return w.verifiedAt.Add(time.Duration(h * float64(time.Hour))).In(custos.TxnZone).Format("2006-01-02 15:04:05")
}

func txnIn(ref, account, when, amount string) custos.TransactionInput {
	return custos.TransactionInput{Source: "core", Reference: ref, Account: account, Time: when, Amount: custos.AmountText(amount),
		Currency: "CNY", Direction: "debit", Type: "transfer", Channel: "online"}
}

func mustRecord(t *testing.T, w *txnWorld, user string, c *custos.Customer, in custos.TransactionInput) *custos.Transaction {
	t.Helper()
	tx, created, err := w.f.App.RecordTransaction(ctx, w.f.Actor(user), c.ID, in)
	if err != nil || !created {
		t.Fatalf("record %s: %v (created %v)", in.Reference, err, created)
	}
	return tx
}

func search(t *testing.T, w *txnWorld, user string, f custos.TxnFilter) *custos.TxnPage {
	t.Helper()
	p, err := w.f.App.SearchTransactions(ctx, w.f.Actor(user), f)
	if err != nil {
		t.Fatalf("search %+v as %s: %v", f, user, err)
	}
	return p
}

func refsOf(p *custos.TxnPage) []string {
	var out []string
	for _, t := range p.Items {
		out = append(out, t.Reference)
	}
	return out
}

func TestRecordAndSearchTransactions_RE1_RE2(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTxnWorld(t, db)
		acc1, acc2 := "6222020200110000001", "6222020200110000002"
		type rec struct {
			c                 *custos.Customer
			ref, acc, h, amt  string
			dir, typ, channel string
			cpName, cpAcc     string
			cpBank, currency  string
		}
		recs := []rec{
			{w.c1, "T001", acc1, "1", "100.00", "debit", "transfer", "online", "房东王五", "6217000000000001", "中国建设银行", "CNY"},
			{w.c1, "T002", acc1, "2", "2500.50", "credit", "salary", "batch", "某某科技有限公司", "6217000000000099", "中国工商银行", "CNY"},
			{w.c1, "T003", acc2, "3", "30.05", "debit", "payment", "pos", "", "", "", "CNY"},
			{w.c1, "T004", acc2, "4", "99.99", "debit", "fx", "counter", "房东王五", "6217000000000001", "中国建设银行", "USD"},
			{w.c2, "T005", "6222020200110000005", "5", "700.00", "debit", "transfer", "mobile", "房东王五", "6217000000000001", "中国建设银行", "CNY"},
		}
		for _, r := range recs {
			in := txnIn(r.ref, r.acc, w.at(mustFloat(r.h)), r.amt)
			in.Direction, in.Type, in.Channel, in.Currency = r.dir, r.typ, r.channel, r.currency
			in.CounterpartyName, in.CounterpartyAccount, in.CounterpartyBank = r.cpName, r.cpAcc, r.cpBank
			in.Purpose, in.Remarks = "日常", "备注"+r.ref
			got := mustRecord(t, w, "am_bj01", r.c, in)
			if got.ID == "" || got.Account == r.acc || !strings.HasSuffix(got.Account, r.acc[len(r.acc)-4:]) || got.Amount.String() != r.amt {
				t.Fatalf("recorded %+v", got)
			}
		}
		// Recording the same transaction again changes nothing (idempotent on source and reference).
		again := txnIn("T001", acc1, w.at(1), "100.00")
		if _, created, err := w.f.App.RecordTransaction(ctx, w.f.Actor("am_bj01"), w.c1.ID, again); err != nil || created {
			t.Fatalf("second record: %v created=%v", err, created)
		}

		for _, tc := range []struct {
			name string
			f    custos.TxnFilter
			want []string
		}{
			{"one customer, newest first", custos.TxnFilter{CustomerID: w.c1.ID}, []string{"T004", "T003", "T002", "T001"}},
			{"oldest first", custos.TxnFilter{CustomerID: w.c1.ID, Sort: "time"}, []string{"T001", "T002", "T003", "T004"}},
			{"by amount", custos.TxnFilter{CustomerID: w.c1.ID, Sort: "-amount"}, []string{"T002", "T001", "T004", "T003"}},
			{"by account", custos.TxnFilter{CustomerID: w.c1.ID, Account: "6222 0202 0011 0000 002"}, []string{"T004", "T003"}},
			{"by account across customers", custos.TxnFilter{Account: acc1}, []string{"T002", "T001"}},
			{"date range", custos.TxnFilter{From: parseCST(t, w.at(2)), To: parseCST(t, w.at(4))}, []string{"T003", "T002"}},
			{"amount range", custos.TxnFilter{MinAmount: amt("50"), MaxAmount: amt("700")}, []string{"T005", "T004", "T001"}},
			{"counterparty account", custos.TxnFilter{CounterpartyAccount: "6217000000000001"}, []string{"T005", "T004", "T001"}},
			{"counterparty name", custos.TxnFilter{CounterpartyName: "房东王五", CustomerID: w.c2.ID}, []string{"T005"}},
			{"counterparty bank", custos.TxnFilter{CounterpartyBank: "中国工商银行"}, []string{"T002"}},
			{"type", custos.TxnFilter{Type: "payment"}, []string{"T003"}},
			{"channel", custos.TxnFilter{Channel: "mobile"}, []string{"T005"}},
			{"currency and direction", custos.TxnFilter{Currency: "cny", Direction: custos.Credit}, []string{"T002"}},
		} {
			p := search(t, w, "am_bj01", tc.f)
			if got := refsOf(p); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}

		// Totals per currency over all matches; decrypted fields masked but for purpose and remarks.
		p := search(t, w, "am_bj01", custos.TxnFilter{CustomerID: w.c1.ID})
		if len(p.Totals) != 2 || p.Totals[0] != (custos.TxnTotal{Currency: "CNY", Count: 3, Debit: "130.05", Credit: "2500.50"}) ||
			p.Totals[1] != (custos.TxnTotal{Currency: "USD", Count: 1, Debit: "99.99", Credit: "0.00"}) {
			t.Fatalf("totals %+v", p.Totals)
		}
		t1 := p.Items[3]
		if t1.Counterparty.Name != "房***" || t1.Counterparty.Account != "621700******0001" || t1.Remarks != "备注T001" ||
			t1.Purpose != "日常" || t1.RecordedBy != w.f.Users["am_bj01"].ID || t1.CustomerID != w.c1.ID || t1.LargeValue {
			t.Fatalf("item %+v", t1)
		}

		// Cursor paging walks every record once, in order.
		var walked []string
		f := custos.TxnFilter{Limit: 2, Sort: "-amount"}
		for i := 0; ; i++ {
			p := search(t, w, "am_bj01", f)
			walked = append(walked, refsOf(p)...)
			if i > 0 && (p.Totals != nil) {
				t.Fatal("totals on a later page")
			}
			if p.NextCursor == "" {
				break
			}
			f.Cursor = p.NextCursor
		}
		if !slices.Equal(walked, []string{"T002", "T005", "T001", "T004", "T003"}) {
			t.Fatalf("paging: %v", walked)
		}
		// A cursor of another sort, a bad sort, a bad range are invalid.
		for _, bad := range []custos.TxnFilter{{Cursor: f.Cursor, Sort: "time"}, {Sort: "name"}, {Limit: 5000},
			{From: parseCST(t, w.at(4)), To: parseCST(t, w.at(2))}} {
			if _, err := w.f.App.SearchTransactions(ctx, w.f.Actor("am_bj01"), bad); custos.ErrorCodeOf(err) != custos.EInvalid {
				t.Errorf("filter %+v: %v", bad, err)
			}
		}
		// Reads state a purpose (R-C6).
		if _, err := w.f.App.SearchTransactions(ctx, w.f.Actor("am_bj01").WithPurpose(""), custos.TxnFilter{}); custos.ErrorCodeOf(err) != custos.EPurposeRequired {
			t.Fatalf("no purpose: %v", err)
		}
	})
}

func mustFloat(s string) float64 {
	var f float64
	fmt.Sscan(s, &f)
	return f
}

func amt(s string) custos.Amount {
	a, err := custos.ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

func parseCST(t *testing.T, s string) time.Time {
	tm, ok := custos.ParseTxnTime(s)
	if !ok {
		t.Fatalf("time %q", s)
	}
	return tm
}

// txnCSV renders rows under the specification's header.
func txnCSV(rows ...[]string) string {
	var b strings.Builder
	b.WriteString(strings.Join(custos.TxnCSVHeader, ",") + "\n")
	for _, r := range rows {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	return b.String()
}

func TestImportTransactions_RE1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTxnWorld(t, db)
		idNumber := w.c2.Person.IDDocuments[0].Number
		csvData := txnCSV(
			[]string{"I001", w.c1.ArchiveNo, "6222020200110000001", w.at(1), "10.00", "CNY", "debit", "transfer", "online", "王五", "6217000000000001", "建设银行", "房租"},
			[]string{"I002", idNumber, "6222020200110000005", w.at(2), "20.00", "CNY", "credit", "salary", "batch", "", "", "", ""},
			[]string{"I003", w.c1.ArchiveNo, "6222020200110000001", w.at(3), "-5", "CNY", "debit", "transfer", "online", "", "", "", ""},         // line 4: bad amount
			[]string{"I004", "BJ01-P-2026-999999", "6222020200110000001", w.at(4), "5.00", "CNY", "debit", "transfer", "online", "", "", "", ""}, // line 5: unknown customer
			[]string{"I005", w.other.ArchiveNo, "6222020200110000009", w.at(5), "5.00", "CNY", "debit", "transfer", "online", "", "", "", ""},    // line 6: not am_bj01's
			[]string{"I006", w.c1.ArchiveNo, "6222020200110000001", w.at(6), "5.00", "CNY", "sideways", "transfer", "online", "", "", "", ""},    // line 7: bad direction
			[]string{"I007", w.c1.ArchiveNo, "6222020200110000001", w.at(7), "60000.00", "CNY", "debit", "transfer", "online", "", "", "", ""},   // large, verified recently: fine
			[]string{"I008", w.c1.ArchiveNo, "6222020200110000001", w.at(8), "7.00", "CNY", "debit", "transfer", "online", "", "", ""},           // line 9: 12 fields
		)
		var progress []app.TxnProgress
		rep, err := w.f.App.ImportTransactions(ctx, w.f.Actor("am_bj01"), strings.NewReader(csvData), app.TxnImportOptions{
			Source: "core", BatchSize: 2, Progress: func(p app.TxnProgress) { progress = append(progress, p) }})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Imported != 3 || rep.Duplicates != 0 || rep.Failed != 5 || rep.Rows != 8 || rep.Format != "csv" || rep.Source != "core" {
			t.Fatalf("report %+v", rep)
		}
		lines := map[int]string{}
		for _, e := range rep.Errors {
			lines[e.Line] = e.Field + "/" + e.Code
			if e.Message.ZH == "" || e.Message.EN == "" {
				t.Errorf("line %d: message %+v", e.Line, e.Message)
			}
		}
		want := map[int]string{4: "amount/invalid_format", 5: "customer/unknown", 6: "customer/unknown", 7: "direction/not_allowed", 9: "/field_count"}
		if fmt.Sprint(lines) != fmt.Sprint(want) {
			t.Fatalf("errors by line: %v, want %v", lines, want)
		}
		if len(progress) == 0 || progress[len(progress)-1].Rows != 8 || progress[len(progress)-1].Imported != 3 || progress[len(progress)-1].BytesRead != int64(len(csvData)) {
			t.Fatalf("progress %+v", progress)
		}
		// Importing the same file again adds nothing.
		rep2, err := w.f.App.ImportTransactions(ctx, w.f.Actor("am_bj01"), strings.NewReader(csvData), app.TxnImportOptions{Source: "core"})
		if err != nil || rep2.Imported != 0 || rep2.Duplicates != 3 || rep2.Failed != 5 {
			t.Fatalf("second import: %+v %v", rep2, err)
		}
		p := search(t, w, "am_bj01", custos.TxnFilter{})
		if got := refsOf(p); !slices.Equal(got, []string{"I002", "I001"}) || p.Withheld != 1 { // I007 is large-value (R-E4)
			t.Fatalf("stored: %v, withheld %d", got, p.Withheld)
		}
		if p := search(t, w, "gm", custos.TxnFilter{}); !slices.Equal(refsOf(p), []string{"I007", "I002", "I001"}) {
			t.Fatalf("stored, as gm: %v", refsOf(p))
		}

		// JSON Lines, with the fields CSV lacks; a broken line is an error of its line only.
		jsonl := fmt.Sprintf(`{"reference":"J001","customer_id":%q,"account":"6222020200110000001","time":%q,"amount":12.5,"currency":"CNY","direction":"credit","type":"refund","channel":"online","purpose":"退款"}
not json
{"reference":"J002","customer":%q,"account":"6222020200110000001","time":%q,"amount":"1","currency":"CNY","direction":"debit","type":"fee","channel":"counter","colour":"red"}

{"reference":"J003","customer":%q,"account":"6222020200110000001","time":%q,"amount":"3","currency":"CNY","direction":"debit","type":"fee","channel":"counter"}
`, w.c1.ID, w.at(9), w.c1.ArchiveNo, w.at(10), w.c1.ArchiveNo, w.at(11))
		rep3, err := w.f.App.ImportTransactions(ctx, w.f.Actor("am_bj01"), strings.NewReader(jsonl), app.TxnImportOptions{Source: "app"})
		if err != nil || rep3.Format != "jsonl" || rep3.Imported != 2 || rep3.Failed != 2 {
			t.Fatalf("jsonl: %+v %v", rep3, err)
		}
		if rep3.Errors[0].Line != 2 || rep3.Errors[0].Code != app.CodeInvalidJSON || rep3.Errors[1].Line != 3 || rep3.Errors[1].Field != "colour" {
			t.Fatalf("jsonl errors %+v", rep3.Errors)
		}

		// A header with an unknown or a missing column imports nothing.
		for _, bad := range []string{"reference,customer,account,time,amount,currency,direction,type,channel,colour\n",
			"reference,account,time,amount,currency,direction,type,channel\n"} {
			_, err := w.f.App.ImportTransactions(ctx, w.f.Actor("am_bj01"), strings.NewReader(bad), app.TxnImportOptions{})
			if custos.ErrorCodeOf(err) != custos.EInvalid {
				t.Errorf("header %q: %v", bad, err)
			}
		}
		// Someone who may record for no customer is refused outright.
		if _, err := w.f.App.ImportTransactions(ctx, w.f.Actor("auditor"), strings.NewReader(csvData), app.TxnImportOptions{}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("auditor import: %v", err)
		}
	})
}

func TestImportTransactionsCancelled(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTxnWorld(t, db)
		var rows [][]string
		for i := 0; i < 500; i++ {
			rows = append(rows, []string{fmt.Sprintf("C%04d", i), w.c1.ArchiveNo, "6222020200110000001", w.at(float64(i) / 100), "1.00", "CNY", "debit", "fee", "online", "", "", "", ""})
		}
		data := txnCSV(rows...)
		cctx, cancel := context.WithCancel(ctx)
		rep, err := w.f.App.ImportTransactions(cctx, w.f.Actor("am_bj01"), strings.NewReader(data), app.TxnImportOptions{BatchSize: 100,
			Progress: func(p app.TxnProgress) {
				if p.Imported >= 100 {
					cancel()
				}
			}})
		if !errors.Is(err, context.Canceled) || rep.Imported < 100 || rep.Imported >= 500 || rep.Imported%100 != 0 {
			t.Fatalf("cancelled import: %+v %v", rep, err)
		}
		// The report matches the store, and running the file again completes it.
		p := search(t, w, "am_bj01", custos.TxnFilter{CustomerID: w.c1.ID, Limit: 1000})
		if len(p.Items) != rep.Imported {
			t.Fatalf("stored %d, reported %d", len(p.Items), rep.Imported)
		}
		rep2, err := w.f.App.ImportTransactions(ctx, w.f.Actor("am_bj01"), strings.NewReader(data), app.TxnImportOptions{})
		if err != nil || rep2.Imported != 500-rep.Imported || rep2.Duplicates != rep.Imported {
			t.Fatalf("rerun: %+v %v", rep2, err)
		}
	})
}

func TestTransactionPermissions_RE4_RC1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTxnWorld(t, db)
		mustRecord(t, w, "am_bj01", w.c1, txnIn("P001", "6222020200110000001", w.at(1), "100.00"))
		mustRecord(t, w, "am_bj01", w.c1, txnIn("P002", "6222020200110000001", w.at(2), "80000.00")) // large value
		mustRecord(t, w, "am2_bj01", w.other, txnIn("P003", "6222020200110000003", w.at(3), "300.00"))
		mustRecord(t, w, "am_bj01", w.vip, txnIn("P004", "6222020200110000004", w.at(4), "400.00")) // protected customer
		mustRecord(t, w, "gm", w.other, txnIn("P005", "6222020200110000003", w.at(5), "90000.00"))  // large, another's customer

		for _, tc := range []struct {
			user     string
			f        custos.TxnFilter
			want     []string
			withheld int
		}{
			// An account manager sees only their customers' records, and no large-value ones.
			{"am_bj01", custos.TxnFilter{}, []string{"P001"}, 2},
			{"am2_bj01", custos.TxnFilter{}, []string{"P003"}, 1},
			{"am_bj01", custos.TxnFilter{CustomerID: w.vip.ID}, nil, 1},
			// The manager of the branch sees every normal customer's records, not large-value ones.
			{"mgr_bj", custos.TxnFilter{}, []string{"P003", "P001"}, 2},
			// The general manager also sees large-value records of normal customers.
			{"gm", custos.TxnFilter{}, []string{"P005", "P003", "P002", "P001"}, 0},
			// Compliance (read and protected over the whole bank) likewise; the protected customer needs a grant.
			{"compliance", custos.TxnFilter{}, []string{"P005", "P003", "P002", "P001"}, 0},
			{"compliance", custos.TxnFilter{Account: "6222020200110000004"}, nil, 0},
		} {
			p := search(t, w, tc.user, tc.f)
			if got := refsOf(p); !slices.Equal(got, tc.want) || p.Withheld != tc.withheld || (tc.withheld > 0) != (p.Notice != nil) {
				t.Errorf("%s %+v: %v withheld %d, want %v withheld %d", tc.user, tc.f, got, p.Withheld, tc.want, tc.withheld)
			}
		}
		// A customer the reader may not see answers 404, like a missing one.
		for _, tc := range []struct{ user, id string }{{"am2_bj01", w.c1.ID}, {"mgr_sh", w.c1.ID}, {"compliance", w.vip.ID}, {"am_bj01", "no-such-customer"}} {
			_, err := w.f.App.SearchTransactions(ctx, w.f.Actor(tc.user), custos.TxnFilter{CustomerID: tc.id})
			if !errors.Is(err, custos.ErrNotFound) {
				t.Errorf("%s reading %s: %v, want not found", tc.user, tc.id, err)
			}
		}
		// Roles without the permission find nothing (only a grant would open a customer to them).
		for _, user := range []string{"butler_bj01", "auditor", "custodian", "inspector_bj"} {
			if p, err := w.f.App.SearchTransactions(ctx, w.f.Actor(user), custos.TxnFilter{}); err != nil || len(p.Items) != 0 || p.Withheld != 0 {
				t.Errorf("%s: %v %v", user, p, err)
			}
		}
		// A grant of the protected permission opens the large-value records to the account manager.
		if _, err := w.f.App.CreateGrant(ctx, w.f.Actor("gm"), app.GrantInput{Username: "am_bj01", CustomerID: w.c1.ID,
			Actions: []custos.Action{custos.ActTxnProtected}, Purpose: "risk", Reason: "大额交易核查", Duration: "8h"}); err != nil {
			t.Fatal(err)
		}
		if p := search(t, w, "am_bj01", custos.TxnFilter{CustomerID: w.c1.ID}); !slices.Equal(refsOf(p), []string{"P002", "P001"}) || p.Withheld != 0 || !p.Items[0].LargeValue {
			t.Fatalf("with grant: %v %d", refsOf(p), p.Withheld)
		}
		if p := search(t, w, "am_bj01", custos.TxnFilter{}); !slices.Equal(refsOf(p), []string{"P002", "P001"}) || p.Withheld != 1 {
			t.Fatalf("with grant, all: %v %d", refsOf(p), p.Withheld)
		}
		// A token without transactions:read sees nothing.
		scoped := w.f.Actor("gm")
		scoped.Scopes = []string{"customers:read"}
		if _, err := w.f.App.SearchTransactions(ctx, scoped, custos.TxnFilter{}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("token scope: %v", err)
		}
		// Only the security administrator changes the thresholds; a lower one hides more (R-E4).
		p := custos.DefaultTxnPolicy()
		p.LargeValue["CNY"] = amt("200")
		for _, who := range []string{"gm", "admin"} {
			if err := w.f.App.SetTxnPolicy(ctx, w.f.Actor(who), p); custos.ErrorCodeOf(err) != custos.EForbidden {
				t.Fatalf("%s sets policy: %v", who, err)
			}
		}
		if err := w.f.App.SetTxnPolicy(ctx, w.f.Actor("secadmin"), p); err != nil {
			t.Fatal(err)
		}
		if p := search(t, w, "am2_bj01", custos.TxnFilter{}); len(p.Items) != 0 || p.Withheld != 2 {
			t.Fatalf("after lowering the threshold: %v %d", refsOf(p), p.Withheld)
		}
	})
}

func TestRealNameFirst_RE5_RE6(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTxnWorld(t, db)
		am := w.f.Actor("am_bj01")
		draft := w.f.Create(t, "am_bj01", apptest.Person("未核实"))
		_, _, err := w.f.App.RecordTransaction(ctx, am, draft.ID, txnIn("R001", "6222020200110000001", w.at(1), "10.00"))
		var ce *custos.Error
		if !errors.As(err, &ce) || ce.Code != custos.EConflict || !strings.Contains(ce.Message.ZH, "实名") || !strings.Contains(ce.Message.EN, "real-name") {
			t.Fatalf("draft customer: %v", err)
		}
		// A high-value transaction needs a verification within the period before it.
		w.f.Clock.Advance(400 * 24 * time.Hour)
		late := w.verifiedAt.Add(399 * 24 * time.Hour).In(custos.TxnZone).Format(time.RFC3339)
		if _, _, err := w.f.App.RecordTransaction(ctx, am, w.c1.ID, txnIn("R002", "6222020200110000001", late, "49999.99")); err != nil {
			t.Fatalf("below the line: %v", err)
		}
		_, _, err = w.f.App.RecordTransaction(ctx, am, w.c1.ID, txnIn("R003", "6222020200110000001", late, "50000.00"))
		if !errors.As(err, &ce) || ce.Code != custos.EConflict || !strings.Contains(ce.Message.EN, "365 days") || ce.Fields[0].Code != app.CodeRealName {
			t.Fatalf("stale verification: %v", err)
		}
		// The period is configurable, but a verification never counts for
		// longer than a year: one person may only tighten the policy.
		p := custos.DefaultTxnPolicy()
		p.RealNameWithin = custos.Duration(500 * 24 * time.Hour)
		if err := w.f.App.SetTxnPolicy(ctx, w.f.Actor("secadmin"), p); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a period of 500 days: %v", err)
		}
		p.RealNameWithin = custos.Duration(200 * 24 * time.Hour)
		if err := w.f.App.SetTxnPolicy(ctx, w.f.Actor("secadmin"), p); err != nil {
			t.Fatal(err)
		}
		// In an import, the same rules are row errors.
		rep, err := w.f.App.ImportTransactions(ctx, am, strings.NewReader(txnCSV(
			[]string{"R004", draft.ArchiveNo, "6222020200110000001", late, "1.00", "CNY", "debit", "fee", "online", "", "", "", ""},
			[]string{"R005", w.c2.ArchiveNo, "6222020200110000001", w.verifiedAt.Add(-time.Hour).In(custos.TxnZone).Format(time.RFC3339), "60000", "CNY", "debit", "fee", "online", "", "", "", ""},
		)), app.TxnImportOptions{})
		if err != nil || rep.Failed != 2 || rep.Errors[0].Code != app.CodeNotEligible || rep.Errors[1].Code != app.CodeRealName {
			t.Fatalf("import: %+v %v", rep, err)
		}
	})
}

func TestReverseTransaction_RE1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTxnWorld(t, db)
		orig := mustRecord(t, w, "am_bj01", w.c1, txnIn("V001", "6222020200110000001", w.at(1), "100.00"))
		big := mustRecord(t, w, "am_bj01", w.c1, txnIn("V002", "6222020200110000001", w.at(2), "70000.00"))
		if _, err := w.f.App.ReverseTransaction(ctx, w.f.Actor("am_bj01"), orig.ID, " "); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("no reason: %v", err)
		}
		for _, tc := range []struct{ user, id string }{{"am2_bj01", orig.ID}, {"am_bj01", "garbage"}, {"am_bj01", big.ID}} {
			if _, err := w.f.App.ReverseTransaction(ctx, w.f.Actor(tc.user), tc.id, "录入错误"); !errors.Is(err, custos.ErrNotFound) {
				t.Errorf("%s reversing %s: %v", tc.user, tc.id, err)
			}
		}
		rev, err := w.f.App.ReverseTransaction(ctx, w.f.Actor("am_bj01"), orig.ID, "金额录入错误")
		if err != nil {
			t.Fatal(err)
		}
		if rev.ReversalOf != orig.ID || rev.Direction != custos.Credit || rev.Amount != orig.Amount || rev.Source != custos.ReversalSource || rev.Remarks != "金额录入错误" {
			t.Fatalf("reversal %+v", rev)
		}
		if _, err := w.f.App.ReverseTransaction(ctx, w.f.Actor("am_bj01"), orig.ID, "again"); !errors.Is(err, custos.ErrAlreadyReversed) {
			t.Fatalf("second reversal: %v", err)
		}
		if _, err := w.f.App.ReverseTransaction(ctx, w.f.Actor("am_bj01"), rev.ID, "undo"); !errors.Is(err, custos.ErrReverseReversal) {
			t.Fatalf("reversing the reversal: %v", err)
		}
		// Both stay, linked both ways; the original is unchanged.
		p := search(t, w, "am_bj01", custos.TxnFilter{CustomerID: w.c1.ID, Sort: "time"})
		if len(p.Items) != 2 || p.Items[0].ID != orig.ID || p.Items[0].ReversedBy != rev.ID || p.Items[0].Amount != orig.Amount ||
			p.Items[1].ReversalOf != orig.ID || p.Totals[0].Debit != "100.00" || p.Totals[0].Credit != "100.00" {
			t.Fatalf("after reversal: %+v %+v", p.Items, p.Totals)
		}
		// The general manager may reverse the large-value one.
		if _, err := w.f.App.ReverseTransaction(ctx, w.f.Actor("gm"), big.ID, "客户撤销"); err != nil {
			t.Fatalf("gm reverses large: %v", err)
		}
	})
}

// TestTransactionsEncryptedAtRest looks at the bytes the database holds
// after recording, importing, searching and reversing: the accounts, the
// counterparties' names and accounts, purposes and remarks appear nowhere
// in clear, nor in the audit trail (R-D1, R-C5).
func TestTransactionsEncryptedAtRest_RD1(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, raw *sql.DB) {
		w := newTxnWorld(t, db)
		secrets := []string{"6222029988776655443", "6217008877665544332", "欧阳机密对手", "交易用途机密PURPOSE-7f3a", "交易备注机密REMARK-1c9e",
			"6222029988776655999", "6217008877665544999", "导入对手方慕容", "导入备注机密IMPORT-44d1"}
		in := txnIn("S001", secrets[0], w.at(1), "123.45")
		in.CounterpartyAccount, in.CounterpartyName, in.Purpose, in.Remarks = secrets[1], secrets[2], secrets[3], secrets[4]
		t1 := mustRecord(t, w, "am_bj01", w.c1, in)
		var rows [][]string
		for i := 0; i < 300; i++ {
			rows = append(rows, []string{fmt.Sprintf("S1%03d", i), w.c2.ArchiveNo, secrets[5], w.at(2 + float64(i)/1000), "9.99", "CNY", "credit", "transfer", "online", secrets[7], secrets[6], "建设银行", secrets[8]})
		}
		if rep, err := w.f.App.ImportTransactions(ctx, w.f.Actor("am_bj01"), strings.NewReader(txnCSV(rows...)), app.TxnImportOptions{BatchSize: 128}); err != nil || rep.Imported != 300 {
			t.Fatalf("import %+v %v", rep, err)
		}
		for _, f := range []custos.TxnFilter{{Account: secrets[0]}, {CounterpartyAccount: secrets[6]}, {CounterpartyName: secrets[7]}} {
			if p := search(t, w, "am_bj01", f); len(p.Items) == 0 {
				t.Fatalf("search %+v found nothing", f)
			}
		}
		if _, err := w.f.App.ReverseTransaction(ctx, w.f.Actor("am_bj01"), t1.ID, "机密冲正理由REASON-0b8e"); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, "机密冲正理由REASON-0b8e")

		stored := storedBytes(t, db, raw)
		if !bytes.Contains(stored, []byte("S1299")) || !bytes.Contains(stored, []byte("建设银行")) {
			t.Fatal("control: references and banks (stored in clear by design) not found; the scan does not see the transactions")
		}
		if l := leaks(stored, secrets); len(l) > 0 {
			t.Errorf("plaintext transaction data in the database: %s", strings.Join(l, ", "))
		}
		if db.Dialect() == sqlstore.Postgres {
			var hexed []string
			for _, s := range secrets {
				hexed = append(hexed, hex.EncodeToString([]byte(s)))
			}
			if l := leaks(stored, hexed); len(l) > 0 {
				t.Errorf("plaintext in a bytea column: %s", strings.Join(l, ", "))
			}
		}
		trail := auditBytes(t, db)
		if !bytes.Contains(trail, []byte("transaction.read")) || !bytes.Contains(trail, []byte("transaction.record")) || !bytes.Contains(trail, []byte("counterparty_account")) {
			t.Fatal("control: the searches and records are not in the audit trail")
		}
		if l := leaks(trail, append(secrets, w.c1.ID, w.c2.ID)); len(l) > 0 {
			t.Errorf("plaintext in the audit trail: %s", strings.Join(l, ", "))
		}
	})
}

// TestTransactionCiphertextBoundToRecord moves a sealed field to another
// record: it no longer decrypts (associated data: customer, source, reference).
func TestTransactionCiphertextBoundToRecord_RD1(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, raw *sql.DB) {
		w := newTxnWorld(t, db)
		mustRecord(t, w, "am_bj01", w.c1, txnIn("B001", "6222020200110000001", w.at(1), "1.00"))
		mustRecord(t, w, "am_bj01", w.c1, txnIn("B002", "6222020200110000002", w.at(2), "2.00"))
		q := `UPDATE transactions SET sealed = (SELECT sealed FROM transactions WHERE reference = 'B001') WHERE reference = 'B002'`
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
		if _, err := w.f.App.SearchTransactions(ctx, w.f.Actor("am_bj01"), custos.TxnFilter{CustomerID: w.c1.ID}); custos.ErrorCodeOf(err) != custos.EInternal {
			t.Fatalf("a moved ciphertext decrypted: %v", err)
		}
	})
}

func TestRecordTransactionsBatch_RE1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTxnWorld(t, db)
		good := txnIn("A001", "6222020200110000001", w.at(1), "5.00")
		good.Customer = w.c1.ArchiveNo
		dup := good
		bad := txnIn("A002", "6222020200110000001", w.at(2), "5.001")
		bad.Customer = w.c1.ArchiveNo
		rows := []app.TxnRow{{Line: 1, Input: good}, {Line: 2, Input: dup}, {Line: 3, Input: bad},
			{Line: 4, Errors: []app.TxnRowError{{Line: 4, Code: app.CodeInvalidJSON}}}}
		res, err := w.f.App.RecordTransactions(ctx, w.f.Actor("am_bj01"), "core", rows)
		if err != nil {
			t.Fatal(err)
		}
		if res.Imported != 1 || res.Duplicates != 1 || res.Failed != 2 || res.Results[0].Status != app.TxnImported || res.Results[1].Status != app.TxnDuplicate ||
			res.Results[0].ID == "" || res.Results[0].ID != res.Results[1].ID || res.Results[2].Errors[0].Field != "amount" || res.Results[3].Status != app.TxnFailed {
			t.Fatalf("batch %+v", res)
		}
		res, err = w.f.App.RecordTransactions(ctx, w.f.Actor("am_bj01"), "core", rows[:1])
		if err != nil || res.Duplicates != 1 || res.Imported != 0 {
			t.Fatalf("again: %+v %v", res, err)
		}
	})
}
