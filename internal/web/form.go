package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/idcard"
)

// The customer form. Every input is named by the JSON path of its
// CustomerInput field ("id_number", "legal_representative.id_number",
// "classifications.tier", "custom.income"), which is also how validation
// names a field in error, so errors land next to their inputs.

// Input kinds.
const (
	kText     = "text"
	kDate     = "date"     // <input type=date>
	kDateText = "datetext" // a date that may come back masked (1980-**-**): plain text
	kSelect   = "select"
	kTextarea = "textarea"
	kTel      = "tel"
	kExpiry   = "expiry" // a date or 长期 (long term), with a checkbox
	kCheck    = "checkbox"
)

// field binds one input to one CustomerInput field.
type field struct {
	Name     string
	Label    string // catalogue key, or the label itself when Literal
	Literal  bool
	Kind     string
	Required bool
	Wide     bool
	Hint     string // catalogue key
	options  func(c *formCtx) []option
	get      func(in *custos.CustomerInput) string
	set      func(in *custos.CustomerInput, v string)
	cats     []string // custom fields: the categories that define the key
}

// section is a titled group of fields.
type section struct {
	Title  string // catalogue key
	Fields []field
}

// formCtx is the reference data the form needs.
type formCtx struct {
	p     *page
	typ   custos.CustomerType
	cats  []custos.Category
	taxes []custos.Taxonomy
	defs  []custos.CustomFieldDef
	orgs  []*custos.Org
}

func str(get func(in *custos.CustomerInput) *string) (func(*custos.CustomerInput) string, func(*custos.CustomerInput, string)) {
	return func(in *custos.CustomerInput) string { return *get(in) }, func(in *custos.CustomerInput, v string) { *get(in) = v }
}

func textField(name, label string, kind string, get func(in *custos.CustomerInput) *string) field {
	g, s := str(get)
	return field{Name: name, Label: label, Kind: kind, get: g, set: s}
}

func required(f field) field { f.Required = true; return f }
func wide(f field) field     { f.Wide = true; return f }
func withOptions(f field, o func(c *formCtx) []option) field {
	f.options = o
	return f
}

func licence(in *custos.CustomerInput) *custos.Licence {
	if in.Licence == nil {
		in.Licence = &custos.Licence{}
	}
	return in.Licence
}

func legalRep(in *custos.CustomerInput) *custos.Party {
	if in.LegalRepresentative == nil {
		in.LegalRepresentative = &custos.Party{}
	}
	return in.LegalRepresentative
}

func household(in *custos.CustomerInput) *custos.Household {
	if in.Household == nil {
		in.Household = &custos.Household{}
	}
	return in.Household
}

// Reading a missing part must not create it.
func licenceOr(in *custos.CustomerInput) *custos.Licence {
	if in.Licence == nil {
		return &custos.Licence{}
	}
	return in.Licence
}

func partyOr(p *custos.Party) *custos.Party {
	if p == nil {
		return &custos.Party{}
	}
	return p
}

func householdOr(in *custos.CustomerInput) *custos.Household {
	if in.Household == nil {
		return &custos.Household{}
	}
	return in.Household
}

func sub[T any](name, label, kind string, read func(in *custos.CustomerInput) *T, write func(in *custos.CustomerInput) *T, at func(*T) *string) field {
	return field{Name: name, Label: label, Kind: kind,
		get: func(in *custos.CustomerInput) string { return *at(read(in)) },
		set: func(in *custos.CustomerInput, v string) {
			if v == "" && *at(read(in)) == "" {
				return // do not create an empty part
			}
			*at(write(in)) = v
		}}
}

func idTypeOptions(c *formCtx) []option {
	out := []option{{Value: "", Label: c.p.T("form.choose")}}
	for _, t := range idcard.Types() {
		zh, en := t.Label()
		out = append(out, option{Value: string(t), Label: c.p.L(zh, en)})
	}
	return out
}

func sexOptions(c *formCtx) []option {
	return []option{{Value: "", Label: c.p.T("form.choose")}, {Value: "M", Label: c.p.T("sex.M")}, {Value: "F", Label: c.p.T("sex.F")}}
}

