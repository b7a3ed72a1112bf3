package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// Approval requests: the inbox of those who decide, the requests one filed,
// one request with its diff and decisions, and the access request form
// (R-A10, R-B1, R-C1–R-C3, R-H1). Who may decide is the service's call
// (custos.Request.MayApprove); the page only shows the forms the service's
// CanDecide and CanCancel allow, and shows the service's refusal when a
// form is posted anyway.

type requestRow struct {
	ID                                        int64
	Link, Kind, KindClass, State, StateClass  string
	Summary, Requester, RequestedAt, Age      string
	DecidedAt, Expires, CustomerLink, Outcome string
}

// pathID reads a numeric path value.
func pathID(r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return n, err == nil && n > 0
}

func requestLink(id int64) string { return "/requests/" + strconv.FormatInt(id, 10) }

func kindLabel(p *page, k custos.RequestKind) string {
	return translateOr(p, "kind."+string(k), string(k))
}

func stateLabel(p *page, st custos.RequestState) string {
	return translateOr(p, "state."+string(st), string(st))
}

// outcomeLabel explains why a request ended.
func outcomeLabel(p *page, o string) string {
	if o == "" {
		return ""
	}
	return translateOr(p, "request_outcome."+o, o)
}

// summaryText renders a request's summary in the page's language. The
// services write it once, without personal data: a change names its fields
// (shown by their labels), an access request its archive, purpose and
// duration, a paper loan its archive, file and due date (in Chinese).
func summaryText(p *page, r *custos.Request) string {
	if s, ok := governanceSummary(p, r); ok {
		return s
	}
	switch r.Kind {
	case custos.KindChange:
		no, fields, ok := strings.Cut(r.Summary, ": ")
		if !ok {
			return r.Summary
		}
		var out []string
		for _, f := range strings.Split(fields, ", ") {
			out = append(out, diffFieldLabel(p, f))
		}
		return no + ": " + strings.Join(out, "、")
	case custos.KindAccess:
		parts := strings.Split(r.Summary, " · ")
		if len(parts) != 3 {
			return r.Summary
		}
		return parts[0] + " · " + p.purposeName(parts[1]) + " · " + durationLabel(p, parts[2])
	case custos.KindPaperLoan:
		parts := strings.Split(r.Summary, " · ")
		due, ok := strings.CutPrefix(parts[len(parts)-1], "至 ")
		if len(parts) != 3 || !ok {
			return r.Summary
		}
		return parts[0] + " · " + fmt.Sprintf(p.T("paper.summary_file"), r.SubjectID) + " · " + fmt.Sprintf(p.T("paper.summary_due"), due)
	}
	return r.Summary
}

// reasonText shows the reasons the services write themselves in the
// page's language.
func reasonText(p *page, r *custos.Request) string {
	if r.Kind == custos.KindOnboarding && r.Reason == "new archive" {
		return p.T("request.reason_new_archive")
	}
	if k, ok := governanceReasons[r.Reason]; ok && r.Kind != custos.KindChange && r.Kind != custos.KindCorrection {
		return p.T(k)
	}
	return r.Reason
}

// age says how long ago something happened, roughly.
func (s *server) age(p *page, t time.Time) string {
	d := s.app.Clock().Now().Sub(t)
	switch {
	case d < time.Hour:
		return fmt.Sprintf(p.T("age.minutes"), max(int(d/time.Minute), 0))
	case d < 48*time.Hour:
		return fmt.Sprintf(p.T("age.hours"), int(d/time.Hour))
	}
	return fmt.Sprintf(p.T("age.days"), int(d/(24*time.Hour)))
}

func (s *server) requestRow(p *page, names *staffNames, r *custos.Request) requestRow {
	row := requestRow{ID: r.ID, Link: requestLink(r.ID), Kind: kindLabel(p, r.Kind), KindClass: string(r.Kind), State: stateLabel(p, r.State),
		StateClass: string(r.State), Summary: summaryText(p, r), Requester: names.Name(r.RequestedBy), RequestedAt: localTime(r.RequestedAt),
		Age: s.age(p, r.RequestedAt), Expires: localTime(r.ExpiresAt), Outcome: outcomeLabel(p, r.Outcome)}
	if r.RequestedByCustomer {
		row.Requester = p.T("request.requester_customer") // the customer, in the self-service portal (R-B5)
	}
	if r.DecidedAt != nil {
		row.DecidedAt = localTime(*r.DecidedAt)
	}
	if r.CustomerID != "" {
		row.CustomerLink = "/customers/" + url.PathEscape(r.CustomerID)
	}
	return row
}

