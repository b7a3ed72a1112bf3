package custos

import (
	"slices"
	"strconv"
	"time"
)

// Retention, legal holds and destruction (R-F1–R-F4).
//
// A retention policy says, for each kind of record, which event starts its
// clock and for how many years it is kept. Two presets carry the minimums
// of the regulations; an organisation picks one and may lengthen any
// period or add a later clock start, but never keep anything for less than
// its preset. A customer whose relationship has ended is closed and then
// restricted (PIPL Art. 47) until its records are destroyed: only storage,
// legal and audit use may read it, nothing may change it. Records under a
// legal hold are never destroyed, whatever their age.

// RecordType is a kind of record with its own retention period.
type RecordType string

// Record types.
const (
	RecordIdentity    RecordType = "identity"    // identity data (KYC) of the customer
	RecordArchive     RecordType = "archive"     // the archive: versions, timeline, business and paper references
	RecordTransaction RecordType = "transaction" // transaction records
	RecordAttachment  RecordType = "attachment"  // scanned documents and other attachments
	RecordAudit       RecordType = "audit_event" // the audit trail (kept; it holds no personal data)
)

// RecordTypes lists the record types in display order.
var RecordTypes = []RecordType{RecordIdentity, RecordArchive, RecordTransaction, RecordAttachment, RecordAudit}

// ClockStart is the event from which a retention period runs.
type ClockStart string

// Clock starts.
const (
	ClockRelationshipEnd ClockStart = "relationship_end" // the business relationship ended (the customer was closed)
	ClockTransactionDate ClockStart = "transaction_date" // the transaction took place
	ClockDocumentExpiry  ClockStart = "document_expiry"  // the customer's latest identity document expired
	ClockEventDate       ClockStart = "event_date"       // the audit event was written
)

// allowedClocks are the clock starts that make sense for each record type.
var allowedClocks = map[RecordType][]ClockStart{
	RecordIdentity:    {ClockRelationshipEnd, ClockDocumentExpiry},
	RecordArchive:     {ClockRelationshipEnd},
	RecordTransaction: {ClockTransactionDate},
	RecordAttachment:  {ClockRelationshipEnd, ClockDocumentExpiry},
	RecordAudit:       {ClockEventDate},
}

// presetClock is the clock start of every preset for each record type; a
// policy's own clock start can only add a later one.
var presetClock = map[RecordType]ClockStart{
	RecordIdentity: ClockRelationshipEnd, RecordArchive: ClockRelationshipEnd, RecordTransaction: ClockTransactionDate,
	RecordAttachment: ClockRelationshipEnd, RecordAudit: ClockEventDate,
}

// RetentionRule is the retention of one record type.
type RetentionRule struct {
	Type  RecordType `json:"type"`
	Clock ClockStart `json:"clock"`
	Years int        `json:"years"`
}

// Retention presets.
const (
	PresetPBOC2007 = "pboc_2007" // PBOC 2007 Order No. 2: at least 5 years after the relationship ends or the transaction
	PresetAML2024  = "aml_2024"  // Anti-Money Laundering Law as revised in 2024: at least 10 years
)

// RetentionPolicy is an organisation's retention policy: the preset it is
// based on and one rule per record type.
type RetentionPolicy struct {
	Preset string          `json:"preset"`
	Rules  []RetentionRule `json:"rules"`
}

func presetRules(years int) []RetentionRule {
	out := make([]RetentionRule, len(RecordTypes))
	for i, t := range RecordTypes {
		out[i] = RetentionRule{Type: t, Clock: presetClock[t], Years: years}
	}
	return out
}

// RetentionPresets are the regulatory minimums, by preset name.
var RetentionPresets = map[string]RetentionPolicy{
	PresetPBOC2007: {Preset: PresetPBOC2007, Rules: presetRules(5)},
	PresetAML2024:  {Preset: PresetAML2024, Rules: presetRules(10)},
}

// DefaultRetentionPolicy is the policy of an installation that has chosen
// none: the stricter preset.
func DefaultRetentionPolicy() RetentionPolicy {
	p := RetentionPresets[PresetAML2024]
	p.Rules = slices.Clone(p.Rules)
	return p
}

