package custos

import (
	"unicode"
	"unicode/utf8"
)

// IsBidiControl reports the characters that reorder text on screen
// (embeddings, overrides, isolates and marks: U+202A–U+202E,
// U+2066–U+2069, U+200E, U+200F, U+061C). In a name they let "张三"
// be stored as one string and shown as another, so a search, a four-eyes
// check or a report reads what is not there.
func IsBidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// NameProblem returns the field error code of a name (of a customer, a
// party, a counterparty, a user, a unit) that is not clean text, or "" for
// a clean one. A name is one line: invalid UTF-8, every C0 and C1 control
// (NUL, tab and line breaks included), the line and paragraph separators
// and the bidirectional controls are refused, never replaced or stripped,
// so what is stored is exactly what was typed and what is shown.
func NameProblem(s string) string {
	return textProblem(s, false)
}

// TextProblem is NameProblem for free text (addresses, remarks, notes):
// tab, line feed and carriage return are allowed, everything else
// NameProblem refuses is refused.
func TextProblem(s string) string {
	return textProblem(s, true)
}

func textProblem(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return CodeInvalidEncoding
	}
	for _, r := range s {
		switch {
		case multiline && (r == '\t' || r == '\n' || r == '\r'):
		case unicode.IsControl(r), IsBidiControl(r), r == '\u2028', r == '\u2029':
			return CodeControlChar
		}
	}
	return ""
}

// CheckName records a field error when s is not a clean name (NameProblem)
// and reports whether it was clean.
func (v *Validation) CheckName(field, s string) bool {
	if code := NameProblem(s); code != "" {
		v.Addf(field, code)
		return false
	}
	return true
}

// CheckText is CheckName for free text (TextProblem).
func (v *Validation) CheckText(field, s string) bool {
	if code := TextProblem(s); code != "" {
		v.Addf(field, code)
		return false
	}
	return true
}
