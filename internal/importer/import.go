// Package importer reads customers in bulk from CSV or JSON Lines and
// writes them back out. An import streams: it holds only the few rows in
// flight (Options.Workers), so its memory does not grow with the file.
// Every row goes through App.CreateCustomer like a customer typed in by
// hand, with the same validation, permission decision and audit event; good
// rows are kept and each bad row is reported by its line number, field and
// reason (R-A1, bad input rule). An import that stopped part-way can simply
// be run again: rows already imported then report "duplicate" (one archive
// per identity) and nothing is stored twice.
//
// Files are UTF-8, with or without a byte-order mark. GBK and other legacy
// encodings are not detected; convert them first (iconv -f GBK -t UTF-8).
//
// CSV: the first row names the columns, by the JSON names of
// custos.CustomerInput (type, name, id_type, id_number, uscc, org, owner,
// category, …), plus legal_rep_name, legal_rep_id_type, legal_rep_id_number,
// legal_rep_id_expiry and legal_rep_phone for an institution's legal
// representative; licence.name/number/expiry; household.estate/building/
// floor/unit; the classifications tier, lifecycle, volume, aml_risk, stage,
// nature and property_status (any taxonomy as class.<code>); custom fields
// as custom.<key>; and archive_no, which Export writes and Import ignores.
// A row CSV cannot read (an unclosed quote, a stray quote, the wrong
// number of cells, bytes that are not UTF-8, a line over MaxLineBytes) is
// reported by its line, and reading goes on with the next line, so the
// rows after it are imported (csvx.Reader).
// Any subset in any order is fine as long as it has type, but a header that
// names an unknown column, or one column twice, rejects the whole file
// before any row is read. Cells are trimmed and empty cells left out; a
// leading ' before = + - or @ is dropped (Export adds it). Agents,
// beneficial owners, further phones and further ID documents have no CSV
// columns: use JSON Lines for them.
//
// JSON Lines: one custos.CustomerInput object per line, as the API takes it.
// Unknown fields are errors of their row.
//
// A row without org or owner goes to the importing user's unit and to the
// user, as in the API. Blank lines are skipped in both formats. Line numbers
// count physical lines from 1, the header included.
package importer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/csvx"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/jsonl"
)

// Formats.
const (
	CSV   = "csv"
	JSONL = "jsonl"
)

// MaxErrors caps the row errors a report lists; later ones are only counted.
const MaxErrors = 10000

// MaxLineBytes bounds one line of input, and a CSV record spanning lines.
// A longer line is an error of its row; the rows after it are read.
const MaxLineBytes = 1 << 20

// Row error codes besides the field codes of validation (custos.Code…).
const (
	CodeDuplicate   = custos.CodeDuplicate // an archive for the identity exists (also: earlier in this file)
	CodeFieldCount  = "field_count"        // a CSV row with more or fewer cells than the header
	CodeInvalidCSV  = "invalid_csv"        // a CSV syntax error, e.g. a stray quote
	CodeInvalidJSON = "invalid_json"       // a JSON line that does not parse
	CodeLineTooLong = "line_too_long"
	CodeForbidden   = "forbidden" // the importing actor may not create this customer where the row puts it
	CodeConflict    = "conflict"
)

// DefaultWorkers is how many rows an import has in flight when Options
// leaves it open. Validation and encryption of one row then overlap the
// store's writing of another, and the store commits concurrent changes
// together; the file order still decides everything a user can see (see
// Import). The store commits the changes in flight together, so more rows in
// flight mean fewer commits: on a 2-core machine 32 import about twice as
// fast as 4 (docs/performance.md), and memory stays bounded by them.
const DefaultWorkers = 32

// Options tune an import.
type Options struct {
	// Format is CSV, JSONL, or "" to look at the content: a first character
	// "{" means JSON Lines, anything else CSV. FormatFromName picks it from a
	// file name.
	Format string
	// Workers is how many rows are stored at the same time (DefaultWorkers
	// if 0; 1 for one row after the other).
	Workers int
	// Progress, if set, is called after every row, in file order, with the
	// rows done so far (imported and failed), the failed ones, and the bytes
	// read; and once more at the end. Calls never overlap, but they come from
	// a goroutine of the import: keep them cheap, or throttle in them.
	Progress func(done, failed int, bytesRead int64)
}

