package idcard

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// testNow is the fixed clock of these tests: 15 June 2025, 20:00 in Beijing.
var testNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// withCheck completes 17 digits with their GB 11643 check character, to build
// numbers that fail on something other than the checksum.
func withCheck(t testing.TB, first17 string) string {
	t.Helper()
	c, err := ResidentIDCheckChar(first17)
	if err != nil {
		t.Fatalf("withCheck(%q): %v", first17, err)
	}
	return first17 + string(c)
}

func withUSCCCheck(t testing.TB, first17 string) string {
	t.Helper()
	c, err := USCCCheckChar(first17)
	if err != nil {
		t.Fatalf("withUSCCCheck(%q): %v", first17, err)
	}
	return first17 + string(c)
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// validateCase is one row of the table-driven Validate tests. code is the
// expected error code, "" for a valid number; the other fields are checked
// only for valid numbers.
type validateCase struct {
	name       string
	typ        Type
	in         string
	now        time.Time // zero: testNow
	code       string
	normalized string // "": not checked
	legacy     bool
	birth      time.Time
	sex        string
	region     string
	warnings   []string
}

func runValidateCases(t *testing.T, cases []validateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = testNow
			}
			res, err := Validate(tc.typ, tc.in, now)
			if tc.code != "" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Validate(%s, %q) = %+v, %v; want error %s", tc.typ, tc.in, res, err, tc.code)
				}
				if e.Code != tc.code {
					t.Fatalf("Validate(%s, %q) code = %s (%s); want %s", tc.typ, tc.in, e.Code, e.MessageEN, tc.code)
				}
				if e.MessageZH == "" || e.MessageEN == "" {
					t.Errorf("error %s lacks a message: %+v", e.Code, e)
				}
				if res.Type != tc.typ {
					t.Errorf("Result.Type on error = %q, want %q", res.Type, tc.typ)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate(%s, %q) error %v; want valid", tc.typ, tc.in, err)
			}
			if res.Type != tc.typ {
				t.Errorf("Type = %q, want %q", res.Type, tc.typ)
			}
			if tc.normalized != "" && res.Normalized != tc.normalized {
				t.Errorf("Normalized = %q, want %q", res.Normalized, tc.normalized)
			}
			if res.Legacy != tc.legacy {
				t.Errorf("Legacy = %v, want %v", res.Legacy, tc.legacy)
			}
			if !res.BirthDate.Equal(tc.birth) {
				t.Errorf("BirthDate = %v, want %v", res.BirthDate, tc.birth)
			}
			if res.Sex != tc.sex {
				t.Errorf("Sex = %q, want %q", res.Sex, tc.sex)
			}
			if res.Region != tc.region {
				t.Errorf("Region = %q, want %q", res.Region, tc.region)
			}
			var codes []string
			for _, w := range res.Warnings {
				codes = append(codes, w.Code)
				if w.MessageZH == "" || w.MessageEN == "" {
					t.Errorf("warning %s lacks a message", w.Code)
				}
			}
			if !slices.Equal(codes, tc.warnings) {
				t.Errorf("warnings = %v, want %v", codes, tc.warnings)
			}
		})
	}
}

