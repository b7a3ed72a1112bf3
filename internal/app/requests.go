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
	"github.com/custos-cim/custos/internal/sqlstore"
)

// The approval engine (R-A10, R-B1, R-C1–R-C3, R-H1): one kind of request
// for every flow that needs a second person. The rules of who may decide
// live in the domain (custos.Request.Decide); this file keeps the
// transaction, the encryption of payloads and the audit trail around them.

// changeProposal is the payload of a change request: the archive as it
// would be, and the version it was based on.
type changeProposal struct {
	Base     int64            `json:"base"`
	Fields   []string         `json:"fields"`
	Customer *custos.Customer `json:"customer"`
}

// AccessPayload is the payload of an access request.
type AccessPayload struct {
	UserID    int64           `json:"user_id"`
	ArchiveNo string          `json:"archive_no"`
	Actions   []custos.Action `json:"actions"`
	Purpose   string          `json:"purpose"`
	Duration  string          `json:"duration"`
}

// ErrRequestNotFound answers for requests that are missing or not the caller's business.
var ErrRequestNotFound = custos.Errorf(custos.ENotFound, "申请不存在", "request not found")

func (a *App) approvalRule(ctx context.Context, tx *sqlstore.Tx, kind custos.RequestKind) (custos.ApprovalRule, error) {
	rules, err := tx.ApprovalRules(ctx)
	if err != nil {
		return custos.ApprovalRule{}, err
	}
	r, ok := rules[kind]
	if !ok {
		for _, d := range custos.DefaultApprovalRules {
			if d.Kind == kind {
				return d, nil
			}
		}
		return r, fmt.Errorf("no approval rule for %s", kind)
	}
	return r, nil
}

// newRequest fills a request's common fields from its rule; the caller inserts it.
func (a *App) newRequest(ctx context.Context, _ *sqlstore.Tx, actor custos.Actor, kind custos.RequestKind, orgID int64, customerID, reason, summary string) (*sqlstore.RequestRecord, error) {
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	rule, ok := ref.rules[kind]
	if !ok {
		return nil, fmt.Errorf("no approval rule for %s", kind)
	}
	now := a.now()
	r := &sqlstore.RequestRecord{}
	r.Kind, r.State, r.CustomerID, r.OrgID, r.Reason, r.Summary = kind, custos.RequestPending, customerID, orgID, reason, summary
	r.RequestedBy, r.RequestedAt, r.ExpiresAt, r.Required = actor.UserID, now, now.Add(time.Duration(rule.TTL)), rule.Required
	r.Decisions = []custos.RequestDecision{}
	return r, nil
}

// sealPayload encrypts a request payload under the customer's key, bound to the request.
func (a *App) sealPayload(r *sqlstore.RequestRecord, wrapped []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r.PayloadCT, err = a.keys.Sealer.Encrypt(r.CustomerID, wrapped, fmt.Sprintf("request:%d", r.ID), b)
	return err
}

func (a *App) openPayload(r *sqlstore.RequestRecord, wrapped []byte, v any) error {
	pt, err := a.keys.Sealer.Decrypt(r.CustomerID, wrapped, fmt.Sprintf("request:%d", r.ID), r.PayloadCT)
	if err != nil {
		return err
	}
	return json.Unmarshal(pt, v)
}

// insertRequest stores a request, then its payload (bound to its id), and
// audits it.
// Further events of the same change (extra) are appended with it in one go.
func (a *App) insertRequest(ctx context.Context, tx *sqlstore.Tx, actor custos.Actor, r *sqlstore.RequestRecord, wrapped []byte, payload any, extra ...custos.AuditEvent) error {
	if err := tx.InsertRequest(ctx, r); err != nil {
		return err
	}
	if payload != nil {
		if err := a.sealPayload(r, wrapped, payload); err != nil {
			return err
		}
		if err := tx.SetRequestPayload(ctx, r.ID, r.PayloadCT); err != nil {
			return err
		}
	}
	ev := a.event(actor, "request.create", r.CustomerID, custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"request": r.ID, "kind": r.Kind})
	return a.appendTx(ctx, tx, append(extra, ev)...)
}

