package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/csvx"
	"github.com/custos-cim/custos/internal/jsonl"
)

// Streaming imports of transaction records (R-E1): CSV and JSON Lines
// readers and the two-stage pipeline of ImportTransactions.

// TxnProgress is how far an import has come.
type TxnProgress struct {
	Rows       int   // rows read and settled: imported, duplicate or failed
	Imported   int   // new records stored
	Duplicates int   // rows already stored
	Failed     int   // rows with errors
	BytesRead  int64 // of the input
}

// TxnImportOptions tune an import.
type TxnImportOptions struct {
	Format    string // "csv" or "jsonl"; "" looks at the content
	Source    string // the source system of rows that name none (custos.DefaultTxnSource)
	BatchSize int    // rows per store transaction (DefaultTxnBatch)
	// Progress, if set, is called after each stored batch and at the end,
	// from the import's writer goroutine, never concurrently.
	Progress func(TxnProgress)
	Via      string // recorded with each batch: "cli", "api", …
}

// TxnImportReport is the outcome of an import.
type TxnImportReport struct {
	Format     string        `json:"format"`
	Source     string        `json:"source"`
	Rows       int           `json:"rows"`
	Imported   int           `json:"imported"`
	Duplicates int           `json:"duplicates"`
	Failed     int           `json:"failed"`
	Errors     []TxnRowError `json:"errors,omitempty"`
	Truncated  bool          `json:"truncated,omitempty"` // more than MaxTxnRowErrors errors: the rest were counted
}