// R-A4: mainland resident ID, GB 11643 checksum, birth date and region code.
func TestValidateResidentID_RA4(t *testing.T) {
	born1949 := date(1949, 12, 31)
	cases := []validateCase{
		{name: "GB 11643 example", typ: CNResidentID, in: "11010519491231002X",
			normalized: "11010519491231002X", birth: born1949, sex: "F", region: "110105"},
		{name: "GB 11643 example, wrong check digit", typ: CNResidentID, in: "110105194912310021", code: CodeChecksum},
		{name: "GB 11643 second example, born 1880", typ: CNResidentID, in: "440524188001010014",
			birth: date(1880, 1, 1), sex: "M", region: "440524"},
		{name: "lower-case x", typ: CNResidentID, in: "11010519491231002x",
			normalized: "11010519491231002X", birth: born1949, sex: "F", region: "110105"},
		{name: "full-width digits and X", typ: CNResidentID, in: "１１０１０５１９４９１２３１００２Ｘ",
			normalized: "11010519491231002X", birth: born1949, sex: "F", region: "110105"},
		{name: "full-width lower-case x", typ: CNResidentID, in: "１１０１０５１９４９１２３１００２ｘ",
			normalized: "11010519491231002X", birth: born1949, sex: "F", region: "110105"},
		{name: "spaces and hyphens", typ: CNResidentID, in: " 110105 1949-1231 002X\t",
			normalized: "11010519491231002X", birth: born1949, sex: "F", region: "110105"},
		{name: "ideographic space and dash", typ: CNResidentID, in: "110105　19491231—002X",
			normalized: "11010519491231002X", birth: born1949, sex: "F", region: "110105"},
		{name: "male order code", typ: CNResidentID, in: withCheck(t, "32010219800101123"),
			birth: date(1980, 1, 1), sex: "M", region: "320102"},
		{name: "Feb 29 in a leap year", typ: CNResidentID, in: withCheck(t, "11010520000229002"),
			birth: date(2000, 2, 29), sex: "F", region: "110105"},
		{name: "born today in Beijing", typ: CNResidentID, in: withCheck(t, "11010520250615001"),
			birth: date(2025, 6, 15), sex: "M", region: "110105"},
		{name: "born 'tomorrow' by UTC, today in Beijing", typ: CNResidentID, in: withCheck(t, "11010520250616001"),
			now: time.Date(2025, 6, 15, 17, 0, 0, 0, time.UTC), birth: date(2025, 6, 16), sex: "M", region: "110105"},
		{name: "Taiwan code 71", typ: CNResidentID, in: withCheck(t, "71000019700101001"),
			birth: date(1970, 1, 1), sex: "M", region: "710000"},
		{name: "Hong Kong code 81", typ: CNResidentID, in: withCheck(t, "81000019700101002"),
			birth: date(1970, 1, 1), sex: "F", region: "810000"},

		{name: "Feb 30", typ: CNResidentID, in: withCheck(t, "11010519490230002"), code: CodeBirthDate},
		{name: "Feb 29 1900 (not a leap year)", typ: CNResidentID, in: withCheck(t, "11010519000229002"), code: CodeBirthDate},
		{name: "month 13", typ: CNResidentID, in: withCheck(t, "11010519491301002"), code: CodeBirthDate},
		{name: "month 00", typ: CNResidentID, in: withCheck(t, "11010519490001002"), code: CodeBirthDate},
		{name: "day 00", typ: CNResidentID, in: withCheck(t, "11010519491200002"), code: CodeBirthDate},
		{name: "April 31", typ: CNResidentID, in: withCheck(t, "11010519490431002"), code: CodeBirthDate},
		{name: "before 1880", typ: CNResidentID, in: withCheck(t, "11010518791231002"), code: CodeBirthDate},
		{name: "born tomorrow in Beijing", typ: CNResidentID, in: withCheck(t, "11010520250616001"), code: CodeFutureBirthDate},
		{name: "born next century", typ: CNResidentID, in: withCheck(t, "11010521000101001"), code: CodeFutureBirthDate},

		{name: "unknown province 99", typ: CNResidentID, in: withCheck(t, "99010519491231002"), code: CodeRegion},
		{name: "unknown province 16", typ: CNResidentID, in: withCheck(t, "16010519491231002"), code: CodeRegion},
		{name: "province 00", typ: CNResidentID, in: withCheck(t, "00010519491231002"), code: CodeRegion},
		{name: "83 is only for residence permits", typ: CNResidentID, in: withCheck(t, "83000019700101001"), code: CodeRegion},

		{name: "empty", typ: CNResidentID, in: "", code: CodeRequired},
		{name: "only spaces", typ: CNResidentID, in: " 　-", code: CodeRequired},
		{name: "17 digits", typ: CNResidentID, in: "11010519491231002", code: CodeFormat},
		{name: "19 characters", typ: CNResidentID, in: "11010519491231002X1", code: CodeFormat},
		{name: "X inside", typ: CNResidentID, in: "1101051949123100X2", code: CodeFormat},
		{name: "letter check other than X", typ: CNResidentID, in: "11010519491231002A", code: CodeFormat},
		{name: "Chinese text", typ: CNResidentID, in: "身份证11010519491231002X", code: CodeFormat},
		{name: "16 digits", typ: CNResidentID, in: "1101054912310021", code: CodeFormat},
		{name: "15 characters with a letter", typ: CNResidentID, in: "11010549123100X", code: CodeFormat},

		{name: "legacy 15-digit", typ: CNResidentID, in: "110105491231002", normalized: "110105491231002",
			legacy: true, birth: born1949, sex: "F", region: "110105", warnings: []string{CodeLegacy15Digit}},
		{name: "legacy 15-digit, male", typ: CNResidentID, in: "320102800101123",
			legacy: true, birth: date(1980, 1, 1), sex: "M", region: "320102", warnings: []string{CodeLegacy15Digit}},
		{name: "legacy 15-digit, Feb 30", typ: CNResidentID, in: "110105490230002", code: CodeBirthDate},
		{name: "legacy 15-digit, unknown region", typ: CNResidentID, in: "990105491231002", code: CodeRegion},
		{name: "legacy 15-digit is never a future date", typ: CNResidentID, in: "110105991231002",
			legacy: true, birth: date(1999, 12, 31), sex: "F", region: "110105", warnings: []string{CodeLegacy15Digit}},
	}
	runValidateCases(t, cases)
}

