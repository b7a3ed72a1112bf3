package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// onboardForTxn makes a customer effective and verified through the real
// flow: an ID scan, the inspector's verification, the manager's approval.
func onboardForTxn(t *testing.T, f *apptest.Fixture, c *custos.Customer) {
	t.Helper()
	ctx := context.Background()
	at, err := f.App.AddAttachment(ctx, f.Actor("am_bj01"), c.ID, custos.AttachIDScan, "id.png", "", []byte("\x89PNG scan"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.App.RecordVerification(ctx, f.Actor("inspector_bj").WithPurpose("kyc"), c.ID, app.VerificationInput{
		Method: custos.VerifyPublicSecurity, Passed: true, NameMatches: true, EvidenceIDs: []string{at.ID}}); err != nil {
		t.Fatal(err)
	}
	rs, err := f.App.Requests(ctx, f.Actor("auditor"), custos.RequestFilter{CustomerID: c.ID, Kind: custos.KindOnboarding})
	if err != nil || len(rs) != 1 {
		t.Fatalf("onboarding request: %v %d", err, len(rs))
	}
	if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), rs[0].ID, true, "身份已核实"); err != nil {
		t.Fatal(err)
	}
}

var txnRowRE = regexp.MustCompile(`<td class="mono small">core/([A-Z0-9-]+)</td>`)

func txnRefs(body string) string {
	var out []string
	for _, m := range txnRowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return strings.Join(out, ",")
}

