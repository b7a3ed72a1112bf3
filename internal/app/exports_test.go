package app_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// exportWorld is a fixture (with a cheap scrypt cost) holding two onboarded
// customers of am_bj01's with transactions, and one of am2_bj01's.
type exportWorld struct {
	f          *apptest.Fixture
	c1, c2, c3 *custos.Customer
	in1        custos.CustomerInput
}

func exportConfig() app.Config {
	cfg := app.DefaultConfig()
	cfg.ExportWorkFactor = 10
	cfg.ExportKeep = 2 * time.Hour
	return cfg
}

func newExportWorld(t *testing.T, db *sqlstore.DB) *exportWorld {
	t.Helper()
	f := apptest.NewWithConfig(t, db, exportConfig())
	w := &exportWorld{f: f, in1: apptest.Person("出口一")}
	verified := f.Clock.Now()
	w.c1 = f.Create(t, "am_bj01", w.in1)
	w.c2 = f.Create(t, "am_bj01", apptest.Person("出口二"))
	w.c3 = f.Create(t, "am2_bj01", apptest.Person("出口三"))
	for _, c := range []*custos.Customer{w.c1, w.c2, w.c3} {
		onboard(t, f, c, "inspector_bj", "mgr_bj")
	}
	f.Clock.Advance(24 * time.Hour)
	at := func(h int) string {
		return verified.Add(time.Duration(h) * time.Hour).In(custos.TxnZone).Format("2006-01-02 15:04:05")
	}
	for i, ref := range []string{"E001", "E002", "E003"} {
		in := txnIn(ref, "6222020200119988776", at(i+1), "100.00")
		in.CounterpartyName = "对手方甲"
		if _, _, err := f.App.RecordTransaction(ctx, f.Actor("am_bj01"), w.c1.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.App.RecordTransaction(ctx, f.Actor("am_bj01"), w.c2.ID, txnIn("E101", "6222020200110000101", at(2), "5.00")); err != nil {
		t.Fatal(err)
	}
	return w
}

// open decrypts an export with its password, as a recipient does with age and unzip.
func openExport(t *testing.T, res *app.ExportResult) map[string][]byte {
	t.Helper()
	if res.Password == "" || len(res.Content) == 0 {
		t.Fatalf("no password or file: %+v", res.Export)
	}
	sum := sha256.Sum256(res.Content)
	if hex.EncodeToString(sum[:]) != res.Export.SHA256 || int64(len(res.Content)) != res.Export.Size {
		t.Fatalf("recorded digest %s / size %d do not match the file", res.Export.SHA256, res.Export.Size)
	}
	if bytes.HasPrefix(res.Content, []byte("PK")) || !bytes.HasPrefix(res.Content, []byte("age-encryption.org/v1\n-> scrypt ")) {
		t.Fatalf("the file is not an age archive under a passphrase: %q", res.Content[:min(40, len(res.Content))])
	}
	files, err := app.OpenExport(res.Content, res.Password)
	if err != nil {
		t.Fatalf("decrypt with the password: %v", err)
	}
	if _, err := app.OpenExport(res.Content, res.Password+"x"); err == nil {
		t.Fatal("a wrong password opened the export")
	}
	return files
}

func csvRows(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func auditActions(t *testing.T, f *apptest.Fixture, action string) []custos.AuditEvent {
	t.Helper()
	evs, err := f.DB.SearchAudit(ctx, custos.AuditFilter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestInternalExportEncrypted_RC8(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newExportWorld(t, db)
		f := w.f
		mgr := f.Actor("mgr_bj")
		res, err := f.App.CreateExport(ctx, mgr, custos.ExportSpec{Kind: custos.ExportCustomers, Reason: "季度客户复核"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Export.State != custos.ExportReady || res.Request != nil {
			t.Fatalf("internal export: %+v", res.Export)
		}
		files := openExport(t, res)
		rows := csvRows(t, files["customers.csv"])
		if len(rows) != 4 || res.Export.Rows["customers.csv"] != 3 {
			t.Fatalf("want 3 customers, got %d rows (%v)", len(rows)-1, res.Export.Rows)
		}
		list := string(files["customers.csv"])
		masked := custos.MaskIDNumber(w.in1.IDNumber)
		if !strings.Contains(list, "出口一") || !strings.Contains(list, masked) || strings.Contains(list, w.in1.IDNumber) {
			t.Fatalf("the list must hold the customer with a masked ID:\n%s", list)
		}
		var m map[string]any
		if err := json.Unmarshal(files["manifest.json"], &m); err != nil || m["kind"] != "customers" || m["masked"] != true {
			t.Fatalf("manifest %s", files["manifest.json"])
		}

		// Revealed where the exporter may reveal: the manager may.
		res2, err := f.App.CreateExport(ctx, mgr, custos.ExportSpec{Kind: custos.ExportCustomers, Reveal: true, Reason: "反洗钱名单核对"})
		if err != nil {
			t.Fatal(err)
		}
		if files := openExport(t, res2); !strings.Contains(string(files["customers.csv"]), w.in1.IDNumber) {
			t.Fatal("reveal export does not hold the full ID")
		}
		if res2.Password == res.Password {
			t.Fatal("two exports share a password")
		}

		// Audited with the digest and the counts, and the download too.
		evs := auditActions(t, f, "export.create")
		if len(evs) != 2 || !strings.Contains(evs[1].Detail, res.Export.SHA256) || !strings.Contains(evs[1].Detail, `"customers.csv":3`) {
			t.Fatalf("export.create events %+v", evs)
		}
		e, content, err := f.App.ExportFile(ctx, mgr, res.Export.ID)
		if err != nil || !bytes.Equal(content, res.Content) || e.Downloads != 1 {
			t.Fatalf("download: %v, same=%v, %+v", err, bytes.Equal(content, res.Content), e)
		}
		if evs := auditActions(t, f, "export.download"); len(evs) != 1 || !strings.Contains(evs[0].Detail, res.Export.SHA256) {
			t.Fatalf("export.download events %+v", evs)
		}
		// Someone else's export is not there for them.
		if _, _, err := f.App.ExportFile(ctx, f.Actor("mgr_sh"), res.Export.ID); !errors.Is(err, app.ErrExportNotFound) {
			t.Fatalf("other user's download: %v", err)
		}

		// Transactions of one customer, with the amounts exact.
		tr, err := f.App.CreateExport(ctx, mgr, custos.ExportSpec{Kind: custos.ExportTransactions, ArchiveNo: w.c1.ArchiveNo, Reason: "对账"})
		if err != nil {
			t.Fatal(err)
		}
		trows := csvRows(t, openExport(t, tr)["transactions.csv"])
		if len(trows) != 4 || trows[1][2] != "E001" || trows[1][5] != "100.00" || strings.Contains(trows[1][10], "6222020200119988776") {
			t.Fatalf("transactions %v", trows)
		}
	})
}

func TestExportPermissions_RC8(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newExportWorld(t, db)
		f := w.f
		// Account managers may not export lists (their role has no export right).
		if _, err := f.App.CreateExport(ctx, f.Actor("am_bj01"), custos.ExportSpec{Kind: custos.ExportCustomers, Reason: "x"}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("account manager list export: %v", err)
		}
		// A customer outside the manager's unit answers like a missing one.
		if _, err := f.App.CreateExport(ctx, f.Actor("mgr_sh"), custos.ExportSpec{Kind: custos.ExportTransactions, ArchiveNo: w.c1.ArchiveNo, Reason: "x"}); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("out-of-scope customer: %v", err)
		}
		if _, err := f.App.CreateExport(ctx, f.Actor("mgr_sh"), custos.ExportSpec{Kind: custos.ExportTransactions, ArchiveNo: "NO-SUCH", Reason: "x"}); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("missing customer: %v", err)
		}
		// An investigation package carries the audit trail: only for those who read it.
		if _, err := f.App.CreateExport(ctx, f.Actor("mgr_bj"), custos.ExportSpec{Kind: custos.ExportInvestigation, ArchiveNo: w.c1.ArchiveNo, Reason: "x"}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("manager investigation package: %v", err)
		}
		// No purpose, no export (R-C6).
		if _, err := f.App.CreateExport(ctx, f.Actor("mgr_bj").WithPurpose(""), custos.ExportSpec{Kind: custos.ExportCustomers, Reason: "x"}); custos.ErrorCodeOf(err) != custos.EPurposeRequired {
			t.Fatalf("no purpose: %v", err)
		}
		if _, err := f.App.CreateExport(ctx, f.Actor("mgr_bj"), custos.ExportSpec{Kind: "everything", Reason: "x"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("bad kind: %v", err)
		}
		if n := len(auditActions(t, f, "export.create")); n != 0 {
			t.Fatalf("%d exports recorded after refusals", n)
		}
	})
}

// TestInvestigationPackage_RE5 opens a compliance officer's package for one
// customer: profile, documents, transactions and the customer's audit trail.
func TestInvestigationPackage_RE5(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newExportWorld(t, db)
		f := w.f
		res, err := f.App.CreateExport(ctx, f.Actor("compliance").WithPurpose("risk"), custos.ExportSpec{Kind: custos.ExportInvestigation, ArchiveNo: w.c1.ArchiveNo, Reason: "可疑交易调查"})
		if err != nil {
			t.Fatal(err)
		}
		files := openExport(t, res)
		var profile custos.Customer
		if err := json.Unmarshal(files["profile.json"], &profile); err != nil || profile.ArchiveNo != w.c1.ArchiveNo || profile.Name() != "出口一" {
			t.Fatalf("profile %s: %v", files["profile.json"], err)
		}
		atts := csvRows(t, files["attachments.csv"])
		if len(atts) != 2 || atts[1][2] != "id.png" || string(files[atts[1][7]]) != "\x89PNG scan" {
			t.Fatalf("attachments %v", atts)
		}
		if tr := csvRows(t, files["transactions.csv"]); len(tr) != 4 {
			t.Fatalf("transactions %v", tr)
		}
		trail := string(files["audit.csv"])
		for _, act := range []string{"customer.create", "attachment.add", "customer.activate", "transaction.record"} {
			if !strings.Contains(trail, act) {
				t.Errorf("audit trail lacks %s:\n%s", act, trail)
			}
		}
		if strings.Contains(string(files["audit.csv"]), w.c2.ArchiveNo) {
			t.Error("another customer's trail in the package")
		}
		ev := auditActions(t, f, "export.create")
		if len(ev) != 1 || ev[0].TargetType != "customer" || ev[0].TargetRef == w.c1.ID || !strings.Contains(ev[0].Detail, `"audit.csv"`) {
			t.Fatalf("export event %+v", ev)
		}
	})
}

