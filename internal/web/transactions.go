package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/custos-cim/custos"
)

// The transactions page of one customer (R-E2, R-E4): a search form (date
// and amount range, type, channel, direction, counterparty), the masked
// rows the service returns, totals per currency, and forward paging by
// cursor. The service decides who sees what, withholds large-value and
// protected records from readers without the protected permission, and
// audits every search.
//
// The search is a POST and the pager buttons are forms: counterparty names
// and account numbers never stand in a URL, so neither the browser's
// history nor any log between the browser and the server keeps them. A GET
// shows the first page of everything.

// txnTypes and txnChannels are the codes the form offers; other codes
// recorded by source systems show as they are.
var (
	txnTypes    = []string{"transfer", "payment", "salary", "deposit", "withdrawal", "fee", "refund", "fx"}
	txnChannels = []string{"online", "mobile", "counter", "atm", "pos", "batch"}
)

// txnRow is one transaction as the page shows it.
type txnRow struct {
	ID, Time, Reference, Source, Account, Direction, DirClass string
	Amount, Currency, Type, Channel                           string
	CPName, CPAccount, CPBank, Remarks                        string
	Large, Reversed, Reversal                                 bool
}

// txnTotalRow is the total of one currency.
type txnTotalRow struct {
	Currency      string
	Count         int64
	Debit, Credit string
}

// txnForm is the search as the form holds it (the values echo back).
type txnForm struct {
	From, To, MinAmount, MaxAmount, Type, Channel, Direction, CPName, CPAccount, Sort string
}

type txnPageData struct {
	ID, Name, ArchiveNo, Back, Action                    string
	Form                                                 txnForm
	Keep                                                 []option // the search, as hidden fields of the pager forms
	NextCursor                                           string
	TypeOptions, ChannelOptions, DirOptions, SortOptions []option
	Rows                                                 []txnRow
	Totals                                               []txnTotalRow
	Withheld                                             string
	Searched, Paged                                      bool
}

// txnFilter reads the form into a filter. Dates are whole days in China
// Standard Time; the "to" day is included.
func txnFilter(q url.Values, p *page) (custos.TxnFilter, txnForm, []fieldMessage) {
	fm := txnForm{From: q.Get("from"), To: q.Get("to"), MinAmount: strings.TrimSpace(q.Get("min_amount")), MaxAmount: strings.TrimSpace(q.Get("max_amount")),
		Type: q.Get("type"), Channel: q.Get("channel"), Direction: q.Get("direction"), CPName: strings.TrimSpace(q.Get("counterparty_name")),
		CPAccount: strings.TrimSpace(q.Get("counterparty_account")), Sort: q.Get("sort")}
	f := custos.TxnFilter{Type: fm.Type, Channel: fm.Channel, Direction: custos.Direction(fm.Direction), CounterpartyName: fm.CPName,
		CounterpartyAccount: fm.CPAccount, Sort: fm.Sort, Cursor: q.Get("cursor")}
	var errs []fieldMessage
	day := func(label, s string, next bool) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation(time.DateOnly, s, custos.TxnZone)
		if err != nil {
			errs = append(errs, fieldMessage{Field: p.T(label), Message: p.T("txn.bad_date")})
			return time.Time{}
		}
		if next {
			t = t.AddDate(0, 0, 1)
		}
		return t
	}
	f.From = day("txn.from", fm.From, false)
	f.To = day("txn.to", fm.To, true)
	amount := func(label, s string) custos.Amount {
		if s == "" {
			return 0
		}
		a, err := custos.ParseAmount(s)
		if err != nil {
			errs = append(errs, fieldMessage{Field: p.T(label), Message: p.T("txn.bad_amount")})
		}
		return a
	}
	f.MinAmount = amount("txn.min_amount", fm.MinAmount)
	f.MaxAmount = amount("txn.max_amount", fm.MaxAmount)
	return f, fm, errs
}

