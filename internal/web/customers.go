package web

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/idcard"
)

// refs is the reference data a customer page shows labels from.
type refs struct {
	cats  []custos.Category
	taxes []custos.Taxonomy
	orgs  []*custos.Org
	defs  []custos.CustomFieldDef
}

func (s *server) loadRefs(ctx context.Context) (*refs, error) {
	var r refs
	var err error
	if r.cats, err = s.app.Categories(ctx); err != nil {
		return nil, err
	}
	if r.taxes, err = s.app.Taxonomies(ctx); err != nil {
		return nil, err
	}
	if r.orgs, err = s.app.Orgs(ctx); err != nil {
		return nil, err
	}
	if r.defs, err = s.app.CustomFieldDefs(ctx, ""); err != nil {
		return nil, err
	}
	return &r, nil
}

func (rf *refs) category(p *page, code string) string {
	for _, c := range rf.cats {
		if c.Code == code {
			return p.L(c.NameZH, c.NameEN)
		}
	}
	return code
}

func (rf *refs) term(p *page, tax, code string) string {
	if code == "" {
		return ""
	}
	for _, t := range rf.taxes {
		if t.Code == tax {
			for _, x := range t.Terms {
				if x.Code == code {
					return p.L(x.NameZH, x.NameEN)
				}
			}
		}
	}
	return code
}

func (rf *refs) org(p *page, id int64) string {
	for _, o := range rf.orgs {
		if o.ID == id {
			return p.L(o.Name, o.NameEN)
		}
	}
	return strconv.FormatInt(id, 10)
}

func (rf *refs) taxonomy(code string) custos.Taxonomy {
	for _, t := range rf.taxes {
		if t.Code == code {
			return t
		}
	}
	return custos.Taxonomy{Code: code}
}

func (rf *refs) formCtx(p *page, typ custos.CustomerType) *formCtx {
	return &formCtx{p: p, typ: typ, cats: rf.cats, taxes: rf.taxes, defs: rf.defs, orgs: rf.orgs}
}

func idTypeLabel(p *page, t string) string {
	if t == "" {
		return ""
	}
	if t == "uscc" {
		return p.T("field.uscc")
	}
	if !idcard.Type(t).Valid() {
		return t
	}
	zh, en := idcard.Type(t).Label()
	return p.L(zh, en)
}

// The catalogue.

type listData struct {
	Method, Action string
	Query          []option // the current search, as hidden inputs for the pager

	Name, IDNumber, Phone, USCC                  string
	Type, Category, Tier, AML, Org, Status, Sort string

	TypeOptions, CategoryOptions, TierOptions, AMLOptions []option
	OrgOptions, StatusOptions, SortOptions                []option

	Rows                         []rowView
	Total, Page, Pages, PageSize int
	Searched                     bool
}

type rowView struct {
	ID, ArchiveNo, Name, Type, Category, Tier, AML, Unit, Phone, IDType, IDNumber, Status, StatusClass string
	Protected                                                                                          bool
}

func selectOptions(cur string, opts []option) []option {
	for i := range opts {
		opts[i].Selected = opts[i].Value == cur
	}
	return opts
}

