// Package jsonl reads JSON Lines input one line at a time with a bound on
// the length of a line, so that bulk imports keep constant memory and
// report an over-long line by its number instead of failing the file.
package jsonl

import (
	"bufio"
	"bytes"
	"io"
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