func addAgreement(t *testing.T, f *apptest.Fixture, ref string, scope []custos.ExportKind, from, to string) *custos.Agreement {
	t.Helper()
	ag, err := f.App.CreateAgreement(ctx, f.Actor("compliance"), custos.Agreement{Party: "北京某律师事务所", Reference: ref, Scope: scope,
		ValidFrom: from, ValidTo: to, SignedBy: "王律师；合规部"})
	if err != nil {
		t.Fatal(err)
	}
	return ag
}

// TestExternalExportNeedsAgreementAndApproval_RC7: an export to an outside
// party needs an agreement in force covering the kind and a second
// person's approval; only then does its requester get the file.
func TestExternalExportNeedsAgreementAndApproval_RC7(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newExportWorld(t, db)
		f := w.f
		co := f.Actor("compliance")
		inv := custos.ExportSpec{Kind: custos.ExportInvestigation, Recipient: custos.RecipientExternal, ArchiveNo: w.c1.ArchiveNo, Reason: "法院协查"}

		// The registry is for compliance and administrators.
		if _, err := f.App.CreateAgreement(ctx, f.Actor("mgr_bj"), custos.Agreement{}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("manager registers an agreement: %v", err)
		}
		if _, err := f.App.CreateAgreement(ctx, co, custos.Agreement{Party: "x"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("incomplete agreement: %v", err)
		}
		good := addAgreement(t, f, "NDA-2026-001", []custos.ExportKind{custos.ExportInvestigation}, apptest.Day(-330), apptest.Day(34))
		expired := addAgreement(t, f, "NDA-2025-009", []custos.ExportKind{custos.ExportInvestigation}, apptest.Day(-695), apptest.Day(-150))
		if _, err := f.App.CreateAgreement(ctx, co, *good); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("duplicate reference: %v", err)
		}

		for name, tc := range map[string]struct {
			spec custos.ExportSpec
			want error
		}{
			"no agreement":      {custos.ExportSpec{Kind: custos.ExportInvestigation, Recipient: custos.RecipientExternal, ArchiveNo: w.c1.ArchiveNo, Reason: "x"}, nil},
			"unknown agreement": {withAgreement(inv, 999), nil},
			"expired":           {withAgreement(inv, expired.ID), custos.ErrAgreementExpired},
			"kind not covered":  {custos.ExportSpec{Kind: custos.ExportCustomers, Recipient: custos.RecipientExternal, AgreementID: good.ID, Reason: "x"}, custos.ErrAgreementScope},
		} {
			_, err := f.App.CreateExport(ctx, co, tc.spec)
			if tc.want == nil && custos.ErrorCodeOf(err) != custos.EInvalid || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%s: %v", name, err)
			}
		}
		// Managers may export internally but not to outside parties.
		if _, err := f.App.CreateExport(ctx, f.Actor("mgr_bj"), custos.ExportSpec{Kind: custos.ExportTransactions, Recipient: custos.RecipientExternal,
			AgreementID: good.ID, Reason: "x"}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("manager external export: %v", err)
		}
		if n := len(auditActions(t, f, "export.request")); n != 0 {
			t.Fatalf("refused exports filed %d requests", n)
		}

		res, err := f.App.CreateExport(ctx, co, withAgreement(inv, good.ID))
		if err != nil {
			t.Fatal(err)
		}
		if res.Password != "" || res.Content != nil || res.Request == nil || res.Export.State != custos.ExportAwaitingApproval || res.Request.Kind != custos.KindExport {
			t.Fatalf("external export before approval: %+v", res)
		}
		id := res.Export.ID
		if _, err := f.App.GenerateExport(ctx, co, id); !errors.Is(err, custos.ErrExportNotApproved) {
			t.Fatalf("generate before approval: %v", err)
		}
		// The requester cannot approve their own export (maker-checker).
		if _, err := f.App.DecideRequest(ctx, co, res.Request.ID, true, ""); !errors.Is(err, custos.ErrSelfApproval) {
			t.Fatalf("self-approval: %v", err)
		}
		r, err := f.App.DecideRequest(ctx, f.Actor("gm"), res.Request.ID, true, "同意")
		if err != nil || r.State != custos.RequestApplied {
			t.Fatalf("approve: %v %+v", err, r)
		}
		// The approver does not get the file; the requester does, once.
		if _, err := f.App.GenerateExport(ctx, f.Actor("gm"), id); !errors.Is(err, app.ErrExportNotFound) {
			t.Fatalf("approver generates: %v", err)
		}
		gen, err := f.App.GenerateExport(ctx, co, id)
		if err != nil {
			t.Fatal(err)
		}
		files := openExport(t, gen)
		if !strings.Contains(string(files["manifest.json"]), "NDA-2026-001") || len(files["audit.csv"]) == 0 {
			t.Fatalf("manifest %s", files["manifest.json"])
		}
		if _, err := f.App.GenerateExport(ctx, co, id); !errors.Is(err, custos.ErrExportGenerated) {
			t.Fatalf("second generation: %v", err)
		}
		for _, act := range []string{"agreement.create", "export.request", "export.approve", "export.generate"} {
			if len(auditActions(t, f, act)) == 0 {
				t.Errorf("no %s event", act)
			}
		}
		if evs := auditActions(t, f, "export.generate"); !strings.Contains(evs[0].Detail, gen.Export.SHA256) {
			t.Errorf("generate event %s", evs[0].Detail)
		}

		// An agreement revoked after approval stops the generation.
		res2, err := f.App.CreateExport(ctx, co, withAgreement(inv, good.ID))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), res2.Request.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.RevokeAgreement(ctx, co, good.ID, "合作终止"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.GenerateExport(ctx, co, res2.Export.ID); !errors.Is(err, custos.ErrAgreementRevoked) {
			t.Fatalf("generate under a revoked agreement: %v", err)
		}
		active, err := f.App.Agreements(ctx, co, true)
		if err != nil || len(active) != 0 {
			t.Fatalf("active agreements after revocation: %v %d", err, len(active))
		}
		// A rejected request leaves its export refused.
		res3, err := f.App.CreateExport(ctx, co, custos.ExportSpec{Kind: custos.ExportInvestigation, Recipient: custos.RecipientExternal,
			AgreementID: addAgreement(t, f, "NDA-2026-002", []custos.ExportKind{custos.ExportInvestigation}, apptest.Day(-26), apptest.Day(338)).ID,
			ArchiveNo:   w.c2.ArchiveNo, Reason: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), res3.Request.ID, false, "理由不充分"); err != nil {
			t.Fatal(err)
		}
		if e, err := f.App.Export(ctx, co, res3.Export.ID); err != nil || e.State != custos.ExportRefused {
			t.Fatalf("export after rejection: %v %+v", err, e)
		}
	})
}

