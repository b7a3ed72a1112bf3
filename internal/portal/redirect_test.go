package portal

import (
	"net/url"
	"testing"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestPortalOpenRedirect_RD4: the portal's language switch returns only to
// portal pages, whatever a browser would make of the target.
func TestPortalOpenRedirect_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newWorld(t, db)
		c := newClient(t, w)
		for _, bad := range []string{"//evil.example/", "/\t/evil.example", "/portal/\t/../\t/evil.example", `/\evil.example`,
			"/portal/../customers", "/portal/%2e%2e/customers", "https://evil.example/portal/", "/\r\n/evil.example"} {
			resp, _ := c.do("POST", "/portal/lang", url.Values{"lang": {"en"}, "next": {bad}})
			if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || loc != "/portal/transactions" {
				t.Errorf("next=%q: %d to %q, want 303 to /portal/transactions", bad, resp.StatusCode, loc)
			}
		}
		resp, _ := c.do("POST", "/portal/lang", url.Values{"lang": {"en"}, "next": {"/portal/profile"}})
		if loc := resp.Header.Get("Location"); loc != "/portal/profile" {
			t.Errorf("a portal target: to %q, want /portal/profile", loc)
		}
	})
}
