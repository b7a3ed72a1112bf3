package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/pdfdoc"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Staff handover (R-G1): when someone leaves or changes post, everything
// they hold is inventoried and handed to successors; borrowed paper comes
// back first; grants are revoked and open requests withdrawn; leaver,
// successor and supervisor sign; the account is disabled; a certificate
// (PDF with Chinese text, and JSON) stays on record.

// HandoverInput starts a handover.
type HandoverInput struct {
	Leaver     string   `json:"leaver"`
	Supervisor string   `json:"supervisor"`
	Successors []string `json:"successors"`
	Reason     string   `json:"reason"` // "leaving" or "post_change", with details
}

// SetPDF sets the renderer of certificates and statements.
func (a *App) SetPDF(r *pdfdoc.Renderer) { a.pdf = r }

func (a *App) userID(ctx context.Context, name string) (*custos.User, error) {
	u, err := a.db.Reader().UserByName(ctx, custos.NormalizeUsername(name))
	if err != nil {
		return nil, err
	}
	return u, nil
}

// StartHandover inventories what the leaver holds and opens the handover;
// by default everything goes to the first successor.
func (a *App) StartHandover(ctx context.Context, actor custos.Actor, in HandoverInput) (*custos.Handover, error) {
	if err := a.requireSystem(ctx, actor, custos.ActHandoverManage); err != nil {
		return nil, err
	}
	var v custos.Validation
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	// Every party is staff of the actor's own unit or below; anyone else
	// answers like an unknown user, and the attempt is audited (the
	// inventory names the leaver's customers).
	// The supervisor may also be a superior: someone of a unit above.
	outside := 0
	party := func(name string, superior bool) *custos.User {
		u, err := a.userID(ctx, name)
		if err != nil || u.Disabled {
			return nil
		}
		o := ref.orgs[u.OrgID]
		if o == nil || !(custos.PathContains(actor.OrgPath, o.Path) || superior && custos.PathContains(o.Path, actor.OrgPath)) {
			outside++
			return nil
		}
		return u
	}
	leaver := party(in.Leaver, false)
	if leaver == nil {
		v.Addf("leaver", custos.CodeUnknown)
	}
	sup := party(in.Supervisor, true)
	if sup == nil {
		v.Addf("supervisor", custos.CodeUnknown)
	}
	var succ []int64
	for i, s := range in.Successors {
		u := party(s, false)
		if u == nil || (leaver != nil && u.ID == leaver.ID) {
			v.Addf(fmt.Sprintf("successors[%d]", i), custos.CodeUnknown)
			continue
		}
		succ = append(succ, u.ID)
	}
	if outside > 0 {
		if err := a.record(ctx, a.event(actor, custos.ActHandoverManage, "", custos.OutcomeDenied, custos.DenyAssigneeScope)); err != nil {
			return nil, err
		}
	}
	if len(in.Successors) == 0 {
		v.Addf("successors", custos.CodeRequired)
	}
	if leaver != nil && sup != nil && leaver.ID == sup.ID {
		v.Add("supervisor", custos.CodeNotAllowed, custos.Message{ZH: "监交人不能是离岗人员本人", EN: "the supervisor cannot be the leaver"})
	}
	// Nobody gives customers to themselves or receives what they
	// supervise, and customers go only to portfolio holders (as
	// custos.DecideAssignment requires of any assignment): leaver,
	// successor and supervisor are three people, each signing themselves.
	for i, s := range in.Successors {
		u, err := a.userID(ctx, s)
		if err != nil {
			continue
		}
		switch {
		case u.ID == actor.UserID:
			v.Add(fmt.Sprintf("successors[%d]", i), custos.CodeNotAllowed, custos.Message{ZH: "发起人不能把客户交接给自己", EN: "whoever opens a handover cannot receive its customers"})
		case sup != nil && u.ID == sup.ID:
			v.Add(fmt.Sprintf("successors[%d]", i), custos.CodeNotAllowed, custos.Message{ZH: "监交人不能兼任接收人", EN: "the supervisor cannot also receive the customers"})
		case !slices.Contains(custos.PortfolioRoles, u.Role):
			v.Add(fmt.Sprintf("successors[%d]", i), custos.CodeNotAllowed, custos.Message{ZH: "只有客户经理和管家可以接收客户", EN: "only account managers and butlers receive customers"})
		}
	}
	if strings.TrimSpace(in.Reason) == "" {
		v.Addf("reason", custos.CodeRequired)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if leaver.ID == actor.UserID {
		return nil, custos.Errorf(custos.EForbidden, "不能为自己发起交接", "you cannot open your own handover")
	}
	now := a.now()
	h := &sqlstore.HandoverRecord{}
	h.LeaverID, h.SupervisorID, h.Successors, h.Reason, h.State = leaver.ID, sup.ID, succ, strings.TrimSpace(in.Reason), custos.HandoverOpen
	h.CreatedBy, h.CreatedAt, h.SignedBy, h.SignedAt = actor.UserID, now, map[string]int64{}, map[string]time.Time{}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		inv, err := tx.Holdings(ctx, leaver.ID, now)
		if err != nil {
			return err
		}
		h.Inventory = inv
		h.Assignments = map[string]int64{}
		for _, c := range inv.Customers {
			h.Assignments[c] = succ[0]
		}
		for _, b := range inv.Buildings {
			h.Assignments["building:"+b] = succ[0]
		}
		h.ID = 0
		if err := tx.SaveHandover(ctx, h); err != nil {
			return err
		}
		ev := custos.NewEvent(actor, "handover.start", custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "user", itoa(leaver.ID)
		ev.Detail = detail(map[string]any{"handover": h.ID, "customers": len(inv.Customers), "grants": len(inv.ActiveGrants), "borrowed": len(inv.BorrowedFiles)})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("start handover", err)
	}
	return &h.Handover, nil
}

// mayHandle says whether an actor may see a handover: its parties, and
// handover managers of the leaver's unit or above.
func (a *App) mayHandle(ctx context.Context, actor custos.Actor, h *custos.Handover) (bool, error) {
	if h.SignParty(actor.UserID) != "" || h.CreatedBy == actor.UserID {
		return true, nil
	}
	if !custos.Allowed(actor, custos.ActHandoverManage).Allowed {
		return false, nil
	}
	return a.userWithin(ctx, actor.OrgPath, h.LeaverID)
}

// userWithin reports whether a user belongs to the unit at path or below.
func (a *App) userWithin(ctx context.Context, path string, userID int64) (bool, error) {
	u, err := a.db.Reader().User(ctx, userID)
	if errors.Is(err, custos.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, internal("load user", err)
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return false, err
	}
	o := ref.orgs[u.OrgID]
	return o != nil && custos.PathContains(path, o.Path), nil
}

// Handover shows a handover with a fresh look at what is still outstanding.
func (a *App) Handover(ctx context.Context, actor custos.Actor, id int64) (*custos.Handover, *custos.HandoverInventory, error) {
	h, err := a.db.Reader().Handover(ctx, id, false)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, nil, custos.ErrNotFound
	}
	if err != nil {
		return nil, nil, internal("handover", err)
	}
	if ok, err := a.mayHandle(ctx, actor, &h.Handover); err != nil || !ok {
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, a.denied(ctx, actor, custos.ActHandoverManage, "", custos.DenyScope, custos.ErrNotFound)
	}
	var live *custos.HandoverInventory
	if h.State == custos.HandoverOpen {
		inv, err := a.db.Reader().Holdings(ctx, h.LeaverID, a.now())
		if err != nil {
			return nil, nil, internal("holdings", err)
		}
		live = &inv
	}
	// The inventory names the leaver's customers: the read is audited
	// like any other, and fails closed.
	ev := custos.NewEvent(actor, "handover.read", custos.OutcomeOK)
	ev.TargetType, ev.TargetRef = "user", itoa(h.LeaverID)
	ev.Detail = detail(map[string]any{"handover": h.ID})
	if err := a.record(ctx, ev); err != nil {
		return nil, nil, err
	}
	return &h.Handover, live, nil
}

