package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
)

// Encrypted exports and the agreement registry through the API (R-C7,
// R-C8, R-E5). The walk runs inside TestAPI on both databases, every
// response checked against the OpenAPI document.

func init() {
	apiWalks = append(apiWalks, struct {
		name, owns string
		run        func(t *testing.T, f *apptest.Fixture, c *client)
	}{"exports_RC7_RC8_RE5", "", walkExports})
}

type exportCreated struct {
	ID       int64
	Password string
	SHA256   string
	File     string
	Export   custos.Export
}

// fetchExport downloads an export's file and opens it with the password.
func fetchExport(t *testing.T, c *client, user string, cr exportCreated) map[string][]byte {
	t.Helper()
	r := c.do(user, "GET", cr.File, "", nil).expect(t, 200, "download the export")
	sum := sha256.Sum256(r.body)
	if hex.EncodeToString(sum[:]) != cr.SHA256 || r.hdr.Get("X-Content-SHA256") != cr.SHA256 {
		t.Fatalf("downloaded file does not match its SHA-256 %s", cr.SHA256)
	}
	if !strings.Contains(r.hdr.Get("Content-Disposition"), ".zip.age") || strings.Contains(string(r.body), cr.Password) {
		t.Fatalf("file headers %v", r.hdr)
	}
	files, err := app.OpenExport(r.body, cr.Password)
	if err != nil {
		t.Fatalf("open the export with its password: %v", err)
	}
	return files
}

