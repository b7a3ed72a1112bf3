package custos

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// VerificationMethod is how an inspector checked an identity (R-A6).
type VerificationMethod string

// Verification methods.
const (
	VerifyInPerson       VerificationMethod = "in_person"       // 临柜面签, original documents seen
	VerifyDocumentCheck  VerificationMethod = "document_check"  // copies and scans examined
	VerifyPublicSecurity VerificationMethod = "public_security" // 联网核查 against the public-security database
	VerifyVideo          VerificationMethod = "video"           // remote video verification
	VerifyThirdParty     VerificationMethod = "third_party"     // a trusted third party's confirmation
)

// VerificationMethods lists the methods.
var VerificationMethods = []VerificationMethod{VerifyInPerson, VerifyDocumentCheck, VerifyPublicSecurity, VerifyVideo, VerifyThirdParty}

// VerificationRecord is one identity verification by an inspector: who, how,
// with which evidence, with what result (R-A6, R-A10).
type VerificationRecord struct {
	ID          int64              `json:"id"`
	CustomerID  string             `json:"customer_id"`
	InspectorID int64              `json:"inspector_id"`
	Method      VerificationMethod `json:"method"`
	Passed      bool               `json:"passed"`
	NameMatches bool               `json:"name_matches"` // the name on the documents is the archive's (R-A5)
	EvidenceIDs []string           `json:"evidence_ids"` // attachments examined
	Note        string             `json:"note,omitempty"`
	At          time.Time          `json:"at"`
}

// BusinessKind is a kind of business relationship recorded for a customer.
type BusinessKind string

// Business kinds.
const (
	BusinessAccount  BusinessKind = "account"
	BusinessContract BusinessKind = "contract"
	BusinessLoan     BusinessKind = "loan"
)

// ValidBusinessKind reports whether k is known.
func ValidBusinessKind(k BusinessKind) bool {
	return k == BusinessAccount || k == BusinessContract || k == BusinessLoan
}

// BusinessRecord is an account, contract or loan of a customer. The
// reference (account or contract number) is C2 data, stored encrypted.
type BusinessRecord struct {
	ID         string       `json:"id"`
	CustomerID string       `json:"customer_id"`
	Kind       BusinessKind `json:"kind"`
	Reference  string       `json:"reference"`
	Product    string       `json:"product,omitempty"`
	OpenedOn   string       `json:"opened_on"`
	CreatedBy  int64        `json:"created_by"`
	CreatedAt  time.Time    `json:"created_at"`
}

// ErrNotEligible refuses business for a customer that is not effective and
// verified: no anonymous or pseudonymous customers (R-A5).
var ErrNotEligible = &Error{Code: EConflict, Message: Message{
	ZH: "客户档案尚未生效或身份未经核实，不得办理业务", EN: "the customer's archive is not effective or the identity is not verified: no business may be recorded"}}

// MayDoBusiness applies R-A5 to a customer.
func (c *Customer) MayDoBusiness() error {
	if c.Status != StatusEffective || c.Verification != Verified {
		return ErrNotEligible
	}
	return nil
}

// ArchiveVersion is one approved state of an archive (R-B1): who asked,
// who approved, when, why, which fields changed.
type ArchiveVersion struct {
	CustomerID  string    `json:"customer_id"`
	Version     int64     `json:"version"`
	RequestID   int64     `json:"request_id,omitempty"`
	RequestedBy int64     `json:"requested_by"`
	ApprovedBy  int64     `json:"approved_by,omitempty"`
	Reason      string    `json:"reason"`
	Fields      []string  `json:"fields"`
	CreatedAt   time.Time `json:"created_at"`
	// Snapshot is the archive as it stood in this version, when loaded.
	Snapshot *Customer `json:"-"`
}

// FieldChange is one field of a diff, values rendered for display.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// DiffInputs compares two input forms field by field (by JSON name), with
// nested structures rendered as text. Fields equal in both are left out.
func DiffInputs(old, new CustomerInput) []FieldChange {
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(new)
	t := ov.Type()
	var out []FieldChange
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "org" || name == "owner" || name == "-" {
			continue
		}
		o, n := render(ov.Field(i)), render(nv.Field(i))
		if o != n {
			out = append(out, FieldChange{Field: name, Old: o, New: n})
		}
	}
	return out
}

func render(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return render(v.Elem())
	case reflect.Slice:
		parts := make([]string, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			parts = append(parts, render(v.Index(i)))
		}
		return strings.Join(parts, "; ")
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+"="+FormatCustom(v.MapIndex(reflect.ValueOf(k)).Interface()))
		}
		return strings.Join(parts, ", ")
	case reflect.Struct:
		t := v.Type()
		var parts []string
		for i := 0; i < t.NumField(); i++ {
			if s := render(v.Field(i)); s != "" {
				name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
				parts = append(parts, name+": "+s)
			}
		}
		return strings.Join(parts, ", ")
	case reflect.Int, reflect.Int64:
		if v.Int() == 0 {
			return ""
		}
		return fmt.Sprint(v.Int())
	}
	return fmt.Sprint(v.Interface())
}

