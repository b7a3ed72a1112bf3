package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// The workflow parts of the customer page: the archive's history (R-B1),
// its open and refused requests, the identity verifications (R-A6, R-A10)
// and the business recorded for it (R-A5), with the inspector's and the
// account manager's forms.

type verificationView struct {
	At, Inspector, Method, Note string
	Passed, NameMatches         bool
	Evidence                    []string
}

type businessView struct {
	Kind, Reference, Product, OpenedOn, Created, By string
}

type verifyForm struct {
	Method        string
	Passed        bool
	NameMatches   bool
	Note          string
	Evidence      []option
	MethodOptions []option
	Errors        map[string]string
}

type businessForm struct {
	Kind, Reference, Product, OpenedOn string
	Error                              string // a refusal of the whole form, e.g. not eligible (R-A5)
	KindOptions                        []option
	Errors                             map[string]string
}

var businessKinds = []custos.BusinessKind{custos.BusinessAccount, custos.BusinessContract, custos.BusinessLoan}

// workflowData is embedded in detailData.
type workflowData struct {
	Effective, Eligible, PendingApproval bool
	VerificationClass                    string
	Versions                             []versionRow
	CompareFrom, CompareTo               []option
	Requests                             []requestRow
	Verifications                        []verificationView
	Business                             []businessView
	VerifyForm                           verifyForm
	BusinessForm                         businessForm
	RegisterLink, AccessLink             string
}

// loadWorkflow reads the history, requests, verifications and business of
// a customer for its page. Each read is the service's, audited there.
func (s *server) loadWorkflow(r *http.Request, p *page, c *custos.Customer, d *detailData, atts []*custos.Attachment) error {
	ctx := r.Context()
	names := s.staff(ctx, p)
	w := &d.workflowData
	w.Effective = c.Status == custos.StatusEffective
	w.Eligible = c.MayDoBusiness() == nil
	w.VerificationClass = string(c.Verification)
	w.RegisterLink = "/customers/" + url.PathEscape(c.ID) + "/register"

	vs, err := s.app.Versions(ctx, p.Actor, c.ID)
	if err != nil {
		return err
	}
	w.Versions = versionRows(p, names, vs)
	slices.Reverse(w.Versions) // newest first
	if n := len(vs); n >= 2 {
		w.CompareFrom, w.CompareTo = versionOptions(p, vs, vs[n-2].Version), versionOptions(p, vs, vs[n-1].Version)
	}

	// The requests on this archive the user may see: their own, and those
	// waiting for their decision. (No service lists every request on an
	// archive for those who may read it.)
	mine, err := s.app.Requests(ctx, p.Actor, custos.RequestFilter{CustomerID: c.ID, Limit: 200})
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	var reqs []*custos.Request
	for _, x := range append(mine, p.inboxInfo().reqs...) {
		if x.CustomerID != c.ID || seen[x.ID] || (x.State != custos.RequestPending && x.State != custos.RequestRejected) {
			continue
		}
		seen[x.ID] = true
		reqs = append(reqs, x)
	}
	slices.SortStableFunc(reqs, func(a, b *custos.Request) int { return b.RequestedAt.Compare(a.RequestedAt) })
	for _, x := range reqs {
		w.Requests = append(w.Requests, s.requestRow(p, names, x))
		w.PendingApproval = w.PendingApproval || x.State == custos.RequestPending
	}

	vrs, err := s.app.Verifications(ctx, p.Actor, c.ID)
	if err != nil {
		return err
	}
	attName := map[string]string{}
	for _, a := range atts {
		attName[a.ID] = a.Filename
	}
	for _, v := range vrs {
		vv := verificationView{At: localTime(v.At), Inspector: names.Name(v.InspectorID), Method: translateOr(p, "method."+string(v.Method), string(v.Method)),
			Passed: v.Passed, NameMatches: v.NameMatches, Note: v.Note}
		for _, e := range v.EvidenceIDs {
			if n, ok := attName[e]; ok {
				vv.Evidence = append(vv.Evidence, n)
			} else {
				vv.Evidence = append(vv.Evidence, e)
			}
		}
		w.Verifications = append(w.Verifications, vv)
	}
	slices.Reverse(w.Verifications)

	bs, err := s.app.BusinessRecords(ctx, p.Actor, c.ID)
	if err != nil {
		return err
	}
	for _, b := range bs {
		w.Business = append(w.Business, businessView{Kind: translateOr(p, "business."+string(b.Kind), string(b.Kind)), Reference: b.Reference,
			Product: b.Product, OpenedOn: b.OpenedOn, Created: localTime(b.CreatedAt), By: names.Name(b.CreatedBy)})
	}

	w.VerifyForm = verifyForm{Method: string(custos.VerifyInPerson), NameMatches: true, Errors: map[string]string{}}
	for _, a := range atts {
		w.VerifyForm.Evidence = append(w.VerifyForm.Evidence, option{Value: a.ID, Label: a.Filename + " · " + p.T("attachment."+string(a.Kind))})
	}
	w.BusinessForm = businessForm{Kind: string(custos.BusinessAccount), Errors: map[string]string{}}
	return nil
}

