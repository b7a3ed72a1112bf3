package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestFormRefusesControlAndInvalidText_RA2_RD4: a form post goes through the
// same rule as the API: a name with a bidirectional override or bytes that
// are not UTF-8 is refused next to its field, in Chinese and in English.
func TestFormRefusesControlAndInvalidText_RA2_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.login("am_bj01")
		e.purpose("service")
		id := apptest.Person("x").IDNumber
		for _, c := range []struct{ name, zh, en string }{
			{"张三\u202eCBA", "控制字符", "control"},
			{"张\xff三", "UTF-8", "UTF-8"},
		} {
			e.post("/lang", url.Values{"lang": {"zh"}})
			a := e.post("/customers", personForm(c.name, id))
			wantStatus(t, a, http.StatusUnprocessableEntity)
			wantBody(t, a, `data-field="name">`, c.zh)
			e.post("/lang", url.Values{"lang": {"en"}})
			a = e.post("/customers", personForm(c.name, id))
			wantStatus(t, a, http.StatusUnprocessableEntity)
			if !strings.Contains(a.Body, c.en) {
				t.Errorf("%q: the English page does not say why", c.name)
			}
		}
		if n, _ := db.Reader().CountCustomers(context.Background()); n != 0 {
			t.Fatalf("refused forms stored %d customers", n)
		}
	})
}
