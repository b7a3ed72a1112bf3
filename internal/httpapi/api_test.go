package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/httpapi"
	"github.com/custos-cim/custos/internal/httpx"
	"github.com/custos-cim/custos/internal/pdfdoc"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

type openapiDoc struct {
	Paths map[string]map[string]struct {
		Responses map[string]struct {
			Content map[string]json.RawMessage `json:"content"`
		} `json:"responses"`
	} `json:"paths"`
}

func loadDoc(t *testing.T) openapiDoc {
	t.Helper()
	var d openapiDoc
	if err := json.Unmarshal(httpapi.OpenAPI(), &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return d
}

// TestOpenAPIMatchesRoutes holds the document to the router: every route is
// documented and every documented operation exists.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	d := loadDoc(t)
	routes := map[string]bool{}
	for _, r := range httpapi.Routes() {
		key := strings.ToLower(r.Method) + " " + r.Pattern
		routes[key] = true
		if _, ok := d.Paths[r.Pattern][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", r.Method, r.Pattern)
		}
	}
	for p, ops := range d.Paths {
		for m := range ops {
			if m == "parameters" {
				continue
			}
			if !routes[m+" "+p] {
				t.Errorf("openapi.json documents %s %s, which does not exist", strings.ToUpper(m), p)
			}
		}
	}
}

// checker validates live responses against the document.
type checker struct {
	t       *testing.T
	doc     openapiDoc
	c       *jsonschema.Compiler
	schemas map[string]*jsonschema.Schema
	seen    map[string]bool
}

