package custos

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RequestKind names what an approval request asks for. Every flow that needs
// a second person — onboarding, changes, access, lending protected paper
// files, later exports and destruction — goes through the one engine.
type RequestKind string

// Request kinds.
const (
	KindOnboarding  RequestKind = "onboarding"      // a draft archive becomes effective (R-A10)
	KindChange      RequestKind = "customer_change" // an edit of an effective archive (R-B1)
	KindAccess      RequestKind = "access"          // time-limited access to an archive (R-C1–R-C3)
	KindPaperLoan   RequestKind = "paper_loan"      // lending a protected customer's paper file (R-H1)
	KindCorrection  RequestKind = "correction"      // a customer asks to correct their own data (R-B5)
	KindExport      RequestKind = "export"          // data leaving for an outside party (R-C7)
	KindHoldRelease RequestKind = "hold_release"    // releasing a legal hold (R-F2)
	KindDestruction RequestKind = "destruction"     // destroying a batch of due records (R-F3), dual control
	KindClosure     RequestKind = "closure"         // ending a customer relationship, which starts the retention clock (R-F1)
	// Governance (三员分立): what one administrator must not decide alone.
	KindPrivilege       RequestKind = "privileged_account" // creating an account with, or raising one to, a privileged role
	KindRuleChange      RequestKind = "approval_rule"      // changing who approves a kind of request
	KindRetentionPolicy RequestKind = "retention_policy"   // changing the retention policy (R-F1)
	// KindPortfolio gives a customer or a building to someone's portfolio
	// (R-C1). It has no default rule: an assignment takes effect at once
	// unless an approval rule for it has been set.
	KindPortfolio RequestKind = "portfolio"
)

// RequestKinds lists the kinds in display order.
var RequestKinds = []RequestKind{KindOnboarding, KindChange, KindAccess, KindPaperLoan, KindCorrection, KindExport, KindHoldRelease, KindDestruction,
	KindClosure, KindPrivilege, KindRuleChange, KindRetentionPolicy, KindPortfolio}

// RequestState is where a request stands.
type RequestState string

// Request states. pending → approved → applied, or pending → rejected,
// cancelled or expired. Nothing leaves applied, rejected, cancelled or expired.
const (
	RequestPending   RequestState = "pending"
	RequestApproved  RequestState = "approved"
	RequestRejected  RequestState = "rejected"
	RequestCancelled RequestState = "cancelled"
	RequestExpired   RequestState = "expired"
	RequestApplied   RequestState = "applied"
)

// Final reports whether the state is an end state.
func (s RequestState) Final() bool {
	switch s {
	case RequestRejected, RequestCancelled, RequestExpired, RequestApplied:
		return true
	}
	return false
}

// ApprovalScope says where an approver must sit relative to the request.
type ApprovalScope string

// Approval scopes.
const (
	ScopeUnit ApprovalScope = "unit" // the approver's unit contains the request's unit
	ScopeAny  ApprovalScope = "any"  // anywhere (e.g. the general manager at head office)
)

// ApprovalRule says, for one kind, who may approve and how many distinct
// approvers are needed (1, or 2 for dual control).
type ApprovalRule struct {
	Kind     RequestKind   `json:"kind"`
	Roles    []Role        `json:"roles"`
	Scope    ApprovalScope `json:"scope"`
	Required int           `json:"required"`
	TTL      Duration      `json:"ttl"` // how long a request may stay pending
}

