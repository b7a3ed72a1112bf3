package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestAPIRefusesInvalidText_RA2_RD4: encoding/json would turn bytes that
// are not UTF-8 (and lone surrogate escapes) into U+FFFD and store a name
// that was never sent; the API refuses the body instead, and refuses
// names with control or bidirectional-control characters like every
// other door.
func TestAPIRefusesInvalidText_RA2_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f, c := startServer(t, db)
		good, _ := json.Marshal(apptest.Person("张三"))
		for name, body := range map[string]string{
			"invalid UTF-8":  strings.Replace(string(good), "张三", "张\xff三", 1),
			"lone surrogate": strings.Replace(string(good), "张三", `张\ud800三`, 1),
		} {
			r := c.do("am_bj01", "POST", "/api/v1/customers", "", body)
			if r.status != 422 || fieldsOf(t, r)[""] != custos.CodeInvalidEncoding {
				t.Errorf("%s: %d %s", name, r.status, r.body)
			}
		}
		for name, text := range map[string]string{"override": "张三\u202eCBA", "escaped NUL": "张\\u0000三", "isolate": "张\\u2067三"} {
			body := strings.Replace(string(good), "张三", text, 1)
			r := c.do("am_bj01", "POST", "/api/v1/customers", "", body)
			if r.status != 422 || fieldsOf(t, r)["name"] != custos.CodeControlChar {
				t.Errorf("%s: %d %s", name, r.status, r.body)
			}
		}
		if n, _ := f.DB.Reader().CountCustomers(context.Background()); n != 0 {
			t.Fatalf("%d customers stored from refused bodies", n)
		}
		if r := c.do("am_bj01", "POST", "/api/v1/customers", "", string(good)); r.status != 201 {
			t.Fatalf("clean body: %d %s", r.status, r.body)
		}
	})
}