// proposeChange files a change request for an effective archive.
func (a *App) proposeChange(ctx context.Context, actor custos.Actor, rec *sqlstore.CustomerRecord, old, proposed *custos.Customer, fields []string, reason string) (*custos.Request, error) {
	var out *custos.Request
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		r, err := a.newRequest(ctx, tx, actor, custos.KindChange, rec.OrgID, rec.ID, reason,
			fmt.Sprintf("%s: %s", rec.ArchiveNo, strings.Join(fields, ", ")))
		if err != nil {
			return err
		}
		if err := a.insertRequest(ctx, tx, actor, r, rec.WrappedKey, changeProposal{Base: old.Version, Fields: fields, Customer: proposed}); err != nil {
			return err
		}
		out = &r.Request
		return nil
	})
	if err != nil {
		return nil, internal("propose change", err)
	}
	return out, nil
}

// RequestView is a request as its requester, its approvers and auditors see
// it: the request, and for a change the diff with sensitive values masked.
type RequestView struct {
	*custos.Request
	ArchiveNo string                  `json:"archive_no,omitempty"`
	Changes   []custos.FieldChange    `json:"changes,omitempty"`
	Access    *AccessPayload          `json:"access,omitempty"`
	Paper     *PaperLoanPayload       `json:"paper,omitempty"`
	Closure   *ClosurePayload         `json:"closure,omitempty"`
	Account   *AccountPayload         `json:"account,omitempty"`
	Rule      *RuleChangePayload      `json:"rule,omitempty"`
	Policy    *custos.RetentionPolicy `json:"policy,omitempty"`
	CanDecide bool                    `json:"can_decide"`
	CanCancel bool                    `json:"can_cancel"`
}

// mayView says whether an actor may see a request: its requester, anyone
// who may decide it, and compliance and auditors.
func (a *App) mayView(actor custos.Actor, r *custos.Request, rule custos.ApprovalRule) bool {
	if actor.Kind != custos.ActorUser {
		return false
	}
	if r.IsRequester(actor) || actor.Role == custos.RoleAuditor || actor.Role == custos.RoleCompliance {
		return true
	}
	err := r.MayApprove(actor, rule)
	return err == nil || errors.Is(err, custos.ErrSelfApproval)
}

// Inbox lists the pending requests the actor may decide.
func (a *App) Inbox(ctx context.Context, actor custos.Actor) ([]*custos.Request, error) {
	rd := a.db.Reader()
	rules, err := rd.ApprovalRules(ctx)
	if err != nil {
		return nil, internal("rules", err)
	}
	recs, err := rd.Requests(ctx, custos.RequestFilter{State: custos.RequestPending, Limit: 1000})
	if err != nil {
		return nil, internal("requests", err)
	}
	now := a.now()
	var out []*custos.Request
	for _, r := range recs {
		if now.After(r.ExpiresAt) {
			continue
		}
		if r.MayApprove(actor, rules[r.Kind]) == nil && !decidedBy(&r.Request, actor.UserID) {
			req := r.Request
			out = append(out, &req)
		}
	}
	return out, nil
}

func decidedBy(r *custos.Request, user int64) bool {
	return slices.ContainsFunc(r.Decisions, func(d custos.RequestDecision) bool { return d.By == user })
}

// Requests lists the requests the actor filed, or, for compliance and
// auditors, all requests matching the filter. A bogus kind, state or limit
// is EInvalid.
func (a *App) Requests(ctx context.Context, actor custos.Actor, f custos.RequestFilter) ([]*custos.Request, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	own := actor.Role != custos.RoleAuditor && actor.Role != custos.RoleCompliance
	if own {
		f.RequestedBy = actor.UserID
	}
	recs, err := a.db.Reader().Requests(ctx, f)
	if err != nil {
		return nil, internal("requests", err)
	}
	out := make([]*custos.Request, len(recs))
	for i, r := range recs {
		req := r.Request
		if own {
			blindAccess(&req)
		}
		out[i] = &req
	}
	return out, nil
}

