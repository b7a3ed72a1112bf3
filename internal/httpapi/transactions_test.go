package httpapi_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
)

// Transaction records through the API (R-E1, R-E2, R-E4, R-E5, R-E6). The
// walk runs inside TestAPI on both databases, every response checked
// against the OpenAPI document.

func init() {
	apiWalks = append(apiWalks, struct {
		name, owns string
		run        func(t *testing.T, f *apptest.Fixture, c *client)
	}{"transactions", "", walkTransactions})
}

// onboardForTxn makes a customer effective and verified through the real
// flow: an ID scan, the inspector's verification, the manager's approval.
func onboardForTxn(t *testing.T, f *apptest.Fixture, c *custos.Customer, owner string) {
	t.Helper()
	ctx := context.Background()
	at, err := f.App.AddAttachment(ctx, f.Actor(owner), c.ID, custos.AttachIDScan, "id.png", "", []byte("\x89PNG scan"))
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

// txnPage is TxnPage as the test reads it.
type txnPage struct {
	Items []struct {
		ID, Reference, Account, Amount, Direction, ReversalOf string
		ReversedBy                                            string `json:"reversed_by"`
		Counterparty                                          struct{ Name, Account string }
		LargeValue                                            bool `json:"large_value"`
	}
	NextCursor string `json:"next_cursor"`
	Totals     []custos.TxnTotal
	Withheld   int
	Notice     *custos.Message
}

func (p txnPage) refs() string {
	var out []string
	for _, it := range p.Items {
		out = append(out, it.Reference)
	}
	return strings.Join(out, ",")
}

func walkTransactions(t *testing.T, f *apptest.Fixture, c *client) {
	// Customers: c1 and c2 onboarded (verified now), a protected one, and
	// a draft whose identity nobody verified.
	verifiedAt := f.Clock.Now()
	c1in := apptest.Person("交易甲")
	c1 := f.Create(t, "am_bj01", c1in)
	c2 := f.Create(t, "am_bj01", apptest.Person("交易乙"))
	vipIn := apptest.Person("交易贵宾")
	vipIn.Category = "private_banking"
	vip := f.Create(t, "am_bj01", vipIn)
	draft := f.Create(t, "am_bj01", apptest.Person("未核实"))
	for _, cu := range []*custos.Customer{c1, c2, vip} {
		onboardForTxn(t, f, cu, "am_bj01")
	}
	f.Clock.Advance(24 * time.Hour)
	at := func(h int) string {
		return verifiedAt.Add(time.Duration(h) * time.Hour).In(custos.TxnZone).Format("2006-01-02 15:04:05")
	}
	txn := func(ref, amount string, h int) map[string]any {
		return map[string]any{"source": "core", "reference": ref, "account": "6222020200110000001", "time": at(h), "amount": amount,
			"currency": "CNY", "direction": "debit", "type": "transfer", "channel": "online",
			"counterparty_name": "房东王五", "counterparty_account": "6217000000000001", "counterparty_bank": "中国建设银行", "remarks": "房租"}
	}
	rec := func(id string) string { return "/api/v1/customers/" + id + "/transactions" }

	// Recording one (R-E1): 201, then the same again changes nothing (200, same id).
	var t1 struct {
		ID, Account, Amount string
		Counterparty        struct{ Name, Account string }
	}
	c.do("am_bj01", "POST", rec(c1.ID), "", txn("T1", "100.50", 1)).expect(t, 201, "record").json(t, &t1)
	if t1.ID == "" || t1.Account == "6222020200110000001" || !strings.HasSuffix(t1.Account, "0001") || t1.Amount != "100.50" ||
		t1.Counterparty.Account == "6217000000000001" || t1.Counterparty.Name == "房东王五" {
		t.Fatalf("recorded answer not masked or wrong: %+v", t1)
	}
	var again struct{ ID string }
	c.do("am_bj01", "POST", rec(c1.ID), "", txn("T1", "100.50", 1)).expect(t, 200, "record again").json(t, &again)
	if again.ID != t1.ID {
		t.Fatalf("idempotent record: id %s, want %s", again.ID, t1.ID)
	}
	// Real name first (R-E5): a customer not verified gets nothing recorded.
	r := c.do("am_bj01", "POST", rec(draft.ID), "", txn("D1", "10.00", 1)).expect(t, 409, "unverified customer")
	if e := errorOf(t, r); e.Message != custos.ErrTxnNotEligible.Message {
		t.Fatalf("not eligible: %s", r.body)
	}
	// High value (R-E6): 60,000 CNY needs a verification before the transaction.
	c.do("am_bj01", "POST", rec(c1.ID), "", txn("BIG-EARLY", "60000.00", -2)).expect(t, 409, "high value before the verification")
	c.do("am_bj01", "POST", rec(c1.ID), "", txn("BIG", "60000.00", 2)).expect(t, 201, "high value after the verification")
	// Bad input: field errors, nothing stored; the body may not name another customer.
	bad := txn("BAD", "-5", 3)
	bad["currency"] = "yuan"
	fields := fieldsOf(t, c.do("am_bj01", "POST", rec(c1.ID), "", bad).expect(t, 422, "bad transaction"))
	if fields["amount"] != custos.CodeInvalidFormat || fields["currency"] != custos.CodeInvalidFormat {
		t.Fatalf("field errors: %v", fields)
	}
	named := txn("N1", "1.00", 3)
	named["customer"] = c2.ArchiveNo
	c.do("am_bj01", "POST", rec(c1.ID), "", named).expect(t, 422, "a body naming a customer")
	c.do("am_bj01", "POST", rec(c1.ID), "", `{"reference":"X","amont":"1"}`).expect(t, 422, "unknown field")
	// Hidden and missing customers answer alike (R-C1).
	c.do("mgr_sh", "POST", rec(c1.ID), "", txn("S1", "1.00", 3)).expect(t, 404, "out of scope")
	c.do("mgr_sh", "POST", rec("nope"), "", txn("S1", "1.00", 3)).expect(t, 404, "missing")
	c.do("inspector_bj", "POST", rec(c1.ID), "", txn("S1", "1.00", 3)).expect(t, 403, "an inspector records")

	// A batch (R-E1): good items go in, bad ones are reported by item.
	item := func(ref, customer, amount string, h int) map[string]any {
		m := txn(ref, amount, h)
		delete(m, "source")
		m["customer"] = customer
		return m
	}
	byID := item("B2", c2.Person.IDDocuments[0].Number, "20.00", 4)
	byID["type"], byID["channel"] = "salary", "batch"
	batch := map[string]any{"source": "core", "items": []any{
		item("B1", c1.ArchiveNo, "10.00", 3),
		byID,
		item("B3", c1.ArchiveNo, "1.001", 5),
		item("B4", "ZZ-NO-SUCH", "1.00", 5),
		item("B5", draft.ArchiveNo, "1.00", 5),
		map[string]any{"reference": "B6", "amount": true},
		item("T1", c1.ArchiveNo, "100.50", 1), // recorded above
		item("B7", c1.ArchiveNo, "300.00", 6),
	}}
	var br app.TxnBatchResult
	c.do("am_bj01", "POST", "/api/v1/transactions/batch", "", batch).expect(t, 200, "batch").json(t, &br)
	want := []string{"imported", "imported", "failed", "failed", "failed", "failed", "duplicate", "imported"}
	for i, w := range want {
		if br.Results[i].Item != i+1 || br.Results[i].Status != w {
			t.Fatalf("item %d: %+v, want %s (all %+v)", i+1, br.Results[i], w, br.Results)
		}
	}
	if br.Imported != 3 || br.Duplicates != 1 || br.Failed != 4 {
		t.Fatalf("batch counts %+v", br)
	}
	reasons := map[int]string{}
	for _, res := range br.Results {
		if len(res.Errors) > 0 {
			reasons[res.Item] = res.Errors[0].Field + "/" + res.Errors[0].Code
		}
	}
	if reasons[3] != "amount/too_many_decimals" || reasons[4] != "customer/unknown" || reasons[5] != "customer/not_eligible" || reasons[6] == "" {
		t.Fatalf("reasons: %v", reasons)
	}
	// The same batch again adds nothing (idempotent on source and reference).
	c.do("am_bj01", "POST", "/api/v1/transactions/batch", "", batch).expect(t, 200, "batch again").json(t, &br)
	if br.Imported != 0 || br.Duplicates != 4 || br.Failed != 4 {
		t.Fatalf("batch again: %+v", br)
	}
	c.do("am_bj01", "POST", "/api/v1/transactions/batch", "", map[string]any{"source": "core"}).expect(t, 422, "a batch without items")
	c.do("inspector_bj", "POST", "/api/v1/transactions/batch", "", batch).expect(t, 403, "an inspector's batch")

	// Search (R-E2): a purpose first, then filters, sorting, paging, totals.
	// Searches by account or counterparty go in a POST body (no URL carries
	// them); the others may stay in the query string.
	search := func(user, query string) txnPage {
		t.Helper()
		var p txnPage
		if q, _ := url.ParseQuery(query); q.Has("account") || q.Has("counterparty_name") || q.Has("counterparty_account") {
			body := map[string]string{}
			for k := range q {
				body[k] = q.Get(k)
			}
			c.do(user, "POST", "/api/v1/transactions/search", "service", body).expect(t, 200, "search "+query).json(t, &p)
			return p
		}
		c.do(user, "GET", "/api/v1/transactions?"+query, "service", nil).expect(t, 200, "search "+query).json(t, &p)
		return p
	}
	for _, term := range []string{"account=6222020200110000001", "counterparty_name=x", "counterparty_account=6217000000000001", "counterparty_bank=x"} {
		c.do("gm", "GET", "/api/v1/transactions?"+term, "service", nil).expect(t, 422, "a personal term in the URL: "+term)
	}
	c.do("am_bj01", "GET", "/api/v1/transactions?customer_id="+c1.ID, "", nil).expect(t, 400, "search without purpose")
	// The account manager lacks the protected permission: the 60,000 record is withheld (R-E4).
	p := search("am_bj01", "customer_id="+c1.ID)
	if p.refs() != "B7,B1,T1" || p.Withheld != 1 || p.Notice == nil {
		t.Fatalf("account manager's view: %s withheld %d", p.refs(), p.Withheld)
	}
	if len(p.Totals) != 1 || p.Totals[0].Currency != "CNY" || p.Totals[0].Count != 3 || p.Totals[0].Debit != "410.50" {
		t.Fatalf("totals: %+v", p.Totals)
	}
	for _, it := range p.Items {
		if strings.Contains(it.Account, "6222020200110000001") || strings.Contains(it.Counterparty.Account, "6217000000000001") {
			t.Fatalf("unmasked row: %+v", it)
		}
	}
	// The general manager holds it: all four, sorted by amount, two per page.
	p = search("gm", "customer_id="+c1.ID+"&sort=-amount&limit=2")
	if p.refs() != "BIG,B7" || p.NextCursor == "" || p.Withheld != 0 || !p.Items[0].LargeValue {
		t.Fatalf("gm first page: %s cursor %q", p.refs(), p.NextCursor)
	}
	p = search("gm", "customer_id="+c1.ID+"&sort=-amount&limit=2&cursor="+url.QueryEscape(p.NextCursor))
	if p.refs() != "T1,B1" || p.NextCursor != "" {
		t.Fatalf("gm second page: %s cursor %q", p.refs(), p.NextCursor)
	}
	for query, refs := range map[string]string{
		"customer_id=" + c1.ID + "&min_amount=50&max_amount=300":                                     "B7,T1",
		"customer_id=" + c1.ID + "&from=" + url.QueryEscape(at(2)) + "&to=" + url.QueryEscape(at(6)): "B1,BIG",
		"account=6222020200110000001&type=salary&channel=batch":                                      "B2",
		"counterparty_name=" + url.QueryEscape("房东王五") + "&customer_id=" + c2.ID:                     "B2",
		"counterparty_account=6217000000000001&sort=time&limit=3":                                    "T1,BIG,B1",
		"customer_id=" + c1.ID + "&direction=credit":                                                 "",
	} {
		if got := search("gm", query); got.refs() != refs {
			t.Errorf("search %s: %s, want %s", query, got.refs(), refs)
		}
	}
	for _, query := range []string{"sort=name", "min_amount=abc", "from=yesterday", "limit=5000", "limit=x", "cursor=garbage"} {
		c.do("gm", "GET", "/api/v1/transactions?"+query, "service", nil).expect(t, 422, "bad search "+query)
	}
	c.do("mgr_sh", "GET", "/api/v1/transactions?customer_id="+c1.ID, "service", nil).expect(t, 404, "search out of scope")
	if p = search("mgr_sh", "account=6222020200110000001"); len(p.Items) != 0 {
		t.Fatalf("a wide search leaked: %s", p.refs())
	}
	// The protected customer's records need the protected permission: counted, not shown.
	c.do("am_bj01", "POST", rec(vip.ID), "", txn("V1", "5.00", 1)).expect(t, 201, "record for the protected customer")
	if p = search("am_bj01", "customer_id="+vip.ID); len(p.Items) != 0 || p.Withheld != 1 || p.Notice == nil {
		t.Fatalf("protected customer's records without the protected permission: %s withheld %d", p.refs(), p.Withheld)
	}
	c.do("mgr_bj", "GET", "/api/v1/transactions?customer_id="+vip.ID, "service", nil).expect(t, 404, "a protected customer through the subtree")

	// Reversal (R-E1): a linked entry in the opposite direction; once only.
	rev := "/api/v1/transactions/" + t1.ID + "/reverse"
	c.do("am_bj01", "POST", rev, "", map[string]any{"reason": " "}).expect(t, 422, "a reversal without reason")
	c.do("mgr_sh", "POST", rev, "", map[string]any{"reason": "错账"}).expect(t, 404, "a hidden transaction")
	c.do("am_bj01", "POST", "/api/v1/transactions/AAAA/reverse", "", map[string]any{"reason": "错账"}).expect(t, 404, "a missing transaction")
	var rt struct {
		ID, Direction, Amount string
		ReversalOf            string `json:"reversal_of"`
	}
	c.do("am_bj01", "POST", rev, "", map[string]any{"reason": "重复入账"}).expect(t, 201, "reverse").json(t, &rt)
	if rt.ReversalOf != t1.ID || rt.Direction != "credit" || rt.Amount != "100.50" {
		t.Fatalf("reversal: %+v", rt)
	}
	c.do("am_bj01", "POST", rev, "", map[string]any{"reason": "再次"}).expect(t, 409, "reversed twice")
	c.do("am_bj01", "POST", "/api/v1/transactions/"+rt.ID+"/reverse", "", map[string]any{"reason": "x"}).expect(t, 409, "reversing a reversal")
	p = search("am_bj01", "customer_id="+c1.ID+"&sort=time")
	found := false
	for _, it := range p.Items {
		if it.ID == t1.ID && it.ReversedBy == rt.ID {
			found = true
		}
	}
	if !found || !strings.Contains(p.refs(), "T1") {
		t.Fatalf("the original stays, linked to its reversal: %+v", p.Items)
	}

	// The thresholds: everyone reads them, administrators change them.
	var pol map[string]any
	c.do("am_bj01", "GET", "/api/v1/settings/transaction-policy", "", nil).expect(t, 200, "policy").json(t, &pol)
	if pol["large_value"].(map[string]any)["CNY"] != "50000.00" {
		t.Fatalf("default policy: %v", pol)
	}
	newPol := map[string]any{"large_value": map[string]any{"CNY": "300", "*": "1000"}, "real_name_amount": map[string]any{"*": "5000"}, "real_name_within": "720h"}
	c.do("am_bj01", "PUT", "/api/v1/settings/transaction-policy", "", newPol).expect(t, 403, "an account manager changes the policy")
	c.do("secadmin", "PUT", "/api/v1/settings/transaction-policy", "", map[string]any{"large_value": map[string]any{"CNY": "300"},
		"real_name_amount": map[string]any{"*": "0"}, "real_name_within": "1h"}).expect(t, 422, "a bad policy")
	c.do("secadmin", "PUT", "/api/v1/settings/transaction-policy", "", newPol).expect(t, 200, "policy change")
	if p = search("am_bj01", "customer_id="+c1.ID); p.Withheld < 2 {
		t.Fatalf("after lowering the threshold to 300 CNY, B7 is withheld too: %s withheld %d", p.refs(), p.Withheld)
	}

	// Token scopes: a customers:read token neither records nor searches transactions.
	var tok struct{ Token string }
	c.do("am_bj01", "POST", "/api/v1/tokens", "", map[string]any{"name": "ro", "scopes": []string{"customers:read"}}).expect(t, 201, "token").json(t, &tok)
	c.tokens["am_customers_only"] = tok.Token
	c.do("am_customers_only", "POST", "/api/v1/transactions/batch", "", batch).expect(t, 403, "batch without transactions:write")
	if r := c.do("am_customers_only", "GET", "/api/v1/transactions?customer_id="+c1.ID, "service", nil); r.status != 404 && r.status != 403 {
		t.Fatalf("search without transactions:read: %d", r.status)
	}
	c.do("am_bj01", "POST", "/api/v1/tokens", "", map[string]any{"name": "txn", "scopes": []string{"transactions:read"}}).expect(t, 201, "token").json(t, &tok)
	c.tokens["am_txn_read"] = tok.Token
	search("am_txn_read", "customer_id="+c1.ID)
	if r := c.do("am_txn_read", "POST", rec(c1.ID), "", txn("R1", "1.00", 7)); r.status != 404 && r.status != 403 {
		t.Fatalf("record without transactions:write: %d", r.status)
	}

	// Every search is audited, with filter names and never values (R-C5).
	var evs struct{ Events []custos.AuditEvent }
	c.do("auditor", "GET", "/api/v1/audit/events?action=transaction.read&limit=500", "", nil).expect(t, 200, "audit").json(t, &evs)
	if len(evs.Events) < 10 {
		t.Fatalf("searches audited: %d events", len(evs.Events))
	}
	for _, e := range evs.Events {
		if strings.Contains(e.Detail, "6222020200110000001") || strings.Contains(e.Detail, "房东") || strings.Contains(e.TargetRef, c1.ID) {
			t.Fatalf("audit event holds plaintext: %+v", e)
		}
	}
}
