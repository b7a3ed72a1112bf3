package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestBogusFiltersAre422_RD4: every listing answers a filter value outside
// its vocabulary, a page number past the bound or one that overflows, and
// a malformed number, date or flag with 422 naming the field, instead of
// ignoring it or failing inside the store.
func TestBogusFiltersAre422_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		_, c := startServer(t, db)
		for _, tc := range []struct{ user, path, field string }{
			{"am_bj01", "/api/v1/customers?status=bogus", "status"},
			{"am_bj01", "/api/v1/customers?type=robot", "type"},
			{"am_bj01", "/api/v1/customers?sensitivity=secret", "sensitivity"},
			{"am_bj01", "/api/v1/customers?verification=maybe", "verification"},
			{"am_bj01", "/api/v1/customers?sort=name", "sort"},
			{"am_bj01", "/api/v1/customers?category=nope", "category"},
			{"am_bj01", "/api/v1/customers?tier=nope", "class.tier"},
			{"am_bj01", "/api/v1/customers?page=9223372036854775807", "page"},
			{"am_bj01", "/api/v1/customers?page=99999999999999999999", "page"},
			{"am_bj01", "/api/v1/customers?page=-1", "page"},
			{"am_bj01", "/api/v1/customers?page=two", "page"},
			{"am_bj01", "/api/v1/customers?page_size=100000", "page_size"},
			{"am_bj01", "/api/v1/customers?org_id=-3", "org_id"},
			{"am_bj01", "/api/v1/requests?state=bogus", "state"},
			{"am_bj01", "/api/v1/requests?kind=bogus", "kind"},
			{"am_bj01", "/api/v1/requests?limit=-5", "limit"},
			{"am_bj01", "/api/v1/requests?limit=9223372036854775807", "limit"},
			{"auditor", "/api/v1/audit/events?outcome=bogus", "outcome"},
			{"auditor", "/api/v1/audit/events?limit=10000000", "limit"},
			{"auditor", "/api/v1/audit/events?before_seq=-1", "before_seq"},
			{"auditor", "/api/v1/audit/events?from=yesterday", "from"},
			{"auditor", "/api/v1/audit/events?from=2030-01-02&to=2030-01-01", "to"},
			{"admin", "/api/v1/users?role=king", "role"},
			{"custodian", "/api/v1/paper/files?overdue=maybe", "overdue"},
			{"compliance", "/api/v1/agreements?active=maybe", "active"},
			{"compliance", "/api/v1/holds?active=maybe", "active"},
			{"am_bj01", "/api/v1/transactions?limit=99999", "limit"},
			{"am_bj01", "/api/v1/transactions?direction=sideways", "direction"},
			{"am_bj01", "/api/v1/transactions?cursor=nonsense", "cursor"},
			{"am_bj01", "/api/v1/transactions?from=notadate", "from"},
			{"am_bj01", "/api/v1/transactions?min_amount=lots", "min_amount"},
		} {
			r := c.do(tc.user, "GET", tc.path, "service", nil)
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("%s as %s: %d, want 422\n%s", tc.path, tc.user, r.status, r.body)
				continue
			}
			if _, ok := fieldsOf(t, r)[tc.field]; !ok {
				t.Errorf("%s: the error does not name %q: %s", tc.path, tc.field, r.body)
			}
		}
		// Values within bounds still answer.
		for _, path := range []string{"/api/v1/customers?page=100000&status=effective&type=person", "/api/v1/requests?state=pending&limit=1000"} {
			if r := c.do("am_bj01", "GET", path, "service", nil); r.status != 200 {
				t.Errorf("%s: %d %s", path, r.status, r.body)
			}
		}
	})
}