// Rule returns the rule of a record type.
func (p RetentionPolicy) Rule(t RecordType) (RetentionRule, bool) {
	for _, r := range p.Rules {
		if r.Type == t {
			return r, true
		}
	}
	return RetentionRule{}, false
}

// Validate checks a policy against its preset: every record type has one
// rule, its clock start is one that fits the type, and its period is at
// least the preset's. A clock start other than the preset's adds a later
// start (the period runs from whichever event is later), so it can only
// lengthen retention.
func (p RetentionPolicy) Validate() error {
	var v Validation
	preset, ok := RetentionPresets[p.Preset]
	if !ok {
		v.Addf("preset", CodeNotAllowed)
		return v.Err()
	}
	seen := map[RecordType]bool{}
	for i, r := range p.Rules {
		f := "rules[" + strconv.Itoa(i) + "]"
		min, known := preset.Rule(r.Type)
		if !known {
			v.Addf(f+".type", CodeNotAllowed)
			continue
		}
		if seen[r.Type] {
			v.Addf(f+".type", CodeDuplicate)
		}
		seen[r.Type] = true
		if !slices.Contains(allowedClocks[r.Type], r.Clock) {
			v.Addf(f+".clock", CodeNotAllowed)
		}
		if r.Years < min.Years {
			v.Add(f+".years", CodeOutOfRange, Message{
				ZH: "保存期限不得短于所选法规的最低要求（" + strconv.Itoa(min.Years) + " 年）",
				EN: "the period may not be shorter than the chosen regulation's minimum (" + strconv.Itoa(min.Years) + " years)"})
		}
		if r.Years > 100 {
			v.Addf(f+".years", CodeOutOfRange)
		}
	}
	for _, t := range RecordTypes {
		if !seen[t] {
			v.Addf("rules."+string(t), CodeRequired)
		}
	}
	return v.Err()
}

// RetentionFacts are the dates the clock of a closed customer's records
// can start from.
type RetentionFacts struct {
	RelationshipEnd time.Time // zero: the relationship has not ended
	DocumentExpiry  time.Time // zero: unknown or long-term documents
	LastTransaction time.Time // zero: no transactions
}

// keepUntil is when records of one rule may go: the period counted from the
// later of the preset's clock event and the rule's own. ok is false while
// the clock has not started.
func (p RetentionPolicy) keepUntil(t RecordType, f RetentionFacts) (time.Time, bool) {
	r, ok := p.Rule(t)
	if !ok {
		return time.Time{}, false
	}
	start := func(c ClockStart) time.Time {
		switch c {
		case ClockRelationshipEnd:
			return f.RelationshipEnd
		case ClockDocumentExpiry:
			return f.DocumentExpiry
		case ClockTransactionDate:
			return f.LastTransaction
		}
		return time.Time{}
	}
	base := start(presetClock[t])
	if t == RecordTransaction && f.LastTransaction.IsZero() {
		return time.Time{}, true // nothing to keep
	}
	if base.IsZero() {
		return time.Time{}, false
	}
	if s := start(r.Clock); s.After(base) {
		base = s
	}
	return base.AddDate(r.Years, 0, 0), true
}

// DestroyableAt is when all of a closed customer's records — identity,
// archive, attachments and transactions, which share the customer's data
// key — have passed retention. ok is false while the relationship lasts.
// Audit events are not counted: they hold no personal data and are kept.
func (p RetentionPolicy) DestroyableAt(f RetentionFacts) (time.Time, bool) {
	if f.RelationshipEnd.IsZero() {
		return time.Time{}, false
	}
	var due time.Time
	for _, t := range []RecordType{RecordIdentity, RecordArchive, RecordAttachment, RecordTransaction} {
		u, ok := p.keepUntil(t, f)
		if !ok {
			return time.Time{}, false
		}
		if u.After(due) {
			due = u
		}
	}
	return due, true
}

// RestrictedPurposes are the only purposes for which a closed customer may
// still be read (PIPL Art. 47: storage and the necessary protection
// measures, legal matters, audit).
var RestrictedPurposes = []string{"storage", "legal", "audit"}

