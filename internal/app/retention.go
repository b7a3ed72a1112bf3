package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/pdfdoc"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Retention, legal holds and secure destruction (R-F1–R-F4, R-G1's
// destruction part). The rules — presets, never shorter than the preset,
// restricted use of closed customers, dual control of execution — are in
// the domain (retention.go, authz.go); this file keeps the transactions,
// the encryption and the audit trail around them, and the destruction
// itself: crypto-shredding, deletion, freed space made unreadable, the KEK
// rotated and its old versions destroyed, and a signed certificate.

const settingRetention = "retention_policy"

// Field names of ciphertexts this file writes under a customer's key.
const (
	fieldClosureReason = "closure:reason"
	fieldHoldReason    = "hold:reason"
)

// RetentionPolicy returns the organisation's retention policy (the stricter
// preset until one is chosen).
func (a *App) RetentionPolicy(ctx context.Context, actor custos.Actor) (custos.RetentionPolicy, error) {
	if !custos.Allowed(actor, custos.ActRetentionManage).Allowed && !custos.Allowed(actor, custos.ActDestructionManage).Allowed &&
		!custos.Allowed(actor, custos.ActAuditRead).Allowed {
		return custos.RetentionPolicy{}, a.denied(ctx, actor, custos.ActRetentionManage, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed"))
	}
	p, err := a.retentionPolicy(ctx, a.db.Reader())
	return p, internal("retention policy", err)
}

func (a *App) retentionPolicy(ctx context.Context, tx *sqlstore.Tx) (custos.RetentionPolicy, error) {
	v, ok, err := tx.Setting(ctx, settingRetention)
	if err != nil || !ok {
		return custos.DefaultRetentionPolicy(), err
	}
	var p custos.RetentionPolicy
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return p, fmt.Errorf("stored retention policy: %w", err)
	}
	return p, nil
}

// CloseInput ends a customer relationship.
type CloseInput struct {
	RelationshipEnd string `json:"relationship_end"` // YYYY-MM-DD; default today
	Reason          string `json:"reason"`
	ArchiveNo       string `json:"archive_no,omitempty"` // names the customer when no id is given
}

func parseDay(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}

// latestDocExpiry is the latest expiry date of a customer's identity
// documents or business licence, "" when none has a date (long-term).
func latestDocExpiry(c *custos.Customer) string {
	var dates []string
	if c.Person != nil {
		for _, d := range c.Person.IDDocuments {
			dates = append(dates, d.Expiry)
		}
	}
	if c.Institution != nil && c.Institution.Licence != nil {
		dates = append(dates, c.Institution.Licence.Expiry)
	}
	latest := ""
	for _, d := range dates {
		if _, ok := parseDay(d); ok && d > latest {
			latest = d
		}
	}
	return latest
}

// ClosurePayload is the payload of a closure request (sealed under the
// customer's key: the reason may name personal circumstances).
type ClosurePayload struct {
	RelationshipEnd string `json:"relationship_end"`
	Reason          string `json:"reason"`
}

var errAlreadyClosed = custos.Errorf(custos.EConflict, "该客户关系已终止", "the relationship has already ended")

// CloseRelationship asks to record that the business relationship with a
// customer ended (R-F1). The end date starts the retention clock, so it is
// held to custos.CheckRelationshipEnd (not in the future, at most
// Config.ClosureBackdate days back, not before the customer's last business
// activity), and the closure takes effect only when a second person
// approves the request (applyClosure): the archive is then closed and
// restricted to storage, legal and audit use (PIPL Art. 47), and requests
// still pending on it are withdrawn.
//
// Errors: EInvalid, ENotFound, EConflict (closed already, or a closure
// pending), EForbidden.
func (a *App) CloseRelationship(ctx context.Context, actor custos.Actor, customerID string, in CloseInput) (*custos.Request, error) {
	if err := a.requireSystem(ctx, actor, custos.ActRetentionManage); err != nil {
		return nil, err
	}
	now := a.now()
	if in.RelationshipEnd == "" {
		in.RelationshipEnd = now.In(cst).Format(time.DateOnly)
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "reason", Code: custos.CodeRequired, Message: custos.StandardMessage(custos.CodeRequired)}}}).Err()
	}
	if err := custos.CheckRelationshipEnd(in.RelationshipEnd, time.Time{}, now, a.cfg.ClosureBackdate); err != nil {
		return nil, err
	}
	rd := a.db.Reader()
	var rec *sqlstore.CustomerRecord
	var err error
	if customerID == "" && strings.TrimSpace(in.ArchiveNo) != "" {
		rec, err = rd.CustomerByArchiveNo(ctx, strings.TrimSpace(in.ArchiveNo))
		if err == nil {
			customerID = rec.ID
		}
	} else {
		rec, err = rd.Customer(ctx, customerID)
	}
	if errors.Is(err, custos.ErrNotFound) || (err == nil && len(rec.WrappedKey) == 0) {
		return nil, a.denied(ctx, actor, "customer.close", customerID, "not_found", custos.ErrNotFound)
	}
	if err != nil {
		return nil, internal("load customer", err)
	}
	// Only a customer of the actor's unit or below: another's answers as
	// missing, so filing tells nobody whether an archive exists elsewhere.
	if err := a.placeRecords(ctx, rec); err != nil {
		return nil, err
	}
	if actor.Kind != custos.ActorSystem && !custos.PathContains(actor.OrgPath, rec.OrgPath) {
		return nil, a.denied(ctx, actor, "customer.close", customerID, custos.DenyScope, custos.ErrNotFound)
	}
	var out *custos.Request
	var refusal error
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		refusal = nil
		cur, err := tx.Customer(ctx, customerID)
		if err != nil {
			return err
		}
		if refusal, err = a.closable(ctx, tx, cur, in.RelationshipEnd, now); refusal != nil || err != nil {
			return err
		}
		pending, err := tx.Requests(ctx, custos.RequestFilter{CustomerID: cur.ID, Kind: custos.KindClosure, State: custos.RequestPending})
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			refusal = custos.Errorf(custos.EConflict, "该客户已有待审批的终止申请", "a closure of this customer is already waiting for approval")
			return nil
		}
		r, err := a.newRequest(ctx, tx, actor, custos.KindClosure, cur.OrgID, cur.ID, "relationship closure", cur.ArchiveNo+" · "+in.RelationshipEnd)
		if err != nil {
			return err
		}
		if err := a.insertRequest(ctx, tx, actor, r, cur.WrappedKey, ClosurePayload{RelationshipEnd: in.RelationshipEnd, Reason: in.Reason}); err != nil {
			return err
		}
		out = &r.Request
		return nil
	})
	if refusal != nil {
		return nil, a.denied(ctx, actor, "customer.close", customerID, custos.ErrorMessageOf(refusal).EN, refusal)
	}
	if err != nil {
		return nil, internal("close relationship", err)
	}
	a.notifyFiled(ctx, out)
	return out, nil
}

