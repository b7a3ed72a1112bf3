package idcard

// Error is a validation failure with a stable code and bilingual message. It
// never contains the number itself.
type Error struct {
	Code      string // one of the Code… constants
	MessageZH string
	MessageEN string
}

// Error returns the English message.
func (e *Error) Error() string { return e.MessageEN }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, &idcard.Error{Code: idcard.CodeChecksum}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// Error codes returned by [Validate], [ValidateUSCC] and the check-character
// functions. They are stable: clients and the HTTP layer depend on them.
const (
	CodeRequired        = "required"           // the number is empty after normalisation
	CodeUnknownType     = "unknown_type"       // the document type is not one of Types()
	CodeFormat          = "invalid_format"     // wrong length or characters for the document type
	CodeChecksum        = "invalid_checksum"   // the check character does not match
	CodeBirthDate       = "invalid_birth_date" // the embedded birth date is not a real date, or before 1880
	CodeFutureBirthDate = "future_birth_date"  // the embedded birth date is after today (China time)
	CodeRegion          = "unknown_region"     // the embedded province code does not exist
	CodePrefix          = "invalid_prefix"     // the leading characters do not fit the document type
)

// Warning codes, found in Result.Warnings and USCCResult.Warnings. A warning
// never makes a number invalid.
const (
	// CodeLegacy15Digit: a 15-digit first-generation resident ID. Ask for
	// the 18-digit number on the customer's current card.
	CodeLegacy15Digit = "legacy_15_digit"
	// CodeLegacyPermanentResidentID: the 15-character permanent resident
	// number of cards issued before December 2023.
	CodeLegacyPermanentResidentID = "legacy_permanent_resident_id"
	// CodeLegacyTaiwanPermit: a Taiwan travel permit number with issue count
	// (and issuing-office code) from before September 2008; the holder's
	// lifetime number is its first 8 digits.
	CodeLegacyTaiwanPermit = "legacy_taiwan_permit"
	// CodeOrgCodeChecksum: the GB 11714 organisation code inside a unified
	// social credit code fails its own check.
	CodeOrgCodeChecksum = "org_code_checksum"
)

func newError(code, zh, en string) *Error {
	return &Error{Code: code, MessageZH: zh, MessageEN: en}
}

func errRequired() *Error {
	return newError(CodeRequired, "请填写证件号码", "the identity number is required")
}

func errUnknownType() *Error {
	return newError(CodeUnknownType, "不支持的证件类型", "unsupported identity document type")
}

func errChecksum() *Error {
	return newError(CodeChecksum, "校验码不符，请核对号码", "the check character does not match; please re-check the number")
}

func errBirthDate() *Error {
	return newError(CodeBirthDate, "号码中的出生日期无效", "the birth date in the number is not a valid date")
}

func errFutureBirthDate() *Error {
	return newError(CodeFutureBirthDate, "号码中的出生日期晚于今天", "the birth date in the number is in the future")
}

func errRegion() *Error {
	return newError(CodeRegion, "号码中的地区代码不存在", "the region code in the number is unknown")
}

func warnLegacy15Digit() Error {
	return Error{Code: CodeLegacy15Digit,
		MessageZH: "15位第一代居民身份证号码，请核对并登记18位号码",
		MessageEN: "15-digit first-generation resident ID number; record the 18-digit number from the current card"}
}

func warnLegacyPermanentResident() Error {
	return Error{Code: CodeLegacyPermanentResidentID,
		MessageZH: "旧版15位外国人永久居留证号码；换发新版证件后号码为18位",
		MessageEN: "old 15-character permanent resident number; cards issued since December 2023 carry an 18-digit number"}
}

func warnLegacyTaiwanPermit() Error {
	return Error{Code: CodeLegacyTaiwanPermit,
		MessageZH: "旧版台胞证号码，含签发次数；终身号为前8位数字",
		MessageEN: "old-form Taiwan travel permit number with issue count; the holder's lifetime number is the first 8 digits"}
}

func warnOrgCodeChecksum() Error {
	return Error{Code: CodeOrgCodeChecksum,
		MessageZH: "统一社会信用代码中的组织机构代码校验码不符（GB 11714），请核对营业执照",
		MessageEN: "the organisation code inside the credit code fails its GB 11714 check; please check against the licence"}
}