// Handovers lists handovers for handover managers.
func (a *App) Handovers(ctx context.Context, actor custos.Actor) ([]*custos.Handover, error) {
	if err := a.requireSystem(ctx, actor, custos.ActHandoverManage); err != nil {
		return nil, err
	}
	all, err := a.db.Reader().Handovers(ctx)
	if err != nil {
		return nil, internal("handovers", err)
	}
	out := all[:0]
	for _, h := range all {
		ok, err := a.mayHandle(ctx, actor, h)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// AssignHandover sets which successor receives each customer or building
// ("building:<estate/building>").
func (a *App) AssignHandover(ctx context.Context, actor custos.Actor, id int64, assignments map[string]int64) (*custos.Handover, error) {
	if err := a.requireSystem(ctx, actor, custos.ActHandoverManage); err != nil {
		return nil, err
	}
	if h, err := a.db.Reader().Handover(ctx, id, false); err == nil {
		if ok, err := a.mayHandle(ctx, actor, &h.Handover); err != nil {
			return nil, err
		} else if !ok {
			return nil, a.denied(ctx, actor, custos.ActHandoverManage, "", custos.DenyScope, custos.ErrNotFound)
		}
	}
	var out *custos.Handover
	var refusal error
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		refusal = nil
		h, err := tx.Handover(ctx, id, false)
		if err != nil {
			return err
		}
		if h.State != custos.HandoverOpen || len(h.SignedAt) > 0 {
			refusal = custos.Errorf(custos.EConflict, "已开始签字的交接不能再改分配", "assignments cannot change once signing has begun")
			return nil
		}
		var v custos.Validation
		for k, to := range assignments {
			if _, ok := h.Assignments[k]; !ok {
				v.Addf("assignments."+k, custos.CodeUnknown)
			}
			if !slices.Contains(h.Successors, to) {
				v.Addf("assignments."+k, custos.CodeNotAllowed)
			}
		}
		if err := v.Err(); err != nil {
			refusal = err
			return nil
		}
		for k, to := range assignments {
			h.Assignments[k] = to
		}
		if err := tx.SaveHandover(ctx, h); err != nil {
			return err
		}
		ev := custos.NewEvent(actor, "handover.assign", custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "handover", itoa(id)
		ev.Detail = detail(map[string]any{"changed": len(assignments)})
		out = &h.Handover
		return a.appendTx(ctx, tx, ev)
	})
	if refusal != nil {
		return nil, refusal
	}
	return out, internal("assign handover", err)
}

// SignHandover records a party's signature (leaver, a successor,
// supervisor). Once all have signed and no borrowed paper file is still out,
// the handover completes in one transaction.
//
// A signature is the party signing in at that moment (R-G1): proof is the
// party's own password (and TOTP code where they need one), whatever
// session or token the request came with; a wrong one refuses, audited.
func (a *App) SignHandover(ctx context.Context, actor custos.Actor, id int64, proof Credentials) (*custos.Handover, error) {
	proof.Username, proof.Via, proof.ClientAddr = actor.Username, actor.Via, actor.ClientAddr
	if actor.Kind != custos.ActorUser {
		return nil, custos.ErrNotFound
	}
	if _, err := a.confirmParty(ctx, proof, "handover.sign", "password"); err != nil {
		return nil, err
	}
	var out *custos.Handover
	var refusal error
	var completed bool
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		refusal, completed = nil, false
		h, err := tx.Handover(ctx, id, false)
		if errors.Is(err, custos.ErrNotFound) {
			refusal = custos.ErrNotFound
			return nil
		}
		if err != nil {
			return err
		}
		party := h.SignParty(actor.UserID)
		switch {
		case party == "":
			refusal = custos.ErrNotFound
			return nil
		case h.State != custos.HandoverOpen:
			refusal = custos.Errorf(custos.EConflict, "交接已结束", "the handover is closed")
			return nil
		}
		now := a.now()
		if _, done := h.SignedAt[party]; !done {
			h.SignedAt[party], h.SignedBy[party] = now, actor.UserID
		}
		if h.FullySigned() {
			if err := a.completeHandover(ctx, tx, actor, h); err != nil {
				var ce *custos.Error
				if errors.As(err, &ce) && ce.Code == custos.EConflict {
					refusal = err
					return err
				}
				return err
			}
			completed = true
		}
		if err := tx.SaveHandover(ctx, h); err != nil {
			return err
		}
		ev := custos.NewEvent(actor, "handover.sign", custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "handover", itoa(id)
		ev.Detail = detail(map[string]any{"as": party, "completed": completed})
		out = &h.Handover
		return a.appendTx(ctx, tx, ev)
	})
	if refusal != nil {
		return nil, refusal
	}
	return out, internal("sign handover", err)
}

