package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/browsertest"
	"github.com/custos-cim/custos/internal/httpx"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// tab is one browser tab driven by a test, with the helpers the steps use.
type tab struct {
	t     *testing.T
	ctx   context.Context
	name  string
	shots *browsertest.Shots // shared by the tabs of a test
}

func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// submit runs steps that load a page and checks the page's status.
func (b *tab) submit(what string, status int64, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, steps...)
	if err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
	if resp.Status != status {
		b.t.Fatalf("%s: %s: HTTP %d, want %d", b.name, what, resp.Status, status)
	}
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: text of %s: %v", b.name, sel, err)
	}
	return strings.TrimSpace(s)
}

// present reports whether an element is on the page, without waiting for it.
func (b *tab) present(sel string) bool {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", sel)))
	if err != nil {
		b.t.Fatalf("%s: look for %s: %v", b.name, sel, err)
	}
	return ok
}

func (b *tab) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// shot keeps a screenshot when CUSTOS_SCREENSHOTS names a directory.
func (b *tab) shot(name string) { b.shots.Take(b.ctx, b.name+"-"+name) }

// login signs in on the login page the tab was sent to.
func (b *tab) login(username string) {
	b.t.Helper()
	b.do("open the login form", chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), username), chromedp.SendKeys(chromedp.ID("password"), apptest.Password))
	b.submit("log in", 200, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
}

