package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// custos txn: importing transaction records from files and searching them
// (R-E1, R-E2). Both act as a named user (or, for imports, the system), so
// the same permission, real-name and audit rules apply as in the API.

const txnUsage = "usage: custos txn import FILE --as USER [--source S] [--format csv|jsonl] [--quiet] [--report R.json]\n" +
	"       custos txn search --as USER --purpose P (--customer ARCHIVE_NO | --account A | …) [--from T] [--to T] [--min-amount X] [--max-amount X]\n" +
	"                         [--type T] [--channel C] [--counterparty-name N] [--counterparty-account A] [--sort -time|time|-amount|amount] [--limit N] [--cursor C]"

func cmdTxn(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{txnUsage}
	}
	switch args[0] {
	case "import":
		return txnImport(ctx, e, args[1:])
	case "search":
		return txnSearch(ctx, e, args[1:])
	}
	return usageError{"unknown txn command " + args[0] + "\n" + txnUsage}
}

// maxListedRowErrors bounds the bad rows printed; --report has them all.
const maxListedRowErrors = 100

func txnImport(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("txn import", flag.ContinueOnError)
	as := fs.String("as", "", "import as this user, who signs in (their permissions apply; or CUSTOS_TOKEN)")
	source := fs.String("source", "", "source system of rows that name none (default \"default\")")
	format := fs.String("format", "", "csv or jsonl (default: from the file name)")
	report := fs.String("report", "", "write the report with every bad row (JSON) to this file")
	quiet := fs.Bool("quiet", false, "no progress bar")
	batch := fs.Int("batch", 0, "rows per store transaction (default 16384)")
	var file string
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		return usageError{txnUsage}
	}
	if *format == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".jsonl", ".ndjson":
			*format = "jsonl"
		default:
			*format = "csv"
		}
	}
	if *format != "csv" && *format != "jsonl" {
		return usageError{"--format: csv or jsonl"}
	}
	f, size, actor, err := e.openImport(ctx, file, *as)
	if err != nil {
		return err
	}
	defer f.Close()
	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(e.stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("importing"), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	start := time.Now()
	rep, err := e.app.ImportTransactions(ctx, actor, f, app.TxnImportOptions{Format: *format, Source: *source, Via: "cli", BatchSize: *batch,
		Progress: func(p app.TxnProgress) {
			if bar != nil {
				bar.Describe(fmt.Sprintf("imported %d, duplicates %d, failed %d", p.Imported, p.Duplicates, p.Failed))
				bar.Set64(p.BytesRead)
			}
		}})
	if bar != nil {
		bar.Finish()
	}
	if rep != nil {
		fmt.Fprintf(e.stdout, "imported %d transactions, %d duplicates, %d rows failed (%s, source %s, %s)\n",
			rep.Imported, rep.Duplicates, rep.Failed, rep.Format, rep.Source, time.Since(start).Round(time.Millisecond))
		for i, re := range rep.Errors {
			if i == maxListedRowErrors {
				fmt.Fprintf(e.stdout, "… and %d more (see --report)\n", len(rep.Errors)-maxListedRowErrors)
				break
			}
			field := re.Field
			if field == "" {
				field = "row"
			}
			fmt.Fprintf(e.stdout, "line %d: %s: %s (%s)\n", re.Line, field, re.Message.EN, re.Code)
		}
		if rep.Truncated {
			fmt.Fprintf(e.stdout, "more than %d errors: the rest were counted, not listed\n", app.MaxTxnRowErrors)
		}
		if *report != "" {
			b, _ := json.MarshalIndent(rep, "", "  ")
			if werr := os.WriteFile(*report, b, 0o600); werr != nil {
				return werr
			}
		}
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted; the rows counted above are stored, rerun the same file to continue (stored rows report as duplicates)")
	}
	if err != nil {
		return describe(err)
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d rows failed", rep.Failed)
	}
	return nil
}

