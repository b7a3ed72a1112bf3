package custos

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"
)

// Transaction records (R-E1, R-E2, R-E4, R-E5, R-E6). A recorded
// transaction is never edited: a correction is a reversing entry that points
// at the original (Reversal), and the original stays as it was.

// AmountScale is the number of decimal places an Amount keeps. Four covers
// the minor units of every ISO 4217 currency (most have two, a few three,
// the CLF/UYW units four), so an amount is always exact.
const AmountScale = 4

const amountUnit = 10000 // 10^AmountScale

// MaxAmount is the largest amount a transaction may carry: 14 integer
// digits, far beyond any real single transaction, and far inside int64.
const MaxAmount Amount = 99_999_999_999_999_9999

// Amount is an exact decimal money amount in units of 10^-AmountScale of
// the currency unit: 12.34 is Amount(123400). It is never a float; it is
// read from and written as decimal text ("12.34").
type Amount int64

// ParseAmount reads a non-negative decimal such as "1234.5" or "0.0001":
// 1 to 14 integer digits, optionally a point and 1 to AmountScale decimals.
// Signs, exponents, thousands separators and more decimals are refused: a
// transaction's sign is its direction.
func ParseAmount(s string) (Amount, error) {
	t := strings.TrimSpace(s)
	intPart, frac, dot := strings.Cut(t, ".")
	if len(intPart) < 1 || len(intPart) > 14 || (dot && (len(frac) < 1 || len(frac) > AmountScale)) {
		return 0, fmt.Errorf("amount %q: want digits with at most %d decimals", s, AmountScale)
	}
	var n int64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q: want digits with at most %d decimals", s, AmountScale)
		}
		n = n*10 + int64(c-'0')
	}
	for i := 0; i < AmountScale; i++ {
		n *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("amount %q: want digits with at most %d decimals", s, AmountScale)
			}
			n += int64(c - '0')
		}
	}
	return Amount(n), nil
}

// String writes the amount with at least two and at most AmountScale decimals.
func (a Amount) String() string { return formatUnits(big.NewInt(int64(a))) }

// Decimals is the number of significant decimal places (0 to AmountScale).
func (a Amount) Decimals() int {
	frac := int64(a) % amountUnit
	if frac < 0 {
		frac = -frac
	}
	d := AmountScale
	for d > 0 && frac%10 == 0 {
		frac /= 10
		d--
	}
	return d
}

// FormatUnits writes a sum of amounts (which may exceed int64) as decimal text.
func FormatUnits(units *big.Int) string { return formatUnits(units) }

func formatUnits(units *big.Int) string {
	neg := units.Sign() < 0
	s := new(big.Int).Abs(units).String()
	if len(s) <= AmountScale {
		s = strings.Repeat("0", AmountScale-len(s)+1) + s
	}
	intPart, frac := s[:len(s)-AmountScale], s[len(s)-AmountScale:]
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	if neg {
		intPart = "-" + intPart
	}
	return intPart + "." + frac
}