// Duration is a time.Duration that reads and writes as "72h".
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "72h" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// DefaultApprovalRules are the rules a new installation starts with.
var DefaultApprovalRules = []ApprovalRule{
	{Kind: KindOnboarding, Roles: []Role{RoleManager, RoleGeneralManager}, Scope: ScopeUnit, Required: 1, TTL: Duration(30 * 24 * time.Hour)},
	{Kind: KindChange, Roles: []Role{RoleManager, RoleGeneralManager}, Scope: ScopeUnit, Required: 1, TTL: Duration(14 * 24 * time.Hour)},
	{Kind: KindAccess, Roles: []Role{RoleGeneralManager}, Scope: ScopeAny, Required: 1, TTL: Duration(7 * 24 * time.Hour)},
	{Kind: KindPaperLoan, Roles: []Role{RoleManager, RoleGeneralManager}, Scope: ScopeUnit, Required: 1, TTL: Duration(7 * 24 * time.Hour)},
	{Kind: KindCorrection, Roles: []Role{RoleManager, RoleGeneralManager}, Scope: ScopeUnit, Required: 1, TTL: Duration(30 * 24 * time.Hour)},
	{Kind: KindExport, Roles: []Role{RoleCompliance, RoleGeneralManager}, Scope: ScopeAny, Required: 1, TTL: Duration(7 * 24 * time.Hour)},
	{Kind: KindHoldRelease, Roles: []Role{RoleCompliance, RoleGeneralManager}, Scope: ScopeAny, Required: 1, TTL: Duration(30 * 24 * time.Hour)},
	{Kind: KindDestruction, Roles: []Role{RoleCompliance, RoleGeneralManager}, Scope: ScopeAny, Required: 2, TTL: Duration(30 * 24 * time.Hour)},
	{Kind: KindClosure, Roles: []Role{RoleManager, RoleGeneralManager, RoleCompliance}, Scope: ScopeUnit, Required: 1, TTL: Duration(14 * 24 * time.Hour)},
	{Kind: KindPrivilege, Roles: []Role{RoleSecurityAdmin, RoleGeneralManager}, Scope: ScopeAny, Required: 1, TTL: Duration(7 * 24 * time.Hour)},
	{Kind: KindRuleChange, Roles: []Role{RoleSecurityAdmin, RoleGeneralManager}, Scope: ScopeAny, Required: 1, TTL: Duration(7 * 24 * time.Hour)},
	{Kind: KindRetentionPolicy, Roles: []Role{RoleSecurityAdmin, RoleCompliance, RoleGeneralManager}, Scope: ScopeAny, Required: 1, TTL: Duration(7 * 24 * time.Hour)},
}

// ApprovalFloor is the least an approval rule of a kind may ask for; no
// change of the rule can go below it (docs/compliance.md lists them).
type ApprovalFloor struct {
	MinRequired int    // distinct approvers besides the requester
	Approvers   []Role // the only roles that may ever approve the kind
	UnitScope   bool   // the approver must sit at or above the request's unit
}

// Roles that decide on customers' requests, and those that decide on
// governance. The front-line roles that file most requests (account
// managers, butlers, inspectors, custodians) and the three administrators'
// roles outside the customer data (administrator, security administrator,
// auditor) never approve customers' requests; the administrator, who
// creates the accounts, and the auditor never approve governance requests.
var (
	customerApprovers   = []Role{RoleManager, RoleGeneralManager, RoleCompliance}
	recordsApprovers    = []Role{RoleCompliance, RoleGeneralManager}
	governanceApprovers = []Role{RoleSecurityAdmin, RoleGeneralManager, RoleCompliance}
)

// ApprovalFloors are the floors by kind.
var ApprovalFloors = map[RequestKind]ApprovalFloor{
	KindOnboarding:      {MinRequired: 1, Approvers: customerApprovers, UnitScope: true},
	KindChange:          {MinRequired: 1, Approvers: customerApprovers, UnitScope: true},
	KindCorrection:      {MinRequired: 1, Approvers: customerApprovers, UnitScope: true},
	KindPaperLoan:       {MinRequired: 1, Approvers: customerApprovers, UnitScope: true},
	KindClosure:         {MinRequired: 1, Approvers: customerApprovers, UnitScope: true},
	KindAccess:          {MinRequired: 1, Approvers: recordsApprovers},
	KindExport:          {MinRequired: 1, Approvers: recordsApprovers},
	KindHoldRelease:     {MinRequired: 1, Approvers: recordsApprovers},
	KindDestruction:     {MinRequired: 2, Approvers: recordsApprovers},
	KindPrivilege:       {MinRequired: 1, Approvers: governanceApprovers},
	KindRuleChange:      {MinRequired: 1, Approvers: governanceApprovers},
	KindRetentionPolicy: {MinRequired: 1, Approvers: governanceApprovers},
	KindPortfolio:       {MinRequired: 1, Approvers: customerApprovers, UnitScope: true},
}

// Floored returns the rule as it is enforced: never fewer approvers than
// the floor, never a role outside the floor's approvers, never wider than
// the floor's scope. The store applies it to every rule it reads, so a rule
// edited in the database cannot go below the floor either.
func (r ApprovalRule) Floored() ApprovalRule {
	f, ok := ApprovalFloors[r.Kind]
	if !ok {
		return r
	}
	r.Required = max(r.Required, f.MinRequired)
	var roles []Role
	for _, x := range r.Roles {
		if slices.Contains(f.Approvers, x) {
			roles = append(roles, x)
		}
	}
	r.Roles = roles
	if f.UnitScope {
		r.Scope = ScopeUnit
	}
	return r
}