// closable says why a customer cannot be closed as of end (a refusal), or
// nothing: it is not closed yet and end lies within the rule of
// custos.CheckRelationshipEnd, counted from filed, against its last
// business activity as stored now.
func (a *App) closable(ctx context.Context, tx *sqlstore.Tx, cur *sqlstore.CustomerRecord, end string, filed time.Time) (error, error) {
	if cur.Status == custos.StatusClosed {
		return errAlreadyClosed, nil
	}
	last, err := tx.LastActivity(ctx, cur.ID)
	if err != nil {
		return nil, err
	}
	return custos.CheckRelationshipEnd(end, last, filed, a.cfg.ClosureBackdate), nil
}

// applyClosure closes the relationship of an approved closure request; the
// end date is checked once more against the activity recorded meanwhile.
func (a *App) applyClosure(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	cur, err := tx.Customer(ctx, r.CustomerID)
	if err != nil {
		return err
	}
	var p ClosurePayload
	if err := a.openPayload(r, cur.WrappedKey, &p); err != nil {
		return err
	}
	refusal, err := a.closable(ctx, tx, cur, p.RelationshipEnd, r.RequestedAt)
	if err != nil {
		return err
	}
	if refusal != nil {
		return refusal
	}
	c, err := a.openCustomer(cur)
	if err != nil {
		return err
	}
	reasonCT, err := a.keys.Sealer.Encrypt(cur.ID, cur.WrappedKey, fieldClosureReason, []byte(p.Reason))
	if err != nil {
		return err
	}
	now := a.now()
	if err := tx.SetCustomerState(ctx, cur.ID, custos.StatusClosed, cur.Verification); err != nil {
		return err
	}
	if err := tx.InsertClosure(ctx, &sqlstore.ClosureRecord{CustomerID: cur.ID, RelationshipEnd: p.RelationshipEnd,
		DocExpiry: latestDocExpiry(c), ReasonCT: reasonCT, ClosedBy: r.RequestedBy, ClosedAt: now}); err != nil {
		return err
	}
	pending, err := tx.Requests(ctx, custos.RequestFilter{CustomerID: cur.ID, State: custos.RequestPending})
	if err != nil {
		return err
	}
	withdrawn := 0
	for _, x := range pending {
		if x.ID == r.ID {
			continue // the closure itself, approved in this transaction
		}
		withdrawn++
		x.Void("customer_closed", now)
		if err := tx.UpdateRequest(ctx, x, nil); err != nil {
			return err
		}
	}
	ev := a.event(approver, "customer.close", cur.ID, custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"relationship_end": p.RelationshipEnd, "requests_withdrawn": withdrawn, "request": r.ID, "requested_by": r.RequestedBy})
	return a.appendTx(ctx, tx, ev)
}

// HoldInput places a legal hold.
type HoldInput struct {
	CustomerID string           `json:"customer_id,omitempty"`
	ArchiveNo  string           `json:"archive_no,omitempty"`
	Scope      custos.HoldScope `json:"scope"`
	TxnFrom    string           `json:"txn_from,omitempty"`
	TxnTo      string           `json:"txn_to,omitempty"`
	CaseRef    string           `json:"case_ref"`
	Reason     string           `json:"reason"`
	Owner      string           `json:"owner,omitempty"` // username; default the caller
}

// PlaceHold puts a customer, or its transactions, under a legal hold (R-F2):
// nothing it covers is destroyed until the hold is released by approval.
func (a *App) PlaceHold(ctx context.Context, actor custos.Actor, in HoldInput) (*custos.LegalHold, error) {
	if err := a.requireSystem(ctx, actor, custos.ActHoldManage); err != nil {
		return nil, err
	}
	var v custos.Validation
	if in.Scope == "" {
		in.Scope = custos.HoldCustomer
	}
	if in.Scope != custos.HoldCustomer && in.Scope != custos.HoldTransactions {
		v.Addf("scope", custos.CodeNotAllowed)
	}
	for _, d := range []struct{ f, v string }{{"txn_from", in.TxnFrom}, {"txn_to", in.TxnTo}} {
		if d.v == "" {
			continue
		}
		if in.Scope != custos.HoldTransactions {
			v.Addf(d.f, custos.CodeNotAllowed)
		} else if _, ok := parseDay(d.v); !ok {
			v.Addf(d.f, custos.CodeInvalidDate)
		}
	}
	if in.TxnFrom != "" && in.TxnTo != "" && in.TxnTo < in.TxnFrom {
		v.Addf("txn_to", custos.CodeOutOfRange)
	}
	in.CaseRef, in.Reason = strings.TrimSpace(in.CaseRef), strings.TrimSpace(in.Reason)
	switch {
	case in.CaseRef == "":
		v.Addf("case_ref", custos.CodeRequired)
	case len(in.CaseRef) > 64:
		v.Addf("case_ref", custos.CodeTooLong)
	}
	if in.Reason == "" {
		v.Addf("reason", custos.CodeRequired)
	}
	if in.CustomerID == "" && strings.TrimSpace(in.ArchiveNo) == "" {
		v.Addf("customer_id", custos.CodeRequired)
	}
	owner := actor.UserID
	if in.Owner != "" {
		u, err := a.userID(ctx, in.Owner)
		if err != nil || u.Disabled {
			v.Addf("owner", custos.CodeUnknown)
		} else {
			owner = u.ID
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	rd := a.db.Reader()
	var rec *sqlstore.CustomerRecord
	var err error
	if in.CustomerID != "" {
		rec, err = rd.Customer(ctx, in.CustomerID)
	} else {
		rec, err = rd.CustomerByArchiveNo(ctx, strings.TrimSpace(in.ArchiveNo))
	}
	if errors.Is(err, custos.ErrNotFound) || (err == nil && len(rec.WrappedKey) == 0) {
		return nil, a.denied(ctx, actor, custos.ActHoldManage, in.CustomerID, "not_found", custos.ErrNotFound)
	}
	if err != nil {
		return nil, internal("load customer", err)
	}
	h := &sqlstore.HoldRecord{}
	h.CustomerID, h.ArchiveNo, h.Scope, h.TxnFrom, h.TxnTo, h.CaseRef = rec.ID, rec.ArchiveNo, in.Scope, in.TxnFrom, in.TxnTo, in.CaseRef
	h.OwnerID, h.PlacedBy, h.PlacedAt = owner, actor.UserID, a.now()
	if h.ReasonCT, err = a.keys.Sealer.Encrypt(rec.ID, rec.WrappedKey, fieldHoldReason, []byte(in.Reason)); err != nil {
		return nil, internal("seal reason", err)
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		h.ID = 0
		if err := tx.InsertHold(ctx, h); err != nil {
			return err
		}
		ev := a.event(actor, "hold.place", rec.ID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"hold": h.ID, "scope": h.Scope, "owner": owner})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("place hold", err)
	}
	out := h.LegalHold
	out.Reason = in.Reason
	return &out, nil
}

// Holds lists legal holds (of one customer if customerID is set), for hold
// managers and auditors.
func (a *App) Holds(ctx context.Context, actor custos.Actor, customerID string, activeOnly bool) ([]*custos.LegalHold, error) {
	if !custos.Allowed(actor, custos.ActHoldManage).Allowed && !custos.Allowed(actor, custos.ActAuditRead).Allowed {
		return nil, a.denied(ctx, actor, custos.ActHoldManage, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed"))
	}
	rd := a.db.Reader()
	recs, err := rd.Holds(ctx, customerID, activeOnly)
	if err != nil {
		return nil, internal("holds", err)
	}
	ev := custos.NewEvent(actor, "hold.list", custos.OutcomeOK)
	ev.Detail = detail(map[string]any{"holds": len(recs), "active_only": activeOnly})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	out := make([]*custos.LegalHold, 0, len(recs))
	for _, h := range recs {
		v := h.LegalHold
		if c, err := rd.Customer(ctx, h.CustomerID); err == nil && len(c.WrappedKey) > 0 {
			if pt, err := a.keys.Sealer.Decrypt(c.ID, c.WrappedKey, fieldHoldReason, h.ReasonCT); err == nil {
				v.Reason = string(pt)
			}
		}
		out = append(out, &v)
	}
	return out, nil
}

// RequestHoldRelease files the request that, once approved by someone
// else, releases a legal hold (R-F2). Holds are never released directly.
func (a *App) RequestHoldRelease(ctx context.Context, actor custos.Actor, holdID int64, reason string) (*custos.Request, error) {
	if err := a.requireSystem(ctx, actor, custos.ActHoldManage); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "reason", Code: custos.CodeRequired, Message: custos.StandardMessage(custos.CodeRequired)}}}).Err()
	}
	h, err := a.db.Reader().Hold(ctx, holdID)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, custos.ErrNotFound
	}
	if err != nil {
		return nil, internal("load hold", err)
	}
	if !h.Active() {
		return nil, custos.Errorf(custos.EConflict, "该保全已解除", "the hold has already been released")
	}
	orgID := actor.OrgID
	if c, err := a.db.Reader().Customer(ctx, h.CustomerID); err == nil {
		orgID = c.OrgID
	}
	var out *custos.Request
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		r, err := a.newRequest(ctx, tx, actor, custos.KindHoldRelease, orgID, h.CustomerID, strings.TrimSpace(reason),
			fmt.Sprintf("hold %d · %s", h.ID, h.CaseRef))
		if err != nil {
			return err
		}
		r.SubjectID = "hold:" + strconv.FormatInt(h.ID, 10)
		if err := a.insertRequest(ctx, tx, actor, r, nil, nil); err != nil {
			return err
		}
		out = &r.Request
		return nil
	})
	if err != nil {
		return nil, internal("request hold release", err)
	}
	a.notifyFiled(ctx, out)
	return out, nil
}

