package custos

import (
	"log/slog"
	"strings"
	"time"
)

// CustomerType tells a natural person from an institution.
type CustomerType string

// Customer types.
const (
	TypePerson      CustomerType = "person"
	TypeInstitution CustomerType = "institution"
)

// ArchiveStatus is the lifecycle state of an archive.
type ArchiveStatus string

// Archive states. A new archive is a draft until verified and approved (R-A10);
// only effective archives carry business; closed archives are restricted to
// storage, legal and audit use until destroyed.
const (
	StatusDraft     ArchiveStatus = "draft"
	StatusEffective ArchiveStatus = "effective"
	StatusClosed    ArchiveStatus = "closed"
)

// Sensitivity marks specially protected customers (R-C2).
type Sensitivity string

// Sensitivities.
const (
	Normal    Sensitivity = "normal"
	Protected Sensitivity = "protected"
)

// Verification is the state of a customer's identity verification (R-A5, R-A6).
type Verification string

// Verification states.
const (
	Unverified         Verification = "unverified"
	Verified           Verification = "verified"
	VerificationFailed Verification = "failed"
)

// LongTerm is how documents valid without end (长期) are written in dates.
const LongTerm = "long_term"

// Customer is one customer and its archive (R-A1): the identity basics of a
// person (R-A2) or an institution (R-A3), classification (R-A8), the
// household of a property customer (R-A9) and custom fields (R-A7).
type Customer struct {
	ID              string            `json:"id"`
	ArchiveNo       string            `json:"archive_no"`
	Type            CustomerType      `json:"type"`
	OrgID           int64             `json:"org_id"`
	OwnerID         int64             `json:"owner_id"`
	Category        string            `json:"category"`
	Status          ArchiveStatus     `json:"status"`
	Sensitivity     Sensitivity       `json:"sensitivity"`
	ProtectedReason string            `json:"protected_reason,omitempty"`
	Verification    Verification      `json:"verification"`
	Classes         map[string]string `json:"classifications,omitempty"`
	RiskReason      string            `json:"risk_reason,omitempty"`
	Person          *Person           `json:"person,omitempty"`
	Institution     *Institution      `json:"institution,omitempty"`
	Household       *Household        `json:"household,omitempty"`
	Custom          map[string]any    `json:"custom,omitempty"`
	CreatedBy       int64             `json:"created_by"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
	Version         int64             `json:"version"`
}

// Name is the person's or the institution's name.
func (c *Customer) Name() string {
	switch {
	case c.Person != nil:
		return c.Person.Name
	case c.Institution != nil:
		return c.Institution.Name
	}
	return ""
}

// PrimaryID returns the customer's main identity document type and number:
// a person's first ID document, an institution's USCC.
func (c *Customer) PrimaryID() (idType, number string) {
	if c.Person != nil && len(c.Person.IDDocuments) > 0 {
		d := c.Person.IDDocuments[0]
		return d.Type, d.Number
	}
	if c.Institution != nil {
		return "uscc", c.Institution.USCC
	}
	return "", ""
}

// Building returns the estate/building key used for butlers' portfolios, or "".
func (c *Customer) Building() string {
	if c.Household == nil || c.Household.Estate == "" {
		return ""
	}
	return BuildingKey(c.Household.Estate, c.Household.Building)
}

// BuildingKey joins an estate and a building into one portfolio key.
func BuildingKey(estate, building string) string {
	return strings.TrimSpace(estate) + "/" + strings.TrimSpace(building)
}

// String never prints personal data.
func (c *Customer) String() string {
	if c == nil {
		return "<nil customer>"
	}
	return "customer " + c.ID + " (" + c.ArchiveNo + ")"
}

// LogValue keeps personal data out of logs.
func (c *Customer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("archive_no", c.ArchiveNo), slog.String("type", string(c.Type)))
}

// Person holds a natural person's identity basics (R-A2).
type Person struct {
	Name            string       `json:"name"`
	Sex             string       `json:"sex,omitempty"` // "M" or "F"
	Nationality     string       `json:"nationality,omitempty"`
	BirthDate       string       `json:"birth_date,omitempty"`
	Occupation      string       `json:"occupation,omitempty"`
	Employer        string       `json:"employer,omitempty"`
	Address         string       `json:"address,omitempty"`
	HabitualAddress string       `json:"habitual_address,omitempty"`
	Phones          []string     `json:"phones,omitempty"`
	Email           string       `json:"email,omitempty"`
	IDDocuments     []IDDocument `json:"id_documents,omitempty"`
}

// IDDocument is one identity document of a person.
type IDDocument struct {
	Type      string `json:"type"`
	Number    string `json:"number"`
	Authority string `json:"authority,omitempty"`
	IssueDate string `json:"issue_date,omitempty"`
	Expiry    string `json:"expiry,omitempty"` // YYYY-MM-DD or LongTerm
}

// Institution holds an institution's identity basics (R-A3).
type Institution struct {
	Name                string   `json:"name"`
	USCC                string   `json:"uscc,omitempty"`
	TaxNumber           string   `json:"tax_number,omitempty"`
	Licence             *Licence `json:"licence,omitempty"`
	RegisteredAddress   string   `json:"address,omitempty"`
	BusinessAddress     string   `json:"business_address,omitempty"`
	BusinessScope       string   `json:"business_scope,omitempty"`
	RegisteredCapital   string   `json:"registered_capital,omitempty"`
	Phone               string   `json:"phone,omitempty"`
	Fax                 string   `json:"fax,omitempty"`
	Postcode            string   `json:"postcode,omitempty"`
	ContactName         string   `json:"contact_name,omitempty"`
	ContactPhone        string   `json:"contact_phone,omitempty"`
	LegalRepresentative *Party   `json:"legal_representative,omitempty"`
	ResponsiblePerson   *Party   `json:"responsible_person,omitempty"`
	Agents              []Party  `json:"agents,omitempty"`
	BeneficialOwners    []Party  `json:"beneficial_owners,omitempty"`
}

// Licence is an institution's business licence or certificate.
type Licence struct {
	Name   string `json:"name,omitempty"`
	Number string `json:"number,omitempty"`
	Expiry string `json:"expiry,omitempty"`
}

// Party is a natural person acting for an institution: legal representative,
// responsible person, authorised agent or beneficial owner.
type Party struct {
	Name     string `json:"name"`
	IDType   string `json:"id_type,omitempty"`
	IDNumber string `json:"id_number,omitempty"`
	IDExpiry string `json:"id_expiry,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Share    string `json:"share,omitempty"` // beneficial owners: ownership share in percent
}