// list is the catalogue with search, filters, sorting and paging (R-A1,
// R-E2). The search form posts, so that names and identity numbers never
// stand in a URL, the browser history or a proxy log (R-C9); GET with the
// same parameters works too, for links from the summary.
func (s *server) list(w http.ResponseWriter, r *http.Request, p *page) {
	rf, err := s.loadRefs(r.Context())
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	// Search terms (name, ID number, phone, USCC) come only from the body
	// of the search form's POST, never from a URL, which the browser's
	// history and logs on the way would keep; a GET lists without them.
	src := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, p, custos.Errorf(custos.EInvalid, "表单无法解析", "the form cannot be read"))
			return
		}
		src = r.PostForm
	}
	v := func(k string) string { return strings.TrimSpace(src.Get(k)) }
	d := listData{Method: "get", Action: "/customers",
		Type: v("type"), Category: v("category"), Tier: v("tier"), AML: v("aml_risk"), Org: v("org"), Status: v("status"), Sort: v("sort")}
	if r.Method == http.MethodPost {
		d.Method, d.Action = "post", "/customers/search"
		d.Name, d.IDNumber, d.Phone, d.USCC = v("name"), v("id_number"), v("phone"), v("uscc")
	}
	f := custos.CustomerFilter{Type: custos.CustomerType(d.Type), Category: d.Category, Status: custos.ArchiveStatus(d.Status),
		Name: d.Name, IDNumber: d.IDNumber, Phone: d.Phone, USCC: d.USCC, Sort: d.Sort, PageSize: 20}
	var bad custos.Validation
	f.Page = int(min(formInt(&bad, "page", v("page")), custos.MaxPage+1))
	if n := formInt(&bad, "page_size", v("page_size")); n != 0 {
		f.PageSize = int(min(n, custos.MaxPageSize+1))
	}
	f.OrgID = formInt(&bad, "org_id", d.Org)
	for tax, val := range map[string]string{custos.TaxTier: d.Tier, custos.TaxAMLRisk: d.AML} {
		if val != "" {
			if f.Classes == nil {
				f.Classes = map[string]string{}
			}
			f.Classes[tax] = val
		}
	}
	d.Searched = d.Name != "" || d.IDNumber != "" || d.Phone != "" || d.USCC != ""
	status := http.StatusOK
	res, err := &custos.CustomerPage{Page: 1, PageSize: 20}, bad.Err()
	if err == nil {
		res, err = s.app.SearchCustomers(r.Context(), p.Actor, f)
	}
	if err != nil {
		if custos.ErrorCodeOf(err) != custos.EInvalid {
			s.fail(w, r, p, err)
			return
		}
		p.Error, p.Errors = p.T("filter.invalid"), filterErrors(p, err, map[string]string{"type": "field.type", "category": "field.category",
			"status": "field.status", "sort": "list.sort", "page": "list.page", "page_size": "list.page_size", "org_id": "field.unit",
			"class": "filter.field", "name": "field.name", "id_number": "field.id_number", "phone": "field.phone", "uscc": "field.uscc"})
		res, status = &custos.CustomerPage{Page: 1, PageSize: 20}, http.StatusUnprocessableEntity
	}
	d.Total, d.Page, d.PageSize = res.Total, res.Page, res.PageSize
	d.Pages = (res.Total + res.PageSize - 1) / max(res.PageSize, 1)
	for _, c := range res.Items {
		d.Rows = append(d.Rows, s.row(p, rf, c))
	}
	for _, k := range []struct{ name, val string }{{"name", d.Name}, {"id_number", d.IDNumber}, {"phone", d.Phone}, {"uscc", d.USCC},
		{"type", d.Type}, {"category", d.Category}, {"tier", d.Tier}, {"aml_risk", d.AML}, {"org", d.Org}, {"status", d.Status}, {"sort", d.Sort}} {
		if k.val != "" {
			d.Query = append(d.Query, option{Value: k.val, Label: k.name})
		}
	}
	if f.PageSize != 20 {
		d.Query = append(d.Query, option{Value: strconv.Itoa(f.PageSize), Label: "page_size"})
	}

	all := option{Value: "", Label: p.T("filter.all")}
	d.TypeOptions = selectOptions(d.Type, []option{all, {Value: "person", Label: p.T("type.person")}, {Value: "institution", Label: p.T("type.institution")}})
	d.CategoryOptions = []option{all}
	for _, c := range rf.cats {
		d.CategoryOptions = append(d.CategoryOptions, option{Value: c.Code, Label: p.L(c.NameZH, c.NameEN)})
	}
	selectOptions(d.Category, d.CategoryOptions)
	termOptions := func(tax, cur string) []option {
		out := []option{all}
		for _, x := range rf.taxonomy(tax).Terms {
			out = append(out, option{Value: x.Code, Label: p.L(x.NameZH, x.NameEN)})
		}
		return selectOptions(cur, out)
	}
	d.TierOptions = termOptions(custos.TaxTier, d.Tier)
	d.AMLOptions = termOptions(custos.TaxAMLRisk, d.AML)
	d.OrgOptions = []option{all}
	for _, o := range rf.orgs {
		d.OrgOptions = append(d.OrgOptions, option{Value: strconv.FormatInt(o.ID, 10), Label: p.L(o.Name, o.NameEN)})
	}
	selectOptions(d.Org, d.OrgOptions)
	d.StatusOptions = selectOptions(d.Status, []option{all, {Value: "draft", Label: p.T("status.draft")}, {Value: "effective", Label: p.T("status.effective")}, {Value: "closed", Label: p.T("status.closed")}})
	for _, k := range custos.SortKeys {
		d.SortOptions = append(d.SortOptions, option{Value: k, Label: p.T("sort." + k)})
	}
	if d.Sort == "" {
		selectOptions("-created_at", d.SortOptions)
	} else {
		selectOptions(d.Sort, d.SortOptions)
	}
	p.Title = "list.title"
	p.Data = d
	s.render(w, p, status, "list")
}

