package custos

import (
	"fmt"
	"testing"
)

// The permission matrix (R-C1, R-C2, R-C6, R-C10, R-L2): every role × action
// × scope × sensitivity, written out so a change to the rules shows up here.
// Cells, in order: the customer is the actor's own, in the actor's unit, in
// a unit below, in an unrelated unit; each first normal (N) then protected (P).
var cells = []struct {
	name  string
	owner int64
	path  string
	sens  Sensitivity
}{
	{"own/N", 7, "/1/2/", Normal}, {"own/P", 7, "/1/2/", Protected},
	{"unit/N", 99, "/1/2/", Normal}, {"unit/P", 99, "/1/2/", Protected},
	{"below/N", 99, "/1/2/3/", Normal}, {"below/P", 99, "/1/2/3/", Protected},
	{"other/N", 99, "/1/4/", Normal}, {"other/P", 99, "/1/4/", Protected},
}

var matrix = map[Role]map[Action]string{
	RoleAdmin: {ActCustomerRead: "--------", ActCustomerSearch: "--------", ActCustomerUpdate: "--------", ActCustomerReveal: "--------",
		ActCustomerExport: "--------", ActCustomerPrint: "--------", ActCustomerVerify: "--------", ActCustomerBusiness: "--------",
		ActTxnRecord: "--------", ActTxnRead: "--------", ActTxnProtected: "--------",
		ActCustomerCreate: "--------"},
	RoleGeneralManager: {ActCustomerRead: "YYY-Y---", ActCustomerSearch: "YYY-Y---", ActCustomerUpdate: "YYY-Y---", ActCustomerReveal: "YYY-Y---",
		ActCustomerExport: "YYY-Y---", ActCustomerPrint: "YYY-Y---", ActCustomerVerify: "--------", ActCustomerBusiness: "YYY-Y---",
		ActTxnRecord: "YYY-Y---", ActTxnRead: "YYY-Y---", ActTxnProtected: "YYY-Y---",
		ActCustomerCreate: "YYYYYY--"},
	RoleManager: {ActCustomerRead: "YYY-Y---", ActCustomerSearch: "YYY-Y---", ActCustomerUpdate: "YYY-Y---", ActCustomerReveal: "YYY-Y---",
		ActCustomerExport: "YYY-Y---", ActCustomerPrint: "YYY-Y---", ActCustomerVerify: "--------", ActCustomerBusiness: "YYY-Y---",
		ActTxnRecord: "YYY-Y---", ActTxnRead: "YYY-Y---", ActTxnProtected: "--------",
		ActCustomerCreate: "YYYYYY--"},
	RoleAccountManager: {ActCustomerRead: "YY------", ActCustomerSearch: "YY------", ActCustomerUpdate: "YY------", ActCustomerReveal: "YY------",
		ActCustomerExport: "--------", ActCustomerPrint: "YY------", ActCustomerVerify: "--------", ActCustomerBusiness: "YY------",
		ActTxnRecord: "YY------", ActTxnRead: "YY------", ActTxnProtected: "--------",
		ActCustomerCreate: "YY------"},
	RoleButler: {ActCustomerRead: "YY------", ActCustomerSearch: "YY------", ActCustomerUpdate: "YY------", ActCustomerReveal: "--------",
		ActCustomerExport: "--------", ActCustomerPrint: "YY------", ActCustomerVerify: "--------", ActCustomerBusiness: "--------",
		ActTxnRecord: "--------", ActTxnRead: "--------", ActTxnProtected: "--------",
		ActCustomerCreate: "YY------"},
	RoleInspector: {ActCustomerRead: "YYY-Y---", ActCustomerSearch: "YYY-Y---", ActCustomerUpdate: "--------", ActCustomerReveal: "YYY-Y---",
		ActCustomerExport: "--------", ActCustomerPrint: "--------", ActCustomerVerify: "YYYYYY--", ActCustomerBusiness: "--------",
		ActTxnRecord: "--------", ActTxnRead: "--------", ActTxnProtected: "--------",
		ActCustomerCreate: "--------"},
	RoleCompliance: {ActCustomerRead: "YYY-Y---", ActCustomerSearch: "YYY-Y---", ActCustomerUpdate: "--------", ActCustomerReveal: "YYY-Y---",
		ActCustomerExport: "YYY-Y---", ActCustomerPrint: "YYY-Y---", ActCustomerVerify: "--------", ActCustomerBusiness: "--------",
		ActTxnRecord: "--------", ActTxnRead: "YYY-Y---", ActTxnProtected: "YYY-Y---",
		ActCustomerCreate: "--------"},
	RoleAuditor: {ActCustomerRead: "--------", ActCustomerSearch: "--------", ActCustomerUpdate: "--------", ActCustomerReveal: "--------",
		ActCustomerExport: "--------", ActCustomerPrint: "--------", ActCustomerVerify: "--------", ActCustomerBusiness: "--------",
		ActTxnRecord: "--------", ActTxnRead: "--------", ActTxnProtected: "--------",
		ActCustomerCreate: "--------"},
	RoleSecurityAdmin: {ActCustomerRead: "--------", ActCustomerSearch: "--------", ActCustomerUpdate: "--------", ActCustomerReveal: "--------",
		ActCustomerExport: "--------", ActCustomerPrint: "--------", ActCustomerVerify: "--------", ActCustomerBusiness: "--------",
		ActTxnRecord: "--------", ActTxnRead: "--------", ActTxnProtected: "--------",
		ActCustomerCreate: "--------"},
	RoleCustodian: {ActCustomerRead: "--------", ActCustomerSearch: "--------", ActCustomerUpdate: "--------", ActCustomerReveal: "--------",
		ActCustomerExport: "--------", ActCustomerPrint: "--------", ActCustomerVerify: "--------", ActCustomerBusiness: "--------",
		ActTxnRecord: "--------", ActTxnRead: "--------", ActTxnProtected: "--------",
		ActCustomerCreate: "--------"},
}

