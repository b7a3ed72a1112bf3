package custos

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestParseAmount_RE1(t *testing.T) { // exact decimals, never floats
	for _, tc := range []struct {
		in   string
		want Amount
		ok   bool
		out  string
	}{
		{"0.01", 100, true, "0.01"},
		{"1234.5", 12_345_000, true, "1234.50"},
		{"1", 10_000, true, "1.00"},
		{" 12.00 ", 120_000, true, "12.00"},
		{"1.2345", 12_345, true, "1.2345"},
		{"0.0001", 1, true, "0.0001"},
		{"0.1", 1000, true, "0.10"},
		{"99999999999999.9999", 999_999_999_999_999_999, true, "99999999999999.9999"},
		{"100000000000000", 0, false, ""}, // 15 integer digits
		{"12.34567", 0, false, ""},
		{"-1", 0, false, ""},
		{"+1", 0, false, ""},
		{"1e5", 0, false, ""},
		{"1,000.00", 0, false, ""},
		{".5", 0, false, ""},
		{"5.", 0, false, ""},
		{"", 0, false, ""},
		{"１２", 0, false, ""}, // full-width digits are not silently read
	} {
		got, err := ParseAmount(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
			continue
		}
		if tc.ok && got.String() != tc.out {
			t.Errorf("Amount(%d).String() = %q, want %q", got, got.String(), tc.out)
		}
	}
}