func (s *server) row(p *page, rf *refs, c *custos.Customer) rowView {
	v := rowView{ID: c.ID, ArchiveNo: c.ArchiveNo, Name: c.Name(), Type: p.T("type." + string(c.Type)), Category: rf.category(p, c.Category),
		Tier: rf.term(p, custos.TaxTier, c.Classes[custos.TaxTier]), AML: rf.term(p, custos.TaxAMLRisk, c.Classes[custos.TaxAMLRisk]),
		Unit: rf.org(p, c.OrgID), Status: p.T("status." + string(c.Status)), StatusClass: string(c.Status), Protected: c.Sensitivity == custos.Protected}
	idType, num := c.PrimaryID()
	v.IDType, v.IDNumber = idTypeLabel(p, idType), num
	switch {
	case c.Person != nil && len(c.Person.Phones) > 0:
		v.Phone = c.Person.Phones[0]
	case c.Institution != nil:
		v.Phone = c.Institution.Phone
	}
	return v
}

// The catalogue summary.

type countView struct {
	Label, Link string
	Count       int
}

type catalogueData struct {
	Total                     int
	ByOrg, ByCategory, ByTier []countView
	Rows                      []catalogueRow
}

type catalogueRow struct {
	Org, Category, Tier, Link string
	Count                     int
}

// catalogue counts the customers in the user's scope by unit, category and
// tier (R-A1).
func (s *server) catalogue(w http.ResponseWriter, r *http.Request, p *page) {
	rf, err := s.loadRefs(r.Context())
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	entries, err := s.app.Catalogue(r.Context(), p.Actor)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	var d catalogueData
	group := func(list *[]countView, label, link string, n int) {
		for i := range *list {
			if (*list)[i].Link == link {
				(*list)[i].Count += n
				return
			}
		}
		*list = append(*list, countView{Label: label, Link: link, Count: n})
	}
	noTier := p.T("catalogue.no_tier")
	for _, e := range entries {
		d.Total += e.Count
		org := strconv.FormatInt(e.OrgID, 10)
		tier := rf.term(p, custos.TaxTier, e.Tier)
		if tier == "" {
			tier = noTier
		}
		group(&d.ByOrg, rf.org(p, e.OrgID), "/customers?org="+org, e.Count)
		group(&d.ByCategory, rf.category(p, e.Category), "/customers?category="+url.QueryEscape(e.Category), e.Count)
		tierLink := "/customers"
		if e.Tier != "" {
			tierLink += "?tier=" + url.QueryEscape(e.Tier)
		}
		group(&d.ByTier, tier, tierLink, e.Count)
		link := "/customers?org=" + org + "&category=" + url.QueryEscape(e.Category)
		if e.Tier != "" {
			link += "&tier=" + url.QueryEscape(e.Tier)
		}
		d.Rows = append(d.Rows, catalogueRow{Org: rf.org(p, e.OrgID), Category: rf.category(p, e.Category), Tier: tier, Link: link, Count: e.Count})
	}
	p.Title = "catalogue.title"
	p.Data = d
	s.render(w, p, http.StatusOK, "catalogue")
}