func withAgreement(s custos.ExportSpec, id int64) custos.ExportSpec {
	s.AgreementID = id
	return s
}

// TestExportFileKeptForLimitedTime_RC8: past the keeping period the file
// is no longer given out, and the purge job deletes it.
func TestExportFileKeptForLimitedTime_RC8(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newExportWorld(t, db)
		f := w.f
		res, err := f.App.CreateExport(ctx, f.Actor("mgr_bj"), custos.ExportSpec{Kind: custos.ExportCustomers, Reason: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := f.App.PurgeExportFiles(ctx); err != nil || n != 0 {
			t.Fatalf("early purge: %d %v", n, err)
		}
		f.Clock.Advance(2 * time.Hour)
		if _, _, err := f.App.ExportFile(ctx, f.Actor("mgr_bj"), res.Export.ID); !errors.Is(err, custos.ErrExportGone) {
			t.Fatalf("download after keeping period: %v", err)
		}
		if n, err := f.App.PurgeExportFiles(ctx); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		list, err := f.App.Exports(ctx, f.Actor("mgr_bj"))
		if err != nil || len(list) != 1 || list[0].State != custos.ExportPurged || list[0].SHA256 != res.Export.SHA256 {
			t.Fatalf("list after purge: %v %+v", err, list)
		}
	})
}