// Request shows one request to someone entitled to see it (else 404).
func (a *App) Request(ctx context.Context, actor custos.Actor, id int64) (*RequestView, error) {
	rd := a.db.Reader()
	r, err := rd.Request(ctx, id)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, ErrRequestNotFound
	}
	if err != nil {
		return nil, internal("request", err)
	}
	rules, err := rd.ApprovalRules(ctx)
	if err != nil {
		return nil, internal("rules", err)
	}
	rule := rules[r.Kind]
	if !a.mayView(actor, &r.Request, rule) {
		return nil, ErrRequestNotFound
	}
	v := &RequestView{Request: &r.Request}
	v.Request.Payload = nil
	blind := r.Kind == custos.KindAccess && a.requesterOnly(actor, &r.Request, rule)
	v.CanDecide = r.State == custos.RequestPending && r.MayApprove(actor, rule) == nil && !decidedBy(&r.Request, actor.UserID)
	v.CanCancel = r.State == custos.RequestPending && r.IsRequester(actor)
	if blind {
		// The requester sees what they asked for, whether or not it exists.
		v.ArchiveNo = r.SubjectID
	} else if r.CustomerID != "" && len(r.PayloadCT) > 0 {
		cur, err := rd.Customer(ctx, r.CustomerID)
		if err != nil {
			return nil, internal("load customer", err)
		}
		v.ArchiveNo = cur.ArchiveNo
		if len(cur.WrappedKey) > 0 {
			if err := a.describePayload(ctx, r, cur, v); err != nil {
				return nil, err
			}
		}
	}
	if r.CustomerID == "" && len(r.PayloadCT) > 0 {
		a.describeSystemPayload(r, v)
	}
	ev := a.event(actor, "request.read", r.CustomerID, custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"request": r.ID})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	if blind {
		blindAccess(v.Request)
	}
	return v, nil
}

func (a *App) describePayload(ctx context.Context, r *sqlstore.RequestRecord, cur *sqlstore.CustomerRecord, v *RequestView) error {
	switch r.Kind {
	case custos.KindChange, custos.KindCorrection:
		var p changeProposal
		if err := a.openPayload(r, cur.WrappedKey, &p); err != nil {
			return internal("open request", err)
		}
		base, err := a.openCustomer(cur)
		if err != nil {
			return internal("open customer", err)
		}
		ref, err := a.refData(ctx)
		if err != nil {
			return err
		}
		mask := ref.sensitiveCustom(base.Category)
		v.Changes = custos.DiffInputs(custos.InputOf(base.Masked(nil, mask)), custos.InputOf(p.Customer.Masked(nil, mask)))
	case custos.KindAccess:
		var p AccessPayload
		if err := a.openPayload(r, cur.WrappedKey, &p); err != nil {
			return internal("open request", err)
		}
		v.Access = &p
	case custos.KindPaperLoan:
		var p PaperLoanPayload
		if err := a.openPayload(r, cur.WrappedKey, &p); err != nil {
			return internal("open request", err)
		}
		v.Paper = &p
	case custos.KindClosure:
		var p ClosurePayload
		if err := a.openPayload(r, cur.WrappedKey, &p); err != nil {
			return internal("open request", err)
		}
		v.Closure = &p
	}
	return nil
}

