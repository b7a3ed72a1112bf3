package custos

import "time"

// Outcome is how an audited action ended.
type Outcome string

// Outcomes.
const (
	OutcomeOK     Outcome = "ok"
	OutcomeDenied Outcome = "denied"
	OutcomeFailed Outcome = "failed"
)

// AuditEvent is one entry of the tamper-evident audit trail (R-C5, R-D3).
// Targets are HMAC references, never plaintext identifiers, so the trail
// holds no personal data and still verifies after a customer is destroyed.
type AuditEvent struct {
	Seq        int64     `json:"seq"`
	At         time.Time `json:"at"`
	ActorID    int64     `json:"actor_id,omitempty"`
	Actor      string    `json:"actor"`
	Role       string    `json:"role,omitempty"`
	OrgID      int64     `json:"org_id,omitempty"`
	Action     string    `json:"action"`
	TargetType string    `json:"target_type,omitempty"`
	TargetRef  string    `json:"target_ref,omitempty"`
	Purpose    string    `json:"purpose,omitempty"`
	Outcome    Outcome   `json:"outcome"`
	Reason     string    `json:"reason,omitempty"`
	ClientAddr string    `json:"client_addr,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
	Via        string    `json:"via,omitempty"`
	Detail     string    `json:"detail,omitempty"` // JSON without personal data: counts, field names, filters' shape
	PrevHash   []byte    `json:"prev_hash,omitempty"`
	Hash       []byte    `json:"hash,omitempty"`
}

// AuditFilter selects audit events for auditors.
type AuditFilter struct {
	ActorID   int64
	Actor     string
	TargetRef string
	Action    string
	Outcome   Outcome
	From, To  time.Time
	AfterSeq  int64
	Limit     int
}

// AuditCheckpoint is a signed statement of the chain head at one event (R-D3).
type AuditCheckpoint struct {
	Seq       int64     `json:"seq"`
	Hash      []byte    `json:"hash"`
	At        time.Time `json:"at"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"`
	// Every is the count interval for checkpoints the store must sign at
	// every multiple of it (Seq % Every == 0); 0 for a time-based checkpoint.
	Every int64 `json:"every"`
}

// NewEvent starts an audit event for an actor's action.
func NewEvent(a Actor, action string, outcome Outcome) AuditEvent {
	return AuditEvent{
		ActorID:    a.UserID,
		Actor:      a.Username,
		Role:       string(a.Role),
		OrgID:      a.OrgID,
		Action:     action,
		Purpose:    a.Purpose,
		Outcome:    outcome,
		ClientAddr: a.ClientAddr,
		RequestID:  a.RequestID,
		Via:        a.Via,
	}
}
