package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/csvx"
	"github.com/custos-cim/custos/internal/pdfdoc"
)

// Statement formats (R-E3: customers print and save their own records).
const (
	StatementPDF  = "pdf"
	StatementCSV  = "csv"
	StatementXLSX = "xlsx"
)

// Statement is a rendered statement file.
type Statement struct {
	Filename    string
	ContentType string
	Body        []byte
	Rows        int
}

// statementData is what every format of a statement shows.
type statementData struct {
	archiveNo, name, idNumber string
	from, to                  time.Time // to is exclusive
	generated                 time.Time
	items                     []*custos.Transaction
	totals                    []custos.TxnTotal
}

// PortalStatement renders the signed-in customer's own transactions of
// [from, to) as a PDF (Chinese text, the configured font), CSV or XLSX
// file (R-E3). Account numbers and counterparties are masked as on screen.
// Reading the rows is audited like a search; the statement itself is
// audited as a print with its format and row count.
func (a *App) PortalStatement(ctx context.Context, actor custos.Actor, from, to time.Time, format string) (*Statement, error) {
	var v custos.Validation
	switch format {
	case StatementPDF, StatementCSV, StatementXLSX:
	default:
		v.Addf("format", custos.CodeNotAllowed)
	}
	switch {
	case from.IsZero():
		v.Addf("from", custos.CodeRequired)
	case to.IsZero():
		v.Addf("to", custos.CodeRequired)
	case !from.Before(to):
		v.Add("to", custos.CodeOutOfRange, custos.Message{ZH: "结束日期须晚于开始日期", EN: "the end must lie after the start"})
	case to.Sub(from) > MaxStatementDays*24*time.Hour:
		v.Add("to", custos.CodeOutOfRange, custos.Message{ZH: "对账单期间至多五年", EN: "a statement covers at most five years"})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if format == StatementPDF {
		if a.pdf == nil || a.pdf.Available() != nil {
			return nil, custos.Errorf(custos.EConflict, "PDF 字体不可用，请下载 CSV 或 Excel 格式", "the PDF font is not available; download CSV or Excel instead")
		}
	}
	rec, err := a.loadOwn(ctx, actor, custos.ActCustomerPrint)
	if err != nil {
		return nil, err
	}
	c, err := a.openCustomer(rec)
	if err != nil {
		return nil, internal("open customer", err)
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	m := c.Masked(nil, ref.sensitiveCustom(c.Category))
	d := statementData{archiveNo: rec.ArchiveNo, name: customerName(m), from: from.UTC(), to: to.UTC(), generated: a.now()}
	if m.Person != nil && len(m.Person.IDDocuments) > 0 {
		d.idNumber = m.Person.IDDocuments[0].Number
	} else if m.Institution != nil {
		d.idNumber = m.Institution.USCC
	}
	f := custos.TxnFilter{From: d.from, To: d.to, Sort: "time", Limit: custos.MaxTxnLimit}
	for {
		page, err := a.PortalTransactions(ctx, actor, f)
		if err != nil {
			return nil, err
		}
		if f.Cursor == "" {
			d.totals = page.Totals
		}
		d.items = append(d.items, page.Items...)
		if len(d.items) > MaxStatementRows {
			return nil, custos.Errorf(custos.EInvalid, "对账单超过 %d 笔，请缩短期间", "the statement has more than %d records; choose a shorter period", MaxStatementRows)
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	st := &Statement{Rows: len(d.items)}
	base := fmt.Sprintf("statement-%s-%s-%s", rec.ArchiveNo, day(d.from), day(d.to.Add(-time.Microsecond)))
	switch format {
	case StatementPDF:
		st.Filename, st.ContentType = base+".pdf", "application/pdf"
		st.Body, err = a.statementPDF(&d)
	case StatementCSV:
		st.Filename, st.ContentType = base+".csv", "text/csv; charset=utf-8"
		st.Body, err = statementCSV(&d)
	case StatementXLSX:
		st.Filename, st.ContentType = base+".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		st.Body, err = statementXLSX(&d)
	}
	if err != nil {
		return nil, internal("render statement", err)
	}
	ev := a.event(actor, custos.ActCustomerPrint, rec.ID, custos.OutcomeOK, custos.ReasonSelf)
	ev.Detail = detail(map[string]any{"statement": format, "rows": st.Rows, "from": day(d.from), "to": day(d.to)})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return st, nil
}

// day writes a date in China Standard Time, the zone of the records.
func day(t time.Time) string { return t.In(custos.TxnZone).Format("2006-01-02") }

func stamp(t time.Time) string { return t.In(custos.TxnZone).Format("2006-01-02 15:04:05") }

func dirLabel(d custos.Direction) string {
	if d == custos.Debit {
		return "借 Dr"
	}
	return "贷 Cr"
}

func counterpartyOf(t *custos.Transaction) string {
	s := t.Counterparty.Name
	if t.Counterparty.Account != "" {
		if s != "" {
			s += " "
		}
		s += t.Counterparty.Account
	}
	return s
}

func (a *App) statementPDF(d *statementData) ([]byte, error) {
	rows := make([][]string, len(d.items))
	for i, t := range d.items {
		rows[i] = []string{t.Time.In(custos.TxnZone).Format("2006-01-02 15:04"), t.Reference, t.Account, dirLabel(t.Direction),
			t.Amount.String(), t.Currency, counterpartyOf(t), t.Remarks}
	}
	totals := make([][]string, len(d.totals))
	for i, t := range d.totals {
		totals[i] = []string{t.Currency, fmt.Sprint(t.Count), t.Debit, t.Credit}
	}
	blocks := []pdfdoc.Block{
		pdfdoc.Fields{
			{"客户 Customer", d.name},
			{"证件号码 ID number", d.idNumber},
			{"档案编号 Archive no.", d.archiveNo},
			{"期间 Period", day(d.from) + " – " + day(d.to.Add(-time.Microsecond))},
			{"生成时间 Generated", stamp(d.generated) + "（北京时间 CST）"},
		},
		pdfdoc.Heading("交易明细 Transactions"),
	}
	if len(rows) == 0 {
		blocks = append(blocks, pdfdoc.Para("本期间没有交易记录。No transactions in this period."))
	} else {
		blocks = append(blocks, pdfdoc.Table{
			Header: []string{"时间 Time", "流水号 Ref.", "账号 Account", "借贷", "金额 Amount", "币种", "对方 Counterparty", "摘要 Remarks"},
			Widths: []float64{27, 24, 25, 13, 25, 11, 27, 22},
			Rows:   rows,
		})
	}
	blocks = append(blocks,
		pdfdoc.Heading("合计 Totals"),
		pdfdoc.Table{Header: []string{"币种 Currency", "笔数 Count", "借方合计 Debit", "贷方合计 Credit"}, Rows: totals},
		pdfdoc.Para("账号与对方信息已部分隐藏以保护您的隐私。如发现记录有误，请在自助服务中提交更正申请或联系您的客户经理。\n"+
			"Account numbers and counterparties are partly masked for your privacy. If a record is wrong, file a correction in the portal or ask your account manager."),
	)
	return a.pdf.Render(pdfdoc.Doc{
		Title:    "交易对账单 Statement of Transactions",
		Subtitle: d.archiveNo + " · " + day(d.from) + " – " + day(d.to.Add(-time.Microsecond)),
		Blocks:   blocks,
		Footer:   "Custos · " + d.archiveNo,
	})
}

// StatementColumns is the header of a CSV statement.
var StatementColumns = []string{"time", "reference", "account", "direction", "amount", "currency", "type", "channel",
	"counterparty_name", "counterparty_account", "counterparty_bank", "purpose", "remarks", "reversal_of"}

func statementRow(t *custos.Transaction) []string {
	return []string{stamp(t.Time), t.Reference, t.Account, string(t.Direction), t.Amount.String(), t.Currency, t.Type, t.Channel,
		t.Counterparty.Name, t.Counterparty.Account, t.Counterparty.Bank, t.Purpose, t.Remarks, t.ReversalOf}
}

// statementCSV writes UTF-8 with a byte-order mark, so that spreadsheets
// read the Chinese text right; cells that would start a formula are escaped.
func statementCSV(d *statementData) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	if err := w.Write(StatementColumns); err != nil {
		return nil, err
	}
	for _, t := range d.items {
		if err := w.Write(csvx.Row(statementRow(t)...)); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// Sheets of an XLSX statement.
const (
	StatementSheet = "交易明细"
	TotalsSheet    = "合计"
)

// statementXLSX writes two sheets: the transactions and the totals per
// currency. Amounts are exact decimal text, never floats.
func statementXLSX(d *statementData) ([]byte, error) {
	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName("Sheet1", StatementSheet); err != nil {
		return nil, err
	}
	header := []any{"时间 Time", "流水号 Reference", "账号 Account", "借贷 Direction", "金额 Amount", "币种 Currency", "类型 Type", "渠道 Channel",
		"对方户名 Counterparty", "对方账号 Counterparty account", "对方银行 Counterparty bank", "用途 Purpose", "摘要 Remarks", "冲正原交易 Reversal of"}
	if err := x.SetSheetRow(StatementSheet, "A1", &header); err != nil {
		return nil, err
	}
	for i, t := range d.items {
		cells := statementRow(t)
		row := make([]any, len(cells))
		for j, c := range cells {
			row[j] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := x.SetSheetRow(StatementSheet, cell, &row); err != nil {
			return nil, err
		}
	}
	if _, err := x.NewSheet(TotalsSheet); err != nil {
		return nil, err
	}
	th := []any{"币种 Currency", "笔数 Count", "借方合计 Debit", "贷方合计 Credit"}
	if err := x.SetSheetRow(TotalsSheet, "A1", &th); err != nil {
		return nil, err
	}
	for i, t := range d.totals {
		row := []any{t.Currency, t.Count, t.Debit, t.Credit}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := x.SetSheetRow(TotalsSheet, cell, &row); err != nil {
			return nil, err
		}
	}
	x.SetDocProps(&excelize.DocProperties{Title: "交易对账单 " + d.archiveNo, Creator: "Custos"})
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
