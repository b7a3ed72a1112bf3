package csvx

import (
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

type readOut struct {
	line int
	rec  []string
	err  error
}

func readAll(t *testing.T, r *Reader) []readOut {
	t.Helper()
	var out []readOut
	for {
		rec, line, err := r.Read()
		if err == io.EOF {
			return out
		}
		var pe *ParseError
		if err != nil && !errors.As(err, &pe) {
			t.Fatal(err)
		}
		if pe != nil {
			out = append(out, readOut{line: line, err: pe.Err})
		} else {
			out = append(out, readOut{line: line, rec: append([]string(nil), rec...)})
		}
	}
}

// TestBrokenQuoteKeepsLaterRows_RA1: row 3 opens a quote it never closes;
// rows 4 to 6 are good and must come back as rows, each with its line.
// encoding/csv takes them into row 3's field and loses them.
func TestBrokenQuoteKeepsLaterRows_RA1(t *testing.T) {
	in := "type,name,id_number\n" +
		"person,张一,110105194912310020\n" +
		"person,\"张二,110105194912310021\n" +
		"person,张三,110105194912310022\n" +
		"person,\"张,四\",110105194912310023\n" +
		"person,张五,110105194912310024\n"
	r := NewReader(strings.NewReader(in), 1<<10)
	r.FieldsPerRecord = 3
	got := readAll(t, r)
	want := []readOut{
		{line: 1, rec: []string{"type", "name", "id_number"}},
		{line: 2, rec: []string{"person", "张一", "110105194912310020"}},
		{line: 3, err: ErrQuote},
		{line: 4, rec: []string{"person", "张三", "110105194912310022"}},
		{line: 5, rec: []string{"person", "张,四", "110105194912310023"}},
		{line: 6, rec: []string{"person", "张五", "110105194912310024"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}

}

func TestReader(t *testing.T) {
	for name, c := range map[string]struct {
		in   string
		want []readOut
	}{
		"multi-line field": {"a,\"b\r\nc\",d\r\ne,f,g\n", []readOut{{line: 1, rec: []string{"a", "b\nc", "d"}}, {line: 3, rec: []string{"e", "f", "g"}}}},
		"escaped quotes":   {"\"a\"\"b\",,\"\"\n", []readOut{{line: 1, rec: []string{"a\"b", "", ""}}}},
		"blank lines":      {"\n\na,b,c\n\n", []readOut{{line: 3, rec: []string{"a", "b", "c"}}}},
		"no final newline": {"a,b,c", []readOut{{line: 1, rec: []string{"a", "b", "c"}}}},
		"bare quote":       {"a,b\"c,d\ne,f,g\n", []readOut{{line: 1, err: ErrBareQuote}, {line: 2, rec: []string{"e", "f", "g"}}}},
		"after the quote":  {"a,\"b\"c,d\ne,f,g\n", []readOut{{line: 1, err: ErrQuote}, {line: 2, rec: []string{"e", "f", "g"}}}},
		"field count":      {"a,b\nc,d,e\n", []readOut{{line: 1, err: ErrFieldCount}, {line: 2, rec: []string{"c", "d", "e"}}}},
		// A quote closed on a later line that yields the wrong field
		// count: the lines in between are rows again.
		"spans into count": {"a,\"b\nc,d,e\nf\",g,h,i\n", []readOut{{line: 1, err: ErrFieldCount}, {line: 2, rec: []string{"c", "d", "e"}}, {line: 3, err: ErrBareQuote}}},
		"unterminated":     {"a,b,c\nd,\"e,f\n", []readOut{{line: 1, rec: []string{"a", "b", "c"}}, {line: 2, err: ErrQuote}}},
		"invalid UTF-8":    {"a,\xff,c\nd,e,f\n", []readOut{{line: 1, err: ErrInvalidUTF8}, {line: 2, rec: []string{"d", "e", "f"}}}},
		"too long":         {"a,b,c\n" + strings.Repeat("x", 70) + "\nd,e,f\n", []readOut{{line: 1, rec: []string{"a", "b", "c"}}, {line: 2, err: ErrLineTooLong}, {line: 3, rec: []string{"d", "e", "f"}}}},
		"record too long":  {"a,\"b\n" + strings.Repeat("y,", 20) + "\n" + strings.Repeat("z,", 20) + "\"\nd,e,f\n", []readOut{{line: 1, err: ErrQuote}, {line: 2, err: ErrFieldCount}, {line: 3, err: ErrQuote}, {line: 4, rec: []string{"d", "e", "f"}}}},
	} {
		r := NewReader(strings.NewReader(c.in), 64)
		r.FieldsPerRecord = 3
		if got := readAll(t, r); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", name, got, c.want)
		}
	}
	var pe *ParseError
	_, _, err := NewReader(strings.NewReader("a,\xff\n"), 64).Read()
	if !errors.As(err, &pe) || pe.Column != 2 || pe.Line != 1 {
		t.Errorf("invalid UTF-8: %v", err)
	}
}

// FuzzReader: on every input encoding/csv reads without error, this reader
// returns the same records (and on the others it never loses a line
// without reporting it).
func FuzzReader(f *testing.F) {
	for _, s := range []string{"a,b\nc,d\n", "\"a\nb\",c\n", "a,\"b\"\"c\"\n\n", "a,\"b\nc,d\n", "x\r\ny\r\n", "\"\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var got []readOut
		r := NewReader(strings.NewReader(in), 1<<16)
		lines := 0
		for {
			rec, line, err := r.Read()
			if err == io.EOF {
				break
			}
			var pe *ParseError
			if err != nil && !errors.As(err, &pe) {
				t.Fatal(err)
			}
			if line <= lines {
				t.Fatalf("line %d after line %d", line, lines)
			}
			lines = line
			got = append(got, readOut{line: line, rec: append([]string(nil), rec...), err: err})
		}
		if !utf8.ValidString(in) {
			return
		}
		cr := csv.NewReader(strings.NewReader(in))
		cr.FieldsPerRecord = -1
		var want []readOut
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return // only inputs encoding/csv accepts are compared
			}
			line, _ := cr.FieldPos(0)
			want = append(want, readOut{line: line, rec: rec})
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\ngot  %+v\nwant %+v", in, got, want)
		}
	})
}
