package app

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/idcard"
)

// Limits on free-text fields, in characters.
const (
	maxName    = 100
	maxAddress = 200
	maxText    = 500
	maxPhones  = 5
	maxIDDocs  = 5
	maxParties = 20
)

var (
	mobileRe      = regexp.MustCompile(`^1[3-9]\d{9}$`)
	landlineRe    = regexp.MustCompile(`^0\d{9,11}$`)
	intlPhoneRe   = regexp.MustCompile(`^\+\d{7,15}$`)
	emailRe       = regexp.MustCompile(`^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$`)
	nationalityRe = regexp.MustCompile(`^[A-Z]{2,3}$`)
	postcodeRe    = regexp.MustCompile(`^\d{6}$`)
	decimalRe     = regexp.MustCompile(`^\d{1,15}(\.\d{1,4})?$`)
	taxNumberRe   = regexp.MustCompile(`^[0-9A-Z]{15,20}$`)
)

// NormalizePhone strips separators and the +86 country code of mainland numbers.
func NormalizePhone(s string) string {
	s = norm.NFKC.String(strings.TrimSpace(s))
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		}
	}
	p := b.String()
	if strings.HasPrefix(p, "+86") {
		p = p[3:]
	} else if strings.HasPrefix(p, "0086") {
		p = p[4:]
	}
	return p
}

// NormalizeName folds width and case and collapses spaces, so that a blind
// index of a name matches however it was typed.
func NormalizeName(s string) string {
	s = norm.NFKC.String(s)
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

func normSex(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", true
	case "m", "male", "男":
		return "M", true
	case "f", "female", "女":
		return "F", true
	}
	return s, false
}

func normExpiry(s string) string {
	switch strings.TrimSpace(strings.ToLower(s)) {
	case "长期", "long_term", "longterm", "永久", "长期有效":
		return custos.LongTerm
	}
	return strings.TrimSpace(s)
}

type checker struct {
	v   custos.Validation
	now time.Time
}

func (c *checker) add(field, code string) { c.v.Addf(field, code) }

// text checks free text: invalid UTF-8 and control characters other than
// tab and line breaks are refused (custos.TextProblem).
func (c *checker) text(field, s string, max int, required bool) string {
	return c.checkText(field, s, max, required, custos.TextProblem)
}

// name checks a name: one line of clean text, no control or bidirectional
// control characters (custos.NameProblem).
func (c *checker) name(field, s string, max int, required bool) string {
	return c.checkText(field, s, max, required, custos.NameProblem)
}

func (c *checker) checkText(field, s string, max int, required bool, problem func(string) string) string {
	s = strings.TrimSpace(s)
	if code := problem(s); code != "" {
		c.add(field, code)
		return s
	}
	switch {
	case s == "" && required:
		c.add(field, custos.CodeRequired)
	case utf8.RuneCountInString(s) > max:
		c.add(field, custos.CodeTooLong)
	}
	return s
}

func (c *checker) date(field, s string, allowLongTerm, notFuture bool) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if allowLongTerm {
		if e := normExpiry(s); e == custos.LongTerm {
			return e
		}
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		c.add(field, custos.CodeInvalidDate)
		return s
	}
	if notFuture && d.After(c.now) {
		c.add(field, "future_date")
	}
	return s
}

func (c *checker) phone(field, s string) string {
	p := NormalizePhone(s)
	if p == "" {
		return ""
	}
	if !mobileRe.MatchString(p) && !landlineRe.MatchString(p) && !intlPhoneRe.MatchString(p) {
		c.add(field, custos.CodeInvalidFormat)
	}
	return p
}