type inboxData struct {
	Rows     []requestRow
	Approver bool
}

// inboxPage lists the pending requests the user may decide, oldest first.
func (s *server) inboxPage(w http.ResponseWriter, r *http.Request, p *page) {
	reqs, err := s.app.Inbox(r.Context(), p.Actor)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	slices.SortStableFunc(reqs, func(a, b *custos.Request) int { return a.RequestedAt.Compare(b.RequestedAt) })
	names := s.staff(r.Context(), p)
	d := inboxData{Approver: p.Approver()}
	for _, x := range reqs {
		d.Rows = append(d.Rows, s.requestRow(p, names, x))
	}
	p.Title, p.Data = "inbox.title", d
	s.render(w, p, http.StatusOK, "inbox")
}

type requestsData struct {
	All                       bool // compliance and auditors see everyone's
	State, Kind               string
	StateOptions, KindOptions []option
	Rows                      []requestRow
}

// requestsPage lists the requests the user filed (everyone's for
// compliance and auditors), newest first.
func (s *server) requestsPage(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	d := &requestsData{All: p.Actor.Role == custos.RoleAuditor || p.Actor.Role == custos.RoleCompliance, State: q.Get("state"), Kind: q.Get("kind")}
	f := custos.RequestFilter{Limit: 500, State: custos.RequestState(d.State), Kind: custos.RequestKind(d.Kind)}
	all := option{Value: "", Label: p.T("filter.all")}
	d.StateOptions = []option{all}
	for _, st := range custos.RequestStates {
		d.StateOptions = append(d.StateOptions, option{Value: string(st), Label: stateLabel(p, st)})
	}
	d.KindOptions = []option{all}
	for _, k := range custos.RequestKinds {
		d.KindOptions = append(d.KindOptions, option{Value: string(k), Label: kindLabel(p, k)})
	}
	selectOptions(string(f.State), d.StateOptions)
	selectOptions(string(f.Kind), d.KindOptions)
	p.Title = "requests.title"
	if d.All {
		p.Title = "requests.all_title"
	}
	p.Data = d
	reqs, err := s.app.Requests(r.Context(), p.Actor, f)
	if err != nil {
		if custos.ErrorCodeOf(err) != custos.EInvalid {
			s.fail(w, r, p, err)
			return
		}
		p.Error, p.Errors = p.T("filter.invalid"), filterErrors(p, err, map[string]string{"state": "request.state", "kind": "request.kind", "limit": "request.limit"})
		s.render(w, p, http.StatusUnprocessableEntity, "requests")
		return
	}
	slices.SortStableFunc(reqs, func(a, b *custos.Request) int { return b.RequestedAt.Compare(a.RequestedAt) })
	names := s.staff(r.Context(), p)
	for _, x := range reqs {
		d.Rows = append(d.Rows, s.requestRow(p, names, x))
	}
	s.render(w, p, http.StatusOK, "requests")
}

type changeRow struct{ Field, Old, New string }

type decisionRow struct {
	By, Verdict, Comment, At string
	Approve                  bool
}

type accessView struct {
	ArchiveNo, Purpose, Duration, User string
	Actions                            []string
}

type paperLoanView struct {
	FileLink, Borrower, Due string
	FileID                  int64
}

type requestData struct {
	requestRow
	Reason, ArchiveNo, AppliedAt string
	Required, Approvals          int
	Changes                      []changeRow
	Access                       *accessView
	Paper                        *paperLoanView
	Closure                      *closureView
	Account                      *accountView
	Rule                         *ruleView
	Policy                       *policyView
	Decisions                    []decisionRow
	CanDecide, CanCancel, Own    bool
	Pending                      bool
	Comment                      string
	CommentError                 string
}

// requestPage shows one request to whoever the service lets see it.
func (s *server) requestPage(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "rid")
	if !ok {
		s.notFound(w, p)
		return
	}
	switch r.URL.Query().Get("done") {
	case "approved", "rejected", "cancelled", "filed":
		p.Notice = p.T("request.done_" + r.URL.Query().Get("done"))
	}
	s.renderRequest(w, r, p, id, "", "", http.StatusOK)
}

