package custos

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultArchivePattern numbers archives by unit, kind, year and a sequence.
const DefaultArchivePattern = "{org}-{kind}-{yyyy}-{seq:6}"

// ArchivePattern renders unique archive numbers (R-A1). Tokens: {org} (unit
// code), {kind} (P person, I institution), {cat} (category code), {yyyy},
// {yy}, {mm}, and exactly one {seq:N} (zero-padded to N digits). Sequences
// count separately for every distinct rendering of the other tokens.
type ArchivePattern struct {
	raw   string
	width int
}

var patternToken = regexp.MustCompile(`\{([a-z]+)(?::(\d+))?\}`)

// ParseArchivePattern checks a pattern.
func ParseArchivePattern(s string) (ArchivePattern, error) {
	p := ArchivePattern{raw: s}
	seqs := 0
	for _, m := range patternToken.FindAllStringSubmatch(s, -1) {
		switch m[1] {
		case "org", "kind", "cat", "yyyy", "yy", "mm":
			if m[2] != "" {
				return p, fmt.Errorf("archive pattern: {%s} takes no width", m[1])
			}
		case "seq":
			seqs++
			w, _ := strconv.Atoi(m[2])
			if w < 1 || w > 12 {
				return p, fmt.Errorf("archive pattern: {seq:N} needs a width from 1 to 12")
			}
			p.width = w
		default:
			return p, fmt.Errorf("archive pattern: unknown token {%s}", m[1])
		}
	}
	if seqs != 1 {
		return p, fmt.Errorf("archive pattern: needs exactly one {seq:N}")
	}
	return p, nil
}

// String returns the pattern text.
func (p ArchivePattern) String() string { return p.raw }

// ArchiveVars are the values the tokens take for one new archive.
type ArchiveVars struct {
	Org      string
	Type     CustomerType
	Category string
	Date     time.Time
}

func (p ArchivePattern) expand(v ArchiveVars, seq string) string {
	kind := "P"
	if v.Type == TypeInstitution {
		kind = "I"
	}
	return patternToken.ReplaceAllStringFunc(p.raw, func(tok string) string {
		m := patternToken.FindStringSubmatch(tok)
		switch m[1] {
		case "org":
			return strings.ToUpper(v.Org)
		case "kind":
			return kind
		case "cat":
			return strings.ToUpper(v.Category)
		case "yyyy":
			return v.Date.Format("2006")
		case "yy":
			return v.Date.Format("06")
		case "mm":
			return v.Date.Format("01")
		case "seq":
			return seq
		}
		return tok
	})
}

// Series is the key under which the sequence counts: the pattern rendered
// without its sequence.
func (p ArchivePattern) Series(v ArchiveVars) string { return p.expand(v, "#") }

// Render produces the archive number for the n-th archive of a series.
func (p ArchivePattern) Render(v ArchiveVars, n int64) string {
	return p.expand(v, fmt.Sprintf("%0*d", p.width, n))
}