func (s *server) transactionsPage(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	ctx := r.Context()
	c, err := s.app.GetCustomer(ctx, p.Actor, id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	q := url.Values{}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, p, custos.Errorf(custos.EInvalid, "表单无法解析", "the form cannot be read"))
			return
		}
		q = r.PostForm
	}
	f, fm, errs := txnFilter(q, p)
	f.CustomerID = c.ID
	base := "/customers/" + url.PathEscape(c.ID)
	d := &txnPageData{ID: c.ID, Name: c.Name(), ArchiveNo: c.ArchiveNo, Back: base, Action: base + "/transactions", Form: fm,
		Paged: f.Cursor != ""}
	d.options(p)
	p.Title = "txn.title"
	p.Data = d
	if len(errs) > 0 {
		p.Error, p.Errors = p.T("txn.invalid"), errs
		s.render(w, p, http.StatusUnprocessableEntity, "transactions")
		return
	}
	res, err := s.app.SearchTransactions(ctx, p.Actor, f)
	if err != nil {
		if e, ok := asError(err); ok && e.Code == custos.EInvalid {
			p.Error = p.T("txn.invalid")
			for _, fe := range e.Fields {
				p.Errors = append(p.Errors, fieldMessage{Field: fe.Field, Message: p.M(fe.Message)})
			}
			s.render(w, p, http.StatusUnprocessableEntity, "transactions")
			return
		}
		s.fail(w, r, p, err)
		return
	}
	d.Searched = true
	for _, t := range res.Items {
		d.Rows = append(d.Rows, txnRow{ID: t.ID, Time: t.Time.In(custos.TxnZone).Format("2006-01-02 15:04:05"), Reference: t.Reference, Source: t.Source,
			Account: t.Account, Direction: p.T("txn.dir." + string(t.Direction)), DirClass: string(t.Direction), Amount: t.Amount.String(), Currency: t.Currency,
			Type: codeLabel(p, "txn.type.", t.Type), Channel: codeLabel(p, "txn.channel.", t.Channel), CPName: t.Counterparty.Name,
			CPAccount: t.Counterparty.Account, CPBank: t.Counterparty.Bank, Remarks: t.Remarks, Large: t.LargeValue,
			Reversed: t.ReversedBy != "", Reversal: t.ReversalOf != ""})
	}
	for _, t := range res.Totals {
		d.Totals = append(d.Totals, txnTotalRow{Currency: t.Currency, Count: t.Count, Debit: t.Debit, Credit: t.Credit})
	}
	if res.Notice != nil {
		d.Withheld = p.M(*res.Notice)
	}
	// The pager forms keep the search and move the cursor.
	for _, k := range []string{"from", "to", "min_amount", "max_amount", "type", "channel", "direction", "counterparty_name", "counterparty_account", "sort"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			d.Keep = append(d.Keep, option{Label: k, Value: v})
		}
	}
	d.NextCursor = res.NextCursor
	s.render(w, p, http.StatusOK, "transactions")
}

// codeLabel translates a known type or channel code and shows others as they are.
func codeLabel(p *page, prefix, code string) string {
	if hasKey(prefix + code) {
		return p.T(prefix + code)
	}
	return code
}

func (d *txnPageData) options(p *page) {
	list := func(sel string, prefix string, codes []string) []option {
		out := []option{{Value: "", Label: p.T("txn.any"), Selected: sel == ""}}
		known := false
		for _, c := range codes {
			out = append(out, option{Value: c, Label: p.T(prefix + c), Selected: sel == c})
			known = known || sel == c
		}
		if sel != "" && !known {
			out = append(out, option{Value: sel, Label: sel, Selected: true})
		}
		return out
	}
	d.TypeOptions = list(d.Form.Type, "txn.type.", txnTypes)
	d.ChannelOptions = list(d.Form.Channel, "txn.channel.", txnChannels)
	d.DirOptions = list(d.Form.Direction, "txn.dir.", []string{"debit", "credit"})
	sort := d.Form.Sort
	if sort == "" {
		sort = "-time"
	}
	for _, k := range custos.TxnSortKeys {
		d.SortOptions = append(d.SortOptions, option{Value: k, Label: p.T("txn.sort." + k), Selected: sort == k})
	}
}

