package custos

import "time"

// TimelineKind classifies an archive timeline entry (R-A11).
type TimelineKind string

// Timeline kinds.
const (
	TimelineChange  TimelineKind = "change"  // a major change of the customer
	TimelineContact TimelineKind = "contact" // a business contact
	TimelineResult  TimelineKind = "result"  // yearly or quarterly results
	TimelineReport  TimelineKind = "report"  // a financial report
	TimelineNote    TimelineKind = "note"
)

// ValidTimelineKind reports whether k is known.
func ValidTimelineKind(k TimelineKind) bool {
	switch k {
	case TimelineChange, TimelineContact, TimelineResult, TimelineReport, TimelineNote:
		return true
	}
	return false
}

// TimelineEntry is one dated event in a customer's archive. Title and body are
// stored encrypted under the customer's key.
type TimelineEntry struct {
	ID            string       `json:"id"`
	CustomerID    string       `json:"customer_id"`
	Kind          TimelineKind `json:"kind"`
	OccurredOn    string       `json:"occurred_on"`      // YYYY-MM-DD
	Period        string       `json:"period,omitempty"` // e.g. "2025", "2025Q3" for results and reports
	Title         string       `json:"title"`
	Body          string       `json:"body,omitempty"`
	AttachmentIDs []string     `json:"attachment_ids,omitempty"`
	CreatedBy     int64        `json:"created_by"`
	CreatedAt     time.Time    `json:"created_at"`
}

// AttachmentKind classifies an attachment.
type AttachmentKind string

// Attachment kinds.
const (
	AttachIDScan   AttachmentKind = "id_scan"
	AttachLicence  AttachmentKind = "licence"
	AttachReport   AttachmentKind = "report"
	AttachContract AttachmentKind = "contract"
	AttachVoucher  AttachmentKind = "voucher"
	AttachOther    AttachmentKind = "other"
)

// ValidAttachmentKind reports whether k is known.
func ValidAttachmentKind(k AttachmentKind) bool {
	switch k {
	case AttachIDScan, AttachLicence, AttachReport, AttachContract, AttachVoucher, AttachOther:
		return true
	}
	return false
}

// MaxAttachmentSize bounds one attachment.
const MaxAttachmentSize = 20 << 20

// Attachment is a file kept with an archive: ID scans, licences, reports. The
// file name and content are stored encrypted under the customer's key.
type Attachment struct {
	ID            string         `json:"id"`
	CustomerID    string         `json:"customer_id"`
	Kind          AttachmentKind `json:"kind"`
	Filename      string         `json:"filename"`
	ContentType   string         `json:"content_type"`
	Size          int64          `json:"size"`
	ChecklistItem string         `json:"checklist_item,omitempty"`
	CreatedBy     int64          `json:"created_by"`
	CreatedAt     time.Time      `json:"created_at"`
}
