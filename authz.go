package custos

import (
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Action is something an actor does; every permission decision names one.
type Action string

// Actions on customers and on the system.
const (
	ActCustomerCreate   Action = "customer.create"
	ActCustomerRead     Action = "customer.read"
	ActCustomerUpdate   Action = "customer.update"
	ActCustomerSearch   Action = "customer.search"
	ActCustomerReveal   Action = "customer.reveal"
	ActCustomerExport   Action = "customer.export"
	ActCustomerPrint    Action = "customer.print"
	ActCustomerVerify   Action = "customer.verify"   // record an identity verification (R-A6)
	ActCustomerBusiness Action = "customer.business" // record an account, contract or loan (R-A5)
	ActAuditRead        Action = "audit.read"
	ActAuditExport      Action = "audit.export"
	ActUserAdmin        Action = "admin.users"
	ActOrgAdmin         Action = "admin.orgs"
	ActSettingsAdmin    Action = "admin.settings"
	ActGrantManage      Action = "grant.manage"
	ActPortfolioManage  Action = "portfolio.manage"
	ActPaperManage      Action = "paper.manage"    // secure locations and paper files (R-H1, R-H2)
	ActHandoverManage   Action = "handover.manage" // staff handovers (R-G1)
	ActRequestDecide    Action = "request.decide"  // approve or reject approval requests
	ActRequestFile      Action = "request.file"    // file or withdraw approval requests

	ActTxnRecord         Action = "transaction.record"    // record transactions of a customer (R-E1, R-E6)
	ActTxnRead           Action = "transaction.read"      // read and search a customer's transactions (R-E2)
	ActTxnProtected      Action = "transaction.protected" // read large-value records and protected customers' records (R-E4)
	ActExportExternal    Action = "export.external"       // export to an outside party (R-C7)
	ActAgreementManage   Action = "agreement.manage"      // confidentiality agreements with outside parties (R-C7)
	ActRetentionManage   Action = "retention.manage"      // retention policies and closing relationships (R-F1)
	ActHoldManage        Action = "hold.manage"           // legal holds (R-F2)
	ActDestructionManage Action = "destruction.manage"    // destruction batches (R-F3)
	ActBackupManage      Action = "backup.manage"         // backups, restores and drills (R-D2)
	ActRoleManage        Action = "admin.roles"           // change a user's role (security administrator)
	ActPolicyManage      Action = "admin.policy"          // approval rules and the retention policy (security administrator)
)

// CustomerActions are the actions decided against one customer.
var CustomerActions = []Action{ActCustomerCreate, ActCustomerRead, ActCustomerUpdate, ActCustomerSearch, ActCustomerReveal, ActCustomerExport, ActCustomerPrint, ActCustomerVerify, ActCustomerBusiness,
	ActTxnRecord, ActTxnRead, ActTxnProtected}

// SystemActions are the actions that do not concern one customer.
var SystemActions = []Action{ActAuditRead, ActAuditExport, ActUserAdmin, ActOrgAdmin, ActSettingsAdmin, ActGrantManage, ActPortfolioManage, ActPaperManage, ActHandoverManage,
	ActExportExternal, ActAgreementManage, ActRetentionManage, ActHoldManage, ActDestructionManage, ActBackupManage, ActRoleManage, ActPolicyManage}

// NeedsPurpose reports whether an action reads customer data and so must
// state its purpose (R-C6).
func (a Action) NeedsPurpose() bool {
	switch a {
	case ActCustomerRead, ActCustomerSearch, ActCustomerReveal, ActCustomerExport, ActCustomerPrint:
		return true
	}
	return false
}

// ActorKind tells staff from the system's own jobs and from customers
// signed in to the self-service portal.
type ActorKind string

// Actor kinds.
const (
	ActorUser     ActorKind = "user"
	ActorSystem   ActorKind = "system"
	ActorCustomer ActorKind = "customer" // a customer in the self-service portal (R-B5, R-E3)
)

// Actor is who performs a request, with the context the audit trail records.
type Actor struct {
	Kind       ActorKind
	UserID     int64
	Username   string
	Role       Role
	OrgID      int64
	OrgPath    string
	Purpose    string
	Via        string   // "api", "web", "cli" or "job"
	ClientAddr string   // remote address, for the audit trail
	RequestID  string   // request id, for the audit trail
	Scopes     []string // an API token's scopes; nil means everything the role allows
	// TokenExpiresAt is when the API token the actor signed in with
	// expires (zero for a session): a token cannot mint one that outlives it.
	TokenExpiresAt time.Time
	// CustomerID is the customer an ActorCustomer is: the only record it may reach.
	CustomerID string
}

// SystemActor is the identity of a background job or the demo seeder. It may
// only do what systemRules grant it.
func SystemActor(job string) Actor {
	return Actor{Kind: ActorSystem, Username: "system:" + job, Via: "job"}
}

// WithPurpose returns a copy of the actor stating a purpose.
func (a Actor) WithPurpose(p string) Actor {
	a.Purpose = p
	return a
}

// LogValue identifies the actor in logs without anything personal.
func (a Actor) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", a.Username), slog.String("role", string(a.Role)), slog.String("via", a.Via))
}

