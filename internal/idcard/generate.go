package idcard

import (
	"fmt"
	"time"
)

// The generators below make synthetic numbers for tests and the demo data
// set. They are deterministic: the same arguments give the same number, so
// fixtures and screenshots stay stable. A generated number is well-formed,
// not real; it may still coincide with a real person's or company's.

// GenerateResidentID returns a valid 18-character GB 11643 number for the
// 6-digit address code region, the birth date's calendar date, and an order
// code chosen by seq with the parity of male (odd for men). seq values that
// are equal modulo 499 give the same order code; any 499 consecutive values
// give distinct numbers. With region "810000", "820000" or "830000" the result
// is a residence permit number.
//
// It panics if region is not 6 digits or the birth year is outside 0-9999:
// those are programming errors in a fixture. The number only validates as a
// resident ID if region's province is known and the birth date is in range.
func GenerateResidentID(region string, birth time.Time, seq int, male bool) string {
	if len(region) != 6 || !allDigits(region) {
		panic(fmt.Sprintf("idcard: GenerateResidentID: region %q is not 6 digits", region))
	}
	y, m, d := birth.Date()
	if y < 0 || y > 9999 {
		panic(fmt.Sprintf("idcard: GenerateResidentID: birth year %d out of range", y))
	}
	k := seq % 499
	if k < 0 {
		k += 499
	}
	order := 2*k + 2 // 002 … 998
	if male {
		order = 2*k + 1 // 001 … 997
	}
	first17 := fmt.Sprintf("%s%04d%02d%02d%03d", region, y, int(m), d, order)
	return first17 + string(mod112(first17))
}

// Parameters of the scramble that turns seq into an organisation code, so
// that consecutive sequence numbers do not give consecutive codes. 31^6
// codes; the multiplier is prime to 31, which makes the map one-to-one.
const (
	orgSpace      = 31 * 31 * 31 * 31 * 31 * 31
	orgMultiplier = 387_420_489 // 3^18
	orgOffset     = 123_456_789
)

// GenerateUSCC returns a valid unified social credit code of an enterprise
// (registration authority 9, category 1) in the 6-digit region regionCode,
// embedding an organisation code "MA" + 6 characters that satisfies GB 11714.
// Distinct seq values in [0, 31^6) give distinct codes; other values wrap.
//
// It panics if regionCode is not 6 digits.
func GenerateUSCC(regionCode string, seq int) string {
	if len(regionCode) != 6 || !allDigits(regionCode) {
		panic(fmt.Sprintf("idcard: GenerateUSCC: region %q is not 6 digits", regionCode))
	}
	s := uint64(seq) % orgSpace // negative seq wraps, deterministically
	x := (s*orgMultiplier + orgOffset) % orgSpace
	body := []byte("MA000000")
	for i := 7; i >= 2; i-- {
		body[i] = usccAlphabet[x%31]
		x /= 31
	}
	check, _ := orgCodeCheck(string(body)) // body is digits and capitals
	first17 := "91" + regionCode + string(body) + string(check)
	return first17 + string(usccCheck(first17))
}
