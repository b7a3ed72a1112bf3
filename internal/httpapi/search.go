package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custos-cim/custos"
)

// Search terms that are personal data — a name, an ID number, a phone, an
// account number — never stand in a URL, which proxies, access logs and
// shell histories keep. The searches that take them are POSTs to
// …/search with the filter as a JSON object in the body (the same names as
// the GET listing's query parameters); the GET listings refuse them with a
// field error that says where they belong.

// personalTerms are the query parameters refused in a listing's URL.
var personalTerms = map[string][]string{
	"/api/v1/customers":    {"name", "id_number", "phone", "uscc"},
	"/api/v1/transactions": {"account", "counterparty_account", "counterparty_name", "counterparty_bank"},
}

// noTermsInURL refuses the personal search terms of a listing in its query string.
func noTermsInURL(r *http.Request, listing string) error {
	q := r.URL.Query()
	var v custos.Validation
	for _, k := range personalTerms[listing] {
		if _, ok := q[k]; ok {
			v.Add(k, "in_url", custos.Message{ZH: "搜索词不得放在网址中，请在 POST " + listing + "/search 的请求正文中提交",
				EN: "search terms must not stand in the URL; send them in the body of POST " + listing + "/search"})
		}
	}
	return v.Err()
}

// searchBody reads a search's JSON object into parameters: strings as
// they are, numbers and booleans as their text.
func searchBody(r *http.Request) (url.Values, error) {
	var m map[string]json.RawMessage
	if err := decodeOptional(r, &m); err != nil {
		return nil, err
	}
	q := url.Values{}
	var v custos.Validation
	for k, raw := range m {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			q.Set(k, s)
			continue
		}
		var n json.Number
		if err := json.Unmarshal(raw, &n); err == nil {
			q.Set(k, n.String())
			continue
		}
		var b bool
		if err := json.Unmarshal(raw, &b); err == nil {
			q.Set(k, strconv.FormatBool(b))
			continue
		}
		if string(raw) == "null" {
			continue
		}
		v.Addf(k, custos.CodeInvalidFormat)
	}
	return q, v.Err()
}

// intParam reads an optional whole number.
func intParam(q url.Values, name string) (int64, error) {
	s := strings.TrimSpace(q.Get(name))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalid(name, custos.CodeInvalidFormat, custos.StandardMessage(custos.CodeInvalidFormat))
	}
	return n, nil
}