// TestBrowserMakerCheckerChange walks one change of an effective archive
// through two people in two separate browser contexts (R-B1): the account
// manager edits, must give a reason, and sees the change pending while the
// archive keeps its old value; on their own request there is no approve
// button; the manager finds it in the inbox, reads the diff and approves;
// the account manager then sees the new value and the new version in the
// history. CUSTOS_SCREENSHOTS=dir keeps a screenshot of each step.
func TestBrowserMakerCheckerChange(t *testing.T) {
	browsertest.NeedChromium(t)
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		in := apptest.Person("钱多多")
		in.Occupation = "工程师"
		c := f.Create(t, "am_bj01", in)
		onboard(t, f, c) // attachment, the inspector's verification, the manager's approval

		srv := httptest.NewServer(httpx.Wrap(New(f.App, Options{Log: quiet}), httpx.Options{Log: quiet}))
		t.Cleanup(srv.Close)

		bctx := browsertest.Start(t, 90*time.Second)
		shots := browsertest.NewShots(t, "makerchecker-")
		maker := &tab{t: t, ctx: bctx, name: "maker", shots: shots}
		customer := srv.URL + "/customers/" + c.ID

		// The account manager logs in and states a purpose; the archive is effective.
		maker.submit("open the customer", 200, chromedp.Navigate(customer))
		maker.login("am_bj01")
		if loc := maker.location(); !strings.Contains(loc, "/purpose?next=") {
			t.Fatalf("after login: %s, want the purpose form", loc)
		}
		maker.do("choose a purpose", chromedp.SetValue(chromedp.ID("purpose"), "service"))
		maker.submit("choose a purpose", 200, chromedp.Click(chromedp.CSS(`form[action="/purpose"] button[type=submit]`)))
		if got := maker.text("#v-f-occupation"); got != "工程师" {
			t.Fatalf("occupation before: %q", got)
		}
		if st := maker.text("header .session"); !strings.Contains(st, "am_bj01") {
			t.Fatalf("maker header: %s", st)
		}
		maker.shot("customer")

		// The edit of an effective archive asks for a reason.
		maker.submit("open the edit form", 200, chromedp.Click(chromedp.ID("edit-link")))
		if !strings.Contains(maker.text("#change-notice"), "经主管审批后才生效") {
			t.Fatalf("the form does not say the change needs approval: %q", maker.text("#change-notice"))
		}
		maker.do("change the occupation", chromedp.Clear(chromedp.ID("f-occupation")), chromedp.SendKeys(chromedp.ID("f-occupation"), "律师"))
		maker.submit("submit without a reason", http.StatusUnprocessableEntity, chromedp.Click(chromedp.ID("form-submit")))
		if e := maker.text("#f-reason-err"); !strings.Contains(e, "须说明理由") {
			t.Fatalf("no inline error for the reason: %q", e)
		}
		maker.shot("reason-required")
		maker.do("give a reason", chromedp.SendKeys(chromedp.ID("f-reason"), "客户换工作"))
		maker.submit("submit for approval", 200, chromedp.Click(chromedp.ID("form-submit")))
		m := regexp.MustCompile(`/customers/[^?]+\?filed=(\d+)$`).FindStringSubmatch(maker.location())
		if m == nil {
			t.Fatalf("after submitting: %s", maker.location())
		}
		rid := m[1]
		if n := maker.text("main .notice"); !strings.Contains(n, "已提交审批（申请 #"+rid+"）") {
			t.Fatalf("notice: %q", n)
		}
		if got := maker.text("#v-f-occupation"); got != "工程师" {
			t.Fatalf("the change showed before approval: %q", got)
		}
		if b := maker.text("#badge-pending"); b == "" || !strings.Contains(maker.text("#archive-requests"), "待审批") {
			t.Fatalf("the pending request is not shown: %q / %q", b, maker.text("#archive-requests"))
		}
		maker.shot("pending")

		// On their own request the maker finds no approve button.
		maker.submit("open the request", 200, chromedp.Click(chromedp.CSS(`#archive-requests a[href="/requests/`+rid+`"]`)))
		if maker.present("#approve") || maker.present("#reject") || maker.present(`form[action="/requests/`+rid+`/decide"]`) {
			t.Fatal("the maker is offered a decision on their own request")
		}
		if !strings.Contains(maker.text("#own-request"), "须由其他有权限的人员审批") || maker.text("#request-state") != "待审批" {
			t.Fatalf("request page for the maker: %q", maker.text("#own-request"))
		}
		maker.shot("own-request")

		// The manager, in a browser context of their own, finds it in the inbox.
		cctx, cancelChecker := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
		defer cancelChecker()
		checker := &tab{t: t, ctx: cctx, name: "checker", shots: shots}
		checker.submit("open the inbox", 200, chromedp.Navigate(srv.URL+"/inbox"))
		if !checker.present("#username") {
			t.Fatal("the second browser context shares the maker's session")
		}
		checker.login("mgr_bj")
		if st := checker.text("header .session"); !strings.Contains(st, "mgr_bj") || strings.Contains(st, "am_bj01") {
			t.Fatalf("checker header: %s", st)
		}
		if n := checker.text("#inbox-count"); n != "1" {
			t.Fatalf("inbox badge: %q", n)
		}
		if row := checker.text("#inbox"); !strings.Contains(row, c.ArchiveNo) || !strings.Contains(row, "am_bj01") || !strings.Contains(row, "档案变更") {
			t.Fatalf("inbox: %s", row)
		}
		checker.shot("inbox")
		checker.submit("open the request", 200, chromedp.Click(chromedp.CSS(`#inbox a[href="/requests/`+rid+`"]`)))
		diff := checker.text("#request-diff")
		for _, s := range []string{"职业", "工程师", "律师"} {
			if !strings.Contains(diff, s) {
				t.Errorf("diff lacks %q: %s", s, diff)
			}
		}
		if !strings.Contains(checker.text("#request-reason"), "客户换工作") {
			t.Errorf("reason: %q", checker.text("#request-reason"))
		}
		checker.shot("request")
		checker.do("comment", chromedp.SendKeys(chromedp.ID("approve-comment"), "同意"))
		checker.submit("approve", 200, chromedp.Click(chromedp.ID("approve")))
		if st := checker.text("#request-state"); st != "已生效" {
			t.Fatalf("after approval the request is %q", st)
		}
		if checker.present("#approve") {
			t.Fatal("an applied request still offers approval")
		}
		checker.shot("approved")

		// The maker reloads the customer: the new value and the new version.
		maker.submit("reload the customer", 200, chromedp.Navigate(customer))
		if got := maker.text("#v-f-occupation"); got != "律师" {
			t.Fatalf("after approval: %q", got)
		}
		if maker.present("#badge-pending") {
			t.Error("still shown as pending")
		}
		v2 := maker.text("#version-2")
		for _, s := range []string{"客户换工作", "am_bj01", "职业"} {
			if !strings.Contains(v2, s) {
				t.Errorf("version 2 lacks %q: %s", s, v2)
			}
		}
		maker.shot("applied")
		maker.submit("compare the versions", 200, chromedp.Click(chromedp.ID("compare-submit")))
		if d := maker.text("#version-diff"); !strings.Contains(d, "工程师") || !strings.Contains(d, "律师") {
			t.Fatalf("version diff: %s", d)
		}
		maker.shot("diff")
	})
}