// ImportTransactions streams transactions from CSV or JSON Lines into the
// store (R-E1): good rows go in while each bad row is reported with its
// line and reason; importing the same file again adds nothing (the rows
// come back as duplicates). Memory holds a few batches, whatever the file
// size. Rows are prepared (validated, resolved, checked, encrypted) on one
// goroutine while the previous batch is written on another. When ctx ends
// the batch being written completes and nothing more is written: the report
// then matches the store, and running the same file again finishes the job.
// It returns an error, with the report so far, when the input or its header
// cannot be read, the store or the audit trail fails, or ctx ends.
func (a *App) ImportTransactions(ctx context.Context, actor custos.Actor, r io.Reader, opt TxnImportOptions) (*TxnImportReport, error) {
	cr := &txnCountingReader{r: r}
	br := bufio.NewReaderSize(cr, 256<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	rep := &TxnImportReport{Format: opt.Format, Source: custos.NormalizeSource(opt.Source)}
	if rep.Format == "" {
		rep.Format = "csv"
		if b, _ := br.Peek(512); len(bytes.TrimLeft(b, " \t\r\n")) > 0 && bytes.TrimLeft(b, " \t\r\n")[0] == '{' {
			rep.Format = "jsonl"
		}
	}
	next, err := TxnRows(br, rep.Format)
	if err != nil {
		return rep, err
	}
	if err := a.mayRecordAny(ctx, actor); err != nil {
		return rep, err
	}
	s, err := a.newTxnSession(ctx, actor, opt.Source)
	if err != nil {
		return rep, err
	}
	size := opt.BatchSize
	if size <= 0 {
		size = DefaultTxnBatch
	}
	via := opt.Via
	if via == "" {
		via = actor.Via
	}

	// The writer: one batch in the store while the next is prepared.
	type work struct {
		b      *txnBatch
		failed int // failed rows read before this batch was sent
	}
	// Unbuffered: one batch in the store, one being prepared, no third.
	queue := make(chan work)
	var stop atomic.Bool // the writer failed: prepare no more
	var progress TxnProgress
	var writeErr error
	written := make(chan struct{})
	go func() {
		defer close(written)
		for w := range queue {
			if writeErr != nil || ctx.Err() != nil {
				continue // drain; nothing more is written
			}
			if w.b.Len() > 0 {
				batch, err := s.write(ctx, w.b, false, via, nil)
				if err != nil {
					writeErr = err
					stop.Store(true)
					continue
				}
				progress.Imported += batch.Inserted
				progress.Duplicates += batch.Rows - batch.Inserted
			}
			progress.Failed = w.failed
			progress.Rows = progress.Imported + progress.Duplicates + progress.Failed
			progress.BytesRead = cr.n.Load()
			if opt.Progress != nil {
				opt.Progress(progress)
			}
		}
	}()

	cur := newTxnBatch(size)
	failed := 0
	var readErr error
	for {
		if err := ctx.Err(); err != nil {
			readErr = err
			break
		}
		if stop.Load() {
			break
		}
		rw, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		errs := rw.Errors
		if len(errs) == 0 {
			if err := s.prepare(ctx, &rw.Input, rw.Line, cur); err != nil {
				var ce *custos.Error
				if !errors.As(err, &ce) || ce.Code == custos.EInternal || ce.Code == custos.EAuditUnavailable {
					readErr = err
					break
				}
				errs = rowErrors(rw.Line, ce)
			}
		}
		if len(errs) > 0 {
			failed++
			for _, e := range errs {
				if len(rep.Errors) >= MaxTxnRowErrors {
					rep.Truncated = true
					break
				}
				rep.Errors = append(rep.Errors, e)
			}
		}
		if cur.Len() >= size {
			queue <- work{b: cur, failed: failed}
			cur = newTxnBatch(size)
		}
	}
	if readErr == nil && ctx.Err() == nil {
		queue <- work{b: cur, failed: failed}
	}
	close(queue)
	<-written
	rep.Imported, rep.Duplicates, rep.Failed = progress.Imported, progress.Duplicates, failed
	rep.Rows = rep.Imported + rep.Duplicates + rep.Failed
	switch {
	case writeErr != nil:
		return rep, writeErr
	case readErr != nil:
		return rep, readErr
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

type txnCountingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *txnCountingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// txnColumns maps CSV header names to input fields. The CSV of the
// specification has reference, customer, account, time, amount, currency,
// direction, type, channel, counterparty_name, counterparty_account,
// counterparty_bank and remarks; customer_id, purpose and source may be
// added.
var txnColumns = map[string]func(in *custos.TransactionInput, v string){
	"reference":            func(in *custos.TransactionInput, v string) { in.Reference = v },
	"customer":             func(in *custos.TransactionInput, v string) { in.Customer = v },
	"customer_id":          func(in *custos.TransactionInput, v string) { in.CustomerID = v },
	"account":              func(in *custos.TransactionInput, v string) { in.Account = v },
	"time":                 func(in *custos.TransactionInput, v string) { in.Time = v },
	"amount":               func(in *custos.TransactionInput, v string) { in.Amount = custos.AmountText(v) },
	"currency":             func(in *custos.TransactionInput, v string) { in.Currency = v },
	"direction":            func(in *custos.TransactionInput, v string) { in.Direction = v },
	"type":                 func(in *custos.TransactionInput, v string) { in.Type = v },
	"channel":              func(in *custos.TransactionInput, v string) { in.Channel = v },
	"counterparty_name":    func(in *custos.TransactionInput, v string) { in.CounterpartyName = v },
	"counterparty_account": func(in *custos.TransactionInput, v string) { in.CounterpartyAccount = v },
	"counterparty_bank":    func(in *custos.TransactionInput, v string) { in.CounterpartyBank = v },
	"purpose":              func(in *custos.TransactionInput, v string) { in.Purpose = v },
	"remarks":              func(in *custos.TransactionInput, v string) { in.Remarks = v },
	"source":               func(in *custos.TransactionInput, v string) { in.Source = v },
}

var txnRequiredColumns = []string{"reference", "account", "time", "amount", "currency", "direction", "type", "channel"}

// TxnRows reads transaction rows from CSV (with a header row) or JSON
// Lines; a row is valid until the next call. A header that names an unknown column, a column twice, or lacks a
// required column (and customer or customer_id) is an EInvalid error and no
// row is read. Line numbers count physical lines from 1, the header included.
func TxnRows(r io.Reader, format string) (func() (*TxnRow, error), error) {
	switch format {
	case "csv":
		return txnCSV(r)
	case "jsonl":
		s := &txnJSONL{r: jsonl.NewReader(r, MaxTxnLineBytes)}
		return s.next, nil
	}
	return nil, custos.Errorf(custos.EInvalid, "不支持的文件格式 %q（应为 csv 或 jsonl）", "unsupported format %q (want csv or jsonl)", format)
}

func txnHeaderError(zh, en string, fields []custos.FieldError) error {
	return &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: zh, EN: en}, Fields: fields}
}

func txnCSV(r io.Reader) (func() (*TxnRow, error), error) {
	cr := csvx.NewReader(r, MaxTxnLineBytes)
	header, _, err := cr.Read()
	if err == io.EOF {
		return nil, txnHeaderError("文件为空：缺少表头行", "the file is empty: no header row", nil)
	}
	if err != nil {
		return nil, txnHeaderError("CSV 表头无法读取："+err.Error(), "cannot read the CSV header: "+err.Error(), nil)
	}
	setters := make([]func(*custos.TransactionInput, string), len(header))
	seen := map[string]bool{}
	var v custos.Validation
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		set, ok := txnColumns[name]
		switch {
		case !ok:
			v.Add(name, custos.CodeUnknown, custos.Message{ZH: fmt.Sprintf("第 %d 列 %q 不是可导入的列", i+1, name), EN: fmt.Sprintf("column %d %q is not an importable column", i+1, name)})
		case seen[name]:
			v.Add(name, custos.CodeDuplicate, custos.Message{ZH: fmt.Sprintf("第 %d 列 %q 重复", i+1, name), EN: fmt.Sprintf("column %d %q appears twice", i+1, name)})
		}
		seen[name] = true
		setters[i] = set
	}
	for _, c := range txnRequiredColumns {
		if !seen[c] {
			v.Add(c, custos.CodeRequired, custos.Message{ZH: "缺少必需的列 " + c, EN: "the required column " + c + " is missing"})
		}
	}
	if !seen["customer"] && !seen["customer_id"] {
		v.Add("customer", custos.CodeRequired, custos.Message{ZH: "缺少 customer 列（档案编号或证件号码）", EN: "the customer column (archive number or ID number) is missing"})
	}
	if len(v.Fields) > 0 {
		return nil, txnHeaderError("CSV 表头有误，整个文件未导入", "the CSV header is invalid; nothing was imported", v.Fields)
	}
	cr.FieldsPerRecord = len(header)
	rw := &TxnRow{} // reused: a row is valid until the next call
	return func() (*TxnRow, error) {
		for {
			rec, line, err := cr.Read()
			var pe *csvx.ParseError
			switch {
			case err == io.EOF:
				return nil, io.EOF
			case errors.As(err, &pe):
				return &TxnRow{Line: pe.Line, Errors: []TxnRowError{txnParseError(pe, header)}}, nil
			case err != nil:
				return nil, err
			}
			*rw = TxnRow{Line: line}
			blank := true
			for i, cell := range rec {
				cell = strings.TrimSpace(cell)
				if cell == "" {
					continue
				}
				blank = false
				setters[i](&rw.Input, csvx.Uncell(cell))
			}
			if !blank {
				return rw, nil
			}
		}
	}, nil
}

