package custos

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Fields that are masked on output and revealed only through the reveal
// permission (R-C10). Each name covers every value of its kind in a customer.
const (
	RevealIDNumber  = "id_number" // ID document numbers of the person and of an institution's parties
	RevealPhone     = "phone"     // phones of the person, of parties and of the contact person
	RevealEmail     = "email"
	RevealAddress   = "address" // a person's residence and habitual addresses, a household's floor and unit
	RevealBirthDate = "birth_date"
	RevealCustom    = "custom" // custom fields marked sensitive
)

// RevealFields lists the field names a reveal request may ask for.
var RevealFields = []string{RevealIDNumber, RevealPhone, RevealEmail, RevealAddress, RevealBirthDate, RevealCustom}

// MaskIDNumber keeps the first six and last four characters of long numbers
// (110105********002X) and the ends of short ones.
func MaskIDNumber(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return ""
	case n >= 15:
		return keepEnds(s, 6, 4)
	case n >= 6:
		return keepEnds(s, 2, 2)
	default:
		return strings.Repeat("*", n)
	}
}

// MaskPhone keeps the first three and last four digits (138****8000).
func MaskPhone(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return ""
	case n >= 11:
		return keepEnds(s, 3, 4)
	case n >= 7:
		return keepEnds(s, 2, 3)
	default:
		return strings.Repeat("*", n)
	}
}

// MaskEmail keeps the first character and the domain (z***@example.com).
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return MaskText(s)
	}
	r, _ := utf8.DecodeRuneInString(s)
	return string(r) + "***" + s[at:]
}

// MaskAddress keeps the first six characters, usually province, city and district.
func MaskAddress(s string) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	if len(r) <= 6 {
		return string(r[:min(2, len(r))]) + "****"
	}
	return string(r[:6]) + "****"
}

// MaskDate keeps the year (1949-**-**).
func MaskDate(s string) string {
	if len(s) >= 4 {
		return s[:4] + "-**-**"
	}
	return MaskText(s)
}

// MaskText hides a value entirely but for its first character.
func MaskText(s string) string {
	if s == "" {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(s)
	return string(r) + "***"
}

func keepEnds(s string, head, tail int) string {
	r := []rune(s)
	return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
}

// Masked returns a deep copy of c with every sensitive value masked except
// the fields in reveal. sensitiveCustom names the custom fields to mask.
func (c *Customer) Masked(reveal []string, sensitiveCustom func(key string) bool) *Customer {
	m := c.Clone()
	show := func(f string) bool { return slices.Contains(reveal, f) }
	if p := m.Person; p != nil {
		if !show(RevealIDNumber) {
			for i := range p.IDDocuments {
				p.IDDocuments[i].Number = MaskIDNumber(p.IDDocuments[i].Number)
			}
		}
		if !show(RevealPhone) {
			for i := range p.Phones {
				p.Phones[i] = MaskPhone(p.Phones[i])
			}
		}
		if !show(RevealEmail) {
			p.Email = MaskEmail(p.Email)
		}
		if !show(RevealAddress) {
			p.Address = MaskAddress(p.Address)
			p.HabitualAddress = MaskAddress(p.HabitualAddress)
		}
		if !show(RevealBirthDate) {
			p.BirthDate = MaskDate(p.BirthDate)
		}
	}
	if in := m.Institution; in != nil {
		maskParty := func(p *Party) {
			if p == nil {
				return
			}
			if !show(RevealIDNumber) {
				p.IDNumber = MaskIDNumber(p.IDNumber)
			}
			if !show(RevealPhone) {
				p.Phone = MaskPhone(p.Phone)
			}
		}
		maskParty(in.LegalRepresentative)
		maskParty(in.ResponsiblePerson)
		for i := range in.Agents {
			maskParty(&in.Agents[i])
		}
		for i := range in.BeneficialOwners {
			maskParty(&in.BeneficialOwners[i])
		}
		if !show(RevealPhone) {
			in.ContactPhone = MaskPhone(in.ContactPhone)
		}
	}
	if h := m.Household; h != nil && !show(RevealAddress) {
		if h.Floor != "" {
			h.Floor = "**"
		}
		if h.Unit != "" {
			h.Unit = "****"
		}
	}
	if !show(RevealCustom) && sensitiveCustom != nil {
		for k, v := range m.Custom {
			if sensitiveCustom(k) {
				m.Custom[k] = MaskText(FormatCustom(v))
			}
		}
	}
	return m
}

// Clone returns a deep copy of c.
func (c *Customer) Clone() *Customer {
	m := *c
	m.Classes = cloneMap(c.Classes)
	m.Custom = cloneMap(c.Custom)
	if c.Person != nil {
		p := *c.Person
		p.Phones = slices.Clone(p.Phones)
		p.IDDocuments = slices.Clone(p.IDDocuments)
		m.Person = &p
	}
	if c.Institution != nil {
		in := *c.Institution
		if in.Licence != nil {
			l := *in.Licence
			in.Licence = &l
		}
		in.LegalRepresentative = cloneParty(in.LegalRepresentative)
		in.ResponsiblePerson = cloneParty(in.ResponsiblePerson)
		in.Agents = slices.Clone(in.Agents)
		in.BeneficialOwners = slices.Clone(in.BeneficialOwners)
		m.Institution = &in
	}
	if c.Household != nil {
		h := *c.Household
		m.Household = &h
	}
	return &m
}

func cloneParty(p *Party) *Party {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
