package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// The archive's history (R-B1) and its borrowing register (R-C3).

// diffFieldKeys names the catalogue label of a CustomerInput field (by its
// JSON name) where it is not simply "field.<name>".
var diffFieldKeys = map[string]string{
	"sensitivity":          "field.protected",
	"classifications":      "section.classification",
	"phones":               "detail.more_phones",
	"id_documents":         "detail.more_identity",
	"licence":              "section.licence",
	"legal_representative": "section.legal_rep",
	"responsible_person":   "party.responsible",
	"agents":               "party.agent",
	"beneficial_owners":    "party.beneficial_owner",
	"household":            "section.household",
	"custom":               "section.custom",
}

// diffFieldLabel is the label of a changed field.
func diffFieldLabel(p *page, name string) string {
	if k, ok := diffFieldKeys[name]; ok {
		return p.T(k)
	}
	return translateOr(p, "field."+name, name)
}

type versionRow struct {
	Version                                     int64
	At, RequestedBy, ApprovedBy, Reason, Fields string
	RequestLink                                 string
	RequestID                                   int64
}

func versionRows(p *page, names *staffNames, vs []custos.ArchiveVersion) []versionRow {
	out := make([]versionRow, 0, len(vs))
	for _, v := range vs {
		row := versionRow{Version: v.Version, At: localTime(v.CreatedAt), RequestedBy: requesterName(p, names, v.RequestedBy), ApprovedBy: names.Name(v.ApprovedBy),
			Reason: v.Reason, RequestID: v.RequestID}
		if v.Reason == "onboarding" {
			row.Reason = p.T("history.onboarding")
		}
		var fs []string
		for _, f := range v.Fields {
			fs = append(fs, diffFieldLabel(p, f))
		}
		row.Fields = strings.Join(fs, "、")
		if v.RequestID != 0 {
			row.RequestLink = requestLink(v.RequestID)
		}
		out = append(out, row)
	}
	return out
}

// versionOptions are the choices of the compare form.
func versionOptions(p *page, vs []custos.ArchiveVersion, cur int64) []option {
	out := make([]option, 0, len(vs))
	for _, v := range vs {
		out = append(out, option{Value: strconv.FormatInt(v.Version, 10), Label: fmt.Sprintf(p.T("history.version_n"), v.Version) + " · " + localTime(v.CreatedAt),
			Selected: v.Version == cur})
	}
	return out
}

type diffData struct {
	ID, Name, ArchiveNo, Back string
	From, To                  int64
	FromOptions, ToOptions    []option
	Rows                      []changeRow
	Compared                  bool
}

// diffPage compares two approved versions of an archive field by field,
// masked like the customer page (R-B1, R-C10).
func (s *server) diffPage(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	id := r.PathValue("id")
	c, err := s.app.GetCustomer(ctx, p.Actor, id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	vs, err := s.app.Versions(ctx, p.Actor, id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	d := diffData{ID: id, Name: c.Name(), ArchiveNo: c.ArchiveNo, Back: "/customers/" + url.PathEscape(id)}
	q := r.URL.Query()
	from, ferr := strconv.ParseInt(q.Get("from"), 10, 64)
	to, terr := strconv.ParseInt(q.Get("to"), 10, 64)
	known := func(n int64) bool {
		for _, v := range vs {
			if v.Version == n {
				return true
			}
		}
		return false
	}
	status := http.StatusOK
	switch {
	case ferr != nil || terr != nil || !known(from) || !known(to):
		p.Error = p.T("history.choose_versions")
		status = http.StatusUnprocessableEntity
		if n := len(vs); n >= 2 {
			from, to = vs[n-2].Version, vs[n-1].Version
		}
	default:
		changes, err := s.app.DiffVersions(ctx, p.Actor, id, from, to)
		if err != nil {
			s.fail(w, r, p, err)
			return
		}
		d.Compared = true
		for _, ch := range changes {
			d.Rows = append(d.Rows, changeRow{Field: diffFieldLabel(p, ch.Field), Old: ch.Old, New: ch.New})
		}
	}
	d.From, d.To = from, to
	d.FromOptions, d.ToOptions = versionOptions(p, vs, from), versionOptions(p, vs, to)
	p.Title = "history.compare_title"
	p.Data = d
	s.render(w, p, status, "diff")
}

type registerRow struct {
	Kind, KindClass, User, Action, Purpose, Reason, At, ApprovedBy, Until, Returned, Via string
	Open                                                                                 bool
}

type registerData struct {
	ID, Back, Export string
	Rows             []registerRow
}

func (s *server) registerRows(r *http.Request, p *page, es []app.RegisterEntry) []registerRow {
	names := s.staff(r.Context(), p)
	out := make([]registerRow, 0, len(es))
	for _, e := range es {
		row := registerRow{Kind: translateOr(p, "register.kind_"+e.Kind, e.Kind), KindClass: e.Kind, User: e.Username, Purpose: e.Purpose,
			Reason: e.Reason, At: localTime(e.At), ApprovedBy: names.Name(e.ApprovedBy), Via: translateOr(p, "decision."+e.Via, e.Via)}
		if row.User == "" {
			row.User = names.Name(e.UserID)
		}
		row.Purpose = p.purposeName(e.Purpose)
		if e.Action != "" {
			row.Action = translateOr(p, "action."+e.Action, e.Action)
		}
		if e.Until != nil {
			row.Until = localTime(*e.Until)
		}
		if e.ReturnedAt != nil {
			row.Returned = localTime(*e.ReturnedAt)
		} else if e.Kind == "grant" {
			row.Open = true
		}
		out = append(out, row)
	}
	return out
}

// registerPage is the archive's borrowing register (借阅登记簿): every
// access by someone other than its custodian, with who approved it and when
// it ended (R-C3).
func (s *server) registerPage(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	es, err := s.app.BorrowingRegister(r.Context(), p.Actor, id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	base := "/customers/" + url.PathEscape(id)
	p.Title = "register.title"
	p.Data = registerData{ID: id, Back: base, Export: base + "/register.csv", Rows: s.registerRows(r, p, es)}
	s.render(w, p, http.StatusOK, "register")
}

// registerCSV downloads the register; the service records the read.
func (s *server) registerCSV(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	es, err := s.app.BorrowingRegister(r.Context(), p.Actor, id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	var buf bytes.Buffer
	if err := app.WriteRegisterCSV(&buf, es); err != nil {
		s.fail(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="register-`+safeFileID(id)+`.csv"`)
	w.Write(buf.Bytes())
}

// safeFileID keeps an id usable in a file name.
func safeFileID(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, id)
}

// requesterName names who asked for a version: a member of staff, or (0)
// the customer through the self-service portal (R-B5).
func requesterName(p *page, names *staffNames, id int64) string {
	if id == 0 {
		return p.T("request.requester_customer")
	}
	return names.Name(id)
}