// RowError is one problem of one row. A row with several invalid fields has
// several errors with the same line.
type RowError struct {
	Line    int            `json:"line"`
	Field   string         `json:"field,omitempty"` // CSV: the column name; JSON Lines: the field path
	Code    string         `json:"code"`
	Message custos.Message `json:"message"`
}

// Report is the outcome of an import.
type Report struct {
	Format    string     `json:"format"`
	Imported  int        `json:"imported"`
	Failed    int        `json:"failed"` // rows, not errors
	Errors    []RowError `json:"errors,omitempty"`
	Truncated bool       `json:"truncated,omitempty"` // more than MaxErrors errors; the rest were counted, not listed
}

// FormatFromName returns the format a file name's extension implies:
// .csv is CSV, .jsonl, .ndjson and .json are JSON Lines, anything else "".
func FormatFromName(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV
	case ".jsonl", ".ndjson", ".json":
		return JSONL
	}
	return ""
}

// row is one record read from the input: a customer, or the errors that
// kept it from becoming one.
type row struct {
	line int
	in   custos.CustomerInput
	errs []RowError
}

type source interface {
	next() (*row, error) // io.EOF at the end
	column(target string) string
}

// Import creates a customer for every good row of r as actor, and reports
// the bad ones, in file order. It returns an error, with the report so far,
// when the input cannot be read, the CSV header is invalid (EInvalid, nothing
// imported), the store or the audit trail fails, or ctx ends.
//
// Up to Options.Workers rows are stored at once. Rows naming the same
// identity are stored one after the other in file order, so of two such rows
// it is always the later one that reports "duplicate". When ctx ends or a row
// fails fatally, no further row starts; the rows already started finish and
// are counted, so the report always matches what was stored.
func Import(ctx context.Context, a *app.App, actor custos.Actor, r io.Reader, opt Options) (*Report, error) {
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	rep := &Report{Format: opt.Format}
	if rep.Format == "" {
		rep.Format = sniff(br)
	}
	var src source
	switch rep.Format {
	case CSV:
		s, err := newCSVSource(br)
		if err != nil {
			return rep, err
		}
		src = s
	case JSONL:
		src = &jsonlSource{r: jsonl.NewReader(br, MaxLineBytes)}
	default:
		return rep, custos.Errorf(custos.EInvalid, "不支持的文件格式 %q（应为 csv 或 jsonl）", "unsupported format %q (want csv or jsonl)", rep.Format)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}

	// The rows in flight, in file order; a row is in flight from its start
	// until the collector has entered it into the report. slots bounds them,
	// and with them the memory of the import.
	window := make(chan *job, workers)
	slots := make(chan struct{}, workers)
	collected := make(chan error, 1)
	var stop atomic.Bool // a row failed fatally: start no more
	go func() {
		collected <- collect(window, slots, rep, opt.Progress, &cr.n, &stop)
	}()

	// The row each identity was last seen in, while it may still be in flight.
	latest := map[string]*job{}
	readErr := func() error {
		// Rows already started run on to the end, so that no row is left
		// half done when ctx ends.
		wctx := context.WithoutCancel(ctx)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			rw, err := src.next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			slots <- struct{}{}
			if err := ctx.Err(); err != nil {
				<-slots
				return err // rw was read, but never started
			}
			if stop.Load() {
				<-slots
				return nil
			}
			j := &job{row: rw, done: make(chan struct{})}
			if len(rw.errs) > 0 {
				close(j.done)
				window <- j
				continue
			}
			if k := identityKey(&rw.in); k != "" {
				if prev := latest[k]; prev != nil {
					select {
					case <-prev.done:
					default:
						j.after = prev.done
					}
				}
				latest[k] = j
			}
			window <- j
			go func() {
				defer close(j.done)
				if j.after != nil {
					<-j.after
				}
				j.row.errs, j.err = create(wctx, a, actor, j.row, src)
			}()
			if len(latest) > 4*workers {
				for k, p := range latest {
					select {
					case <-p.done:
						delete(latest, k)
					default:
					}
				}
			}
		}
	}()
	close(window)
	if err := <-collected; err != nil {
		return rep, err
	}
	return rep, readErr
}