// applyHoldRelease releases the hold of an approved request.
func (a *App) applyHoldRelease(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	id, err := strconv.ParseInt(strings.TrimPrefix(r.SubjectID, "hold:"), 10, 64)
	if err != nil || !strings.HasPrefix(r.SubjectID, "hold:") {
		return fmt.Errorf("hold release request %d names no hold", r.ID)
	}
	h, err := tx.Hold(ctx, id)
	if err != nil {
		return err
	}
	if err := tx.ReleaseHold(ctx, id, r.ID, a.now()); err != nil {
		return err
	}
	ev := a.event(approver, "hold.release", h.CustomerID, custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"hold": id, "request": r.ID, "requested_by": r.RequestedBy})
	return a.appendTx(ctx, tx, ev)
}

// DueEntry is one closed customer in a due-list.
type DueEntry struct {
	CustomerID      string `json:"customer_id"`
	ArchiveNo       string `json:"archive_no"`
	RelationshipEnd string `json:"relationship_end"`
	DueAt           string `json:"due_at"`
	Batch           int64  `json:"batch,omitempty"` // an unfinished batch already lists it
	// A customer whose relationship continues: only its transactions
	// dated before TxnBefore are due (Transactions of them).
	TxnBefore    time.Time `json:"txn_before,omitzero"`
	Transactions int64     `json:"transactions,omitempty"`
}

// DueList is what retention allows to destroy now, what a hold keeps, and
// how many closed customers are still within their period. Computing it
// changes nothing (a dry run).
type DueList struct {
	At     time.Time  `json:"at"`
	Preset string     `json:"preset"`
	Due    []DueEntry `json:"due"`
	Held   []DueEntry `json:"held"`
	NotYet int        `json:"not_yet"`
	Closed int        `json:"closed"` // closed customers not yet destroyed
	// Customers whose relationship continues with expired transactions
	// (due or held), and how many such transactions they have.
	TxnCustomers int   `json:"txn_customers"`
	TxnExpired   int64 `json:"txn_expired"`
}