func personSections() []section {
	return []section{
		{Title: "section.identity", Fields: []field{
			required(textField("name", "field.name", kText, func(in *custos.CustomerInput) *string { return &in.Name })),
			withOptions(textField("sex", "field.sex", kSelect, func(in *custos.CustomerInput) *string { return &in.Sex }), sexOptions),
			textField("nationality", "field.nationality", kText, func(in *custos.CustomerInput) *string { return &in.Nationality }),
			textField("birth_date", "field.birth_date", kDateText, func(in *custos.CustomerInput) *string { return &in.BirthDate }),
			textField("occupation", "field.occupation", kText, func(in *custos.CustomerInput) *string { return &in.Occupation }),
			textField("employer", "field.employer", kText, func(in *custos.CustomerInput) *string { return &in.Employer }),
		}},
		{Title: "section.id_document", Fields: []field{
			required(withOptions(textField("id_type", "field.id_type", kSelect, func(in *custos.CustomerInput) *string { return &in.IDType }), idTypeOptions)),
			required(textField("id_number", "field.id_number", kText, func(in *custos.CustomerInput) *string { return &in.IDNumber })),
			textField("id_authority", "field.id_authority", kText, func(in *custos.CustomerInput) *string { return &in.IDAuthority }),
			textField("id_issue_date", "field.id_issue_date", kDate, func(in *custos.CustomerInput) *string { return &in.IDIssueDate }),
			textField("id_expiry", "field.id_expiry", kExpiry, func(in *custos.CustomerInput) *string { return &in.IDExpiry }),
		}},
		{Title: "section.contact", Fields: []field{
			textField("phone", "field.phone", kTel, func(in *custos.CustomerInput) *string { return &in.Phone }),
			textField("email", "field.email", kText, func(in *custos.CustomerInput) *string { return &in.Email }),
			wide(textField("address", "field.address", kText, func(in *custos.CustomerInput) *string { return &in.Address })),
			wide(textField("habitual_address", "field.habitual_address", kText, func(in *custos.CustomerInput) *string { return &in.HabitualAddress })),
		}},
	}
}

func institutionSections() []section {
	lic := func(name, label, kind string, at func(*custos.Licence) *string) field {
		return sub(name, label, kind, licenceOr, licence, at)
	}
	rep := func(name, label, kind string, at func(*custos.Party) *string) field {
		return sub(name, label, kind, func(in *custos.CustomerInput) *custos.Party { return partyOr(in.LegalRepresentative) }, legalRep, at)
	}
	return []section{
		{Title: "section.identity", Fields: []field{
			required(wide(textField("name", "field.institution_name", kText, func(in *custos.CustomerInput) *string { return &in.Name }))),
			required(textField("uscc", "field.uscc", kText, func(in *custos.CustomerInput) *string { return &in.USCC })),
			textField("tax_number", "field.tax_number", kText, func(in *custos.CustomerInput) *string { return &in.TaxNumber }),
			textField("registered_capital", "field.registered_capital", kText, func(in *custos.CustomerInput) *string { return &in.RegisteredCapital }),
			wide(textField("business_scope", "field.business_scope", kTextarea, func(in *custos.CustomerInput) *string { return &in.BusinessScope })),
		}},
		{Title: "section.licence", Fields: []field{
			lic("licence.name", "field.licence_name", kText, func(l *custos.Licence) *string { return &l.Name }),
			lic("licence.number", "field.licence_number", kText, func(l *custos.Licence) *string { return &l.Number }),
			lic("licence.expiry", "field.licence_expiry", kExpiry, func(l *custos.Licence) *string { return &l.Expiry }),
		}},
		{Title: "section.contact", Fields: []field{
			wide(textField("address", "field.registered_address", kText, func(in *custos.CustomerInput) *string { return &in.Address })),
			wide(textField("business_address", "field.business_address", kText, func(in *custos.CustomerInput) *string { return &in.BusinessAddress })),
			textField("phone", "field.phone", kTel, func(in *custos.CustomerInput) *string { return &in.Phone }),
			textField("fax", "field.fax", kTel, func(in *custos.CustomerInput) *string { return &in.Fax }),
			textField("postcode", "field.postcode", kText, func(in *custos.CustomerInput) *string { return &in.Postcode }),
			textField("contact_name", "field.contact_name", kText, func(in *custos.CustomerInput) *string { return &in.ContactName }),
			textField("contact_phone", "field.contact_phone", kTel, func(in *custos.CustomerInput) *string { return &in.ContactPhone }),
		}},
		{Title: "section.legal_rep", Fields: []field{
			required(rep("legal_representative.name", "field.rep_name", kText, func(p *custos.Party) *string { return &p.Name })),
			withOptions(rep("legal_representative.id_type", "field.id_type", kSelect, func(p *custos.Party) *string { return &p.IDType }), idTypeOptions),
			rep("legal_representative.id_number", "field.id_number", kText, func(p *custos.Party) *string { return &p.IDNumber }),
			rep("legal_representative.id_expiry", "field.id_expiry", kExpiry, func(p *custos.Party) *string { return &p.IDExpiry }),
		}},
	}
}

