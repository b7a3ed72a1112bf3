package custos

// Taxonomy is one configurable classification of customers (R-A8), such as
// lifecycle, tier or money-laundering risk level.
type Taxonomy struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	Terms  []Term `json:"terms"`
}

// Term is one value of a taxonomy.
type Term struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	Sort   int    `json:"sort"`
}

// Well-known taxonomy codes seeded by the migrations.
const (
	TaxLifecycle      = "lifecycle"
	TaxStage          = "stage"
	TaxNature         = "nature"
	TaxVolume         = "volume"
	TaxTier           = "tier"
	TaxPropertyStatus = "property_status"
	TaxAMLRisk        = "aml_risk"
)

// HasTerm reports whether code is a term of the taxonomy.
func (t Taxonomy) HasTerm(code string) bool {
	for _, x := range t.Terms {
		if x.Code == code {
			return true
		}
	}
	return false
}

// Category is a customer category; custom fields and document checklists hang off it.
type Category struct {
	Code      string       `json:"code"`
	NameZH    string       `json:"name_zh"`
	NameEN    string       `json:"name_en"`
	AppliesTo CustomerType `json:"applies_to,omitempty"` // "" for both kinds
}

// ChecklistItem is one document a customer of a category should have on file (R-A9).
type ChecklistItem struct {
	Category string `json:"category"`
	Code     string `json:"code"`
	NameZH   string `json:"name_zh"`
	NameEN   string `json:"name_en"`
	Required bool   `json:"required"`
	Sort     int    `json:"sort"`
}

// ChecklistStatus is one checklist item and whether the customer's document is on file.
type ChecklistStatus struct {
	Item         ChecklistItem `json:"item"`
	AttachmentID string        `json:"attachment_id,omitempty"`
	Received     bool          `json:"received"`
}

// Completeness is the share of required checklist documents on file, 0–100.
func Completeness(items []ChecklistStatus) int {
	req, got := 0, 0
	for _, s := range items {
		if s.Item.Required {
			req++
			if s.Received {
				got++
			}
		}
	}
	if req == 0 {
		return 100
	}
	return got * 100 / req
}