// R-A4: residence permits for Hong Kong, Macao and Taiwan residents use the
// resident ID's rules with the 810000/820000/830000 address codes.
func TestValidateHMTResidencePermit_RA4(t *testing.T) {
	runValidateCases(t, []validateCase{
		{name: "Hong Kong", typ: HMTResidencePermit, in: withCheck(t, "81000019900101001"),
			birth: date(1990, 1, 1), sex: "M", region: "810000"},
		{name: "Macao", typ: HMTResidencePermit, in: withCheck(t, "82000019851231002"),
			birth: date(1985, 12, 31), sex: "F", region: "820000"},
		{name: "Taiwan", typ: HMTResidencePermit, in: withCheck(t, "83000020010911003"),
			birth: date(2001, 9, 11), sex: "M", region: "830000"},
		{name: "lower-case x and spaces", typ: HMTResidencePermit, in: "810000 19900101 049x",
			normalized: "81000019900101049X", birth: date(1990, 1, 1), sex: "M", region: "810000"},

		{name: "mainland resident ID", typ: HMTResidencePermit, in: "11010519491231002X", code: CodePrefix},
		{name: "81 but not 810000", typ: HMTResidencePermit, in: withCheck(t, "81010019900101001"), code: CodePrefix},
		{name: "840000", typ: HMTResidencePermit, in: withCheck(t, "84000019900101001"), code: CodePrefix},
		{name: "wrong check", typ: HMTResidencePermit, in: "81000019900101001" + string(wrongCheck(t, "81000019900101001")), code: CodeChecksum},
		{name: "impossible date", typ: HMTResidencePermit, in: withCheck(t, "81000019900230001"), code: CodeBirthDate},
		{name: "future date", typ: HMTResidencePermit, in: withCheck(t, "81000020300101001"), code: CodeFutureBirthDate},
		{name: "15 digits", typ: HMTResidencePermit, in: "810000900101001", code: CodeFormat},
		{name: "empty", typ: HMTResidencePermit, in: "", code: CodeRequired},
	})
}

// wrongCheck returns a check character other than the right one.
func wrongCheck(t testing.TB, first17 string) byte {
	c, err := ResidentIDCheckChar(first17)
	if err != nil {
		t.Fatal(err)
	}
	if c == '0' {
		return '1'
	}
	return '0'
}

