package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// txnCLIWorld sets up a store through the CLI (users) and, through the
// services, two customers made effective and verified two days ago, as the
// onboarding flow would leave them.
type txnCLIWorld struct {
	c          cli
	e          *env
	customers  []*custos.Customer
	verifiedAt time.Time
}

func newTxnCLIWorld(t *testing.T, c cli) *txnCLIWorld {
	t.Helper()
	c.must("", "migrate")
	c.addUser("li.na", "account_manager", "--name", "李娜")
	c.addUser("zhao.am", "account_manager", "--name", "赵敏")
	c.addUser("qian.in", "inspector", "--name", "钱检")
	e := &env{stdout: io.Discard, stderr: io.Discard}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	globalFlags(fs, &e.cfg)
	if err := fs.Parse(c.store); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.open(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	w := &txnCLIWorld{c: c, e: e, verifiedAt: time.Now().Add(-48 * time.Hour)}
	am, err := e.app.Authenticate(ctx, app.Credentials{Username: "li.na", Password: c.pw["li.na"], Via: "cli"}, "service")
	if err != nil {
		t.Fatal(err)
	}
	insp, _, err := e.app.UserByName(ctx, "qian.in")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"流水甲", "流水乙"} {
		cu, err := e.app.CreateCustomer(ctx, am, apptest.Person(name))
		if err != nil {
			t.Fatal(err)
		}
		w.customers = append(w.customers, cu)
	}
	err = e.db.Write(ctx, func(tx *sqlstore.Tx) error {
		for _, cu := range w.customers {
			if err := tx.SetCustomerState(ctx, cu.ID, custos.StatusEffective, custos.Verified); err != nil {
				return err
			}
			v := &sqlstore.VerificationRecord{}
			v.CustomerID, v.InspectorID, v.Method, v.Passed, v.NameMatches, v.At = cu.ID, insp.ID, custos.VerifyPublicSecurity, true, true, w.verifiedAt
			if err := tx.InsertVerification(ctx, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// csvRow is one line of the specification's CSV, h hours after the verification.
func (w *txnCLIWorld) csvRow(ref, customer, amount string, h int) string {
	at := w.verifiedAt.Add(time.Duration(h) * time.Hour).In(custos.TxnZone).Format("2006-01-02 15:04:05")
	return fmt.Sprintf("%s,%s,6222020200110000001,%s,%s,CNY,debit,transfer,online,房东王五,6217000000000001,中国建设银行,房租\n", ref, customer, at, amount)
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTxnImport_RE1 imports a CSV with good and bad rows: the good rows go
// in, the bad ones are listed by line with their reason; importing the same
// file again adds nothing. The JSON Lines form does the same.
func TestTxnImport_RE1(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		w := newTxnCLIWorld(t, c)
		a, b := w.customers[0], w.customers[1]
		header := strings.Join(custos.TxnCSVHeader, ",") + "\n"
		body := header +
			w.csvRow("R1", a.ArchiveNo, "100.00", 1) + // line 2
			w.csvRow("R2", a.ArchiveNo, "12.345", 2) + // line 3: too many decimals for CNY
			w.csvRow("R3", b.Person.IDDocuments[0].Number, "30.00", 3) + // line 4: by ID number
			w.csvRow("R4", "NO-SUCH-ARCHIVE", "1.00", 4) + // line 5: unknown customer
			"R5,only,three\n" + // line 6: wrong field count
			w.csvRow("R6", a.ArchiveNo, "60000.00", -1) + // line 7: high value before the verification (R-E6)
			w.csvRow("R7", b.ArchiveNo, "7.00", 5) // line 8
		file := writeFile(t, "txns.csv", body)

		out, _, err := c.run("", "txn", "import", file, "--as", "li.na", "--source", "core", "--quiet")
		if err == nil || !strings.Contains(err.Error(), "4 rows failed") {
			t.Fatalf("import with bad rows: %v\n%s", err, out)
		}
		if !strings.Contains(out, "imported 3 transactions, 0 duplicates, 4 rows failed") {
			t.Fatalf("summary:\n%s", out)
		}
		for _, want := range []string{"line 3: amount:", "(too_many_decimals)", "line 5: customer:", "line 6: row:", "(field_count)", "line 7: customer:", "(real_name_required)"} {
			if !strings.Contains(out, want) {
				t.Errorf("the report lacks %q:\n%s", want, out)
			}
		}
		for _, bad := range []string{"line 2:", "line 4:", "line 8:"} {
			if strings.Contains(out, bad) {
				t.Errorf("a good row reported as bad (%s):\n%s", bad, out)
			}
		}
		// Again: nothing new, the good rows come back as duplicates.
		out, _, _ = c.run("", "txn", "import", file, "--as", "li.na", "--source", "core", "--quiet")
		if !strings.Contains(out, "imported 0 transactions, 3 duplicates, 4 rows failed") {
			t.Fatalf("second import:\n%s", out)
		}
		// Under another source the same references are new records.
		jl := writeFile(t, "more.jsonl", `{"reference":"J1","customer":"`+a.ArchiveNo+`","account":"6222020200110000009","time":"`+
			w.verifiedAt.Add(6*time.Hour).Format(time.RFC3339)+`","amount":"5.5","currency":"CNY","direction":"credit","type":"salary","channel":"batch"}`+"\n"+
			`{"reference":"J2","amount":5}`+"\n")
		out, _, err = c.run("", "txn", "import", jl, "--as", "li.na", "--source", "payroll", "--quiet")
		if err == nil || !strings.Contains(out, "imported 1 transactions, 0 duplicates, 1 rows failed") || !strings.Contains(out, "line 2:") {
			t.Fatalf("jsonl import: %v\n%s", err, out)
		}
		// Someone else's customer: refused like a missing one, nothing stored.
		out, _, _ = c.run("", "txn", "import", file, "--as", "zhao.am", "--source", "core2", "--quiet")
		if !strings.Contains(out, "imported 0 transactions, 0 duplicates, 7 rows failed") {
			t.Fatalf("import for customers out of scope:\n%s", out)
		}
		if _, _, err := c.run("", "txn", "import", file, "--as", "qian.in", "--quiet"); err == nil {
			t.Fatal("an inspector imported transactions")
		}
		if _, _, err := c.run("", "txn", "import", writeFile(t, "bad.csv", "reference,amount\nX,1\n"), "--as", "li.na", "--quiet"); err == nil ||
			!strings.Contains(err.Error(), "header") {
			t.Fatalf("a bad header: %v", err)
		}

		// Search (R-E2): masked rows, totals, a purpose required.
		out = c.must("", "txn", "search", "--as", "li.na", "--purpose", "service", "--customer", a.ArchiveNo, "--sort", "time")
		if !strings.Contains(out, "core/R1") || !strings.Contains(out, "payroll/J1") || strings.Contains(out, "R3") || !strings.Contains(out, "2 rows") ||
			!strings.Contains(out, "total CNY: 2 transactions, debit 100.00, credit 5.50") {
			t.Fatalf("search:\n%s", out)
		}
		if strings.Contains(out, "6222020200110000001") || strings.Contains(out, "6217000000000001") || strings.Contains(out, "房东王五") {
			t.Fatalf("search output is not masked:\n%s", out)
		}
		out = c.must("", "txn", "search", "--as", "li.na", "--purpose", "service", "--account", "6222020200110000001", "--min-amount", "10", "--limit", "1")
		if !strings.Contains(out, "core/R3") || !strings.Contains(out, "more: --cursor ") {
			t.Fatalf("search by account, one per page:\n%s", out)
		}
		if _, _, err := c.run("", "txn", "search", "--as", "li.na", "--customer", a.ArchiveNo); exitCode(err) != 2 {
			t.Fatalf("a search without purpose: %v", err)
		}
		_, _, errHidden := c.run("", "txn", "search", "--as", "zhao.am", "--purpose", "service", "--customer", a.ArchiveNo)
		_, _, errMissing := c.run("", "txn", "search", "--as", "zhao.am", "--purpose", "service", "--customer", "NO-SUCH-ARCHIVE")
		if errHidden == nil || errMissing == nil || errHidden.Error() != errMissing.Error() {
			t.Fatalf("hidden and missing customers must answer alike: %v / %v", errHidden, errMissing)
		}
	})
}

// TestTxnImportInterrupted_RE1 stops an import the way Ctrl-C does (the
// context ends) while rows are still coming: what was stored stays
// consistent with the report, and running the same file again finishes
// the job without duplicates.
func TestTxnImportInterrupted_RE1(t *testing.T) {
	eachCLI(t, func(t *testing.T, c cli) {
		w := newTxnCLIWorld(t, c)
		a := w.customers[0]
		var first, rest strings.Builder
		first.WriteString(strings.Join(custos.TxnCSVHeader, ",") + "\n")
		for i := 0; i < 40; i++ {
			row := w.csvRow(fmt.Sprintf("I%03d", i), a.ArchiveNo, "1.00", 1+i%40)
			if i < 20 {
				first.WriteString(row)
			} else {
				rest.WriteString(row)
			}
		}
		full := writeFile(t, "full.csv", first.String()+rest.String())
		fifo := filepath.Join(t.TempDir(), "feed.csv")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skipf("no named pipes here: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out, errb bytes.Buffer
		done := make(chan error, 1)
		go func() {
			args := append([]string{"txn", "import", fifo, "--as", "li.na", "--password-stdin", "--source", "core", "--batch", "10", "--quiet", "--format", "csv"}, c.store...)
			done <- run(ctx, args, strings.NewReader(c.pw["li.na"]+"\n"), &out, &errb)
		}()
		pipe, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		pipe.WriteString(first.String())
		// Wait until the first two batches are stored, as seen by another
		// reader of the store, then interrupt while the feed is still open.
		gm, err := w.e.app.Authenticate(context.Background(), app.Credentials{Username: "li.na", Password: c.pw["li.na"], Via: "cli"}, "service")
		if err != nil {
			t.Fatal(err)
		}
		stored := func() int64 {
			p, err := w.e.app.SearchTransactions(context.Background(), gm, custos.TxnFilter{CustomerID: a.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Totals) == 0 {
				return 0
			}
			return p.Totals[0].Count
		}
		for deadline := time.Now().Add(30 * time.Second); stored() < 10; {
			if time.Now().After(deadline) {
				t.Fatal("the first batch was never stored")
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		pipe.WriteString(rest.String()[:len(rest.String())/2])
		pipe.Close()
		err = <-done
		if err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Fatalf("interrupted import: %v\n%s%s", err, out.String(), errb.String())
		}
		n := stored()
		if n < 10 || n >= 40 || !strings.Contains(out.String(), fmt.Sprintf("imported %d transactions", n)) {
			t.Fatalf("after the interruption %d rows are stored; the report says:\n%s", n, out.String())
		}
		// The same file again: the rest goes in, the stored rows are duplicates.
		res := c.must("", "txn", "import", full, "--as", "li.na", "--source", "core", "--quiet")
		if !strings.Contains(res, fmt.Sprintf("imported %d transactions, %d duplicates, 0 rows failed", 40-n, n)) || stored() != 40 {
			t.Fatalf("rerun after the interruption (%d stored before):\n%s", n, res)
		}
	})
}