// txnMessages is the catalogue of the transactions page; it joins the
// main catalogue at start-up.
var txnMessages = map[string]struct{ zh, en string }{
	"txn.title":           {"交易记录", "Transactions"},
	"txn.link":            {"交易记录", "Transactions"},
	"txn.intro":           {"账号和交易对手信息已脱敏显示。每次查询都记入审计日志。", "Account numbers and counterparties are masked. Every search is audited."},
	"txn.from":            {"起始日期", "From"},
	"txn.to":              {"截止日期（含）", "To (inclusive)"},
	"txn.min_amount":      {"最小金额", "Minimum amount"},
	"txn.max_amount":      {"最大金额", "Maximum amount"},
	"txn.type":            {"交易类型", "Type"},
	"txn.channel":         {"交易渠道", "Channel"},
	"txn.direction":       {"借贷方向", "Direction"},
	"txn.counterparty":    {"交易对手", "Counterparty"},
	"txn.cp_name":         {"对手户名（完整）", "Counterparty name (exact)"},
	"txn.cp_account":      {"对手账号（完整）", "Counterparty account (exact)"},
	"txn.sort":            {"排序", "Sort by"},
	"txn.any":             {"全部", "Any"},
	"txn.hint":            {"日期按北京时间；对手户名和账号须完整输入（按盲索引精确匹配）。", "Dates are in China Standard Time; counterparty names and accounts must be complete (matched exactly through blind indexes)."},
	"txn.time":            {"交易时间", "Time"},
	"txn.reference":       {"流水号", "Reference"},
	"txn.account":         {"账号", "Account"},
	"txn.amount":          {"金额", "Amount"},
	"txn.currency":        {"币种", "Currency"},
	"txn.remarks":         {"摘要", "Remarks"},
	"txn.flags":           {"标记", "Flags"},
	"txn.large":           {"大额", "Large value"},
	"txn.reversed":        {"已冲正", "Reversed"},
	"txn.reversal":        {"冲正记录", "Reversal"},
	"txn.totals":          {"合计（全部匹配记录，不限本页）", "Totals (all matches, not just this page)"},
	"txn.count":           {"笔数", "Count"},
	"txn.debit_total":     {"借方合计", "Debit total"},
	"txn.credit_total":    {"贷方合计", "Credit total"},
	"txn.none":            {"没有符合条件的交易记录。", "No transactions match."},
	"txn.next":            {"下一页", "Next page"},
	"txn.first":           {"第一页", "First page"},
	"txn.back":            {"返回客户详情", "Back to the customer"},
	"txn.invalid":         {"查询条件有误", "The search is invalid"},
	"txn.bad_date":        {"日期格式应为 YYYY-MM-DD", "a date as YYYY-MM-DD"},
	"txn.bad_amount":      {"金额应为十进制数，如 1234.56", "a decimal amount such as 1234.56"},
	"txn.dir.debit":       {"借", "Debit"},
	"txn.dir.credit":      {"贷", "Credit"},
	"txn.type.transfer":   {"转账", "Transfer"},
	"txn.type.payment":    {"支付", "Payment"},
	"txn.type.salary":     {"代发工资", "Salary"},
	"txn.type.deposit":    {"存款", "Deposit"},
	"txn.type.withdrawal": {"取款", "Withdrawal"},
	"txn.type.fee":        {"手续费", "Fee"},
	"txn.type.refund":     {"退款", "Refund"},
	"txn.type.fx":         {"外汇", "Foreign exchange"},
	"txn.channel.online":  {"网上银行", "Online banking"},
	"txn.channel.mobile":  {"手机银行", "Mobile banking"},
	"txn.channel.counter": {"柜面", "Counter"},
	"txn.channel.atm":     {"自助设备", "ATM"},
	"txn.channel.pos":     {"POS", "POS"},
	"txn.channel.batch":   {"批量", "Batch"},
	"txn.sort.-time":      {"时间（新→旧）", "Time, newest first"},
	"txn.sort.time":       {"时间（旧→新）", "Time, oldest first"},
	"txn.sort.-amount":    {"金额（大→小）", "Amount, largest first"},
	"txn.sort.amount":     {"金额（小→大）", "Amount, smallest first"},
}

func init() {
	for k, v := range txnMessages {
		if _, dup := messages[k]; dup {
			panic("web: catalogue key defined twice: " + k)
		}
		messages[k] = v
	}
}