// job is one row on its way through the import.
type job struct {
	row   *row
	after <-chan struct{} // an earlier row with the same identity
	done  chan struct{}   // closed when the row is stored or refused
	err   error           // fatal: the import cannot go on
}

// collect waits for each row in file order and enters it into the report.
// It returns the first fatal error.
func collect(window <-chan *job, slots <-chan struct{}, rep *Report, progress func(done, failed int, bytesRead int64), bytesRead *atomic.Int64, stop *atomic.Bool) error {
	var fatal error
	for j := range window {
		<-j.done
		record(j, rep, &fatal, stop)
		if progress != nil {
			progress(rep.Imported+rep.Failed, rep.Failed, bytesRead.Load())
		}
		<-slots
	}
	if progress != nil {
		progress(rep.Imported+rep.Failed, rep.Failed, bytesRead.Load())
	}
	return fatal
}

func record(j *job, rep *Report, fatal *error, stop *atomic.Bool) {
	switch {
	case j.err != nil:
		if *fatal == nil {
			*fatal = fmt.Errorf("line %d: %w", j.row.line, j.err)
			stop.Store(true)
		}
	case len(j.row.errs) == 0:
		rep.Imported++
	default:
		rep.Failed++
		for _, e := range j.row.errs {
			if len(rep.Errors) >= MaxErrors {
				rep.Truncated = true
				break
			}
			rep.Errors = append(rep.Errors, e)
		}
	}
}

// identityKey is the identity a row claims (one archive per identity, R-A1),
// as far as it can be told before validation.
func identityKey(in *custos.CustomerInput) string {
	switch in.Type {
	case custos.TypePerson:
		if in.IDNumber != "" {
			return strings.TrimSpace(in.IDType) + ":" + idcard.Normalize(strings.TrimSpace(in.IDNumber))
		}
	case custos.TypeInstitution:
		if in.USCC != "" {
			return "uscc:" + idcard.Normalize(strings.TrimSpace(in.USCC))
		}
	}
	return ""
}

// create stores one row. Problems of the row come back as row errors; an
// error return means the import cannot go on.
func create(ctx context.Context, a *app.App, actor custos.Actor, rw *row, src source) ([]RowError, error) {
	for attempt := 0; ; attempt++ {
		_, err := a.CreateCustomer(ctx, actor, rw.in)
		if err == nil {
			return nil, nil
		}
		var ce *custos.Error
		if !errors.As(err, &ce) {
			return nil, err
		}
		switch ce.Code {
		case custos.EInvalid:
			if len(ce.Fields) == 0 {
				return []RowError{{Line: rw.line, Code: string(custos.EInvalid), Message: ce.Message}}, nil
			}
			out := make([]RowError, 0, len(ce.Fields))
			for _, f := range ce.Fields {
				out = append(out, RowError{Line: rw.line, Field: src.column(f.Field), Code: f.Code, Message: f.Message})
			}
			return out, nil
		case custos.EConflict:
			if isDuplicate(ce) {
				field := "id_number"
				if rw.in.Type == custos.TypeInstitution {
					field = "uscc"
				}
				return []RowError{{Line: rw.line, Field: src.column(field), Code: CodeDuplicate, Message: ce.Message}}, nil
			}
			if attempt < 3 {
				continue // an archive number taken concurrently: draw the next one
			}
			return []RowError{{Line: rw.line, Code: CodeConflict, Message: ce.Message}}, nil
		case custos.EForbidden:
			return []RowError{{Line: rw.line, Field: src.column("owner"), Code: CodeForbidden, Message: ce.Message}}, nil
		}
		return nil, err
	}
}

// isDuplicate tells a second archive for an identity (one customer, one
// archive: R-A1) from other conflicts.
func isDuplicate(ce *custos.Error) bool {
	for _, f := range ce.Fields {
		if f.Code == custos.CodeDuplicate {
			return true
		}
	}
	return false
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// sniff guesses the format from the first non-blank byte.
func sniff(br *bufio.Reader) string {
	b, _ := br.Peek(512)
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return JSONL
	}
	return CSV
}