func txnSearch(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("txn search", flag.ContinueOnError)
	as := fs.String("as", "", "search as this user (required: reads are made by a named person)")
	purpose := fs.String("purpose", "", "purpose of the search (required): service, kyc, risk, audit, legal, …")
	customer := fs.String("customer", "", "the customer's archive number")
	var f custos.TxnFilter
	fs.StringVar(&f.Account, "account", "", "account number")
	from := fs.String("from", "", "from (inclusive): YYYY-MM-DD[ HH:MM:SS] in China Standard Time, or RFC 3339")
	to := fs.String("to", "", "to (exclusive), as --from")
	minAmount := fs.String("min-amount", "", "smallest amount")
	maxAmount := fs.String("max-amount", "", "largest amount")
	fs.StringVar(&f.Currency, "currency", "", "currency, e.g. CNY")
	direction := fs.String("direction", "", "debit or credit")
	fs.StringVar(&f.Type, "type", "", "transaction type, e.g. transfer")
	fs.StringVar(&f.Channel, "channel", "", "channel, e.g. online")
	fs.StringVar(&f.CounterpartyName, "counterparty-name", "", "counterparty's name (exact)")
	fs.StringVar(&f.CounterpartyAccount, "counterparty-account", "", "counterparty's account (exact)")
	fs.StringVar(&f.CounterpartyBank, "counterparty-bank", "", "counterparty's bank (exact)")
	fs.StringVar(&f.Sort, "sort", "-time", "-time, time, -amount or amount")
	fs.IntVar(&f.Limit, "limit", custos.DefaultTxnLimit, "rows per page")
	fs.StringVar(&f.Cursor, "cursor", "", "the next-page cursor printed by the previous search")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if needsPerson(*as) || *purpose == "" {
		return usageError{"--as USER and --purpose P are required: every read is made by a named person for a stated purpose"}
	}
	var v custos.Validation
	for _, tm := range []struct {
		flag string
		s    string
		dst  *time.Time
	}{{"from", *from, &f.From}, {"to", *to, &f.To}} {
		if tm.s == "" {
			continue
		}
		t, ok := custos.ParseTxnTime(tm.s)
		if !ok {
			v.Addf(tm.flag, custos.CodeInvalidDate)
		}
		*tm.dst = t
	}
	for _, am := range []struct {
		flag string
		s    string
		dst  *custos.Amount
	}{{"min-amount", *minAmount, &f.MinAmount}, {"max-amount", *maxAmount, &f.MaxAmount}} {
		if am.s == "" {
			continue
		}
		a, err := custos.ParseAmount(am.s)
		if err != nil {
			v.Addf(am.flag, custos.CodeInvalidFormat)
		}
		*am.dst = a
	}
	if *direction != "" {
		d, ok := custos.ParseDirection(*direction)
		if !ok {
			v.Addf("direction", custos.CodeNotAllowed)
		}
		f.Direction = d
	}
	if err := v.Err(); err != nil {
		return describe(err)
	}
	if err := e.open(ctx, false, nil); err != nil {
		return err
	}
	actor, err := e.actorFor(ctx, *as, *purpose)
	if err != nil {
		return err
	}
	if *customer != "" {
		// A missing archive number and a hidden customer answer alike:
		// the search itself decides, and answers not found for both.
		rec, err := e.db.Reader().CustomerByArchiveNo(ctx, strings.TrimSpace(*customer))
		switch {
		case errors.Is(err, custos.ErrNotFound):
			f.CustomerID = "00000000-0000-0000-0000-000000000000" // no such id: the service answers not found and audits the attempt
		case err != nil:
			return err
		default:
			f.CustomerID = rec.ID
		}
	}
	page, err := e.app.SearchTransactions(ctx, actor, f)
	if err != nil {
		return describe(err)
	}
	printTxnPage(e, page)
	return nil
}

// printTxnPage writes a page as a table: the rows come masked from the
// service (R-C10).
func printTxnPage(e *env, page *custos.TxnPage) {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (CST)\tSOURCE/REFERENCE\tACCOUNT\tDIRECTION\tAMOUNT\tCURRENCY\tTYPE\tCHANNEL\tCOUNTERPARTY\tNOTE")
	for _, t := range page.Items {
		note := ""
		switch {
		case t.ReversalOf != "":
			note = "reversal"
		case t.ReversedBy != "":
			note = "reversed"
		}
		if t.LargeValue {
			note = strings.TrimPrefix(note+",large", ",")
		}
		cp := strings.TrimSpace(strings.Join([]string{t.Counterparty.Name, t.Counterparty.Account, t.Counterparty.Bank}, " "))
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Time.In(custos.TxnZone).Format("2006-01-02 15:04:05"), t.Source, t.Reference,
			t.Account, t.Direction, t.Amount, t.Currency, t.Type, t.Channel, cp, note)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "%d rows\n", len(page.Items))
	for _, tot := range page.Totals {
		fmt.Fprintf(e.stdout, "total %s: %d transactions, debit %s, credit %s\n", tot.Currency, tot.Count, tot.Debit, tot.Credit)
	}
	if page.Notice != nil {
		fmt.Fprintln(e.stdout, page.Notice.EN)
	}
	if page.NextCursor != "" {
		fmt.Fprintf(e.stdout, "more: --cursor %s\n", page.NextCursor)
	}
}
