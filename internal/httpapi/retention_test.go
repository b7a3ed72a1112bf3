package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/pdfdoc"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Retention, legal holds and destruction through the API (R-F1–R-F4). The
// walk runs inside TestAPI on both databases, every response checked
// against the OpenAPI document.

func init() {
	apiWalks = append(apiWalks, struct {
		name, owns string
		run        func(t *testing.T, f *apptest.Fixture, c *client)
	}{"retention_RF1_RF2_RF3", "", walkRetention})
}

func walkRetention(t *testing.T, f *apptest.Fixture, c *client) {
	ctx := context.Background()
	// A second compliance officer: destruction needs two approvers besides its requester.
	u := &custos.User{Username: "compliance2", DisplayName: "compliance2", OrgID: f.Orgs["HQ"].ID, Role: custos.RoleCompliance}
	if err := f.DB.Write(ctx, func(tx *sqlstore.Tx) error { return tx.CreateUser(ctx, u, "x") }); err != nil {
		t.Fatal(err)
	}
	f.Users["compliance2"] = u
	tok, err := f.App.CreateToken(ctx, f.Actor("compliance2"), "test", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.tokens["compliance2"] = tok.Secret

	// The policy (R-F1).
	var p custos.RetentionPolicy
	c.do("compliance", "GET", "/api/v1/retention/policy", "", nil).expect(t, 200, "the policy").json(t, &p)
	if p.Preset != custos.PresetAML2024 || len(p.Rules) != len(custos.RecordTypes) {
		t.Fatalf("default policy: %+v", p)
	}
	c.do("am_bj01", "GET", "/api/v1/retention/policy", "", nil).expect(t, 403, "an account manager reads the policy")
	short := custos.RetentionPolicy{Preset: custos.PresetAML2024, Rules: append([]custos.RetentionRule(nil), p.Rules...)}
	short.Rules[0].Years = 3
	c.do("secadmin", "PUT", "/api/v1/retention/policy", "", short).expect(t, 422, "a period below the preset")
	pboc := custos.RetentionPresets[custos.PresetPBOC2007]
	c.do("compliance", "PUT", "/api/v1/retention/policy", "", pboc).expect(t, 403, "compliance sets the policy alone")
	c.do("admin", "PUT", "/api/v1/retention/policy", "", pboc).expect(t, 403, "the administrator sets the policy")
	// The security administrator files the change; a second person approves it.
	var preq custos.Request
	c.do("secadmin", "PUT", "/api/v1/retention/policy", "", pboc).expect(t, 202, "the PBOC 2007 preset, filed").json(t, &preq)
	if preq.Kind != custos.KindRetentionPolicy || preq.State != custos.RequestPending {
		t.Fatalf("policy request: %+v", preq)
	}
	c.do("secadmin", "POST", reqPath(preq.ID, "approve"), "", nil).expect(t, 403, "the requester approves the policy")
	c.do("compliance", "POST", reqPath(preq.ID, "approve"), "", nil).expect(t, 200, "approve the policy")
	c.do("compliance", "GET", "/api/v1/retention/policy", "", nil).expect(t, 200, "the policy").json(t, &p)
	if p.Preset != custos.PresetPBOC2007 {
		t.Fatalf("policy after approval: %+v", p)
	}

	// Closing relationships; a hold on one of them (R-F1, R-F2).
	gone, held := f.Create(t, "am_bj01", apptest.Person("接口销毁")), f.Create(t, "am_bj01", apptest.Person("接口保全"))
	onboardForTxn(t, f, gone, "am_bj01")
	close := map[string]any{"relationship_end": apptest.Day(0), "reason": "客户销户"}
	c.do("am_bj01", "POST", "/api/v1/customers/"+gone.ID+"/close", "", close).expect(t, 403, "an account manager closes")
	c.do("compliance", "POST", "/api/v1/customers/0190f0f0-0000-7000-8000-000000000000/close", "", close).expect(t, 404, "closing a missing customer")
	c.do("compliance", "POST", "/api/v1/customers/"+gone.ID+"/close", "", map[string]any{"relationship_end": "20261120", "reason": "x"}).expect(t, 422, "a bad date")
	// Backdated (its data would fall due at once), before the last business
	// activity (today's onboarding), or in the future: refused.
	for _, end := range []string{"2010-01-01", apptest.Day(-3), apptest.Day(1)} {
		c.do("compliance", "POST", "/api/v1/customers/"+gone.ID+"/close", "", map[string]any{"relationship_end": end, "reason": "x"}).expect(t, 422, "end date "+end)
	}
	var cl custos.Request
	c.do("compliance", "POST", "/api/v1/customers/"+gone.ID+"/close", "", close).expect(t, 202, "close, filed").json(t, &cl)
	if cl.Kind != custos.KindClosure || cl.State != custos.RequestPending || cl.CustomerID != gone.ID {
		t.Fatalf("closure: %+v", cl)
	}
	c.do("mgr_bj", "GET", "/api/v1/customers/"+gone.ID, "service", nil).expect(t, 200, "a service read before approval")
	c.do("compliance", "POST", reqPath(cl.ID, "approve"), "", nil).expect(t, 403, "the requester approves the closure")
	c.do("gm", "POST", reqPath(cl.ID, "approve"), "", nil).expect(t, 200, "approve the closure")
	c.do("compliance", "POST", "/api/v1/customers/"+gone.ID+"/close", "", close).expect(t, 409, "closing twice")
	c.do("compliance", "POST", "/api/v1/customers/"+held.ID+"/close", "", close).expect(t, 202, "close the other").json(t, &cl)
	c.do("mgr_bj", "POST", reqPath(cl.ID, "approve"), "", nil).expect(t, 200, "approve the other closure")
	c.do("mgr_bj", "GET", "/api/v1/customers/"+gone.ID, "service", nil).expect(t, 404, "a service read of a closed customer")
	c.do("mgr_bj", "GET", "/api/v1/customers/"+gone.ID, "legal", nil).expect(t, 200, "a legal read of a closed customer")

	c.do("compliance", "POST", "/api/v1/holds", "", map[string]any{"customer_id": held.ID, "reason": "x"}).expect(t, 422, "a hold without case reference")
	c.do("mgr_bj", "POST", "/api/v1/holds", "", map[string]any{"customer_id": held.ID, "case_ref": "A", "reason": "x"}).expect(t, 403, "a manager places a hold")
	var h custos.LegalHold
	c.do("compliance", "POST", "/api/v1/holds", "", map[string]any{"archive_no": held.ArchiveNo, "case_ref": "(2026)沪01刑初9号", "reason": "刑事调查"}).
		expect(t, 201, "place a hold").json(t, &h)
	var hs struct{ Holds []custos.LegalHold }
	c.do("auditor", "GET", "/api/v1/holds?active=1&customer_id="+held.ID, "", nil).expect(t, 200, "list holds").json(t, &hs)
	if len(hs.Holds) != 1 || hs.Holds[0].ID != h.ID || hs.Holds[0].Reason != "刑事调查" {
		t.Fatalf("holds: %+v", hs)
	}
	c.do("compliance", "POST", fmt.Sprintf("/api/v1/holds/%d/release", h.ID+99), "", map[string]any{"reason": "结案"}).expect(t, 404, "release a missing hold")
	var rel custos.Request
	c.do("compliance", "POST", fmt.Sprintf("/api/v1/holds/%d/release", h.ID), "", map[string]any{"reason": "结案"}).expect(t, 201, "file the release").json(t, &rel)
	if rel.Kind != custos.KindHoldRelease || rel.State != custos.RequestPending {
		t.Fatalf("release request: %+v", rel)
	}

	// Due-list and destruction (R-F3, R-F4).
	c.do("compliance", "POST", "/api/v1/destruction/batches", "", map[string]any{"reason": "到期销毁"}).expect(t, 409, "nothing due yet")
	f.Clock.Advance(6 * 365 * 24 * time.Hour)
	for _, name := range []string{"compliance", "compliance2", "gm", "auditor", "mgr_bj"} { // tokens expired meanwhile
		tok, err := f.App.CreateToken(ctx, f.Actor(name), "test", nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		c.tokens[name] = tok.Secret
	}
	var due app.DueList
	c.do("compliance", "GET", "/api/v1/retention/due", "", nil).expect(t, 200, "the dry run").json(t, &due)
	if len(due.Due) != 1 || due.Due[0].CustomerID != gone.ID || len(due.Held) != 1 {
		t.Fatalf("due list: %+v", due)
	}
	c.do("auditor", "GET", "/api/v1/retention/due", "", nil).expect(t, 403, "an auditor runs the due list")
	c.do("compliance", "POST", "/api/v1/destruction/batches", "", map[string]any{}).expect(t, 422, "a batch without reason")
	var created struct {
		Batch   custos.DestructionBatch
		Request custos.Request
	}
	c.do("compliance", "POST", "/api/v1/destruction/batches", "", map[string]any{"reason": "到期销毁"}).expect(t, 201, "create the batch").json(t, &created)
	bpath := fmt.Sprintf("/api/v1/destruction/batches/%d", created.Batch.ID)
	if len(created.Batch.Items) != 1 || created.Request.Required != 2 {
		t.Fatalf("batch: %+v", created)
	}
	c.do("gm", "POST", reqPath(created.Request.ID, "approve"), "", map[string]any{"comment": "同意"}).expect(t, 200, "first approval")
	witness := map[string]any{"witness": "auditor", "witness_password": apptest.Password}
	c.do("compliance", "POST", bpath+"/execute", "", witness).expect(t, 409, "execute with one approval")
	c.do("compliance2", "POST", reqPath(created.Request.ID, "approve"), "", map[string]any{"comment": "同意"}).expect(t, 200, "second approval")
	c.do("compliance", "GET", bpath+"/certificate", "", nil).expect(t, 409, "a certificate before execution")
	var done custos.DestructionBatch
	c.do("compliance", "POST", bpath+"/execute", "", map[string]any{"witness": "nobody", "witness_password": apptest.Password}).expect(t, 422, "an unknown witness")
	c.do("compliance", "POST", bpath+"/execute", "", map[string]any{"witness": "auditor", "witness_password": "wrong"}).expect(t, 422, "the witness's wrong password")
	c.do("compliance", "POST", bpath+"/execute", "", map[string]any{"witness": "gm", "witness_password": apptest.Password}).expect(t, 403, "an approver as witness")
	c.do("compliance", "POST", bpath+"/execute", "", map[string]any{"witness": "compliance", "witness_password": apptest.Password}).expect(t, 403, "the executor as witness")
	c.do("compliance", "POST", bpath+"/execute", "", witness).expect(t, 200, "execute").json(t, &done)
	if done.State != custos.BatchExecuted || done.Counts["customers"] != 1 {
		t.Fatalf("executed: %+v", done)
	}
	c.do("compliance", "POST", bpath+"/execute", "", witness).expect(t, 409, "execute twice")
	c.do("mgr_bj", "GET", "/api/v1/customers/"+gone.ID, "legal", nil).expect(t, 404, "the destroyed customer")
	var list struct{ Batches []custos.DestructionBatch }
	c.do("auditor", "GET", "/api/v1/destruction/batches", "", nil).expect(t, 200, "list batches").json(t, &list)
	if len(list.Batches) != 1 {
		t.Fatalf("batches: %+v", list)
	}
	c.do("auditor", "GET", bpath, "", nil).expect(t, 200, "one batch")
	c.do("auditor", "GET", "/api/v1/destruction/batches/999", "", nil).expect(t, 404, "a missing batch")
	r := c.do("auditor", "GET", bpath+"/certificate", "", nil).expect(t, 200, "the signed certificate")
	if _, err := app.VerifyDestructionCertificate(r.body, f.Keys.Signer.PublicKey()); err != nil {
		t.Fatalf("certificate signature: %v", err)
	}
	c.do("auditor", "GET", bpath+"/certificate?format=doc", "", nil).expect(t, 422, "an unknown format")
	if pdfdoc.New("").Available() == nil {
		r = c.do("compliance", "GET", bpath+"/certificate?format=pdf", "", nil).expect(t, 200, "the PDF certificate")
		if !bytes.HasPrefix(r.body, []byte("%PDF")) {
			t.Fatalf("PDF certificate: %.20q", r.body)
		}
	}
}
