package idcard

// validateHKMacao: H (Hong Kong) or M (Macao), the 8-digit lifetime number,
// and optionally the 2-digit renewal count (00 on the first permit), as set
// out in the Ministry of Public Security's numbering rules for the permit.
func validateHKMacao(r *Result) *Error {
	n := r.Normalized
	if (len(n) != 9 && len(n) != 11) || !allDigits(n[1:]) || n[0] < 'A' || n[0] > 'Z' {
		return newError(CodeFormat,
			"港澳居民来往内地通行证号码应为H或M加8位数字（可另加2位换证次数）",
			"a Hong Kong/Macao travel permit number is H or M and 8 digits, optionally followed by the 2-digit renewal count")
	}
	if n[0] != 'H' && n[0] != 'M' {
		return newError(CodePrefix,
			"港澳居民来往内地通行证号码以H（香港）或M（澳门）开头",
			"a Hong Kong/Macao travel permit number starts with H (Hong Kong) or M (Macao)")
	}
	return nil
}

// validateTaiwan: 8 digits since 25 September 2008. Permits from 1992 to 2008
// added the 2-digit issue count and, except those issued in Fujian, Jiangsu
// and Shanghai from June 2006, the issuing office's code (a letter or digit)
// in brackets. The old forms are accepted with a warning; the first 8 digits
// are the holder's lifetime number either way.
func validateTaiwan(r *Result) *Error {
	n := r.Normalized
	switch {
	case len(n) == 8 && allDigits(n):
		return nil
	case len(n) >= 10 && allDigits(n[:10]) && isTaiwanOfficeSuffix(n[10:]):
		r.Warnings = append(r.Warnings, warnLegacyTaiwanPermit())
		return nil
	}
	return newError(CodeFormat,
		"台湾居民来往大陆通行证号码应为8位数字（旧证为10位数字，可带签发机关代码）",
		"a Taiwan travel permit number has 8 digits (old permits: 10 digits, possibly with an issuing-office code)")
}

// isTaiwanOfficeSuffix accepts nothing, "(C)" with C a letter or digit, or a
// bare letter.
func isTaiwanOfficeSuffix(s string) bool {
	switch len(s) {
	case 0:
		return true
	case 1:
		return s[0] >= 'A' && s[0] <= 'Z'
	case 3:
		return s[0] == '(' && s[2] == ')' && isAlnum(s[1])
	}
	return false
}

// Passports are checked by shape only: Chinese ordinary passports (E + 8
// digits, E + letter + 7 digits since 2017, G + 8 digits before), official
// ones (D, S, P …) and foreign passports share no rule beyond 5 to 17 letters
// and digits (ICAO 9303 allows 9 in the MRZ, plus overflow).
func validatePassport(r *Result) *Error {
	n := r.Normalized
	if len(n) < 5 || len(n) > 17 || !allAlnum(n) {
		return newError(CodeFormat,
			"护照号码应为5至17位字母或数字",
			"a passport number has 5 to 17 letters and digits")
	}
	return nil
}

func isAlnum(c byte) bool { return isDigit(c) || (c >= 'A' && c <= 'Z') }

func allAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}
