package custos

// CustomerInput is a customer as clients write it: the request body of
// create and patch, a row of an import file. Identity fields are flat, as in
// {"type":"person","name":…,"id_type":"cn_resident_id","id_number":…,
// "id_expiry":"2035-01-01","phone":…,"address":…}; validation reports errors
// by these JSON names.
type CustomerInput struct {
	Type            CustomerType      `json:"type"`
	OrgID           int64             `json:"org_id,omitempty"`
	Org             string            `json:"org,omitempty"` // unit code, instead of org_id
	OwnerID         int64             `json:"owner_id,omitempty"`
	Owner           string            `json:"owner,omitempty"` // username, instead of owner_id
	Category        string            `json:"category,omitempty"`
	Sensitivity     Sensitivity       `json:"sensitivity,omitempty"`
	ProtectedReason string            `json:"protected_reason,omitempty"`
	Classifications map[string]string `json:"classifications,omitempty"`
	RiskReason      string            `json:"risk_reason,omitempty"`

	// Shared by both types: a person's residence, an institution's registered address and phone.
	Name    string   `json:"name"`
	Address string   `json:"address,omitempty"`
	Phone   string   `json:"phone,omitempty"`
	Phones  []string `json:"phones,omitempty"` // further phones of a person

	// Person (R-A2).
	Sex             string       `json:"sex,omitempty"`
	Nationality     string       `json:"nationality,omitempty"`
	BirthDate       string       `json:"birth_date,omitempty"`
	Occupation      string       `json:"occupation,omitempty"`
	Employer        string       `json:"employer,omitempty"`
	HabitualAddress string       `json:"habitual_address,omitempty"`
	Email           string       `json:"email,omitempty"`
	IDType          string       `json:"id_type,omitempty"`
	IDNumber        string       `json:"id_number,omitempty"`
	IDAuthority     string       `json:"id_authority,omitempty"`
	IDIssueDate     string       `json:"id_issue_date,omitempty"`
	IDExpiry        string       `json:"id_expiry,omitempty"`    // YYYY-MM-DD, or 长期 / long_term
	IDDocuments     []IDDocument `json:"id_documents,omitempty"` // further documents

	// Institution (R-A3).
	USCC                string   `json:"uscc,omitempty"`
	TaxNumber           string   `json:"tax_number,omitempty"`
	Licence             *Licence `json:"licence,omitempty"`
	BusinessAddress     string   `json:"business_address,omitempty"`
	BusinessScope       string   `json:"business_scope,omitempty"`
	RegisteredCapital   string   `json:"registered_capital,omitempty"`
	Fax                 string   `json:"fax,omitempty"`
	Postcode            string   `json:"postcode,omitempty"`
	ContactName         string   `json:"contact_name,omitempty"`
	ContactPhone        string   `json:"contact_phone,omitempty"`
	LegalRepresentative *Party   `json:"legal_representative,omitempty"`
	ResponsiblePerson   *Party   `json:"responsible_person,omitempty"`
	Agents              []Party  `json:"agents,omitempty"`
	BeneficialOwners    []Party  `json:"beneficial_owners,omitempty"`

	Household *Household     `json:"household,omitempty"` // property customers (R-A9)
	Custom    map[string]any `json:"custom,omitempty"`    // R-A7
}

