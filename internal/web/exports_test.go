package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

var (
	passwordRE = regexp.MustCompile(`id="export-password" class="mono big">([^<]+)<`)
	fileLinkRE = regexp.MustCompile(`href="(/exports/[0-9]+/file)"`)
)

// TestExportPages_RC7_RC8 registers an agreement, generates an encrypted
// investigation package and files an export to an outside party through
// the UI: the password appears once, on the answer to the generation, and
// the file downloaded apart opens with it.
func TestExportPages_RC7_RC8(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		cfg := app.DefaultConfig()
		cfg.ExportWorkFactor = 10
		e := newEnvWith(t, apptest.NewWithConfig(t, db, cfg), Options{Log: quiet}, true)
		c := e.f.Create(t, "am_bj01", apptest.Person("页面导出"))
		onboardForTxn(t, e.f, c)

		e.login("compliance")
		e.purpose("risk")
		a := e.get("/exports")
		wantStatus(t, a, http.StatusOK)
		wantBody(t, a, "加密导出", `id="export-form"`, `href="/agreements"`)

		// The agreement registry.
		a = e.post("/agreements", url.Values{"party": {""}, "reference": {"NDA-WEB-1"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, `data-field="party"`, `data-field="scope"`)
		wantRedirect(t, e.post("/agreements", url.Values{"party": {"某律师事务所"}, "reference": {"NDA-WEB-1"}, "scope": {"investigation"},
			"valid_from": {apptest.Day(-330)}, "valid_to": {apptest.Day(34)}, "signed_by": {"王律师"}}), "/agreements")
		a = e.get("/agreements")
		wantBody(t, a, "NDA-WEB-1", "某律师事务所", "调查材料包")

		// An investigation package for internal use: the password once.
		a = e.post("/exports", url.Values{"kind": {"investigation"}, "recipient": {"internal"}, "archive_no": {c.ArchiveNo}, "reason": {"可疑交易调查"}})
		wantStatus(t, a, http.StatusCreated)
		wantBody(t, a, "仅显示一次", "age -d")
		m := passwordRE.FindStringSubmatch(a.Body)
		l := fileLinkRE.FindStringSubmatch(a.Body)
		if m == nil || l == nil {
			t.Fatalf("no password or link on the screen:\n%s", a.Body)
		}
		password := html.UnescapeString(m[1])
		file := e.get(l[1])
		wantStatus(t, file, http.StatusOK)
		if strings.Contains(file.Body, password) || file.Header.Get("Cache-Control") != "no-store" {
			t.Fatal("the file carries the password, or may be cached")
		}
		files, err := app.OpenExport([]byte(file.Body), password)
		if err != nil || !strings.Contains(string(files["profile.json"]), c.ArchiveNo) {
			t.Fatalf("open the download with the shown password: %v", err)
		}
		list := e.get("/exports")
		if strings.Contains(list.Body, password) {
			t.Fatal("the export register shows the password again")
		}
		wantBody(t, list, "可下载", "export-ready")

		// Refusals show on the form.
		a = e.post("/exports", url.Values{"kind": {"customers"}, "recipient": {"external"}, "agreement_id": {"1"}, "reason": {"x"}})
		wantStatus(t, a, http.StatusConflict)
		wantBody(t, a, "保密协议的范围不包括此类数据")
		// To the outside party: filed for approval, no password yet.
		a = e.post("/exports", url.Values{"kind": {"investigation"}, "recipient": {"external"}, "agreement_id": {"1"}, "archive_no": {c.ArchiveNo}, "reason": {"律所协查"}})
		wantRedirect(t, a, "/requests/")
		if passwordRE.MatchString(a.Body) {
			t.Fatal("a password before approval")
		}

		// English, and a role that may not export.
		e.post("/lang", url.Values{"lang": {"en"}, "next": {"/exports"}})
		wantBody(t, e.get("/exports"), "Encrypted exports", "Awaiting approval")
		e2 := newEnvWith(t, e.f, Options{Log: quiet}, true)
		e2.login("am_bj01")
		e2.purpose("service")
		wantBody(t, e2.get("/exports"), "您的角色不能导出客户数据")
		wantStatus(t, e2.post("/exports", url.Values{"kind": {"customers"}, "reason": {"x"}}), http.StatusForbidden)
		wantStatus(t, e2.get(l[1]), http.StatusNotFound)
	})
}
