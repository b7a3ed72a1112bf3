package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

// Transaction records (R-E1, R-E2, R-E4–R-E6): batch ingestion, one record,
// search with totals and cursor paging, reversal, and the thresholds. The
// permission decisions (transactions:read / transactions:write token
// scopes, portfolio reach, the protected permission) are the services'.

// transactionRoutes are the endpoints of transaction records.
func transactionRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/api/v1/transactions/batch", handler: (*API).batchTransactions},
		{Method: "GET", Pattern: "/api/v1/transactions", handler: (*API).searchTransactions},
		{Method: "POST", Pattern: "/api/v1/transactions/search", handler: (*API).searchTransactionsBody},
		{Method: "POST", Pattern: "/api/v1/customers/{id}/transactions", handler: (*API).recordTransaction},
		{Method: "POST", Pattern: "/api/v1/transactions/{tid}/reverse", handler: (*API).reverseTransaction},
		{Method: "GET", Pattern: "/api/v1/settings/transaction-policy", handler: (*API).getTxnPolicy},
		{Method: "PUT", Pattern: "/api/v1/settings/transaction-policy", handler: (*API).putTxnPolicy},
	}
}

// txnBatchBody is a batch of transactions from one source system. Items are
// kept raw so that one malformed item is reported as that item's failure
// instead of refusing the whole batch.
type txnBatchBody struct {
	Source string            `json:"source"`
	Items  []json.RawMessage `json:"items"`
}

func (api *API) batchTransactions(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var body txnBatchBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Items == nil {
		return invalid("items", custos.CodeRequired, custos.StandardMessage(custos.CodeRequired))
	}
	rows := make([]app.TxnRow, len(body.Items))
	for i, raw := range body.Items {
		rows[i].Line = i + 1
		if fe := app.DecodeTxnInput(raw, &rows[i].Input); fe != nil {
			rows[i].Errors = []app.TxnRowError{{Line: i + 1, Field: fe.Field, Code: fe.Code, Message: fe.Message}}
		}
	}
	res, err := api.app.RecordTransactions(r.Context(), a, body.Source, rows)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// txnFilterOf reads a search from parameters (the query string, or a
// search's body); malformed values are field errors (422), collected
// together.
func txnFilterOf(q url.Values) (custos.TxnFilter, error) {
	f := custos.TxnFilter{
		CustomerID: q.Get("customer_id"), Account: q.Get("account"), Currency: q.Get("currency"), Direction: custos.Direction(q.Get("direction")),
		CounterpartyAccount: q.Get("counterparty_account"), CounterpartyName: q.Get("counterparty_name"), CounterpartyBank: q.Get("counterparty_bank"),
		Type: q.Get("type"), Channel: q.Get("channel"), Source: q.Get("source"), Sort: q.Get("sort"), Cursor: q.Get("cursor"),
	}
	var v custos.Validation
	for _, tm := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		s := q.Get(tm.name)
		if s == "" {
			continue
		}
		t, ok := custos.ParseTxnTime(s)
		if !ok {
			v.Add(tm.name, custos.CodeInvalidDate, custos.Message{ZH: "时间应为 RFC 3339 或 YYYY-MM-DD[ HH:MM:SS]（北京时间）", EN: "expected RFC 3339, or YYYY-MM-DD[ HH:MM:SS] in China Standard Time"})
			continue
		}
		*tm.dst = t
	}
	for _, am := range []struct {
		name string
		dst  *custos.Amount
	}{{"min_amount", &f.MinAmount}, {"max_amount", &f.MaxAmount}} {
		s := q.Get(am.name)
		if s == "" {
			continue
		}
		a, err := custos.ParseAmount(s)
		if err != nil {
			v.Add(am.name, custos.CodeInvalidFormat, custos.Message{ZH: "金额应为十进制数，如 1234.56", EN: "a decimal amount such as 1234.56"})
			continue
		}
		*am.dst = a
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			v.Addf("limit", custos.CodeInvalidFormat)
		}
		f.Limit = n
	}
	return f, v.Err()
}

func (api *API) searchTransactions(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	if err := noTermsInURL(r, "/api/v1/transactions"); err != nil {
		return err
	}
	return api.searchTransactionsBy(w, r, a, r.URL.Query())
}

// searchTransactionsBody is the transaction search with the terms in the body.
func (api *API) searchTransactionsBody(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	q, err := searchBody(r)
	if err != nil {
		return err
	}
	return api.searchTransactionsBy(w, r, a, q)
}

func (api *API) searchTransactionsBy(w http.ResponseWriter, r *http.Request, a custos.Actor, q url.Values) error {
	f, err := txnFilterOf(q)
	if err != nil {
		return err
	}
	page, err := api.app.SearchTransactions(r.Context(), a, f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (api *API) recordTransaction(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in custos.TransactionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Customer) != "" || strings.TrimSpace(in.CustomerID) != "" {
		return invalid("customer", custos.CodeNotAllowed, custos.Message{ZH: "客户由路径指定，请求体中不得另行指定", EN: "the path names the customer; the body may not name one"})
	}
	t, created, err := api.app.RecordTransaction(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	status := http.StatusOK // the same record was stored before: nothing changed
	if created {
		status = http.StatusCreated
	}
	httpx.WriteJSON(w, status, t)
	return nil
}

type reverseBody struct {
	Reason string `json:"reason"`
}

func (api *API) reverseTransaction(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var b reverseBody
	if err := decode(r, &b); err != nil {
		return err
	}
	t, err := api.app.ReverseTransaction(r.Context(), a, r.PathValue("tid"), b.Reason)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, t)
	return nil
}

func (api *API) getTxnPolicy(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	p, err := api.app.TxnPolicy(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (api *API) putTxnPolicy(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var p custos.TxnPolicy
	if err := decode(r, &p); err != nil {
		return err
	}
	if err := api.app.SetTxnPolicy(r.Context(), a, p); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}
