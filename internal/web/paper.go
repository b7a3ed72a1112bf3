package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// Paper archives (R-H1, R-H2): the secure locations of the user's unit and
// the paper files kept there, lending, return with inspection, transfer.
// Custodians and managers only; the services refuse everyone else.

func paperLink(id int64) string { return "/paper/files/" + strconv.FormatInt(id, 10) }

var lockTypes = []custos.LockType{custos.LockKey, custos.LockCombination, custos.LockSafe, custos.LockElectronic}

type locationRow struct {
	ID                           int64
	Label, Lock, Custodian, Unit string
	Active                       bool
}

type paperRow struct {
	ID                                                         int64
	Link, ArchiveNo, Title, Location, Status, StatusClass, Due string
	Borrower                                                   string
	Overdue                                                    bool
	RequestID                                                  int64 // a pending loan request (protected customers)
	RequestLink                                                string
}

type locForm struct {
	Room, Cabinet, Shelf, Box, LockType, Custodian, Org string
	LockOptions, OrgOptions                             []option
	Errors                                              map[string]string
}

type fileForm struct {
	ArchiveNo, Title, Contents, LocationID string
	LocationOptions                        []option
	Errors                                 map[string]string
}

type paperData struct {
	Locations      []locationRow
	Files, Overdue []paperRow
	LocForm        locForm
	FileForm       fileForm
}

// pendingLoans maps paper files to the user's pending loan requests, so
// that a protected customer's file shows "approval requested".
func (s *server) pendingLoans(r *http.Request, p *page) map[int64]int64 {
	out := map[int64]int64{}
	reqs, err := s.app.Requests(r.Context(), p.Actor, custos.RequestFilter{Kind: custos.KindPaperLoan, State: custos.RequestPending, Limit: 500})
	if err != nil {
		return out
	}
	for _, x := range reqs {
		if n, err := strconv.ParseInt(x.SubjectID, 10, 64); err == nil {
			out[n] = x.ID
		}
	}
	return out
}

func (s *server) paperRow(p *page, names *staffNames, f *app.PaperView, loans map[int64]int64) paperRow {
	row := paperRow{ID: f.ID, Link: paperLink(f.ID), ArchiveNo: f.ArchiveNo, Title: f.Title, Status: p.T("paper." + string(f.Status)),
		StatusClass: string(f.Status), Borrower: names.Name(f.BorrowerID), Overdue: f.Overdue}
	if f.Location != nil {
		row.Location = f.Location.Label()
	}
	if f.DueAt != nil {
		row.Due = f.DueAt.UTC().Format(time.DateOnly) // the service reads due dates as UTC days
	}
	if id, ok := loans[f.ID]; ok {
		row.RequestID, row.RequestLink = id, requestLink(id)
	}
	return row
}

func (s *server) locationOptions(p *page, locs []*custos.SecureLocation, cur string, skip int64) []option {
	out := []option{{Value: "", Label: p.T("form.choose")}}
	for _, l := range locs {
		if l.Active && l.ID != skip {
			out = append(out, option{Value: strconv.FormatInt(l.ID, 10), Label: l.Label()})
		}
	}
	return selectOptions(cur, out)
}

func (s *server) paperPage(w http.ResponseWriter, r *http.Request, p *page) {
	s.renderPaper(w, r, p, locForm{}, fileForm{}, http.StatusOK)
}

func (s *server) renderPaper(w http.ResponseWriter, r *http.Request, p *page, lf locForm, ff fileForm, status int) {
	ctx := r.Context()
	locs, err := s.app.Locations(ctx, p.Actor)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	files, err := s.app.PaperFiles(ctx, p.Actor, false)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	rf, err := s.loadRefs(ctx)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	names := s.staff(ctx, p)
	loans := s.pendingLoans(r, p)
	var d paperData
	for _, l := range locs {
		d.Locations = append(d.Locations, locationRow{ID: l.ID, Label: l.Label(), Lock: p.T("lock." + string(l.LockType)), Custodian: names.Name(l.CustodianID),
			Unit: rf.org(p, l.OrgID), Active: l.Active})
	}
	for _, f := range files {
		row := s.paperRow(p, names, f, loans)
		d.Files = append(d.Files, row)
		if row.Overdue {
			d.Overdue = append(d.Overdue, row)
		}
	}
	if lf.Errors == nil {
		lf = locForm{LockType: string(custos.LockKey), Errors: map[string]string{}}
		if p.Actor.Role == custos.RoleCustodian {
			lf.Custodian = p.Actor.Username
		}
	}
	for _, l := range lockTypes {
		lf.LockOptions = append(lf.LockOptions, option{Value: string(l), Label: p.T("lock." + string(l)), Selected: string(l) == lf.LockType})
	}
	lf.OrgOptions = []option{{Value: "", Label: p.T("form.own_unit")}}
	for _, o := range rf.orgs {
		if custos.PathContains(p.Actor.OrgPath, o.Path) {
			lf.OrgOptions = append(lf.OrgOptions, option{Value: strconv.FormatInt(o.ID, 10), Label: p.L(o.Name, o.NameEN)})
		}
	}
	selectOptions(lf.Org, lf.OrgOptions)
	if ff.Errors == nil {
		ff.Errors = map[string]string{}
	}
	ff.LocationOptions = s.locationOptions(p, locs, ff.LocationID, 0)
	d.LocForm, d.FileForm = lf, ff
	p.Title, p.Here, p.Data = "paper.title", "/paper", d
	s.render(w, p, status, "paper")
}