func TestAmountDecimalsAndJSON(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{{"1", 0}, {"1.5", 1}, {"1.50", 1}, {"1.05", 2}, {"1.001", 3}, {"0.0001", 4}} {
		a, _ := ParseAmount(tc.s)
		if a.Decimals() != tc.want {
			t.Errorf("Decimals(%s) = %d, want %d", tc.s, a.Decimals(), tc.want)
		}
	}
	// A JSON number is read from its literal, never through a float64:
	// 0.1 + 0.2 stays exact and a long amount keeps every digit.
	var v struct {
		A Amount     `json:"a"`
		B AmountText `json:"b"`
	}
	if err := json.Unmarshal([]byte(`{"a": 12345678901234.5678, "b": 0.30}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 123_456_789_012_345_678 || v.B != "0.30" {
		t.Fatalf("decoded %d %q", v.A, v.B)
	}
	b, _ := json.Marshal(v.A)
	if string(b) != `"12345678901234.5678"` {
		t.Fatalf("encoded %s", b)
	}
	if err := json.Unmarshal([]byte(`{"a": "1e3"}`), &v); err == nil {
		t.Fatal("exponent accepted")
	}
	sum := new(big.Int).Mul(big.NewInt(int64(MaxAmount)), big.NewInt(1000))
	if got := FormatUnits(sum); got != "99999999999999999.9990" && !strings.HasPrefix(got, "99999999999999999") {
		t.Fatalf("big sum %s", got)
	}
	if got := FormatUnits(big.NewInt(-12_500)); got != "-1.25" {
		t.Fatalf("negative %s", got)
	}
}

func TestValidateTransaction_RE1(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	good := func() TransactionInput {
		return TransactionInput{Reference: "T20261127-0001", Customer: "BJ01-P-2026-000001", Account: "6222 0202 0011 2233 445", Time: "2026-11-27 16:30:00",
			Amount: "1234.56", Currency: "cny", Direction: "借", Type: "Transfer", Channel: "online", CounterpartyName: " 张三 ",
			CounterpartyAccount: "6217-0000-1111", CounterpartyBank: "中国工商银行", Remarks: "房租"}
	}
	in := good()
	tx, v := ValidateTransaction(&in, now)
	if len(v.Fields) > 0 {
		t.Fatalf("good input refused: %+v", v.Fields)
	}
	// 16:30 China Standard Time is 08:30 UTC; names, codes and accounts normalised.
	if !tx.Time.Equal(time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)) || tx.Account != "6222020200112233445" || tx.Currency != "CNY" ||
		tx.Direction != Debit || tx.Type != "transfer" || tx.Counterparty.Name != "张三" || tx.Counterparty.Account != "621700001111" ||
		tx.Amount != 12_345_600 || tx.Source != DefaultTxnSource {
		t.Fatalf("normalised: %+v", tx)
	}
	for _, tc := range []struct {
		name  string
		edit  func(in *TransactionInput)
		field string
		code  string
	}{
		{"no reference", func(in *TransactionInput) { in.Reference = "" }, "reference", CodeRequired},
		{"reference with space", func(in *TransactionInput) { in.Reference = "T 1" }, "reference", CodeInvalidFormat},
		{"reference with bar", func(in *TransactionInput) { in.Reference = "T|1" }, "reference", CodeInvalidFormat},
		{"no account", func(in *TransactionInput) { in.Account = " " }, "account", CodeRequired},
		{"bad account", func(in *TransactionInput) { in.Account = "62*2" }, "account", CodeInvalidFormat},
		{"no time", func(in *TransactionInput) { in.Time = "" }, "time", CodeRequired},
		{"bad time", func(in *TransactionInput) { in.Time = "27/11/2026" }, "time", CodeInvalidDate},
		{"future time", func(in *TransactionInput) { in.Time = "2026-11-27T10:00:00Z" }, "time", CodeFutureTime},
		{"ancient time", func(in *TransactionInput) { in.Time = "1989-12-31" }, "time", CodeOutOfRange},
		{"no amount", func(in *TransactionInput) { in.Amount = "" }, "amount", CodeRequired},
		{"zero amount", func(in *TransactionInput) { in.Amount = "0.00" }, "amount", CodeOutOfRange},
		{"negative amount", func(in *TransactionInput) { in.Amount = "-5" }, "amount", CodeInvalidFormat},
		{"float noise", func(in *TransactionInput) { in.Amount = "0.30000000000000004" }, "amount", CodeInvalidFormat},
		{"CNY fen only", func(in *TransactionInput) { in.Amount = "1.005" }, "amount", CodeTooManyDecimals},
		{"JPY no decimals", func(in *TransactionInput) { in.Amount = "100.5"; in.Currency = "JPY" }, "amount", CodeTooManyDecimals},
		{"no currency", func(in *TransactionInput) { in.Currency = "" }, "currency", CodeRequired},
		{"bad currency", func(in *TransactionInput) { in.Currency = "RMB1" }, "currency", CodeInvalidFormat},
		{"bad direction", func(in *TransactionInput) { in.Direction = "sideways" }, "direction", CodeNotAllowed},
		{"no type", func(in *TransactionInput) { in.Type = "" }, "type", CodeRequired},
		{"bad channel", func(in *TransactionInput) { in.Channel = "手机银行" }, "channel", CodeInvalidFormat},
		{"reserved source", func(in *TransactionInput) { in.Source = "custos" }, "source", CodeReserved},
		{"bad source", func(in *TransactionInput) { in.Source = "Core Banking" }, "source", CodeInvalidFormat},
		{"long remarks", func(in *TransactionInput) { in.Remarks = strings.Repeat("备", 501) }, "remarks", CodeTooLong},
		{"control chars", func(in *TransactionInput) { in.Purpose = "a\x00b" }, "purpose", CodeControlChar},
		{"bidi override", func(in *TransactionInput) { in.CounterpartyName = "房东\u202e" }, "counterparty_name", CodeControlChar},
		{"invalid UTF-8", func(in *TransactionInput) { in.Remarks = "房\xff" }, "remarks", CodeInvalidEncoding},
		{"bad cp account", func(in *TransactionInput) { in.CounterpartyAccount = "x" }, "counterparty_account", CodeInvalidFormat},
		{"attachment role", func(in *TransactionInput) { in.Attachments = []TxnAttachment{{ID: "a", Role: "photo"}} }, "attachments[0].role", CodeNotAllowed},
	} {
		in := good()
		tc.edit(&in)
		_, v := ValidateTransaction(&in, now)
		found := false
		for _, f := range v.Fields {
			found = found || (f.Field == tc.field && f.Code == tc.code)
		}
		if !found {
			t.Errorf("%s: want %s/%s, got %+v", tc.name, tc.field, tc.code, v.Fields)
		}
	}
	// A JPY amount without decimals, an RFC 3339 time and the other direction spellings pass.
	for _, d := range []string{"credit", "C", "cr", "贷", "贷方"} {
		in := good()
		in.Direction, in.Currency, in.Amount, in.Time = d, "JPY", "15000", "2026-11-27T08:59:59.123456789+08:00"
		tx, v := ValidateTransaction(&in, now)
		if len(v.Fields) > 0 || tx.Direction != Credit || tx.Time.Nanosecond() != 123456000 {
			t.Errorf("direction %q: %+v %v", d, v.Fields, tx.Time)
		}
	}
}

func TestTxnPolicy_RE4_RE6(t *testing.T) {
	p := DefaultTxnPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	amt := func(s string) Amount { a, _ := ParseAmount(s); return a }
	for _, tc := range []struct {
		amount, currency string
		large            bool
	}{
		{"49999.99", "CNY", false}, {"50000", "CNY", true}, {"9999.99", "USD", false}, {"10000", "USD", true},
		{"10000", "EUR", true}, {"9999", "EUR", false}, {"50000", "JPY", true},
	} {
		if got := p.IsLarge(amt(tc.amount), tc.currency); got != tc.large {
			t.Errorf("IsLarge(%s %s) = %v", tc.amount, tc.currency, got)
		}
		if got := p.NeedsRecentVerification(amt(tc.amount), tc.currency); got != tc.large {
			t.Errorf("NeedsRecentVerification(%s %s) = %v", tc.amount, tc.currency, got)
		}
	}
	bad := DefaultTxnPolicy()
	delete(bad.LargeValue, "*")
	bad.RealNameAmount["cny"] = 1
	bad.RealNameWithin = Duration(time.Hour)
	var e *Error
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad policy accepted")
	}
	e = err.(*Error)
	fields := map[string]bool{}
	for _, f := range e.Fields {
		fields[f.Field] = true
	}
	if !fields["large_value"] || !fields["real_name_amount.cny"] || !fields["real_name_within"] {
		t.Fatalf("fields %+v", e.Fields)
	}
	b, _ := json.Marshal(DefaultTxnPolicy())
	var back TxnPolicy
	if err := json.Unmarshal(b, &back); err != nil || back.LargeValue["CNY"] != p.LargeValue["CNY"] || back.RealNameWithin != p.RealNameWithin {
		t.Fatalf("round trip %s: %v", b, err)
	}
}

func TestCheckRealName_RE5_RE6(t *testing.T) {
	p := DefaultTxnPolicy()
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	small := &Transaction{Amount: 100 * 10000, Currency: "CNY", Time: at}
	large := &Transaction{Amount: 80_000 * 10000, Currency: "CNY", Time: at}
	ok := RealNameFacts{Status: StatusEffective, Verification: Verified}
	day := 24 * time.Hour
	for _, tc := range []struct {
		name  string
		facts RealNameFacts
		t     *Transaction
		want  error
	}{
		{"draft archive", RealNameFacts{Status: StatusDraft, Verification: Verified}, small, ErrTxnNotEligible},
		{"unverified", RealNameFacts{Status: StatusEffective, Verification: Unverified}, small, ErrTxnNotEligible},
		{"failed verification", RealNameFacts{Status: StatusEffective, Verification: VerificationFailed}, small, ErrTxnNotEligible},
		{"closed archive", RealNameFacts{Status: StatusClosed, Verification: Verified}, small, ErrTxnNotEligible},
		{"small amount, no recent check needed", ok, small, nil},
		{"large, verified 10 days before", RealNameFacts{Status: StatusEffective, Verification: Verified, LastVerified: at.Add(-10 * day)}, large, nil},
		{"large, verified exactly a year before", RealNameFacts{Status: StatusEffective, Verification: Verified, LastVerified: at.Add(-365 * day)}, large, nil},
		{"large, verified 366 days before", RealNameFacts{Status: StatusEffective, Verification: Verified, LastVerified: at.Add(-366 * day)}, large, errStale},
		{"large, verified only after", RealNameFacts{Status: StatusEffective, Verification: Verified, LastVerified: at.Add(time.Hour)}, large, errStale},
		{"large, no verification record", ok, large, errStale},
	} {
		err := CheckRealName(tc.facts, tc.t, p)
		switch {
		case tc.want == nil && err != nil, tc.want != nil && err == nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == ErrTxnNotEligible && err != ErrTxnNotEligible:
			t.Errorf("%s: %v, want not eligible", tc.name, err)
		case tc.want == errStale && (err == ErrTxnNotEligible || !strings.Contains(err.Error(), "365 days")):
			t.Errorf("%s: %v, want stale", tc.name, err)
		}
		if err != nil {
			m := ErrorMessageOf(err)
			if m.ZH == "" || m.EN == "" || ErrorCodeOf(err) != EConflict {
				t.Errorf("%s: message %+v code %s", tc.name, m, ErrorCodeOf(err))
			}
		}
	}
}

var errStale = Errorf(EConflict, "stale", "stale")

func TestTxnWithheld_RE4(t *testing.T) {
	for _, tc := range []struct {
		protectedOK, customerProtected, large, withheld bool
	}{
		{false, false, false, false},
		{false, false, true, true},
		{false, true, false, true},
		{false, true, true, true},
		{true, false, false, false},
		{true, false, true, false},
		{true, true, false, false},
		{true, true, true, false},
	} {
		if got := TxnWithheld(tc.protectedOK, tc.customerProtected, tc.large); got != tc.withheld {
			t.Errorf("TxnWithheld(%v, %v, %v) = %v", tc.protectedOK, tc.customerProtected, tc.large, got)
		}
	}
}

func TestReversal_RE1(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	orig := &Transaction{ID: "orig", Source: "core", Reference: "T1", CustomerID: "c", Account: "6222", Amount: 5000, Currency: "CNY",
		Direction: Debit, Type: "transfer", Channel: "online", Counterparty: Counterparty{Name: "李四", Account: "6217"}, Purpose: "rent", Remarks: "x"}
	if err := orig.MayReverse(); err != nil {
		t.Fatal(err)
	}
	r := orig.Reversal("R1", "录入错误", now)
	if r.Direction != Credit || r.Amount != orig.Amount || r.ReversalOf != "orig" || r.Source != ReversalSource || r.Remarks != "录入错误" ||
		r.Account != orig.Account || r.Counterparty != orig.Counterparty || !r.Time.Equal(now) {
		t.Fatalf("reversal %+v", r)
	}
	if err := r.MayReverse(); err != ErrReverseReversal {
		t.Fatalf("reversing a reversal: %v", err)
	}
	orig.ReversedBy = "r"
	if err := orig.MayReverse(); err != ErrAlreadyReversed {
		t.Fatalf("reversing twice: %v", err)
	}
	m := orig.Masked()
	if m.Account == orig.Account || m.Counterparty.Name == orig.Counterparty.Name || orig.Account != "6222" {
		t.Fatalf("masked %+v / original %+v", m, orig)
	}
	if s := orig.String(); strings.Contains(s, "6222") || strings.Contains(s, "李四") {
		t.Fatalf("String leaks: %s", s)
	}
}
