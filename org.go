package custos

import (
	"strconv"
	"strings"
	"time"
)

// OrgKind is the level of an organisation unit (R-L2).
type OrgKind string

// Organisation levels: head office → branch → sub-branch or department.
const (
	HeadOffice OrgKind = "head_office"
	Branch     OrgKind = "branch"
	SubBranch  OrgKind = "sub_branch"
	Department OrgKind = "department"
)

// ValidOrgKind reports whether k is a known level.
func ValidOrgKind(k OrgKind) bool {
	switch k {
	case HeadOffice, Branch, SubBranch, Department:
		return true
	}
	return false
}

// Org is one unit of the organisation tree. Path lists the ids from the root
// ("/1/4/9/") so that "this unit and everything below" is a prefix match.
type Org struct {
	ID       int64   `json:"id"`
	Code     string  `json:"code"`
	Name     string  `json:"name"`
	NameEN   string  `json:"name_en,omitempty"`
	Kind     OrgKind `json:"kind"`
	ParentID int64   `json:"parent_id,omitempty"`
	Path     string  `json:"path"`
}

// ChildPath is the path of a unit with the given id directly below o.
func (o Org) ChildPath(id int64) string {
	p := o.Path
	if p == "" {
		p = "/"
	}
	return p + strconv.FormatInt(id, 10) + "/"
}

// PathContains reports whether the unit at path outer contains (or is) the unit at inner.
func PathContains(outer, inner string) bool {
	return outer != "" && strings.HasPrefix(inner, outer)
}

// Role is what a user does; the permission rules key on it.
type Role string

// Roles (R-L2, R-C1).
const (
	RoleAdmin          Role = "admin"
	RoleGeneralManager Role = "general_manager"
	RoleManager        Role = "manager"
	RoleAccountManager Role = "account_manager"
	RoleButler         Role = "butler"
	RoleInspector      Role = "inspector"
	RoleCompliance     Role = "compliance"
	RoleAuditor        Role = "auditor"
	RoleCustodian      Role = "custodian"
	// RoleSecurityAdmin manages roles, approval rules and the retention and
	// security policies (安全管理员 of GB/T 22239-2019's 三员分立); the
	// system administrator manages accounts and settings, the auditor reads
	// the audit trail, and none of the three reaches customers.
	RoleSecurityAdmin Role = "security_admin"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleGeneralManager, RoleManager, RoleAccountManager, RoleButler, RoleInspector, RoleCompliance, RoleAuditor, RoleCustodian, RoleSecurityAdmin}

// PrivilegedRoles are the roles an account is created with or raised to
// only after a second authorised person approves (KindPrivilege): they see
// a whole bank's customers or its audit trail, or govern who may.
var PrivilegedRoles = []Role{RoleGeneralManager, RoleCompliance, RoleAuditor, RoleSecurityAdmin, RoleAdmin}

// Privileged reports whether r is one of PrivilegedRoles.
func (r Role) Privileged() bool {
	for _, x := range PrivilegedRoles {
		if x == r {
			return true
		}
	}
	return false
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

var roleLabels = map[Role]Message{
	RoleAdmin:          {ZH: "系统管理员", EN: "Administrator"},
	RoleGeneralManager: {ZH: "总经理", EN: "General manager"},
	RoleManager:        {ZH: "部门经理", EN: "Manager"},
	RoleAccountManager: {ZH: "客户经理", EN: "Account manager"},
	RoleButler:         {ZH: "管家", EN: "Butler"},
	RoleInspector:      {ZH: "审核员", EN: "Inspector"},
	RoleCompliance:     {ZH: "合规官", EN: "Compliance officer"},
	RoleAuditor:        {ZH: "审计员", EN: "Auditor"},
	RoleCustodian:      {ZH: "档案保管员", EN: "Custodian"},
	RoleSecurityAdmin:  {ZH: "安全管理员", EN: "Security administrator"},
}

// Label is the role's display name.
func (r Role) Label() Message { return roleLabels[r] }

// User is a member of staff with an individual account (R-C4).
type User struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email,omitempty"` // staff e-mail for notices; not customer data
	OrgID       int64  `json:"org_id"`
	Role        Role   `json:"role"`
	Disabled    bool   `json:"disabled"`
	MFAEnabled  bool   `json:"mfa_enabled"`
	// MustChangePassword marks a one-time password set by someone else: the
	// user must choose their own at the next sign-in before anything else.
	MustChangePassword bool       `json:"must_change_password"`
	FailedLogins       int        `json:"-"`
	LockedUntil        time.Time  `json:"-"`
	PasswordChangedAt  time.Time  `json:"-"`
	CreatedAt          time.Time  `json:"created_at"`
	LastLoginAt        *time.Time `json:"last_login_at,omitempty"`
}

// UserFilter selects users.
type UserFilter struct {
	OrgID    int64
	Role     Role
	Username string
}

// PortfolioEntry assigns a customer, or a building for butlers, to a member of staff.
type PortfolioEntry struct {
	UserID     int64  `json:"user_id"`
	CustomerID string `json:"customer_id,omitempty"`
	Building   string `json:"building,omitempty"` // BuildingKey(estate, building)
}

// PrivilegedAccount reports whether an account with role r (in a unit of
// kind k) takes effect only after a second person approves: a privileged
// role, or any role that reaches a whole unit's customers or approves and
// verifies others' work — a branch manager or inspector as much as one at
// the head office. Otherwise an administrator could create a manager and an
// inspector, sign in as them, and be maker, verifier and checker alone.
func PrivilegedAccount(r Role, _ OrgKind) bool {
	if r.Privileged() {
		return true
	}
	for _, reach := range customerRules[r] {
		if reach == reachSubtree {
			return true
		}
	}
	return false
}

// ReachesCustomers reports whether a role reaches customers at all (its own
// portfolio included): an administrator who reset such an account's
// password could sign in as it, so that reset needs a second person.
func ReachesCustomers(r Role) bool { return len(customerRules[r]) > 0 || r.Privileged() }