// LockType is how a secure location is locked (R-H1).
type LockType string

// Lock types.
const (
	LockKey         LockType = "key"
	LockCombination LockType = "combination"
	LockSafe        LockType = "safe"
	LockElectronic  LockType = "electronic"
)

// ValidLockType reports whether l is known.
func ValidLockType(l LockType) bool {
	return l == LockKey || l == LockCombination || l == LockSafe || l == LockElectronic
}

// SecureLocation is a registered place for paper files: a locked cabinet or
// safe with a named custodian (R-H1, R-H2).
type SecureLocation struct {
	ID          int64     `json:"id"`
	OrgID       int64     `json:"org_id"`
	Room        string    `json:"room"`
	Cabinet     string    `json:"cabinet"`
	Shelf       string    `json:"shelf,omitempty"`
	Box         string    `json:"box,omitempty"`
	LockType    LockType  `json:"lock_type"`
	CustodianID int64     `json:"custodian_id"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"created_at"`
}

// Label is the location written out.
func (l SecureLocation) Label() string {
	parts := []string{l.Room, l.Cabinet}
	if l.Shelf != "" {
		parts = append(parts, l.Shelf)
	}
	if l.Box != "" {
		parts = append(parts, l.Box)
	}
	return strings.Join(parts, " / ")
}

// PaperStatus is where a paper file is.
type PaperStatus string

// Paper file states.
const (
	PaperInPlace   PaperStatus = "in_place"
	PaperLent      PaperStatus = "lent"
	PaperDestroyed PaperStatus = "destroyed"
)

// PaperFile is a registered paper file of a customer (R-H1).
type PaperFile struct {
	ID           int64       `json:"id"`
	CustomerID   string      `json:"customer_id"`
	Title        string      `json:"title"`
	Contents     string      `json:"contents,omitempty"`
	LocationID   int64       `json:"location_id"`
	Status       PaperStatus `json:"status"`
	BorrowerID   int64       `json:"borrower_id,omitempty"`
	DueAt        *time.Time  `json:"due_at,omitempty"`
	RegisteredBy int64       `json:"registered_by"`
	RegisteredAt time.Time   `json:"registered_at"`
}

// Overdue reports whether a lent file is past its due date.
func (f PaperFile) Overdue(now time.Time) bool {
	return f.Status == PaperLent && f.DueAt != nil && now.After(*f.DueAt)
}

// MovementKind is a kind of paper file movement.
type MovementKind string

// Movement kinds.
const (
	MoveRegister MovementKind = "register"
	MoveLend     MovementKind = "lend"
	MoveReturn   MovementKind = "return"
	MoveTransfer MovementKind = "transfer"
)

// PaperMovement is one entry of a paper file's history.
type PaperMovement struct {
	ID         int64        `json:"id"`
	FileID     int64        `json:"file_id"`
	Kind       MovementKind `json:"kind"`
	FromID     int64        `json:"from_location_id,omitempty"`
	ToID       int64        `json:"to_location_id,omitempty"`
	BorrowerID int64        `json:"borrower_id,omitempty"`
	DueAt      *time.Time   `json:"due_at,omitempty"`
	RequestID  int64        `json:"request_id,omitempty"`
	Inspection string       `json:"inspection,omitempty"`
	By         int64        `json:"by"`
	At         time.Time    `json:"at"`
}

// HandoverState is where a staff handover stands (R-G1).
type HandoverState string

// Handover states.
const (
	HandoverOpen      HandoverState = "open"
	HandoverCompleted HandoverState = "completed"
	HandoverCancelled HandoverState = "cancelled"
)

// HandoverInventory is everything a leaver holds, as identifiers only.
type HandoverInventory struct {
	Customers          []string  `json:"customers"`
	Buildings          []string  `json:"buildings"`
	OpenRequests       []int64   `json:"open_requests"`
	ActiveGrants       []int64   `json:"active_grants"`
	BorrowedFiles      []int64   `json:"borrowed_files"`
	UnfiledAttachments []string  `json:"unfiled_attachments"`
	TakenAt            time.Time `json:"taken_at"`
}

// Handover is the handing over of a member of staff's customers and
// records when they leave or change post (R-G1).
type Handover struct {
	ID           int64             `json:"id"`
	LeaverID     int64             `json:"leaver_id"`
	SupervisorID int64             `json:"supervisor_id"`
	Successors   []int64           `json:"successors"`
	Reason       string            `json:"reason"`
	State        HandoverState     `json:"state"`
	Inventory    HandoverInventory `json:"inventory"`
	// Assignments gives each customer (by id) and building its successor.
	Assignments map[string]int64     `json:"assignments"`
	SignedBy    map[string]int64     `json:"signed_by"` // "leaver", "successor", "supervisor" → user
	SignedAt    map[string]time.Time `json:"signed_at"`
	CreatedBy   int64                `json:"created_by"`
	CreatedAt   time.Time            `json:"created_at"`
	CompletedAt *time.Time           `json:"completed_at,omitempty"`
}