// idDoc validates one identity document number against its type and returns
// the normalised number and what the number encodes.
func (c *checker) idDoc(typeField, numField, idType, number string, required bool) (string, string, idcard.Result) {
	idType = strings.TrimSpace(idType)
	number = strings.TrimSpace(number)
	if idType == "" && number == "" {
		if required {
			c.add(typeField, custos.CodeRequired)
			c.add(numField, custos.CodeRequired)
		}
		return "", "", idcard.Result{}
	}
	if !idcard.Type(idType).Valid() {
		if idType == "" {
			c.add(typeField, custos.CodeRequired)
		} else {
			c.v.Add(typeField, custos.CodeNotAllowed, custos.Message{ZH: "不支持的证件类型", EN: "unsupported identity document type"})
		}
		return idType, number, idcard.Result{}
	}
	if number == "" {
		c.add(numField, custos.CodeRequired)
		return idType, "", idcard.Result{}
	}
	res, err := idcard.Validate(idcard.Type(idType), number, c.now)
	if err != nil {
		var ie *idcard.Error
		if errors.As(err, &ie) {
			c.v.Add(numField, ie.Code, custos.Message{ZH: ie.MessageZH, EN: ie.MessageEN})
		} else {
			c.add(numField, custos.CodeInvalidFormat)
		}
		return idType, idcard.Normalize(number), res
	}
	return idType, res.Normalized, res
}

func (c *checker) party(prefix string, p *custos.Party, required bool) *custos.Party {
	if p == nil {
		if required {
			c.add(prefix+".name", custos.CodeRequired)
		}
		return nil
	}
	q := *p
	q.Name = c.name(prefix+".name", q.Name, maxName, true)
	q.IDType, q.IDNumber, _ = c.idDoc(prefix+".id_type", prefix+".id_number", q.IDType, q.IDNumber, false)
	q.IDExpiry = c.date(prefix+".id_expiry", q.IDExpiry, true, false)
	q.Phone = c.phone(prefix+".phone", q.Phone)
	if q.Share != "" && !decimalRe.MatchString(q.Share) {
		c.add(prefix+".share", custos.CodeInvalidFormat)
	}
	return &q
}

// ref is the reference data validation needs.
type refData struct {
	categories map[string]custos.Category
	taxonomies map[string]custos.Taxonomy
	fields     map[string][]custos.CustomFieldDef // by category
	purposes   map[string]custos.Purpose
	orgs       map[int64]*custos.Org
	orgCodes   map[string]*custos.Org
	pattern    custos.ArchivePattern
	rules      map[custos.RequestKind]custos.ApprovalRule
	at         time.Time
}

// validateCustomer checks an input and builds the customer it describes.
// Org, owner and reference data must already be resolved by the caller.
func validateCustomer(in *custos.CustomerInput, ref *refData, now time.Time) (*custos.Customer, custos.Validation) {
	c := &checker{now: now}
	cust := &custos.Customer{Type: in.Type}
	switch in.Type {
	case custos.TypePerson, custos.TypeInstitution:
	case "":
		c.add("type", custos.CodeRequired)
		return nil, c.v
	default:
		c.add("type", custos.CodeNotAllowed)
		return nil, c.v
	}

	cat := strings.TrimSpace(in.Category)
	if cat == "" {
		cat = "retail"
		if in.Type == custos.TypeInstitution {
			cat = "corporate"
		}
	}
	if k, ok := ref.categories[cat]; !ok {
		c.add("category", custos.CodeUnknown)
	} else if k.AppliesTo != "" && k.AppliesTo != in.Type {
		c.v.Add("category", custos.CodeNotAllowed, custos.Message{ZH: "该类别不适用于此客户类型", EN: "category does not apply to this customer type"})
	}
	cust.Category = cat

	switch in.Type {
	case custos.TypePerson:
		cust.Person = validatePerson(c, in)
	case custos.TypeInstitution:
		cust.Institution = validateInstitution(c, in)
	}

	if in.Household != nil {
		h := *in.Household
		h.Estate = c.name("household.estate", h.Estate, maxName, true)
		h.Building = c.text("household.building", h.Building, 50, false)
		h.Floor = c.text("household.floor", h.Floor, 20, false)
		h.Unit = c.text("household.unit", h.Unit, 50, false)
		if strings.Contains(h.Estate, "/") {
			c.add("household.estate", custos.CodeInvalidFormat)
		}
		cust.Household = &h
	}

	cust.Classes = map[string]string{}
	for tax, term := range in.Classifications {
		t, ok := ref.taxonomies[tax]
		switch {
		case !ok:
			c.add("classifications."+tax, custos.CodeUnknown)
		case term == "":
		case !t.HasTerm(term):
			c.add("classifications."+tax, custos.CodeNotAllowed)
		default:
			cust.Classes[tax] = term
		}
	}
	cust.RiskReason = c.text("risk_reason", in.RiskReason, maxText, false)
	if cust.Classes[custos.TaxAMLRisk] == "high" && cust.RiskReason == "" {
		c.v.Add("risk_reason", custos.CodeRequired, custos.Message{ZH: "高风险等级须说明理由", EN: "a high risk level needs its reason"})
	}

	custom, cv := custos.ValidateCustom(ref.fields[cat], in.Custom)
	c.v.Merge("", cv)
	if len(custom) > 0 {
		cust.Custom = custom
	}

	switch in.Sensitivity {
	case "", custos.Normal:
		cust.Sensitivity = custos.Normal
	case custos.Protected:
		cust.Sensitivity = custos.Protected
		cust.ProtectedReason = c.text("protected_reason", in.ProtectedReason, 50, false)
		if cust.ProtectedReason == "" {
			cust.ProtectedReason = "manual"
		}
	default:
		c.add("sensitivity", custos.CodeNotAllowed)
	}
	if on, why := custos.ProtectionRule(cust.Category, cust.Classes); on && cust.Sensitivity != custos.Protected {
		cust.Sensitivity, cust.ProtectedReason = custos.Protected, why
	}
	return cust, c.v
}