// Profile builds the person or institution part of a customer from the input.
// It does not validate.
func (in *CustomerInput) Profile() (*Person, *Institution) {
	switch in.Type {
	case TypePerson:
		p := &Person{
			Name: in.Name, Sex: in.Sex, Nationality: in.Nationality, BirthDate: in.BirthDate,
			Occupation: in.Occupation, Employer: in.Employer, Address: in.Address, HabitualAddress: in.HabitualAddress, Email: in.Email,
		}
		if in.Phone != "" {
			p.Phones = append(p.Phones, in.Phone)
		}
		p.Phones = append(p.Phones, in.Phones...)
		if in.IDType != "" || in.IDNumber != "" {
			p.IDDocuments = append(p.IDDocuments, IDDocument{Type: in.IDType, Number: in.IDNumber, Authority: in.IDAuthority, IssueDate: in.IDIssueDate, Expiry: in.IDExpiry})
		}
		p.IDDocuments = append(p.IDDocuments, in.IDDocuments...)
		return p, nil
	case TypeInstitution:
		return nil, &Institution{
			Name: in.Name, USCC: in.USCC, TaxNumber: in.TaxNumber, Licence: in.Licence, RegisteredAddress: in.Address,
			BusinessAddress: in.BusinessAddress, BusinessScope: in.BusinessScope, RegisteredCapital: in.RegisteredCapital,
			Phone: in.Phone, Fax: in.Fax, Postcode: in.Postcode, ContactName: in.ContactName, ContactPhone: in.ContactPhone,
			LegalRepresentative: in.LegalRepresentative, ResponsiblePerson: in.ResponsiblePerson, Agents: in.Agents, BeneficialOwners: in.BeneficialOwners,
		}
	}
	return nil, nil
}

// InputOf renders a customer back into its input form; a patch is applied
// to this form and validated like a new customer.
func InputOf(c *Customer) CustomerInput {
	in := CustomerInput{
		Type: c.Type, OrgID: c.OrgID, OwnerID: c.OwnerID, Category: c.Category, Sensitivity: c.Sensitivity,
		ProtectedReason: c.ProtectedReason, Classifications: cloneMap(c.Classes), RiskReason: c.RiskReason, Custom: cloneMap(c.Custom),
	}
	if c.Household != nil {
		h := *c.Household
		in.Household = &h
	}
	if p := c.Person; p != nil {
		in.Name, in.Sex, in.Nationality, in.BirthDate = p.Name, p.Sex, p.Nationality, p.BirthDate
		in.Occupation, in.Employer, in.Address, in.HabitualAddress, in.Email = p.Occupation, p.Employer, p.Address, p.HabitualAddress, p.Email
		if len(p.Phones) > 0 {
			in.Phone = p.Phones[0]
			in.Phones = append([]string(nil), p.Phones[1:]...)
		}
		if len(p.IDDocuments) > 0 {
			d := p.IDDocuments[0]
			in.IDType, in.IDNumber, in.IDAuthority, in.IDIssueDate, in.IDExpiry = d.Type, d.Number, d.Authority, d.IssueDate, d.Expiry
			in.IDDocuments = append([]IDDocument(nil), p.IDDocuments[1:]...)
		}
	}
	if i := c.Institution; i != nil {
		in.Name, in.USCC, in.TaxNumber, in.Address = i.Name, i.USCC, i.TaxNumber, i.RegisteredAddress
		in.BusinessAddress, in.BusinessScope, in.RegisteredCapital = i.BusinessAddress, i.BusinessScope, i.RegisteredCapital
		in.Phone, in.Fax, in.Postcode, in.ContactName, in.ContactPhone = i.Phone, i.Fax, i.Postcode, i.ContactName, i.ContactPhone
		if i.Licence != nil {
			l := *i.Licence
			in.Licence = &l
		}
		in.LegalRepresentative, in.ResponsiblePerson = cloneParty(i.LegalRepresentative), cloneParty(i.ResponsiblePerson)
		in.Agents = append([]Party(nil), i.Agents...)
		in.BeneficialOwners = append([]Party(nil), i.BeneficialOwners...)
	}
	return in
}

// ProtectionRule says whether a customer must be protected (R-C2) by rule:
// high money-laundering risk or private banking. Protection set by hand is
// never lifted by the rule.
func ProtectionRule(category string, classes map[string]string) (bool, string) {
	switch {
	case classes[TaxAMLRisk] == "high":
		return true, "high_risk"
	case category == "private_banking":
		return true, "private_banking"
	}
	return false, ""
}
