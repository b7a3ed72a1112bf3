package custos

import (
	"testing"
	"time"
)

// TestFilterValidate_RD4: each filter refuses a value outside its
// vocabulary or range, naming the field, and accepts the zero filter and
// values at the bounds.
func TestFilterValidate_RD4(t *testing.T) {
	day := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		err   error
		field string // "" for no error
	}{
		{"customers zero", CustomerFilter{}.Validate(), ""},
		{"customers at bounds", CustomerFilter{Type: TypePerson, Status: StatusClosed, Sensitivity: Protected, Verification: VerificationFailed,
			Sort: "-updated_at", Page: MaxPage, PageSize: MaxPageSize}.Validate(), ""},
		{"customer type", CustomerFilter{Type: "robot"}.Validate(), "type"},
		{"customer status", CustomerFilter{Status: "bogus"}.Validate(), "status"},
		{"customer sensitivity", CustomerFilter{Sensitivity: "secret"}.Validate(), "sensitivity"},
		{"customer verification", CustomerFilter{Verification: "maybe"}.Validate(), "verification"},
		{"customer sort", CustomerFilter{Sort: "name"}.Validate(), "sort"},
		{"page past the bound", CustomerFilter{Page: MaxPage + 1}.Validate(), "page"},
		{"negative page", CustomerFilter{Page: -1}.Validate(), "page"},
		{"page size", CustomerFilter{PageSize: MaxPageSize + 1}.Validate(), "page_size"},
		{"negative org", CustomerFilter{OrgID: -1}.Validate(), "org_id"},
		{"requests zero", RequestFilter{}.Validate(), ""},
		{"requests at bounds", RequestFilter{Kind: KindDestruction, State: RequestExpired, Limit: MaxRequestLimit}.Validate(), ""},
		{"request kind", RequestFilter{Kind: "bogus"}.Validate(), "kind"},
		{"request state", RequestFilter{State: "bogus"}.Validate(), "state"},
		{"request limit", RequestFilter{Limit: MaxRequestLimit + 1}.Validate(), "limit"},
		{"audit zero", AuditFilter{}.Validate(), ""},
		{"audit at bounds", AuditFilter{Outcome: OutcomeFailed, Limit: MaxAuditLimit, From: day, To: day}.Validate(), ""},
		{"audit outcome", AuditFilter{Outcome: "bogus"}.Validate(), "outcome"},
		{"audit limit", AuditFilter{Limit: -1}.Validate(), "limit"},
		{"audit seq", AuditFilter{AfterSeq: -1}.Validate(), "before_seq"},
		{"audit range", AuditFilter{From: day, To: day.Add(-time.Hour)}.Validate(), "to"},
		{"users zero", UserFilter{}.Validate(), ""},
		{"user role", UserFilter{Role: "king"}.Validate(), "role"},
	} {
		if c.field == "" {
			if c.err != nil {
				t.Errorf("%s: %v", c.name, c.err)
			}
			continue
		}
		var e *Error
		if c.err == nil || ErrorCodeOf(c.err) != EInvalid {
			t.Errorf("%s: %v, want invalid", c.name, c.err)
			continue
		}
		e = c.err.(*Error)
		if len(e.Fields) != 1 || e.Fields[0].Field != c.field || e.Fields[0].Message.ZH == "" || e.Fields[0].Message.EN == "" {
			t.Errorf("%s: fields %+v, want one on %s", c.name, e.Fields, c.field)
		}
	}
}