// DecideRequest records an approver's decision and, once the request is
// approved, applies it in the same transaction: the change takes effect,
// the archive becomes effective, the grant is issued, the file is lent.
// The requester can never decide their own request (R-B1).
func (a *App) DecideRequest(ctx context.Context, actor custos.Actor, id int64, approve bool, comment string) (*custos.Request, error) {
	comment = strings.TrimSpace(comment)
	if !approve && comment == "" {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "comment", Code: custos.CodeRequired,
			Message: custos.Message{ZH: "驳回须说明理由", EN: "a rejection needs a reason"}}}}).Err()
	}
	if !actor.ScopeAllows(custos.ActRequestDecide) {
		return nil, a.denied(ctx, actor, custos.ActRequestDecide, "", custos.DenyTokenScope, custos.Errorf(custos.EForbidden, "令牌无审批权限", "the token may not decide requests"))
	}
	var out *custos.Request
	var refusal error
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		refusal = nil
		r, err := tx.Request(ctx, id)
		if errors.Is(err, custos.ErrNotFound) {
			refusal = ErrRequestNotFound
			return refusal
		}
		if err != nil {
			return err
		}
		rule, err := a.approvalRule(ctx, tx, r.Kind)
		if err != nil {
			return err
		}
		if !a.mayView(actor, &r.Request, rule) {
			refusal = ErrRequestNotFound
			return refusal
		}
		now := a.now()
		before := len(r.Decisions)
		if err := r.Decide(actor, rule, approve, comment, now); err != nil {
			if r.State == custos.RequestExpired {
				// The deadline passed: record that, and refuse the decision.
				if werr := a.wipeSecrets(ctx, tx, r); werr != nil {
					return werr
				}
				if uerr := tx.UpdateRequest(ctx, r, nil); uerr != nil {
					return uerr
				}
			}
			refusal = err
			return nil
		}
		if r.State == custos.RequestApproved {
			if err := a.apply(ctx, tx, actor, r); err != nil {
				var ce *custos.Error
				if errors.As(err, &ce) && ce.Code != custos.EInternal {
					refusal = err // e.g. the archive changed meanwhile: nothing is decided
					return err
				}
				return err
			}
			if err := r.MarkApplied(now); err != nil {
				return err
			}
		} else if r.State.Final() {
			if err := a.wipeSecrets(ctx, tx, r); err != nil {
				return err
			}
		}
		if err := tx.UpdateRequest(ctx, r, r.Decisions[before:]); err != nil {
			return err
		}
		ev := a.event(actor, "request.decide", r.CustomerID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"request": r.ID, "kind": r.Kind, "approve": approve, "state": r.State})
		if err := a.appendTx(ctx, tx, ev); err != nil {
			return err
		}
		req := r.Request
		req.Payload = nil
		out = &req
		return nil
	})
	if refusal != nil {
		if err := a.record(ctx, a.event(actor, "request.decide", "", custos.OutcomeDenied, custos.ErrorMessageOf(refusal).EN)); err != nil {
			return nil, err
		}
		return nil, refusal
	}
	if err != nil {
		return nil, internal("decide request", err)
	}
	if out.State == custos.RequestApplied && out.Kind == custos.KindRuleChange {
		a.invalidateRef() // the new rule is read by the next request filed
	}
	a.notifyDecided(ctx, out)
	return out, nil
}

// CancelRequest withdraws a pending request; only its requester may.
func (a *App) CancelRequest(ctx context.Context, actor custos.Actor, id int64) error {
	if !actor.ScopeAllows(custos.ActRequestFile) {
		return a.denied(ctx, actor, custos.ActRequestFile, "", custos.DenyTokenScope, custos.Errorf(custos.EForbidden, "令牌无此权限", "the token may not do this"))
	}
	var refusal error
	err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		refusal = nil
		r, err := tx.Request(ctx, id)
		if errors.Is(err, custos.ErrNotFound) {
			refusal = ErrRequestNotFound
			return nil
		}
		if err != nil {
			return err
		}
		if !r.IsRequester(actor) {
			refusal = ErrRequestNotFound
			return nil
		}
		if err := r.Cancel(actor, a.now()); err != nil {
			refusal = err
			return nil
		}
		if err := a.wipeSecrets(ctx, tx, r); err != nil {
			return err
		}
		if err := tx.UpdateRequest(ctx, r, nil); err != nil {
			return err
		}
		ev := a.event(actor, "request.cancel", r.CustomerID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"request": r.ID})
		return a.appendTx(ctx, tx, ev)
	})
	if refusal != nil {
		return refusal
	}
	return internal("cancel request", err)
}