// completeHandover carries out a fully signed handover.
func (a *App) completeHandover(ctx context.Context, tx *sqlstore.Tx, actor custos.Actor, h *sqlstore.HandoverRecord) error {
	now := a.now()
	inv, err := tx.Holdings(ctx, h.LeaverID, now)
	if err != nil {
		return err
	}
	if len(inv.BorrowedFiles) > 0 {
		return custos.Errorf(custos.EConflict, "离岗人员仍有 %d 份借出的纸质档案未归还，须先归还", "the leaver still holds %d borrowed paper files; they must be returned first", len(inv.BorrowedFiles))
	}
	for _, c := range inv.Customers {
		to, ok := h.Assignments[c]
		if !ok {
			to = h.Successors[0] // acquired after the inventory: the first successor
			h.Assignments[c] = to
		}
		if err := tx.ReassignOwner(ctx, c, h.LeaverID, to); err != nil {
			return err
		}
		ev := a.event(actor, "customer.reassign", c, custos.OutcomeOK, "handover")
		ev.Detail = detail(map[string]any{"handover": h.ID, "from": h.LeaverID, "to": to})
		if err := a.appendTx(ctx, tx, ev); err != nil {
			return err
		}
	}
	for _, b := range inv.Buildings {
		to, ok := h.Assignments["building:"+b]
		if !ok {
			to = h.Successors[0]
		}
		if err := tx.ReassignBuilding(ctx, b, h.LeaverID, to); err != nil {
			return err
		}
	}
	for _, g := range inv.ActiveGrants {
		if err := tx.RevokeGrant(ctx, g, actor.UserID); err != nil && !errors.Is(err, custos.ErrNotFound) {
			return err
		}
	}
	for _, id := range inv.OpenRequests {
		r, err := tx.Request(ctx, id)
		if err != nil {
			return err
		}
		// A draft's onboarding goes on under its new owner; everything else
		// the leaver asked for is withdrawn.
		if to, ok := h.Assignments[r.CustomerID]; ok && r.Kind == custos.KindOnboarding && r.State == custos.RequestPending {
			if err := tx.ReassignRequest(ctx, r.ID, to); err != nil {
				return err
			}
			continue
		}
		r.Void("requester_left", now)
		if err := tx.UpdateRequest(ctx, r, nil); err != nil {
			return err
		}
	}
	leaver, err := tx.User(ctx, h.LeaverID)
	if err != nil {
		return err
	}
	leaver.Disabled = true
	if err := tx.UpdateUser(ctx, leaver); err != nil {
		return err
	}
	if err := tx.DeleteUserSessions(ctx, leaver.ID); err != nil {
		return err
	}
	h.State, h.CompletedAt = custos.HandoverCompleted, &now
	cert, pdf, err := a.handoverCertificate(ctx, tx, h, inv)
	if err != nil {
		return err
	}
	h.CertificateJSON, h.CertificatePDF = cert, pdf
	ev := custos.NewEvent(actor, "handover.complete", custos.OutcomeOK)
	ev.TargetType, ev.TargetRef = "user", itoa(h.LeaverID)
	ev.Detail = detail(map[string]any{"handover": h.ID, "customers": len(inv.Customers), "grants_revoked": len(inv.ActiveGrants), "requests_withdrawn": len(inv.OpenRequests)})
	return a.appendTx(ctx, tx, ev)
}

