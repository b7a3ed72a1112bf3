// Package csvx keeps the CSV files Custos writes safe to open in a
// spreadsheet: a cell that would start a formula (= + - @, tab, carriage
// return) is prefixed with an apostrophe, and reading strips it again.
// Its Reader reads the CSV files Custos imports so that a broken row
// costs only itself: every bad row is reported by its line and the rows
// after it are read.
package csvx

import "strings"

const formulaStart = "=+-@\t\r"

// Cell escapes a cell a spreadsheet would take for a formula.
func Cell(s string) string {
	if s != "" && strings.ContainsRune(formulaStart, rune(s[0])) {
		return "'" + s
	}
	return s
}

// Uncell undoes Cell.
func Uncell(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune(formulaStart, rune(s[1])) {
		return s[1:]
	}
	return s
}

// Row escapes every cell of a row.
func Row(cells ...string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = Cell(c)
	}
	return out
}
