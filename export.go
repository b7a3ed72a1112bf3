package custos

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Encrypted exports and the confidentiality-agreement registry (R-C7, R-C8,
// R-E5). Data leaves Custos only as an encrypted archive whose password
// travels separately; data for an outside party also needs a signed
// confidentiality agreement with that party, valid on the day and covering
// the kind of data, and a second person's approval.

// ExportKind is what an export holds.
type ExportKind string

// Export kinds.
const (
	ExportCustomers     ExportKind = "customers"     // a list of customers, masked unless revealed
	ExportTransactions  ExportKind = "transactions"  // transaction records
	ExportInvestigation ExportKind = "investigation" // one customer's profile, documents, transactions and audit trail (R-E5)
)

// ExportKinds lists the kinds in display order.
var ExportKinds = []ExportKind{ExportCustomers, ExportTransactions, ExportInvestigation}

// Valid reports whether k is a known kind.
func (k ExportKind) Valid() bool { return slices.Contains(ExportKinds, k) }

// ExportRecipient says who the data is for.
type ExportRecipient string

// Export recipients.
const (
	RecipientInternal ExportRecipient = "internal" // staff of the bank itself
	RecipientExternal ExportRecipient = "external" // an outside party under a confidentiality agreement (R-C7)
)

// ExportState is where an export stands. An internal export is generated at
// once; an external one waits for approval, then its requester generates it.
// The file is kept for download for a limited time, then purged.
type ExportState string

// Export states: awaiting_approval → approved → ready → purged, or
// awaiting_approval → refused (the request was rejected, cancelled or expired).
const (
	ExportAwaitingApproval ExportState = "awaiting_approval"
	ExportApproved         ExportState = "approved"
	ExportReady            ExportState = "ready"
	ExportPurged           ExportState = "purged"
	ExportRefused          ExportState = "refused"
)

// Agreement is a signed confidentiality agreement with an outside party
// (R-C7): who, what kinds of data it covers, and from when to when.
// Party, reference and signatories are business data of the counterparty,
// not customer data.
type Agreement struct {
	ID           int64        `json:"id"`
	Party        string       `json:"party"`     // the outside party, e.g. a law firm or a regulator's office
	Reference    string       `json:"reference"` // the agreement's number in the contract register
	Scope        []ExportKind `json:"scope"`     // the kinds of data it allows
	ValidFrom    string       `json:"valid_from"`
	ValidTo      string       `json:"valid_to"`
	SignedBy     string       `json:"signed_by"` // the signatories of both sides, as written on the agreement
	CreatedBy    int64        `json:"created_by"`
	CreatedAt    time.Time    `json:"created_at"`
	RevokedAt    *time.Time   `json:"revoked_at,omitempty"`
	RevokedBy    int64        `json:"revoked_by,omitempty"`
	RevokeReason string       `json:"revoke_reason,omitempty"`
}

// Normalize trims the agreement's text fields and orders its scope.
func (a *Agreement) Normalize() {
	a.Party = strings.TrimSpace(a.Party)
	a.Reference = strings.TrimSpace(a.Reference)
	a.SignedBy = strings.TrimSpace(a.SignedBy)
	a.ValidFrom = strings.TrimSpace(a.ValidFrom)
	a.ValidTo = strings.TrimSpace(a.ValidTo)
	slices.SortFunc(a.Scope, func(x, y ExportKind) int {
		return slices.Index(ExportKinds, x) - slices.Index(ExportKinds, y)
	})
}

// Validate checks a new agreement: party, reference and signatories named,
// a scope of known kinds without repeats, and a validity period of real
// dates that does not end before it starts.
func (a *Agreement) Validate() error {
	var v Validation
	text := func(field, s string, max int) {
		switch {
		case s == "":
			v.Addf(field, CodeRequired)
		case len([]rune(s)) > max:
			v.Addf(field, CodeTooLong)
		}
	}
	text("party", a.Party, 200)
	text("reference", a.Reference, 100)
	text("signed_by", a.SignedBy, 200)
	if len(a.Scope) == 0 {
		v.Addf("scope", CodeRequired)
	}
	for i, k := range a.Scope {
		switch {
		case !k.Valid():
			v.Addf(fieldIndex("scope", i), CodeNotAllowed)
		case slices.Index(a.Scope, k) != i:
			v.Addf(fieldIndex("scope", i), CodeDuplicate)
		}
	}
	from, okFrom := agreementDate(a.ValidFrom)
	to, okTo := agreementDate(a.ValidTo)
	if !okFrom {
		v.Addf("valid_from", CodeInvalidDate)
	}
	if !okTo {
		v.Addf("valid_to", CodeInvalidDate)
	}
	if okFrom && okTo && to.Before(from) {
		v.Addf("valid_to", CodeOutOfRange)
	}
	return v.Err()
}

func fieldIndex(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

func agreementDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil && s != ""
}

// AgreementDay is the calendar day in China that an agreement's validity is
// judged on.
func AgreementDay(t time.Time) string { return t.In(TxnZone).Format(time.DateOnly) }

// Agreement refusals, with stable codes.
var (
	ErrAgreementRevoked  = &Error{Code: EConflict, Message: Message{ZH: "保密协议已撤销", EN: "the confidentiality agreement has been revoked"}}
	ErrAgreementNotYet   = &Error{Code: EConflict, Message: Message{ZH: "保密协议尚未生效", EN: "the confidentiality agreement is not in force yet"}}
	ErrAgreementExpired  = &Error{Code: EConflict, Message: Message{ZH: "保密协议已过期", EN: "the confidentiality agreement has expired"}}
	ErrAgreementScope    = &Error{Code: EConflict, Message: Message{ZH: "保密协议的范围不包括此类数据", EN: "the confidentiality agreement does not cover this kind of data"}}
	ErrAgreementRequired = &Error{Code: EConflict, Message: Message{ZH: "向外部提供数据须有已签署且有效的保密协议", EN: "data for an outside party needs a signed confidentiality agreement in force"}}
)

// ActiveOn reports whether the agreement is in force on day (YYYY-MM-DD).
func (a *Agreement) ActiveOn(day string) bool {
	return a.RevokedAt == nil && a.ValidFrom <= day && day <= a.ValidTo
}

// Permits is the rule of R-C7: an export of kind to the agreement's party
// needs the agreement in force on day and covering the kind.
func (a *Agreement) Permits(kind ExportKind, day string) error {
	switch {
	case a == nil:
		return ErrAgreementRequired
	case a.RevokedAt != nil:
		return ErrAgreementRevoked
	case day < a.ValidFrom:
		return ErrAgreementNotYet
	case day > a.ValidTo:
		return ErrAgreementExpired
	case !slices.Contains(a.Scope, kind):
		return ErrAgreementScope
	}
	return nil
}

// Revoke ends an agreement early; nothing more may be sent under it.
func (a *Agreement) Revoke(by int64, reason string, now time.Time) error {
	if a.RevokedAt != nil {
		return ErrAgreementRevoked
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		var v Validation
		v.Addf("reason", CodeRequired)
		return v.Err()
	}
	a.RevokedAt, a.RevokedBy, a.RevokeReason = &now, by, reason
	return nil
}

// ExportSpec is what someone asks to export.
type ExportSpec struct {
	Kind        ExportKind      `json:"kind"`
	Recipient   ExportRecipient `json:"recipient"`
	AgreementID int64           `json:"agreement_id,omitempty"` // external exports: the agreement with the party
	ArchiveNo   string          `json:"archive_no,omitempty"`   // investigation (required) and transactions (optional): the customer
	From        string          `json:"from,omitempty"`         // transactions: first day (YYYY-MM-DD), optional
	To          string          `json:"to,omitempty"`           // transactions: last day, optional
	Reveal      bool            `json:"reveal,omitempty"`       // identity data in full where the exporter may reveal it
	Reason      string          `json:"reason"`
}

// Validate checks the shape of a spec; whether the agreement permits it is
// Agreement.Permits, whether the exporter may is the services' decision.
func (s *ExportSpec) Validate() error {
	var v Validation
	s.ArchiveNo, s.Reason = strings.TrimSpace(s.ArchiveNo), strings.TrimSpace(s.Reason)
	if s.Recipient == "" {
		s.Recipient = RecipientInternal
	}
	if !s.Kind.Valid() {
		v.Addf("kind", CodeNotAllowed)
	}
	switch s.Recipient {
	case RecipientInternal:
		if s.AgreementID != 0 {
			v.Addf("agreement_id", CodeNotAllowed)
		}
	case RecipientExternal:
		if s.AgreementID <= 0 {
			v.Add("agreement_id", CodeRequired, Message{ZH: "向外部提供数据须指定保密协议", EN: "an export to an outside party names its confidentiality agreement"})
		}
	default:
		v.Addf("recipient", CodeNotAllowed)
	}
	if s.Kind == ExportInvestigation && s.ArchiveNo == "" {
		v.Addf("archive_no", CodeRequired)
	}
	if s.Kind == ExportCustomers && s.ArchiveNo != "" {
		v.Addf("archive_no", CodeNotAllowed)
	}
	if s.Kind != ExportTransactions && (s.From != "" || s.To != "") {
		v.Addf("from", CodeNotAllowed)
	}
	var from, to time.Time
	okFrom, okTo := true, true
	if s.From != "" {
		from, okFrom = agreementDate(s.From)
		if !okFrom {
			v.Addf("from", CodeInvalidDate)
		}
	}
	if s.To != "" {
		to, okTo = agreementDate(s.To)
		if !okTo {
			v.Addf("to", CodeInvalidDate)
		}
	}
	if s.From != "" && s.To != "" && okFrom && okTo && to.Before(from) {
		v.Addf("to", CodeOutOfRange)
	}
	switch {
	case s.Reason == "":
		v.Addf("reason", CodeRequired)
	case len([]rune(s.Reason)) > 500:
		v.Addf("reason", CodeTooLong)
	}
	return v.Err()
}

// Export is one export: what was asked, by whom, under which agreement,
// and, once generated, the encrypted file's digest and row counts. The
// password is never part of it.
type Export struct {
	ID            int64           `json:"id"`
	Kind          ExportKind      `json:"kind"`
	Recipient     ExportRecipient `json:"recipient"`
	AgreementID   int64           `json:"agreement_id,omitempty"`
	Party         string          `json:"party,omitempty"`
	CustomerID    string          `json:"-"`
	ArchiveNo     string          `json:"archive_no,omitempty"`
	From          string          `json:"from,omitempty"`
	To            string          `json:"to,omitempty"`
	Reveal        bool            `json:"reveal"`
	Reason        string          `json:"reason"`
	State         ExportState     `json:"state"`
	RequestID     int64           `json:"request_id,omitempty"`
	RequestedBy   int64           `json:"requested_by"`
	RequestedAt   time.Time       `json:"requested_at"`
	GeneratedAt   *time.Time      `json:"generated_at,omitempty"`
	SHA256        string          `json:"sha256,omitempty"`
	Size          int64           `json:"size,omitempty"`
	Rows          map[string]int  `json:"rows,omitempty"` // file name → rows (or files) in it
	FileExpiresAt *time.Time      `json:"file_expires_at,omitempty"`
	Downloads     int             `json:"downloads"`
}

// Export refusals.
var (
	ErrExportNotApproved = &Error{Code: EConflict, Message: Message{ZH: "导出尚未获批准", EN: "the export has not been approved"}}
	ErrExportGenerated   = &Error{Code: EConflict, Message: Message{ZH: "导出文件已生成，密码只显示一次；如需再次导出请重新申请", EN: "the export was already generated and its password shown once; file a new export to get another"}}
	ErrExportGone        = &Error{Code: EConflict, Message: Message{ZH: "导出文件已过保存期限并被删除", EN: "the export file has passed its keeping period and was deleted"}}
	ErrExportNotYours    = &Error{Code: EForbidden, Message: Message{ZH: "只有申请人可以生成或下载此导出", EN: "only the requester can generate or download this export"}}
)

// MayGenerate says whether actor may generate the export's file now: only
// its requester, only once, and for an external export only after approval.
func (e *Export) MayGenerate(a Actor) error {
	if a.Kind != ActorUser || a.UserID != e.RequestedBy {
		return ErrExportNotYours
	}
	switch e.State {
	case ExportApproved:
		return nil
	case ExportAwaitingApproval, ExportRefused:
		return ErrExportNotApproved
	}
	return ErrExportGenerated
}

// MayDownload says whether actor may fetch the encrypted file at now: its
// requester, while the file is kept.
func (e *Export) MayDownload(a Actor, now time.Time) error {
	if a.Kind != ActorUser || a.UserID != e.RequestedBy {
		return ErrExportNotYours
	}
	switch {
	case e.State == ExportPurged || (e.State == ExportReady && e.FileExpiresAt != nil && !now.Before(*e.FileExpiresAt)):
		return ErrExportGone
	case e.State != ExportReady:
		return ErrExportNotApproved
	}
	return nil
}
