package importer

import (
	"strconv"
	"strings"

	"github.com/custos-cim/custos"
)

// column is one CSV column: its name in the header, the input field path
// that validation reports errors under, and how to read and write it. Import
// and Export share the table, so an export has exactly the layout an import
// reads.
type column struct {
	name   string
	target string // validation path, e.g. "legal_representative.id_number"
	get    func(in *custos.CustomerInput) string
	set    func(in *custos.CustomerInput, v string) error
}

func text(name string, field func(in *custos.CustomerInput) *string) column {
	return column{name: name, target: name,
		get: func(in *custos.CustomerInput) string { return *field(in) },
		set: func(in *custos.CustomerInput, v string) error { *field(in) = v; return nil }}
}

func id(name string, field func(in *custos.CustomerInput) *int64) column {
	return column{name: name, target: name,
		get: func(in *custos.CustomerInput) string {
			if n := *field(in); n != 0 {
				return strconv.FormatInt(n, 10)
			}
			return ""
		},
		set: func(in *custos.CustomerInput, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return errFormat
			}
			*field(in) = n
			return nil
		}}
}

// party is a column of the legal representative, flattened as legal_rep_*.
func party(suffix string, field func(p *custos.Party) *string) column {
	return column{name: "legal_rep_" + suffix, target: "legal_representative." + suffix,
		get: func(in *custos.CustomerInput) string {
			if in.LegalRepresentative == nil {
				return ""
			}
			return *field(in.LegalRepresentative)
		},
		set: func(in *custos.CustomerInput, v string) error {
			if in.LegalRepresentative == nil {
				in.LegalRepresentative = &custos.Party{}
			}
			*field(in.LegalRepresentative) = v
			return nil
		}}
}

func licence(suffix string, field func(l *custos.Licence) *string) column {
	return column{name: "licence." + suffix, target: "licence." + suffix,
		get: func(in *custos.CustomerInput) string {
			if in.Licence == nil {
				return ""
			}
			return *field(in.Licence)
		},
		set: func(in *custos.CustomerInput, v string) error {
			if in.Licence == nil {
				in.Licence = &custos.Licence{}
			}
			*field(in.Licence) = v
			return nil
		}}
}

func household(suffix string, field func(h *custos.Household) *string) column {
	return column{name: "household." + suffix, target: "household." + suffix,
		get: func(in *custos.CustomerInput) string {
			if in.Household == nil {
				return ""
			}
			return *field(in.Household)
		},
		set: func(in *custos.CustomerInput, v string) error {
			if in.Household == nil {
				in.Household = &custos.Household{}
			}
			*field(in.Household) = v
			return nil
		}}
}

// class is a classification column (R-A8): the seeded taxonomies have short
// names ("tier"), any taxonomy can be written "class.<code>".
func class(name, taxonomy string) column {
	return column{name: name, target: "classifications." + taxonomy,
		get: func(in *custos.CustomerInput) string { return in.Classifications[taxonomy] },
		set: func(in *custos.CustomerInput, v string) error {
			if in.Classifications == nil {
				in.Classifications = map[string]string{}
			}
			in.Classifications[taxonomy] = v
			return nil
		}}
}

// custom is a custom field column (R-A7). Values are read as text; the
// field's definition converts numbers, dates and booleans.
func custom(key string) column {
	name := "custom." + key
	return column{name: name, target: name,
		get: func(in *custos.CustomerInput) string { return formatCustom(in.Custom[key]) },
		set: func(in *custos.CustomerInput, v string) error {
			if in.Custom == nil {
				in.Custom = map[string]any{}
			}
			in.Custom[key] = v
			return nil
		}}
}

func formatCustom(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return custos.FormatCustom(v)
}

// archiveNo is accepted so that an export can be read back, and ignored:
// Custos assigns archive numbers itself (R-A1).
var archiveNo = column{name: "archive_no", target: "archive_no",
	get: func(*custos.CustomerInput) string { return "" },
	set: func(*custos.CustomerInput, string) error { return nil }}

// classShortcuts are the seeded taxonomies that have a column name of their own.
var classShortcuts = []string{custos.TaxTier, custos.TaxLifecycle, custos.TaxVolume, custos.TaxAMLRisk, custos.TaxStage, custos.TaxNature, custos.TaxPropertyStatus}

