package custos

import (
	"context"
	"errors"
	"fmt"
)

// ErrorCode is a stable, machine-readable error class. Every service method
// documents which codes it returns; the HTTP layer maps them to status codes.
type ErrorCode string

// The error codes of the application.
const (
	EInvalid          ErrorCode = "invalid"           // input failed validation; Fields says where (HTTP 422)
	ENotFound         ErrorCode = "not_found"         // missing, or hidden from the caller (HTTP 404)
	EConflict         ErrorCode = "conflict"          // duplicate or stale version (HTTP 409)
	EUnauthenticated  ErrorCode = "unauthenticated"   // no valid credentials (HTTP 401)
	EForbidden        ErrorCode = "forbidden"         // known caller, action not allowed where existence is no secret (HTTP 403)
	EPurposeRequired  ErrorCode = "purpose_required"  // a read of customer data without a stated purpose (HTTP 400)
	ELocked           ErrorCode = "locked"            // account locked after repeated failures (HTTP 423)
	ERateLimited      ErrorCode = "rate_limited"      // too many attempts (HTTP 429)
	EMFARequired      ErrorCode = "mfa_required"      // the second factor is missing or wrong (HTTP 401)
	EAuditUnavailable ErrorCode = "audit_unavailable" // the audit trail cannot be written; fail closed (HTTP 503)
	ECanceled         ErrorCode = "canceled"          // the caller went away or gave up: not a failure of the server (HTTP 499)
	EInternal         ErrorCode = "internal"          // anything else (HTTP 500)
)

// Message is a user-facing text in the two languages of the UI.
type Message struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// In returns the text for a language tag ("zh", "zh-CN", "en"); Chinese is the default.
func (m Message) In(lang string) string {
	if len(lang) >= 2 && lang[:2] == "en" && m.EN != "" {
		return m.EN
	}
	if m.ZH == "" {
		return m.EN
	}
	return m.ZH
}

// FieldError names one invalid input field by its path in the request body
// (e.g. "legal_representative.id_number"), with a stable code.
type FieldError struct {
	Field   string  `json:"field"`
	Code    string  `json:"code"`
	Message Message `json:"message"`
}

// Error is the application error. Message is safe to show to the client;
// Err carries the internal cause for logs and never reaches the client.
type Error struct {
	Code    ErrorCode
	Message Message
	Fields  []FieldError
	Err     error
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Message.EN != "" {
		s += ": " + e.Message.EN
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with bilingual messages.
func Errorf(code ErrorCode, zh, en string, args ...any) *Error {
	if len(args) > 0 {
		zh = fmt.Sprintf(zh, args...)
		en = fmt.Sprintf(en, args...)
	}
	return &Error{Code: code, Message: Message{ZH: zh, EN: en}}
}

// Wrap attaches an internal cause to an application error.
func (e *Error) Wrap(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// ErrorCodeOf returns ECanceled for an error caused by the caller's
// context ending (context.Canceled anywhere in err's chain), else the code
// of an application error anywhere in err's chain, EInternal for any
// other non-nil error and "" for nil.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.Canceled) {
		return ECanceled
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessageOf returns the client-safe message of err.
func ErrorMessageOf(err error) Message {
	if errors.Is(err, context.Canceled) {
		return Message{ZH: "请求已取消", EN: "the request was canceled"}
	}
	var e *Error
	if errors.As(err, &e) && (e.Message.ZH != "" || e.Message.EN != "") {
		return e.Message
	}
	return Message{ZH: "内部错误", EN: "internal error"}
}

// ErrNotFound is the one answer for a record that is missing or hidden from the caller.
var ErrNotFound = &Error{Code: ENotFound, Message: Message{ZH: "记录不存在", EN: "not found"}}

// Validation collects field errors while checking an input.
type Validation struct {
	Fields []FieldError
}

// Add records one field error with its stable code.
func (v *Validation) Add(field, code string, msg Message) {
	v.Fields = append(v.Fields, FieldError{Field: field, Code: code, Message: msg})
}

// Addf records one field error using the standard message for its code.
func (v *Validation) Addf(field, code string) {
	v.Add(field, code, StandardMessage(code))
}

// Merge adds all errors of another validation under a path prefix.
func (v *Validation) Merge(prefix string, o Validation) {
	for _, f := range o.Fields {
		if prefix != "" {
			f.Field = prefix + "." + f.Field
		}
		v.Fields = append(v.Fields, f)
	}
}

// Err returns nil when nothing was recorded, else an EInvalid *Error.
func (v *Validation) Err() error {
	if len(v.Fields) == 0 {
		return nil
	}
	return &Error{Code: EInvalid, Message: Message{ZH: "输入有误，请检查标出的字段", EN: "invalid input; check the marked fields"}, Fields: v.Fields}
}

// Stable field error codes used across the application.
const (
	CodeRequired        = "required"
	CodeInvalidFormat   = "invalid_format"
	CodeInvalidDate     = "invalid_date"
	CodeTooLong         = "too_long"
	CodeNotAllowed      = "not_allowed"
	CodeUnknown         = "unknown"
	CodeDuplicate       = "duplicate"
	CodeExpired         = "expired"
	CodeInvalidChecksum = "invalid_checksum"
	CodeOutOfRange      = "out_of_range"
	CodeInvalidEncoding = "invalid_encoding" // not valid UTF-8 (see NameProblem)
	CodeControlChar     = "control_char"     // NUL, another C0/C1 control or a bidirectional control
)

var standardMessages = map[string]Message{
	CodeRequired:        {ZH: "必填", EN: "required"},
	CodeInvalidFormat:   {ZH: "格式不正确", EN: "invalid format"},
	CodeInvalidDate:     {ZH: "日期无效，应为 YYYY-MM-DD", EN: "invalid date, expected YYYY-MM-DD"},
	CodeTooLong:         {ZH: "内容过长", EN: "too long"},
	CodeNotAllowed:      {ZH: "不是允许的取值", EN: "not an allowed value"},
	CodeUnknown:         {ZH: "不存在", EN: "does not exist"},
	CodeDuplicate:       {ZH: "已存在", EN: "already exists"},
	CodeExpired:         {ZH: "已过期", EN: "expired"},
	CodeInvalidChecksum: {ZH: "校验位不正确", EN: "check character is wrong"},
	CodeOutOfRange:      {ZH: "超出允许范围", EN: "out of range"},
	CodeInvalidEncoding: {ZH: "不是有效的 UTF-8 文本", EN: "not valid UTF-8 text"},
	CodeControlChar:     {ZH: "不得包含控制字符或双向文本控制字符", EN: "must not contain control or bidirectional-control characters"},
}

// StandardMessage returns the bilingual message for a field error code.
func StandardMessage(code string) Message {
	if m, ok := standardMessages[code]; ok {
		return m
	}
	return Message{ZH: "无效", EN: "invalid"}
}