// ExpireRequests moves pending requests past their deadline to expired
// (a scheduled job; it takes the services' clock).
func (a *App) ExpireRequests(ctx context.Context) (int, error) {
	ids, err := a.db.Reader().ExpiredRequests(ctx, a.now())
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	n := 0
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		n = 0
		for _, id := range ids {
			r, err := tx.Request(ctx, id)
			if err != nil {
				return err
			}
			if !r.Expire(a.now()) {
				continue
			}
			if err := a.wipeSecrets(ctx, tx, r); err != nil {
				return err
			}
			if err := tx.UpdateRequest(ctx, r, nil); err != nil {
				return err
			}
			ev := a.event(custos.SystemActor("expiry"), "request.expire", r.CustomerID, custos.OutcomeOK, "")
			ev.Detail = detail(map[string]any{"request": r.ID, "kind": r.Kind})
			if err := a.appendTx(ctx, tx, ev); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// apply makes an approved request take effect, inside the deciding transaction.
func (a *App) apply(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	switch r.Kind {
	case custos.KindChange:
		return a.applyChange(ctx, tx, approver, r)
	case custos.KindCorrection: // a customer's correction (R-B5), applied like a change
		return a.applyChange(ctx, tx, approver, r)
	case custos.KindOnboarding:
		return a.applyOnboarding(ctx, tx, approver, r)
	case custos.KindAccess:
		return a.applyAccess(ctx, tx, approver, r)
	case custos.KindPaperLoan:
		return a.applyPaperLoan(ctx, tx, approver, r)
	case custos.KindExport:
		return a.applyExport(ctx, tx, approver, r)
	case custos.KindHoldRelease:
		return a.applyHoldRelease(ctx, tx, approver, r)
	case custos.KindDestruction:
		return a.applyDestruction(ctx, tx, approver, r)
	case custos.KindPortfolio:
		return a.applyPortfolio(ctx, tx, approver, r)
	case custos.KindClosure:
		return a.applyClosure(ctx, tx, approver, r)
	case custos.KindPrivilege:
		return a.applyPrivilege(ctx, tx, approver, r)
	case custos.KindRuleChange:
		return a.applyRuleChange(ctx, tx, approver, r)
	case custos.KindRetentionPolicy:
		return a.applyRetentionPolicy(ctx, tx, approver, r)
	}
	return fmt.Errorf("no way to apply %s", r.Kind)
}

var errArchiveMoved = custos.Errorf(custos.EConflict, "档案在申请后已被修改，请重新提交", "the archive changed after the request was filed; file it again")

func (a *App) applyChange(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	cur, err := tx.Customer(ctx, r.CustomerID)
	if err != nil {
		return err
	}
	var p changeProposal
	if err := a.openPayload(r, cur.WrappedKey, &p); err != nil {
		return err
	}
	if cur.Version != p.Base {
		return errArchiveMoved
	}
	old, err := a.openCustomer(cur)
	if err != nil {
		return err
	}
	c := p.Customer
	c.Status, c.Verification, c.UpdatedAt, c.Version = old.Status, old.Verification, a.now(), old.Version+1
	if c.Identity() != old.Identity() {
		// A new identity needs a new verification before new business (R-A5).
		c.Verification = custos.Unverified
	}
	rec, err := a.sealCustomer(c, cur.WrappedKey)
	if err != nil {
		return err
	}
	rec.KEKID = cur.KEKID
	index, identity := a.blindIndexes(c)
	oldIndex, oldIdentity := a.blindIndexes(old)
	if err := tx.UpdateCustomer(ctx, rec, oldIndex, oldIdentity, index, identity); err != nil {
		return err
	}
	if err := a.insertVersion(ctx, tx, c, rec, r.ID, r.RequestedBy, approver.UserID, r.Reason, p.Fields); err != nil {
		return err
	}
	ev := a.event(approver, custos.ActCustomerUpdate, c.ID, custos.OutcomeOK, "approved_change")
	ev.Detail = detail(map[string]any{"fields": p.Fields, "version": c.Version, "request": r.ID, "requested_by": r.RequestedBy})
	return a.appendTx(ctx, tx, ev)
}

// versionMeta is the plaintext part of an archive version.
type versionMeta struct {
	Type         custos.CustomerType  `json:"type"`
	OrgID        int64                `json:"org_id"`
	OwnerID      int64                `json:"owner_id"`
	Category     string               `json:"category"`
	Status       custos.ArchiveStatus `json:"status"`
	Sensitivity  custos.Sensitivity   `json:"sensitivity"`
	Verification custos.Verification  `json:"verification"`
	Classes      map[string]string    `json:"classes,omitempty"`
}

func (a *App) insertVersion(ctx context.Context, tx *sqlstore.Tx, c *custos.Customer, rec *sqlstore.CustomerRecord, requestID, requestedBy, approvedBy int64, reason string, fields []string) error {
	meta, _ := json.Marshal(versionMeta{Type: c.Type, OrgID: c.OrgID, OwnerID: c.OwnerID, Category: c.Category, Status: c.Status,
		Sensitivity: c.Sensitivity, Verification: c.Verification, Classes: c.Classes})
	// The version's ciphertexts are the archive's, re-encrypted under a
	// field name bound to the version so they cannot be swapped back in.
	s := a.keys.Sealer
	vf := fmt.Sprintf("version:%d", c.Version)
	profile, err := s.Decrypt(c.ID, rec.WrappedKey, fieldProfile, rec.ProfileCT)
	if err != nil {
		return err
	}
	v := &sqlstore.VersionRecord{Meta: string(meta)}
	v.CustomerID, v.Version, v.RequestID, v.RequestedBy, v.ApprovedBy, v.Reason, v.Fields, v.CreatedAt =
		c.ID, c.Version, requestID, requestedBy, approvedBy, reason, fields, a.now()
	if v.ProfileCT, err = s.Encrypt(c.ID, rec.WrappedKey, vf+":profile", profile); err != nil {
		return err
	}
	if len(rec.CustomCT) > 0 {
		custom, err := s.Decrypt(c.ID, rec.WrappedKey, fieldCustom, rec.CustomCT)
		if err != nil {
			return err
		}
		if v.CustomCT, err = s.Encrypt(c.ID, rec.WrappedKey, vf+":custom", custom); err != nil {
			return err
		}
	}
	return tx.InsertVersion(ctx, v)
}

func (a *App) applyOnboarding(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	cur, err := tx.Customer(ctx, r.CustomerID)
	if err != nil {
		return err
	}
	if cur.Verification != custos.Verified {
		return custos.Errorf(custos.EConflict, "客户身份尚未经审核员核实，不能批准", "the identity has not been verified by an inspector yet; it cannot be approved")
	}
	if cur.Status != custos.StatusDraft {
		return custos.Errorf(custos.EConflict, "档案已不是草稿", "the archive is no longer a draft")
	}
	c, err := a.openCustomer(cur)
	if err != nil {
		return err
	}
	// The inspector's check must be of the identity that becomes effective.
	if err := a.identityVerified(ctx, tx, c); err != nil {
		return err
	}
	if err := tx.SetCustomerState(ctx, cur.ID, custos.StatusEffective, cur.Verification); err != nil {
		return err
	}
	c.Status = custos.StatusEffective
	if err := a.insertVersion(ctx, tx, c, cur, r.ID, r.RequestedBy, approver.UserID, "onboarding", nil); err != nil {
		return err
	}
	ev := a.event(approver, "customer.activate", cur.ID, custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"request": r.ID, "version": cur.Version})
	return a.appendTx(ctx, tx, ev)
}

func (a *App) applyAccess(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	if r.CustomerID == "" {
		return custos.Errorf(custos.EConflict, "所申请的档案不存在，只能驳回", "the archive asked for does not exist; reject the request")
	}
	cur, err := tx.Customer(ctx, r.CustomerID)
	if err != nil {
		return err
	}
	var p AccessPayload
	if err := a.openPayload(r, cur.WrappedKey, &p); err != nil {
		return err
	}
	d, err := time.ParseDuration(p.Duration)
	if err != nil {
		return err
	}
	now := a.now()
	g := &custos.Grant{UserID: p.UserID, CustomerID: r.CustomerID, Actions: p.Actions, Purpose: p.Purpose, Reason: r.Reason,
		GrantedBy: approver.UserID, StartsAt: now, ExpiresAt: now.Add(d)}
	if err := tx.CreateGrant(ctx, g); err != nil {
		return err
	}
	ev := a.event(approver, "grant.create", r.CustomerID, custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"grant_id": g.ID, "user_id": g.UserID, "actions": g.Actions, "expires_at": g.ExpiresAt, "request": r.ID})
	return a.appendTx(ctx, tx, ev)
}

