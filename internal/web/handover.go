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

// Staff handovers (R-G1): the list and the start form for managers and
// administrators; the handover page for them and for its parties, with the
// inventory, the assignment of customers and buildings to successors, the
// three signatures and, once completed, the certificate.

func handoverLink(id int64) string { return "/handovers/" + strconv.FormatInt(id, 10) }

type handoverRow struct {
	ID                                           int64
	Link, Leaver, Supervisor, Successors, Reason string
	State, StateClass, Created, Completed        string
}

func handoverRowOf(p *page, names *staffNames, h *custos.Handover) handoverRow {
	row := handoverRow{ID: h.ID, Link: handoverLink(h.ID), Leaver: names.Name(h.LeaverID), Supervisor: names.Name(h.SupervisorID), Reason: h.Reason,
		State: p.T("handover_state." + string(h.State)), StateClass: string(h.State), Created: localTime(h.CreatedAt)}
	var succ []string
	for _, s := range h.Successors {
		succ = append(succ, names.Name(s))
	}
	row.Successors = strings.Join(succ, "、")
	if h.CompletedAt != nil {
		row.Completed = localTime(*h.CompletedAt)
	}
	return row
}

func (s *server) handoversPage(w http.ResponseWriter, r *http.Request, p *page) {
	hs, err := s.app.Handovers(r.Context(), p.Actor)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	slices.SortStableFunc(hs, func(a, b *custos.Handover) int { return b.CreatedAt.Compare(a.CreatedAt) })
	names := s.staff(r.Context(), p)
	var rows []handoverRow
	for _, h := range hs {
		rows = append(rows, handoverRowOf(p, names, h))
	}
	p.Title, p.Data = "handover.list_title", rows
	s.render(w, p, http.StatusOK, "handovers")
}

type handoverFormData struct {
	Leaver, Supervisor, Successors, Reason string
	Errors                                 map[string]string
}

// handoverForm asks who leaves, who supervises and who takes over. The
// service's list call decides (and audits) whether the user may.
func (s *server) handoverForm(w http.ResponseWriter, r *http.Request, p *page) {
	if _, err := s.app.Handovers(r.Context(), p.Actor); err != nil {
		s.fail(w, r, p, err)
		return
	}
	d := handoverFormData{Supervisor: p.Actor.Username, Errors: map[string]string{}}
	p.Title, p.Here, p.Data = "handover.new_title", "/handovers/new", d
	s.render(w, p, http.StatusOK, "handover_new")
}