// countingReader counts the bytes read, for progress reports.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

var errFormat = errors.New("invalid format")

type csvSource struct {
	r    *csvx.Reader
	cols []column
	// names maps validation paths to this file's column names.
	names map[string]string
}

func newCSVSource(br io.Reader) (*csvSource, error) {
	r := csvx.NewReader(br, MaxLineBytes)
	header, _, err := r.Read()
	if err == io.EOF {
		return nil, custos.Errorf(custos.EInvalid, "文件为空：缺少表头行", "the file is empty: no header row")
	}
	if err != nil {
		return nil, headerError(fmt.Sprintf("CSV 表头无法读取：%v", err), fmt.Sprintf("cannot read the CSV header: %v", err), nil)
	}
	s := &csvSource{r: r, names: map[string]string{}}
	var v custos.Validation
	var unknown []string
	for i, h := range header {
		name := strings.TrimSpace(h)
		c, ok := lookupColumn(name)
		switch {
		case !ok:
			unknown = append(unknown, name)
			v.Add(name, custos.CodeUnknown, custos.Message{ZH: fmt.Sprintf("第 %d 列 %q 不是可导入的列", i+1, name), EN: fmt.Sprintf("column %d %q is not an importable column", i+1, name)})
		case s.names[c.target] != "":
			v.Add(name, custos.CodeDuplicate, custos.Message{ZH: fmt.Sprintf("第 %d 列 %q 与 %q 重复", i+1, name, s.names[c.target]), EN: fmt.Sprintf("column %d %q repeats %q", i+1, name, s.names[c.target])})
		}
		s.cols = append(s.cols, c)
		if ok && s.names[c.target] == "" {
			s.names[c.target] = name
		}
	}
	if len(v.Fields) > 0 {
		zh, en := "CSV 表头有误，整个文件未导入", "the CSV header is invalid; nothing was imported"
		if len(unknown) > 0 {
			zh += "。未知列：" + strings.Join(unknown, "、")
			en += ". Unknown columns: " + strings.Join(unknown, ", ")
		}
		return nil, headerError(zh, en, v.Fields)
	}
	if s.names["type"] == "" {
		return nil, headerError("CSV 表头缺少 type 列（person 或 institution）", "the CSV header has no type column (person or institution)",
			[]custos.FieldError{{Field: "type", Code: custos.CodeRequired, Message: custos.StandardMessage(custos.CodeRequired)}})
	}
	r.FieldsPerRecord = len(header)
	return s, nil
}

func headerError(zh, en string, fields []custos.FieldError) error {
	return &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: zh, EN: en}, Fields: fields}
}

func (s *csvSource) column(target string) string {
	if n := s.names[target]; n != "" {
		return n
	}
	return target
}

func (s *csvSource) next() (*row, error) {
	for {
		rec, line, err := s.r.Read()
		var pe *csvx.ParseError
		switch {
		case err == io.EOF:
			return nil, io.EOF
		case errors.As(err, &pe):
			return &row{line: pe.Line, errs: []RowError{s.parseError(pe)}}, nil
		case err != nil:
			return nil, err
		}
		rw := &row{line: line}
		blank := true
		for i, cell := range rec {
			cell = csvx.Uncell(strings.TrimSpace(cell))
			if cell == "" {
				continue
			}
			blank = false
			if err := s.cols[i].set(&rw.in, cell); err != nil {
				rw.errs = append(rw.errs, RowError{Line: line, Field: s.cols[i].name, Code: custos.CodeInvalidFormat, Message: custos.StandardMessage(custos.CodeInvalidFormat)})
			}
		}
		if blank {
			continue // a row of empty cells, e.g. ",,,"
		}
		return rw, nil
	}
}