// AccessInput asks for access to an archive outside one's scope (R-C1).
type AccessInput struct {
	CustomerID string          `json:"customer_id,omitempty"`
	ArchiveNo  string          `json:"archive_no,omitempty"`
	Actions    []custos.Action `json:"actions"`
	Purpose    string          `json:"purpose"`
	Reason     string          `json:"reason"`
	Duration   string          `json:"duration"`
}

// RequestAccess files an access request. The answer is the same whether or
// not the archive exists, so the request itself reveals nothing; an approver
// sees whether it does.
func (a *App) RequestAccess(ctx context.Context, actor custos.Actor, in AccessInput) (*custos.Request, error) {
	var v custos.Validation
	if actor.Kind != custos.ActorUser {
		return nil, custos.Errorf(custos.EForbidden, "只有员工可以申请访问", "only staff can ask for access")
	}
	if !actor.ScopeAllows(custos.ActRequestFile) {
		return nil, a.denied(ctx, actor, custos.ActRequestFile, "", custos.DenyTokenScope, custos.Errorf(custos.EForbidden, "令牌无此权限", "the token may not do this"))
	}
	if in.CustomerID == "" && strings.TrimSpace(in.ArchiveNo) == "" {
		v.Addf("archive_no", custos.CodeRequired)
	}
	if len(in.Actions) == 0 {
		in.Actions = []custos.Action{custos.ActCustomerRead}
	}
	for i, act := range in.Actions {
		if !slices.Contains(custos.GrantableActions, act) {
			v.Addf(fmt.Sprintf("actions[%d]", i), custos.CodeNotAllowed)
		}
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	if p, ok := ref.purposes[in.Purpose]; !ok || !p.Active {
		v.Addf("purpose", custos.CodeNotAllowed)
	}
	if strings.TrimSpace(in.Reason) == "" {
		v.Addf("reason", custos.CodeRequired)
	}
	d, err := time.ParseDuration(in.Duration)
	if err != nil || d <= 0 {
		v.Addf("duration", custos.CodeInvalidFormat)
	} else if d > MaxGrantDuration {
		v.Addf("duration", custos.CodeOutOfRange)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	rd := a.db.Reader()
	var cur *sqlstore.CustomerRecord
	if in.CustomerID != "" {
		cur, err = rd.Customer(ctx, in.CustomerID)
	} else {
		cur, err = rd.CustomerByArchiveNo(ctx, strings.TrimSpace(in.ArchiveNo))
	}
	if err != nil && !errors.Is(err, custos.ErrNotFound) {
		return nil, internal("load customer", err)
	}
	archiveNo := strings.TrimSpace(in.ArchiveNo)
	customerID, orgID := "", actor.OrgID
	var wrapped []byte
	if cur != nil && len(cur.WrappedKey) > 0 {
		customerID, orgID, archiveNo, wrapped = cur.ID, cur.OrgID, cur.ArchiveNo, cur.WrappedKey
	}
	p := AccessPayload{UserID: actor.UserID, ArchiveNo: archiveNo, Actions: in.Actions, Purpose: in.Purpose, Duration: d.String()}
	var out *custos.Request
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		// Summary and subject carry the number as typed: nothing in the
		// requester's answer tells an existing archive from a missing one.
		asked := strings.TrimSpace(in.ArchiveNo)
		if asked == "" {
			asked = archiveNo
		}
		r, err := a.newRequest(ctx, tx, actor, custos.KindAccess, orgID, customerID, strings.TrimSpace(in.Reason),
			fmt.Sprintf("%s · %s · %s", asked, in.Purpose, d))
		if err != nil {
			return err
		}
		r.SubjectID = asked
		var payload any
		if customerID != "" {
			payload = p
		}
		if err := a.insertRequest(ctx, tx, actor, r, wrapped, payload); err != nil {
			return err
		}
		out = &r.Request
		return nil
	})
	if err != nil {
		return nil, internal("request access", err)
	}
	a.notifyFiled(ctx, out)
	mine := *out
	blindAccess(&mine)
	return &mine, nil
}

// blindAccess takes out of an access request what would tell its requester
// whether the archive asked for exists: the customer and its unit. Those
// who decide it, compliance and auditors see them.
func blindAccess(r *custos.Request) {
	if r.Kind == custos.KindAccess {
		r.CustomerID, r.OrgID = "", 0
	}
}

// requesterOnly reports whether the actor sees a request only as its
// requester (not as one who may decide it, nor compliance or an auditor).
func (a *App) requesterOnly(actor custos.Actor, r *custos.Request, rule custos.ApprovalRule) bool {
	if actor.Role == custos.RoleAuditor || actor.Role == custos.RoleCompliance {
		return false
	}
	err := r.MayApprove(actor, rule)
	return err != nil && r.IsRequester(actor)
}

// ApprovalRules lists the rules.
func (a *App) ApprovalRules(ctx context.Context) ([]custos.ApprovalRule, error) {
	m, err := a.db.Reader().ApprovalRules(ctx)
	if err != nil {
		return nil, internal("rules", err)
	}
	out := make([]custos.ApprovalRule, 0, len(m))
	for _, k := range custos.RequestKinds {
		if r, ok := m[k]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}