func TestPermissionMatrix(t *testing.T) {
	for _, role := range Roles {
		for _, act := range CustomerActions {
			row, ok := matrix[role][act]
			if !ok {
				t.Fatalf("matrix misses %s × %s", role, act)
			}
			for i, c := range cells {
				a := Actor{Kind: ActorUser, UserID: 7, Role: role, OrgPath: "/1/2/"}
				acl := CustomerACL{OrgPath: c.path, OwnerID: c.owner, Sensitivity: c.sens}
				got := Decide(a, act, acl).Allowed
				if want := row[i] == 'Y'; got != want {
					t.Errorf("%s %s on %s: allowed=%v, want %v (%s)", role, act, c.name, got, want, Decide(a, act, acl).Reason)
				}
				// A grant opens exactly the granted actions, for every role and cell (R-C2).
				if act != ActCustomerCreate {
					g := acl
					g.Granted = []Action{act}
					if !Decide(a, act, g).Allowed {
						t.Errorf("%s %s on %s with a grant: denied", role, act, c.name)
					}
				}
				// Search scope and Decide agree on every cell.
				if act == ActCustomerSearch {
					if inScope(SearchScope(a, act), acl, 7) != got {
						t.Errorf("%s search on %s: scope and decision disagree", role, c.name)
					}
				}
			}
		}
	}
}

// inScope evaluates a Scope the way the store's query does.
func inScope(s Scope, acl CustomerACL, user int64) bool {
	if s.All {
		return true
	}
	if s.Portfolio && (acl.OwnerID == user || acl.InPortfolio) {
		return true
	}
	if s.Portfolio && acl.ViaBuilding && acl.Sensitivity == Normal && PathContains(s.BuildingSubtree, acl.OrgPath) {
		return true
	}
	if s.Subtree != "" && acl.Sensitivity == Normal && PathContains(s.Subtree, acl.OrgPath) {
		return true
	}
	return false
}

func TestDenyByDefault(t *testing.T) {
	acl := CustomerACL{OrgPath: "/1/", OwnerID: 1, Sensitivity: Normal}
	for _, a := range []Actor{
		{},                                   // nobody
		{Kind: ActorUser, Role: RoleManager}, // no user id
		{Kind: ActorUser, UserID: 1, Role: "superuser", OrgPath: "/1/"},
		{Kind: "robot", UserID: 1, Role: RoleManager, OrgPath: "/1/"},
	} {
		for _, act := range append(append([]Action{}, CustomerActions...), "customer.delete") {
			if d := Decide(a, act, acl); d.Allowed {
				t.Errorf("%+v allowed %s", a, act)
			}
		}
	}
	sys := SystemActor("import")
	if Decide(sys, ActCustomerRead, acl).Allowed || !Decide(sys, ActCustomerCreate, acl).Allowed {
		t.Error("system actor may create but never read customers")
	}
}