// R-A4: Hong Kong / Macao and Taiwan permits, by their formats.
func TestValidatePermits_RA4(t *testing.T) {
	runValidateCases(t, []validateCase{
		{name: "HK 8 digits", typ: HKMacaoTravelPermit, in: "H12345678", normalized: "H12345678"},
		{name: "Macao 8 digits", typ: HKMacaoTravelPermit, in: "M87654321"},
		{name: "HK with renewal count", typ: HKMacaoTravelPermit, in: "H1234567801", normalized: "H1234567801"},
		{name: "HK lower-case with spaces", typ: HKMacaoTravelPermit, in: "h 1234 5678", normalized: "H12345678"},
		{name: "HK full-width", typ: HKMacaoTravelPermit, in: "Ｈ１２３４５６７８", normalized: "H12345678"},
		{name: "HK wrong letter", typ: HKMacaoTravelPermit, in: "K12345678", code: CodePrefix},
		{name: "HK wrong letter with count", typ: HKMacaoTravelPermit, in: "W1234567801", code: CodePrefix},
		{name: "HK 7 digits", typ: HKMacaoTravelPermit, in: "H1234567", code: CodeFormat},
		{name: "HK 9 digits", typ: HKMacaoTravelPermit, in: "H123456789", code: CodeFormat},
		{name: "HK letter inside", typ: HKMacaoTravelPermit, in: "HA2345678", code: CodeFormat},
		{name: "HK no letter", typ: HKMacaoTravelPermit, in: "123456789", code: CodeFormat},
		{name: "HK empty", typ: HKMacaoTravelPermit, in: "  ", code: CodeRequired},

		{name: "Taiwan 8 digits", typ: TaiwanTravelPermit, in: "12345678", normalized: "12345678"},
		{name: "Taiwan with spaces", typ: TaiwanTravelPermit, in: "1234 5678", normalized: "12345678"},
		{name: "Taiwan old 10 digits", typ: TaiwanTravelPermit, in: "1234567801",
			warnings: []string{CodeLegacyTaiwanPermit}},
		{name: "Taiwan old with office code", typ: TaiwanTravelPermit, in: "1234567801(B)", normalized: "1234567801(B)",
			warnings: []string{CodeLegacyTaiwanPermit}},
		{name: "Taiwan old with full-width brackets", typ: TaiwanTravelPermit, in: "1234567801（ｂ）", normalized: "1234567801(B)",
			warnings: []string{CodeLegacyTaiwanPermit}},
		{name: "Taiwan old with digit office code", typ: TaiwanTravelPermit, in: "1234567801(3)",
			warnings: []string{CodeLegacyTaiwanPermit}},
		{name: "Taiwan old with bare letter", typ: TaiwanTravelPermit, in: "1234567801B",
			warnings: []string{CodeLegacyTaiwanPermit}},
		{name: "Taiwan 7 digits", typ: TaiwanTravelPermit, in: "1234567", code: CodeFormat},
		{name: "Taiwan 9 digits", typ: TaiwanTravelPermit, in: "123456789", code: CodeFormat},
		{name: "Taiwan 11 digits", typ: TaiwanTravelPermit, in: "12345678012", code: CodeFormat},
		{name: "Taiwan letter first", typ: TaiwanTravelPermit, in: "A1234567", code: CodeFormat},
		{name: "Taiwan unbalanced bracket", typ: TaiwanTravelPermit, in: "1234567801(B", code: CodeFormat},
		{name: "Taiwan ROC ID is not a permit", typ: TaiwanTravelPermit, in: "A123456789", code: CodeFormat},
	})
}

// R-A4: passports by format.
func TestValidatePassport_RA4(t *testing.T) {
	runValidateCases(t, []validateCase{
		{name: "Chinese E + 8", typ: Passport, in: "E12345678", normalized: "E12345678"},
		{name: "Chinese EA + 7", typ: Passport, in: "EA1234567"},
		{name: "Chinese G + 8", typ: Passport, in: "G12345678"},
		{name: "Chinese lower-case", typ: Passport, in: "ea 123 4567", normalized: "EA1234567"},
		{name: "foreign digits only", typ: Passport, in: "123456789"},
		{name: "foreign short", typ: Passport, in: "AB123"},
		{name: "foreign 17", typ: Passport, in: "ABCDEFGHIJ1234567"},
		{name: "too short", typ: Passport, in: "A123", code: CodeFormat},
		{name: "too long", typ: Passport, in: "ABCDEFGHIJ12345678", code: CodeFormat},
		{name: "punctuation", typ: Passport, in: "E1234567!", code: CodeFormat},
		{name: "slash", typ: Passport, in: "E1234/5678", code: CodeFormat},
		{name: "Chinese text", typ: Passport, in: "护照E12345678", code: CodeFormat},
		{name: "empty", typ: Passport, in: "", code: CodeRequired},
	})
}

