package portal

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/browsertest"
	"github.com/custos-cim/custos/internal/httpx"
	"github.com/custos-cim/custos/internal/pdfdoc"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

const portalPassword = "Kehu-Mima-2026!"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// world is a fixture with one onboarded customer with portal access and
// three transactions, and another customer with one.
type world struct {
	f                 *apptest.Fixture
	c, other          *custos.Customer
	idNumber          string
	own               []*custos.Transaction
	otherTxn          *custos.Transaction
	verifiedAt        time.Time
	srv               *httptest.Server
	archiveNo, masked string
}

func onboard(t *testing.T, f *apptest.Fixture, c *custos.Customer) {
	t.Helper()
	ctx := context.Background()
	at, err := f.App.AddAttachment(ctx, f.Actor("am_bj01"), c.ID, custos.AttachIDScan, "id.png", "", []byte("\x89PNG scan"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.App.RecordVerification(ctx, f.Actor("inspector_bj").WithPurpose("kyc"), c.ID, app.VerificationInput{
		Method: custos.VerifyPublicSecurity, Passed: true, NameMatches: true, EvidenceIDs: []string{at.ID}}); err != nil {
		t.Fatal(err)
	}
	rs, err := f.App.Requests(ctx, f.Actor("auditor"), custos.RequestFilter{CustomerID: c.ID, Kind: custos.KindOnboarding})
	if err != nil || len(rs) != 1 {
		t.Fatalf("onboarding request: %v", err)
	}
	if _, err := f.App.DecideRequest(ctx, f.Actor("mgr_bj"), rs[0].ID, true, "身份已核实"); err != nil {
		t.Fatal(err)
	}
}

func newWorld(t *testing.T, db *sqlstore.DB) *world {
	t.Helper()
	ctx := context.Background()
	f := apptest.New(t, db)
	w := &world{f: f}
	p := apptest.Person("门户客户")
	w.idNumber, w.masked = p.IDNumber, custos.MaskIDNumber(p.IDNumber)
	w.c = f.Create(t, "am_bj01", p)
	w.other = f.Create(t, "am_bj01", apptest.Person("他人客户"))
	w.archiveNo = w.c.ArchiveNo
	onboard(t, f, w.c)
	onboard(t, f, w.other)
	w.verifiedAt = f.Clock.Now()
	f.Clock.Advance(24 * time.Hour)
	at := func(h int) string {
		return w.verifiedAt.Add(time.Duration(h) * time.Hour).In(custos.TxnZone).Format("2006-01-02 15:04:05")
	}
	am := f.Actor("am_bj01")
	for _, in := range []custos.TransactionInput{
		{Source: "core", Reference: "P001", Account: "6222020200110000001", Time: at(1), Amount: "100.00", Currency: "CNY", Direction: "debit",
			Type: "transfer", Channel: "online", CounterpartyName: "房东王五", CounterpartyAccount: "6217000000000001", Remarks: "房租"},
		{Source: "core", Reference: "P002", Account: "6222020200110000001", Time: at(2), Amount: "2500.50", Currency: "CNY", Direction: "credit",
			Type: "salary", Channel: "batch", CounterpartyName: "某某科技有限公司", Remarks: "工资"},
		{Source: "core", Reference: "P003", Account: "6222020200110000001", Time: at(3), Amount: "88.80", Currency: "USD", Direction: "debit",
			Type: "fx", Channel: "counter", Remarks: "购汇"},
	} {
		tx, _, err := f.App.RecordTransaction(ctx, am, w.c.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		w.own = append(w.own, tx)
	}
	tx, _, err := f.App.RecordTransaction(ctx, am, w.other.ID, custos.TransactionInput{Source: "core", Reference: "O001", Account: "6222020200110000009",
		Time: at(1), Amount: "777.00", Currency: "CNY", Direction: "debit", Type: "transfer", Channel: "online"})
	if err != nil {
		t.Fatal(err)
	}
	w.otherTxn = tx
	if err := f.App.EnablePortal(ctx, am, w.c.ID, portalPassword); err != nil {
		t.Fatal(err)
	}
	font := os.Getenv("CUSTOS_PDF_FONT")
	if font == "" {
		font = pdfdoc.DefaultFont
	}
	f.App.SetPDF(pdfdoc.New(font))
	mux := http.NewServeMux()
	mux.Handle(Prefix, New(f.App, Options{Log: quiet}))
	w.srv = httptest.NewServer(httpx.Wrap(mux, httpx.Options{Log: quiet}))
	t.Cleanup(w.srv.Close)
	return w
}

// needTools skips (or, under CI=true, fails) without Chromium, the
// Chinese font and pdftotext.
func needTools(t *testing.T) {
	t.Helper()
	font := os.Getenv("CUSTOS_PDF_FONT")
	if font == "" {
		font = pdfdoc.DefaultFont
	}
	browsertest.NeedChromium(t)
	browsertest.Need(t, font, "fonts-lxgw-wenkai")
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but pdftotext is missing: apt-get install -y poppler-utils")
		}
		t.Skip("pdftotext missing: browser test skipped")
	}
}

// TestBrowserPortal_RB5_RE3 drives Debian's Chromium through the portal as
// a customer would: log in with the ID number and password, search their
// own transactions (with totals), fail to open another customer's record
// (404), and download a PDF statement whose text (pdftotext) holds the
// Chinese title and remarks and the amounts.
func TestBrowserPortal_RB5_RE3(t *testing.T) {
	needTools(t)
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newWorld(t, db)
		ctx := browsertest.Start(t, 90*time.Second)
		shots := browsertest.NewShots(t, "portal-")
		shot := func(name string) { shots.Take(ctx, name) }
		do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		submit := func(what, sel string, status int) {
			t.Helper()
			resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if resp.Status != int64(status) {
				t.Fatalf("%s: HTTP %d, want %d", what, resp.Status, status)
			}
		}
		text := func(sel string) string {
			t.Helper()
			s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
			if err != nil {
				t.Fatalf("text of %s: %v", sel, err)
			}
			return strings.TrimSpace(s)
		}

		// A wrong password is refused; the right one signs in.
		do("open", chromedp.Navigate(w.srv.URL+"/portal/"), chromedp.WaitVisible(chromedp.ID("id_number")))
		shot("login")
		do("wrong password", chromedp.SendKeys(chromedp.ID("id_number"), w.idNumber), chromedp.SendKeys(chromedp.ID("password"), "Wrong-Passw0rd!"))
		submit("wrong password", "#login-submit", http.StatusUnauthorized)
		if msg := text("#error"); !strings.Contains(msg, "证件号码或密码错误") {
			t.Fatalf("login error: %q", msg)
		}
		do("log in", chromedp.SendKeys(chromedp.ID("id_number"), w.idNumber), chromedp.SendKeys(chromedp.ID("password"), portalPassword))
		submit("log in", "#login-submit", http.StatusOK)
		shot("transactions")
		if who := text("#who"); !strings.Contains(who, w.archiveNo) || strings.Contains(who, "门户客户") {
			t.Fatalf("header: %q", who)
		}

		// Search: all own transactions with totals, then by amount.
		table := text("#txn-table")
		for _, want := range []string{"P001", "P002", "P003", "2500.50", "房租"} {
			if !strings.Contains(table, want) {
				t.Fatalf("transactions lack %q: %s", want, table)
			}
		}
		if strings.Contains(table, "O001") || strings.Contains(table, "777.00") || strings.Contains(table, "6222020200110000001") {
			t.Fatalf("transactions show another customer's record or an unmasked account: %s", table)
		}
		if totals := text("#txn-totals"); !strings.Contains(totals, "100.00") || !strings.Contains(totals, "2500.50") || !strings.Contains(totals, "88.80") {
			t.Fatalf("totals: %s", totals)
		}
		do("search by amount", chromedp.SendKeys(chromedp.ID("min"), "1000"))
		submit("search by amount", "#txn-submit", http.StatusOK)
		shot("search")
		if table := text("#txn-table"); !strings.Contains(table, "P002") || strings.Contains(table, "P001") || strings.Contains(table, "P003") {
			t.Fatalf("search by amount: %s", table)
		}
		submit("open a transaction", `#txn-table a[href^="/portal/transactions/"]`, http.StatusOK)
		if body := text("main"); !strings.Contains(body, "P002") || !strings.Contains(body, "工资") {
			t.Fatalf("transaction page: %s", body)
		}

		// Another customer's transaction answers like a missing one.
		resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(w.srv.URL+"/portal/transactions/"+w.otherTxn.ID))
		if err != nil || resp.Status != http.StatusNotFound {
			t.Fatalf("another customer's transaction: %v %+v", err, resp)
		}

		// Download the PDF statement of the default period.
		dir := t.TempDir()
		progress := chromedp.Events(ctx, browser.DownloadProgress)
		events := true
		do("open the statement form", chromedp.Navigate(w.srv.URL+"/portal/statement"), chromedp.WaitVisible(chromedp.ID("stmt-pdf")),
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
					Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events})
				return err
			}),
			chromedp.Click(chromedp.ID("stmt-pdf")),
		)
		var file string
		for ev, err := range progress {
			if err != nil {
				t.Fatalf("download: %v", err)
			}
			if ev.State == browser.DownloadProgressStateCanceled {
				t.Fatal("download cancelled")
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				file = filepath.Join(dir, ev.GUID)
				break
			}
		}
		pdf, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(pdf), "%PDF-") {
			t.Fatalf("download is not a PDF: %.40q", pdf)
		}
		in := filepath.Join(dir, "statement.pdf")
		if err := os.WriteFile(in, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-layout", in, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		pdfText := string(out)
		for _, want := range []string{"交易对账单", "交易明细", "房租", "工资", "100.00", "2500.50", "88.80", w.archiveNo, w.masked} {
			if !strings.Contains(pdfText, want) {
				t.Fatalf("PDF text lacks %q:\n%s", want, pdfText)
			}
		}
		if strings.Contains(pdfText, "777.00") || strings.Contains(pdfText, w.idNumber) {
			t.Fatalf("PDF shows another customer's record or the full ID number:\n%s", pdfText)
		}

		// Logging out ends the session.
		do("log out", chromedp.Navigate(w.srv.URL+"/portal/profile"), chromedp.WaitVisible(chromedp.ID("logout")))
		shot("profile")
		do("corrections", chromedp.Navigate(w.srv.URL+"/portal/corrections"), chromedp.WaitVisible(chromedp.ID("correction-form")))
		shot("corrections")
		submit("log out", "#logout", http.StatusOK)
		resp, err = chromedp.RunResponse(ctx, chromedp.Navigate(w.srv.URL+"/portal/transactions"))
		if err != nil || !strings.HasSuffix(resp.URL, "/portal/login") {
			t.Fatalf("after logout: %v %+v", err, resp)
		}
	})
}