// commonSections are classification, household and custom fields, built
// from the reference data.
func (c *formCtx) commonSections() []section {
	cls := section{Title: "section.classification"}
	cls.Fields = append(cls.Fields, required(withOptions(textField("category", "field.category", kSelect, func(in *custos.CustomerInput) *string { return &in.Category }),
		func(c *formCtx) []option {
			var out []option
			for _, k := range c.cats {
				if k.AppliesTo == "" || k.AppliesTo == c.typ {
					out = append(out, option{Value: k.Code, Label: c.p.L(k.NameZH, k.NameEN)})
				}
			}
			return out
		})))
	for _, t := range c.taxes {
		t := t
		cls.Fields = append(cls.Fields, field{Name: "classifications." + t.Code, Label: c.p.L(t.NameZH, t.NameEN), Literal: true, Kind: kSelect,
			options: func(c *formCtx) []option {
				out := []option{{Value: "", Label: c.p.T("form.none")}}
				for _, x := range t.Terms {
					out = append(out, option{Value: x.Code, Label: c.p.L(x.NameZH, x.NameEN)})
				}
				return out
			},
			get: func(in *custos.CustomerInput) string { return in.Classifications[t.Code] },
			set: func(in *custos.CustomerInput, v string) {
				if v == "" {
					delete(in.Classifications, t.Code)
					return
				}
				if in.Classifications == nil {
					in.Classifications = map[string]string{}
				}
				in.Classifications[t.Code] = v
			}})
	}
	risk := wide(textField("risk_reason", "field.risk_reason", kTextarea, func(in *custos.CustomerInput) *string { return &in.RiskReason }))
	risk.Hint = "hint.risk_reason"
	cls.Fields = append(cls.Fields, risk, field{Name: "sensitivity", Label: "field.protected", Kind: kCheck, Hint: "hint.protected",
		get: func(in *custos.CustomerInput) string {
			if in.Sensitivity == custos.Protected {
				return "protected"
			}
			return ""
		},
		set: func(in *custos.CustomerInput, v string) {
			if v != "" {
				in.Sensitivity = custos.Protected
				return
			}
			in.Sensitivity, in.ProtectedReason = "", ""
		}})

	hh := func(name, label string, at func(*custos.Household) *string) field {
		return sub(name, label, kText, householdOr, household, at)
	}
	house := section{Title: "section.household", Fields: []field{
		hh("household.estate", "field.estate", func(h *custos.Household) *string { return &h.Estate }),
		hh("household.building", "field.building", func(h *custos.Household) *string { return &h.Building }),
		hh("household.floor", "field.floor", func(h *custos.Household) *string { return &h.Floor }),
		hh("household.unit", "field.room", func(h *custos.Household) *string { return &h.Unit }),
	}}

	out := []section{cls, house}
	if cf := c.customFields(); len(cf) > 0 {
		out = append(out, section{Title: "section.custom", Fields: cf})
	}
	return out
}