// Create and edit.

func formType(s string) custos.CustomerType {
	if s == string(custos.TypeInstitution) {
		return custos.TypeInstitution
	}
	return custos.TypePerson
}

// mayPlace reports whether the user may create customers for other units
// or owners, which decides whether the form offers the choice.
func mayPlace(p *page) bool {
	return custos.Decide(p.Actor, custos.ActCustomerCreate, custos.CustomerACL{OrgPath: p.Actor.OrgPath, OwnerID: p.Actor.UserID + 1}).Allowed
}

func (s *server) newForm(w http.ResponseWriter, r *http.Request, p *page) {
	rf, err := s.loadRefs(r.Context())
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	typ := formType(r.URL.Query().Get("type"))
	fc := rf.formCtx(p, typ)
	secs := fc.sections(mayPlace(p))
	in := custos.CustomerInput{Type: typ, Category: "retail"}
	if typ == custos.TypePerson {
		in.Nationality, in.IDType = "CN", string(idcard.CNResidentID)
	} else {
		in.Category = "corporate"
		in.LegalRepresentative = &custos.Party{IDType: string(idcard.CNResidentID)}
	}
	s.renderForm(w, p, fc, secs, valuesOf(in, secs), nil, formView{Type: typ, Action: "/customers", Create: true, Cancel: "/customers"}, http.StatusOK)
}

func (s *server) renderForm(w http.ResponseWriter, p *page, fc *formCtx, secs []section, vals, errs map[string]string, fv formView, status int) {
	var rest []fieldMessage
	fv.Sections, rest = fc.view(secs, vals, errs)
	for i := range rest {
		rest[i].Field = fieldLabel(p, secs, rest[i].Field)
	}
	p.Errors = rest
	if fv.Create {
		p.Title = "new." + string(fv.Type)
		p.Here = "/customers/new?type=" + string(fv.Type)
	} else {
		p.Title = "edit.title"
		if fv.Effective {
			p.Title = "edit.title_effective"
		}
		p.Here = fv.Action // the edit page answers GET too
	}
	p.Data = fv
	s.render(w, p, status, "form")
}

// fieldLabel names a field in an error list: its label when the form has it.
func fieldLabel(p *page, secs []section, name string) string {
	for _, s := range secs {
		for _, f := range s.Fields {
			if f.Name == name {
				if f.Literal {
					return f.Label
				}
				return p.T(f.Label)
			}
		}
	}
	switch name {
	case "":
		return p.T("form.general")
	case "type", "org", "owner":
		return p.T("field." + name)
	}
	return name
}

// create stores a new customer from the form (R-A1–R-A3). Invalid input
// comes back with each message next to its field and nothing stored.
func (s *server) create(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	rf, err := s.loadRefs(r.Context())
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	typ := formType(r.PostFormValue("type"))
	fc := rf.formCtx(p, typ)
	secs := fc.sections(mayPlace(p))
	vals := postedValues(r, secs)
	in := custos.CustomerInput{Type: typ}
	apply(&in, vals, secs)
	c, err := s.app.CreateCustomer(r.Context(), p.Actor, in)
	if err != nil {
		code := custos.ErrorCodeOf(err)
		switch code {
		case custos.EInvalid, custos.EConflict, custos.EForbidden:
			p.Error = p.M(custos.ErrorMessageOf(err))
			s.renderForm(w, p, fc, secs, vals, fieldErrors(p, err), formView{Type: typ, Action: "/customers", Create: true, Cancel: "/customers"}, statusOf(code))
		default:
			s.fail(w, r, p, err)
		}
		return
	}
	http.Redirect(w, r, "/customers/"+url.PathEscape(c.ID), http.StatusSeeOther)
}

