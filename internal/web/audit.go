package web

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

type auditData struct {
	Actor, CustomerID, Action, Outcome, From, To string
	OutcomeOptions                               []option
	Rows                                         []auditRow
	More, Export                                 string
	Limit                                        int
}

type auditRow struct {
	Seq                                                                                           int64
	At, Actor, Role, Action, Target, Purpose, Outcome, Reason, Via, ClientAddr, RequestID, Detail string
}

const auditPageSize = 100

// auditQuery reads the audit search from the URL. Dates are whole days in
// China Standard Time; "to" includes its day.
func auditQuery(r *http.Request) (app.AuditQuery, map[string]string) {
	qv := r.URL.Query()
	v := func(k string) string { return strings.TrimSpace(qv.Get(k)) }
	q := app.AuditQuery{CustomerID: v("customer_id")}
	q.Actor = custos.NormalizeUsername(v("actor"))
	q.Action = v("action")
	q.Outcome = custos.Outcome(v("outcome"))
	q.Limit = auditPageSize
	errs := map[string]string{}
	if s := v("from"); s != "" {
		t, err := time.ParseInLocation(time.DateOnly, s, cst)
		if err != nil {
			errs["from"] = "invalid"
		}
		q.From = t
	}
	if s := v("to"); s != "" {
		t, err := time.ParseInLocation(time.DateOnly, s, cst)
		if err != nil {
			errs["to"] = "invalid"
		}
		q.To = t.AddDate(0, 0, 1)
	}
	if s := v("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			errs["before"] = "invalid"
		}
		q.AfterSeq = n
	}
	return q, errs
}

// auditPage lets auditors and compliance search the audit trail (R-C5).
func (s *server) auditPage(w http.ResponseWriter, r *http.Request, p *page) {
	q, errs := auditQuery(r)
	qv := r.URL.Query()
	d := auditData{Actor: qv.Get("actor"), CustomerID: qv.Get("customer_id"), Action: qv.Get("action"), Outcome: qv.Get("outcome"),
		From: qv.Get("from"), To: qv.Get("to"), Limit: auditPageSize}
	d.OutcomeOptions = selectOptions(d.Outcome, []option{{Value: "", Label: p.T("filter.all")}, {Value: "ok", Label: p.T("outcome.ok")},
		{Value: "denied", Label: p.T("outcome.denied")}, {Value: "failed", Label: p.T("outcome.failed")}})
	if len(errs) > 0 {
		p.Error = p.T("filter.invalid")
		for _, k := range []string{"from", "to", "before"} {
			if errs[k] != "" {
				code := custos.CodeInvalidDate
				if k == "before" {
					code = custos.CodeInvalidFormat
				}
				p.Errors = append(p.Errors, fieldMessage{Field: p.T("audit." + k), Message: p.M(custos.StandardMessage(code))})
			}
		}
		if !custos.Allowed(p.Actor, custos.ActAuditRead).Allowed {
			s.fail(w, r, p, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed"))
			return
		}
		p.Title, p.Data = "audit.title", d
		s.render(w, p, http.StatusUnprocessableEntity, "audit")
		return
	}
	events, err := s.app.SearchAudit(r.Context(), p.Actor, q)
	if err != nil {
		if custos.ErrorCodeOf(err) != custos.EInvalid {
			s.fail(w, r, p, err)
			return
		}
		p.Error, p.Errors = p.T("filter.invalid"), filterErrors(p, err, map[string]string{"outcome": "audit.outcome", "before_seq": "audit.before",
			"limit": "audit.limit", "actor_id": "audit.actor", "to": "audit.to"})
		p.Title, p.Data = "audit.title", d
		s.render(w, p, http.StatusUnprocessableEntity, "audit")
		return
	}
	for _, e := range events {
		row := auditRow{Seq: e.Seq, At: e.At.In(cst).Format("2006-01-02 15:04:05"), Actor: e.Actor, Role: p.M(custos.Role(e.Role).Label()), Action: e.Action,
			Purpose: e.Purpose, Outcome: string(e.Outcome), Reason: e.Reason, Via: e.Via, ClientAddr: e.ClientAddr, RequestID: e.RequestID, Detail: e.Detail}
		if e.TargetType != "" {
			ref := e.TargetRef
			if len(ref) > 12 {
				ref = ref[:12] + "…"
			}
			row.Target = e.TargetType + " " + ref
		}
		d.Rows = append(d.Rows, row)
	}
	base := url.Values{}
	for _, k := range []string{"actor", "customer_id", "action", "outcome", "from", "to"} {
		if v := qv.Get(k); v != "" {
			base.Set(k, v)
		}
	}
	if len(events) == auditPageSize {
		more := url.Values{}
		for k, v := range base {
			more[k] = v
		}
		more.Set("before", strconv.FormatInt(events[len(events)-1].Seq, 10))
		d.More = "/audit?" + more.Encode()
	}
	if custos.Allowed(p.Actor, custos.ActAuditExport).Allowed {
		d.Export = "/audit/export.csv"
		if len(base) > 0 {
			d.Export += "?" + base.Encode()
		}
	}
	p.Title, p.Data = "audit.title", d
	s.render(w, p, http.StatusOK, "audit")
}

// auditExport downloads the matching events as CSV; the service audits the
// export itself.
func (s *server) auditExport(w http.ResponseWriter, r *http.Request, p *page) {
	q, errs := auditQuery(r)
	if len(errs) > 0 {
		s.fail(w, r, p, custos.Errorf(custos.EInvalid, "日期无效，应为 YYYY-MM-DD", "invalid date, expected YYYY-MM-DD"))
		return
	}
	q.Limit = 10000
	var buf bytes.Buffer
	if _, err := s.app.ExportAudit(r.Context(), p.Actor, q, &buf); err != nil {
		s.fail(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+s.app.Clock().Now().UTC().Format("20060102T150405Z")+`.csv"`)
	w.Write(buf.Bytes())
}