// R-A4: foreign permanent resident IDs, 2023 18-digit and older 15-character forms.
func TestValidateForeignPermanentResidentID_RA4(t *testing.T) {
	runValidateCases(t, []validateCase{
		// 9, Beijing (11), nationality 398 (Kazakhstan), 1990-12-31, order 002.
		{name: "18-digit", typ: ForeignPermanentResidentID, in: withCheck(t, "91139819901231002"),
			birth: date(1990, 12, 31), sex: "F"},
		{name: "18-digit male, X check, lower-case", typ: ForeignPermanentResidentID, in: "932840198501010 09x",
			normalized: "93284019850101009X", birth: date(1985, 1, 1), sex: "M"},
		{name: "18-digit wrong check", typ: ForeignPermanentResidentID,
			in: "91139819901231002" + string(wrongCheck(t, "91139819901231002")), code: CodeChecksum},
		{name: "18-digit resident ID is not a permanent resident ID", typ: ForeignPermanentResidentID,
			in: "11010519491231002X", code: CodePrefix},
		{name: "18-digit unknown province", typ: ForeignPermanentResidentID, in: withCheck(t, "99939819901231002"), code: CodeRegion},
		{name: "18-digit Hong Kong is not an issuing province", typ: ForeignPermanentResidentID, in: withCheck(t, "98139819901231002"), code: CodeRegion},
		{name: "18-digit Feb 30", typ: ForeignPermanentResidentID, in: withCheck(t, "91139819900230002"), code: CodeBirthDate},
		{name: "18-digit future", typ: ForeignPermanentResidentID, in: withCheck(t, "91139820300101002"), code: CodeFutureBirthDate},

		{name: "15-char", typ: ForeignPermanentResidentID, in: "KAZ110090123105", normalized: "KAZ110090123105",
			legacy: true, birth: date(1990, 12, 31), warnings: []string{CodeLegacyPermanentResidentID}},
		{name: "15-char lower-case with spaces", typ: ForeignPermanentResidentID, in: "usa 3100 800101 01", normalized: "USA310080010101",
			legacy: true, birth: date(1980, 1, 1), warnings: []string{CodeLegacyPermanentResidentID}},
		{name: "15-char born in the 2000s", typ: ForeignPermanentResidentID, in: "CAN440005063001",
			legacy: true, birth: date(2005, 6, 30), warnings: []string{CodeLegacyPermanentResidentID}},
		{name: "15-char YY after 2023 means 19YY", typ: ForeignPermanentResidentID, in: "GBR310030101001",
			legacy: true, birth: date(1930, 10, 10), warnings: []string{CodeLegacyPermanentResidentID}},
		{name: "15-char Feb 29 00 is 2000", typ: ForeignPermanentResidentID, in: "FRA110000022901",
			legacy: true, birth: date(2000, 2, 29), warnings: []string{CodeLegacyPermanentResidentID}},
		{name: "15-char unknown region", typ: ForeignPermanentResidentID, in: "KAZ990090123105", code: CodeRegion},
		{name: "15-char month 00", typ: ForeignPermanentResidentID, in: "KAZ110090003105", code: CodeBirthDate},
		{name: "15-char Feb 30", typ: ForeignPermanentResidentID, in: "KAZ110090023005", code: CodeBirthDate},
		{name: "15-char digit in letters", typ: ForeignPermanentResidentID, in: "KA1110090123105", code: CodeFormat},
		{name: "15-char letter in digits", typ: ForeignPermanentResidentID, in: "KAZ11009012310A", code: CodeFormat},
		{name: "16 characters", typ: ForeignPermanentResidentID, in: "KAZ1100901231055", code: CodeFormat},
		{name: "empty", typ: ForeignPermanentResidentID, in: "", code: CodeRequired},
	})
}