func (a *App) dueList(ctx context.Context, tx *sqlstore.Tx, now time.Time, txns dueTxns) (*DueList, error) {
	p, err := a.retentionPolicy(ctx, tx)
	if err != nil {
		return nil, err
	}
	cands, err := tx.RetentionCandidates(ctx)
	if err != nil {
		return nil, err
	}
	held, err := tx.HeldCustomers(ctx)
	if err != nil {
		return nil, err
	}
	open, err := tx.OpenBatchCustomers(ctx, custos.BatchProposed, custos.BatchPending, custos.BatchApproved)
	if err != nil {
		return nil, err
	}
	out := &DueList{At: now, Preset: p.Preset, Due: []DueEntry{}, Held: []DueEntry{}, Closed: len(cands)}
	for _, c := range cands {
		f := custos.RetentionFacts{}
		f.RelationshipEnd, _ = parseDay(c.RelationshipEnd)
		f.DocumentExpiry, _ = parseDay(c.DocExpiry)
		if c.LastTxn != nil {
			f.LastTransaction = *c.LastTxn
		}
		due, ok := p.DestroyableAt(f)
		if !ok || due.After(now) {
			out.NotYet++
			continue
		}
		e := DueEntry{CustomerID: c.CustomerID, ArchiveNo: c.ArchiveNo, RelationshipEnd: c.RelationshipEnd, DueAt: due.Format(time.DateOnly), Batch: open[c.CustomerID]}
		if held[c.CustomerID] {
			out.Held = append(out.Held, e)
			continue
		}
		out.Due = append(out.Due, e)
	}
	if err := a.dueTransactions(ctx, tx, p, now, held, open, txns, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Due lists what is due for destruction now, and what holds keep (R-F3,
// R-F4). It acts on nothing.
func (a *App) Due(ctx context.Context, actor custos.Actor) (*DueList, error) {
	if err := a.requireSystem(ctx, actor, custos.ActDestructionManage); err != nil {
		return nil, err
	}
	d, err := a.dueList(ctx, a.db.Reader(), a.now(), dueTxnsCounted)
	if err != nil {
		return nil, internal("due list", err)
	}
	ev := custos.NewEvent(actor, "retention.due", custos.OutcomeOK)
	ev.Detail = detail(map[string]any{"due": len(d.Due), "held": len(d.Held), "not_yet": d.NotYet})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return d, nil
}

// RetentionScan is the periodic job: it files what is due and not yet in a
// batch as a proposed batch (a due-list for a person to act on) and never
// destroys anything itself. It returns how many customers it filed.
func (a *App) RetentionScan(ctx context.Context) (int, error) {
	actor := custos.SystemActor("retention.scan")
	if d := custos.Allowed(actor, custos.ActRetentionManage); !d.Allowed {
		return 0, fmt.Errorf("retention scan not allowed: %s", d.Reason)
	}
	filed := 0
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		filed = 0
		now := a.now()
		d, err := a.dueList(ctx, tx, now, dueTxnsListed)
		if err != nil {
			return err
		}
		b := &custos.DestructionBatch{State: custos.BatchProposed, Reason: "retention.scan", CreatedAt: now}
		for _, e := range d.Due {
			if e.Batch == 0 {
				b.Items = append(b.Items, custos.DestructionItem{CustomerID: e.CustomerID, ArchiveNo: e.ArchiveNo, DueAt: e.DueAt, TxnBefore: e.TxnBefore})
			}
		}
		ev := custos.NewEvent(actor, "retention.scan", custos.OutcomeOK)
		if len(b.Items) > 0 {
			if err := tx.InsertBatch(ctx, b); err != nil {
				return err
			}
			ev.TargetType, ev.TargetRef = "destruction_batch", strconv.FormatInt(b.ID, 10)
		}
		filed = len(b.Items)
		ev.Detail = detail(map[string]any{"due": len(d.Due), "filed": filed, "held": len(d.Held), "not_yet": d.NotYet})
		return a.appendTx(ctx, tx, ev)
	})
	return filed, err
}

// CreateDestructionBatch puts everything due and not in another batch
// awaiting approval into a new batch and files its KindDestruction request,
// which needs two distinct approvers other than the requester (R-F3).
// Batches proposed by the retention scan are superseded by it.
func (a *App) CreateDestructionBatch(ctx context.Context, actor custos.Actor, reason string) (*custos.DestructionBatch, *custos.Request, error) {
	if err := a.requireSystem(ctx, actor, custos.ActDestructionManage); err != nil {
		return nil, nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "reason", Code: custos.CodeRequired, Message: custos.StandardMessage(custos.CodeRequired)}}}).Err()
	}
	var b *custos.DestructionBatch
	var req *custos.Request
	var refusal error
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		refusal, b, req = nil, nil, nil
		now := a.now()
		d, err := a.dueList(ctx, tx, now, dueTxnsListed)
		if err != nil {
			return err
		}
		busy, err := tx.OpenBatchCustomers(ctx, custos.BatchPending, custos.BatchApproved)
		if err != nil {
			return err
		}
		nb := &custos.DestructionBatch{State: custos.BatchPending, Reason: reason, CreatedBy: actor.UserID, CreatedAt: now}
		for _, e := range d.Due {
			if busy[e.CustomerID] == 0 {
				nb.Items = append(nb.Items, custos.DestructionItem{CustomerID: e.CustomerID, ArchiveNo: e.ArchiveNo, DueAt: e.DueAt, State: custos.ItemListed,
					TxnBefore: e.TxnBefore})
			}
		}
		if len(nb.Items) == 0 {
			refusal = custos.Errorf(custos.EConflict, "目前没有到期待销毁的记录", "nothing is due for destruction")
			return nil
		}
		proposed, err := tx.Batches(ctx, custos.BatchProposed, 500)
		if err != nil {
			return err
		}
		for _, p := range proposed {
			if err := tx.UpdateBatch(ctx, &sqlstore.BatchRecord{DestructionBatch: custos.DestructionBatch{ID: p.ID, State: custos.BatchCancelled,
				Reason: p.Reason + " (superseded)", CreatedAt: p.CreatedAt}}); err != nil {
				return err
			}
		}
		if err := tx.InsertBatch(ctx, nb); err != nil {
			return err
		}
		r, err := a.newRequest(ctx, tx, actor, custos.KindDestruction, actor.OrgID, "", reason,
			fmt.Sprintf("destruction batch %d: %d customers", nb.ID, len(nb.Items)))
		if err != nil {
			return err
		}
		r.SubjectID = "batch:" + strconv.FormatInt(nb.ID, 10)
		ev := custos.NewEvent(actor, "destruction.create", custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "destruction_batch", strconv.FormatInt(nb.ID, 10)
		ev.Detail = detail(map[string]any{"customers": len(nb.Items), "held": len(d.Held), "superseded": len(proposed)})
		if err := a.insertRequest(ctx, tx, actor, r, nil, nil, ev); err != nil {
			return err
		}
		nb.RequestID = r.ID
		if err := tx.UpdateBatch(ctx, &sqlstore.BatchRecord{DestructionBatch: *nb}); err != nil {
			return err
		}
		b, req = nb, &r.Request
		return nil
	})
	if refusal != nil {
		return nil, nil, refusal
	}
	if err != nil {
		return nil, nil, internal("create destruction batch", err)
	}
	a.notifyFiled(ctx, req)
	return b, req, nil
}

// applyDestruction marks a batch approved once its request has two
// approvals; execution is a separate step, with a witness present.
func (a *App) applyDestruction(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	b, err := tx.BatchByRequest(ctx, r.ID)
	if err != nil {
		return err
	}
	if b.State != custos.BatchPending {
		return custos.Errorf(custos.EConflict, "销毁批次已不在待审批状态", "the destruction batch is no longer pending")
	}
	b.State = custos.BatchApproved
	if err := tx.UpdateBatch(ctx, b); err != nil {
		return err
	}
	approvers := []int64{}
	for _, d := range r.Decisions {
		if d.Approve {
			approvers = append(approvers, d.By)
		}
	}
	ev := custos.NewEvent(approver, "destruction.approve", custos.OutcomeOK)
	ev.TargetType, ev.TargetRef = "destruction_batch", strconv.FormatInt(b.ID, 10)
	ev.Detail = detail(map[string]any{"request": r.ID, "approvers": approvers})
	return a.appendTx(ctx, tx, ev)
}

// syncBatch cancels a pending batch whose request ended without approval
// (rejected, cancelled or expired).
func (a *App) syncBatch(ctx context.Context, b *sqlstore.BatchRecord) (*sqlstore.BatchRecord, error) {
	if b.State != custos.BatchPending || b.RequestID == 0 {
		return b, nil
	}
	r, err := a.db.Reader().Request(ctx, b.RequestID)
	if err != nil {
		return nil, err
	}
	if !r.State.Final() || r.State == custos.RequestApplied {
		return b, nil
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		cur, err := tx.Batch(ctx, b.ID, false)
		if err != nil || cur.State != custos.BatchPending {
			return err
		}
		cur.State = custos.BatchCancelled
		return tx.UpdateBatch(ctx, cur)
	})
	if err != nil {
		return nil, err
	}
	return a.db.Reader().Batch(ctx, b.ID, false)
}

