package portal

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// client is a customer's browser without JavaScript: a cookie jar and no
// automatic redirects.
type client struct {
	t   *testing.T
	w   *world
	hc  *http.Client
	jar *cookiejar.Jar
}

func newClient(t *testing.T, w *world) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, w: w, jar: jar, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.w.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestPortalPages_RB5_RE3 covers the portal's HTTP surface on both
// databases: the login cookie's attributes, cross-origin refusal, the
// correction form entering the approval flow, CSV and XLSX downloads
// (opened with encoding/csv and excelize), 404 for another customer's
// record, and the English pages.
func TestPortalPages_RB5_RE3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newWorld(t, db)
		c := newClient(t, w)
		if resp, _ := c.do("GET", "/portal/transactions", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal/login" {
			t.Fatalf("anonymous: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ := c.do("POST", "/portal/login", url.Values{"id_number": {w.idNumber}, "password": {portalPassword}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		var session *http.Cookie
		for _, k := range resp.Cookies() {
			if k.Name == SessionCookie {
				session = k
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != Prefix {
			t.Fatalf("session cookie %+v", session)
		}
		// The lifetime travels as Max-Age, which the client counts on its own
		// clock; an Expires taken from the service's (here a fixture's) clock
		// would be dropped by a client whose clock disagrees.
		if !session.Expires.IsZero() || session.MaxAge <= 0 || session.MaxAge > int(app.DefaultConfig().SessionAbsolute/time.Second) {
			t.Fatalf("session cookie lifetime: Expires %v, Max-Age %d", session.Expires, session.MaxAge)
		}
		resp, body := c.do("GET", "/portal/transactions", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(body, "交易查询") || !strings.Contains(body, "2500.50") {
			t.Fatalf("transactions page: %d %s", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		if resp, _ := c.do("GET", "/portal/transactions/"+w.otherTxn.ID, nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("another customer's transaction: %d", resp.StatusCode)
		}
		// A cross-site form post is refused before it reaches the service.
		if resp, _ := c.do("POST", "/portal/corrections", url.Values{"phone": {"13912345678"}, "note": {"换号"}}, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site post: %d", resp.StatusCode)
		}
		// Bad input re-renders the form with the message and files nothing.
		if resp, body := c.do("POST", "/portal/corrections", url.Values{"phone": {"13912345678"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "请说明需要更正的内容") {
			t.Fatalf("correction without a note: %d", resp.StatusCode)
		}
		resp, _ = c.do("POST", "/portal/corrections", url.Values{"phone": {"13912345678"}, "note": {"手机号码已更换"}})
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/portal/corrections?filed=") {
			t.Fatalf("correction: %d %s", resp.StatusCode, loc)
		}
		if _, body := c.do("GET", loc, nil); !strings.Contains(body, "待审核") || !strings.Contains(body, "#"+strings.TrimPrefix(loc, "/portal/corrections?filed=")) {
			t.Fatal("the filed correction is not listed as pending")
		}
		inbox, err := w.f.App.Inbox(context.Background(), w.f.Actor("mgr_bj"))
		if err != nil || len(inbox) != 1 || inbox[0].Kind != custos.KindCorrection {
			t.Fatalf("approver inbox: %v %v", inbox, err)
		}
		// The customer withdraws it in the portal (only the customer may).
		filed := strings.TrimPrefix(loc, "/portal/corrections?filed=")
		if resp, _ := c.do("POST", "/portal/corrections/"+filed+"/cancel", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal/corrections?cancelled="+filed {
			t.Fatalf("withdraw: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, body := c.do("GET", "/portal/corrections", nil); !strings.Contains(body, "已撤回") {
			t.Fatal("the withdrawn correction is not listed as withdrawn")
		}
		if resp, _ := c.do("POST", "/portal/corrections/"+filed+"0/cancel", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("withdrawing a correction that is not one's own: %d", resp.StatusCode)
		}
		// Statements as CSV and XLSX.
		day := w.verifiedAt.In(custos.TxnZone).Format("2006-01-02")
		q := "/portal/statement/download?from=" + day + "&to=" + day + "&format="
		resp, body = c.do("GET", q+"csv", nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("csv: %d %s", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
		if err != nil || len(rows) != 4 || rows[0][0] != "time" || !strings.Contains(body, "2500.50") || strings.Contains(body, "777.00") {
			t.Fatalf("csv: %v %v", rows, err)
		}
		resp, body = c.do("GET", q+"xlsx", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("xlsx: %d", resp.StatusCode)
		}
		x, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		xr, err := x.GetRows(app.StatementSheet)
		if err != nil || len(xr) != 4 || xr[3][4] != "88.80" || xr[3][5] != "USD" {
			t.Fatalf("xlsx: %v %v", xr, err)
		}
		if resp, body := c.do("GET", q+"doc", nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "格式") {
			t.Fatalf("unknown format: %d", resp.StatusCode)
		}
		// The customer changes their password.
		if resp, body := c.do("POST", "/portal/password", url.Values{"current": {portalPassword}, "password": {"Neue-Kennung-77#"}, "confirm": {"Other-Kennung-77#"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "两次输入的新密码不一致") {
			t.Fatalf("mismatched confirmation: %d", resp.StatusCode)
		}
		if resp, body := c.do("POST", "/portal/password", url.Values{"current": {"nope"}, "password": {"Neue-Kennung-77#"}, "confirm": {"Neue-Kennung-77#"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "当前密码错误") {
			t.Fatalf("wrong current password: %d", resp.StatusCode)
		}
		if resp, _ := c.do("POST", "/portal/password", url.Values{"current": {portalPassword}, "password": {"Neue-Kennung-77#"}, "confirm": {"Neue-Kennung-77#"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("change password: %d", resp.StatusCode)
		}
		if _, err := w.f.App.PortalLogin(context.Background(), app.PortalCredentials{IDNumber: w.idNumber, Password: "Neue-Kennung-77#", ClientAddr: "198.51.100.3"}); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
		// English on request.
		c.do("POST", "/portal/lang", url.Values{"lang": {"en"}, "next": {"/portal/profile"}})
		if _, body := c.do("GET", "/portal/profile", nil); !strings.Contains(body, "My profile") || !strings.Contains(body, w.masked) || strings.Contains(body, w.idNumber) {
			t.Fatal("English profile page")
		}
		// Logging out ends the session.
		c.do("POST", "/portal/logout", url.Values{})
		if resp, _ := c.do("GET", "/portal/transactions", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after logout: %d", resp.StatusCode)
		}
	})
}
