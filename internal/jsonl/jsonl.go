// Package jsonl reads JSON Lines input one line at a time with a bound on
// the length of a line, so that bulk imports keep constant memory and
// report an over-long line by its number instead of failing the file.
package jsonl

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// Reader returns the non-blank lines of its input with their numbers.
type Reader struct {
	br   *bufio.Reader
	max  int
	line int
	buf  []byte
}

// NewReader reads r (buffered unless it is a *bufio.Reader already); lines
// longer than max bytes, not counting the line end, are reported as too
// long and not kept.
func NewReader(r io.Reader, max int) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{br: br, max: max}
}

// Next returns the next non-blank line, trimmed of surrounding space, and
// its number counted from 1 over all lines. A line over the bound comes
// back as tooLong with no content. The slice is valid until the next call.
// At the end of the input err is io.EOF.
func (r *Reader) Next() (line []byte, n int, tooLong bool, err error) {
	for {
		line, tooLong, err := r.readLine()
		if err != nil && err != io.EOF {
			return nil, r.line, false, err
		}
		if err == io.EOF && len(line) == 0 && !tooLong {
			return nil, r.line, false, io.EOF
		}
		r.line++
		if tooLong {
			return nil, r.line, true, nil
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			return line, r.line, false, nil
		}
	}
}

// readLine returns the next line with its end, reusing one buffer; a line
// over the bound is consumed but not kept.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	r.buf = r.buf[:0]
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
		return r.buf, tooLong, err
	}
}

// InvalidText returns the byte offset of the first text in b that a JSON
// decoder would silently replace with U+FFFD: a byte sequence that is not
// UTF-8, or a \u escape of a UTF-16 surrogate that is not part of a pair.
// It returns -1 when there is none. Custos refuses such input instead of
// storing a name that differs from what was sent.
func InvalidText(b []byte) int {
	if utf8.Valid(b) {
		if !bytes.Contains(b, []byte(`\u`)) {
			return -1
		}
	} else {
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return i
			}
			i += n
		}
	}
	// Look at the escapes inside strings.
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(b):
			if b[i+1] != 'u' {
				i++ // a one-character escape, such as \\ or \"
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				i++ // malformed: the decoder reports it
				continue
			}
			switch {
			case utf16.IsSurrogate(r) && r < 0xDC00: // a high surrogate needs a low one next
				lo, ok := rune(0), false
				if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					lo, ok = hex4(b, i+8)
				}
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return i
				}
				i += 11
			case utf16.IsSurrogate(r): // a low surrogate on its own
				return i
			default:
				i += 5
			}
		}
	}
	return -1
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