// R-A4: unified social credit code (GB 32100) with its embedded GB 11714 code.
func TestValidateUSCC_RA4(t *testing.T) {
	badOrg := withUSCCCheck(t, "91350100M000100Y5") // org code check should be 4
	cases := []struct {
		name     string
		in       string
		code     string
		norm     string
		org      string
		warnings []string
	}{
		{name: "example", in: "91350100M000100Y43", norm: "91350100M000100Y43", org: "M000100Y4"},
		{name: "example, wrong check", in: "91350100M000100Y44", code: CodeChecksum},
		{name: "lower-case", in: "91350100m000100y43", norm: "91350100M000100Y43", org: "M000100Y4"},
		{name: "spaces and hyphens", in: "9135 0100-M000 100Y 43", norm: "91350100M000100Y43", org: "M000100Y4"},
		{name: "full-width", in: "９１３５０１００Ｍ０００１００Ｙ４３", norm: "91350100M000100Y43", org: "M000100Y4"},
		{name: "org-code check fails: warning only", in: badOrg, norm: badOrg, org: "M000100Y5",
			warnings: []string{CodeOrgCodeChecksum}},
		{name: "forbidden I", in: "91350100I000100Y43", code: CodeFormat},
		{name: "forbidden O", in: "91350100O000100Y43", code: CodeFormat},
		{name: "forbidden Z", in: "91350100Z000100Y43", code: CodeFormat},
		{name: "forbidden S", in: "91350100S000100Y43", code: CodeFormat},
		{name: "forbidden V", in: "91350100V000100Y43", code: CodeFormat},
		{name: "punctuation", in: "91350100M000100Y4.", code: CodeFormat},
		{name: "17 characters", in: "91350100M000100Y4", code: CodeFormat},
		{name: "19 characters", in: "91350100M000100Y433", code: CodeFormat},
		{name: "empty", in: " ", code: CodeRequired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ValidateUSCC(tc.in)
			if tc.code != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != tc.code {
					t.Fatalf("ValidateUSCC(%q) = %+v, %v; want %s", tc.in, res, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("ValidateUSCC(%q): %v", tc.in, err)
			}
			if res.Normalized != tc.norm || res.OrgCode != tc.org {
				t.Errorf("ValidateUSCC(%q) = %+v; want normalized %q, org code %q", tc.in, res, tc.norm, tc.org)
			}
			var codes []string
			for _, w := range res.Warnings {
				codes = append(codes, w.Code)
			}
			if !slices.Equal(codes, tc.warnings) {
				t.Errorf("warnings = %v, want %v", codes, tc.warnings)
			}
		})
	}
}

// R-A4: the check-character functions refuse input they cannot compute on.
func TestCheckChars_RA4(t *testing.T) {
	if c, err := ResidentIDCheckChar("11010519491231002"); err != nil || c != 'X' {
		t.Errorf("ResidentIDCheckChar(GB example) = %q, %v; want 'X'", c, err)
	}
	if c, err := USCCCheckChar("91350100M000100Y4"); err != nil || c != '3' {
		t.Errorf("USCCCheckChar(example) = %q, %v; want '3'", c, err)
	}
	if c, ok := orgCodeCheck("M000100Y"); !ok || c != '4' {
		t.Errorf("orgCodeCheck(M000100Y) = %q, %v; want '4'", c, ok)
	}
	for _, in := range []string{"", "1101051949123100", "110105194912310021", "1101051949123100X", "１１０１０５１９４９１２３１００"} {
		if _, err := ResidentIDCheckChar(in); !errors.Is(err, &Error{Code: CodeFormat}) {
			t.Errorf("ResidentIDCheckChar(%q) error = %v; want %s", in, err, CodeFormat)
		}
	}
	for _, in := range []string{"", "91350100M000100Y", "91350100M000100Y43", "91350100I000100Y4", "91350100m000100y4"} {
		if _, err := USCCCheckChar(in); !errors.Is(err, &Error{Code: CodeFormat}) {
			t.Errorf("USCCCheckChar(%q) error = %v; want %s", in, err, CodeFormat)
		}
	}
}