func walkExports(t *testing.T, f *apptest.Fixture, c *client) {
	in := apptest.Person("导出接口客户")
	cust := f.Create(t, "am_bj01", in)
	onboardForTxn(t, f, cust, "am_bj01")

	// The registry of confidentiality agreements (R-C7).
	agreement := map[string]any{"party": "上海某会计师事务所", "reference": "NDA-API-001", "scope": []string{"investigation"},
		"valid_from": apptest.Day(-330), "valid_to": apptest.Day(34), "signed_by": "赵会计师；合规部"}
	c.do("mgr_bj", "POST", "/api/v1/agreements", "", agreement).expect(t, 403, "a manager registers an agreement")
	r := c.do("compliance", "POST", "/api/v1/agreements", "", map[string]any{"party": "x", "scope": []string{"all"}}).expect(t, 422, "incomplete agreement")
	if fs := fieldsOf(t, r); fs["reference"] != custos.CodeRequired || fs["scope[0]"] != custos.CodeNotAllowed || fs["valid_from"] != custos.CodeInvalidDate {
		t.Fatalf("agreement field errors %v", fs)
	}
	var ag custos.Agreement
	c.do("compliance", "POST", "/api/v1/agreements", "", agreement).expect(t, 201, "register agreement").json(t, &ag)
	c.do("compliance", "POST", "/api/v1/agreements", "", agreement).expect(t, 409, "the same reference twice")
	agPath := "/api/v1/agreements/" + strconv.FormatInt(ag.ID, 10)
	c.do("compliance", "GET", agPath, "", nil).expect(t, 200, "one agreement")
	c.do("compliance", "GET", "/api/v1/agreements/999999", "", nil).expect(t, 404, "no such agreement")
	c.do("am_bj01", "GET", "/api/v1/agreements", "", nil).expect(t, 403, "an account manager lists agreements")
	var ags struct{ Agreements []custos.Agreement }
	c.do("gm", "GET", "/api/v1/agreements?active=1", "", nil).expect(t, 200, "agreements in force").json(t, &ags)
	if len(ags.Agreements) != 1 || ags.Agreements[0].Reference != "NDA-API-001" {
		t.Fatalf("agreements %+v", ags)
	}

	// An internal export: generated at once, the password in the answer
	// only, the file fetched separately (R-C8).
	spec := map[string]any{"kind": "customers", "reason": "季度复核"}
	c.do("mgr_bj", "POST", "/api/v1/exports", "", spec).expect(t, 400, "export without purpose")
	c.do("am_bj01", "POST", "/api/v1/exports", "service", spec).expect(t, 403, "an account manager exports a list")
	c.do("mgr_bj", "POST", "/api/v1/exports", "service", map[string]any{"kind": "customers"}).expect(t, 422, "export without reason")
	var cr exportCreated
	c.do("mgr_bj", "POST", "/api/v1/exports", "service", spec).expect(t, 201, "internal export").json(t, &cr)
	if cr.Password == "" || cr.Export.State != custos.ExportReady || cr.Export.Rows["customers.csv"] != 1 {
		t.Fatalf("export answer %+v", cr)
	}
	files := fetchExport(t, c, "mgr_bj", cr)
	if list := string(files["customers.csv"]); !strings.Contains(list, "导出接口客户") || strings.Contains(list, in.IDNumber) ||
		!strings.Contains(list, custos.MaskIDNumber(in.IDNumber)) {
		t.Fatalf("customers.csv:\n%s", list)
	}
	exportPath := "/api/v1/exports/" + strconv.FormatInt(cr.ID, 10)
	for _, p := range []string{"/api/v1/exports", exportPath} {
		if r := c.do("mgr_bj", "GET", p, "", nil).expect(t, 200, "export record"); strings.Contains(string(r.body), cr.Password) {
			t.Fatalf("%s shows the password again", p)
		}
	}
	c.do("mgr_sh", "GET", cr.File, "", nil).expect(t, 404, "someone else's export file")
	c.do("mgr_sh", "GET", exportPath, "", nil).expect(t, 404, "someone else's export")
	c.do("mgr_bj", "POST", exportPath+"/generate", "service", nil).expect(t, 409, "generate an export twice")

	// To an outside party: the agreement must cover the kind (R-C7)…
	c.do("compliance", "POST", "/api/v1/exports", "risk", map[string]any{"kind": "customers", "recipient": "external", "agreement_id": ag.ID, "reason": "x"}).
		expect(t, 409, "a kind the agreement does not cover")
	c.do("compliance", "POST", "/api/v1/exports", "risk", map[string]any{"kind": "investigation", "recipient": "external", "archive_no": cust.ArchiveNo, "reason": "x"}).
		expect(t, 422, "external export without agreement")
	// …and a second person approves before the requester gets the file.
	var filed struct {
		Export  custos.Export
		Request custos.Request
	}
	c.do("compliance", "POST", "/api/v1/exports", "risk", map[string]any{"kind": "investigation", "recipient": "external", "agreement_id": ag.ID,
		"archive_no": cust.ArchiveNo, "reason": "审计协查"}).expect(t, 202, "external export filed").json(t, &filed)
	if filed.Request.Kind != custos.KindExport || filed.Export.State != custos.ExportAwaitingApproval || strings.Contains(filed.Request.Summary, "导出接口客户") {
		t.Fatalf("filed %+v", filed)
	}
	gen := "/api/v1/exports/" + strconv.FormatInt(filed.Export.ID, 10) + "/generate"
	c.do("compliance", "POST", gen, "risk", nil).expect(t, 409, "generate before approval")
	c.do("compliance", "POST", reqPath(filed.Request.ID, "approve"), "", nil).expect(t, 403, "the requester approves their own export")
	c.do("gm", "POST", reqPath(filed.Request.ID, "approve"), "", map[string]any{"comment": "同意"}).expect(t, 200, "approve export")
	c.do("gm", "POST", gen, "risk", nil).expect(t, 404, "the approver generates")
	var g exportCreated
	c.do("compliance", "POST", gen, "risk", nil).expect(t, 201, "generate approved export").json(t, &g)
	if g.Password == "" || g.Password == cr.Password || g.Export.Party != "上海某会计师事务所" {
		t.Fatalf("generated %+v", g)
	}
	pkg := fetchExport(t, c, "compliance", g)
	for _, name := range []string{"manifest.json", "profile.json", "attachments.csv", "transactions.csv", "audit.csv"} {
		if _, ok := pkg[name]; !ok {
			t.Errorf("investigation package lacks %s", name)
		}
	}
	if !strings.Contains(string(pkg["manifest.json"]), "NDA-API-001") || !strings.Contains(string(pkg["audit.csv"]), "customer.create") {
		t.Fatalf("package manifest %s", pkg["manifest.json"])
	}

	// Revocation.
	c.do("compliance", "POST", agPath+"/revoke", "", map[string]any{"reason": ""}).expect(t, 422, "revoke without reason")
	c.do("compliance", "POST", agPath+"/revoke", "", map[string]any{"reason": "合作终止"}).expect(t, 200, "revoke")
	c.do("compliance", "POST", agPath+"/revoke", "", map[string]any{"reason": "again"}).expect(t, 409, "revoke twice")
	c.do("compliance", "POST", "/api/v1/exports", "risk", map[string]any{"kind": "investigation", "recipient": "external", "agreement_id": ag.ID,
		"archive_no": cust.ArchiveNo, "reason": "x"}).expect(t, 409, "export under a revoked agreement")
}
