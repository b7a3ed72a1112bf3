package custos

import (
	"slices"
	"testing"
)

// TestCustomerSelfService_RB5_RE3: a customer signed in to the portal
// reaches their own record with the self-service actions only, and nothing
// of anyone else's, whatever the ACL says about units, owners or grants.
func TestCustomerSelfService_RB5_RE3(t *testing.T) {
	self := Actor{Kind: ActorCustomer, CustomerID: "c-1", Username: "portal:ab12"}
	all := append(append(append([]Action{}, CustomerActions...), SystemActions...), ActRequestFile, ActRequestDecide, "customer.delete")
	own := CustomerACL{CustomerID: "c-1", OrgPath: "/1/2/", OwnerID: 7, Sensitivity: Normal}
	ownProtected := own
	ownProtected.Sensitivity = Protected
	other := CustomerACL{CustomerID: "c-2", OrgPath: "/1/2/", OwnerID: 7, Sensitivity: Normal, InPortfolio: true, Granted: all}
	noID := CustomerACL{OrgPath: "/1/2/", OwnerID: 7, Sensitivity: Normal}
	cases := []struct {
		name  string
		actor Actor
		acl   CustomerACL
		want  func(Action) bool
	}{
		{"own record", self, own, func(a Action) bool { return slices.Contains(SelfServiceActions, a) }},
		{"own protected record", self, ownProtected, func(a Action) bool { return slices.Contains(SelfServiceActions, a) }},
		{"another customer, even in portfolio and granted", self, other, func(Action) bool { return false }},
		{"an ACL without a customer", self, noID, func(Action) bool { return false }},
		{"customer actor without a customer id", Actor{Kind: ActorCustomer}, CustomerACL{}, func(Action) bool { return false }},
		{"customer actor without id on an empty ACL id", Actor{Kind: ActorCustomer}, noID, func(Action) bool { return false }},
	}
	for _, c := range cases {
		for _, act := range all {
			d := Decide(c.actor, act, c.acl)
			if d.Allowed != c.want(act) {
				t.Errorf("%s: %s allowed=%v (%s), want %v", c.name, act, d.Allowed, d.Reason, c.want(act))
			}
			if d.Allowed && d.Reason != ReasonSelf {
				t.Errorf("%s: %s allowed for reason %q", c.name, act, d.Reason)
			}
		}
	}
	// Never a staff permission: no system action, no search scope.
	for _, act := range all {
		if Allowed(self, act).Allowed {
			t.Errorf("customer allowed system action %s", act)
		}
		if !SearchScope(self, act).None() {
			t.Errorf("customer has a search scope for %s", act)
		}
	}
	// Updating, revealing or exporting one's own record is not self-service.
	for _, act := range []Action{ActCustomerUpdate, ActCustomerReveal, ActCustomerExport, ActCustomerSearch, ActTxnRecord, ActRequestDecide} {
		if Decide(self, act, own).Allowed {
			t.Errorf("customer may %s own record", act)
		}
	}
}