// R-A4: numbers are compared and stored in one normal form.
func TestNormalize_RA4(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"11010519491231002X", "11010519491231002X"},
		{"11010519491231002x", "11010519491231002X"},
		{"１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"},
		{" 110105\t1949-1231\n002X ", "11010519491231002X"},
		{"110105　1949－1231‐002X", "11010519491231002X"},
		{"110105\u00a01949\u200b1231\ufeff002X", "11010519491231002X"},
		{"h1234567801", "H1234567801"},
		{"1234567801（ｂ）", "1234567801(B)"},
		{"护照e123", "护照E123"},
		{"\xff1", "\ufffd1"},
		{"ı", "ı"}, // only ASCII letters are upper-cased: no Unicode folding to I
	}
	for _, tc := range cases {
		got := Normalize(tc.in)
		if got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := Normalize(got); again != got {
			t.Errorf("Normalize not idempotent on %q: %q then %q", tc.in, got, again)
		}
	}
}

// R-A4: the document types and their stable names.
func TestTypes_RA4(t *testing.T) {
	want := []Type{CNResidentID, HMTResidencePermit, HKMacaoTravelPermit, TaiwanTravelPermit, Passport, ForeignPermanentResidentID}
	got := Types()
	if !slices.Equal(got, want) {
		t.Fatalf("Types() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if Types()[0] != CNResidentID {
		t.Error("Types() returns a shared slice")
	}
	seen := map[string]bool{}
	for _, typ := range want {
		if !typ.Valid() {
			t.Errorf("%s.Valid() = false", typ)
		}
		zh, en := typ.Label()
		if zh == "" || en == "" || seen[zh] || seen[en] {
			t.Errorf("%s.Label() = %q, %q: empty or duplicate", typ, zh, en)
		}
		seen[zh], seen[en] = true, true
	}
	for _, typ := range []Type{"", "CN_RESIDENT_ID", "id_card", "passport "} {
		if typ.Valid() {
			t.Errorf("Type(%q).Valid() = true", typ)
		}
		if _, err := Validate(typ, "11010519491231002X", testNow); !errors.Is(err, &Error{Code: CodeUnknownType}) {
			t.Errorf("Validate(%q) error = %v; want %s", typ, err, CodeUnknownType)
		}
	}
}

// R-A4: errors carry a stable code and both languages; results never print the number.
func TestErrorAndMasking_RA4(t *testing.T) {
	_, err := Validate(CNResidentID, "110105194912310021", testNow)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *Error", err)
	}
	if e.Error() != e.MessageEN || e.MessageZH == "" {
		t.Errorf("Error() = %q, MessageEN %q, MessageZH %q", e.Error(), e.MessageEN, e.MessageZH)
	}
	if !errors.Is(err, &Error{Code: CodeChecksum}) || errors.Is(err, &Error{Code: CodeFormat}) {
		t.Error("errors.Is does not match by code")
	}
	if strings.Contains(e.MessageEN, "110105") || strings.Contains(e.MessageZH, "110105") {
		t.Error("error message repeats the number")
	}

	res, err := Validate(CNResidentID, "11010519491231002X", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.String(); strings.Contains(s, "19491231") || !strings.Contains(s, "110*************2X") {
		t.Errorf("String() = %q; want the number masked", s)
	}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("checked", "id", res)
	if strings.Contains(buf.String(), "19491231") || strings.Contains(buf.String(), "1949-12-31") {
		t.Errorf("log line leaks the number or birth date: %s", buf.String())
	}
	for in, want := range map[string]string{"": "", "AB": "**", "ABCD": "A**D", "H12345678": "H1*****78"} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// knownRegions are address codes the generator property tests draw from.
var knownRegions = []string{"110105", "310115", "440305", "510104", "650102", "230103", "460105", "540102", "810000", "820000", "830000"}

// R-A4: generated resident IDs are valid and decode to what was asked for,
// over many pseudo-random seeds.
func TestGenerateResidentID_RA4(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 11643))
	earliest, latest := date(1900, 1, 1), date(2025, 6, 15)
	span := int64(latest.Sub(earliest) / (24 * time.Hour))
	for i := 0; i < 5000; i++ {
		region := knownRegions[rng.IntN(len(knownRegions))]
		birth := earliest.AddDate(0, 0, int(rng.Int64N(span+1)))
		seq := rng.IntN(2000) - 500
		male := rng.IntN(2) == 0
		id := GenerateResidentID(region, birth, seq, male)
		if again := GenerateResidentID(region, birth, seq, male); again != id {
			t.Fatalf("not deterministic: %s then %s", id, again)
		}
		typ := CNResidentID
		if isHMTPrefix(region) {
			typ = HMTResidencePermit
		}
		res, err := Validate(typ, id, testNow)
		if err != nil {
			t.Fatalf("GenerateResidentID(%s, %s, %d, %v) = %s: %v", region, birth.Format(time.DateOnly), seq, male, id, err)
		}
		wantSex := map[bool]string{true: "M", false: "F"}[male]
		if !res.BirthDate.Equal(birth) || res.Sex != wantSex || res.Region != region {
			t.Fatalf("%s decodes to %v %s %s; want %v %s %s", id, res.BirthDate, res.Sex, res.Region, birth, wantSex, region)
		}
		if id[14:17] == "000" {
			t.Fatalf("%s has order code 000", id)
		}
	}
	seen := map[string]bool{}
	for seq := range 499 {
		for _, male := range []bool{true, false} {
			id := GenerateResidentID("110105", date(1990, 1, 1), seq, male)
			if seen[id] {
				t.Fatalf("seq %d male %v repeats %s", seq, male, id)
			}
			seen[id] = true
		}
	}
}

