package custos

import (
	"errors"
	"testing"
	"time"
)

func validAgreement() Agreement {
	return Agreement{Party: "北京某律师事务所", Reference: "NDA-2026-017", Scope: []ExportKind{ExportInvestigation, ExportTransactions},
		ValidFrom: "2026-01-01", ValidTo: "2026-12-31", SignedBy: "王律师；合规部李经理"}
}

func fieldCodes(err error) map[string]string {
	out := map[string]string{}
	var e *Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			out[f.Field] = f.Code
		}
	}
	return out
}

func TestAgreementValidate_RC7(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(a *Agreement)
		field string // "" = valid
		code  string
	}{
		{"valid", func(a *Agreement) {}, "", ""},
		{"no party", func(a *Agreement) { a.Party = "  " }, "party", CodeRequired},
		{"no reference", func(a *Agreement) { a.Reference = "" }, "reference", CodeRequired},
		{"no signatories", func(a *Agreement) { a.SignedBy = "" }, "signed_by", CodeRequired},
		{"long party", func(a *Agreement) { a.Party = string(make([]rune, 201)) }, "party", CodeTooLong},
		{"empty scope", func(a *Agreement) { a.Scope = nil }, "scope", CodeRequired},
		{"unknown kind", func(a *Agreement) { a.Scope = []ExportKind{"everything"} }, "scope[0]", CodeNotAllowed},
		{"repeated kind", func(a *Agreement) { a.Scope = []ExportKind{ExportCustomers, ExportCustomers} }, "scope[1]", CodeDuplicate},
		{"bad from", func(a *Agreement) { a.ValidFrom = "2026-02-30" }, "valid_from", CodeInvalidDate},
		{"missing to", func(a *Agreement) { a.ValidTo = "" }, "valid_to", CodeInvalidDate},
		{"ends before start", func(a *Agreement) { a.ValidTo = "2025-12-31" }, "valid_to", CodeOutOfRange},
		{"one day", func(a *Agreement) { a.ValidTo = a.ValidFrom }, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := validAgreement()
			tc.edit(&a)
			a.Normalize()
			err := a.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid agreement refused: %v", err)
				}
				return
			}
			if ErrorCodeOf(err) != EInvalid || fieldCodes(err)[tc.field] != tc.code {
				t.Fatalf("got %v (%v), want %s=%s", err, fieldCodes(err), tc.field, tc.code)
			}
		})
	}
}

// TestAgreementPermits_RC7 is the rule: an external export needs an
// agreement valid today whose scope covers the kind.
func TestAgreementPermits_RC7(t *testing.T) {
	revokedAt := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		revoked bool
		kind    ExportKind
		day     string
		want    error
	}{
		{"in force, covered", false, ExportInvestigation, "2026-06-15", nil},
		{"first day", false, ExportTransactions, "2026-01-01", nil},
		{"last day", false, ExportTransactions, "2026-12-31", nil},
		{"before", false, ExportTransactions, "2025-12-31", ErrAgreementNotYet},
		{"after", false, ExportTransactions, "2027-01-01", ErrAgreementExpired},
		{"kind not covered", false, ExportCustomers, "2026-06-15", ErrAgreementScope},
		{"revoked", true, ExportInvestigation, "2026-06-15", ErrAgreementRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := validAgreement()
			if tc.revoked {
				a.RevokedAt = &revokedAt
			}
			if err := a.Permits(tc.kind, tc.day); err != tc.want {
				t.Fatalf("Permits(%s, %s) = %v, want %v", tc.kind, tc.day, err, tc.want)
			}
			if got := a.ActiveOn(tc.day); got != (!tc.revoked && tc.want != ErrAgreementNotYet && tc.want != ErrAgreementExpired) {
				t.Fatalf("ActiveOn(%s) = %v", tc.day, got)
			}
		})
	}
	var none *Agreement
	if err := none.Permits(ExportCustomers, "2026-06-15"); err != ErrAgreementRequired {
		t.Fatalf("no agreement: %v", err)
	}
}

func TestAgreementDayIsChinaTime_RC7(t *testing.T) {
	// 2026-12-31 17:00 UTC is already 2027-01-01 in Beijing.
	if d := AgreementDay(time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC)); d != "2027-01-01" {
		t.Fatalf("day %s", d)
	}
}

