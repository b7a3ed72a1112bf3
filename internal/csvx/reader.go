package csvx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Errors of one record, inside a *ParseError.
var (
	ErrQuote       = errors.New(`unterminated quoted field, or a character after a closing quote`)
	ErrBareQuote   = errors.New(`a quote (") inside an unquoted field`)
	ErrFieldCount  = errors.New("wrong number of fields")
	ErrLineTooLong = errors.New("line too long")
	ErrInvalidUTF8 = errors.New("not valid UTF-8")
)

// ParseError is a record that could not be read. Line is where the
// record starts, the line every report names; Column, counted from 1, is
// the field where it went wrong when that is known (an invalid UTF-8 cell);
// Fields is how many fields the record had (ErrFieldCount).
type ParseError struct {
	Line   int
	Column int
	Fields int
	Err    error
}

func (e *ParseError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Reader reads CSV (RFC 4180: comma, double quotes, "" for a quote inside
// quotes, quoted fields may span lines) so that no row disappears without
// a line number. encoding/csv reads on after an unbalanced quote until it
// finds another one, taking the rows between into one bad field: a file
// whose row 3 opens a quote it never closes loses rows 4 to the end, or
// reports them as one error of row 3. This reader gives up on a record at
// its first error and goes on with the line after the record's first
// line, so the rows after a broken one are read as rows, and each bad row
// is reported by the line it starts on.
//
// Lines are bounded (a longer one is an error of its own and skipped), as
// is a record spanning lines, so memory stays constant whatever the input.
// Empty lines are skipped. Cells that are not UTF-8 are an error of their
// record, never replaced.
type Reader struct {
	// FieldsPerRecord, if above 0, is the number of fields every record
	// must have; a record with another number is an ErrFieldCount error,
	// and if it spanned lines, reading resumes after its first line.
	FieldsPerRecord int

	br     *bufio.Reader
	max    int
	line   int        // physical lines read from br
	replay []physLine // lines to read again after a record that spanned them failed
	buf    []byte
}

type physLine struct {
	b       []byte // without the line end
	n       int
	tooLong bool
}

// NewReader reads r; lines longer than maxLine bytes, and records longer
// than maxLine in all, are errors.
func NewReader(r io.Reader, maxLine int) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{br: br, max: maxLine}
}

// Read returns the next record and the line it starts on, counted from 1
// over all physical lines. A record that cannot be read comes back as a
// *ParseError, and the next call goes on with the following rows. At the
// end of the input err is io.EOF; another read error ends reading.
func (r *Reader) Read() (rec []string, line int, err error) {
	for {
		first, err := r.next()
		if err != nil {
			return nil, 0, err
		}
		if first.tooLong {
			return nil, first.n, &ParseError{Line: first.n, Err: ErrLineTooLong}
		}
		if len(first.b) == 0 {
			continue
		}
		rec, extra, err := r.parse(first)
		if err == nil && r.FieldsPerRecord > 0 && len(rec) != r.FieldsPerRecord {
			err = &ParseError{Line: first.n, Fields: len(rec), Err: ErrFieldCount}
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			// Read the lines after the first again, as rows of their own.
			r.replay = append(extra, r.replay...)
			return nil, first.n, pe
		}
		if err != nil {
			return nil, first.n, err
		}
		for i, f := range rec {
			if !utf8.ValidString(f) {
				return nil, first.n, &ParseError{Line: first.n, Column: i + 1, Err: ErrInvalidUTF8}
			}
		}
		return rec, first.n, nil
	}
}

// next returns the next physical line: one to read again, or a new one.
func (r *Reader) next() (physLine, error) {
	if len(r.replay) > 0 {
		l := r.replay[0]
		r.replay = r.replay[1:]
		return l, nil
	}
	r.buf = r.buf[:0]
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.buf)+len(chunk) > r.max+2 { // "\r\n"
				tooLong = true
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return physLine{}, err
		}
		if err == io.EOF && len(r.buf) == 0 && !tooLong {
			return physLine{}, io.EOF
		}
		r.line++
		b := bytes.TrimSuffix(r.buf, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		return physLine{b: bytes.Clone(b), n: r.line, tooLong: tooLong}, nil
	}
}

// parse reads one record starting with line first. extra are the further
// lines a quoted field took.
func (r *Reader) parse(first physLine) (rec []string, extra []physLine, err error) {
	fail := func(err error) ([]string, []physLine, error) {
		return nil, extra, &ParseError{Line: first.n, Err: err}
	}
	line, i, size := first.b, 0, len(first.b)
	var field []byte
	for {
		if i < len(line) && line[i] == '"' {
			i++
			field = field[:0]
			for {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					field = append(field, line[i:]...)
					field = append(field, '\n')
					nl, err := r.next()
					if err == io.EOF {
						return fail(ErrQuote)
					}
					if err != nil {
						return nil, extra, err
					}
					extra = append(extra, nl)
					if size += len(nl.b) + 1; nl.tooLong || size > r.max {
						return fail(ErrQuote)
					}
					line, i = nl.b, 0
					continue
				}
				field = append(field, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == '"' {
					field = append(field, '"')
					i++
					continue
				}
				break
			}
			rec = append(rec, string(field))
			if i == len(line) {
				return rec, extra, nil
			}
			if line[i] != ',' {
				return fail(ErrQuote)
			}
			i++
			continue
		}
		j := bytes.IndexByte(line[i:], ',')
		f := line[i:]
		if j >= 0 {
			f = line[i : i+j]
		}
		if bytes.IndexByte(f, '"') >= 0 {
			return fail(ErrBareQuote)
		}
		rec = append(rec, string(f))
		if j < 0 {
			return rec, extra, nil
		}
		i += j + 1
	}
}