// workflowOptions fills the select options from the forms' current values.
func (w *workflowData) workflowOptions(p *page) {
	w.VerifyForm.MethodOptions = nil
	for _, m := range custos.VerificationMethods {
		w.VerifyForm.MethodOptions = append(w.VerifyForm.MethodOptions, option{Value: string(m), Label: p.T("method." + string(m)), Selected: string(m) == w.VerifyForm.Method})
	}
	w.BusinessForm.KindOptions = nil
	for _, k := range businessKinds {
		w.BusinessForm.KindOptions = append(w.BusinessForm.KindOptions, option{Value: string(k), Label: p.T("business." + string(k)), Selected: string(k) == w.BusinessForm.Kind})
	}
}

// filedNotice says that an edit went to approval, when the request named in
// the URL is one of the archive's pending requests shown.
func filedNotice(p *page, d *detailData, filed string) {
	n, err := strconv.ParseInt(filed, 10, 64)
	if err != nil {
		return
	}
	for _, x := range d.Requests {
		if x.ID == n && x.StateClass == string(custos.RequestPending) {
			p.Notice = strings.ReplaceAll(p.T("edit.filed"), "{n}", filed)
		}
	}
}

// addVerification records an inspector's identity check (R-A6, R-A10).
func (s *server) addVerification(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	id := r.PathValue("id")
	vf := verifyForm{Method: r.PostFormValue("method"), Passed: r.PostFormValue("passed") != "", NameMatches: r.PostFormValue("name_matches") != "",
		Note: r.PostFormValue("note")}
	in := app.VerificationInput{Method: custos.VerificationMethod(vf.Method), Passed: vf.Passed, NameMatches: vf.NameMatches,
		EvidenceIDs: r.PostForm["evidence_ids"], Note: vf.Note}
	_, err := s.app.RecordVerification(r.Context(), p.Actor, id, in)
	if err == nil {
		http.Redirect(w, r, "/customers/"+url.PathEscape(id)+"#verifications", http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && code != custos.EForbidden {
		s.fail(w, r, p, err)
		return
	}
	d, lerr := s.loadDetail(r, p, id, nil, nil)
	if lerr != nil {
		s.fail(w, r, p, lerr)
		return
	}
	vf.Evidence = d.VerifyForm.Evidence
	for i := range vf.Evidence {
		vf.Evidence[i].Selected = slices.Contains(in.EvidenceIDs, vf.Evidence[i].Value)
	}
	vf.Errors = indexedErrors(p, err)
	d.VerifyForm = vf
	p.Error = p.M(custos.ErrorMessageOf(err))
	p.Here = "/customers/" + url.PathEscape(id)
	s.renderDetail(w, p, d, statusOf(code))
}

// addBusiness records an account, contract or loan; the service refuses
// it for a draft or an unverified identity (R-A5), and the refusal is
// shown in the form.
func (s *server) addBusiness(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	id := r.PathValue("id")
	bf := businessForm{Kind: r.PostFormValue("kind"), Reference: strings.TrimSpace(r.PostFormValue("reference")), Product: r.PostFormValue("product"),
		OpenedOn: strings.TrimSpace(r.PostFormValue("opened_on"))}
	_, err := s.app.AddBusiness(r.Context(), p.Actor, id, app.BusinessInput{Kind: custos.BusinessKind(bf.Kind), Reference: bf.Reference, Product: bf.Product, OpenedOn: bf.OpenedOn})
	if err == nil {
		http.Redirect(w, r, "/customers/"+url.PathEscape(id)+"#business", http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && code != custos.EForbidden && code != custos.EConflict {
		s.fail(w, r, p, err)
		return
	}
	d, lerr := s.loadDetail(r, p, id, nil, nil)
	if lerr != nil {
		s.fail(w, r, p, lerr)
		return
	}
	bf.Errors = fieldErrors(p, err)
	if code != custos.EInvalid {
		bf.Error = p.M(custos.ErrorMessageOf(err))
	}
	d.BusinessForm = bf
	p.Error = p.M(custos.ErrorMessageOf(err))
	p.Here = "/customers/" + url.PathEscape(id)
	s.renderDetail(w, p, d, statusOf(code))
}