// R-A4: generated credit codes are valid, embed a valid organisation code and
// are distinct for distinct sequence numbers.
func TestGenerateUSCC_RA4(t *testing.T) {
	rng := rand.New(rand.NewPCG(32100, 11714))
	seen := map[string]bool{}
	for i := 0; i < 20000; i++ {
		region := knownRegions[rng.IntN(len(knownRegions))]
		seq := i
		if i%2 == 1 {
			seq = int(rng.Int64()) // any int, negative too
		}
		code := GenerateUSCC(region, seq)
		if GenerateUSCC(region, seq) != code {
			t.Fatalf("GenerateUSCC(%s, %d) not deterministic", region, seq)
		}
		res, err := ValidateUSCC(code)
		if err != nil || len(res.Warnings) != 0 {
			t.Fatalf("GenerateUSCC(%s, %d) = %s: %v %v", region, seq, code, err, res.Warnings)
		}
		if code[2:8] != region || !strings.HasPrefix(code, "91") {
			t.Fatalf("GenerateUSCC(%s, %d) = %s: wrong prefix or region", region, seq, code)
		}
		if i%2 == 0 {
			if seen[code[8:]] {
				t.Fatalf("GenerateUSCC(_, %d) repeats %s", seq, code)
			}
			seen[code[8:]] = true
		}
	}
}

func TestGeneratorsPanicOnBadRegion(t *testing.T) {
	for name, f := range map[string]func(){
		"resident 5 digits": func() { GenerateResidentID("11010", date(1990, 1, 1), 1, true) },
		"resident letters":  func() { GenerateResidentID("11010A", date(1990, 1, 1), 1, true) },
		"uscc 7 digits":     func() { GenerateUSCC("1101050", 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

var (
	sinkResult Result
	sinkUSCC   USCCResult
	sinkString string
)

func BenchmarkValidateResidentID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkResult, _ = Validate(CNResidentID, "11010519491231002X", testNow)
	}
}

func BenchmarkValidateResidentIDUntidy(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkResult, _ = Validate(CNResidentID, "110105 1949 1231 002x", testNow)
	}
}

func BenchmarkValidateUSCC(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkUSCC, _ = ValidateUSCC("91350100M000100Y43")
	}
}

func BenchmarkGenerateResidentID(b *testing.B) {
	b.ReportAllocs()
	birth := date(1990, 1, 1)
	i := 0
	for b.Loop() {
		sinkString = GenerateResidentID("110105", birth, i, i%2 == 0)
		i++
	}
}