// TestExportPasswordNeverStored_RC8 runs exports through an App whose log
// is captured and looks for the passwords in the database files, the audit
// trail and the log: they are nowhere. The file itself is ciphertext.
func TestExportPasswordNeverStored_RC8(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, raw *sql.DB) {
		w := newExportWorld(t, db)
		a, logs := loggedApp(t, w.f)
		var passwords []string
		res, err := a.CreateExport(ctx, w.f.Actor("mgr_bj"), custos.ExportSpec{Kind: custos.ExportCustomers, Reveal: true, Reason: "x"})
		if err != nil {
			t.Fatal(err)
		}
		passwords = append(passwords, res.Password)
		co := w.f.Actor("compliance")
		ag := addAgreement(t, w.f, "NDA-2026-777", []custos.ExportKind{custos.ExportInvestigation}, apptest.Day(-330), apptest.Day(34))
		ext, err := a.CreateExport(ctx, co, custos.ExportSpec{Kind: custos.ExportInvestigation, Recipient: custos.RecipientExternal, AgreementID: ag.ID,
			ArchiveNo: w.c1.ArchiveNo, Reason: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.DecideRequest(ctx, w.f.Actor("gm"), ext.Request.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		gen, err := a.GenerateExport(ctx, co, ext.Export.ID)
		if err != nil {
			t.Fatal(err)
		}
		passwords = append(passwords, gen.Password)
		if _, _, err := a.ExportFile(ctx, co, ext.Export.ID); err != nil {
			t.Fatal(err)
		}
		for _, p := range passwords {
			if len(p) != 35 || strings.Count(p, "-") != 5 {
				t.Fatalf("password %d characters, want 6 groups of 5", len(p))
			}
		}
		stored := storedBytes(t, db, raw)
		trail := auditBytes(t, db)
		if !bytes.Contains(trail, []byte(gen.Export.SHA256)) {
			t.Fatal("control: the export's digest is not in the audit trail")
		}
		if !bytes.Contains(stored, []byte("NDA-2026-777")) {
			t.Fatal("control: the scan does not see the export register")
		}
		if l := leaks(stored, passwords); len(l) > 0 {
			t.Errorf("password in the database: %v", l)
		}
		if l := leaks(trail, passwords); len(l) > 0 {
			t.Errorf("password in the audit trail: %v", l)
		}
		if l := leaks(logs.Bytes(), passwords); len(l) > 0 {
			t.Errorf("password in the log: %v", l)
		}
		// The revealed identity number went into the file, encrypted: not in clear anywhere.
		if l := leaks(stored, []string{w.in1.IDNumber, "出口一"}); len(l) > 0 {
			t.Errorf("plaintext customer data in the database after export: %v", l)
		}
		if db.Dialect() == sqlstore.Postgres {
			var hexed []string
			for _, p := range passwords {
				hexed = append(hexed, hex.EncodeToString([]byte(p)))
			}
			if l := leaks(stored, hexed); len(l) > 0 {
				t.Errorf("password in a bytea column: %v", l)
			}
		}
	})
}