// DestructionBatches lists batches for destruction managers and auditors.
func (a *App) DestructionBatches(ctx context.Context, actor custos.Actor) ([]*custos.DestructionBatch, error) {
	if !custos.Allowed(actor, custos.ActDestructionManage).Allowed && !custos.Allowed(actor, custos.ActAuditRead).Allowed {
		return nil, a.denied(ctx, actor, custos.ActDestructionManage, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed"))
	}
	out, err := a.db.Reader().Batches(ctx, "", 200)
	return out, internal("destruction batches", err)
}

// DestructionBatch shows one batch with its items.
func (a *App) DestructionBatch(ctx context.Context, actor custos.Actor, id int64) (*custos.DestructionBatch, error) {
	if !custos.Allowed(actor, custos.ActDestructionManage).Allowed && !custos.Allowed(actor, custos.ActAuditRead).Allowed {
		return nil, a.denied(ctx, actor, custos.ActDestructionManage, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed"))
	}
	b, err := a.db.Reader().Batch(ctx, id, false)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, custos.ErrNotFound
	}
	if err == nil {
		b, err = a.syncBatch(ctx, b)
	}
	if err != nil {
		return nil, internal("destruction batch", err)
	}
	return &b.DestructionBatch, nil
}

// witnessDestruction checks the witness of an execution, who signs in at
// that moment (R-F3: two persons present): their own password, and the
// TOTP code where they need one. The witness is neither the executor nor
// an approver of the batch. The witness is recorded on the batch; every
// refusal is audited.
func (a *App) witnessDestruction(ctx context.Context, actor custos.Actor, b *sqlstore.BatchRecord, w Credentials) error {
	if w.Username == "" {
		return (&custos.Validation{Fields: []custos.FieldError{{Field: "witness", Code: custos.CodeRequired, Message: custos.StandardMessage(custos.CodeRequired)}}}).Err()
	}
	w.Via, w.ClientAddr = actor.Via, actor.ClientAddr
	u, err := a.confirmParty(ctx, w, "destruction.witness", "witness")
	if err != nil {
		return err
	}
	target := strconv.FormatInt(b.ID, 10)
	refuse := func(reason string, answer error) error {
		ev := a.event(actor, "destruction.witness", "", custos.OutcomeDenied, reason)
		ev.TargetType, ev.TargetRef = "destruction_batch", target
		ev.Detail = detail(map[string]any{"witness": u.ID})
		if err := a.record(ctx, ev); err != nil {
			return err
		}
		return answer
	}
	if u.ID == actor.UserID {
		return refuse("witness_is_executor", custos.ErrWitnessIsActor)
	}
	if b.RequestID != 0 {
		r, err := a.db.Reader().Request(ctx, b.RequestID)
		if err != nil {
			return internal("load request", err)
		}
		for _, d := range r.Decisions {
			if d.Approve && d.By == u.ID {
				return refuse("witness_is_approver", custos.ErrWitnessIsApprover)
			}
		}
	}
	return internal("record witness", a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		cur, err := tx.Batch(ctx, b.ID, false)
		if err != nil {
			return err
		}
		now := a.now()
		cur.WitnessID, cur.WitnessedAt = u.ID, &now
		if err := tx.UpdateBatch(ctx, cur); err != nil {
			return err
		}
		b.WitnessID, b.WitnessedAt = u.ID, &now
		ev := custos.NewEvent(actor, "destruction.witness", custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "destruction_batch", target
		ev.Detail = detail(map[string]any{"witness": u.ID})
		return a.appendTx(ctx, tx, ev)
	}))
}

// destroyPerTx is how many customers one transaction shreds or deletes
// (a write of twenty took 50–70 ms on PostgreSQL, long enough to hold a
// read's audit commit past 100 ms; five take about 15); txnSlice is how
// many transactions one write deletes, so that a long history never holds
// up other writers for long.
const (
	destroyPerTx = 5
	txnSlice     = 2000
)