// txnParseError is the row error of a CSV record that could not be read;
// the reader goes on with the next line (csvx.Reader).
func txnParseError(pe *csvx.ParseError, header []string) TxnRowError {
	e := TxnRowError{Line: pe.Line, Code: CodeInvalidCSV}
	switch {
	case errors.Is(pe.Err, csvx.ErrFieldCount):
		e.Code, e.Message = CodeFieldCount, custos.Message{ZH: fmt.Sprintf("该行有 %d 个字段，表头有 %d 列", pe.Fields, len(header)), EN: fmt.Sprintf("the row has %d fields, the header %d columns", pe.Fields, len(header))}
	case errors.Is(pe.Err, csvx.ErrInvalidUTF8):
		e.Code, e.Message = custos.CodeInvalidEncoding, custos.StandardMessage(custos.CodeInvalidEncoding)
		if pe.Column > 0 && pe.Column <= len(header) {
			e.Field = strings.ToLower(strings.TrimSpace(header[pe.Column-1]))
		}
	case errors.Is(pe.Err, csvx.ErrLineTooLong):
		e.Code, e.Message = CodeLineTooLong, custos.Message{ZH: fmt.Sprintf("该行超过 %d 字节", MaxTxnLineBytes), EN: fmt.Sprintf("the line is longer than %d bytes", MaxTxnLineBytes)}
	case errors.Is(pe.Err, csvx.ErrBareQuote):
		e.Message = custos.Message{ZH: "CSV 格式错误：未加引号的字段中有引号（\"）", EN: "invalid CSV: a quote (\") inside an unquoted field"}
	default:
		e.Message = custos.Message{ZH: "CSV 格式错误：引号未闭合，或闭合引号后还有字符；其后各行照常读取", EN: "invalid CSV: a quote is not closed, or a character follows the closing quote; the following rows are read as usual"}
	}
	return e
}

