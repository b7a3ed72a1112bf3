package custos

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestSeparationOfDuties_RC1_RD4: none of the three administrators (系统
// 管理员, 安全管理员, 审计员) reaches a customer; only the auditor and
// compliance read the audit trail; customer-reaching system actions are
// never the administrator's.
func TestSeparationOfDuties_RC1_RD4(t *testing.T) {
	reachCustomers := []Action{ActGrantManage, ActPortfolioManage, ActHandoverManage, ActRetentionManage, ActExportExternal, ActHoldManage, ActDestructionManage}
	for _, r := range []Role{RoleAdmin, RoleSecurityAdmin, RoleAuditor} {
		a := Actor{Kind: ActorUser, UserID: 1, Role: r, OrgPath: "/1/"}
		for _, act := range CustomerActions {
			if Decide(a, act, CustomerACL{OrgPath: "/1/2/", OwnerID: 9}).Allowed {
				t.Errorf("%s may %s a customer", r, act)
			}
		}
		for _, act := range reachCustomers {
			if Allowed(a, act).Allowed {
				t.Errorf("%s may %s", r, act)
			}
		}
	}
	for _, r := range []Role{RoleAdmin, RoleSecurityAdmin} {
		if Allowed(Actor{Kind: ActorUser, UserID: 1, Role: r}, ActAuditRead).Allowed {
			t.Errorf("%s reads the audit trail", r)
		}
	}
	if Allowed(Actor{Kind: ActorUser, UserID: 1, Role: RoleAdmin}, ActRoleManage).Allowed || Allowed(Actor{Kind: ActorUser, UserID: 1, Role: RoleAdmin}, ActPolicyManage).Allowed {
		t.Error("the administrator manages roles or policies")
	}
	if !RoleSecurityAdmin.Valid() || RoleSecurityAdmin.Label().ZH != "安全管理员" || RoleSecurityAdmin.Label().EN == "" {
		t.Error("security administrator role")
	}
	for _, r := range Roles {
		want := slices.Contains([]Role{RoleGeneralManager, RoleCompliance, RoleAuditor, RoleSecurityAdmin, RoleAdmin}, r)
		if r.Privileged() != want {
			t.Errorf("%s privileged = %v", r, r.Privileged())
		}
	}
	// A manager or an inspector reaches a whole unit and approves or
	// verifies others' work, at a branch as much as at the head office.
	if !PrivilegedAccount(RoleManager, HeadOffice) || !PrivilegedAccount(RoleManager, Branch) || !PrivilegedAccount(RoleInspector, SubBranch) ||
		PrivilegedAccount(RoleCustodian, HeadOffice) || PrivilegedAccount(RoleAccountManager, SubBranch) || !PrivilegedAccount(RoleAuditor, Branch) {
		t.Error("PrivilegedAccount")
	}
	// Whose password reset needs a second person: whoever reaches customers.
	if !ReachesCustomers(RoleAccountManager) || !ReachesCustomers(RoleButler) || ReachesCustomers(RoleCustodian) {
		t.Error("ReachesCustomers")
	}
}

// TestApprovalFloors_RF3_RB1: no rule goes below its floor: destruction
// keeps two approvers; the approver roles cannot be widened to those who
// file the kind (account managers approving account managers' changes) or
// to the administrators; unit-bound kinds stay unit-bound. The defaults
// keep their floors, and a rule read from the store is floored.
func TestApprovalFloors_RF3_RB1(t *testing.T) {
	for _, r := range DefaultApprovalRules {
		if err := r.Validate(); err != nil {
			t.Errorf("default rule %s: %v", r.Kind, err)
		}
	}
	for _, k := range RequestKinds {
		if _, ok := ApprovalFloors[k]; !ok {
			t.Errorf("kind %s has no floor", k)
		}
	}
	week := Duration(7 * 24 * time.Hour)
	for _, c := range []struct {
		name  string
		rule  ApprovalRule
		field string
	}{
		{"destruction by one", ApprovalRule{Kind: KindDestruction, Roles: []Role{RoleCompliance}, Scope: ScopeAny, Required: 1, TTL: week}, "required"},
		{"account managers approve changes", ApprovalRule{Kind: KindChange, Roles: []Role{RoleManager, RoleAccountManager}, Scope: ScopeUnit, Required: 1, TTL: week}, "roles"},
		{"butlers approve onboarding", ApprovalRule{Kind: KindOnboarding, Roles: []Role{RoleButler}, Scope: ScopeUnit, Required: 1, TTL: week}, "roles"},
		{"any branch approves changes", ApprovalRule{Kind: KindChange, Roles: []Role{RoleManager}, Scope: ScopeAny, Required: 1, TTL: week}, "scope"},
		{"the administrator approves accounts", ApprovalRule{Kind: KindPrivilege, Roles: []Role{RoleAdmin}, Scope: ScopeAny, Required: 1, TTL: week}, "roles"},
		{"the auditor approves exports", ApprovalRule{Kind: KindExport, Roles: []Role{RoleAuditor}, Scope: ScopeAny, Required: 1, TTL: week}, "roles"},
		{"the administrator approves destruction", ApprovalRule{Kind: KindDestruction, Roles: []Role{RoleAdmin, RoleCompliance}, Scope: ScopeAny, Required: 2, TTL: week}, "roles"},
	} {
		err := c.rule.Validate()
		var ce *Error
		if !errors.As(err, &ce) || ce.Code != EInvalid || !slices.ContainsFunc(ce.Fields, func(f FieldError) bool { return f.Field == c.field }) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	low := ApprovalRule{Kind: KindDestruction, Roles: []Role{RoleCompliance, RoleAccountManager}, Scope: ScopeAny, Required: 1, TTL: week}.Floored()
	if low.Required != 2 || !slices.Equal(low.Roles, []Role{RoleCompliance}) {
		t.Errorf("floored destruction rule: %+v", low)
	}
	if r := (ApprovalRule{Kind: KindChange, Roles: []Role{RoleManager}, Scope: ScopeAny, Required: 1}).Floored(); r.Scope != ScopeUnit {
		t.Errorf("floored change rule: %+v", r)
	}
}

// TestGovernanceApproval_RC4: the requester never approves, and neither
// does the account a privileged-account request concerns.
func TestGovernanceApproval_RC4(t *testing.T) {
	rule := ApprovalRule{Kind: KindPrivilege, Roles: []Role{RoleSecurityAdmin, RoleGeneralManager}, Scope: ScopeAny, Required: 1}
	r := &Request{Kind: KindPrivilege, State: RequestPending, RequestedBy: 1, SubjectID: UserSubject(2), ExpiresAt: time.Now().Add(time.Hour)}
	if err := r.MayApprove(Actor{Kind: ActorUser, UserID: 1, Role: RoleSecurityAdmin}, rule); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("requester: %v", err)
	}
	if err := r.MayApprove(Actor{Kind: ActorUser, UserID: 2, Role: RoleSecurityAdmin}, rule); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("the account raised: %v", err)
	}
	if err := r.MayApprove(Actor{Kind: ActorUser, UserID: 3, Role: RoleAdmin}, rule); !errors.Is(err, ErrNotApprover) {
		t.Errorf("an administrator: %v", err)
	}
	if err := r.MayApprove(Actor{Kind: ActorUser, UserID: 3, Role: RoleGeneralManager}, rule); err != nil {
		t.Errorf("the general manager: %v", err)
	}
}

// TestCheckRelationshipEnd_RF1: the end date of a relationship is neither
// in the future, nor more than the allowed days back, nor before the last
// business activity.
func TestCheckRelationshipEnd_RF1(t *testing.T) {
	now := time.Date(2030, 6, 15, 9, 0, 0, 0, time.UTC) // 17:00 China time
	day := func(d int) string { return now.In(TxnZone).AddDate(0, 0, d).Format(time.DateOnly) }
	for _, c := range []struct {
		end  string
		last time.Time
		ok   bool
	}{
		{day(0), time.Time{}, true},
		{day(-7), time.Time{}, true},
		{day(-8), time.Time{}, false},
		{"2010-01-01", time.Time{}, false},
		{day(1), time.Time{}, false},
		{day(-3), now.AddDate(0, 0, -5), true},
		{day(-3), now.AddDate(0, 0, -1), false},
		{day(0), now, true},
		{"2030-6-15", time.Time{}, false},
	} {
		err := CheckRelationshipEnd(c.end, c.last, now, DefaultClosureBackdate)
		if (err == nil) != c.ok || (err != nil && ErrorCodeOf(err) != EInvalid) {
			t.Errorf("end %s, last activity %v: %v", c.end, c.last, err)
		}
	}
}