func statusOf(code custos.ErrorCode) int {
	switch code {
	case custos.EInvalid:
		return http.StatusUnprocessableEntity
	case custos.EConflict:
		return http.StatusConflict
	case custos.EForbidden:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// editForm shows the customer as the user may see it: masked. Masked
// values that come back unchanged keep the stored value (see keepMasked).
// An effective archive changes only through a change request, which needs a
// reason and a manager's approval (R-B1); a draft changes at once.
func (s *server) editForm(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	c, err := s.app.GetCustomer(r.Context(), p.Actor, id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	rf, err := s.loadRefs(r.Context())
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	fc := rf.formCtx(p, c.Type)
	secs := fc.sections(false)
	fv := editView(c.Type, id, c.Version)
	fv.Effective = c.Status == custos.StatusEffective
	s.renderForm(w, p, fc, secs, valuesOf(custos.InputOf(c), secs), nil, fv, http.StatusOK)
}

func editView(typ custos.CustomerType, id string, version int64) formView {
	return formView{Type: typ, Action: "/customers/" + url.PathEscape(id) + "/edit", Version: version, Cancel: "/customers/" + url.PathEscape(id)}
}

// update applies the edit form with optimistic locking: a version that
// changed in between is a conflict, shown with the form as submitted. A
// draft is saved; for an effective archive the service files a change
// request, and the customer page says so and keeps showing the old values.
func (s *server) update(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	id := r.PathValue("id")
	rf, err := s.loadRefs(r.Context())
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	typ := formType(r.PostFormValue("type"))
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	fc := rf.formCtx(p, typ)
	secs := fc.sections(false)
	vals := postedValues(r, secs)
	ch, err := s.app.ChangeCustomer(r.Context(), p.Actor, id, version, reason, func(in *custos.CustomerInput) error {
		if in.Type != typ {
			return custos.ErrNotFound // a form for another customer
		}
		apply(in, keepMasked(vals), secs)
		return nil
	})
	if err != nil {
		code := custos.ErrorCodeOf(err)
		switch code {
		case custos.EInvalid, custos.EConflict, custos.EForbidden:
			p.Error = p.M(custos.ErrorMessageOf(err))
			if code == custos.EConflict {
				p.Notice = p.T("edit.conflict")
			}
			errs := fieldErrors(p, err)
			fv := editView(typ, id, version)
			fv.Effective = r.PostFormValue("effective") != "" || errs["reason"] != ""
			fv.Reason, fv.ReasonError = reason, errs["reason"]
			delete(errs, "reason")
			s.renderForm(w, p, fc, secs, vals, errs, fv, statusOf(code))
		default:
			s.fail(w, r, p, err)
		}
		return
	}
	loc := "/customers/" + url.PathEscape(id)
	if ch.Request != nil {
		loc += "?filed=" + strconv.FormatInt(ch.Request.ID, 10)
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// The customer page.

type detailData struct {
	ID, ArchiveNo, Name, Type, Category, Unit string
	Status, StatusClass, Verification         string
	Protected                                 bool
	ProtectedReason, Created, Updated         string
	Version                                   int64

	Sections    []sectionView
	ExtraPhones []string
	ExtraIDs    []partyView
	Parties     []partyView

	Checklist    []checkView
	Completeness int
	HasChecklist bool
	Attachments  []attachmentView
	Timeline     []timelineView

	Revealed      []string
	RevealOptions []option

	TimelineForm     timelineForm
	AttachForm       attachForm
	ChecklistOptions []option

	workflowData
}

type partyView struct{ Role, Name, IDType, IDNumber, Expiry, Phone, Share string }

type checkView struct {
	Name               string
	Required, Received bool
}

type attachmentView struct {
	ID, Name, Kind, ContentType, Size, Checklist, Created, Link string
}

type timelineView struct {
	Kind, KindClass, OccurredOn, Period, Title, Body, Created string
}

type timelineForm struct {
	Kind, OccurredOn, Period, Title, Body string
	Errors                                map[string]string
	KindOptions                           []option
}

type attachForm struct {
	Kind, Checklist string
	Errors          map[string]string
	KindOptions     []option
}

var timelineKinds = []custos.TimelineKind{custos.TimelineContact, custos.TimelineChange, custos.TimelineResult, custos.TimelineReport, custos.TimelineNote}
var attachmentKinds = []custos.AttachmentKind{custos.AttachIDScan, custos.AttachLicence, custos.AttachReport, custos.AttachContract, custos.AttachVoucher, custos.AttachOther}

func (s *server) detail(w http.ResponseWriter, r *http.Request, p *page) {
	d, err := s.loadDetail(r, p, r.PathValue("id"), nil, nil)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	if f := r.URL.Query().Get("filed"); f != "" {
		filedNotice(p, d, f)
	}
	s.renderDetail(w, p, d, http.StatusOK)
}

func (s *server) renderDetail(w http.ResponseWriter, p *page, d *detailData, status int) {
	d.kindOptions(p)
	d.workflowOptions(p)
	p.Title = d.Name
	p.Data = d
	s.render(w, p, status, "detail")
}

// loadDetail reads everything the customer page shows. c is the customer
// when the caller already has it (revealed); else it is read masked.
func (s *server) loadDetail(r *http.Request, p *page, id string, c *custos.Customer, revealed []string) (*detailData, error) {
	ctx := r.Context()
	var err error
	if c == nil {
		if c, err = s.app.GetCustomer(ctx, p.Actor, id); err != nil {
			return nil, err
		}
	}
	rf, err := s.loadRefs(ctx)
	if err != nil {
		return nil, err
	}
	checklist, pct, err := s.app.ChecklistStatus(ctx, p.Actor, id)
	if err != nil {
		return nil, err
	}
	atts, err := s.app.Attachments(ctx, p.Actor, id)
	if err != nil {
		return nil, err
	}
	tl, err := s.app.Timeline(ctx, p.Actor, id)
	if err != nil {
		return nil, err
	}
	d := &detailData{ID: c.ID, ArchiveNo: c.ArchiveNo, Name: c.Name(), Type: p.T("type." + string(c.Type)), Category: rf.category(p, c.Category),
		Unit: rf.org(p, c.OrgID), Status: p.T("status." + string(c.Status)), StatusClass: string(c.Status),
		Verification: p.T("verification." + string(c.Verification)), Protected: c.Sensitivity == custos.Protected,
		Created: localTime(c.CreatedAt), Updated: localTime(c.UpdatedAt), Version: c.Version, Completeness: pct, HasChecklist: len(checklist) > 0}
	if d.Protected {
		d.ProtectedReason = translateOr(p, "protected."+c.ProtectedReason, c.ProtectedReason)
	}
	fc := rf.formCtx(p, c.Type)
	secs := fc.sections(false)
	// Only the custom fields of the customer's own category.
	for i := range secs {
		secs[i].Fields = slices.DeleteFunc(secs[i].Fields, func(f field) bool { return len(f.cats) > 0 && !slices.Contains(f.cats, c.Category) })
	}
	views, _ := fc.view(secs, valuesOf(custos.InputOf(c), secs), nil)
	for i, sv := range views {
		empty := true
		for _, f := range sv.Fields {
			empty = empty && (f.Display == "" || f.Kind == kCheck && !f.Checked)
		}
		if !empty || i == 0 {
			d.Sections = append(d.Sections, sv)
		}
	}
	if pr := c.Person; pr != nil {
		if len(pr.Phones) > 1 {
			d.ExtraPhones = pr.Phones[1:]
		}
		for _, doc := range pr.IDDocuments[min(1, len(pr.IDDocuments)):] {
			d.ExtraIDs = append(d.ExtraIDs, partyView{IDType: idTypeLabel(p, doc.Type), IDNumber: doc.Number, Expiry: expiryText(p, doc.Expiry)})
		}
	}
	if in := c.Institution; in != nil {
		add := func(role string, x custos.Party) {
			d.Parties = append(d.Parties, partyView{Role: p.T(role), Name: x.Name, IDType: idTypeLabel(p, x.IDType), IDNumber: x.IDNumber,
				Expiry: expiryText(p, x.IDExpiry), Phone: x.Phone, Share: x.Share})
		}
		if in.ResponsiblePerson != nil {
			add("party.responsible", *in.ResponsiblePerson)
		}
		for _, x := range in.Agents {
			add("party.agent", x)
		}
		for _, x := range in.BeneficialOwners {
			add("party.beneficial_owner", x)
		}
	}
	itemNames := map[string]string{}
	for _, it := range checklist {
		name := p.L(it.Item.NameZH, it.Item.NameEN)
		itemNames[it.Item.Code] = name
		d.Checklist = append(d.Checklist, checkView{Name: name, Required: it.Item.Required, Received: it.Received})
		d.ChecklistOptions = append(d.ChecklistOptions, option{Value: it.Item.Code, Label: name})
	}
	for _, a := range atts {
		d.Attachments = append(d.Attachments, attachmentView{ID: a.ID, Name: a.Filename, Kind: p.T("attachment." + string(a.Kind)), ContentType: a.ContentType,
			Size: humanSize(a.Size), Checklist: itemNames[a.ChecklistItem], Created: localTime(a.CreatedAt),
			Link: "/customers/" + url.PathEscape(id) + "/attachments/" + url.PathEscape(a.ID)})
	}
	for _, e := range tl {
		d.Timeline = append(d.Timeline, timelineView{Kind: p.T("timeline." + string(e.Kind)), KindClass: string(e.Kind), OccurredOn: e.OccurredOn,
			Period: e.Period, Title: e.Title, Body: e.Body, Created: localTime(e.CreatedAt)})
	}
	slices.SortStableFunc(d.Timeline, func(a, b timelineView) int { return strings.Compare(b.OccurredOn, a.OccurredOn) })
	for _, f := range revealed {
		d.Revealed = append(d.Revealed, p.T("reveal."+f))
	}
	for _, f := range custos.RevealFields {
		d.RevealOptions = append(d.RevealOptions, option{Value: f, Label: p.T("reveal." + f), Selected: slices.Contains(revealed, f)})
	}
	d.TimelineForm = timelineForm{Kind: string(custos.TimelineContact), Errors: map[string]string{}}
	d.AttachForm = attachForm{Kind: string(custos.AttachIDScan), Errors: map[string]string{}}
	if err := s.loadWorkflow(r, p, c, d, atts); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *detailData) kindOptions(p *page) {
	d.TimelineForm.KindOptions = nil
	for _, k := range timelineKinds {
		d.TimelineForm.KindOptions = append(d.TimelineForm.KindOptions, option{Value: string(k), Label: p.T("timeline." + string(k)), Selected: string(k) == d.TimelineForm.Kind})
	}
	d.AttachForm.KindOptions = nil
	for _, k := range attachmentKinds {
		d.AttachForm.KindOptions = append(d.AttachForm.KindOptions, option{Value: string(k), Label: p.T("attachment." + string(k)), Selected: string(k) == d.AttachForm.Kind})
	}
	for i := range d.ChecklistOptions {
		d.ChecklistOptions[i].Selected = d.ChecklistOptions[i].Value == d.AttachForm.Checklist
	}
}

func translateOr(p *page, key, fallback string) string {
	if hasKey(key) {
		return p.T(key)
	}
	return fallback
}

func expiryText(p *page, s string) string {
	if s == custos.LongTerm {
		return p.T("form.long_term")
	}
	return s
}

// localTime shows times in China Standard Time, where the users are.
func localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(cst).Format("2006-01-02 15:04")
}

var cst = time.FixedZone("CST", 8*3600)

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// reveal shows the customer page once with the chosen fields in full
// (R-C10). The service checks the permission and audits the fields; the
// response is no-store like every page.
func (s *server) reveal(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	id := r.PathValue("id")
	var fields []string
	for _, f := range r.PostForm["fields"] {
		if slices.Contains(custos.RevealFields, f) && !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	c, err := s.app.RevealCustomer(r.Context(), p.Actor, id, fields)
	status := http.StatusOK
	if err != nil {
		code := custos.ErrorCodeOf(err)
		if code != custos.EInvalid && code != custos.EForbidden {
			s.fail(w, r, p, err)
			return
		}
		p.Error = p.M(custos.ErrorMessageOf(err))
		if code == custos.EInvalid {
			p.Error = p.T("reveal.choose")
		}
		c, fields, status = nil, nil, statusOf(code)
	}
	d, err := s.loadDetail(r, p, id, c, fields)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	p.Here = "/customers/" + url.PathEscape(id)
	s.renderDetail(w, p, d, status)
}

// addTimeline records a contact, change, result or report (R-A11, R-I1).
func (s *server) addTimeline(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	id := r.PathValue("id")
	tf := timelineForm{Kind: r.PostFormValue("kind"), OccurredOn: strings.TrimSpace(r.PostFormValue("occurred_on")), Period: strings.TrimSpace(r.PostFormValue("period")),
		Title: r.PostFormValue("title"), Body: r.PostFormValue("body")}
	_, err := s.app.AddTimeline(r.Context(), p.Actor, id, custos.TimelineEntry{Kind: custos.TimelineKind(tf.Kind), OccurredOn: tf.OccurredOn,
		Period: tf.Period, Title: tf.Title, Body: tf.Body})
	if err == nil {
		http.Redirect(w, r, "/customers/"+url.PathEscape(id)+"#timeline", http.StatusSeeOther)
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
	tf.Errors = fieldErrors(p, err)
	d.TimelineForm = tf
	p.Error = p.M(custos.ErrorMessageOf(err))
	p.Here = "/customers/" + url.PathEscape(id)
	s.renderDetail(w, p, d, statusOf(code))
}

// addAttachment uploads a scan or document, stored encrypted (R-A6).
func (s *server) addAttachment(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, custos.MaxAttachmentSize+1<<20)
	af := attachForm{Errors: map[string]string{}}
	var err error
	if perr := r.ParseMultipartForm(1 << 20); perr != nil {
		err = &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: "上传失败", EN: "upload failed"},
			Fields: []custos.FieldError{{Field: "file", Code: custos.CodeTooLong, Message: custos.Message{ZH: "文件过大或上传不完整", EN: "file too large or upload incomplete"}}}}
	} else {
		defer r.MultipartForm.RemoveAll()
		af.Kind, af.Checklist = r.FormValue("kind"), r.FormValue("checklist_item")
		file, hdr, ferr := r.FormFile("file")
		if ferr != nil {
			err = &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: "请选择文件", EN: "choose a file"},
				Fields: []custos.FieldError{{Field: "file", Code: custos.CodeRequired, Message: custos.StandardMessage(custos.CodeRequired)}}}
		} else {
			content, rerr := io.ReadAll(io.LimitReader(file, custos.MaxAttachmentSize+1))
			file.Close()
			if rerr != nil {
				s.fail(w, r, p, rerr)
				return
			}
			_, err = s.app.AddAttachment(r.Context(), p.Actor, id, custos.AttachmentKind(af.Kind), hdr.Filename, af.Checklist, content)
		}
	}
	if err == nil {
		http.Redirect(w, r, "/customers/"+url.PathEscape(id)+"#attachments", http.StatusSeeOther)
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
	af.Errors = fieldErrors(p, err)
	d.AttachForm = af
	p.Error = p.M(custos.ErrorMessageOf(err))
	p.Here = "/customers/" + url.PathEscape(id)
	s.renderDetail(w, p, d, statusOf(code))
}

// download sends an attachment; the service audits it like a print (R-C5).
func (s *server) download(w http.ResponseWriter, r *http.Request, p *page) {
	at, content, err := s.app.Attachment(r.Context(), p.Actor, r.PathValue("id"), r.PathValue("aid"))
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	ct := at.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": at.Filename}))
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.Write(content)
}