// Handover sign-off parties.
const (
	SignLeaver     = "leaver"
	SignSuccessor  = "successor"
	SignSupervisor = "supervisor"
)

// SignParty says in which capacity a user signs, or "" when they may not.
func (h *Handover) SignParty(userID int64) string {
	switch {
	case userID == h.LeaverID:
		return SignLeaver
	case userID == h.SupervisorID:
		return SignSupervisor
	}
	for _, s := range h.Successors {
		if s == userID {
			return SignSuccessor
		}
	}
	return ""
}

// FullySigned reports whether leaver, a successor and the supervisor signed.
func (h *Handover) FullySigned() bool {
	_, l := h.SignedAt[SignLeaver]
	_, s := h.SignedAt[SignSuccessor]
	_, v := h.SignedAt[SignSupervisor]
	return l && s && v
}

// Identity is the canonical text of what an identity verification checks
// (R-A5, R-A6): the customer's type and name, and for a person sex,
// nationality, birth date and every identity document; for an institution
// its USCC, licence, legal representative, responsible person, agents and
// beneficial owners. A verification is bound to a keyed digest of it
// (never the text itself, which is personal data): change any of these and
// the verification no longer covers the customer.
func (c *Customer) Identity() string {
	var b strings.Builder
	field := func(k, v string) { b.WriteString(k); b.WriteByte('='); b.WriteString(v); b.WriteByte('\n') }
	party := func(k string, p *Party) {
		if p != nil {
			field(k, p.Name+"|"+p.IDType+"|"+p.IDNumber+"|"+p.IDExpiry)
		}
	}
	field("type", string(c.Type))
	field("name", c.Name())
	if p := c.Person; p != nil {
		field("sex", p.Sex)
		field("nationality", p.Nationality)
		field("birth_date", p.BirthDate)
		for _, d := range p.IDDocuments {
			field("id", d.Type+"|"+d.Number+"|"+d.Authority+"|"+d.IssueDate+"|"+d.Expiry)
		}
	}
	if in := c.Institution; in != nil {
		field("uscc", in.USCC)
		if l := in.Licence; l != nil {
			lb, _ := json.Marshal(l)
			field("licence", string(lb))
		}
		party("legal_representative", in.LegalRepresentative)
		party("responsible_person", in.ResponsiblePerson)
		for i := range in.Agents {
			party("agent", &in.Agents[i])
		}
		for i := range in.BeneficialOwners {
			party("beneficial_owner", &in.BeneficialOwners[i])
		}
	}
	return b.String()
}

// IDDocumentExpiry returns the expiry of the customer's primary identity
// document (a person's first ID, an institution's legal representative's
// ID), and false when it never expires or is not known.
func (c *Customer) IDDocumentExpiry() (time.Time, bool) {
	var exp string
	switch {
	case c.Person != nil && len(c.Person.IDDocuments) > 0:
		exp = c.Person.IDDocuments[0].Expiry
	case c.Institution != nil && c.Institution.LegalRepresentative != nil:
		exp = c.Institution.LegalRepresentative.IDExpiry
	}
	t, err := time.Parse(time.DateOnly, exp)
	return t, err == nil
}

// ErrIdentityStale refuses what needs a verified identity when the
// verification on file checked another identity: the identity changed
// after the inspector's check (R-A5, R-A10).
var ErrIdentityStale = &Error{Code: EConflict, Message: Message{ZH: "身份信息在核实后已变更，须由审核员重新核实", EN: "the identity changed after it was verified; an inspector must verify it again"}}

// ErrIDDocumentExpired refuses new business once the customer's identity
// document has been expired for longer than the grace period (R-A5;
// PBOC 2007 Art. 19: business is suspended until the document is renewed).
var ErrIDDocumentExpired = &Error{Code: EConflict, Message: Message{ZH: "客户身份证件已过期且超过宽限期，须更新证件后方可办理新业务", EN: "the customer's identity document has expired beyond the grace period; update it before new business"}}

// MayDoBusinessAt is MayDoBusiness at a moment: besides an effective,
// verified archive, the primary identity document must not have been
// expired for longer than grace.
func (c *Customer) MayDoBusinessAt(now time.Time, grace time.Duration) error {
	if err := c.MayDoBusiness(); err != nil {
		return err
	}
	if exp, ok := c.IDDocumentExpiry(); ok && now.After(exp.Add(24*time.Hour+grace)) {
		return ErrIDDocumentExpired
	}
	return nil
}
