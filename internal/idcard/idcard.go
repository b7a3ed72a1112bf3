package idcard

import (
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Type names a kind of identity document. The values are stable: they are
// stored with the customer and sent over the API.
type Type string

// The supported document types, in the order [Types] lists them.
const (
	CNResidentID               Type = "cn_resident_id"                // 居民身份证 (GB 11643)
	HMTResidencePermit         Type = "hmt_residence_permit"          // 港澳台居民居住证, 810000/820000/830000 prefixes, same checksum as resident IDs
	HKMacaoTravelPermit        Type = "hk_macao_travel_permit"        // 港澳居民来往内地通行证 (H/M + 8 digits, optionally + 2-digit renewal count)
	TaiwanTravelPermit         Type = "taiwan_travel_permit"          // 台湾居民来往大陆通行证 (8 digits; older 10-digit forms accepted)
	Passport                   Type = "passport"                      // Chinese E/EA/G… forms and foreign passports by format (alphanumeric 5–17)
	ForeignPermanentResidentID Type = "foreign_permanent_resident_id" // 外国人永久居留身份证: 15-char (3 letters + 12 digits) and 18-digit (starts with 9) forms
)

var allTypes = [...]Type{
	CNResidentID,
	HMTResidencePermit,
	HKMacaoTravelPermit,
	TaiwanTravelPermit,
	Passport,
	ForeignPermanentResidentID,
}

// Types returns every supported document type, in declaration order. The
// slice is a fresh copy.
func Types() []Type {
	return append([]Type(nil), allTypes[:]...)
}

// Valid reports whether t is one of the supported types.
func (t Type) Valid() bool {
	for _, x := range allTypes {
		if t == x {
			return true
		}
	}
	return false
}

// Label returns the document's name in Chinese and English, as printed on
// forms.
func (t Type) Label() (zh, en string) {
	switch t {
	case CNResidentID:
		return "居民身份证", "Resident Identity Card"
	case HMTResidencePermit:
		return "港澳台居民居住证", "Residence Permit for Hong Kong, Macao and Taiwan Residents"
	case HKMacaoTravelPermit:
		return "港澳居民来往内地通行证", "Mainland Travel Permit for Hong Kong and Macao Residents"
	case TaiwanTravelPermit:
		return "台湾居民来往大陆通行证", "Mainland Travel Permit for Taiwan Residents"
	case Passport:
		return "护照", "Passport"
	case ForeignPermanentResidentID:
		return "外国人永久居留身份证", "Foreign Permanent Resident ID Card"
	}
	return "未知证件类型", "Unknown document type"
}

// Result describes a number that passed validation.
type Result struct {
	Type Type
	// Normalized is the number as it should be stored and compared:
	// upper-case, without spaces or hyphens, full-width characters made
	// half-width (see [Normalize]).
	Normalized string
	// Legacy marks a 15-digit first-generation resident ID, or the 15-character
	// permanent resident number issued before December 2023. Both are
	// accepted; the matching warning says what to ask the customer for.
	Legacy bool
	// BirthDate is the birth date the number encodes, at midnight UTC; zero when
	// the document does not encode one. For the old 15-character permanent
	// resident number the century is inferred (20YY when that is possible,
	// otherwise 19YY).
	BirthDate time.Time
	// Sex is "M" or "F" as the order code says, or "" when not encoded.
	Sex string
	// Region is the 6-digit administrative code of a resident ID or residence
	// permit, "" for other documents.
	Region string
	// Warnings are findings that do not make the number invalid.
	Warnings []Error
}

// String describes the result without revealing the number.
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(string(r.Type))
	b.WriteByte(' ')
	b.WriteString(Mask(r.Normalized))
	if r.Legacy {
		b.WriteString(" legacy")
	}
	for _, w := range r.Warnings {
		b.WriteString(" warning=")
		b.WriteString(w.Code)
	}
	return b.String()
}

// LogValue logs the result with the number masked and without the birth
// date, sex or region, which are personal data.
func (r Result) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("type", string(r.Type)),
		slog.String("number", Mask(r.Normalized)),
	}
	if r.Legacy {
		attrs = append(attrs, slog.Bool("legacy", true))
	}
	if len(r.Warnings) > 0 {
		codes := make([]string, len(r.Warnings))
		for i, w := range r.Warnings {
			codes[i] = w.Code
		}
		attrs = append(attrs, slog.Any("warnings", codes))
	}
	return slog.GroupValue(attrs...)
}

// Mask hides the middle of a number for display and logs, keeping at most the
// first three and last two characters (fewer for short numbers), e.g.
// "110*************2X" for an 18-character resident ID.
func Mask(number string) string {
	r := []rune(number)
	n := len(r)
	head, tail := min(3, n/4), min(2, n/4)
	return string(r[:head]) + strings.Repeat("*", n-head-tail) + string(r[n-tail:])
}

// Normalize returns number in the form it is validated and stored in: ASCII
// letters upper-cased; full-width forms (Ａ, １, （, －, …) made half-width;
// white space (including the ideographic space U+3000 and no-break spaces),
// hyphens and dashes, and zero-width characters removed. Invalid UTF-8 bytes
// become U+FFFD. Normalize is idempotent; it does not check anything.
func Normalize(number string) string {
	if isNormalASCII(number) {
		return number
	}
	var b strings.Builder
	b.Grow(len(number))
	for _, r := range number {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII block
			r -= 0xFF01 - 0x21
		}
		switch {
		case r == '-' || isDash(r) || isInvisible(r) || unicode.IsSpace(r):
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isNormalASCII reports whether Normalize would return s unchanged without
// looking at runes: the common case of a clean, upper-case ASCII number.
func isNormalASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c == ' ' || c == '-' || (c >= '\t' && c <= '\r') || (c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

func isDash(r rune) bool {
	switch r {
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', // hyphen … horizontal bar
		'\u2212',           // minus sign
		'\uFE58', '\uFE63': // small em dash, small hyphen-minus
		return true
	}
	return false
}

func isInvisible(r rune) bool {
	switch r {
	case '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF':
		return true
	}
	return false
}

// Validate checks number as a document of type t, as of now (the caller's
// clock, so tests and a transaction's fixed time control it). The number is
// normalised first. The error, if any, is an [*Error]; on error the Result
// still carries Type and Normalized, so a form can show what was checked.
//
// Codes: [CodeUnknownType], [CodeRequired], [CodeFormat], [CodePrefix],
// [CodeRegion], [CodeBirthDate], [CodeFutureBirthDate], [CodeChecksum].
// Structural faults are reported before the check character, so a mistyped
// birth date reads as a birth date problem rather than a checksum one.
func Validate(t Type, number string, now time.Time) (Result, error) {
	res := Result{Type: t}
	if !t.Valid() {
		return res, errUnknownType()
	}
	n := Normalize(number)
	res.Normalized = n
	if n == "" {
		return res, errRequired()
	}
	var err *Error
	switch t {
	case CNResidentID, HMTResidencePermit:
		err = validateResident(&res, now)
	case HKMacaoTravelPermit:
		err = validateHKMacao(&res)
	case TaiwanTravelPermit:
		err = validateTaiwan(&res)
	case Passport:
		err = validatePassport(&res)
	case ForeignPermanentResidentID:
		err = validatePermanentResident(&res, now)
	}
	if err != nil {
		return Result{Type: t, Normalized: n}, err
	}
	return res, nil
}
