package custos

import (
	"testing"
	"time"
)

func TestRetentionPolicyNeverShorterThanPreset_RF1(t *testing.T) {
	aml := DefaultRetentionPolicy()
	longer := DefaultRetentionPolicy()
	longer.Rules[2].Years = 15
	shorter := DefaultRetentionPolicy()
	shorter.Rules[0].Years = 9
	pboc := RetentionPresets[PresetPBOC2007]
	pbocLater := RetentionPolicy{Preset: PresetPBOC2007, Rules: append([]RetentionRule(nil), pboc.Rules...)}
	pbocLater.Rules[0].Clock = ClockDocumentExpiry
	badClock := DefaultRetentionPolicy()
	badClock.Rules[2].Clock = ClockRelationshipEnd
	missing := RetentionPolicy{Preset: PresetPBOC2007, Rules: pboc.Rules[:3]}
	for _, tc := range []struct {
		name  string
		p     RetentionPolicy
		field string // "" when valid
	}{
		{"AML 2024 preset", aml, ""},
		{"PBOC 2007 preset", pboc, ""},
		{"lengthened", longer, ""},
		{"later clock start", pbocLater, ""},
		{"shorter than preset", shorter, "rules[0].years"},
		{"clock that does not fit", badClock, "rules[2].clock"},
		{"record type missing", missing, "rules.attachment"},
		{"unknown preset", RetentionPolicy{Preset: "gdpr"}, "preset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid policy refused: %v", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != EInvalid {
				t.Fatalf("want EInvalid, got %v", err)
			}
			found := false
			for _, f := range e.Fields {
				found = found || f.Field == tc.field
			}
			if !found {
				t.Fatalf("want a field error on %s, got %+v", tc.field, e.Fields)
			}
		})
	}
}

func day(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }

func TestDestroyableAt_RF1(t *testing.T) {
	pboc := RetentionPresets[PresetPBOC2007]
	docLater := RetentionPolicy{Preset: PresetPBOC2007, Rules: append([]RetentionRule(nil), pboc.Rules...)}
	docLater.Rules[0].Clock = ClockDocumentExpiry
	for _, tc := range []struct {
		name string
		p    RetentionPolicy
		f    RetentionFacts
		want string // "" when the clock has not started
	}{
		{"open relationship", pboc, RetentionFacts{}, ""},
		{"5 years after the end", pboc, RetentionFacts{RelationshipEnd: day("2020-03-01")}, "2025-03-01"},
		{"10 years under AML 2024", DefaultRetentionPolicy(), RetentionFacts{RelationshipEnd: day("2020-03-01")}, "2030-03-01"},
		{"a later transaction keeps the customer", pboc, RetentionFacts{RelationshipEnd: day("2020-03-01"), LastTransaction: day("2021-06-30")}, "2026-06-30"},
		{"document expiry counts only when later", docLater, RetentionFacts{RelationshipEnd: day("2020-03-01"), DocumentExpiry: day("2019-01-01")}, "2025-03-01"},
		{"a later document expiry lengthens", docLater, RetentionFacts{RelationshipEnd: day("2020-03-01"), DocumentExpiry: day("2023-01-01")}, "2028-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.p.DestroyableAt(tc.f)
			if tc.want == "" {
				if ok {
					t.Fatalf("clock started: %v", got)
				}
				return
			}
			if !ok || got.Format(time.DateOnly) != tc.want {
				t.Fatalf("destroyable at %v (%v), want %s", got, ok, tc.want)
			}
		})
	}
}

func TestRestrictedCustomerDecisions_RF1(t *testing.T) {
	gm := Actor{Kind: ActorUser, UserID: 1, Role: RoleGeneralManager, OrgPath: "/1/"}
	comp := Actor{Kind: ActorUser, UserID: 2, Role: RoleCompliance, OrgPath: "/1/"}
	closed := CustomerACL{OrgPath: "/1/5/", OwnerID: 9, Sensitivity: Normal, Restricted: true}
	open := closed
	open.Restricted = false
	for _, tc := range []struct {
		name    string
		a       Actor
		act     Action
		t       CustomerACL
		allowed bool
		reason  string
	}{
		{"service read of an open customer", gm.WithPurpose("service"), ActCustomerRead, open, true, ReasonUnit},
		{"service read of a closed customer", gm.WithPurpose("service"), ActCustomerRead, closed, false, DenyRestricted},
		{"legal read of a closed customer", gm.WithPurpose("legal"), ActCustomerRead, closed, true, ReasonUnit},
		{"audit read of a closed customer", comp.WithPurpose("audit"), ActCustomerRead, closed, true, ReasonUnit},
		{"storage search of a closed customer", comp.WithPurpose("storage"), ActCustomerSearch, closed, true, ReasonUnit},
		{"risk transaction read of a closed customer", comp.WithPurpose("risk"), ActTxnRead, closed, false, DenyRestricted},
		{"update of a closed customer, even for legal", gm.WithPurpose("legal"), ActCustomerUpdate, closed, false, DenyRestricted},
		{"business on a closed customer", gm.WithPurpose("legal"), ActCustomerBusiness, closed, false, DenyRestricted},
		{"transaction recorded for a closed customer", gm.WithPurpose("legal"), ActTxnRecord, closed, false, DenyRestricted},
		{"system job recording a transaction", SystemActor("import"), ActTxnRecord, closed, false, DenyRestricted},
		{"a grant does not lift the restriction", Actor{Kind: ActorUser, UserID: 3, Role: RoleAccountManager, Purpose: "service"}, ActCustomerRead,
			CustomerACL{Restricted: true, Granted: []Action{ActCustomerRead}}, false, DenyRestricted},
		{"the customer still reads their own record", Actor{Kind: ActorCustomer, CustomerID: "c1"}, ActCustomerRead, CustomerACL{CustomerID: "c1", Restricted: true}, true, ReasonSelf},
		{"but files no request on it", Actor{Kind: ActorCustomer, CustomerID: "c1"}, ActRequestFile, CustomerACL{CustomerID: "c1", Restricted: true}, false, DenyRestricted},
		{"restriction does not widen scope", Actor{Kind: ActorUser, UserID: 3, Role: RoleAccountManager, Purpose: "legal"}, ActCustomerRead, closed, false, DenyScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.a, tc.act, tc.t)
			if d.Allowed != tc.allowed || d.Reason != tc.reason {
				t.Fatalf("Decide = %+v, want allowed=%v reason=%s", d, tc.allowed, tc.reason)
			}
		})
	}
	if s := SearchScope(gm.WithPurpose("service"), ActCustomerSearch); !s.HideRestricted {
		t.Error("a service search must leave closed customers out")
	}
	if s := SearchScope(gm.WithPurpose("legal"), ActCustomerSearch); s.HideRestricted {
		t.Error("a legal search must find closed customers")
	}
}

func TestDestructionNeedsWitnessOtherThanExecutor_RF3(t *testing.T) {
	exec := Actor{Kind: ActorUser, UserID: 7, Role: RoleCompliance}
	for _, tc := range []struct {
		name string
		b    DestructionBatch
		want error
	}{
		{"pending", DestructionBatch{State: BatchPending, WitnessID: 8}, ErrBatchNotApproved},
		{"no witness", DestructionBatch{State: BatchApproved}, ErrNoWitness},
		{"executor is the witness", DestructionBatch{State: BatchApproved, WitnessID: 7}, ErrWitnessIsActor},
		{"ready", DestructionBatch{State: BatchApproved, WitnessID: 8}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.b.MayExecute(exec); err != tc.want {
				t.Fatalf("MayExecute = %v, want %v", err, tc.want)
			}
		})
	}
}
