package idcard

import (
	"errors"
	"testing"
	"time"
)

// The fuzz targets (R-A4) hold every validator to three promises: it never
// panics, it fails only with a known *Error code, and what it accepts is
// consistent — above all, the check character of an accepted number
// recomputes. Seed corpora live in testdata/fuzz/<FuzzName>/.

// fuzzNow is fixed so that a corpus entry means the same thing every day.
var fuzzNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

var knownCodes = map[string]bool{
	CodeRequired: true, CodeUnknownType: true, CodeFormat: true, CodeChecksum: true,
	CodeBirthDate: true, CodeFutureBirthDate: true, CodeRegion: true, CodePrefix: true,
}

// checkFailure asserts err is a known *Error with both messages.
func checkFailure(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	if !knownCodes[e.Code] || e.MessageZH == "" || e.MessageEN == "" {
		t.Fatalf("unexpected error %+v", e)
	}
}

// checkCommon asserts what holds for every accepted number, whatever its type.
func checkCommon(t *testing.T, typ Type, in string, res Result) {
	t.Helper()
	if res.Type != typ {
		t.Fatalf("Type = %q, want %q", res.Type, typ)
	}
	if res.Normalized != Normalize(in) || res.Normalized == "" {
		t.Fatalf("Normalized = %q, Normalize(%q) = %q", res.Normalized, in, Normalize(in))
	}
	for i := 0; i < len(res.Normalized); i++ {
		if c := res.Normalized[i]; !isAlnum(c) && c != '(' && c != ')' {
			t.Fatalf("accepted %q with character %q", res.Normalized, c)
		}
	}
	if !res.BirthDate.IsZero() {
		if res.BirthDate.Year() < earliestBirthYear || res.BirthDate.After(fuzzNow.Add(24*time.Hour)) {
			t.Fatalf("birth date %v out of range", res.BirthDate)
		}
	}
	if res.Sex != "" && res.Sex != "M" && res.Sex != "F" {
		t.Fatalf("Sex = %q", res.Sex)
	}
	// Validating the normal form again gives the same answer.
	again, err := Validate(typ, res.Normalized, fuzzNow)
	if err != nil || again.Normalized != res.Normalized || again.Legacy != res.Legacy ||
		!again.BirthDate.Equal(res.BirthDate) || again.Sex != res.Sex || again.Region != res.Region ||
		len(again.Warnings) != len(res.Warnings) {
		t.Fatalf("revalidating %q: %+v, %v; first %+v", res.Normalized, again, err, res)
	}
}

// checkMod112 asserts an accepted 18-character number's check character
// recomputes, and that birth date and sex are read from the right places.
func checkMod112(t *testing.T, res Result) {
	t.Helper()
	n := res.Normalized
	c, err := ResidentIDCheckChar(n[:17])
	if err != nil || c != n[17] {
		t.Fatalf("accepted %q but check character recomputes to %q (%v)", n, c, err)
	}
	if got := res.BirthDate.Format("20060102"); got != n[6:14] {
		t.Fatalf("%q: birth date %s", n, got)
	}
	if want := sexOf(n[16]); res.Sex != want {
		t.Fatalf("%q: sex %q, want %q", n, res.Sex, want)
	}
}

func fuzzType(f *testing.F, typ Type, check func(t *testing.T, in string, res Result)) {
	f.Fuzz(func(t *testing.T, in string) {
		res, err := Validate(typ, in, fuzzNow)
		if err != nil {
			checkFailure(t, err)
			if res.Type != typ || res.Normalized != Normalize(in) {
				t.Fatalf("result on error = %+v", res)
			}
			return
		}
		checkCommon(t, typ, in, res)
		check(t, in, res)
	})
}

func FuzzValidateResidentID(f *testing.F) {
	fuzzType(f, CNResidentID, func(t *testing.T, in string, res Result) {
		n := res.Normalized
		if res.Legacy {
			if len(n) != 15 || !allDigits(n) || len(res.Warnings) != 1 || res.Warnings[0].Code != CodeLegacy15Digit {
				t.Fatalf("legacy result %+v", res)
			}
			return
		}
		if len(n) != 18 || res.Region != n[:6] || !residentProvinces[num(n[:2])] {
			t.Fatalf("accepted %q with region %q", n, res.Region)
		}
		checkMod112(t, res)
	})
}