// Validate checks a rule.
func (r ApprovalRule) Validate() error {
	var v Validation
	if !slices.Contains(RequestKinds, r.Kind) {
		v.Addf("kind", CodeNotAllowed)
	}
	if len(r.Roles) == 0 {
		v.Addf("roles", CodeRequired)
	}
	for _, role := range r.Roles {
		if !role.Valid() {
			v.Addf("roles", CodeNotAllowed)
		}
	}
	if r.Scope != ScopeUnit && r.Scope != ScopeAny {
		v.Addf("scope", CodeNotAllowed)
	}
	if r.Required < 1 || r.Required > 3 {
		v.Addf("required", CodeOutOfRange)
	}
	if r.TTL <= 0 {
		v.Addf("ttl", CodeOutOfRange)
	}
	if f, ok := ApprovalFloors[r.Kind]; ok {
		if r.Required < f.MinRequired {
			v.Add("required", CodeOutOfRange, Message{ZH: "审批人数不能低于规定下限 " + itoa(f.MinRequired),
				EN: "the number of approvers cannot go below the floor of " + itoa(f.MinRequired)})
		}
		for _, role := range r.Roles {
			if role.Valid() && !slices.Contains(f.Approvers, role) {
				v.Add("roles", CodeNotAllowed, Message{ZH: "该角色不能审批此类申请：" + role.Label().ZH,
					EN: "this role may never approve this kind of request: " + role.Label().EN})
			}
		}
		if f.UnitScope && r.Scope == ScopeAny {
			v.Add("scope", CodeNotAllowed, Message{ZH: "此类申请只能由本机构及上级机构审批", EN: "this kind is approved only within the request's unit and above"})
		}
	}
	return v.Err()
}

func itoa(n int) string { return strconv.Itoa(n) }