// destroyChunk destroys some of a batch's customers in three steps: one
// transaction decides each (skipped if a hold is in force or it is no
// longer due) and crypto-shreds the rest; their transactions are deleted
// in slices; one transaction deletes the customers and their remaining
// rows. A customer whose key a failed run already shredded is taken up
// again. It returns the counts of what it destroyed.
func (a *App) destroyChunk(ctx context.Context, actor custos.Actor, batchID int64, items []custos.DestructionItem, isDue map[string]bool) (map[string]int64, error) {
	total := map[string]int64{}
	type shred struct {
		id     string
		counts map[string]int64
		// The blind indexes and identity key, recomputed from the profile
		// before its key goes, so that they are deleted by exact key; nil
		// when a failed run already shredded the key.
		index    []sqlstore.IndexEntry
		identity []byte
	}
	var shredded []shred
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		shredded, total = nil, map[string]int64{}
		held, err := tx.HeldCustomers(ctx)
		if err != nil {
			return err
		}
		for _, it := range items {
			cur, err := tx.Customer(ctx, it.CustomerID)
			if errors.Is(err, custos.ErrNotFound) {
				// Destroyed meanwhile by a run of this batch elsewhere.
				if err := tx.SetBatchItemState(ctx, batchID, it.CustomerID, custos.ItemDestroyed); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("load %s: %w", it.ArchiveNo, err)
			}
			resumed := len(cur.WrappedKey) == 0
			state := ""
			switch {
			case held[it.CustomerID]:
				state = custos.ItemSkippedHld
			case !isDue[it.CustomerID] && !resumed:
				state = custos.ItemSkippedDue
			}
			if state != "" {
				total["skipped"]++
				if err := tx.SetBatchItemState(ctx, batchID, it.CustomerID, state); err != nil {
					return err
				}
				continue
			}
			sh := shred{id: it.CustomerID}
			// A profile that does not decrypt (damaged) is destroyed all the
			// same; its indexes are then found by customer id.
			if !resumed {
				if c, err := a.openCustomer(cur); err == nil {
					sh.index, sh.identity = a.blindIndexes(c)
					if sh.index == nil {
						sh.index = []sqlstore.IndexEntry{}
					}
				}
			}
			if sh.counts, err = tx.ShredCustomer(ctx, it.CustomerID); err != nil {
				return fmt.Errorf("shred %s: %w", it.ArchiveNo, err)
			}
			shredded = append(shredded, sh)
			ev := a.event(actor, "customer.shred", it.CustomerID, custos.OutcomeOK, "")
			ev.Detail = detail(map[string]any{"batch": batchID, "resumed": resumed})
			if err := a.appendTx(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return total, err
	}
	for _, s := range shredded {
		a.keys.Sealer.Forget(s.id)
	}
	// Transactions go in slices of about txnSlice rows: customers grouped
	// up to that many between them, a longer history on its own in parts.
	var group []string
	rows := int64(0)
	purge := func(ids []string) error {
		for len(ids) > 0 {
			var done bool
			err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
				var err error
				_, done, err = tx.DeleteTransactions(ctx, ids, txnSlice)
				return err
			})
			if err != nil {
				return err
			}
			if err := a.db.TrimWAL(ctx); err != nil {
				return err
			}
			if done {
				return nil
			}
		}
		return nil
	}
	for _, s := range shredded {
		n := s.counts["transactions"]
		if n == 0 {
			continue
		}
		if rows+n > txnSlice && len(group) > 0 {
			if err := purge(group); err != nil {
				return total, err
			}
			group, rows = nil, 0
		}
		group, rows = append(group, s.id), rows+n
	}
	if err := purge(group); err != nil {
		return total, err
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		for _, s := range shredded {
			if err := tx.DeleteCustomerIndex(ctx, s.id, s.index, s.identity); err != nil {
				return err
			}
			if err := tx.DeleteCustomer(ctx, s.id); err != nil {
				return err
			}
			if err := tx.SetBatchItemState(ctx, batchID, s.id, custos.ItemDestroyed); err != nil {
				return err
			}
			ev := a.event(actor, "customer.destroy", s.id, custos.OutcomeOK, "")
			ev.Detail = detail(map[string]any{"batch": batchID, "counts": s.counts})
			if err := a.appendTx(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return total, err
	}
	for _, s := range shredded {
		for k, v := range s.counts {
			total[k] += v
		}
	}
	return total, nil
}

// Destruction methods, as the certificate states them.
const (
	MethodShred    = "crypto-shredding: the customers' data keys deleted"
	MethodDelete   = "rows deleted: archive, versions, attachments and their contents, transactions, paper file references, requests, grants, indexes"
	MethodRotation = "key-encryption key rotated, all data keys rewrapped, old versions retired and destroyed (backups taken before cannot decrypt the destroyed customers)"
	MethodAudit    = "audit events kept: they hold HMAC references only"
	MethodBackups  = "backups made with --include-keys and copies of the key directory taken before this time still decrypt the destroyed customers: destroy them, or keep them sealed under this procedure until they expire (docs/backup.md)"
)

// ExecuteDestruction destroys an approved batch in the presence of a
// witness who signs in for it (R-F3, R-F4): every listed customer not under a hold and still due is
// crypto-shredded and deleted with its records; the freed space is made
// unreadable; the key-encryption key is rotated and its old versions
// destroyed; a signed certificate is kept. Run again after a failure, it
// goes on where it stopped.
func (a *App) ExecuteDestruction(ctx context.Context, actor custos.Actor, batchID int64, witness Credentials) (*custos.DestructionBatch, error) {
	if err := a.requireSystem(ctx, actor, custos.ActDestructionManage); err != nil {
		return nil, err
	}
	rd := a.db.Reader()
	b, err := rd.Batch(ctx, batchID, false)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, custos.ErrNotFound
	}
	if err == nil {
		b, err = a.syncBatch(ctx, b)
	}
	if err != nil {
		return nil, internal("load batch", err)
	}
	if b.State != custos.BatchApproved {
		return nil, a.denied(ctx, actor, custos.ActDestructionManage, "", "destruction_refused", custos.ErrBatchNotApproved)
	}
	if err := a.witnessDestruction(ctx, actor, b, witness); err != nil {
		return nil, err
	}
	if err := b.MayExecute(actor); err != nil {
		return nil, a.denied(ctx, actor, custos.ActDestructionManage, "", "destruction_refused", err)
	}
	due, err := a.dueList(ctx, rd, a.now(), dueTxnsNone)
	if err != nil {
		return nil, internal("due list", err)
	}
	isDue := map[string]bool{}
	for _, e := range due.Due {
		if e.TxnBefore.IsZero() {
			isDue[e.CustomerID] = true
		}
	}
	counts := map[string]int64{}
	for k, v := range b.Counts {
		counts[k] = v
	}
	var todo, purge []custos.DestructionItem
	hasWhole, hasPurge := false, false
	for _, it := range b.Items {
		hasWhole, hasPurge = hasWhole || !it.TransactionsOnly(), hasPurge || it.TransactionsOnly()
		switch {
		case it.State != custos.ItemListed:
		case it.TransactionsOnly():
			purge = append(purge, it)
		default:
			todo = append(todo, it)
		}
	}
	// The counts so far are kept after every chunk, so that a run that
	// fails and is taken up again still certifies everything destroyed.
	saveCounts := func() error {
		return a.db.Write(ctx, func(tx *sqlstore.Tx) error {
			cur, err := tx.Batch(ctx, b.ID, false)
			if err != nil {
				return err
			}
			cur.Counts = counts
			return tx.UpdateBatch(ctx, cur)
		})
	}
	for start := 0; start < len(todo); start += destroyPerTx {
		got, err := a.destroyChunk(ctx, actor, b.ID, todo[start:min(start+destroyPerTx, len(todo))], isDue)
		for k, v := range got {
			counts[k] += v
		}
		if serr := saveCounts(); err == nil {
			err = serr
		}
		if err != nil {
			return nil, internal("destroy customers", err)
		}
	}
	if err := a.purgeExpiredTransactions(ctx, actor, b.ID, purge, counts); err != nil {
		return nil, internal("purge expired transactions", err)
	}
	method, err := a.db.SecureFreedSpace(ctx)
	if err != nil {
		return nil, internal("secure freed space", err)
	}
	rot, err := a.shredOldKEKVersions(ctx)
	if err != nil {
		return nil, internal("rotate key-encryption key", err)
	}
	var out *custos.DestructionBatch
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		cur, err := tx.Batch(ctx, b.ID, false)
		if err != nil {
			return err
		}
		now := a.now()
		cur.State, cur.ExecutedBy, cur.ExecutedAt, cur.Counts = custos.BatchExecuted, actor.UserID, &now, counts
		var methods []string
		if hasWhole {
			methods = append(methods, MethodShred, MethodDelete)
		}
		if hasPurge {
			methods = append(methods, MethodPurge)
		}
		methods = append(methods, method, MethodRotation, MethodAudit, MethodBackups)
		if cur.CertificateJSON, cur.CertificatePDF, err = a.destructionCertificate(ctx, tx, cur, methods, rot); err != nil {
			return err
		}
		if err := tx.UpdateBatch(ctx, cur); err != nil {
			return err
		}
		ev := custos.NewEvent(actor, "destruction.execute", custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "destruction_batch", strconv.FormatInt(b.ID, 10)
		ev.Detail = detail(map[string]any{"counts": counts, "witness": cur.WitnessID, "kek_version": rot.NewVersion, "kek_destroyed": rot.Destroyed})
		out = &cur.DestructionBatch
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("finish destruction", err)
	}
	return out, nil
}

// KEKShred reports the key rotation that ends a destruction.
type KEKShred struct {
	NewVersion uint32   `json:"new_version"`
	Rewrapped  int      `json:"rewrapped"`
	Destroyed  []uint32 `json:"destroyed"`
}