func TestTokenScopesNarrowTheRole(t *testing.T) { // R-D4
	a := Actor{Kind: ActorUser, UserID: 7, Role: RoleManager, OrgPath: "/1/", Scopes: []string{"customers:read"}}
	acl := CustomerACL{OrgPath: "/1/2/", OwnerID: 9, Sensitivity: Normal}
	if !Decide(a, ActCustomerRead, acl).Allowed || Decide(a, ActCustomerUpdate, acl).Allowed {
		t.Fatal("read-only token")
	}
	a.Scopes = []string{}
	if Decide(a, ActCustomerRead, acl).Allowed {
		t.Fatal("token without scopes must allow nothing")
	}
}

// TestSystemActions holds every action that concerns no single customer
// to the roles that may take it. Separation of duties (三员分立): the
// administrator has accounts, units, settings and backups, nothing that
// reaches customers (grants, portfolios, handovers, closing
// relationships) and not the audit trail; the security administrator has
// roles and policies; the auditor the audit trail.
func TestSystemActions(t *testing.T) {
	want := map[Action][]Role{
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
	if len(want) != len(SystemActions) {
		t.Fatalf("the table covers %d of %d system actions", len(want), len(SystemActions))
	}
	for act, roles := range want {
		for _, r := range Roles {
			allowed := Allowed(Actor{Kind: ActorUser, UserID: 1, Role: r}, act).Allowed
			exp := false
			for _, x := range roles {
				exp = exp || x == r
			}
			if allowed != exp {
				t.Errorf("%s %s: %v want %v", r, act, allowed, exp)
			}
		}
	}
	_ = fmt.Sprint()
}

// TestBuildingReach_RC1: a building in a portfolio is only a name; it
// reaches normal customers of the holder's own unit and below, never a
// protected customer nor one of another unit with a building of the same
// name — and the search scope agrees cell by cell.
func TestBuildingReach_RC1(t *testing.T) {
	want := map[Role]string{RoleButler: "Y-Y-Y---", RoleAccountManager: "Y-Y-Y---", RoleManager: "Y-Y-Y---"}
	for role, row := range want {
		a := Actor{Kind: ActorUser, UserID: 7, Role: role, OrgPath: "/1/2/"}
		for i, c := range cells {
			acl := CustomerACL{OrgPath: c.path, OwnerID: 99, Sensitivity: c.sens, ViaBuilding: true}
			got := Decide(a, ActCustomerRead, acl).Allowed
			if w := row[i] == 'Y'; got != w {
				t.Errorf("%s read via building on %s: %v, want %v", role, c.name, got, w)
			}
			if inScope(SearchScope(a, ActCustomerSearch), acl, 7) != Decide(a, ActCustomerSearch, acl).Allowed {
				t.Errorf("%s search via building on %s: scope and decision disagree", role, c.name)
			}
		}
	}
}

// TestAssignmentDecision_RC1 is the matrix of giving a customer or a
// building to someone's portfolio and of issuing a grant (R-C1, R-C2,
// R-L2): only within the actor's own unit and below, to a portfolio holder
// of that unit, never to oneself, never a protected customer without a
// grant; a grant reaches protected customers, still only in the unit.
func TestAssignmentDecision_RC1(t *testing.T) {
	mgr := Actor{Kind: ActorUser, UserID: 7, Role: RoleManager, OrgPath: "/1/2/"}
	gm := Actor{Kind: ActorUser, UserID: 8, Role: RoleGeneralManager, OrgPath: "/1/"}
	am := Actor{Kind: ActorUser, UserID: 9, Role: RoleAccountManager, OrgPath: "/1/2/3/"}
	amHere := Assignment{AssigneeID: 20, AssigneeRole: RoleAccountManager, AssigneeOrgPath: "/1/2/3/", AssigneeActive: true}
	cases := []struct {
		name   string
		actor  Actor
		as     Assignment
		assign string // DecideAssignment reason ("" = allowed)
		grant  string // DecideGrant reason ("" = allowed)
	}{
		{"unit customer to an account manager below", mgr, with(amHere, cells[2]), "", DenyRole},
		{"customer below", mgr, with(amHere, cells[4]), "", DenyRole},
		{"protected customer", mgr, with(amHere, cells[3]), DenyProtected, DenyRole},
		{"customer of another branch", mgr, with(amHere, cells[6]), DenyScope, DenyRole},
		{"protected customer of another branch", mgr, with(amHere, cells[7]), DenyScope, DenyRole},
		{"to oneself", mgr, with(Assignment{AssigneeID: 7, AssigneeRole: RoleManager, AssigneeOrgPath: "/1/2/", AssigneeActive: true}, cells[2]), DenySelfAssignment, DenyRole},
		{"to someone of another branch", mgr, with(Assignment{AssigneeID: 21, AssigneeRole: RoleAccountManager, AssigneeOrgPath: "/1/4/", AssigneeActive: true}, cells[2]), DenyAssigneeScope, DenyRole},
		{"to a disabled user", mgr, with(Assignment{AssigneeID: 22, AssigneeRole: RoleAccountManager, AssigneeOrgPath: "/1/2/", AssigneeActive: false}, cells[2]), DenyAssigneeScope, DenyRole},
		{"to an inspector", mgr, with(Assignment{AssigneeID: 23, AssigneeRole: RoleInspector, AssigneeOrgPath: "/1/2/", AssigneeActive: true}, cells[2]), DenyAssigneeRole, DenyRole},
		{"a building to a butler below", mgr, Assignment{AssigneeID: 24, AssigneeRole: RoleButler, AssigneeOrgPath: "/1/2/3/", AssigneeActive: true}, "", DenyRole},
		{"a building to oneself", mgr, Assignment{AssigneeID: 7, AssigneeRole: RoleManager, AssigneeOrgPath: "/1/2/", AssigneeActive: true}, DenySelfAssignment, DenyRole},
		{"the general manager, anywhere", gm, with(amHere, cells[6]), "", ""},
		{"the general manager, protected", gm, with(amHere, cells[7]), DenyProtected, ""},
		{"the general manager to oneself", gm, with(Assignment{AssigneeID: 8, AssigneeRole: RoleGeneralManager, AssigneeOrgPath: "/1/", AssigneeActive: true}, cells[3]), DenyProtected, DenySelfAssignment},
		{"the general manager to a disabled user", gm, with(Assignment{AssigneeID: 22, AssigneeRole: RoleAccountManager, AssigneeOrgPath: "/1/2/", AssigneeActive: false}, cells[3]), DenyProtected, DenyAssigneeScope},
		{"the general manager, a grant to an inspector", gm, with(Assignment{AssigneeID: 23, AssigneeRole: RoleInspector, AssigneeOrgPath: "/1/2/", AssigneeActive: true}, cells[3]), DenyProtected, ""},
		{"the general manager, a grant outside the bank", Actor{Kind: ActorUser, UserID: 8, Role: RoleGeneralManager, OrgPath: "/1/2/"}, with(amHere, cells[6]), DenyScope, DenyScope},
		{"an account manager", am, with(Assignment{AssigneeID: 25, AssigneeRole: RoleAccountManager, AssigneeOrgPath: "/1/2/3/", AssigneeActive: true}, cells[4]), DenyRole, DenyRole},
	}
	for _, c := range cases {
		if d := DecideAssignment(c.actor, c.as); d.Allowed != (c.assign == "") || (!d.Allowed && d.Reason != c.assign) {
			t.Errorf("assign %s: %+v, want %q", c.name, d, c.assign)
		}
		if d := DecideGrant(c.actor, c.as); d.Allowed != (c.grant == "") || (!d.Allowed && d.Reason != c.grant) {
			t.Errorf("grant %s: %+v, want %q", c.name, d, c.grant)
		}
	}
	if d := DecideUnassignment(mgr, Assignment{AssigneeOrgPath: "/1/4/"}); d.Allowed {
		t.Error("a manager took a customer out of another branch's portfolio")
	}
	if d := DecideUnassignment(mgr, Assignment{AssigneeOrgPath: "/1/2/3/"}); !d.Allowed {
		t.Errorf("a manager could not take a customer out of a portfolio below: %+v", d)
	}
}

func with(as Assignment, c struct {
	name  string
	owner int64
	path  string
	sens  Sensitivity
}) Assignment {
	as.Customer = &CustomerACL{OrgPath: c.path, OwnerID: c.owner, Sensitivity: c.sens}
	return as
}