// TestTransactionsPage_RE2_RE4 searches one customer's transactions in the
// UI: masked rows, totals, filters, paging by cursor, withheld large-value
// records for a reader without the protected permission, both languages,
// and a hidden customer answering 404.
func TestTransactionsPage_RE2_RE4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		f := e.f
		verifiedAt := f.Clock.Now()
		c := f.Create(t, "am_bj01", apptest.Person("流水客户"))
		onboardForTxn(t, f, c)
		f.Clock.Advance(30 * 24 * time.Hour)
		ctx := context.Background()
		rows := make([]app.TxnRow, 0, 60)
		for i := 0; i < 55; i++ {
			in := custos.TransactionInput{Reference: fmt.Sprintf("W%03d", i), CustomerID: c.ID, Account: "6222020200110000001",
				Time: verifiedAt.Add(time.Duration(i+1) * time.Hour).Format(time.RFC3339), Amount: custos.AmountText(fmt.Sprintf("%d.00", 10+i)),
				Currency: "CNY", Direction: "debit", Type: "payment", Channel: "pos", CounterpartyName: "某某超市", CounterpartyAccount: "6217000000000001",
				CounterpartyBank: "中国银行", Remarks: "消费"}
			if i == 7 {
				in.Type, in.Channel, in.Direction, in.Amount = "salary", "batch", "credit", "8000.00"
			}
			if i == 9 {
				in.Amount = "60000.00" // large value (R-E4)
			}
			rows = append(rows, app.TxnRow{Line: i + 1, Input: in})
		}
		res, err := f.App.RecordTransactions(ctx, f.Actor("am_bj01"), "core", rows)
		if err != nil || res.Imported != 55 {
			t.Fatalf("record: %v %+v", err, res)
		}
		path := "/customers/" + c.ID + "/transactions"

		e.login("am_bj01")
		wantRedirect(t, e.get(path), "/purpose?next=")
		e.purpose("service")
		detail := e.get("/customers/" + c.ID)
		wantBody(t, detail, `id="transactions-link"`, `href="`+path+`"`)

		a := e.get(path)
		wantStatus(t, a, http.StatusOK)
		wantBody(t, a, "交易记录", "流水客户", "消费", "中国银行")
		if strings.Contains(a.Body, "6222020200110000001") || strings.Contains(a.Body, "6217000000000001") || strings.Contains(a.Body, "某某超市") {
			t.Fatal("the page shows an account number or a counterparty unmasked")
		}
		// 54 visible (the large one withheld): 50 on the first page, newest first.
		refs := strings.Split(txnRefs(a.Body), ",")
		if len(refs) != 50 || refs[0] != "W054" || strings.Contains(txnRefs(a.Body), "W009") {
			t.Fatalf("first page: %v", refs)
		}
		wantBody(t, a, `id="txn-withheld"`, `id="txn-totals"`, ">54<", "8000.00")
		next := pagerForm(a.Body, "txn-next")
		if next == nil || next.Get("cursor") == "" {
			t.Fatal("no next-page form")
		}
		a = e.post(path, next)
		wantStatus(t, a, http.StatusOK)
		if got := txnRefs(a.Body); got != "W003,W002,W001,W000" {
			t.Fatalf("second page: %s", got)
		}
		wantBody(t, a, `id="txn-first"`)

		// Filters: type and channel; amount range; a day range in CST; a bad amount.
		search := func(kv ...string) answer {
			form := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				form.Set(kv[i], kv[i+1])
			}
			return e.post(path, form)
		}
		if got := txnRefs(search("type", "salary", "channel", "batch").Body); got != "W007" {
			t.Fatalf("by type: %s", got)
		}
		if got := txnRefs(search("min_amount", "60", "max_amount", "62", "sort", "amount").Body); got != "W050,W051,W052" {
			t.Fatalf("by amount: %s", got)
		}
		day := verifiedAt.Add(2 * time.Hour).In(custos.TxnZone).Format(time.DateOnly)
		byDay := txnRefs(search("from", day, "to", day, "sort", "time").Body)
		if byDay != "W000,W001,W002,W003,W004,W005" {
			t.Fatalf("one day: %s", byDay)
		}
		bad := search("min_amount", "abc")
		wantStatus(t, bad, http.StatusUnprocessableEntity)
		wantBody(t, bad, "查询条件有误", "金额应为十进制数")
		wantStatus(t, search("cursor", "nonsense"), http.StatusUnprocessableEntity)

		// Search terms travel in bodies only (issue 12): a counterparty search
		// pages on with forms, and no URL on the page carries the term; in a
		// query string it is not applied.
		a = search("counterparty_name", "某某超市", "counterparty_account", "6217000000000001")
		wantStatus(t, a, http.StatusOK)
		if n := len(strings.Split(txnRefs(a.Body), ",")); n != 50 {
			t.Fatalf("counterparty search: %d rows", n)
		}
		next = pagerForm(a.Body, "txn-next")
		if next.Get("counterparty_name") != "某某超市" || next.Get("cursor") == "" {
			t.Fatalf("the next-page form does not keep the search: %v", next)
		}
		for _, m := range regexp.MustCompile(`(?:href|action)="([^"]*)"`).FindAllStringSubmatch(a.Body, -1) {
			if u := html.UnescapeString(m[1]); strings.Contains(u, "?") && (strings.Contains(u, "counterparty") || strings.Contains(u, "6217") || strings.Contains(u, url.QueryEscape("某某"))) {
				t.Errorf("a URL on the page carries the search: %s", u)
			}
		}
		if strings.Contains(a.Body, `method="get"`) {
			t.Error("a form on the page sends the search as a GET")
		}
		if got := txnRefs(e.get(path + "?counterparty_name=nobody&type=salary").Body); len(strings.Split(got, ",")) != 50 {
			t.Fatalf("a query string was applied as a search: %s", got)
		}

		// English.
		e.post("/lang", url.Values{"lang": {"en"}})
		a = search("type", "salary")
		wantBody(t, a, "Transactions", "Salary", "Totals (all matches")

		// The general manager holds the protected permission: the large record shows, marked.
		e2 := newEnvWith(t, f, Options{Log: quiet}, true)
		e2.login("gm")
		e2.purpose("service")
		a = e2.post(path, url.Values{"min_amount": {"50000"}})
		if got := txnRefs(a.Body); got != "W009" || !strings.Contains(a.Body, "大额") || strings.Contains(a.Body, `id="txn-withheld"`) {
			t.Fatalf("gm, large: %s", got)
		}

		// Out of scope answers like a missing customer (R-C1).
		e3 := newEnvWith(t, f, Options{Log: quiet}, true)
		e3.login("mgr_sh")
		e3.purpose("service")
		wantStatus(t, e3.get(path), http.StatusNotFound)
		wantStatus(t, e3.get("/customers/0190e2a4-0000-7000-8000-000000000000/transactions"), http.StatusNotFound)
	})
}

// pagerForm returns the hidden fields of the form whose submit button has
// the id.
func pagerForm(body, id string) url.Values {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return nil
	}
	start := strings.LastIndex(body[:i], "<form")
	if start < 0 {
		return nil
	}
	out := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(body[start:i], -1) {
		out.Set(m[1], html.UnescapeString(m[2]))
	}
	return out
}