// columns is the fixed part of the CSV layout, in export order.
var columns = []column{
	{name: "type", target: "type",
		get: func(in *custos.CustomerInput) string { return string(in.Type) },
		set: func(in *custos.CustomerInput, v string) error { in.Type = custos.CustomerType(v); return nil }},
	text("name", func(in *custos.CustomerInput) *string { return &in.Name }),
	text("sex", func(in *custos.CustomerInput) *string { return &in.Sex }),
	text("nationality", func(in *custos.CustomerInput) *string { return &in.Nationality }),
	text("birth_date", func(in *custos.CustomerInput) *string { return &in.BirthDate }),
	text("occupation", func(in *custos.CustomerInput) *string { return &in.Occupation }),
	text("employer", func(in *custos.CustomerInput) *string { return &in.Employer }),
	text("address", func(in *custos.CustomerInput) *string { return &in.Address }),
	text("habitual_address", func(in *custos.CustomerInput) *string { return &in.HabitualAddress }),
	text("phone", func(in *custos.CustomerInput) *string { return &in.Phone }),
	text("email", func(in *custos.CustomerInput) *string { return &in.Email }),
	text("id_type", func(in *custos.CustomerInput) *string { return &in.IDType }),
	text("id_number", func(in *custos.CustomerInput) *string { return &in.IDNumber }),
	text("id_authority", func(in *custos.CustomerInput) *string { return &in.IDAuthority }),
	text("id_issue_date", func(in *custos.CustomerInput) *string { return &in.IDIssueDate }),
	text("id_expiry", func(in *custos.CustomerInput) *string { return &in.IDExpiry }),
	text("uscc", func(in *custos.CustomerInput) *string { return &in.USCC }),
	text("tax_number", func(in *custos.CustomerInput) *string { return &in.TaxNumber }),
	text("business_address", func(in *custos.CustomerInput) *string { return &in.BusinessAddress }),
	text("business_scope", func(in *custos.CustomerInput) *string { return &in.BusinessScope }),
	text("registered_capital", func(in *custos.CustomerInput) *string { return &in.RegisteredCapital }),
	text("fax", func(in *custos.CustomerInput) *string { return &in.Fax }),
	text("postcode", func(in *custos.CustomerInput) *string { return &in.Postcode }),
	text("contact_name", func(in *custos.CustomerInput) *string { return &in.ContactName }),
	text("contact_phone", func(in *custos.CustomerInput) *string { return &in.ContactPhone }),
	party("name", func(p *custos.Party) *string { return &p.Name }),
	party("id_type", func(p *custos.Party) *string { return &p.IDType }),
	party("id_number", func(p *custos.Party) *string { return &p.IDNumber }),
	party("id_expiry", func(p *custos.Party) *string { return &p.IDExpiry }),
	party("phone", func(p *custos.Party) *string { return &p.Phone }),
	licence("name", func(l *custos.Licence) *string { return &l.Name }),
	licence("number", func(l *custos.Licence) *string { return &l.Number }),
	licence("expiry", func(l *custos.Licence) *string { return &l.Expiry }),
	household("estate", func(h *custos.Household) *string { return &h.Estate }),
	household("building", func(h *custos.Household) *string { return &h.Building }),
	household("floor", func(h *custos.Household) *string { return &h.Floor }),
	household("unit", func(h *custos.Household) *string { return &h.Unit }),
	text("org", func(in *custos.CustomerInput) *string { return &in.Org }),
	text("owner", func(in *custos.CustomerInput) *string { return &in.Owner }),
	text("category", func(in *custos.CustomerInput) *string { return &in.Category }),
	class(custos.TaxTier, custos.TaxTier),
	class(custos.TaxLifecycle, custos.TaxLifecycle),
	class(custos.TaxVolume, custos.TaxVolume),
	class(custos.TaxAMLRisk, custos.TaxAMLRisk),
	class(custos.TaxStage, custos.TaxStage),
	class(custos.TaxNature, custos.TaxNature),
	class(custos.TaxPropertyStatus, custos.TaxPropertyStatus),
	text("risk_reason", func(in *custos.CustomerInput) *string { return &in.RiskReason }),
	{name: "sensitivity", target: "sensitivity",
		get: func(in *custos.CustomerInput) string { return string(in.Sensitivity) },
		set: func(in *custos.CustomerInput, v string) error { in.Sensitivity = custos.Sensitivity(v); return nil }},
	text("protected_reason", func(in *custos.CustomerInput) *string { return &in.ProtectedReason }),
}

// importOnly are accepted by Import but never exported: ids differ between
// installations, so exports name units and owners by code and username.
var importOnly = []column{
	id("org_id", func(in *custos.CustomerInput) *int64 { return &in.OrgID }),
	id("owner_id", func(in *custos.CustomerInput) *int64 { return &in.OwnerID }),
	archiveNo,
}

// lookupColumn resolves a header name.
func lookupColumn(name string) (column, bool) {
	for _, set := range [][]column{columns, importOnly} {
		for _, c := range set {
			if c.name == name {
				return c, true
			}
		}
	}
	if key, ok := strings.CutPrefix(name, "custom."); ok && fieldKey(key) {
		return custom(key), true
	}
	if tax, ok := strings.CutPrefix(name, "class."); ok && fieldKey(tax) {
		return class(name, tax), true
	}
	return column{}, false
}

// fieldKey mirrors the rule for custom field keys and taxonomy codes.
func fieldKey(s string) bool {
	if s == "" || len(s) > 40 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