func (s *server) renderRequest(w http.ResponseWriter, r *http.Request, p *page, id int64, comment, commentErr string, status int) {
	ctx := r.Context()
	v, err := s.app.Request(ctx, p.Actor, id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	names := s.staff(ctx, p)
	d := requestData{requestRow: s.requestRow(p, names, v.Request), Reason: reasonText(p, v.Request), ArchiveNo: v.ArchiveNo, Required: max(v.Required, 1),
		CanDecide: v.CanDecide, CanCancel: v.CanCancel, Own: v.IsRequester(p.Actor), Pending: v.State == custos.RequestPending,
		Comment: comment, CommentError: commentErr}
	if v.AppliedAt != nil {
		d.AppliedAt = localTime(*v.AppliedAt)
	}
	if d.ArchiveNo == "" && v.Kind == custos.KindAccess {
		d.ArchiveNo = v.SubjectID
	}
	for _, c := range v.Changes {
		d.Changes = append(d.Changes, changeRow{Field: diffFieldLabel(p, c.Field), Old: c.Old, New: c.New})
	}
	if a := v.Access; a != nil {
		av := &accessView{ArchiveNo: a.ArchiveNo, Purpose: p.purposeName(a.Purpose), Duration: durationLabel(p, a.Duration), User: names.Name(a.UserID)}
		for _, act := range a.Actions {
			av.Actions = append(av.Actions, translateOr(p, "action."+string(act), string(act)))
		}
		d.Access = av
	}
	if pl := v.Paper; pl != nil {
		d.Paper = &paperLoanView{FileID: pl.FileID, Borrower: names.Name(pl.BorrowerID), Due: pl.DueAt.UTC().Format(time.DateOnly)}
		if p.Can(string(custos.ActPaperManage)) {
			d.Paper.FileLink = paperLink(pl.FileID)
		}
	}
	s.governanceViews(p, v, &d, func(id int64) string {
		orgs, err := s.app.Orgs(ctx)
		if err == nil {
			for _, o := range orgs {
				if o.ID == id {
					return p.L(o.Name, o.NameEN)
				}
			}
		}
		return fmt.Sprint(id)
	})
	for _, x := range v.Decisions {
		dr := decisionRow{By: names.WithRole(x.By, x.Role), Comment: x.Comment, At: localTime(x.At), Approve: x.Approve, Verdict: p.T("request.rejected_by")}
		if x.Approve {
			dr.Verdict = p.T("request.approved_by")
			d.Approvals++
		}
		d.Decisions = append(d.Decisions, dr)
	}
	p.Title = fmt.Sprintf(p.T("request.title"), v.ID)
	p.Here = requestLink(id)
	p.Data = d
	s.render(w, p, status, "request")
}

// decideRequest records an approval or a rejection. A rejection needs a
// comment; a requester deciding their own request, or anyone else the
// rules exclude, gets the service's refusal on the request page.
func (s *server) decideRequest(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "rid")
	if !ok {
		s.notFound(w, p)
		return
	}
	r.ParseForm()
	comment := r.PostFormValue("comment")
	decision := r.PostFormValue("decision")
	if decision != "approve" && decision != "reject" {
		p.Error = p.T("request.choose_decision")
		s.renderRequest(w, r, p, id, comment, "", http.StatusUnprocessableEntity)
		return
	}
	_, err := s.app.DecideRequest(r.Context(), p.Actor, id, decision == "approve", comment)
	if err == nil {
		done := "approved"
		if decision == "reject" {
			done = "rejected"
		}
		http.Redirect(w, r, requestLink(id)+"?done="+done, http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	switch code {
	case custos.EInvalid, custos.EForbidden, custos.EConflict:
		p.Error = p.M(custos.ErrorMessageOf(err))
		s.renderRequest(w, r, p, id, comment, fieldErrors(p, err)["comment"], statusOf(code))
	default:
		s.fail(w, r, p, err)
	}
}

// cancelRequest withdraws the user's own pending request.
func (s *server) cancelRequest(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "rid")
	if !ok {
		s.notFound(w, p)
		return
	}
	err := s.app.CancelRequest(r.Context(), p.Actor, id)
	if err == nil {
		http.Redirect(w, r, requestLink(id)+"?done=cancelled", http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code == custos.EForbidden || code == custos.EConflict {
		p.Error = p.M(custos.ErrorMessageOf(err))
		s.renderRequest(w, r, p, id, "", "", statusOf(code))
		return
	}
	s.fail(w, r, p, err)
}

// The access request form (R-C1, R-C2, R-C6).

// accessDurations are the periods the form offers; the service caps them.
var accessDurations = []string{"2h", "8h", "24h", "72h", "168h", "720h"}

func durationLabel(p *page, d string) string {
	x, err := time.ParseDuration(d)
	switch {
	case err != nil || x <= 0:
		return d
	case x >= 24*time.Hour && x%(24*time.Hour) == 0:
		return fmt.Sprintf(p.T("duration.days"), int(x/(24*time.Hour)))
	case x%time.Hour == 0:
		return fmt.Sprintf(p.T("duration.hours"), int(x/time.Hour))
	}
	return x.String()
}

type accessData struct {
	ArchiveNo, Purpose, Duration, Reason           string
	ActionOptions, PurposeOptions, DurationOptions []option
	Errors                                         map[string]string
}

func (s *server) accessForm(w http.ResponseWriter, r *http.Request, p *page) {
	in := app.AccessInput{ArchiveNo: strings.TrimSpace(r.URL.Query().Get("archive_no")), Actions: []custos.Action{custos.ActCustomerRead},
		Purpose: p.Sess.Purpose, Duration: "24h"}
	s.renderAccess(w, r, p, in, nil, http.StatusOK)
}

func (s *server) renderAccess(w http.ResponseWriter, r *http.Request, p *page, in app.AccessInput, errs map[string]string, status int) {
	ps, err := s.app.Purposes(r.Context())
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	d := accessData{ArchiveNo: in.ArchiveNo, Purpose: in.Purpose, Duration: in.Duration, Reason: in.Reason, Errors: errs}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	for _, a := range custos.GrantableActions {
		d.ActionOptions = append(d.ActionOptions, option{Value: string(a), Label: translateOr(p, "action."+string(a), string(a)), Selected: slices.Contains(in.Actions, a)})
	}
	d.PurposeOptions = []option{{Value: "", Label: p.T("form.choose")}}
	for _, x := range ps {
		if x.Active {
			d.PurposeOptions = append(d.PurposeOptions, option{Value: x.Code, Label: p.L(x.NameZH, x.NameEN)})
		}
	}
	selectOptions(in.Purpose, d.PurposeOptions)
	for _, x := range accessDurations {
		d.DurationOptions = append(d.DurationOptions, option{Value: x, Label: durationLabel(p, x)})
	}
	selectOptions(in.Duration, d.DurationOptions)
	p.Title, p.Here, p.Data = "access.title", "/access-requests/new", d
	s.render(w, p, status, "access")
}

// accessCreate files an access request; the answer is the same whether or
// not the archive exists (the service's rule).
func (s *server) accessCreate(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	in := app.AccessInput{ArchiveNo: strings.TrimSpace(r.PostFormValue("archive_no")), Purpose: r.PostFormValue("purpose"),
		Duration: r.PostFormValue("duration"), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	for _, a := range r.PostForm["actions"] {
		in.Actions = append(in.Actions, custos.Action(a))
	}
	if len(in.Actions) == 0 {
		in.Actions = []custos.Action{custos.ActCustomerRead}
	}
	req, err := s.app.RequestAccess(r.Context(), p.Actor, in)
	if err == nil {
		http.Redirect(w, r, requestLink(req.ID)+"?done=filed", http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && code != custos.EForbidden {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	s.renderAccess(w, r, p, in, indexedErrors(p, err), statusOf(code))
}

// indexedErrors is fieldErrors with list positions dropped ("actions[1]"
// is shown at "actions").
func indexedErrors(p *page, err error) map[string]string {
	out := map[string]string{}
	for k, v := range fieldErrors(p, err) {
		if i := strings.IndexByte(k, '['); i > 0 {
			k = k[:i]
		}
		if prev, ok := out[k]; ok && prev != v {
			v = prev + "; " + v
		}
		out[k] = v
	}
	return out
}
