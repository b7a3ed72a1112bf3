package idcard

import "strings"

// usccAlphabet is the character set of GB 32100-2015: digits and the upper-case
// letters without I, O, Z, S and V, which are too easily read as 1, 0, 2, 5
// and U. A character's value is its index (A=10 … Y=30).
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var (
	usccValue = func() (v [256]int8) {
		for i := range v {
			v[i] = -1
		}
		for i := 0; i < len(usccAlphabet); i++ {
			v[usccAlphabet[i]] = int8(i)
		}
		return v
	}()
	// usccWeights[i] = 3^i mod 31.
	usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	// GB 11714-1997 weights of the 8 body characters of an organisation code.
	orgCodeWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}
)

// USCCResult describes a unified social credit code that passed validation.
type USCCResult struct {
	Normalized string // see Normalize
	OrgCode    string // the embedded 9-character GB 11714 organisation code (characters 9-17)
	// Warnings, e.g. [CodeOrgCodeChecksum] when the embedded organisation code
	// fails its GB 11714 check: a warning, never an error.
	Warnings []Error
}

// ValidateUSCC checks a unified social credit code (统一社会信用代码, GB 32100):
// 18 characters from 0-9 A-H J-N P-R T U W-Y and a MOD 31 check character. It
// does not check the registration authority and category codes (characters 1
// and 2) against a list, since new ones are added over time. The error is an
// [*Error] with [CodeRequired], [CodeFormat] or [CodeChecksum].
func ValidateUSCC(code string) (USCCResult, error) {
	n := Normalize(code)
	res := USCCResult{Normalized: n}
	if n == "" {
		return res, errRequired()
	}
	if len(n) != 18 {
		return res, newError(CodeFormat,
			"统一社会信用代码应为18位",
			"a unified social credit code has 18 characters")
	}
	for i := 0; i < len(n); i++ {
		if usccValue[n[i]] < 0 {
			if strings.IndexByte("IOZSV", n[i]) >= 0 {
				return res, newError(CodeFormat,
					"统一社会信用代码不使用字母I、O、Z、S、V，请核对是否为数字1、0、2、5或字母U",
					"a unified social credit code never contains I, O, Z, S or V; check for 1, 0, 2, 5 or U")
			}
			return res, newError(CodeFormat,
				"统一社会信用代码只含数字和大写字母",
				"a unified social credit code contains only digits and capital letters")
		}
	}
	if usccCheck(n[:17]) != n[17] {
		return res, errChecksum()
	}
	res.OrgCode = n[8:17]
	if c, ok := orgCodeCheck(res.OrgCode[:8]); !ok || c != res.OrgCode[8] {
		res.Warnings = append(res.Warnings, warnOrgCodeChecksum())
	}
	return res, nil
}

// USCCCheckChar returns the GB 32100 check character for the first 17
// characters of a unified social credit code. The error is an [*Error] with
// [CodeFormat] unless first17 is 17 characters of the code's alphabet
// (upper-case; normalise first).
func USCCCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, newError(CodeFormat, "校验码计算需要17个字符", "the check character needs exactly 17 characters")
	}
	for i := 0; i < 17; i++ {
		if usccValue[first17[i]] < 0 {
			return 0, newError(CodeFormat,
				"含有统一社会信用代码不使用的字符",
				"contains a character not used in unified social credit codes")
		}
	}
	return usccCheck(first17), nil
}

// usccCheck assumes 17 characters of usccAlphabet.
func usccCheck(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(usccValue[first17[i]]) * usccWeights[i]
	}
	return usccAlphabet[(31-sum%31)%31]
}

// orgCodeCheck returns the GB 11714 check character ('0'-'9' or 'X') of an
// 8-character organisation code body. Unlike GB 32100, GB 11714 values every
// letter by its place in the full alphabet (A=10 … Z=35), so the same letter
// weighs differently in the two checks. ok is false if body has a character
// other than a digit or capital letter.
func orgCodeCheck(body string) (c byte, ok bool) {
	sum := 0
	for i := 0; i < 8; i++ {
		var v int
		switch ch := body[i]; {
		case isDigit(ch):
			v = int(ch - '0')
		case ch >= 'A' && ch <= 'Z':
			v = int(ch-'A') + 10
		default:
			return 0, false
		}
		sum += v * orgCodeWeights[i]
	}
	switch d := 11 - sum%11; d {
	case 10:
		return 'X', true
	case 11:
		return '0', true
	default:
		return byte('0' + d), true
	}
}