// HandoverCertificate is the JSON form of a completed handover's certificate.
type HandoverCertificate struct {
	Handover    int64             `json:"handover"`
	Leaver      string            `json:"leaver"`
	Supervisor  string            `json:"supervisor"`
	Successors  []string          `json:"successors"`
	Reason      string            `json:"reason"`
	Customers   map[string]string `json:"customers"` // archive number → successor
	Buildings   map[string]string `json:"buildings"`
	Grants      int               `json:"grants_revoked"`
	Requests    int               `json:"requests_withdrawn"`
	Attachments int               `json:"unfiled_attachments"`
	SignedAt    map[string]string `json:"signed_at"`
	CompletedAt string            `json:"completed_at"`
}

func (a *App) handoverCertificate(ctx context.Context, tx *sqlstore.Tx, h *sqlstore.HandoverRecord, inv custos.HandoverInventory) (string, []byte, error) {
	name := func(id int64) string {
		if u, err := tx.User(ctx, id); err == nil {
			if u.DisplayName != "" {
				return u.DisplayName + " (" + u.Username + ")"
			}
			return u.Username
		}
		return itoa(id)
	}
	c := HandoverCertificate{Handover: h.ID, Leaver: name(h.LeaverID), Supervisor: name(h.SupervisorID), Reason: h.Reason,
		Customers: map[string]string{}, Buildings: map[string]string{}, Grants: len(inv.ActiveGrants), Requests: len(inv.OpenRequests),
		Attachments: len(inv.UnfiledAttachments), SignedAt: map[string]string{}, CompletedAt: h.CompletedAt.Format(time.RFC3339)}
	for _, s := range h.Successors {
		c.Successors = append(c.Successors, name(s))
	}
	var rows [][]string
	for _, id := range inv.Customers {
		rec, err := tx.Customer(ctx, id)
		if err != nil {
			return "", nil, err
		}
		c.Customers[rec.ArchiveNo] = name(h.Assignments[id])
		rows = append(rows, []string{rec.ArchiveNo, rec.Category, c.Customers[rec.ArchiveNo]})
	}
	slices.SortFunc(rows, func(x, y []string) int { return strings.Compare(x[0], y[0]) })
	for _, b := range inv.Buildings {
		c.Buildings[b] = name(h.Assignments["building:"+b])
	}
	for k, t := range h.SignedAt {
		c.SignedAt[k] = t.Format(time.RFC3339)
	}
	js, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", nil, err
	}
	if a.pdf == nil {
		return string(js), nil, nil
	}
	ts := func(k string) string { return h.SignedAt[k].In(cst).Format("2006-01-02 15:04") }
	pdf, err := a.pdf.Render(pdfdoc.Doc{
		Title: "员工离岗交接证明书", Subtitle: "Staff handover certificate · 编号 No. " + itoa(h.ID),
		Blocks: []pdfdoc.Block{
			pdfdoc.Fields{{"离岗人员 Leaver", c.Leaver}, {"接收人员 Successors", strings.Join(c.Successors, "、")}, {"监交人 Supervisor", c.Supervisor},
				{"交接原因 Reason", c.Reason}, {"完成时间 Completed", h.CompletedAt.In(cst).Format("2006-01-02 15:04 MST")}},
			pdfdoc.Heading(fmt.Sprintf("移交客户档案 Customers handed over (%d)", len(rows))),
			pdfdoc.Table{Header: []string{"档案编号 Archive no.", "类别 Category", "接收人 Successor"}, Widths: []float64{60, 40, 74}, Rows: rows},
			pdfdoc.Heading("其他事项 Other items"),
			pdfdoc.Fields{{"移交楼栋 Buildings", fmt.Sprint(len(c.Buildings))}, {"撤销授权 Grants revoked", fmt.Sprint(c.Grants)},
				{"撤回申请 Requests withdrawn", fmt.Sprint(c.Requests)}, {"未归档附件 Unfiled attachments", fmt.Sprint(c.Attachments)},
				{"借出纸质档案 Borrowed paper files", "0（已全部归还 all returned）"}, {"账户状态 Account", "已停用 disabled"}},
			pdfdoc.Heading("签字 Signatures"),
			pdfdoc.Signatures{{"离岗人员 " + c.Leaver, ts(custos.SignLeaver)}, {"接收人员 " + name(h.SignedBy[custos.SignSuccessor]), ts(custos.SignSuccessor)},
				{"监交人 " + c.Supervisor, ts(custos.SignSupervisor)}},
		},
		Footer: "Custos · 客户信息管理系统",
	})
	if err != nil {
		return "", nil, err
	}
	return string(js), pdf, nil
}