func FuzzValidateHMTResidencePermit(f *testing.F) {
	fuzzType(f, HMTResidencePermit, func(t *testing.T, in string, res Result) {
		n := res.Normalized
		if res.Legacy || len(n) != 18 || !isHMTPrefix(n[:6]) || res.Region != n[:6] {
			t.Fatalf("accepted %+v", res)
		}
		checkMod112(t, res)
	})
}

func FuzzValidateHKMacaoTravelPermit(f *testing.F) {
	fuzzType(f, HKMacaoTravelPermit, func(t *testing.T, in string, res Result) {
		n := res.Normalized
		if (n[0] != 'H' && n[0] != 'M') || (len(n) != 9 && len(n) != 11) || !allDigits(n[1:]) {
			t.Fatalf("accepted %q", n)
		}
	})
}

func FuzzValidateTaiwanTravelPermit(f *testing.F) {
	fuzzType(f, TaiwanTravelPermit, func(t *testing.T, in string, res Result) {
		n := res.Normalized
		if len(n) < 8 || !allDigits(n[:8]) || (len(n) == 8) != (len(res.Warnings) == 0) {
			t.Fatalf("accepted %q with warnings %v", n, res.Warnings)
		}
	})
}

func FuzzValidatePassport(f *testing.F) {
	fuzzType(f, Passport, func(t *testing.T, in string, res Result) {
		n := res.Normalized
		if len(n) < 5 || len(n) > 17 || !allAlnum(n) {
			t.Fatalf("accepted %q", n)
		}
	})
}

func FuzzValidateForeignPermanentResidentID(f *testing.F) {
	fuzzType(f, ForeignPermanentResidentID, func(t *testing.T, in string, res Result) {
		n := res.Normalized
		if res.Legacy {
			if len(n) != 15 || !allUpper(n[:3]) || !allDigits(n[3:]) || res.BirthDate.Format("060102") != n[7:13] {
				t.Fatalf("accepted legacy %q as %+v", n, res)
			}
			return
		}
		if len(n) != 18 || n[0] != '9' || res.Region != "" {
			t.Fatalf("accepted %+v", res)
		}
		checkMod112(t, res)
	})
}

func FuzzValidateUSCC(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		res, err := ValidateUSCC(in)
		if err != nil {
			checkFailure(t, err)
			return
		}
		n := res.Normalized
		if n != Normalize(in) || len(n) != 18 || res.OrgCode != n[8:17] {
			t.Fatalf("ValidateUSCC(%q) = %+v", in, res)
		}
		c, err := USCCCheckChar(n[:17])
		if err != nil || c != n[17] {
			t.Fatalf("accepted %q but check character recomputes to %q (%v)", n, c, err)
		}
		org, ok := orgCodeCheck(n[8:16])
		if orgOK := ok && org == n[16]; orgOK != (len(res.Warnings) == 0) {
			t.Fatalf("%q: org code check %v but warnings %v", n, orgOK, res.Warnings)
		}
	})
}

// FuzzValidate drives Validate with any type name, and Normalize with any text.
func FuzzValidate(f *testing.F) {
	f.Fuzz(func(t *testing.T, typ string, in string) {
		norm := Normalize(in)
		if Normalize(norm) != norm {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q", in, norm, Normalize(norm))
		}
		res, err := Validate(Type(typ), in, fuzzNow)
		if !Type(typ).Valid() {
			if !errors.Is(err, &Error{Code: CodeUnknownType}) {
				t.Fatalf("Validate(%q) = %v; want %s", typ, err, CodeUnknownType)
			}
			return
		}
		if err != nil {
			checkFailure(t, err)
			return
		}
		checkCommon(t, Type(typ), in, res)
	})
}