// shredOldKEKVersions rotates the key-encryption key, rewraps every data
// key and system secret under the new version, then retires and destroys
// every older version: backups taken before, which still hold the
// destroyed customers' data keys wrapped under an old version, can no
// longer be decrypted with the live keyset. A version still wrapping a
// data key after the rewrap (written meanwhile by another server) is left
// alone rather than making that customer unreadable.
func (a *App) shredOldKEKVersions(ctx context.Context) (KEKShred, error) {
	res, err := a.RotateKEK(ctx, nil)
	if err != nil {
		return KEKShred{}, err
	}
	out := KEKShred{NewVersion: res.NewVersion, Rewrapped: res.Rewrapped}
	if n, err := a.RewrapAll(ctx, nil); err != nil {
		return out, err
	} else {
		out.Rewrapped += n
	}
	left, err := a.db.Reader().CountKeysNotUnder(ctx, int64(res.NewVersion))
	if err != nil {
		return out, err
	}
	if left > 0 {
		return out, fmt.Errorf("%d data keys are still wrapped under an old KEK version; rerun the destruction to finish the rotation", left)
	}
	for _, v := range a.keys.KEK.Versions() {
		if v.Primary {
			continue
		}
		if v.Status == seal.StatusEnabled {
			if err := a.keys.KEK.Retire(v.ID); err != nil {
				return out, err
			}
		}
		if err := a.keys.KEK.Destroy(v.ID); err != nil {
			return out, err
		}
		out.Destroyed = append(out.Destroyed, v.ID)
	}
	return out, nil
}

// DestructionCertificate is the content of a destruction certificate.
type DestructionCertificate struct {
	Batch       int64              `json:"batch"`
	Reason      string             `json:"reason"`
	RequestedBy string             `json:"requested_by"`
	RequestID   int64              `json:"request"`
	Approvers   []CertificateParty `json:"approvers"`
	Witness     CertificateParty   `json:"witness"`
	ExecutedBy  CertificateParty   `json:"executed_by"`
	Counts      map[string]int64   `json:"counts"`
	Method      []string           `json:"method"`
	KEK         KEKShred           `json:"kek"`
	Archives    []CertificateItem  `json:"archives"`
}

// CertificateParty is a person named on a certificate, with when they acted.
type CertificateParty struct {
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
	At   string `json:"at"`
}

// CertificateItem is one archive on a certificate: its number, the HMAC
// reference its audit events carry, and what happened to it.
type CertificateItem struct {
	ArchiveNo string `json:"archive_no"`
	Ref       string `json:"audit_ref"`
	DueAt     string `json:"due_at"`
	State     string `json:"state"`
	TxnBefore string `json:"txn_before,omitempty"` // only the transactions before this date (RFC 3339) were due
}

// SignedCertificate is a certificate with its Ed25519 signature, made with
// the audit signing key: anyone holding `custos audit pubkey` verifies it
// over the exact bytes of Certificate.
type SignedCertificate struct {
	Certificate json.RawMessage `json:"certificate"`
	Algorithm   string          `json:"algorithm"`
	KeyID       string          `json:"key_id"`
	Signature   []byte          `json:"signature"`
}

func (a *App) destructionCertificate(ctx context.Context, tx *sqlstore.Tx, b *sqlstore.BatchRecord, methods []string, rot KEKShred) (string, []byte, error) {
	name := func(id int64) (string, string) {
		if u, err := tx.User(ctx, id); err == nil {
			n := u.Username
			if u.DisplayName != "" && u.DisplayName != u.Username {
				n = u.DisplayName + " (" + u.Username + ")"
			}
			return n, string(u.Role)
		}
		return strconv.FormatInt(id, 10), ""
	}
	ts := func(t time.Time) string { return t.In(cst).Format(time.RFC3339) }
	c := DestructionCertificate{Batch: b.ID, Reason: b.Reason, RequestID: b.RequestID, Counts: b.Counts, Method: methods, KEK: rot}
	r, err := tx.Request(ctx, b.RequestID)
	if err != nil {
		return "", nil, err
	}
	c.RequestedBy, _ = name(r.RequestedBy)
	for _, d := range r.Decisions {
		if d.Approve {
			n, role := name(d.By)
			c.Approvers = append(c.Approvers, CertificateParty{Name: n, Role: role, At: ts(d.At)})
		}
	}
	wn, wr := name(b.WitnessID)
	c.Witness = CertificateParty{Name: wn, Role: wr, At: ts(*b.WitnessedAt)}
	en, er := name(b.ExecutedBy)
	c.ExecutedBy = CertificateParty{Name: en, Role: er, At: ts(*b.ExecutedAt)}
	items, err := tx.Batch(ctx, b.ID, false)
	if err != nil {
		return "", nil, err
	}
	var rows [][]string
	for _, it := range items.Items {
		ci := CertificateItem{ArchiveNo: it.ArchiveNo, Ref: a.customerRef(it.CustomerID), DueAt: it.DueAt, State: it.State}
		if it.TransactionsOnly() {
			ci.TxnBefore = it.TxnBefore.In(cst).Format(time.RFC3339)
		}
		c.Archives = append(c.Archives, ci)
		rows = append(rows, []string{it.ArchiveNo, it.DueAt, itemStateZH[it.State]})
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", nil, err
	}
	sig, err := a.keys.Signer.Sign(body)
	if err != nil {
		return "", nil, err
	}
	// Not indented: the certificate's bytes must stay exactly the signed ones.
	signed, err := json.Marshal(SignedCertificate{Certificate: body, Algorithm: "ed25519", KeyID: a.keys.Signer.KeyID(), Signature: sig})
	if err != nil {
		return "", nil, err
	}
	if a.pdf == nil || a.pdf.Available() != nil {
		return string(signed), nil, nil
	}
	keys := make([]string, 0, len(c.Counts))
	for k := range c.Counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var countRows [][]string
	for _, k := range keys {
		countRows = append(countRows, []string{countZH[k] + " " + k, strconv.FormatInt(c.Counts[k], 10)})
	}
	var approvers []string
	for _, p := range c.Approvers {
		approvers = append(approvers, p.Name)
	}
	var methodBlocks []pdfdoc.Block
	for _, m := range methods {
		methodBlocks = append(methodBlocks, pdfdoc.Para("· "+m))
	}
	blocks := []pdfdoc.Block{
		pdfdoc.Fields{{"批次 Batch", strconv.FormatInt(b.ID, 10)}, {"事由 Reason", b.Reason}, {"申请人 Requested by", c.RequestedBy},
			{"审批人 Approvers", strings.Join(approvers, "、")}, {"监销人 Witness", c.Witness.Name}, {"执行人 Executed by", c.ExecutedBy.Name},
			{"执行时间 Executed", b.ExecutedAt.In(cst).Format("2006-01-02 15:04 MST")}},
		pdfdoc.Heading(fmt.Sprintf("销毁档案清单 Archives (%d)", len(rows))),
		pdfdoc.Table{Header: []string{"档案编号 Archive no.", "到期日 Due", "结果 Result"}, Widths: []float64{70, 40, 64}, Rows: rows},
		pdfdoc.Heading("销毁数量 Counts"),
		pdfdoc.Table{Header: []string{"记录 Records", "数量 Count"}, Widths: []float64{120, 54}, Rows: countRows},
		pdfdoc.Heading("销毁方式 Method"),
	}
	blocks = append(blocks, methodBlocks...)
	blocks = append(blocks,
		pdfdoc.Para("本证明的 JSON 版本以审计签名密钥（Ed25519, "+a.keys.Signer.KeyID()+"）签名。The JSON form of this certificate is signed with the audit signing key."),
		pdfdoc.Heading("签字 Signatures"),
		pdfdoc.Signatures{{"执行人 " + c.ExecutedBy.Name, b.ExecutedAt.In(cst).Format("2006-01-02 15:04")}, {"监销人 " + c.Witness.Name, b.WitnessedAt.In(cst).Format("2006-01-02 15:04")}})
	pdf, err := a.pdf.Render(pdfdoc.Doc{Title: "客户档案销毁证明书", Subtitle: "Certificate of destruction · 批次 Batch No. " + strconv.FormatInt(b.ID, 10),
		Blocks: blocks, Footer: "Custos · 客户信息管理系统"})
	if err != nil {
		return "", nil, err
	}
	return string(signed), pdf, nil
}

