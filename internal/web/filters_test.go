package web

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestBogusFiltersShowAnError_RD4: the customer list, the requests page
// and the audit search answer a bogus filter value or page number with
// 422 and the field named in the page's language, not a silently widened
// list.
func TestBogusFiltersShowAnError_RD4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.login("am_bj01")
		e.purpose("service")
		for _, c := range []struct {
			a     answer
			label string
		}{
			{e.get("/customers?status=bogus"), "状态"},
			{e.get("/customers?page=two"), "页码"},
			{e.get("/customers?page=9223372036854775807"), "页码"},
			{e.get("/customers?page_size=-4"), "每页条数"},
			{e.get("/customers?sort=name"), "排序"},
			{e.get("/customers?org=x"), "所属机构"},
			{e.post("/customers/search", url.Values{"type": {"robot"}, "name": {"张三"}}), "类型"},
			{e.get("/requests?state=bogus"), "状态"},
			{e.get("/requests?kind=bogus"), "类型"},
		} {
			wantStatus(t, c.a, http.StatusUnprocessableEntity)
			wantBody(t, c.a, "查询条件有误", c.label)
		}
		e.post("/lang", url.Values{"lang": {"en"}})
		a := e.get("/customers?status=bogus")
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, "Some search conditions are not valid", "not an allowed value")

		au := newEnvWith(t, e.f, Options{Log: quiet}, true)
		au.login("auditor")
		for _, path := range []string{"/audit?outcome=bogus", "/audit?before=abc", "/audit?from=2030-13-01"} {
			a := au.get(path)
			wantStatus(t, a, http.StatusUnprocessableEntity)
			wantBody(t, a, "查询条件有误")
		}
		wantStatus(t, au.get("/audit?outcome=denied"), http.StatusOK)
	})
}
