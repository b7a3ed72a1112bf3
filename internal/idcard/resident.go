package idcard

import "time"

// GB 11643-1999 (ISO 7064 MOD 11-2) weights: 2^(17-i) mod 11 for positions
// 0..16, and the check character for each remainder of the weighted sum.
var (
	mod112Weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	mod112Check   = [11]byte{'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'}
)

// ResidentIDCheckChar returns the GB 11643 (ISO 7064 MOD 11-2) check
// character, '0'-'9' or 'X', for the first 17 digits of an 18-digit resident
// ID, residence permit or foreign permanent resident ID. The error is an
// [*Error] with [CodeFormat] unless first17 is exactly 17 ASCII digits.
func ResidentIDCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 || !allDigits(first17) {
		return 0, newError(CodeFormat, "校验码计算需要17位数字", "the check character needs exactly 17 digits")
	}
	return mod112(first17), nil
}

// mod112 assumes 17 ASCII digits.
func mod112(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * mod112Weights[i]
	}
	return mod112Check[sum%11]
}

// Province-level codes of GB/T 2260 (the first two digits of an address
// code). 71 (Taiwan), 81 (Hong Kong) and 82 (Macao) exist in the standard;
// 83 is only used by residence permits for Taiwan residents (830000), whose
// Taiwan code differs from GB/T 2260's 71.
var mainlandProvinces = func() (p [100]bool) {
	for _, r := range [][2]int{{11, 15}, {21, 23}, {31, 37}, {41, 46}, {50, 54}, {61, 65}} {
		for c := r[0]; c <= r[1]; c++ {
			p[c] = true
		}
	}
	return p
}()

var residentProvinces = func() [100]bool {
	p := mainlandProvinces
	p[71], p[81], p[82] = true, true, true
	return p
}()

// hmtPrefixes are the address codes the 2018 regulation on residence permits
// (港澳台居民居住证申领发放办法, art. 3) assigns: Hong Kong, Macao, Taiwan.
var hmtPrefixes = [...]string{"810000", "820000", "830000"}

// Birth dates before this are refused: nobody alive was born earlier, and it
// catches a mistyped century.
const earliestBirthYear = 1880

// chinaTime is UTC+8 without tzdata; China has had no DST since 1991.
var chinaTime = time.FixedZone("CST", 8*60*60)

// checkBirth checks y-m-d as a birth date against today in China.
func checkBirth(y, m, d int, now time.Time) (time.Time, *Error) {
	b := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || b.Year() != y || int(b.Month()) != m || b.Day() != d || y < earliestBirthYear {
		return time.Time{}, errBirthDate()
	}
	ty, tm, td := now.In(chinaTime).Date()
	if b.After(time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, errFutureBirthDate()
	}
	return b, nil
}

func validateResident(r *Result, now time.Time) *Error {
	n := r.Normalized
	if r.Type == CNResidentID && len(n) == 15 && allDigits(n) {
		return validateResident15(r, now)
	}
	if !isMod112Shape(n) {
		if r.Type == HMTResidencePermit {
			return newError(CodeFormat,
				"港澳台居民居住证号码应为18位：17位数字加1位数字或X",
				"a residence permit number has 18 characters: 17 digits, then a digit or X")
		}
		return newError(CodeFormat,
			"居民身份证号码应为18位（17位数字加1位数字或X），或15位数字",
			"a resident ID number has 18 characters (17 digits, then a digit or X) or 15 digits")
	}
	if r.Type == HMTResidencePermit {
		if !isHMTPrefix(n[:6]) {
			return newError(CodePrefix,
				"港澳台居民居住证号码应以810000（香港）、820000（澳门）或830000（台湾）开头",
				"a residence permit number starts with 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan)")
		}
	} else if !residentProvinces[num(n[:2])] {
		return errRegion()
	}
	birth, err := checkBirth(num(n[6:10]), num(n[10:12]), num(n[12:14]), now)
	if err != nil {
		return err
	}
	if mod112(n[:17]) != n[17] {
		return errChecksum()
	}
	r.BirthDate, r.Sex, r.Region = birth, sexOf(n[16]), n[:6]
	return nil
}

// validateResident15 handles the first-generation number of GB 11643-1989:
// 6-digit address code, YYMMDD (always 19YY), 3-digit order code, no check
// character.
func validateResident15(r *Result, now time.Time) *Error {
	n := r.Normalized
	if !residentProvinces[num(n[:2])] {
		return errRegion()
	}
	birth, err := checkBirth(1900+num(n[6:8]), num(n[8:10]), num(n[10:12]), now)
	if err != nil {
		return err
	}
	r.Legacy = true
	r.BirthDate, r.Sex, r.Region = birth, sexOf(n[14]), n[:6]
	r.Warnings = append(r.Warnings, warnLegacy15Digit())
	return nil
}

// The 15-character permanent resident number was issued until the 18-digit
// card replaced it on 1 December 2023, so its YY cannot mean a later year.
const lastLegacyPermanentResidentYear = 2023

func validatePermanentResident(r *Result, now time.Time) *Error {
	n := r.Normalized
	switch {
	case len(n) == 15 && allUpper(n[:3]) && allDigits(n[3:]):
		// 3-letter nationality, 4-digit issuing region (province + city),
		// YYMMDD, 2 more digits.
		if !mainlandProvinces[num(n[3:5])] {
			return errRegion()
		}
		yy, mm, dd := num(n[7:9]), num(n[9:11]), num(n[11:13])
		birth, err := checkBirth(2000+yy, mm, dd, now)
		if err != nil || 2000+yy > lastLegacyPermanentResidentYear {
			birth, err = checkBirth(1900+yy, mm, dd, now)
			if err != nil {
				return err
			}
		}
		r.Legacy = true
		r.BirthDate = birth
		r.Warnings = append(r.Warnings, warnLegacyPermanentResident())
		return nil
	case isMod112Shape(n):
		// "9", 2-digit province of issue, 3-digit nationality, YYYYMMDD,
		// 3-digit order code, MOD 11-2 check character.
		if n[0] != '9' {
			return newError(CodePrefix,
				"18位外国人永久居留身份证号码以9开头",
				"an 18-digit foreign permanent resident ID number starts with 9")
		}
		if !mainlandProvinces[num(n[1:3])] {
			return errRegion()
		}
		birth, err := checkBirth(num(n[6:10]), num(n[10:12]), num(n[12:14]), now)
		if err != nil {
			return err
		}
		if mod112(n[:17]) != n[17] {
			return errChecksum()
		}
		r.BirthDate, r.Sex = birth, sexOf(n[16])
		return nil
	}
	return newError(CodeFormat,
		"外国人永久居留身份证号码应为18位（以9开头）或旧版15位（3个字母加12位数字）",
		"a foreign permanent resident ID number has 18 characters starting with 9, or (old cards) 3 letters and 12 digits")
}

func isHMTPrefix(s string) bool {
	for _, p := range hmtPrefixes {
		if s == p {
			return true
		}
	}
	return false
}

// isMod112Shape reports 17 digits followed by a digit or X.
func isMod112Shape(n string) bool {
	return len(n) == 18 && allDigits(n[:17]) && (isDigit(n[17]) || n[17] == 'X')
}

func sexOf(order byte) string {
	if (order-'0')%2 == 1 {
		return "M"
	}
	return "F"
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func allUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// num parses a short run of ASCII digits already checked by the caller.
func num(s string) int {
	v := 0
	for i := 0; i < len(s); i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v
}