// Household locates a property-management customer (R-A9).
type Household struct {
	Estate   string `json:"estate"`
	Building string `json:"building,omitempty"`
	Floor    string `json:"floor,omitempty"`
	Unit     string `json:"unit,omitempty"`
}

// CustomerFilter selects customers for the catalogue and for searches.
// Exact identifiers are matched through blind indexes, never in plaintext.
type CustomerFilter struct {
	Type         CustomerType
	OrgID        int64 // the unit and the units below it
	OwnerID      int64
	Category     string
	Status       ArchiveStatus
	Sensitivity  Sensitivity
	Verification Verification
	Classes      map[string]string // taxonomy → term
	Name         string            // institutions: substring; persons: exact full name
	IDNumber     string
	Phone        string
	USCC         string
	Estate       string
	Building     string
	Sort         string // "archive_no", "-archive_no", "created_at", "-created_at", "updated_at", "-updated_at"
	Page         int    // from 1
	PageSize     int
}

// SortKeys lists the accepted CustomerFilter.Sort values.
var SortKeys = []string{"archive_no", "-archive_no", "created_at", "-created_at", "updated_at", "-updated_at"}

// Normalize fills defaults and bounds paging.
func (f *CustomerFilter) Normalize() {
	if f.Page < 1 {
		f.Page = 1
	}
	if f.PageSize <= 0 {
		f.PageSize = 20
	}
	if f.PageSize > 200 {
		f.PageSize = 200
	}
	if f.Sort == "" {
		f.Sort = "-created_at"
	}
}

// CustomerPage is one page of a catalogue listing.
type CustomerPage struct {
	Items    []*Customer
	Total    int
	Page     int
	PageSize int
}

// CatalogueEntry counts customers under one organisation, category and tier.
type CatalogueEntry struct {
	OrgID    int64  `json:"org_id"`
	Category string `json:"category"`
	Tier     string `json:"tier"`
	Count    int    `json:"count"`
}