// reach says how far a role's permission for an action extends.
type reach int

const (
	reachNone      reach = iota
	reachPortfolio       // customers owned by the actor or in the actor's portfolio (R-C1)
	reachSubtree         // customers of the actor's unit and the units below (R-C1, R-L2)
)

// customerRules is the permission table: role → action → reach. Anything not
// listed is denied. Protected customers (R-C2) are never reached through a
// subtree: they need the owner's portfolio or an explicit grant.
var customerRules = map[Role]map[Action]reach{
	RoleGeneralManager: {ActCustomerCreate: reachSubtree, ActCustomerRead: reachSubtree, ActCustomerUpdate: reachSubtree, ActCustomerSearch: reachSubtree,
		ActCustomerReveal: reachSubtree, ActCustomerExport: reachSubtree, ActCustomerPrint: reachSubtree, ActCustomerBusiness: reachSubtree,
		ActTxnRecord: reachSubtree, ActTxnRead: reachSubtree, ActTxnProtected: reachSubtree},
	RoleManager: {ActCustomerCreate: reachSubtree, ActCustomerRead: reachSubtree, ActCustomerUpdate: reachSubtree, ActCustomerSearch: reachSubtree,
		ActCustomerReveal: reachSubtree, ActCustomerExport: reachSubtree, ActCustomerPrint: reachSubtree, ActCustomerBusiness: reachSubtree,
		ActTxnRecord: reachSubtree, ActTxnRead: reachSubtree},
	RoleAccountManager: {ActCustomerCreate: reachPortfolio, ActCustomerRead: reachPortfolio, ActCustomerUpdate: reachPortfolio, ActCustomerSearch: reachPortfolio,
		ActCustomerReveal: reachPortfolio, ActCustomerPrint: reachPortfolio, ActCustomerBusiness: reachPortfolio, ActTxnRecord: reachPortfolio, ActTxnRead: reachPortfolio},
	RoleButler: {ActCustomerCreate: reachPortfolio, ActCustomerRead: reachPortfolio, ActCustomerUpdate: reachPortfolio, ActCustomerSearch: reachPortfolio,
		ActCustomerPrint: reachPortfolio},
	RoleInspector: {ActCustomerRead: reachSubtree, ActCustomerSearch: reachSubtree, ActCustomerReveal: reachSubtree, ActCustomerVerify: reachSubtree},
	RoleCompliance: {ActCustomerRead: reachSubtree, ActCustomerSearch: reachSubtree, ActCustomerReveal: reachSubtree, ActCustomerExport: reachSubtree,
		ActCustomerPrint: reachSubtree, ActTxnRead: reachSubtree, ActTxnProtected: reachSubtree},
}