// parseError is the row error of a CSV record that could not be read.
// The reader goes on with the next line, so each broken row costs only
// itself and the rows after it are read (csvx.Reader).
func (s *csvSource) parseError(pe *csvx.ParseError) RowError {
	e := RowError{Line: pe.Line, Code: CodeInvalidCSV}
	switch {
	case errors.Is(pe.Err, csvx.ErrFieldCount):
		e.Code, e.Message = CodeFieldCount, custos.Message{ZH: fmt.Sprintf("该行有 %d 个字段，表头有 %d 列", pe.Fields, len(s.cols)), EN: fmt.Sprintf("the row has %d fields, the header %d columns", pe.Fields, len(s.cols))}
	case errors.Is(pe.Err, csvx.ErrInvalidUTF8):
		e.Code, e.Message = custos.CodeInvalidEncoding, custos.StandardMessage(custos.CodeInvalidEncoding)
		if pe.Column > 0 && pe.Column <= len(s.cols) {
			e.Field = s.cols[pe.Column-1].name
		}
	case errors.Is(pe.Err, csvx.ErrLineTooLong):
		e.Code, e.Message = CodeLineTooLong, custos.Message{ZH: fmt.Sprintf("该行超过 %d 字节", MaxLineBytes), EN: fmt.Sprintf("the line is longer than %d bytes", MaxLineBytes)}
	case errors.Is(pe.Err, csvx.ErrBareQuote):
		e.Message = custos.Message{ZH: "CSV 格式错误：未加引号的字段中有引号（\"）", EN: "invalid CSV: a quote (\") inside an unquoted field"}
	default:
		e.Message = custos.Message{ZH: "CSV 格式错误：引号未闭合，或闭合引号后还有字符；其后各行照常读取", EN: "invalid CSV: a quote is not closed, or a character follows the closing quote; the following rows are read as usual"}
	}
	return e
}

// jsonRecord is one JSON line: an input, plus the archive number an export
// writes (ignored on import).
type jsonRecord struct {
	ArchiveNo string `json:"archive_no,omitempty"`
	custos.CustomerInput
}

type jsonlSource struct{ r *jsonl.Reader }

func (s *jsonlSource) column(target string) string { return target }

func (s *jsonlSource) next() (*row, error) {
	line, n, tooLong, err := s.r.Next()
	if err != nil {
		return nil, err
	}
	if tooLong {
		return &row{line: n, errs: []RowError{{Line: n, Code: CodeLineTooLong,
			Message: custos.Message{ZH: fmt.Sprintf("该行超过 %d 字节", MaxLineBytes), EN: fmt.Sprintf("the line is longer than %d bytes", MaxLineBytes)}}}}, nil
	}
	rw := &row{line: n}
	if at := jsonl.InvalidText(line); at >= 0 {
		rw.errs = []RowError{{Line: n, Code: custos.CodeInvalidEncoding,
			Message: custos.Message{ZH: fmt.Sprintf("该行第 %d 个字节起不是有效的 UTF-8 文本", at+1), EN: fmt.Sprintf("the line is not valid UTF-8 text at byte %d", at+1)}}}
		return rw, nil
	}
	var rec jsonRecord
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		rw.errs = []RowError{jsonError(n, err)}
		return rw, nil
	}
	if _, err := dec.Token(); err != io.EOF {
		rw.errs = []RowError{{Line: n, Code: CodeInvalidJSON,
			Message: custos.Message{ZH: "JSON 对象之后还有多余内容（每行只能有一个对象）", EN: "extra data after the JSON object (one object per line)"}}}
		return rw, nil
	}
	rw.in = rec.CustomerInput
	return rw, nil
}

func jsonError(line int, err error) RowError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return RowError{Line: line, Code: CodeInvalidJSON,
			Message: custos.Message{ZH: fmt.Sprintf("JSON 格式错误（第 %d 个字节）：%v", se.Offset, se), EN: fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)}}
	case errors.As(err, &te):
		field := strings.TrimPrefix(te.Field, "CustomerInput.") // the embedded struct's name is no JSON path
		return RowError{Line: line, Field: field, Code: custos.CodeInvalidFormat,
			Message: custos.Message{ZH: fmt.Sprintf("类型不正确：应为 %s", te.Type), EN: fmt.Sprintf("wrong type: want %s", te.Type)}}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return RowError{Line: line, Field: name, Code: custos.CodeUnknown,
			Message: custos.Message{ZH: "未知字段", EN: "unknown field"}}
	}
	return RowError{Line: line, Code: CodeInvalidJSON, Message: custos.Message{ZH: "JSON 格式错误：" + err.Error(), EN: "invalid JSON: " + err.Error()}}
}