// MarshalJSON writes the amount as a JSON string, so no client reads it as a float.
func (a Amount) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON reads a JSON string or a JSON number literal, exactly.
func (a *Amount) UnmarshalJSON(b []byte) error {
	var t AmountText
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	v, err := ParseAmount(string(t))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// AmountText is an amount as a client wrote it, kept as text until
// validation: a JSON string ("12.50") or a JSON number (12.50), whose
// literal is taken as it stands and never goes through a float.
type AmountText string

// UnmarshalJSON keeps the literal text of a JSON number or string.
func (t *AmountText) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = AmountText(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*t = AmountText(n.String())
	return nil
}

// currencyDecimals lists the ISO 4217 minor units of the usual currencies;
// an amount may not have more decimals than its currency. Other well-formed
// codes are accepted with up to AmountScale decimals.
var currencyDecimals = map[string]int{
	"CNY": 2, "HKD": 2, "MOP": 2, "TWD": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KRW": 0, "SGD": 2, "AUD": 2,
	"CAD": 2, "CHF": 2, "NZD": 2, "SEK": 2, "NOK": 2, "DKK": 2, "RUB": 2, "THB": 2, "MYR": 2, "IDR": 2, "INR": 2,
	"PHP": 2, "VND": 0, "AED": 2, "SAR": 2, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "KZT": 2, "MNT": 2, "LAK": 2,
}

// validCurrency reports a well-formed ISO 4217 code: three capitals.
func validCurrency(s string) bool {
	return len(s) == 3 && isUpper(s[0]) && isUpper(s[1]) && isUpper(s[2])
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// validWord checks a string of 1 to max bytes whose first byte passes
// first and the others rest (hand-written: the import validates millions).
func validWord(s string, max int, first, rest func(byte) bool) bool {
	if len(s) == 0 || len(s) > max || !first(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest(s[i]) {
			return false
		}
	}
	return true
}

func sourceFirst(c byte) bool { return isLower(c) || isDigit(c) }
func sourceRest(c byte) bool  { return isLower(c) || isDigit(c) || c == '.' || c == '_' || c == '-' }
func refFirst(c byte) bool    { return isLower(c) || isUpper(c) || isDigit(c) }
func refRest(c byte) bool {
	return refFirst(c) || c == '.' || c == '_' || c == ':' || c == '/' || c == '#' || c == '-'
}
func accountChar(c byte) bool { return isUpper(c) || isDigit(c) }
func codeRest(c byte) bool    { return isLower(c) || isDigit(c) || c == '_' }

// ValidSource: lower-case letters, digits, '.', '_', '-', at most 32.
func validSource(s string) bool { return validWord(s, 32, sourceFirst, sourceRest) }

// validReference: letters, digits and . _ : / # -, at most 64; never '|'.
func validReference(s string) bool { return validWord(s, 64, refFirst, refRest) }

// validAccount: 4 to 34 digits or capitals (IBANs included).
func validAccount(s string) bool { return len(s) >= 4 && validWord(s, 34, accountChar, accountChar) }

// validCode: a type or channel code such as transfer or online.
func validCode(s string) bool { return validWord(s, 32, isLower, codeRest) }

// CurrencyDecimals returns the decimals a currency allows: its ISO 4217
// minor units when known, else AmountScale.
func CurrencyDecimals(code string) int {
	if d, ok := currencyDecimals[code]; ok {
		return d
	}
	return AmountScale
}

// Direction says whether money left (debit) or reached (credit) the
// customer's account.
type Direction string

// Directions.
const (
	Debit  Direction = "debit"
	Credit Direction = "credit"
)

// ParseDirection reads debit/credit, D/C, DR/CR and 借/贷 (借方/贷方).
func ParseDirection(s string) (Direction, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debit", "d", "dr", "借", "借方":
		return Debit, true
	case "credit", "c", "cr", "贷", "贷方":
		return Credit, true
	}
	return "", false
}

// Opposite is the direction of a reversing entry.
func (d Direction) Opposite() Direction {
	if d == Debit {
		return Credit
	}
	return Debit
}

// TxnAttachmentRole says what a file kept with a transaction is (R-E1).
type TxnAttachmentRole string

// Attachment roles: the file itself is one of the customer's attachments.
const (
	TxnContract      TxnAttachmentRole = "contract"
	TxnVoucher       TxnAttachmentRole = "voucher"
	TxnAgreement     TxnAttachmentRole = "agreement"
	TxnElectronicLog TxnAttachmentRole = "electronic_log"
)

// TxnAttachmentRoles lists the roles.
var TxnAttachmentRoles = []TxnAttachmentRole{TxnContract, TxnVoucher, TxnAgreement, TxnElectronicLog}

// TxnAttachment links one of the customer's attachments (by id) to a
// transaction in a role: its contract, voucher, agreement or electronic log.
type TxnAttachment struct {
	ID   string            `json:"id"`
	Role TxnAttachmentRole `json:"role"`
}

// MaxTxnAttachments bounds the attachments of one transaction.
const MaxTxnAttachments = 20

// Counterparty is the other side of a transaction. Its name and account are
// personal data, stored encrypted; the bank is not.
type Counterparty struct {
	Name    string `json:"name,omitempty"`
	Account string `json:"account,omitempty"`
	Bank    string `json:"bank,omitempty"`
}

// Transaction is one recorded transaction of a customer (R-E1). Account,
// counterparty name and account, purpose and remarks are C2 data: encrypted
// at rest, masked on output except purpose and remarks.
type Transaction struct {
	ID           string          `json:"id"` // opaque, stable: what reversal and links use
	Source       string          `json:"source"`
	Reference    string          `json:"reference"`
	CustomerID   string          `json:"customer_id"`
	Account      string          `json:"account"`
	Time         time.Time       `json:"time"`
	Amount       Amount          `json:"amount"`
	Currency     string          `json:"currency"`
	Direction    Direction       `json:"direction"`
	Type         string          `json:"type"`
	Channel      string          `json:"channel"`
	Counterparty Counterparty    `json:"counterparty"`
	Purpose      string          `json:"purpose,omitempty"`
	Remarks      string          `json:"remarks,omitempty"`
	Attachments  []TxnAttachment `json:"attachments,omitempty"`
	ReversalOf   string          `json:"reversal_of,omitempty"` // the transaction this entry reverses
	ReversedBy   string          `json:"reversed_by,omitempty"` // the entry that reversed this one
	LargeValue   bool            `json:"large_value"`           // at or above the large-value threshold (R-E4)
	RecordedBy   int64           `json:"recorded_by"`
	RecordedAt   time.Time       `json:"recorded_at"`
}

// String never prints personal data.
func (t *Transaction) String() string {
	if t == nil {
		return "<nil transaction>"
	}
	return "transaction " + t.Source + "/" + t.Reference
}

// LogValue keeps personal data out of logs.
func (t *Transaction) LogValue() slog.Value {
	return slog.GroupValue(slog.String("source", t.Source), slog.String("reference", t.Reference), slog.String("customer", t.CustomerID))
}

// Masked returns a copy with the account numbers and the counterparty's
// name masked (R-C10); purpose and remarks stay as they are.
func (t *Transaction) Masked() *Transaction {
	m := *t
	m.Account = MaskIDNumber(t.Account)
	m.Counterparty.Account = MaskIDNumber(t.Counterparty.Account)
	m.Counterparty.Name = MaskText(t.Counterparty.Name)
	return &m
}

// TransactionInput is a transaction as clients write it: a CSV row (the
// column names are the JSON names), a JSON Lines record, an API item.
// Customer is an archive number or an ID number (resident ID, USCC);
// CustomerID may name the customer directly instead.
type TransactionInput struct {
	Source              string          `json:"source,omitempty"`
	Reference           string          `json:"reference"`
	Customer            string          `json:"customer,omitempty"`
	CustomerID          string          `json:"customer_id,omitempty"`
	Account             string          `json:"account"`
	Time                string          `json:"time"`
	Amount              AmountText      `json:"amount"`
	Currency            string          `json:"currency"`
	Direction           string          `json:"direction"`
	Type                string          `json:"type"`
	Channel             string          `json:"channel"`
	CounterpartyName    string          `json:"counterparty_name,omitempty"`
	CounterpartyAccount string          `json:"counterparty_account,omitempty"`
	CounterpartyBank    string          `json:"counterparty_bank,omitempty"`
	Purpose             string          `json:"purpose,omitempty"`
	Remarks             string          `json:"remarks,omitempty"`
	Attachments         []TxnAttachment `json:"attachments,omitempty"`
}

// TxnCSVHeader is the column order of a transaction CSV file.
var TxnCSVHeader = []string{"reference", "customer", "account", "time", "amount", "currency", "direction", "type", "channel",
	"counterparty_name", "counterparty_account", "counterparty_bank", "remarks"}

// DefaultTxnSource is the source system of transactions whose input names none.
const DefaultTxnSource = "default"

// ReversalSource is the source of the reversing entries Custos records
// itself; no input may use it.
const ReversalSource = "custos"

// TxnZone is the time zone of input times written without one: China
// Standard Time, UTC+8, as the source systems keep them.
var TxnZone = time.FixedZone("CST", 8*3600)

// EarliestTxnTime bounds transaction times from below; older records
// belong to an archive migration, not to this system.
var EarliestTxnTime = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// MaxClockSkew is how far in the future a transaction time may lie.
const MaxClockSkew = 5 * time.Minute

// NormalizeAccount drops spaces and dashes and upper-cases, so that one
// account number typed two ways is one value (and one blind index).
func NormalizeAccount(s string) string {
	s = strings.TrimSpace(s)
	if validAccount(s) {
		return s // the common case: nothing to change
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == ' ' || r == '-' || r == '\u3000':
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= '０' && r <= '９':
			b.WriteRune(r - '０' + '0')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// NormalizeSource returns a source system name as stored.
func NormalizeSource(s string) string {
	s = strings.TrimSpace(s)
	if !validSource(s) {
		s = strings.ToLower(s)
	}
	if s == "" {
		return DefaultTxnSource
	}
	return s
}

// ParseTxnTime reads RFC 3339, or "YYYY-MM-DD HH:MM[:SS]" / "YYYY-MM-DD"
// in China Standard Time, and keeps microseconds.
func ParseTxnTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, ok := parseCST(s); ok {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Truncate(time.Microsecond), true
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", "2006-01-02 15:04", "2006-01-02", "2006/01/02 15:04:05", "20060102150405"} {
		if t, err := time.ParseInLocation(layout, s, TxnZone); err == nil {
			return t.UTC().Truncate(time.Microsecond), true
		}
	}
	return time.Time{}, false
}

// parseCST is the fast path of ParseTxnTime for "YYYY-MM-DD HH:MM:SS".
func parseCST(s string) (time.Time, bool) {
	if len(s) != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			if !isDigit(s[i]) {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	se, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, TxnZone)
	if t.Day() != d { // 2026-02-30 would roll over
		return time.Time{}, false
	}
	return t.UTC(), true
}

// Transaction field error codes besides the standard ones.
const (
	CodeTooManyDecimals = "too_many_decimals"
	CodeReserved        = "reserved"
	CodeFutureTime      = "future_time"
)

// ValidateTransaction checks everything about an input that needs no store:
// formats, ranges, the amount's decimals for its currency, the time (not in
// the future beyond MaxClockSkew). The customer is resolved by the service.
// Errors are reported by the input's JSON (and CSV column) names.
func ValidateTransaction(in *TransactionInput, now time.Time) (*Transaction, Validation) {
	t := &Transaction{}
	v := ValidateTransactionInto(t, in, now)
	return t, v
}

// ValidateTransactionInto is ValidateTransaction into a caller's
// Transaction, which it overwrites: a bulk import reuses one.
func ValidateTransactionInto(t *Transaction, in *TransactionInput, now time.Time) Validation {
	var v Validation
	*t = Transaction{Attachments: t.Attachments[:0]}
	t.Source = NormalizeSource(in.Source)
	switch {
	case !validSource(t.Source):
		v.Add("source", CodeInvalidFormat, Message{ZH: "来源系统应为小写字母、数字、点、下划线或连字符，至多 32 个字符", EN: "source: lower-case letters, digits, '.', '_' or '-', at most 32 characters"})
	case t.Source == ReversalSource || strings.HasPrefix(t.Source, ReversalSource+"."):
		v.Add("source", CodeReserved, Message{ZH: "来源 custos 保留给系统冲正记录", EN: "the source custos is reserved for reversing entries"})
	}
	t.Reference = strings.TrimSpace(in.Reference)
	switch {
	case t.Reference == "":
		v.Addf("reference", CodeRequired)
	case !validReference(t.Reference):
		v.Add("reference", CodeInvalidFormat, Message{ZH: "交易流水号应为字母、数字及 . _ : / # -，至多 64 个字符", EN: "reference: letters, digits and . _ : / # -, at most 64 characters"})
	}
	t.Account = NormalizeAccount(in.Account)
	switch {
	case t.Account == "":
		v.Addf("account", CodeRequired)
	case !validAccount(t.Account):
		v.Add("account", CodeInvalidFormat, Message{ZH: "账号应为 4 至 34 位数字或字母", EN: "account: 4 to 34 digits or letters"})
	}
	if strings.TrimSpace(in.Time) == "" {
		v.Addf("time", CodeRequired)
	} else if tm, ok := ParseTxnTime(in.Time); !ok {
		v.Add("time", CodeInvalidDate, Message{ZH: "时间应为 RFC 3339 或 YYYY-MM-DD HH:MM:SS（北京时间）", EN: "time: RFC 3339, or YYYY-MM-DD HH:MM:SS in China Standard Time"})
	} else if tm.Before(EarliestTxnTime) {
		v.Addf("time", CodeOutOfRange)
	} else if tm.After(now.Add(MaxClockSkew)) {
		v.Add("time", CodeFutureTime, Message{ZH: "交易时间不能晚于当前时间", EN: "the transaction time lies in the future"})
	} else {
		t.Time = tm
	}
	t.Currency = strings.TrimSpace(in.Currency)
	if !validCurrency(t.Currency) {
		t.Currency = strings.ToUpper(t.Currency)
	}
	switch {
	case t.Currency == "":
		v.Addf("currency", CodeRequired)
	case !validCurrency(t.Currency):
		v.Add("currency", CodeInvalidFormat, Message{ZH: "币种应为三位 ISO 4217 代码，如 CNY", EN: "currency: a three-letter ISO 4217 code such as CNY"})
	}
	if strings.TrimSpace(string(in.Amount)) == "" {
		v.Addf("amount", CodeRequired)
	} else if a, err := ParseAmount(string(in.Amount)); err != nil {
		v.Add("amount", CodeInvalidFormat, Message{ZH: "金额应为正的十进制数，如 1234.56（至多四位小数，不带符号和千分位）", EN: "amount: a positive decimal such as 1234.56 (at most four decimals, no sign or separators)"})
	} else if a <= 0 {
		v.Add("amount", CodeOutOfRange, Message{ZH: "金额必须大于零，方向由借贷标志表示", EN: "the amount must be above zero; the direction gives the sign"})
	} else if validCurrency(t.Currency) && a.Decimals() > CurrencyDecimals(t.Currency) {
		v.Add("amount", CodeTooManyDecimals, Message{ZH: fmt.Sprintf("%s 金额至多 %d 位小数", t.Currency, CurrencyDecimals(t.Currency)),
			EN: fmt.Sprintf("%s amounts have at most %d decimals", t.Currency, CurrencyDecimals(t.Currency))})
	} else {
		t.Amount = a
	}
	if d, ok := ParseDirection(in.Direction); ok {
		t.Direction = d
	} else if strings.TrimSpace(in.Direction) == "" {
		v.Addf("direction", CodeRequired)
	} else {
		v.Add("direction", CodeNotAllowed, Message{ZH: "借贷方向应为 debit（借）或 credit（贷）", EN: "direction: debit or credit"})
	}
	code := func(field, s string) string {
		s = strings.TrimSpace(s)
		if !validCode(s) {
			s = strings.ToLower(s)
		}
		switch {
		case s == "":
			v.Addf(field, CodeRequired)
		case !validCode(s):
			v.Add(field, CodeInvalidFormat, Message{ZH: "应为小写字母开头的代码，如 transfer、online", EN: "a code of lower-case letters, digits and '_', such as transfer or online"})
		}
		return s
	}
	t.Type = code("type", in.Type)
	t.Channel = code("channel", in.Channel)
	text := func(field, s string, max int) string {
		s = strings.TrimSpace(s)
		switch {
		case !v.CheckName(field, s): // one line of clean text, as a bank statement prints it
		case utf8.RuneCountInString(s) > max:
			v.Addf(field, CodeTooLong)
		}
		return s
	}
	t.Counterparty.Name = text("counterparty_name", in.CounterpartyName, 100)
	t.Counterparty.Bank = text("counterparty_bank", in.CounterpartyBank, 100)
	if acc := NormalizeAccount(in.CounterpartyAccount); acc != "" {
		if !validAccount(acc) {
			v.Add("counterparty_account", CodeInvalidFormat, Message{ZH: "账号应为 4 至 34 位数字或字母", EN: "account: 4 to 34 digits or letters"})
		}
		t.Counterparty.Account = acc
	}
	t.Purpose = text("purpose", in.Purpose, 200)
	t.Remarks = text("remarks", in.Remarks, 500)
	if len(in.Attachments) > MaxTxnAttachments {
		v.Addf("attachments", CodeTooLong)
	}
	for i, at := range in.Attachments {
		if strings.TrimSpace(at.ID) == "" {
			v.Addf(fmt.Sprintf("attachments[%d].id", i), CodeRequired)
		}
		if !validRole(at.Role) {
			v.Addf(fmt.Sprintf("attachments[%d].role", i), CodeNotAllowed)
		}
		t.Attachments = append(t.Attachments, TxnAttachment{ID: strings.TrimSpace(at.ID), Role: at.Role})
	}
	if len(t.Attachments) == 0 {
		t.Attachments = nil
	}
	return v
}

func validRole(r TxnAttachmentRole) bool {
	for _, x := range TxnAttachmentRoles {
		if x == r {
			return true
		}
	}
	return false
}

// TxnPolicy holds the configurable thresholds of transaction records
// (settings key "txn_policy").
type TxnPolicy struct {
	// LargeValue: records at or above this amount, per currency ("*" for
	// every other currency), are large-value records that only holders of
	// the protected permission see (R-E4).
	LargeValue map[string]Amount `json:"large_value"`
	// RealNameAmount: recording a transaction at or above this amount
	// needs an identity verification of the customer that passed at most
	// RealNameWithin before the transaction (R-E6).
	RealNameAmount map[string]Amount `json:"real_name_amount"`
	RealNameWithin Duration          `json:"real_name_within"`
}

// DefaultTxnPolicy follows the large-value reporting lines for cash: CNY
// 50,000 or USD 10,000 (and 10,000 units of any other currency), and asks
// for a verification at most a year old above the same amounts.
func DefaultTxnPolicy() TxnPolicy {
	return TxnPolicy{
		LargeValue:     map[string]Amount{"CNY": 50_000 * amountUnit, "USD": 10_000 * amountUnit, "*": 10_000 * amountUnit},
		RealNameAmount: map[string]Amount{"CNY": 50_000 * amountUnit, "USD": 10_000 * amountUnit, "*": 10_000 * amountUnit},
		RealNameWithin: Duration(365 * 24 * time.Hour),
	}
}

// Validate checks a policy: positive thresholds, a "*" entry in each map,
// a period of at least a day.
func (p TxnPolicy) Validate() error {
	var v Validation
	for name, m := range map[string]map[string]Amount{"large_value": p.LargeValue, "real_name_amount": p.RealNameAmount} {
		if _, ok := m["*"]; !ok {
			v.Add(name, CodeRequired, Message{ZH: "须有 \"*\"（其他币种）一项", EN: `needs a "*" entry for all other currencies`})
		}
		for cur, a := range m {
			if cur != "*" && !validCurrency(cur) {
				v.Addf(name+"."+cur, CodeInvalidFormat)
			}
			if a <= 0 {
				v.Addf(name+"."+cur, CodeOutOfRange)
			}
		}
	}
	if p.RealNameWithin < Duration(24*time.Hour) {
		v.Addf("real_name_within", CodeOutOfRange)
	}
	// The defaults are the regulatory lines and a floor no one person can
	// go below: a policy may be stricter (lower thresholds, a shorter
	// period), never looser (三员分立: the security administrator sets it
	// alone, so alone they may only tighten it).
	d := DefaultTxnPolicy()
	for name, pair := range map[string][2]map[string]Amount{"large_value": {p.LargeValue, d.LargeValue}, "real_name_amount": {p.RealNameAmount, d.RealNameAmount}} {
		for cur, a := range pair[0] {
			if a > Threshold(pair[1], cur) {
				v.Add(name+"."+cur, CodeOutOfRange, Message{ZH: "不能高于监管标准 " + Threshold(pair[1], cur).String(), EN: "cannot exceed the regulatory line of " + Threshold(pair[1], cur).String()})
			}
		}
	}
	if p.RealNameWithin > d.RealNameWithin {
		v.Add("real_name_within", CodeOutOfRange, Message{ZH: "核实有效期不能长于一年", EN: "a verification cannot count for longer than a year"})
	}
	return v.Err()
}

// Threshold returns the entry of m for a currency, or its "*" entry.
func Threshold(m map[string]Amount, currency string) Amount {
	if a, ok := m[currency]; ok {
		return a
	}
	return m["*"]
}

// IsLarge reports whether an amount is a large-value record (R-E4).
func (p TxnPolicy) IsLarge(a Amount, currency string) bool {
	th := Threshold(p.LargeValue, currency)
	return th > 0 && a >= th
}

// NeedsRecentVerification reports whether an amount is high enough that
// the customer's identity must have been verified recently (R-E6).
func (p TxnPolicy) NeedsRecentVerification(a Amount, currency string) bool {
	th := Threshold(p.RealNameAmount, currency)
	return th > 0 && a >= th
}

// Real-name errors (R-A5, R-E5, R-E6).
var (
	ErrTxnNotEligible = &Error{Code: EConflict, Message: Message{
		ZH: "客户档案尚未生效或身份未经核实，不得记录交易（实名制）",
		EN: "the customer's archive is not effective or the identity is not verified: no transaction may be recorded (real-name rule)"}}
	ErrAlreadyReversed = Errorf(EConflict, "该交易已冲正，不能再次冲正", "the transaction has already been reversed")
	ErrReverseReversal = Errorf(EConflict, "冲正记录本身不能冲正；如有错误，请重新记录原交易", "a reversing entry cannot itself be reversed; record the original transaction again instead")
)

// ErrRealNameStale refuses a high-value transaction whose customer was not
// verified within the policy's period before it (R-E6).
func ErrRealNameStale(within time.Duration) *Error {
	days := int(within / (24 * time.Hour))
	return Errorf(EConflict, "大额交易须先完成实名核验：客户身份须在交易前 %d 天内核验通过", "a high-value transaction needs real-name verification first: the customer's identity must have passed a verification within %d days before the transaction", days)
}

// RealNameFacts is what the real-name rule needs to know about a customer.
type RealNameFacts struct {
	Status       ArchiveStatus
	Verification Verification
	LastVerified time.Time // the newest passed verification; zero if none
}

// CheckRealName applies the real-name rules to one transaction: the
// customer must be effective and verified (R-A5, R-E5); at or above the
// policy's amount, a passed verification must lie within the policy's
// period before the transaction time (R-E6). A verification after the
// transaction does not count: the rule is "verified first".
func CheckRealName(f RealNameFacts, t *Transaction, p TxnPolicy) error {
	if f.Status != StatusEffective || f.Verification != Verified {
		return ErrTxnNotEligible
	}
	if !p.NeedsRecentVerification(t.Amount, t.Currency) {
		return nil
	}
	within := time.Duration(p.RealNameWithin)
	if f.LastVerified.IsZero() || f.LastVerified.After(t.Time) || t.Time.Sub(f.LastVerified) > within {
		return ErrRealNameStale(within)
	}
	return nil
}

// TxnWithheld is the rule of R-E4: a record is withheld from a reader
// without the protected permission when it is large-value or its customer
// is protected (R-C2).
func TxnWithheld(protectedAllowed, customerProtected, large bool) bool {
	return !protectedAllowed && (customerProtected || large)
}

// MayReverse says whether a transaction can be reversed: once, and never a
// reversing entry itself.
func (t *Transaction) MayReverse() error {
	if t.ReversalOf != "" {
		return ErrReverseReversal
	}
	if t.ReversedBy != "" {
		return ErrAlreadyReversed
	}
	return nil
}

// Reversal builds the reversing entry of t: same customer, account, amount,
// currency, type and counterparty, the opposite direction, recorded now
// under the reversal source with the given reference, the reason in its
// remarks, linked to t.
func (t *Transaction) Reversal(reference, reason string, now time.Time) *Transaction {
	r := &Transaction{
		Source: ReversalSource, Reference: reference, CustomerID: t.CustomerID, Account: t.Account, Time: now,
		Amount: t.Amount, Currency: t.Currency, Direction: t.Direction.Opposite(), Type: t.Type, Channel: t.Channel,
		Counterparty: t.Counterparty, Purpose: t.Purpose, Remarks: reason, ReversalOf: t.ID,
	}
	return r
}

// TxnSortKeys lists the accepted TxnFilter.Sort values.
var TxnSortKeys = []string{"-time", "time", "-amount", "amount"}

// Paging bounds of transaction searches.
const (
	DefaultTxnLimit = 50
	MaxTxnLimit     = 1000
)

// TxnFilter selects transactions (R-E2). Account and counterparty are
// matched exactly, through blind indexes. From is inclusive, To exclusive.
type TxnFilter struct {
	CustomerID          string
	Account             string
	From, To            time.Time
	MinAmount           Amount // 0: no bound
	MaxAmount           Amount // 0: no bound
	Currency            string
	Direction           Direction
	CounterpartyAccount string
	CounterpartyName    string
	CounterpartyBank    string
	Type                string
	Channel             string
	Source              string
	Sort                string // TxnSortKeys; "-time" by default
	Cursor              string // from the previous page's NextCursor
	Limit               int
}

// Used lists the names of the filters that are set, for the audit trail
// (names only, never values).
func (f *TxnFilter) Used() []string {
	var out []string
	for _, k := range []struct {
		set  bool
		name string
	}{{f.CustomerID != "", "customer"}, {f.Account != "", "account"}, {!f.From.IsZero(), "from"}, {!f.To.IsZero(), "to"},
		{f.MinAmount != 0, "min_amount"}, {f.MaxAmount != 0, "max_amount"}, {f.Currency != "", "currency"}, {f.Direction != "", "direction"},
		{f.CounterpartyAccount != "", "counterparty_account"}, {f.CounterpartyName != "", "counterparty_name"}, {f.CounterpartyBank != "", "counterparty_bank"},
		{f.Type != "", "type"}, {f.Channel != "", "channel"}, {f.Source != "", "source"}} {
		if k.set {
			out = append(out, k.name)
		}
	}
	return out
}

// TxnTotal sums the visible matches of a search in one currency.
type TxnTotal struct {
	Currency string `json:"currency"`
	Count    int64  `json:"count"`
	Debit    string `json:"debit"`
	Credit   string `json:"credit"`
}

// TxnPage is one page of a transaction search. Totals and Withheld are
// computed for the first page (no cursor) over all matches, not just the page.
type TxnPage struct {
	Items      []*Transaction `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
	Totals     []TxnTotal     `json:"totals,omitempty"`
	// Withheld counts the matching records left out because they are
	// large-value or belong to protected customers and the reader lacks the
	// protected permission (R-E4); Notice then says so.
	Withheld int      `json:"withheld"`
	Notice   *Message `json:"notice,omitempty"`
}

// WithheldNotice is the page notice for withheld records.
func WithheldNotice(n int) *Message {
	return &Message{
		ZH: fmt.Sprintf("有 %d 条大额交易或受保护客户的交易记录未显示：查看须有受保护交易记录权限（或经总经理授权）", n),
		EN: fmt.Sprintf("%d large-value or protected customers' records are not shown: they need the protected-records permission (or a grant)", n),
	}
}
