package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// offSite are return targets a browser would follow to another host.
var offSite = []string{
	"//evil.example/", "/\t/evil.example", "/%09/evil.example", "\t//evil.example", "/\n/evil.example",
	"/\r\n/evil.example", `/\evil.example`, `\\evil.example`, "https://evil.example/", "https:evil.example",
	"javascript:alert(1)", " //evil.example",
}

// leaves reports whether a Location header takes a browser off the site.
func leaves(t *testing.T, e *env, loc string) bool {
	t.Helper()
	base, _ := url.Parse(e.srv.URL + "/login")
	// Read the header as a browser would before resolving it.
	clean := strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	u, err := base.Parse(clean)
	return err != nil || u.Host != base.Host || u.Scheme != base.Scheme
}

// TestOpenRedirect_RD4 sends every off-site target through /login,
// /purpose and /lang of the staff UI: each answers with a path of this
// site, and a local target is kept.
func TestOpenRedirect_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		// Signing in returns only to this site (a few targets: logins are rate-limited).
		for _, bad := range offSite[:4] {
			a := e.post("/login", url.Values{"username": {"am_bj01"}, "password": {apptest.Password}, "next": {bad}})
			if loc := a.Header.Get("Location"); a.StatusCode != 303 || loc != "/customers" {
				t.Errorf("POST /login next=%q: %d to %q, want 303 to /customers", bad, a.StatusCode, loc)
			}
		}
		if a := e.post("/login", url.Values{"username": {"am_bj01"}, "password": {"wrong"}, "next": {offSite[1]}}); strings.Contains(a.Body, "evil.example") {
			t.Errorf("the login form keeps %q as its return target", offSite[1])
		}
		e.login("am_bj01")
		for _, bad := range offSite {
			// Unescaped in the query, so "%09" arrives as a tab.
			raw := strings.ReplaceAll(url.QueryEscape(bad), "%2509", "%09")
			for _, a := range []answer{
				e.get("/login?next=" + raw),
				e.post("/lang", url.Values{"lang": {"zh-CN"}, "next": {bad}}),
				e.post("/purpose", url.Values{"purpose": {"service"}, "next": {bad}}),
			} {
				loc := a.Header.Get("Location")
				if a.StatusCode != 303 || loc != "/customers" || leaves(t, e, loc) {
					t.Errorf("%s %s next=%q: %d to %q, want 303 to /customers", a.Request.Method, a.Request.URL.Path, bad, a.StatusCode, loc)
				}
			}
			if a := e.get("/purpose?next=" + raw); a.StatusCode != 200 || strings.Contains(a.Body, "evil.example") {
				t.Errorf("GET /purpose next=%q: %d, or the form keeps it as its return target", bad, a.StatusCode)
			}
		}
		e.login("am_bj01")
		for _, a := range []answer{
			e.get("/login?next=" + url.QueryEscape("/customers?page=2")),
			e.post("/lang", url.Values{"lang": {"en"}, "next": {"/customers?page=2"}}),
			e.post("/purpose", url.Values{"purpose": {"service"}, "next": {"/customers?page=2"}}),
		} {
			if loc := a.Header.Get("Location"); a.StatusCode != 303 || loc != "/customers?page=2" {
				t.Errorf("%s %s: %d to %q, want the local target kept", a.Request.Method, a.Request.URL.Path, a.StatusCode, loc)
			}
		}
	})
}