// restrictedReads are the actions that only read a customer's records.
var restrictedReads = []Action{ActCustomerRead, ActCustomerSearch, ActCustomerReveal, ActCustomerPrint, ActCustomerExport, ActTxnRead, ActTxnProtected}

// DenyRestricted is the decision reason for a closed customer used for
// anything but storage, legal or audit.
const DenyRestricted = "restricted"

// restrictedAllows reports whether an action on a restricted customer is
// one of the uses that remain. The customer keeps the right to see their
// own data (PIPL Art. 45) in the self-service portal.
func restrictedAllows(a Actor, act Action) bool {
	if !slices.Contains(restrictedReads, act) {
		return false
	}
	return a.Kind == ActorCustomer || slices.Contains(RestrictedPurposes, a.Purpose)
}

// HoldScope says what a legal hold covers.
type HoldScope string

// Hold scopes.
const (
	HoldCustomer     HoldScope = "customer"     // the whole customer: archive, attachments, transactions
	HoldTransactions HoldScope = "transactions" // the customer's transactions (optionally a date range)
)

// LegalHold keeps records of a customer while litigation or an
// investigation is open (R-F2). It ends only through an approved
// KindHoldRelease request.
type LegalHold struct {
	ID             int64      `json:"id"`
	CustomerID     string     `json:"customer_id"`
	ArchiveNo      string     `json:"archive_no,omitempty"`
	Scope          HoldScope  `json:"scope"`
	TxnFrom        string     `json:"txn_from,omitempty"` // YYYY-MM-DD, transactions holds only
	TxnTo          string     `json:"txn_to,omitempty"`
	CaseRef        string     `json:"case_ref"`
	Reason         string     `json:"reason"`
	OwnerID        int64      `json:"owner_id"`
	PlacedBy       int64      `json:"placed_by"`
	PlacedAt       time.Time  `json:"placed_at"`
	ReleasedAt     *time.Time `json:"released_at,omitempty"`
	ReleaseRequest int64      `json:"release_request,omitempty"`
}

// Active reports whether the hold is in force.
func (h LegalHold) Active() bool { return h.ReleasedAt == nil }

// DestructionState is where a destruction batch stands.
type DestructionState string

// Destruction batch states: proposed (filed by the retention scan) →
// pending (a KindDestruction request is filed) → approved (two distinct
// approvers, never the requester) → executed; or cancelled when its
// request is rejected, cancelled or expires.
const (
	BatchProposed  DestructionState = "proposed"
	BatchPending   DestructionState = "pending"
	BatchApproved  DestructionState = "approved"
	BatchExecuted  DestructionState = "executed"
	BatchCancelled DestructionState = "cancelled"
)

// DestructionItem is one customer in a destruction batch: either the whole
// (closed) customer, or — TxnBefore set — only the transactions dated
// before TxnBefore of a customer whose relationship continues; the
// customer, its data key and its later transactions stay.
type DestructionItem struct {
	CustomerID string    `json:"customer_id"`
	ArchiveNo  string    `json:"archive_no"`
	DueAt      string    `json:"due_at"`              // YYYY-MM-DD
	State      string    `json:"state"`               // listed, destroyed, purged, skipped_hold, skipped_not_due
	TxnBefore  time.Time `json:"txn_before,omitzero"` // zero: the whole customer
}

// TransactionsOnly reports whether the item purges expired transactions
// only, rather than destroying the whole customer.
func (it DestructionItem) TransactionsOnly() bool { return !it.TxnBefore.IsZero() }

// Destruction item states.
const (
	ItemListed     = "listed"
	ItemDestroyed  = "destroyed"
	ItemPurged     = "purged" // expired transactions deleted, the customer kept
	ItemSkippedHld = "skipped_hold"
	ItemSkippedDue = "skipped_not_due"
)

