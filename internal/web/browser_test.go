package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/browsertest"
	"github.com/custos-cim/custos/internal/httpapi"
	"github.com/custos-cim/custos/internal/httpx"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestBrowserCreateAndFind drives Debian's Chromium through the whole
// server stack as a person would: log in as an account manager, state a
// purpose (R-C6), create a person through the form (R-A1, R-A2), find it by
// ID number and by name (R-E2) and see its ID number masked (R-C10).
// CUSTOS_SCREENSHOTS=dir keeps a screenshot of each step.
func TestBrowserCreateAndFind(t *testing.T) {
	browsertest.NeedChromium(t)
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		api := httpapi.New(f.App, quiet)
		mux := http.NewServeMux()
		mux.Handle("/api/", api)
		mux.Handle("/healthz", api)
		mux.Handle("/", New(f.App, Options{Log: quiet}))
		srv := httptest.NewServer(httpx.Wrap(mux, httpx.Options{Log: quiet}))
		t.Cleanup(srv.Close)

		ctx := browsertest.Start(t, 60*time.Second)
		shots := browsertest.NewShots(t, "")
		shot := func(name string) { shots.Take(ctx, name) }
		do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		// submit clicks a button and waits for the page it leads to.
		submit := func(what, sel string) {
			t.Helper()
			resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if resp.Status != http.StatusOK {
				t.Fatalf("%s: HTTP %d", what, resp.Status)
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
		location := func() string {
			t.Helper()
			s, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}

		idNumber := apptest.Person("x").IDNumber
		const name = "钱多多"
		masked := custos.MaskIDNumber(idNumber)

		// Log in as an account manager; the customer list first asks for a purpose.
		do("open", chromedp.Navigate(srv.URL+"/customers"), chromedp.WaitVisible(chromedp.ID("username")))
		shot("login")
		do("log in", chromedp.SendKeys(chromedp.ID("username"), "am_bj01"), chromedp.SendKeys(chromedp.ID("password"), apptest.Password))
		submit("log in", `form[action="/login"] button[type=submit]`)
		if loc := location(); !strings.Contains(loc, "/purpose?next=%2Fcustomers") {
			t.Fatalf("after login: %s, want the purpose form", loc)
		}
		shot("purpose")
		do("choose a purpose", chromedp.SetValue(chromedp.ID("purpose"), "service"))
		submit("choose a purpose", `form[action="/purpose"] button[type=submit]`)
		if loc := location(); !strings.HasSuffix(loc, "/customers") {
			t.Fatalf("after the purpose: %s", loc)
		}
		shot("empty-list")

		// Create a person through the form.
		submit("open the form", `nav.mainnav a[href="/customers/new?type=person"]`)
		do("fill the form",
			chromedp.SendKeys(chromedp.ID("f-name"), name),
			chromedp.SendKeys(chromedp.ID("f-id_number"), idNumber),
			chromedp.Click(chromedp.ID("f-id_expiry-lt")),
			chromedp.SendKeys(chromedp.ID("f-phone"), "13912345678"),
			chromedp.SendKeys(chromedp.ID("f-address"), "北京市朝阳区光华路8号"),
			chromedp.SetValue(chromedp.ID("f-classifications-tier"), "important"),
		)
		shot("form")
		submit("create", `form.customer-form button[type=submit]`)
		archiveNo := text("#archive-no")
		if !strings.HasPrefix(archiveNo, "BJ01-P-") || text("#v-f-id_number") != masked {
			t.Fatalf("created: archive %q, ID shown as %q, want %q", archiveNo, text("#v-f-id_number"), masked)
		}
		header := text("header.topbar")
		for _, s := range []string{"am_bj01", "客户经理", "北京朝阳支行", "客户服务"} {
			if !strings.Contains(header, s) {
				t.Errorf("header lacks %q: %s", s, header)
			}
		}
		shot("created")

		// Find it by its ID number; the number never stands in a URL.
		do("search by ID number", chromedp.Navigate(srv.URL+"/customers"), chromedp.SendKeys(chromedp.ID("q-id"), idNumber))
		submit("search by ID number", "#search-submit")
		table := text("table#customers")
		if !strings.Contains(table, archiveNo) || !strings.Contains(table, name) || !strings.Contains(table, masked) || strings.Contains(table, idNumber) {
			t.Fatalf("search by ID number: %s", table)
		}
		if text("p.summary") != "共 1 位客户" {
			t.Errorf("search by ID number: %q", text("p.summary"))
		}
		if loc := location(); strings.Contains(loc, idNumber[6:14]) {
			t.Errorf("the ID number stands in the URL: %s", loc)
		}
		shot("by-id")

		// Find it by name and open it: the ID number is masked.
		do("search by name", chromedp.Navigate(srv.URL+"/customers"), chromedp.SendKeys(chromedp.ID("q-name"), name))
		submit("search by name", "#search-submit")
		if table := text("table#customers"); !strings.Contains(table, archiveNo) {
			t.Fatalf("search by name: %s", table)
		}
		submit("open the customer", "table#customers td a")
		body := text("body")
		if text("#v-f-id_number") != masked || strings.Contains(body, idNumber) || !strings.Contains(body, "139****5678") || !strings.Contains(body, name) {
			t.Fatalf("customer page: ID shown as %q, want %q", text("#v-f-id_number"), masked)
		}
		shot("detail")
	})
}