func splitNames(s string) []string {
	var out []string
	for _, x := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == '、' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	}) {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func (s *server) startHandover(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	d := handoverFormData{Leaver: strings.TrimSpace(r.PostFormValue("leaver")), Supervisor: strings.TrimSpace(r.PostFormValue("supervisor")),
		Successors: strings.TrimSpace(r.PostFormValue("successors")), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	h, err := s.app.StartHandover(r.Context(), p.Actor, app.HandoverInput{Leaver: d.Leaver, Supervisor: d.Supervisor, Successors: splitNames(d.Successors), Reason: d.Reason})
	if err == nil {
		http.Redirect(w, r, handoverLink(h.ID), http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && !(code == custos.EForbidden && custos.Allowed(p.Actor, custos.ActHandoverManage).Allowed) {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	d.Errors = indexedErrors(p, err)
	p.Title, p.Here, p.Data = "handover.new_title", "/handovers/new", d
	s.render(w, p, statusOf(code), "handover_new")
}

type invItem struct{ Label, Link string }

type inventoryView struct {
	TakenAt                                                       string
	Customers, OpenRequests, Borrowed, Buildings, Grants, Unfiled []invItem
}

type liveView struct {
	Customers, Buildings, OpenRequests, Grants, Borrowed, Unfiled int
}

type assignRow struct {
	Key, Label, Link string
	Options          []option
}

type signatureRow struct {
	Party, Signer, At string
	Signed            bool
}

type handoverData struct {
	handoverRow
	Inventory   inventoryView
	Live        *liveView
	Assignments []assignRow
	CanAssign   bool
	Signatures  []signatureRow
	MyParty     string
	CanSign     bool
	Done        bool
	PDF, JSON   string
}

func shortID(id string) string {
	if len(id) > 13 {
		return id[:13] + "…"
	}
	return id
}

func (s *server) handoverPage(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "hid")
	if !ok {
		s.notFound(w, p)
		return
	}
	switch r.URL.Query().Get("done") {
	case "assigned", "signed", "completed":
		p.Notice = p.T("handover.done_" + r.URL.Query().Get("done"))
	}
	s.renderHandover(w, r, p, id, http.StatusOK)
}

func (s *server) renderHandover(w http.ResponseWriter, r *http.Request, p *page, id int64, status int) {
	h, live, err := s.app.Handover(r.Context(), p.Actor, id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	names := s.staff(r.Context(), p)
	d := handoverData{handoverRow: handoverRowOf(p, names, h), Done: h.State == custos.HandoverCompleted}
	inv := h.Inventory
	d.Inventory.TakenAt = localTime(inv.TakenAt)
	for _, c := range inv.Customers {
		d.Inventory.Customers = append(d.Inventory.Customers, invItem{Label: shortID(c), Link: "/customers/" + url.PathEscape(c)})
	}
	for _, b := range inv.Buildings {
		d.Inventory.Buildings = append(d.Inventory.Buildings, invItem{Label: b})
	}
	for _, x := range inv.OpenRequests {
		d.Inventory.OpenRequests = append(d.Inventory.OpenRequests, invItem{Label: "#" + strconv.FormatInt(x, 10), Link: requestLink(x)})
	}
	for _, x := range inv.ActiveGrants {
		d.Inventory.Grants = append(d.Inventory.Grants, invItem{Label: "#" + strconv.FormatInt(x, 10)})
	}
	paper := p.Can(string(custos.ActPaperManage))
	for _, x := range inv.BorrowedFiles {
		it := invItem{Label: "#" + strconv.FormatInt(x, 10)}
		if paper {
			it.Link = paperLink(x)
		}
		d.Inventory.Borrowed = append(d.Inventory.Borrowed, it)
	}
	for _, x := range inv.UnfiledAttachments {
		d.Inventory.Unfiled = append(d.Inventory.Unfiled, invItem{Label: shortID(x)})
	}
	if live != nil {
		d.Live = &liveView{Customers: len(live.Customers), Buildings: len(live.Buildings), OpenRequests: len(live.OpenRequests),
			Grants: len(live.ActiveGrants), Borrowed: len(live.BorrowedFiles), Unfiled: len(live.UnfiledAttachments)}
	}
	open := h.State == custos.HandoverOpen
	d.CanAssign = open && len(h.SignedAt) == 0 && p.Can(string(custos.ActHandoverManage)) && len(h.Assignments) > 0
	keys := make([]string, 0, len(h.Assignments))
	for k := range h.Assignments {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		row := assignRow{Key: k}
		if b, ok := strings.CutPrefix(k, "building:"); ok {
			row.Label = p.T("handover.building") + " " + b
		} else {
			row.Label, row.Link = shortID(k), "/customers/"+url.PathEscape(k)
		}
		for _, succ := range h.Successors {
			row.Options = append(row.Options, option{Value: strconv.FormatInt(succ, 10), Label: names.Name(succ), Selected: h.Assignments[k] == succ})
		}
		d.Assignments = append(d.Assignments, row)
	}
	for _, party := range []string{custos.SignLeaver, custos.SignSuccessor, custos.SignSupervisor} {
		row := signatureRow{Party: p.T("handover.party_" + party)}
		if at, ok := h.SignedAt[party]; ok {
			row.Signed, row.At, row.Signer = true, localTime(at), names.Name(h.SignedBy[party])
		}
		d.Signatures = append(d.Signatures, row)
	}
	if party := h.SignParty(p.Actor.UserID); party != "" {
		d.MyParty = p.T("handover.party_" + party)
		_, signed := h.SignedAt[party]
		d.CanSign = open && !signed
	}
	if d.Done {
		d.PDF, d.JSON = handoverLink(h.ID)+"/certificate.pdf", handoverLink(h.ID)+"/certificate.json"
	}
	p.Title = "handover.title"
	p.Here = handoverLink(id)
	p.Data = d
	s.render(w, p, status, "handover")
}

// assignHandover sets the successor of each customer and building.
func (s *server) assignHandover(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "hid")
	if !ok {
		s.notFound(w, p)
		return
	}
	r.ParseForm()
	m := map[string]int64{}
	for k, vs := range r.PostForm {
		key, ok := strings.CutPrefix(k, "assign.")
		if !ok || len(vs) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(vs[0], 10, 64)
		m[key] = n
	}
	_, err := s.app.AssignHandover(r.Context(), p.Actor, id, m)
	if err == nil {
		http.Redirect(w, r, handoverLink(id)+"?done=assigned", http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && code != custos.EConflict {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	s.renderHandover(w, r, p, id, statusOf(code))
}

// signHandover records the user's signature; the last one completes the
// handover unless borrowed paper is still out.
func (s *server) signHandover(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "hid")
	if !ok {
		s.notFound(w, p)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, p, custos.Errorf(custos.EInvalid, "表单无法解析", "the form cannot be read"))
		return
	}
	// A signature is the party signing in at that moment (R-G1).
	proof := app.Credentials{Password: r.PostFormValue("password"), TOTP: strings.TrimSpace(r.PostFormValue("totp"))}
	h, err := s.app.SignHandover(r.Context(), p.Actor, id, proof)
	if err == nil {
		done := "signed"
		if h.State == custos.HandoverCompleted {
			done = "completed"
		}
		http.Redirect(w, r, handoverLink(id)+"?done="+done, http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EConflict && code != custos.EInvalid {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	if ce, ok := err.(*custos.Error); ok && len(ce.Fields) > 0 {
		p.Error = p.M(ce.Fields[0].Message)
	}
	s.renderHandover(w, r, p, id, statusOf(code))
}

// handoverCertificate downloads a completed handover's certificate.
func (s *server) handoverCertificate(format string) func(http.ResponseWriter, *http.Request, *page) {
	return s.certificate("hid", "handover", format, s.app.HandoverCertificateFile)
}