// renamed maps the services' field names to the form's.
func renamed(errs map[string]string, from, to string) map[string]string {
	if v, ok := errs[from]; ok {
		delete(errs, from)
		errs[to] = v
	}
	return errs
}

// createLocation registers a locked cabinet or safe with its custodian.
func (s *server) createLocation(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	lf := locForm{Room: v("room"), Cabinet: v("cabinet"), Shelf: v("shelf"), Box: v("box"), LockType: v("lock_type"), Custodian: v("custodian"), Org: v("org")}
	l := &custos.SecureLocation{Room: lf.Room, Cabinet: lf.Cabinet, Shelf: lf.Shelf, Box: lf.Box, LockType: custos.LockType(lf.LockType)}
	l.OrgID, _ = strconv.ParseInt(lf.Org, 10, 64)
	if lf.Custodian != "" {
		l.CustodianID = -1 // unknown unless found: the service says so
		if u, _, err := s.app.UserByName(r.Context(), lf.Custodian); err == nil {
			l.CustodianID = u.ID
		}
	}
	err := s.app.CreateLocation(r.Context(), p.Actor, l)
	if err == nil {
		http.Redirect(w, r, "/paper#locations", http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	lf.Errors = renamed(renamed(fieldErrors(p, err), "custodian_id", "custodian"), "org_id", "org")
	s.renderPaper(w, r, p, lf, fileForm{}, statusOf(code))
}

// registerPaper records a paper file at a registered secure location.
func (s *server) registerPaper(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	ff := fileForm{ArchiveNo: strings.TrimSpace(r.PostFormValue("archive_no")), Title: r.PostFormValue("title"), Contents: r.PostFormValue("contents"),
		LocationID: r.PostFormValue("location_id")}
	loc, _ := strconv.ParseInt(ff.LocationID, 10, 64)
	f, err := s.app.RegisterPaperFile(r.Context(), p.Actor, app.PaperInput{ArchiveNo: ff.ArchiveNo, Title: ff.Title, Contents: ff.Contents, LocationID: loc})
	if err == nil {
		http.Redirect(w, r, paperLink(f.ID), http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	ff.Errors = fieldErrors(p, err)
	s.renderPaper(w, r, p, locForm{}, ff, statusOf(code))
}

type movementRow struct {
	Kind, KindClass, From, To, Borrower, Due, Inspection, By, At, RequestLink string
	RequestID                                                                 int64
}

type lendForm struct {
	Borrower, Due, Reason string
	Errors                map[string]string
}

type paperFileData struct {
	paperRow
	Contents, Custodian, Registered, RegisteredBy string
	InPlace, Lent                                 bool
	Movements                                     []movementRow
	Lend                                          lendForm
	Inspection, InspectionError                   string
	TransferTo, TransferError                     string
	TransferOptions                               []option
}

func (s *server) paperFilePage(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "fid")
	if !ok {
		s.notFound(w, p)
		return
	}
	switch r.URL.Query().Get("done") {
	case "lent", "returned", "transferred":
		p.Notice = p.T("paper.done_" + r.URL.Query().Get("done"))
	}
	if n, err := strconv.ParseInt(r.URL.Query().Get("requested"), 10, 64); err == nil && n > 0 {
		p.Notice = strings.ReplaceAll(p.T("paper.loan_requested"), "{n}", strconv.FormatInt(n, 10))
	}
	s.renderPaperFile(w, r, p, id, paperFileData{}, http.StatusOK)
}

// renderPaperFile shows a file with its movements; forms carries what a
// failed form posted.
func (s *server) renderPaperFile(w http.ResponseWriter, r *http.Request, p *page, id int64, forms paperFileData, status int) {
	ctx := r.Context()
	f, moves, err := s.app.PaperFile(ctx, p.Actor, id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	locs, err := s.app.Locations(ctx, p.Actor)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	label := map[int64]string{}
	for _, l := range locs {
		label[l.ID] = l.Label()
	}
	names := s.staff(ctx, p)
	d := forms
	d.paperRow = s.paperRow(p, names, f, s.pendingLoans(r, p))
	d.Contents, d.Registered, d.RegisteredBy = f.Contents, localTime(f.RegisteredAt), names.Name(f.RegisteredBy)
	if f.Location != nil {
		d.Custodian = names.Name(f.Location.CustodianID)
	}
	d.InPlace, d.Lent = f.Status == custos.PaperInPlace, f.Status == custos.PaperLent
	where := func(id int64) string {
		if id == 0 {
			return ""
		}
		if l, ok := label[id]; ok {
			return l
		}
		return "#" + strconv.FormatInt(id, 10)
	}
	for _, m := range moves {
		row := movementRow{Kind: p.T("move." + string(m.Kind)), KindClass: string(m.Kind), From: where(m.FromID), To: where(m.ToID), Borrower: names.Name(m.BorrowerID),
			Inspection: m.Inspection, By: names.Name(m.By), At: localTime(m.At), RequestID: m.RequestID}
		if m.DueAt != nil {
			row.Due = m.DueAt.UTC().Format(time.DateOnly)
		}
		if m.RequestID != 0 {
			row.RequestLink = requestLink(m.RequestID)
		}
		d.Movements = append(d.Movements, row)
	}
	slices.Reverse(d.Movements)
	if d.Lend.Errors == nil {
		d.Lend.Errors = map[string]string{}
	}
	d.TransferOptions = s.locationOptions(p, locs, d.TransferTo, f.LocationID)
	p.Title = "paper.file_title"
	p.Here = paperLink(id)
	p.Data = d
	s.render(w, p, status, "paperfile")
}

// lendPaper lends a file in place; a protected customer's file needs
// approval first, and the page says it was requested (R-H1).
func (s *server) lendPaper(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "fid")
	if !ok {
		s.notFound(w, p)
		return
	}
	r.ParseForm()
	lf := lendForm{Borrower: strings.TrimSpace(r.PostFormValue("borrower")), Due: strings.TrimSpace(r.PostFormValue("due")), Reason: r.PostFormValue("reason")}
	_, req, err := s.app.LendPaperFile(r.Context(), p.Actor, id, app.LendInput{Borrower: lf.Borrower, Due: lf.Due, Reason: lf.Reason})
	switch {
	case err == nil && req != nil:
		http.Redirect(w, r, paperLink(id)+"?requested="+strconv.FormatInt(req.ID, 10), http.StatusSeeOther)
		return
	case err == nil:
		http.Redirect(w, r, paperLink(id)+"?done=lent", http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && code != custos.EConflict {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	lf.Errors = renamed(fieldErrors(p, err), "borrower_id", "borrower")
	s.renderPaperFile(w, r, p, id, paperFileData{Lend: lf}, statusOf(code))
}

// returnPaper takes a lent file back with the custodian's inspection.
func (s *server) returnPaper(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "fid")
	if !ok {
		s.notFound(w, p)
		return
	}
	r.ParseForm()
	insp := r.PostFormValue("inspection")
	_, err := s.app.ReturnPaperFile(r.Context(), p.Actor, id, insp)
	if err == nil {
		http.Redirect(w, r, paperLink(id)+"?done=returned", http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && code != custos.EConflict {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	s.renderPaperFile(w, r, p, id, paperFileData{Inspection: insp, InspectionError: fieldErrors(p, err)["inspection"]}, statusOf(code))
}

// transferPaper moves a file in place to another secure location.
func (s *server) transferPaper(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "fid")
	if !ok {
		s.notFound(w, p)
		return
	}
	r.ParseForm()
	to := r.PostFormValue("to_location_id")
	n, _ := strconv.ParseInt(to, 10, 64)
	_, err := s.app.TransferPaperFile(r.Context(), p.Actor, id, n)
	if err == nil {
		http.Redirect(w, r, paperLink(id)+"?done=transferred", http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && code != custos.EConflict {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	s.renderPaperFile(w, r, p, id, paperFileData{TransferTo: to, TransferError: fieldErrors(p, err)["to_location_id"]}, statusOf(code))
}