// systemRules lists which roles may take each action that concerns no single customer.
// Separation of duties (三员分立, GB/T 22239-2019): the administrator manages
// accounts, units and settings but nothing that reaches customers (grants,
// portfolios, handovers, closing relationships) and not the audit trail;
// the security administrator manages roles, approval rules and policies;
// the auditor reads the audit trail.
var systemRules = map[Action][]Role{
	ActAuditRead:         {RoleAuditor, RoleCompliance},
	ActAuditExport:       {RoleAuditor},
	ActUserAdmin:         {RoleAdmin},
	ActOrgAdmin:          {RoleAdmin},
	ActSettingsAdmin:     {RoleAdmin},
	ActRoleManage:        {RoleSecurityAdmin},
	ActPolicyManage:      {RoleSecurityAdmin},
	ActGrantManage:       {RoleGeneralManager},
	ActPortfolioManage:   {RoleManager, RoleGeneralManager},
	ActPaperManage:       {RoleCustodian, RoleManager, RoleGeneralManager},
	ActHandoverManage:    {RoleManager, RoleGeneralManager},
	ActExportExternal:    {RoleCompliance, RoleGeneralManager},
	ActAgreementManage:   {RoleCompliance, RoleAdmin},
	ActRetentionManage:   {RoleCompliance},
	ActHoldManage:        {RoleCompliance},
	ActDestructionManage: {RoleCompliance},
	ActBackupManage:      {RoleAdmin},
}

// systemActorActions is what background jobs and the demo seeder may do.
var systemActorActions = []Action{ActCustomerCreate, ActUserAdmin, ActOrgAdmin, ActSettingsAdmin, ActPortfolioManage, ActGrantManage,
	ActTxnRecord, ActRetentionManage, ActBackupManage}

// tokenScopes maps an API token scope to the actions it covers.
var tokenScopes = map[string][]Action{
	"customers:read":     {ActCustomerRead, ActCustomerSearch, ActCustomerReveal, ActCustomerPrint},
	"customers:write":    {ActCustomerCreate, ActCustomerUpdate, ActCustomerVerify, ActCustomerBusiness, ActRequestFile},
	"requests:decide":    {ActRequestDecide},
	"customers:export":   {ActCustomerExport, ActExportExternal},
	"transactions:read":  {ActTxnRead, ActTxnProtected},
	"transactions:write": {ActTxnRecord},
	"records:manage":     {ActAgreementManage, ActRetentionManage, ActHoldManage, ActDestructionManage, ActBackupManage},
	"audit:read":         {ActAuditRead, ActAuditExport},
	"admin":              {ActUserAdmin, ActOrgAdmin, ActSettingsAdmin, ActGrantManage, ActPortfolioManage, ActRoleManage, ActPolicyManage},
	"paper:manage":       {ActPaperManage},
	"handovers:manage":   {ActHandoverManage},
}