// cst is China Standard Time, for documents read by people.
var cst = time.FixedZone("CST", 8*3600)

// HandoverCertificateFile returns a completed handover's certificate as PDF or JSON.
func (a *App) HandoverCertificateFile(ctx context.Context, actor custos.Actor, id int64, format string) ([]byte, error) {
	h, err := a.db.Reader().Handover(ctx, id, true)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, custos.ErrNotFound
	}
	if err != nil {
		return nil, internal("handover", err)
	}
	if ok, err := a.mayHandle(ctx, actor, &h.Handover); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return nil, a.denied(ctx, actor, custos.ActHandoverManage, "", custos.DenyScope, custos.ErrNotFound)
	}
	if h.State != custos.HandoverCompleted {
		return nil, custos.Errorf(custos.EConflict, "交接尚未完成", "the handover is not completed")
	}
	ev := custos.NewEvent(actor, "handover.certificate", custos.OutcomeOK)
	ev.TargetType, ev.TargetRef = "handover", itoa(id)
	ev.Detail = detail(map[string]any{"format": format})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	if format == "pdf" {
		if len(h.CertificatePDF) == 0 {
			return nil, custos.Errorf(custos.ENotFound, "没有 PDF 证明（未配置中文字体）", "no PDF certificate (no Chinese font was configured)")
		}
		return h.CertificatePDF, nil
	}
	return []byte(h.CertificateJSON), nil
}
