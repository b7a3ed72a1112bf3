package custos

import "slices"

// The filters of listings and searches check their own values: a value
// outside its vocabulary or range is a field error (EInvalid, HTTP 422),
// never silently ignored — a search that quietly drops a misspelt status
// answers a question nobody asked — and page numbers are bounded so that an
// offset cannot overflow. Each door parses its own syntax (query strings,
// forms, flags) into a filter; the services call Validate, so every door
// gets the same rule.

// Paging bounds of the catalogue listing.
const (
	MaxPage         = 100000 // pages of the customer listing (offsets stay far from overflow)
	MaxPageSize     = 200
	MaxRequestLimit = 1000
	MaxAuditLimit   = 10000
)

// Vocabularies of the filters, for validation and for the forms.
var (
	CustomerTypes   = []CustomerType{TypePerson, TypeInstitution}
	ArchiveStatuses = []ArchiveStatus{StatusDraft, StatusEffective, StatusClosed}
	Sensitivities   = []Sensitivity{Normal, Protected}
	Verifications   = []Verification{Unverified, Verified, VerificationFailed}
	RequestStates   = []RequestState{RequestPending, RequestApproved, RequestApplied, RequestRejected, RequestCancelled, RequestExpired}
	Outcomes        = []Outcome{OutcomeOK, OutcomeDenied, OutcomeFailed}
)

func oneOf[T comparable](v *Validation, field string, val, zero T, allowed []T) {
	if val != zero && !slices.Contains(allowed, val) {
		v.Addf(field, CodeNotAllowed)
	}
}

func within(v *Validation, field string, n, lo, hi int64) {
	if n < lo || n > hi {
		v.Addf(field, CodeOutOfRange)
	}
}

// Validate checks the filter's codes and paging (codes: EInvalid).
// Category and classification terms are reference data, checked by the
// service.
func (f CustomerFilter) Validate() error {
	var v Validation
	oneOf(&v, "type", f.Type, "", CustomerTypes)
	oneOf(&v, "status", f.Status, "", ArchiveStatuses)
	oneOf(&v, "sensitivity", f.Sensitivity, "", Sensitivities)
	oneOf(&v, "verification", f.Verification, "", Verifications)
	oneOf(&v, "sort", f.Sort, "", SortKeys)
	within(&v, "org_id", f.OrgID, 0, 1<<62)
	within(&v, "owner_id", f.OwnerID, 0, 1<<62)
	within(&v, "page", int64(f.Page), 0, MaxPage)
	within(&v, "page_size", int64(f.PageSize), 0, MaxPageSize)
	return v.Err()
}

// Validate checks the filter's kind, state and limit (codes: EInvalid).
func (f RequestFilter) Validate() error {
	var v Validation
	oneOf(&v, "kind", f.Kind, "", RequestKinds)
	oneOf(&v, "state", f.State, "", RequestStates)
	within(&v, "limit", int64(f.Limit), 0, MaxRequestLimit)
	return v.Err()
}

// Validate checks the filter's outcome, ids, time range and limit (codes:
// EInvalid).
func (f AuditFilter) Validate() error {
	var v Validation
	oneOf(&v, "outcome", f.Outcome, "", Outcomes)
	within(&v, "actor_id", f.ActorID, 0, 1<<62)
	within(&v, "before_seq", f.AfterSeq, 0, 1<<62)
	within(&v, "limit", int64(f.Limit), 0, MaxAuditLimit)
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		v.Add("to", CodeOutOfRange, Message{ZH: "结束时间早于开始时间", EN: "ends before it starts"})
	}
	return v.Err()
}

// Validate checks the filter's role and unit (codes: EInvalid).
func (f UserFilter) Validate() error {
	var v Validation
	if f.Role != "" && !f.Role.Valid() {
		v.Addf("role", CodeNotAllowed)
	}
	within(&v, "org_id", f.OrgID, 0, 1<<62)
	return v.Err()
}