// customFields are the custom fields of the categories of this customer
// type, one input per key. Only the selected category's keys are applied;
// custos.js hides the others.
func (c *formCtx) customFields() []field {
	applies := map[string]bool{}
	for _, k := range c.cats {
		applies[k.Code] = k.AppliesTo == "" || k.AppliesTo == c.typ
	}
	var out []field
	idx := map[string]int{}
	for _, d := range c.defs {
		if !applies[d.Category] {
			continue
		}
		if i, ok := idx[d.Key]; ok {
			out[i].cats = append(out[i].cats, d.Category)
			continue
		}
		d := d
		f := field{Name: "custom." + d.Key, Label: c.p.L(d.LabelZH, d.LabelEN), Literal: true, Kind: kText, Required: d.Required, cats: []string{d.Category},
			get: func(in *custos.CustomerInput) string { return customString(in.Custom[d.Key]) },
			set: func(in *custos.CustomerInput, v string) {
				if v == "" {
					delete(in.Custom, d.Key)
					return
				}
				if in.Custom == nil {
					in.Custom = map[string]any{}
				}
				in.Custom[d.Key] = v
			}}
		switch d.Type {
		case custos.FieldDate:
			f.Kind = kDate
			if d.Sensitive {
				f.Kind = kDateText // masked values are not dates
			}
		case custos.FieldBool:
			f.Kind = kSelect
			f.options = func(c *formCtx) []option {
				return []option{{Value: "", Label: c.p.T("form.none")}, {Value: "true", Label: c.p.T("form.yes")}, {Value: "false", Label: c.p.T("form.no")}}
			}
		case custos.FieldChoice:
			f.Kind = kSelect
			choices := d.Choices
			f.options = func(c *formCtx) []option {
				out := []option{{Value: "", Label: c.p.T("form.none")}}
				for _, x := range choices {
					out = append(out, option{Value: x, Label: x})
				}
				return out
			}
		}
		idx[d.Key] = len(out)
		out = append(out, f)
	}
	return out
}

// customString renders a stored custom value into the form.
func customString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(x)
	}
	return custos.FormatCustom(v)
}

// placement chooses the unit and the owner of a new customer; left empty
// they are the user's own.
func (c *formCtx) placement() section {
	return section{Title: "section.placement", Fields: []field{
		{Name: "org", Label: "field.org", Kind: kSelect,
			options: func(c *formCtx) []option {
				out := []option{{Value: "", Label: c.p.T("form.own_unit")}}
				for _, o := range c.orgs {
					if custos.PathContains(c.p.Actor.OrgPath, o.Path) {
						out = append(out, option{Value: o.Code, Label: c.p.L(o.Name, o.NameEN)})
					}
				}
				return out
			},
			get: func(in *custos.CustomerInput) string { return in.Org },
			set: func(in *custos.CustomerInput, v string) { in.Org = v }},
		{Name: "owner", Label: "field.owner", Kind: kText, Hint: "hint.owner",
			get: func(in *custos.CustomerInput) string { return in.Owner },
			set: func(in *custos.CustomerInput, v string) { in.Owner = v }},
	}}
}

// sections is the whole form of a customer type.
func (c *formCtx) sections(create bool) []section {
	var out []section
	if c.typ == custos.TypeInstitution {
		out = institutionSections()
	} else {
		out = personSections()
	}
	out = append(out, c.commonSections()...)
	if create {
		out = append(out, c.placement())
	}
	return out
}

// values reads the form's fields out of an input.
func valuesOf(in custos.CustomerInput, secs []section) map[string]string {
	vals := map[string]string{}
	for _, s := range secs {
		for _, f := range s.Fields {
			vals[f.Name] = f.get(&in)
		}
	}
	return vals
}

// postedValues reads the submitted form. Checkboxes that are not ticked
// are absent from a submission and so read as "".
func postedValues(r *http.Request, secs []section) map[string]string {
	vals := map[string]string{}
	for _, s := range secs {
		for _, f := range s.Fields {
			v := strings.TrimSpace(r.PostFormValue(f.Name))
			if f.Kind == kExpiry && r.PostFormValue(f.Name+"_long_term") != "" {
				v = custos.LongTerm
			}
			vals[f.Name] = v
		}
	}
	return vals
}

