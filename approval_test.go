package custos

import (
	"errors"
	"testing"
	"time"
)

// The approval engine's rules (R-A10, R-B1, R-C1): table tests of the domain
// methods, without a store.
func TestRequestDecisions(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	maker := Actor{Kind: ActorUser, UserID: 1, Role: RoleAccountManager, OrgPath: "/1/2/3/"}
	mgr := Actor{Kind: ActorUser, UserID: 2, Role: RoleManager, OrgPath: "/1/2/"}
	mgr2 := Actor{Kind: ActorUser, UserID: 5, Role: RoleManager, OrgPath: "/1/2/"}
	otherMgr := Actor{Kind: ActorUser, UserID: 3, Role: RoleManager, OrgPath: "/1/9/"}
	gm := Actor{Kind: ActorUser, UserID: 4, Role: RoleGeneralManager, OrgPath: "/1/"}
	selfMgr := Actor{Kind: ActorUser, UserID: 1, Role: RoleManager, OrgPath: "/1/2/"}
	unitRule := ApprovalRule{Kind: KindChange, Roles: []Role{RoleManager, RoleGeneralManager}, Scope: ScopeUnit, Required: 1}
	dual := unitRule
	dual.Required = 2
	anyRule := ApprovalRule{Kind: KindAccess, Roles: []Role{RoleGeneralManager}, Scope: ScopeAny, Required: 1}

	type step struct {
		actor   Actor
		approve bool
		err     error
	}
	for _, tc := range []struct {
		name  string
		rule  ApprovalRule
		steps []step
		final RequestState
	}{
		{"manager of the unit approves", unitRule, []step{{mgr, true, nil}}, RequestApproved},
		{"general manager above approves", unitRule, []step{{gm, true, nil}}, RequestApproved},
		{"requester cannot approve", unitRule, []step{{selfMgr, true, ErrSelfApproval}}, RequestPending},
		{"account manager is no approver", unitRule, []step{{Actor{Kind: ActorUser, UserID: 9, Role: RoleAccountManager, OrgPath: "/1/2/"}, true, ErrNotApprover}}, RequestPending},
		{"manager of another branch is no approver", unitRule, []step{{otherMgr, true, ErrNotApprover}}, RequestPending},
		{"a rejection rejects", unitRule, []step{{mgr, false, nil}, {gm, true, ErrNotPending}}, RequestRejected},
		{"dual control needs two", dual, []step{{mgr, true, nil}}, RequestPending},
		{"dual control, two distinct", dual, []step{{mgr, true, nil}, {mgr2, true, nil}}, RequestApproved},
		{"dual control, same approver twice", dual, []step{{mgr, true, nil}, {mgr, true, ErrAlreadyDecided}}, RequestPending},
		{"access needs the general manager", anyRule, []step{{mgr, true, ErrNotApprover}, {gm, true, nil}}, RequestApproved},
		{"the system is no approver", unitRule, []step{{SystemActor("job"), true, ErrNotApprover}}, RequestPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Request{Kind: tc.rule.Kind, State: RequestPending, OrgPath: "/1/2/3/", RequestedBy: maker.UserID, Required: tc.rule.Required, ExpiresAt: now.Add(time.Hour)}
			for i, s := range tc.steps {
				if err := r.Decide(s.actor, tc.rule, s.approve, "", now); !errors.Is(err, s.err) {
					t.Fatalf("step %d: %v, want %v", i, err, s.err)
				}
			}
			if r.State != tc.final {
				t.Fatalf("state %s, want %s", r.State, tc.final)
			}
		})
	}
}

func TestRequestLifecycle(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	maker := Actor{Kind: ActorUser, UserID: 1, Role: RoleAccountManager, OrgPath: "/1/2/"}
	mgr := Actor{Kind: ActorUser, UserID: 2, Role: RoleManager, OrgPath: "/1/2/"}
	rule := ApprovalRule{Kind: KindChange, Roles: []Role{RoleManager}, Scope: ScopeUnit, Required: 1}
	newReq := func() *Request {
		return &Request{Kind: KindChange, State: RequestPending, OrgPath: "/1/2/", RequestedBy: 1, Required: 1, ExpiresAt: now.Add(time.Hour)}
	}

	r := newReq()
	if err := r.Cancel(mgr, now); !errors.Is(err, ErrNotRequester) {
		t.Fatalf("someone else cancels: %v", err)
	}
	if err := r.Cancel(maker, now); err != nil || r.State != RequestCancelled {
		t.Fatalf("cancel: %v %s", err, r.State)
	}
	if err := r.Decide(mgr, rule, true, "", now); !errors.Is(err, ErrNotPending) {
		t.Fatalf("decide after cancel: %v", err)
	}

	r = newReq()
	if err := r.Decide(mgr, rule, true, "", now.Add(2*time.Hour)); !errors.Is(err, ErrNotPending) || r.State != RequestExpired {
		t.Fatalf("late decision: %v %s", err, r.State)
	}

	r = newReq()
	if err := r.MarkApplied(now); err == nil {
		t.Fatal("a pending request cannot be applied")
	}
	r.Decide(mgr, rule, true, "ok", now)
	if err := r.MarkApplied(now); err != nil || r.State != RequestApplied || !r.State.Final() {
		t.Fatalf("apply: %v %s", err, r.State)
	}
}

func TestApprovalRuleValidate(t *testing.T) {
	for _, r := range DefaultApprovalRules {
		if err := r.Validate(); err != nil {
			t.Errorf("default rule %s: %v", r.Kind, err)
		}
	}
	if (ApprovalRule{Kind: "x", Scope: "y"}).Validate() == nil {
		t.Fatal("invalid rule accepted")
	}
}
