package custos

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// FieldType is the type of a custom field.
type FieldType string

// Custom field types.
const (
	FieldText   FieldType = "text"
	FieldNumber FieldType = "number"
	FieldDate   FieldType = "date"
	FieldBool   FieldType = "bool"
	FieldChoice FieldType = "choice"
)

// CustomFieldDef is an organisation-defined field for one customer category
// (R-A7). Values are always stored encrypted; Sensitive ones are also masked
// on output unless revealed.
type CustomFieldDef struct {
	ID        int64     `json:"id"`
	Category  string    `json:"category"`
	Key       string    `json:"key"`
	LabelZH   string    `json:"label_zh"`
	LabelEN   string    `json:"label_en"`
	Type      FieldType `json:"type"`
	Required  bool      `json:"required"`
	Choices   []string  `json:"choices,omitempty"`
	Sensitive bool      `json:"sensitive"`
	Sort      int       `json:"sort"`
}

var fieldKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Validate checks a definition.
func (d CustomFieldDef) Validate() error {
	var v Validation
	if d.Category == "" {
		v.Addf("category", CodeRequired)
	}
	if !fieldKey.MatchString(d.Key) {
		v.Addf("key", CodeInvalidFormat)
	}
	if d.LabelZH == "" && d.LabelEN == "" {
		v.Addf("label_zh", CodeRequired)
	}
	switch d.Type {
	case FieldText, FieldNumber, FieldDate, FieldBool:
	case FieldChoice:
		if len(d.Choices) == 0 {
			v.Addf("choices", CodeRequired)
		}
	default:
		v.Addf("type", CodeNotAllowed)
	}
	return v.Err()
}

// MaxCustomText bounds a text custom value.
const MaxCustomText = 2000

// ValidateCustom checks custom field values against the definitions of the
// customer's category and returns them normalised (numbers as float64, dates
// as YYYY-MM-DD strings). Unknown keys are errors, so typos do not vanish.
func ValidateCustom(defs []CustomFieldDef, values map[string]any) (map[string]any, Validation) {
	var v Validation
	out := map[string]any{}
	known := map[string]CustomFieldDef{}
	for _, d := range defs {
		known[d.Key] = d
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d, ok := known[k]
		path := "custom." + k
		if !ok {
			v.Addf(path, CodeUnknown)
			continue
		}
		val := values[k]
		if val == nil || val == "" {
			continue
		}
		switch d.Type {
		case FieldText:
			s, ok := val.(string)
			if !ok {
				v.Addf(path, CodeInvalidFormat)
				continue
			}
			if !v.CheckText(path, s) {
				continue
			}
			if utf8.RuneCountInString(s) > MaxCustomText {
				v.Addf(path, CodeTooLong)
				continue
			}
			out[k] = s
		case FieldNumber:
			var f float64
			switch n := val.(type) {
			case float64:
				f = n
			case int:
				f = float64(n)
			case int64:
				f = float64(n)
			case string:
				x, err := strconv.ParseFloat(n, 64)
				if err != nil {
					v.Addf(path, CodeInvalidFormat)
					continue
				}
				f = x
			default:
				v.Addf(path, CodeInvalidFormat)
				continue
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				v.Addf(path, CodeInvalidFormat)
				continue
			}
			out[k] = f
		case FieldDate:
			s, ok := val.(string)
			if !ok || !ValidDate(s) {
				v.Addf(path, CodeInvalidDate)
				continue
			}
			out[k] = s
		case FieldBool:
			switch b := val.(type) {
			case bool:
				out[k] = b
			case string:
				x, err := strconv.ParseBool(b)
				if err != nil {
					v.Addf(path, CodeInvalidFormat)
					continue
				}
				out[k] = x
			default:
				v.Addf(path, CodeInvalidFormat)
			}
		case FieldChoice:
			s, ok := val.(string)
			if !ok || !slices.Contains(d.Choices, s) {
				v.Addf(path, CodeNotAllowed)
				continue
			}
			out[k] = s
		}
	}
	for _, d := range defs {
		if _, ok := out[d.Key]; d.Required && !ok && !hasField(v, "custom."+d.Key) {
			v.Addf("custom."+d.Key, CodeRequired)
		}
	}
	return out, v
}

func hasField(v Validation, path string) bool {
	for _, f := range v.Fields {
		if f.Field == path {
			return true
		}
	}
	return false
}

// ValidDate reports whether s is a real calendar date written YYYY-MM-DD.
func ValidDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// FormatCustom renders a custom value for display.
func FormatCustom(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "✓"
		}
		return "✗"
	}
	return fmt.Sprint(v)
}