func validatePerson(c *checker, in *custos.CustomerInput) *custos.Person {
	p := &custos.Person{}
	p.Name = c.name("name", in.Name, maxName, true)
	sex, ok := normSex(in.Sex)
	if !ok {
		c.add("sex", custos.CodeNotAllowed)
	}
	p.Sex = sex
	p.Nationality = strings.ToUpper(strings.TrimSpace(in.Nationality))
	if p.Nationality != "" && !nationalityRe.MatchString(p.Nationality) {
		c.add("nationality", custos.CodeInvalidFormat)
	}
	p.BirthDate = c.date("birth_date", in.BirthDate, false, true)
	p.Occupation = c.text("occupation", in.Occupation, maxName, false)
	p.Employer = c.name("employer", in.Employer, maxName, false)
	p.Address = c.text("address", in.Address, maxAddress, false)
	p.HabitualAddress = c.text("habitual_address", in.HabitualAddress, maxAddress, false)
	if p.HabitualAddress == p.Address {
		p.HabitualAddress = "" // recorded only when it differs (R-A2)
	}
	p.Email = strings.TrimSpace(in.Email)
	switch {
	case p.Email == "", !c.v.CheckName("email", p.Email):
	case !emailRe.MatchString(p.Email) || len(p.Email) > 254:
		c.add("email", custos.CodeInvalidFormat)
	}
	if ph := c.phone("phone", in.Phone); ph != "" {
		p.Phones = append(p.Phones, ph)
	}
	if len(in.Phones) > maxPhones {
		c.add("phones", custos.CodeTooLong)
	}
	for i, s := range in.Phones {
		if ph := c.phone(fmt.Sprintf("phones[%d]", i), s); ph != "" {
			p.Phones = append(p.Phones, ph)
		}
	}

	idType, num, res := c.idDoc("id_type", "id_number", in.IDType, in.IDNumber, true)
	primary := custos.IDDocument{Type: idType, Number: num,
		Authority: c.text("id_authority", in.IDAuthority, maxName, false),
		IssueDate: c.date("id_issue_date", in.IDIssueDate, false, true),
		Expiry:    c.date("id_expiry", in.IDExpiry, true, false)}
	if idType != "" || num != "" {
		p.IDDocuments = append(p.IDDocuments, primary)
	}
	if !res.BirthDate.IsZero() {
		bd := res.BirthDate.Format(time.DateOnly)
		switch {
		case p.BirthDate == "":
			p.BirthDate = bd
		case p.BirthDate != bd:
			c.v.Add("birth_date", "id_mismatch", custos.Message{ZH: "出生日期与证件号码不符", EN: "birth date does not match the ID number"})
		}
	}
	if res.Sex != "" {
		switch {
		case p.Sex == "":
			p.Sex = res.Sex
		case p.Sex != res.Sex:
			c.v.Add("sex", "id_mismatch", custos.Message{ZH: "性别与证件号码不符", EN: "sex does not match the ID number"})
		}
	}
	if p.Nationality == "" && (idType == string(idcard.CNResidentID)) {
		p.Nationality = "CN"
	}
	if len(in.IDDocuments) > maxIDDocs {
		c.add("id_documents", custos.CodeTooLong)
	}
	for i, d := range in.IDDocuments {
		pre := fmt.Sprintf("id_documents[%d]", i)
		t, n, _ := c.idDoc(pre+".type", pre+".number", d.Type, d.Number, true)
		p.IDDocuments = append(p.IDDocuments, custos.IDDocument{Type: t, Number: n,
			Authority: c.text(pre+".authority", d.Authority, maxName, false),
			IssueDate: c.date(pre+".issue_date", d.IssueDate, false, true),
			Expiry:    c.date(pre+".expiry", d.Expiry, true, false)})
	}
	return p
}