// Request is one approval request.
type Request struct {
	ID          int64        `json:"id"`
	Kind        RequestKind  `json:"kind"`
	State       RequestState `json:"state"`
	CustomerID  string       `json:"customer_id,omitempty"`
	SubjectID   string       `json:"subject_id,omitempty"` // what else it concerns: a paper file, a grant user
	OrgID       int64        `json:"org_id"`               // the unit whose approvers decide (ScopeUnit)
	OrgPath     string       `json:"-"`
	Reason      string       `json:"reason"`
	Summary     string       `json:"summary,omitempty"` // a short description without personal data
	RequestedBy int64        `json:"requested_by"`      // 0 when RequestedByCustomer
	// RequestedByCustomer: the request's customer filed it in the
	// self-service portal (R-B5); only the customer may withdraw it.
	RequestedByCustomer bool              `json:"requested_by_customer,omitempty"`
	RequestedAt         time.Time         `json:"requested_at"`
	ExpiresAt           time.Time         `json:"expires_at"`
	Required            int               `json:"required"`
	Decisions           []RequestDecision `json:"decisions"`
	DecidedAt           *time.Time        `json:"decided_at,omitempty"`
	AppliedAt           *time.Time        `json:"applied_at,omitempty"`
	Outcome             string            `json:"outcome,omitempty"` // why it was rejected, cancelled or expired
	Version             int64             `json:"version"`
	// Payload is the kind-specific content (a proposed change, an access
	// request's duration and actions …); stored encrypted under the
	// customer's key when it may hold personal data.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// RequestDecision is one approver's decision on a request.
type RequestDecision struct {
	By      int64     `json:"by"`
	Role    Role      `json:"role"`
	Approve bool      `json:"approve"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// Approval errors, all with stable codes.
var (
	ErrSelfApproval   = &Error{Code: EForbidden, Message: Message{ZH: "申请人不能审批自己的申请", EN: "a requester cannot approve their own request"}}
	ErrNotApprover    = &Error{Code: EForbidden, Message: Message{ZH: "您不是此类申请的审批人", EN: "you are not an approver of this kind of request"}}
	ErrAlreadyDecided = &Error{Code: EConflict, Message: Message{ZH: "您已经审批过此申请", EN: "you have already decided on this request"}}
	ErrNotPending     = &Error{Code: EConflict, Message: Message{ZH: "申请已不在待审批状态", EN: "the request is no longer pending"}}
	ErrNotRequester   = &Error{Code: EForbidden, Message: Message{ZH: "只有申请人可以撤回申请", EN: "only the requester can cancel a request"}}
)

// MayApprove says whether an actor may decide on a request under a rule:
// the right role, the right place, never the requester (maker-checker).
func (r *Request) MayApprove(a Actor, rule ApprovalRule) error {
	if a.Kind != ActorUser || a.UserID == 0 {
		return ErrNotApprover
	}
	if a.UserID == r.RequestedBy {
		return ErrSelfApproval
	}
	if id, ok := r.SubjectUser(); ok && id == a.UserID {
		return ErrSelfApproval // nobody approves their own account or role
	}
	if !slices.Contains(rule.Roles, a.Role) {
		return ErrNotApprover
	}
	if rule.Scope == ScopeUnit && !PathContains(a.OrgPath, r.OrgPath) {
		return ErrNotApprover
	}
	return nil
}

// SubjectUser is the user a request concerns (SubjectID "user:ID"), for
// the governance kinds.
func (r *Request) SubjectUser() (int64, bool) {
	s, ok := strings.CutPrefix(r.SubjectID, "user:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

// UserSubject is the SubjectID of a request about a user.
func UserSubject(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// Expire moves a pending request past its deadline to expired; it reports
// whether it did.
func (r *Request) Expire(now time.Time) bool {
	if r.State == RequestPending && !now.Before(r.ExpiresAt) {
		r.State, r.Outcome = RequestExpired, "expired"
		r.DecidedAt = &now
		return true
	}
	return false
}

// Decide records an approver's decision. One rejection rejects; the request
// is approved once Required distinct approvers have approved.
func (r *Request) Decide(a Actor, rule ApprovalRule, approve bool, comment string, now time.Time) error {
	if r.Expire(now) {
		return ErrNotPending
	}
	if r.State != RequestPending {
		return ErrNotPending
	}
	if err := r.MayApprove(a, rule); err != nil {
		return err
	}
	for _, d := range r.Decisions {
		if d.By == a.UserID {
			return ErrAlreadyDecided
		}
	}
	r.Decisions = append(r.Decisions, RequestDecision{By: a.UserID, Role: a.Role, Approve: approve, Comment: comment, At: now})
	switch {
	case !approve:
		r.State, r.Outcome, r.DecidedAt = RequestRejected, "rejected", &now
	case r.approvals() >= max(r.Required, 1):
		r.State, r.DecidedAt = RequestApproved, &now
	}
	return nil
}

func (r *Request) approvals() int {
	n := 0
	for _, d := range r.Decisions {
		if d.Approve {
			n++
		}
	}
	return n
}

// Cancel withdraws a pending request; only its requester may.
func (r *Request) Cancel(a Actor, now time.Time) error {
	if r.State != RequestPending {
		return ErrNotPending
	}
	if !r.IsRequester(a) {
		return ErrNotRequester
	}
	r.State, r.Outcome, r.DecidedAt = RequestCancelled, "cancelled", &now
	return nil
}

// IsRequester reports whether a is who filed the request: the member of
// staff, or, for a customer's own request, that customer in the portal.
func (r *Request) IsRequester(a Actor) bool {
	if r.RequestedByCustomer {
		return a.Kind == ActorCustomer && a.CustomerID != "" && a.CustomerID == r.CustomerID
	}
	return a.Kind == ActorUser && a.UserID != 0 && a.UserID == r.RequestedBy
}

// MarkApplied records that an approved request took effect.
func (r *Request) MarkApplied(now time.Time) error {
	if r.State != RequestApproved {
		return ErrNotPending
	}
	r.State, r.AppliedAt = RequestApplied, &now
	return nil
}

// Void ends a pending request that can no longer apply (its customer was
// closed, its requester left): it is cancelled with a reason.
func (r *Request) Void(reason string, now time.Time) {
	if r.State == RequestPending || r.State == RequestApproved {
		r.State, r.Outcome, r.DecidedAt = RequestCancelled, reason, &now
	}
}

// RequestFilter selects requests.
type RequestFilter struct {
	Kind        RequestKind
	State       RequestState
	CustomerID  string
	RequestedBy int64
	Limit       int
}