// TransactionCutoff is the date before which transactions have passed
// retention at now: now less the policy's transaction period (its clock
// starts at the transaction date). Transactions of a customer whose
// relationship continues are due once older than this. ok is false when
// the policy has no transaction rule.
func (p RetentionPolicy) TransactionCutoff(now time.Time) (time.Time, bool) {
	r, ok := p.Rule(RecordTransaction)
	if !ok || r.Years <= 0 {
		return time.Time{}, false
	}
	return now.UTC().Truncate(time.Second).AddDate(-r.Years, 0, 0), true
}

// DestructionBatch is a set of due customers destroyed together under one
// approval, with a witness present (R-F3).
type DestructionBatch struct {
	ID          int64             `json:"id"`
	State       DestructionState  `json:"state"`
	Reason      string            `json:"reason,omitempty"`
	CreatedBy   int64             `json:"created_by"` // 0: the retention scan
	CreatedAt   time.Time         `json:"created_at"`
	RequestID   int64             `json:"request_id,omitempty"`
	WitnessID   int64             `json:"witness_id,omitempty"`
	WitnessedAt *time.Time        `json:"witnessed_at,omitempty"`
	ExecutedBy  int64             `json:"executed_by,omitempty"`
	ExecutedAt  *time.Time        `json:"executed_at,omitempty"`
	Counts      map[string]int64  `json:"counts,omitempty"`
	Items       []DestructionItem `json:"items,omitempty"`
}

// Destruction errors.
var (
	ErrBatchNotApproved  = Errorf(EConflict, "销毁批次尚未经两名审批人批准", "the destruction batch is not approved by two approvers yet")
	ErrNoWitness         = Errorf(EConflict, "销毁须有监销人在场，请先登记监销人", "destruction needs a witness present; record the witness first")
	ErrWitnessIsActor    = Errorf(EForbidden, "监销人不能是执行人本人", "the witness cannot be the person executing the destruction")
	ErrWitnessIsApprover = Errorf(EForbidden, "监销人不能是该批次的审批人", "the witness cannot be an approver of the batch")
)

// MayExecute checks the dual control of an execution: the batch is
// approved, a witness is recorded, and the executor is not the witness.
func (b *DestructionBatch) MayExecute(a Actor) error {
	if b.State != BatchApproved {
		return ErrBatchNotApproved
	}
	if b.WitnessID == 0 {
		return ErrNoWitness
	}
	if b.WitnessID == a.UserID {
		return ErrWitnessIsActor
	}
	return nil
}

// DefaultClosureBackdate is how many days back a relationship's end date
// may lie by default: closing with an old date would start the retention
// clock in the past and make the customer due for destruction at once.
const DefaultClosureBackdate = 7

// CheckRelationshipEnd checks the end date of a relationship being closed
// (R-F1), a China-time calendar day: not in the future, not more than
// maxBackDays before filed (the day the closure was asked for), and not
// before the customer's last business activity (its last transaction,
// business record or change), which proves the relationship still ran.
func CheckRelationshipEnd(end string, lastActivity, filed time.Time, maxBackDays int) error {
	if _, err := time.ParseInLocation(time.DateOnly, end, TxnZone); err != nil {
		return (&Validation{Fields: []FieldError{{Field: "relationship_end", Code: CodeInvalidDate, Message: StandardMessage(CodeInvalidDate)}}}).Err()
	}
	day := func(t time.Time) string { return t.In(TxnZone).Format(time.DateOnly) }
	today := day(filed)
	earliest := day(filed.In(TxnZone).AddDate(0, 0, -maxBackDays))
	var v Validation
	switch {
	case end > today:
		v.Add("relationship_end", CodeOutOfRange, Message{ZH: "终止日期不能晚于今天", EN: "the end date cannot be in the future"})
	case end < earliest:
		v.Add("relationship_end", CodeOutOfRange, Message{ZH: "终止日期最多只能追溯 " + itoa(maxBackDays) + " 天",
			EN: "the end date can lie at most " + itoa(maxBackDays) + " days back"})
	case !lastActivity.IsZero() && end < day(lastActivity):
		v.Add("relationship_end", CodeOutOfRange, Message{ZH: "终止日期不能早于客户最后一次业务活动（" + day(lastActivity) + "）",
			EN: "the end date cannot lie before the customer's last business activity (" + day(lastActivity) + ")"})
	}
	return v.Err()
}