// apply writes form values into an input. Custom fields of categories
// other than the selected one are dropped.
func apply(in *custos.CustomerInput, vals map[string]string, secs []section) {
	for _, s := range secs {
		for _, f := range s.Fields {
			if v, ok := vals[f.Name]; ok {
				f.set(in, v)
			}
		}
	}
	cat := in.Category
	for _, s := range secs {
		for _, f := range s.Fields {
			if len(f.cats) > 0 && !slices.Contains(f.cats, cat) {
				delete(in.Custom, strings.TrimPrefix(f.Name, "custom."))
			}
		}
	}
	if l := in.Licence; l != nil && *l == (custos.Licence{}) {
		in.Licence = nil
	}
	if h := in.Household; h != nil && *h == (custos.Household{}) {
		in.Household = nil
	}
	if p := in.LegalRepresentative; p != nil && *p == (custos.Party{}) {
		in.LegalRepresentative = nil
	}
}

// keepMasked drops submitted values that still carry the mask character:
// the user did not change them, and writing them back would overwrite the
// stored value with its mask (R-C10).
func keepMasked(posted map[string]string) map[string]string {
	out := make(map[string]string, len(posted))
	for k, v := range posted {
		if !strings.Contains(v, "*") {
			out[k] = v
		}
	}
	return out
}

// Views of the form for the templates.

type formView struct {
	Type     custos.CustomerType
	Action   string
	Create   bool
	Version  int64
	Sections []sectionView
	Cancel   string
	// Effective: the archive is in force, so the edit files a change
	// request that needs a reason (R-B1).
	Effective           bool
	Reason, ReasonError string
}

type sectionView struct {
	Title  string
	Fields []fieldView
}

type fieldView struct {
	Name, ID, Label, Kind, Value, Display, Error, Hint string
	LongTermLabel                                      string
	Required, Wide, LongTerm, Checked                  bool
	Options                                            []option
	Categories                                         string
}

// view renders sections with values and errors. Errors that no field
// shows are returned for the top of the page.
func (c *formCtx) view(secs []section, vals map[string]string, errs map[string]string) ([]sectionView, []fieldMessage) {
	used := map[string]bool{}
	out := make([]sectionView, 0, len(secs))
	for _, s := range secs {
		sv := sectionView{Title: c.p.T(s.Title)}
		for _, f := range s.Fields {
			fv := fieldView{Name: f.Name, ID: "f-" + strings.NewReplacer(".", "-", "[", "-", "]", "").Replace(f.Name), Kind: f.Kind, Value: vals[f.Name],
				Required: f.Required, Wide: f.Wide, Categories: strings.Join(f.cats, " ")}
			fv.Label = f.Label
			if !f.Literal {
				fv.Label = c.p.T(f.Label)
			}
			if f.Hint != "" {
				fv.Hint = c.p.T(f.Hint)
			}
			fv.Display = fv.Value
			switch f.Kind {
			case kExpiry:
				fv.LongTermLabel = c.p.T("form.long_term")
				if fv.Value == custos.LongTerm {
					fv.LongTerm, fv.Value, fv.Display = true, "", c.p.T("form.long_term")
				}
			case kCheck:
				fv.Checked = fv.Value != ""
				fv.Display = c.p.T("form.no")
				if fv.Checked {
					fv.Display = c.p.T("form.yes")
				}
			case kSelect:
				if f.options != nil {
					fv.Options = f.options(c)
				}
				found := false
				for i := range fv.Options {
					if fv.Options[i].Value == fv.Value {
						fv.Options[i].Selected, found = true, true
						if fv.Value != "" {
							fv.Display = fv.Options[i].Label
						}
					}
				}
				if !found && fv.Value != "" {
					fv.Options = append(fv.Options, option{Value: fv.Value, Label: fv.Value, Selected: true})
				}
			}
			if e, ok := errs[f.Name]; ok {
				fv.Error, used[f.Name] = e, true
			}
			sv.Fields = append(sv.Fields, fv)
		}
		out = append(out, sv)
	}
	var rest []fieldMessage
	for _, name := range sortedKeys(errs) {
		if !used[name] {
			rest = append(rest, fieldMessage{Field: name, Message: errs[name]})
		}
	}
	return out, rest
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// fieldErrors maps an application error's field errors to messages in the
// page's language.
func fieldErrors(p *page, err error) map[string]string {
	out := map[string]string{}
	if e, ok := asError(err); ok {
		for _, f := range e.Fields {
			msg := p.M(f.Message)
			if prev, ok := out[f.Field]; ok {
				msg = prev + "; " + msg
			}
			out[f.Field] = msg
		}
	}
	return out
}