type txnJSONL struct{ r *jsonl.Reader }

func (s *txnJSONL) next() (*TxnRow, error) {
	line, n, tooLong, err := s.r.Next()
	if err != nil {
		return nil, err
	}
	if tooLong {
		return &TxnRow{Line: n, Errors: []TxnRowError{{Line: n, Code: CodeLineTooLong,
			Message: custos.Message{ZH: fmt.Sprintf("该行超过 %d 字节", MaxTxnLineBytes), EN: fmt.Sprintf("the line is longer than %d bytes", MaxTxnLineBytes)}}}}, nil
	}
	rw := &TxnRow{Line: n}
	if err := DecodeTxnInput(line, &rw.Input); err != nil {
		rw.Errors = []TxnRowError{{Line: n, Field: err.Field, Code: err.Code, Message: err.Message}}
	}
	return rw, nil
}

// DecodeTxnInput decodes one JSON transaction strictly: unknown fields,
// wrong types and trailing data are a field error of the item.
func DecodeTxnInput(b []byte, in *custos.TransactionInput) *custos.FieldError {
	if at := jsonl.InvalidText(b); at >= 0 {
		return &custos.FieldError{Code: custos.CodeInvalidEncoding, Message: custos.Message{ZH: fmt.Sprintf("第 %d 个字节起不是有效的 UTF-8 文本", at+1), EN: fmt.Sprintf("not valid UTF-8 text at byte %d", at+1)}}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return &custos.FieldError{Code: CodeInvalidJSON, Message: custos.Message{ZH: fmt.Sprintf("JSON 格式错误（第 %d 个字节）", se.Offset), EN: fmt.Sprintf("invalid JSON at byte %d", se.Offset)}}
		case errors.As(err, &te):
			return &custos.FieldError{Field: te.Field, Code: custos.CodeInvalidFormat, Message: custos.Message{ZH: "类型不正确，应为 " + te.Type.String(), EN: "wrong type, want " + te.Type.String()}}
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &custos.FieldError{Field: strings.Trim(name, `"`), Code: custos.CodeUnknown, Message: custos.Message{ZH: "未知字段", EN: "unknown field"}}
		}
		return &custos.FieldError{Code: CodeInvalidJSON, Message: custos.Message{ZH: "JSON 格式错误", EN: "invalid JSON"}}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &custos.FieldError{Code: CodeInvalidJSON, Message: custos.Message{ZH: "JSON 对象之后还有多余内容", EN: "extra data after the JSON object"}}
	}
	return nil
}