func TestAgreementRevoke_RC7(t *testing.T) {
	a := validAgreement()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := a.Revoke(7, " ", now); fieldCodes(err)["reason"] != CodeRequired {
		t.Fatalf("revoke without reason: %v", err)
	}
	if err := a.Revoke(7, "合作终止", now); err != nil || a.RevokedAt == nil || a.RevokedBy != 7 {
		t.Fatalf("revoke: %v %+v", err, a)
	}
	if err := a.Revoke(7, "again", now); err != ErrAgreementRevoked {
		t.Fatalf("second revoke: %v", err)
	}
}

func TestExportSpecValidate_RC8(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  ExportSpec
		field string
		code  string
	}{
		{"internal customers", ExportSpec{Kind: ExportCustomers, Reason: "年度复核"}, "", ""},
		{"default recipient is internal", ExportSpec{Kind: ExportTransactions, Reason: "对账", From: "2026-01-01", To: "2026-01-31"}, "", ""},
		{"external needs agreement", ExportSpec{Kind: ExportTransactions, Recipient: RecipientExternal, Reason: "协查"}, "agreement_id", CodeRequired},
		{"external with agreement", ExportSpec{Kind: ExportTransactions, Recipient: RecipientExternal, AgreementID: 3, Reason: "协查"}, "", ""},
		{"internal names no agreement", ExportSpec{Kind: ExportCustomers, AgreementID: 3, Reason: "x"}, "agreement_id", CodeNotAllowed},
		{"unknown kind", ExportSpec{Kind: "all", Reason: "x"}, "kind", CodeNotAllowed},
		{"unknown recipient", ExportSpec{Kind: ExportCustomers, Recipient: "press", Reason: "x"}, "recipient", CodeNotAllowed},
		{"investigation needs customer", ExportSpec{Kind: ExportInvestigation, Reason: "可疑交易调查"}, "archive_no", CodeRequired},
		{"customer list names no customer", ExportSpec{Kind: ExportCustomers, ArchiveNo: "BJ-1", Reason: "x"}, "archive_no", CodeNotAllowed},
		{"dates only for transactions", ExportSpec{Kind: ExportCustomers, From: "2026-01-01", Reason: "x"}, "from", CodeNotAllowed},
		{"bad date", ExportSpec{Kind: ExportTransactions, To: "2026-13-01", Reason: "x"}, "to", CodeInvalidDate},
		{"reversed dates", ExportSpec{Kind: ExportTransactions, From: "2026-02-01", To: "2026-01-01", Reason: "x"}, "to", CodeOutOfRange},
		{"no reason", ExportSpec{Kind: ExportCustomers, Reason: "  "}, "reason", CodeRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			err := s.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid spec refused: %v", err)
				}
				if s.Recipient == "" {
					t.Fatal("recipient not defaulted")
				}
				return
			}
			if fieldCodes(err)[tc.field] != tc.code {
				t.Fatalf("got %v, want %s=%s", fieldCodes(err), tc.field, tc.code)
			}
		})
	}
}

func TestExportGenerateAndDownloadRules_RC8(t *testing.T) {
	owner := Actor{Kind: ActorUser, UserID: 5, Role: RoleCompliance}
	other := Actor{Kind: ActorUser, UserID: 6, Role: RoleCompliance}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	for _, tc := range []struct {
		name          string
		e             Export
		actor         Actor
		generate, get error
	}{
		{"awaiting approval", Export{State: ExportAwaitingApproval, RequestedBy: 5}, owner, ErrExportNotApproved, ErrExportNotApproved},
		{"refused", Export{State: ExportRefused, RequestedBy: 5}, owner, ErrExportNotApproved, ErrExportNotApproved},
		{"approved", Export{State: ExportApproved, RequestedBy: 5}, owner, nil, ErrExportNotApproved},
		{"approved, someone else", Export{State: ExportApproved, RequestedBy: 5}, other, ErrExportNotYours, ErrExportNotYours},
		{"ready", Export{State: ExportReady, RequestedBy: 5, FileExpiresAt: &later}, owner, ErrExportGenerated, nil},
		{"ready, past keeping", Export{State: ExportReady, RequestedBy: 5, FileExpiresAt: &earlier}, owner, ErrExportGenerated, ErrExportGone},
		{"purged", Export{State: ExportPurged, RequestedBy: 5}, owner, ErrExportGenerated, ErrExportGone},
		{"system actor", Export{State: ExportApproved, RequestedBy: 0}, SystemActor("x"), ErrExportNotYours, ErrExportNotYours},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.e.MayGenerate(tc.actor); err != tc.generate {
				t.Errorf("MayGenerate = %v, want %v", err, tc.generate)
			}
			if err := tc.e.MayDownload(tc.actor, now); err != tc.get {
				t.Errorf("MayDownload = %v, want %v", err, tc.get)
			}
		})
	}
}