var itemStateZH = map[string]string{
	custos.ItemDestroyed:  "已销毁 destroyed",
	custos.ItemPurged:     "到期交易已清除，客户保留 expired transactions purged, customer kept",
	custos.ItemSkippedHld: "保全中，未销毁 held, kept",
	custos.ItemSkippedDue: "未到期，未销毁 not due, kept",
	custos.ItemListed:     "待销毁 listed",
}

var countZH = map[string]string{
	"customers": "客户档案", "data_keys": "数据密钥", "versions": "档案版本", "attachments": "附件", "timeline": "记事",
	"verifications": "身份核实", "business_records": "业务记录", "paper_files": "纸质档案登记", "requests": "申请",
	"grants": "授权", "transactions": "交易记录", "skipped": "未销毁",
	"purge_customers": "存续客户（清除到期交易）", "transactions_purged": "存续客户的到期交易记录", "reversals_purged": "到期交易的冲正记录",
}

// DestructionCertificateFile returns an executed batch's certificate as
// PDF or as signed JSON.
func (a *App) DestructionCertificateFile(ctx context.Context, actor custos.Actor, id int64, format string) ([]byte, error) {
	if !custos.Allowed(actor, custos.ActDestructionManage).Allowed && !custos.Allowed(actor, custos.ActAuditRead).Allowed {
		return nil, a.denied(ctx, actor, custos.ActDestructionManage, "", custos.DenyRole, custos.Errorf(custos.EForbidden, "无此操作权限", "not allowed"))
	}
	b, err := a.db.Reader().Batch(ctx, id, true)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, custos.ErrNotFound
	}
	if err != nil {
		return nil, internal("destruction batch", err)
	}
	if b.State != custos.BatchExecuted {
		return nil, custos.Errorf(custos.EConflict, "该批次尚未执行销毁", "the batch has not been executed")
	}
	ev := custos.NewEvent(actor, "destruction.certificate", custos.OutcomeOK)
	ev.TargetType, ev.TargetRef = "destruction_batch", strconv.FormatInt(id, 10)
	ev.Detail = detail(map[string]any{"format": format})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	if format == "pdf" {
		if len(b.CertificatePDF) == 0 {
			return nil, custos.Errorf(custos.ENotFound, "没有 PDF 证明（未配置中文字体）", "no PDF certificate (no Chinese font was configured)")
		}
		return b.CertificatePDF, nil
	}
	return []byte(b.CertificateJSON), nil
}

// VerifyDestructionCertificate checks a signed certificate against the
// audit signing public key and returns its content.
func VerifyDestructionCertificate(signed []byte, pub []byte) (*DestructionCertificate, error) {
	var s SignedCertificate
	if err := json.Unmarshal(signed, &s); err != nil {
		return nil, err
	}
	if s.Algorithm != "ed25519" || !seal.VerifySignature(pub, s.Certificate, s.Signature) {
		return nil, errors.New("the certificate's signature does not verify")
	}
	var c DestructionCertificate
	if err := json.Unmarshal(s.Certificate, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// IDExpiryScan is the periodic job that flags customers whose identity
// documents (or business licence) have expired, so that they are renewed
// (R-A5). It decrypts below the permission layer, keeps nothing but the
// flag and the date, and audits one event with counts. It returns how many
// new flags it set.
func (a *App) IDExpiryScan(ctx context.Context) (int, error) {
	rd := a.db.Reader()
	today := a.now().In(cst).Format(time.DateOnly)
	type flag struct{ id, on string }
	var flags []flag
	after, checked := "", 0
	for {
		keys, err := rd.CustomerKeys(ctx, after, 500)
		if err != nil {
			return 0, err
		}
		if len(keys) == 0 {
			break
		}
		after = keys[len(keys)-1].CustomerID
		for _, k := range keys {
			rec, err := rd.Customer(ctx, k.CustomerID)
			if err != nil || rec.Status == custos.StatusClosed {
				continue
			}
			c, err := a.openCustomer(rec)
			if err != nil {
				continue
			}
			checked++
			if exp := earliestDocExpiry(c); exp != "" && exp < today {
				flags = append(flags, flag{c.ID, exp})
			}
		}
	}
	n := 0
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		n = 0
		now := a.now()
		for _, f := range flags {
			added, err := tx.FlagIDExpiry(ctx, f.id, f.on, now)
			if err != nil {
				return err
			}
			if added {
				n++
			}
		}
		ev := custos.NewEvent(custos.SystemActor("kyc.id_expiry"), "kyc.id_expiry", custos.OutcomeOK)
		ev.Detail = detail(map[string]any{"checked": checked, "expired": len(flags), "new": n})
		return a.appendTx(ctx, tx, ev)
	})
	return n, err
}

// earliestDocExpiry is the earliest dated expiry of the customer's primary
// identity documents ("" when all are long-term or undated).
func earliestDocExpiry(c *custos.Customer) string {
	var dates []string
	if c.Person != nil {
		for _, d := range c.Person.IDDocuments {
			dates = append(dates, d.Expiry)
		}
	}
	if c.Institution != nil {
		if c.Institution.Licence != nil {
			dates = append(dates, c.Institution.Licence.Expiry)
		}
		if p := c.Institution.LegalRepresentative; p != nil {
			dates = append(dates, p.IDExpiry)
		}
	}
	out := ""
	for _, d := range dates {
		if _, ok := parseDay(d); ok && (out == "" || d < out) {
			out = d
		}
	}
	return out
}