// TokenScopes lists the scopes an API token can carry.
func TokenScopes() []string {
	out := make([]string, 0, len(tokenScopes))
	for s := range tokenScopes {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// ValidTokenScope reports whether s is a known token scope.
func ValidTokenScope(s string) bool { _, ok := tokenScopes[s]; return ok }

// ScopeAllows reports whether the actor's token scopes (if any) cover act.
func (a Actor) ScopeAllows(act Action) bool { return a.scopeAllows(act) }

func (a Actor) scopeAllows(act Action) bool {
	if a.Scopes == nil {
		return true
	}
	for _, s := range a.Scopes {
		if slices.Contains(tokenScopes[s], act) {
			return true
		}
	}
	return false
}

// CustomerACL is what a decision needs to know about one customer: where it
// sits, who owns it, how sensitive it is, and how the actor relates to it.
type CustomerACL struct {
	CustomerID  string
	OrgPath     string
	OwnerID     int64
	Sensitivity Sensitivity
	// InPortfolio: the customer itself is in the actor's portfolio.
	InPortfolio bool
	// ViaBuilding: the customer's building is in the actor's portfolio. A
	// building is only a name, so it reaches normal customers of the
	// holder's own unit and below, never a protected one (R-C1, R-C2).
	ViaBuilding bool
	// Granted lists the actions of the actor's active grants on this customer.
	Granted []Action
	// Restricted: the relationship has ended (the archive is closed); until
	// destruction only storage, legal and audit reads remain (PIPL Art. 47).
	Restricted bool
}

// Decision is the outcome of a permission check. Reason is a stable code for
// the audit trail: how access was allowed or why it was denied.
type Decision struct {
	Allowed bool
	Reason  string
}

// Decision reasons.
const (
	ReasonPortfolio     = "portfolio"
	ReasonUnit          = "unit"
	ReasonGrant         = "grant"
	ReasonRole          = "role"
	ReasonSystem        = "system"
	DenyRole            = "role_not_permitted"
	DenyScope           = "out_of_scope"
	DenyProtected       = "protected_needs_grant"
	DenyTokenScope      = "token_scope"
	DenyUnknownActor    = "unknown_actor"
	DenyCreateOwnerRule = "create_outside_portfolio"
)

func allow(reason string) Decision { return Decision{Allowed: true, Reason: reason} }
func deny(reason string) Decision  { return Decision{Reason: reason} }

// Decide is the one permission decision point for customer actions (R-C1,
// R-C2, R-L2). It is deny by default: only what customerRules, a grant or the
// system rules allow is allowed. For ActCustomerCreate, t describes the
// customer about to be created (its unit and owner).
func Decide(a Actor, act Action, t CustomerACL) Decision {
	if !a.scopeAllows(act) {
		return deny(DenyTokenScope)
	}
	if t.Restricted && !restrictedAllows(a, act) {
		return deny(DenyRestricted)
	}
	switch a.Kind {
	case ActorSystem:
		if slices.Contains(systemActorActions, act) {
			return allow(ReasonSystem)
		}
		return deny(DenyRole)
	case ActorCustomer:
		return decideSelf(a, act, t)
	case ActorUser:
	default:
		return deny(DenyUnknownActor)
	}
	if a.UserID == 0 || !a.Role.Valid() {
		return deny(DenyUnknownActor)
	}
	if slices.Contains(t.Granted, act) || (act == ActCustomerSearch && slices.Contains(t.Granted, ActCustomerRead)) {
		return allow(ReasonGrant)
	}
	switch customerRules[a.Role][act] {
	case reachPortfolio:
		if act == ActCustomerCreate {
			if t.OwnerID == a.UserID && t.OrgPath == a.OrgPath {
				return allow(ReasonPortfolio)
			}
			return deny(DenyCreateOwnerRule)
		}
		if t.OwnerID == a.UserID || t.InPortfolio || t.buildingReaches(a) {
			return allow(ReasonPortfolio)
		}
		return deny(DenyScope)
	case reachSubtree:
		if act != ActCustomerCreate && (t.OwnerID == a.UserID || t.InPortfolio || t.buildingReaches(a)) {
			return allow(ReasonPortfolio)
		}
		if !PathContains(a.OrgPath, t.OrgPath) {
			return deny(DenyScope)
		}
		// Protection narrows who sees a customer; it does not stop an
		// archive being created or an identity being verified in the unit.
		if t.Sensitivity == Protected && act != ActCustomerCreate && act != ActCustomerVerify {
			return deny(DenyProtected)
		}
		return allow(ReasonUnit)
	}
	return deny(DenyRole)
}

// buildingReaches reports whether a building assignment reaches the
// customer for the actor: a normal customer of the actor's unit or below.
func (t CustomerACL) buildingReaches(a Actor) bool {
	return t.ViaBuilding && t.Sensitivity == Normal && PathContains(a.OrgPath, t.OrgPath)
}

// SelfServiceActions are all a customer may do in the self-service portal,
// and only on their own record (R-B5, R-E3): read the profile (masked),
// print a statement, read their transactions (large-value ones included:
// R-E4 protects records from staff, not from their customer) and file a
// correction request. Everything else — reveal, update, export, search —
// is denied.
var SelfServiceActions = []Action{ActCustomerRead, ActCustomerPrint, ActTxnRead, ActTxnProtected, ActRequestFile}

// Self-service decision reasons.
const (
	ReasonSelf  = "self"
	DenyNotSelf = "not_own_record"
)

// decideSelf is Decide for a customer actor: the customer's own record, a
// self-service action, nothing else. Grants, portfolios and units never
// apply to customers.
func decideSelf(a Actor, act Action, t CustomerACL) Decision {
	if a.CustomerID == "" {
		return deny(DenyUnknownActor)
	}
	if t.CustomerID != a.CustomerID {
		return deny(DenyNotSelf)
	}
	if !slices.Contains(SelfServiceActions, act) {
		return deny(DenyRole)
	}
	return allow(ReasonSelf)
}

// Allowed decides an action that concerns no single customer.
func Allowed(a Actor, act Action) Decision {
	if !a.scopeAllows(act) {
		return deny(DenyTokenScope)
	}
	if a.Kind == ActorSystem {
		if slices.Contains(systemActorActions, act) {
			return allow(ReasonSystem)
		}
		return deny(DenyRole)
	}
	if a.Kind != ActorUser || a.UserID == 0 {
		return deny(DenyUnknownActor)
	}
	if slices.Contains(systemRules[act], a.Role) {
		return allow(ReasonRole)
	}
	return deny(DenyRole)
}

// Scope is the search-side form of Decide: which customers an actor may find
// with a given action. The store turns it into a query; the service re-checks
// every row with Decide, so the two can never disagree silently.
type Scope struct {
	UserID    int64
	Portfolio bool // owned by the actor or in the actor's portfolio
	// BuildingSubtree bounds the customers reached through the actor's
	// buildings: normal customers of this unit and below (the actor's own).
	BuildingSubtree string
	Subtree         string // org path prefix for normal customers ("" for none)
	// Grants: customers the actor holds an active grant on are always included.
	Grants bool
	// All is for system actors only.
	All bool
	// HideRestricted leaves out closed customers: the actor's purpose is
	// not one for which restricted customers may be read (Decide agrees).
	HideRestricted bool
}

// None reports whether the scope can match nothing.
func (s Scope) None() bool { return !s.All && !s.Portfolio && s.Subtree == "" && !s.Grants }

// SearchScope returns the customers an actor may find with act.
func SearchScope(a Actor, act Action) Scope {
	if !a.scopeAllows(act) {
		return Scope{}
	}
	hide := !restrictedAllows(a, act)
	if a.Kind == ActorSystem {
		return Scope{All: slices.Contains(systemActorActions, act), HideRestricted: hide}
	}
	if a.Kind != ActorUser || a.UserID == 0 || !a.Role.Valid() {
		return Scope{}
	}
	s := Scope{UserID: a.UserID, Grants: true, HideRestricted: hide, BuildingSubtree: a.OrgPath}
	switch customerRules[a.Role][act] {
	case reachPortfolio:
		s.Portfolio = true
	case reachSubtree:
		s.Subtree = a.OrgPath
		s.Portfolio = true // the actor's own customers, wherever they sit
	}
	return s
}

// Assignment is what the decision to give someone a customer, a building or
// a grant needs to know: who receives it and, for a customer, the customer.
type Assignment struct {
	AssigneeID      int64
	AssigneeRole    Role
	AssigneeOrgPath string
	AssigneeActive  bool
	// Customer is the customer given; nil for a building.
	Customer *CustomerACL
}

// PortfolioRoles are the roles that hold portfolios of customers or buildings.
var PortfolioRoles = []Role{RoleAccountManager, RoleButler}

// Assignment refusal reasons.
const (
	DenySelfAssignment = "self_assignment"
	DenyAssigneeScope  = "assignee_out_of_scope"
	DenyAssigneeRole   = "assignee_role"
)

// DecideAssignment decides giving a customer or a building to a member of
// staff's portfolio (R-C1, R-C2, R-L2). Giving access is itself a decision:
// only within the actor's own unit and below, to a portfolio holder of that
// unit, never to oneself, and never a protected customer (that takes a
// time-limited grant). A customer outside the actor's unit is reported as
// DenyScope, which the service answers like a missing one.
func DecideAssignment(a Actor, as Assignment) Decision {
	if d := Allowed(a, ActPortfolioManage); !d.Allowed || a.Kind == ActorSystem {
		return d
	}
	if as.Customer != nil {
		if !PathContains(a.OrgPath, as.Customer.OrgPath) {
			return deny(DenyScope)
		}
		if as.Customer.Sensitivity == Protected {
			return deny(DenyProtected)
		}
	}
	if as.AssigneeID == a.UserID {
		return deny(DenySelfAssignment)
	}
	if !as.AssigneeActive || !PathContains(a.OrgPath, as.AssigneeOrgPath) {
		return deny(DenyAssigneeScope)
	}
	if !slices.Contains(PortfolioRoles, as.AssigneeRole) {
		return deny(DenyAssigneeRole)
	}
	return allow(ReasonUnit)
}

// DecideUnassignment decides taking a customer or building out of a
// portfolio: only for holders within the actor's own unit and below.
func DecideUnassignment(a Actor, as Assignment) Decision {
	if d := Allowed(a, ActPortfolioManage); !d.Allowed || a.Kind == ActorSystem {
		return d
	}
	if !PathContains(a.OrgPath, as.AssigneeOrgPath) {
		return deny(DenyAssigneeScope)
	}
	return allow(ReasonUnit)
}

// DecideGrant decides issuing a time-limited grant on a customer (R-C1,
// R-C2): by someone who may manage grants, on a customer of their own unit
// or below (a protected one included: that is what grants are for), to an
// active member of staff of that unit or below, never to oneself.
func DecideGrant(a Actor, as Assignment) Decision {
	if d := Allowed(a, ActGrantManage); !d.Allowed || a.Kind == ActorSystem {
		return d
	}
	if as.Customer == nil || !PathContains(a.OrgPath, as.Customer.OrgPath) {
		return deny(DenyScope)
	}
	if as.AssigneeID == a.UserID {
		return deny(DenySelfAssignment)
	}
	if !as.AssigneeActive || !PathContains(a.OrgPath, as.AssigneeOrgPath) {
		return deny(DenyAssigneeScope)
	}
	return allow(ReasonUnit)
}

// Grant gives one user time-limited access to one customer (R-C1, R-C2).
type Grant struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	CustomerID string     `json:"customer_id"`
	Actions    []Action   `json:"actions"`
	Purpose    string     `json:"purpose"`
	Reason     string     `json:"reason"`
	GrantedBy  int64      `json:"granted_by"`
	StartsAt   time.Time  `json:"starts_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	RevokedBy  int64      `json:"revoked_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// ActiveAt reports whether the grant is in force at t.
func (g Grant) ActiveAt(t time.Time) bool {
	return g.RevokedAt == nil && !t.Before(g.StartsAt) && t.Before(g.ExpiresAt)
}

// GrantableActions are the actions a grant may carry.
var GrantableActions = []Action{ActCustomerRead, ActCustomerReveal, ActCustomerUpdate, ActCustomerPrint, ActCustomerExport, ActTxnRead, ActTxnProtected}

// Purpose is one stated reason for reading customer data (R-C6).
type Purpose struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	Active bool   `json:"active"`
}

// NormalizeUsername lower-cases and trims a login name.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
