// Package idcard validates the identity numbers a Chinese bank records when it
// opens a customer archive (R-A4): the mainland resident ID, the residence
// permit for Hong Kong, Macao and Taiwan residents, the two mainland travel
// permits, passports, the foreign permanent resident ID, and the unified social
// credit code (统一社会信用代码) of organisations.
//
// It only checks what a number says about itself: its shape, its check
// character, the birth date and region code it embeds. Whether the document
// exists and belongs to the person is a question for the online verification
// services, not for this package. It has no dependencies beyond the standard
// library so that every layer (HTTP handlers, import jobs, the demo data set)
// can call it.
//
// # Formats
//
//   - Resident ID (居民身份证, GB 11643-1999): 6-digit administrative code,
//     8-digit birth date, 3-digit order code (odd for men), and an ISO 7064
//     MOD 11-2 check character (0-9 or X). The 15-digit first-generation
//     number (6-digit region, YYMMDD, 3-digit order code, no check character,
//     born 19YY) is still found on old records; it is accepted and flagged
//     ([Result.Legacy], warning [CodeLegacy15Digit]) rather than rejected.
//   - Residence permit for Hong Kong, Macao and Taiwan residents (港澳台居民居住证,
//     2018): built exactly like a resident ID, with the address code 810000,
//     820000 or 830000.
//   - Mainland travel permit for Hong Kong and Macao residents (回乡证): H or M,
//     an 8-digit lifetime number, and optionally the 2-digit renewal count.
//   - Mainland travel permit for Taiwan residents (台胞证): 8 digits since
//     September 2008; older numbers add a 2-digit issue count and, on most, an
//     issuing-office code in brackets. Those are accepted with a warning.
//   - Passports: Chinese (E + 8 digits, E + letter + 7 digits, G + 8 digits,
//     …) and foreign passports vary too much to check more than the shape:
//     5 to 17 letters and digits.
//   - Foreign permanent resident ID (外国人永久居留身份证): since December 2023 an
//     18-digit number built on the resident ID's rules: "9", the 2-digit
//     province of issue, a 3-digit numeric nationality code, the 8-digit birth
//     date, a 3-digit order code (odd for men) and a MOD 11-2 check character.
//     Cards issued before then carry 3 letters (the nationality) and 12 digits,
//     of which digits 4-7 are the issuing region and 8-13 the birth date YYMMDD.
//   - Unified social credit code (GB 32100-2015): 18 characters from
//     0-9 and A-Y without I, O, Z, S and V; registration authority, organisation
//     category, 6-digit region, the 9-character GB 11714 organisation code, and
//     a MOD 31 check character. The embedded organisation code has its own
//     MOD 11 check (GB 11714, which values letters differently); a mismatch
//     there is only a warning: the outer check already catches typing errors,
//     and an odd inner code is a matter for the registration authority, not a
//     reason to turn the customer away.
//
// # Errors
//
// Every failure is an [*Error] with a stable code (the Code… constants) and a
// message in Chinese and English. Messages never repeat the number: they may
// end up in logs, and an identity number is personal information.
//
// # Dates
//
// A birth date is checked against "today" in China Standard Time (UTC+8),
// derived from the caller's now, so that a child born this morning in Beijing
// is not refused by a server whose clock runs on UTC.
package idcard