func validateInstitution(c *checker, in *custos.CustomerInput) *custos.Institution {
	i := &custos.Institution{}
	i.Name = c.name("name", in.Name, maxName*2, true)
	uscc := strings.TrimSpace(in.USCC)
	if uscc == "" {
		c.add("uscc", custos.CodeRequired)
	} else if res, err := idcard.ValidateUSCC(uscc); err != nil {
		var ie *idcard.Error
		if errors.As(err, &ie) {
			c.v.Add("uscc", ie.Code, custos.Message{ZH: ie.MessageZH, EN: ie.MessageEN})
		} else {
			c.add("uscc", custos.CodeInvalidFormat)
		}
		i.USCC = idcard.Normalize(uscc)
	} else {
		i.USCC = res.Normalized
	}
	i.TaxNumber = strings.ToUpper(strings.TrimSpace(in.TaxNumber))
	if i.TaxNumber != "" && !taxNumberRe.MatchString(i.TaxNumber) {
		c.add("tax_number", custos.CodeInvalidFormat)
	}
	if in.Licence != nil {
		l := *in.Licence
		l.Name = c.name("licence.name", l.Name, maxName, false)
		l.Number = c.text("licence.number", l.Number, 50, false)
		l.Expiry = c.date("licence.expiry", l.Expiry, true, false)
		i.Licence = &l
	}
	i.RegisteredAddress = c.text("address", in.Address, maxAddress, false)
	i.BusinessAddress = c.text("business_address", in.BusinessAddress, maxAddress, false)
	i.BusinessScope = c.text("business_scope", in.BusinessScope, 2000, false)
	i.RegisteredCapital = strings.TrimSpace(in.RegisteredCapital)
	if i.RegisteredCapital != "" && !decimalRe.MatchString(i.RegisteredCapital) {
		c.add("registered_capital", custos.CodeInvalidFormat)
	}
	i.Phone = c.phone("phone", in.Phone)
	i.Fax = c.phone("fax", in.Fax)
	i.Postcode = strings.TrimSpace(in.Postcode)
	if i.Postcode != "" && !postcodeRe.MatchString(i.Postcode) {
		c.add("postcode", custos.CodeInvalidFormat)
	}
	i.ContactName = c.name("contact_name", in.ContactName, maxName, false)
	i.ContactPhone = c.phone("contact_phone", in.ContactPhone)
	i.LegalRepresentative = c.party("legal_representative", in.LegalRepresentative, true)
	i.ResponsiblePerson = c.party("responsible_person", in.ResponsiblePerson, false)
	if len(in.Agents) > maxParties {
		c.add("agents", custos.CodeTooLong)
	}
	for k := range in.Agents {
		if p := c.party(fmt.Sprintf("agents[%d]", k), &in.Agents[k], true); p != nil {
			i.Agents = append(i.Agents, *p)
		}
	}
	if len(in.BeneficialOwners) > maxParties {
		c.add("beneficial_owners", custos.CodeTooLong)
	}
	for k := range in.BeneficialOwners {
		if p := c.party(fmt.Sprintf("beneficial_owners[%d]", k), &in.BeneficialOwners[k], true); p != nil {
			i.BeneficialOwners = append(i.BeneficialOwners, *p)
		}
	}
	return i
}