func newChecker(t *testing.T) *checker {
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(httpapi.OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("mem://openapi.json", raw); err != nil {
		t.Fatal(err)
	}
	return &checker{t: t, doc: loadDoc(t), c: c, schemas: map[string]*jsonschema.Schema{}, seen: map[string]bool{}}
}

func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

var patternCache = map[string]*regexp.Regexp{}

// route finds the documented path template for a concrete path.
func (ck *checker) route(path string) string {
	if _, ok := ck.doc.Paths[path]; ok {
		return path // a literal path wins over a template that also matches
	}
	for p := range ck.doc.Paths {
		re, ok := patternCache[p]
		if !ok {
			re = regexp.MustCompile("^" + regexp.MustCompile(`\\\{[a-z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$")
			patternCache[p] = re
		}
		if re.MatchString(path) {
			return p
		}
	}
	return ""
}

func (ck *checker) check(method, path string, status int, contentType string, body []byte) {
	t := ck.t
	t.Helper()
	p := ck.route(strings.SplitN(path, "?", 2)[0])
	if p == "" {
		t.Errorf("%s %s: path not documented", method, path)
		return
	}
	m := strings.ToLower(method)
	resp, ok := ck.doc.Paths[p][m].Responses[fmt.Sprint(status)]
	if !ok {
		t.Errorf("%s %s answered %d, which openapi.json does not document (%s)", method, p, status, body)
		return
	}
	ck.seen[fmt.Sprintf("%s %s %d", method, p, status)] = true
	if !strings.HasPrefix(contentType, "application/json") {
		return
	}
	if _, ok := resp.Content["application/json"]; !ok {
		t.Errorf("%s %s %d: JSON body not documented", method, p, status)
		return
	}
	loc := "mem://openapi.json#/paths/" + pointerEscape(p) + "/" + m + "/responses/" + fmt.Sprint(status) + "/content/application~1json/schema"
	s, ok := ck.schemas[loc]
	if !ok {
		var err error
		if s, err = ck.c.Compile(loc); err != nil {
			t.Fatalf("compile %s: %v", loc, err)
		}
		ck.schemas[loc] = s
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("%s %s %d: body is not JSON: %v", method, p, status, err)
		return
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s %s %d: body does not match openapi.json: %v\n%s", method, p, status, err, body)
	}
}

type client struct {
	t      *testing.T
	base   string
	ck     *checker
	tokens map[string]string
}

type resp struct {
	status int
	body   []byte
	hdr    http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (c *client) do(user, method, path, purpose string, body any) resp {
	c.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case *multipartBody:
		rd, ct = bytes.NewReader(b.data), b.contentType
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+c.tokens[user])
	}
	if purpose != "" {
		req.Header.Set("X-Purpose", purpose)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	c.ck.check(method, path, res.StatusCode, res.Header.Get("Content-Type"), data)
	if cc := res.Header.Get("Cache-Control"); path != "/api/v1/openapi.json" && cc != "no-store" {
		c.t.Errorf("%s %s: Cache-Control %q, want no-store (R-C9)", method, path, cc)
	}
	return resp{status: res.StatusCode, body: data, hdr: res.Header}
}

type multipartBody struct {
	data        []byte
	contentType string
}

func fileBody(t *testing.T, kind, item, name string, content []byte) *multipartBody {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("kind", kind)
	if item != "" {
		w.WriteField("checklist_item", item)
	}
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(content)
	w.Close()
	return &multipartBody{data: b.Bytes(), contentType: w.FormDataContentType()}
}

func startServer(t *testing.T, db *sqlstore.DB) (*apptest.Fixture, *client) {
	f := apptest.New(t, db)
	if pdf := pdfdoc.New(""); pdf.Available() == nil {
		f.App.SetPDF(pdf) // handover certificates as PDF too, where the Chinese font is installed
	}
	mux := http.NewServeMux()
	api := httpapi.New(f.App, nil)
	mux.Handle("/api/", api)
	mux.Handle("/healthz", api)
	srv := httptest.NewServer(httpx.Wrap(mux, httpx.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	c := &client{t: t, base: srv.URL, ck: newChecker(t), tokens: map[string]string{}}
	for _, p := range apptest.People {
		tok, err := f.App.CreateToken(context.Background(), f.Actor(p.Username), "test", nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		c.tokens[p.Username] = tok.Secret
	}
	return f, c
}

func fieldsOf(t *testing.T, r resp) map[string]string {
	var e httpx.ErrorBody
	r.json(t, &e)
	m := map[string]string{}
	for _, f := range e.Error.Fields {
		m[f.Field] = f.Code
	}
	return m
}

// apiWalks are the scenarios of TestAPI, each on a fresh server and store.
// owns is the route prefix only that walk covers: excused from the coverage
// check when the walk skips.
var apiWalks = []struct {
	name, owns string
	run        func(t *testing.T, f *apptest.Fixture, c *client)
}{
	{"customers", "", walkCustomers},
	{"maker_checker", "", walkMakerChecker},
	{"onboarding", "", walkOnboarding},
	{"access_request", "", walkAccessRequest},
	{"paper", "/api/v1/paper/", walkPaper},
	{"handover", "/api/v1/handovers", walkHandover},
}

// TestAPI walks the API as its users would, on both databases, checking
// every response against openapi.json; together the walks exercise every
// route.
func TestAPI(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, first *sqlstore.DB) {
		seen, ran := map[string]bool{}, 0
		var excused []string
		for i, w := range apiWalks {
			t.Run(w.name, func(t *testing.T) {
				ran++
				db := first
				if i > 0 {
					db = sqltest.Open(t, first.Dialect())
				}
				f, c := startServer(t, db)
				defer func() {
					maps.Copy(seen, c.ck.seen)
					if t.Skipped() && w.owns != "" {
						excused = append(excused, w.owns)
					}
				}()
				w.run(t, f, c)
			})
		}
		if ran < len(apiWalks) || t.Failed() {
			return // a filtered or failed run proves nothing about coverage
		}
		// Every documented operation was exercised at least once.
		for _, rt := range httpapi.Routes() {
			found := false
			for k := range seen {
				found = found || strings.HasPrefix(k, rt.Method+" "+rt.Pattern+" ")
			}
			switch {
			case found:
			case slices.ContainsFunc(excused, func(p string) bool { return strings.HasPrefix(rt.Pattern, p) }):
				t.Logf("route %s %s not exercised: its walk was skipped", rt.Method, rt.Pattern)
			default:
				t.Errorf("route %s %s not exercised by any walk", rt.Method, rt.Pattern)
			}
		}
	})
}

// walkCustomers covers customers, attachments, administration, grants,
// tokens and the audit trail.
func walkCustomers(t *testing.T, f *apptest.Fixture, c *client) {
	if r := c.do("", "GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
	c.do("", "GET", "/api/v1/openapi.json", "", nil)
	if r := c.do("", "GET", "/api/v1/me", "", nil); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
	c.do("am_bj01", "GET", "/api/v1/me", "", nil)

	// The validator examples through the API (R-A4): 201 vs 422.
	person := map[string]any{"type": "person", "name": "张三", "sex": "F", "nationality": "CN", "id_type": "cn_resident_id",
		"id_number": "11010519491231002X", "id_expiry": "2035-01-01", "phone": "13800138000", "address": "北京市东城区东长安街1号"}
	r := c.do("am_bj01", "POST", "/api/v1/customers", "", person)
	if r.status != 201 {
		t.Fatalf("create person: %d %s", r.status, r.body)
	}
	var created struct {
		ID        string `json:"id"`
		ArchiveNo string `json:"archive_no"`
		IDNumber  string `json:"id_number"`
	}
	r.json(t, &created)
	if created.ID == "" || created.ArchiveNo == "" || r.hdr.Get("Location") != "/api/v1/customers/"+created.ID {
		t.Fatalf("create answer %s", r.body)
	}
	bad := map[string]any{}
	for k, v := range person {
		bad[k] = v
	}
	bad["id_number"] = "110105194912310021"
	r = c.do("am_bj01", "POST", "/api/v1/customers", "", bad)
	if r.status != 422 || fieldsOf(t, r)["id_number"] != "invalid_checksum" {
		t.Fatalf("bad checksum: %d %s", r.status, r.body)
	}
	inst := map[string]any{"type": "institution", "name": "福州某某有限公司", "uscc": "91350100M000100Y43", "address": "福建省福州市鼓楼区1号",
		"business_scope": "贸易", "legal_representative": map[string]any{"name": "林某", "id_type": "cn_resident_id", "id_number": "11010519491231002X", "id_expiry": "长期"}}
	if r = c.do("mgr_bj", "POST", "/api/v1/customers", "", inst); r.status != 201 {
		t.Fatalf("create institution: %d %s", r.status, r.body)
	}
	inst["uscc"] = "91350100M000100Y44"
	if r = c.do("mgr_bj", "POST", "/api/v1/customers", "", inst); r.status != 422 || fieldsOf(t, r)["uscc"] != "invalid_checksum" {
		t.Fatalf("bad uscc: %d %s", r.status, r.body)
	}
	// Bad input shapes: unknown fields, wrong types, broken JSON — all 422, nothing stored.
	for _, body := range []string{`{"type":"person","nmae":"x"}`, `{"type":"person","name":5}`, `{"type":`, `[1,2]`} {
		if r = c.do("am_bj01", "POST", "/api/v1/customers", "", body); r.status != 422 {
			t.Errorf("body %s: %d %s", body, r.status, r.body)
		}
	}
	if r = c.do("am_bj01", "POST", "/api/v1/customers", "", person); r.status != 409 {
		t.Fatalf("duplicate: %d", r.status)
	}

	// Reads need a purpose (R-C6), come back masked (R-C10), and hidden answers 404.
	path := "/api/v1/customers/" + created.ID
	if r = c.do("am_bj01", "GET", path, "", nil); r.status != 400 {
		t.Fatalf("no purpose: %d", r.status)
	}
	r = c.do("am_bj01", "GET", path+"?purpose=service", "", nil)
	var got map[string]any
	r.json(t, &got)
	if r.status != 200 || got["id_number"] != "110105********002X" || got["phone"] != "138****8000" {
		t.Fatalf("masked read: %d %s", r.status, r.body)
	}
	if r = c.do("mgr_sh", "GET", path, "service", nil); r.status != 404 {
		t.Fatalf("out of scope: %d", r.status)
	}
	if r = c.do("mgr_sh", "GET", "/api/v1/customers/nope", "service", nil); r.status != 404 {
		t.Fatalf("missing: %d", r.status)
	}
	r = c.do("am_bj01", "POST", path+"/reveal", "", map[string]any{"fields": []string{"id_number"}, "purpose": "kyc"})
	if r.status != 200 || !strings.Contains(string(r.body), "11010519491231002X") {
		t.Fatalf("reveal: %d %s", r.status, r.body)
	}

	// Search by ID number goes through the blind index, with the term in a
	// POST body: a URL must not carry it.
	r = c.do("am_bj01", "POST", "/api/v1/customers/search", "service", map[string]string{"id_number": "11010519491231002x"})
	var list httpapi.CustomerList
	r.json(t, &list)
	if list.Total != 1 || list.Items[0].ID != created.ID {
		t.Fatalf("by id number: %s", r.body)
	}
	r = c.do("mgr_sh", "POST", "/api/v1/customers/search", "service", map[string]string{"id_number": "11010519491231002X"})
	r.json(t, &list)
	if list.Total != 0 {
		t.Fatal("search leaked a customer out of scope")
	}
	for _, term := range []string{"id_number=11010519491231002X", "name=" + url.QueryEscape("张三"), "phone=13800138000", "uscc=x"} {
		if r = c.do("am_bj01", "GET", "/api/v1/customers?"+term, "service", nil); r.status != 422 {
			t.Fatalf("a personal term in the URL (%s): %d", term, r.status)
		}
	}
	c.do("gm", "POST", "/api/v1/customers/search", "service", map[string]any{"type": "institution", "name": "福州", "sort": "archive_no", "page": 1, "page_size": 10})
	if r = c.do("gm", "GET", "/api/v1/customers?sort=name", "service", nil); r.status != 422 {
		t.Fatalf("bad sort: %d", r.status)
	}
	c.do("gm", "GET", "/api/v1/catalogue", "service", nil)

	// Changes: merge patch, optimistic locking, validation.
	r = c.do("am_bj01", "PATCH", path, "", map[string]any{"occupation": "工程师", "version": 1})
	if r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if r = c.do("am_bj01", "PATCH", path, "", map[string]any{"phone": "12345"}); r.status != 422 {
		t.Fatalf("bad patch: %d", r.status)
	}
	if r = c.do("inspector_bj", "PATCH", path, "", map[string]any{"occupation": "x"}); r.status != 403 {
		t.Fatalf("inspector patch: %d %s", r.status, r.body)
	}

	// Timeline, attachments, checklist.
	if r = c.do("am_bj01", "POST", path+"/timeline", "", map[string]any{"kind": "contact", "occurred_on": apptest.Day(-7), "title": "电话回访"}); r.status != 201 {
		t.Fatalf("timeline: %d %s", r.status, r.body)
	}
	c.do("am_bj01", "GET", path+"/timeline", "service", nil)
	r = c.do("am_bj01", "POST", path+"/attachments", "", fileBody(t, "id_scan", "id_scan", "身份证.png", []byte("\x89PNG\r\n\x1a\nfake image")))
	if r.status != 201 {
		t.Fatalf("attachment: %d %s", r.status, r.body)
	}
	var at custos.Attachment
	r.json(t, &at)
	c.do("am_bj01", "GET", path+"/attachments", "service", nil)
	r = c.do("am_bj01", "GET", path+"/attachments/"+at.ID, "service", nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte("fake image")) {
		t.Fatalf("download: %d", r.status)
	}
	r = c.do("am_bj01", "GET", path+"/checklist", "service", nil)
	if !strings.Contains(string(r.body), `"completeness":100`) {
		t.Fatalf("checklist: %s", r.body)
	}

	// Administration.
	if r = c.do("am_bj01", "POST", "/api/v1/orgs", "", map[string]any{"code": "BJ02", "name": "海淀支行", "kind": "sub_branch", "parent_id": f.Orgs["BJ"].ID}); r.status != 403 {
		t.Fatalf("non-admin creates org: %d", r.status)
	}
	if r = c.do("admin", "POST", "/api/v1/orgs", "", map[string]any{"code": "BJ02", "name": "海淀支行", "kind": "sub_branch", "parent_id": f.Orgs["BJ"].ID}); r.status != 201 {
		t.Fatalf("create org: %d %s", r.status, r.body)
	}
	c.do("admin", "GET", "/api/v1/orgs", "", nil)
	r = c.do("admin", "POST", "/api/v1/users", "", map[string]any{"username": "new_am", "role": "account_manager", "org": "BJ02", "password": "short"})
	if r.status != 422 || fieldsOf(t, r)["password"] != "password_too_short" {
		t.Fatalf("weak password: %d %s", r.status, r.body)
	}
	r = c.do("admin", "POST", "/api/v1/users", "", map[string]any{"username": "new_am", "display_name": "新客户经理", "role": "account_manager", "org": "BJ02", "password": "Haidian-Bank-2026"})
	if r.status != 201 {
		t.Fatalf("create user: %d %s", r.status, r.body)
	}
	var nu custos.User
	r.json(t, &nu)
	// Separation of duties: a privileged account waits for a second
	// authorised person; the administrator can neither approve it nor
	// reach customers, grants, portfolios or the audit trail.
	var pend custos.Request
	c.do("admin", "POST", "/api/v1/users", "", map[string]any{"username": "new_gm", "role": "general_manager", "org": "HQ", "password": "Known-Passw0rd-2026"}).
		expect(t, 202, "a general manager, filed").json(t, &pend)
	if pend.Kind != custos.KindPrivilege || pend.State != custos.RequestPending {
		t.Fatalf("privileged account request: %+v", pend)
	}
	c.do("admin", "GET", "/api/v1/users?role=general_manager", "", nil).expect(t, 200, "users")
	if _, _, err := f.App.UserByName(context.Background(), "new_gm"); err == nil {
		t.Fatal("the general manager exists before approval")
	}
	c.do("admin", "POST", reqPath(pend.ID, "approve"), "", nil).expect(t, 403, "the requester approves the account")
	c.do("secadmin", "POST", reqPath(pend.ID, "approve"), "", nil).expect(t, 200, "the security administrator approves")
	if u, _, err := f.App.UserByName(context.Background(), "new_gm"); err != nil || u.Role != custos.RoleGeneralManager {
		t.Fatalf("the approved general manager: %v %+v", err, u)
	}
	var none struct{ Total int }
	c.do("admin", "GET", "/api/v1/customers", "service", nil).expect(t, 200, "an administrator's search").json(t, &none)
	if none.Total != 0 {
		t.Fatalf("the administrator finds %d customers", none.Total)
	}
	c.do("admin", "POST", "/api/v1/grants", "", map[string]any{"username": "custodian", "customer_id": "0190f0f0-0000-7000-8000-000000000000", "purpose": "audit", "reason": "x", "duration": "1h"}).
		expect(t, 403, "the administrator grants access")
	c.do("admin", "POST", "/api/v1/portfolio", "", map[string]any{"user_id": nu.ID, "building": "阳光花园/3栋"}).expect(t, 403, "the administrator assigns a portfolio")
	c.do("admin", "GET", "/api/v1/audit/events", "", nil).expect(t, 403, "the administrator reads the audit trail")
	c.do("admin", "PUT", fmt.Sprintf("/api/v1/users/%d/role", nu.ID), "", map[string]any{"role": "manager", "reason": "x"}).expect(t, 403, "the administrator changes a role")
	var raised custos.Request
	c.do("secadmin", "PUT", fmt.Sprintf("/api/v1/users/%d/role", nu.ID), "", map[string]any{"role": "compliance", "reason": "调岗"}).expect(t, 202, "a raise, filed").json(t, &raised)
	c.do("secadmin", "PUT", fmt.Sprintf("/api/v1/users/%d/role", nu.ID), "", map[string]any{"role": "butler", "reason": "调岗"}).expect(t, 200, "a plain role change")
	c.do("secadmin", "PUT", fmt.Sprintf("/api/v1/users/%d/role", nu.ID), "", map[string]any{"role": "emperor", "reason": "x"}).expect(t, 422, "an unknown role")
	c.do("admin", "GET", "/api/v1/users?role=account_manager", "", nil)
	if r = c.do("admin", "POST", fmt.Sprintf("/api/v1/users/%d/disable", nu.ID), "", nil); r.status != 204 {
		t.Fatalf("disable: %d", r.status)
	}
	c.do("admin", "POST", fmt.Sprintf("/api/v1/users/%d/enable", nu.ID), "", nil)
	c.do("admin", "GET", "/api/v1/taxonomies", "", nil)
	c.do("admin", "PUT", "/api/v1/taxonomies/channel", "", map[string]any{"code": "channel", "name_zh": "获客渠道", "name_en": "Channel", "terms": []map[string]any{{"code": "branch", "name_zh": "网点", "name_en": "Branch", "sort": 1}}})
	c.do("admin", "GET", "/api/v1/categories", "", nil)
	c.do("admin", "PUT", "/api/v1/categories/insurance", "", map[string]any{"code": "insurance", "name_zh": "保险客户", "name_en": "Insurance customer"})
	r = c.do("admin", "POST", "/api/v1/custom-fields", "", map[string]any{"category": "retail", "key": "hobby", "label_zh": "兴趣爱好", "type": "text"})
	var def custos.CustomFieldDef
	r.json(t, &def)
	c.do("admin", "GET", "/api/v1/custom-fields?category=retail", "", nil)
	if r = c.do("admin", "POST", "/api/v1/custom-fields", "", map[string]any{"category": "retail", "key": "Bad Key", "type": "text"}); r.status != 422 {
		t.Fatalf("bad custom field: %d", r.status)
	}
	c.do("admin", "DELETE", fmt.Sprintf("/api/v1/custom-fields/%d", def.ID), "", nil)
	c.do("admin", "GET", "/api/v1/checklists/property_owner", "", nil)
	c.do("admin", "PUT", "/api/v1/checklists/retail/address_proof", "", map[string]any{"name_zh": "地址证明", "name_en": "Proof of address", "required": false, "sort": 2})
	c.do("admin", "GET", "/api/v1/purposes", "", nil)
	c.do("admin", "PUT", "/api/v1/purposes/marketing", "", map[string]any{"name_zh": "营销", "name_en": "Marketing", "active": false})
	c.do("admin", "GET", "/api/v1/settings/archive-pattern", "", nil)
	if r = c.do("admin", "PUT", "/api/v1/settings/archive-pattern", "", map[string]any{"archive_pattern": "{org}-{yyyy}"}); r.status != 422 {
		t.Fatalf("pattern without seq: %d", r.status)
	}
	c.do("admin", "PUT", "/api/v1/settings/archive-pattern", "", map[string]any{"archive_pattern": "{org}{kind}{yy}{seq:8}"})
	c.do("mgr_bj", "POST", "/api/v1/portfolio", "", map[string]any{"user_id": f.Users["butler_bj01"].ID, "building": "阳光花园/3栋"})
	c.do("mgr_bj", "GET", fmt.Sprintf("/api/v1/portfolio?user_id=%d", f.Users["butler_bj01"].ID), "", nil)
	c.do("mgr_bj", "DELETE", "/api/v1/portfolio", "", map[string]any{"user_id": f.Users["butler_bj01"].ID, "building": "阳光花园/3栋"})

	// Grants (R-C1): the general manager grants, the grant opens, revocation closes.
	r = c.do("gm", "POST", "/api/v1/grants", "", map[string]any{"username": "mgr_sh", "customer_id": created.ID, "purpose": "risk", "reason": "跨行排查", "duration": "2h"})
	if r.status != 201 {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	var g custos.Grant
	r.json(t, &g)
	if r = c.do("mgr_sh", "GET", path, "risk", nil); r.status != 200 {
		t.Fatalf("granted read: %d", r.status)
	}
	c.do("gm", "GET", "/api/v1/grants?customer_id="+created.ID, "", nil)
	c.do("gm", "DELETE", fmt.Sprintf("/api/v1/grants/%d", g.ID), "", nil)
	if r = c.do("mgr_sh", "GET", path, "risk", nil); r.status != 404 {
		t.Fatalf("revoked read: %d", r.status)
	}

	// Tokens: scopes narrow the role.
	r = c.do("am_bj01", "POST", "/api/v1/tokens", "", map[string]any{"name": "readonly", "scopes": []string{"customers:read"}, "ttl": "24h"})
	var tok struct{ Token string }
	r.json(t, &tok)
	c.tokens["am_ro"] = tok.Token
	if r = c.do("am_ro", "PATCH", path, "", map[string]any{"occupation": "x"}); r.status != 404 && r.status != 403 {
		t.Fatalf("read-only token patches: %d", r.status)
	}
	if r = c.do("am_ro", "POST", "/api/v1/tokens", "", map[string]any{"scopes": []string{"admin"}}); r.status != 422 {
		t.Fatalf("token escalation: %d", r.status)
	}

	// Auditors search and export the trail (R-C5); others cannot.
	if r = c.do("am_bj01", "GET", "/api/v1/audit/events", "", nil); r.status != 403 {
		t.Fatalf("non-auditor audit: %d", r.status)
	}
	r = c.do("auditor", "GET", "/api/v1/audit/events?customer_id="+created.ID+"&limit=500", "", nil)
	var evs struct{ Events []custos.AuditEvent }
	r.json(t, &evs)
	actions := map[string]bool{}
	for _, e := range evs.Events {
		actions[e.Action+"/"+string(e.Outcome)] = true
		if strings.Contains(e.Detail, "11010519491231002X") || strings.Contains(e.TargetRef, created.ID) {
			t.Fatalf("audit event holds plaintext: %+v", e)
		}
	}
	for _, want := range []string{"customer.create/ok", "customer.read/ok", "customer.read/denied", "customer.reveal/ok", "customer.update/ok", "attachment.download/ok"} {
		if !actions[want] {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
	if r = c.do("auditor", "GET", "/api/v1/audit/events?from=yesterday", "", nil); r.status != 422 {
		t.Fatalf("bad time: %d", r.status)
	}
	r = c.do("auditor", "GET", "/api/v1/audit/export?action=customer.read", "", nil)
	if r.status != 200 || !strings.HasPrefix(string(r.body), "seq,at,actor_id") {
		t.Fatalf("export: %d %.80s", r.status, r.body)
	}
	c.do("auditor", "GET", "/api/v1/audit/checkpoints", "", nil)
	if res, err := http.Get(c.base + "/api/v1/nothing"); err != nil || res.StatusCode != 404 {
		t.Fatalf("unknown endpoint: %v %v", err, res.StatusCode)
	}
}
