package app_test

import (
	"bytes"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/backup"
	"github.com/custos-cim/custos/internal/pdfdoc"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// eachRetentionStore runs fn on a fresh SQLite store and, when configured, on a
// fresh PostgreSQL schema, whose URL it also passes (for raw table dumps).
func eachRetentionStore(t *testing.T, fn func(t *testing.T, db *sqlstore.DB, pgURL string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, sqltest.OpenSQLite(t), "") })
	t.Run("postgres", func(t *testing.T) {
		db, u := sqltest.OpenPostgresURL(t)
		fn(t, db, u)
	})
}

// addUser adds another fixture user (a second compliance officer: a
// destruction needs two approvers besides its requester).
func addUser(t testing.TB, f *apptest.Fixture, name string, role custos.Role, org string) {
	t.Helper()
	u := &custos.User{Username: name, DisplayName: name, OrgID: f.Orgs[org].ID, Role: role}
	if err := f.DB.Write(ctx, func(tx *sqlstore.Tx) error { return tx.CreateUser(ctx, u, "x") }); err != nil {
		t.Fatal(err)
	}
	f.Users[name] = u
}

// closeCustomer closes a relationship the way it is done: compliance files
// the closure and the general manager approves it.
func closeCustomer(t *testing.T, f *apptest.Fixture, c *custos.Customer, end string) {
	t.Helper()
	req, err := f.App.CloseRelationship(ctx, f.Actor("compliance"), c.ID, app.CloseInput{RelationshipEnd: end, Reason: "客户销户"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, "同意"); err != nil || r.State != custos.RequestApplied {
		t.Fatalf("approve the closure: %v %+v", err, r)
	}
}

func TestRetentionPolicySetting_RF1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		p, err := f.App.RetentionPolicy(ctx, f.Actor("compliance"))
		if err != nil || p.Preset != custos.PresetAML2024 {
			t.Fatalf("default policy: %+v %v", p, err)
		}
		short := custos.RetentionPresets[custos.PresetAML2024]
		short.Rules = append([]custos.RetentionRule(nil), short.Rules...)
		short.Rules[2].Years = 5
		if _, err := f.App.SetRetentionPolicy(ctx, f.Actor("secadmin"), short); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a period below the preset was accepted: %v", err)
		}
		pboc := custos.RetentionPresets[custos.PresetPBOC2007]
		pboc.Rules = append([]custos.RetentionRule(nil), pboc.Rules...)
		pboc.Rules[2].Years = 7
		for _, who := range []string{"am_bj01", "admin"} {
			if _, err := f.App.SetRetentionPolicy(ctx, f.Actor(who), pboc); custos.ErrorCodeOf(err) != custos.EForbidden {
				t.Fatalf("%s set the policy: %v", who, err)
			}
		}
		req, err := f.App.SetRetentionPolicy(ctx, f.Actor("secadmin"), pboc)
		if err != nil || req.State != custos.RequestPending {
			t.Fatalf("policy change: %v %+v", err, req)
		}
		if p, _ := f.App.RetentionPolicy(ctx, f.Actor("compliance")); p.Preset != custos.PresetAML2024 {
			t.Fatalf("the policy changed before approval: %+v", p)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("secadmin"), req.ID, true, "同意"); !errors.Is(err, custos.ErrSelfApproval) {
			t.Fatalf("the requester approved their own policy change: %v", err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("compliance"), req.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		got, err := f.App.RetentionPolicy(ctx, f.Actor("auditor"))
		if r, _ := got.Rule(custos.RecordTransaction); err != nil || got.Preset != custos.PresetPBOC2007 || r.Years != 7 {
			t.Fatalf("stored policy: %+v %v", got, err)
		}
	})
}

func TestClosedCustomerIsRestricted_RF1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		in := apptest.Person("销户客户")
		c := f.Create(t, "am_bj01", in)
		onboard(t, f, c, "inspector_bj", "mgr_bj")
		if _, err := f.App.CloseRelationship(ctx, f.Actor("am_bj01"), c.ID, app.CloseInput{Reason: "x"}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("an account manager closed a relationship: %v", err)
		}
		if _, err := f.App.CloseRelationship(ctx, f.Actor("compliance"), c.ID, app.CloseInput{RelationshipEnd: "2099-01-01", Reason: "x"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a future end date was accepted: %v", err)
		}
		closeCustomer(t, f, c, apptest.Day(0))
		if _, err := f.App.CloseRelationship(ctx, f.Actor("compliance"), c.ID, app.CloseInput{Reason: "again"}); custos.ErrorCodeOf(err) != custos.EConflict {
			t.Fatalf("closed twice: %v", err)
		}
		mgr := f.Actor("mgr_bj")
		if _, err := f.App.GetCustomer(ctx, mgr, c.ID); custos.ErrorCodeOf(err) != custos.ENotFound {
			t.Fatalf("service read of a closed customer: %v", err)
		}
		got, err := f.App.GetCustomer(ctx, mgr.WithPurpose("legal"), c.ID)
		if err != nil || got.Status != custos.StatusClosed {
			t.Fatalf("legal read of a closed customer: %v %+v", err, got)
		}
		if _, err := f.App.ChangeCustomer(ctx, mgr.WithPurpose("legal"), c.ID, 0, "更正", func(in *custos.CustomerInput) error { in.Occupation = "教师"; return nil }); err == nil {
			t.Fatal("a closed customer was changed")
		}
		if _, _, err := f.App.RecordTransaction(ctx, f.Actor("am_bj01"), c.ID, txnIn("R1", "6222020200110000999", apptest.DayTime(-7, "10:00:00"), "10.00")); err == nil {
			t.Fatal("a transaction was recorded for a closed customer")
		}
		page, err := f.App.SearchCustomers(ctx, mgr, custos.CustomerFilter{IDNumber: in.IDNumber})
		if err != nil || page.Total != 0 || len(page.Items) != 0 {
			t.Fatalf("a service search found a closed customer: %v %+v", err, page)
		}
		page, err = f.App.SearchCustomers(ctx, mgr.WithPurpose("audit"), custos.CustomerFilter{IDNumber: in.IDNumber})
		if err != nil || page.Total != 1 {
			t.Fatalf("an audit search did not find the closed customer: %v %+v", err, page)
		}
	})
}

func TestHoldReleasedOnlyByApproval_RF2(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		c := f.Create(t, "am_bj01", apptest.Person("保全客户"))
		if _, err := f.App.PlaceHold(ctx, f.Actor("am_bj01"), app.HoldInput{CustomerID: c.ID, CaseRef: "X", Reason: "x"}); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("an account manager placed a hold: %v", err)
		}
		if _, err := f.App.PlaceHold(ctx, f.Actor("compliance"), app.HoldInput{CustomerID: c.ID, Scope: "everything", Reason: "x"}); custos.ErrorCodeOf(err) != custos.EInvalid {
			t.Fatalf("a bad hold was accepted: %v", err)
		}
		if _, err := f.App.PlaceHold(ctx, f.Actor("compliance"), app.HoldInput{CustomerID: "0190f0f0-0000-7000-8000-000000000000", CaseRef: "X", Reason: "x"}); custos.ErrorCodeOf(err) != custos.ENotFound {
			t.Fatalf("a hold on a missing customer: %v", err)
		}
		h, err := f.App.PlaceHold(ctx, f.Actor("compliance"), app.HoldInput{CustomerID: c.ID, Scope: custos.HoldTransactions, TxnFrom: apptest.Day(-330),
			CaseRef: "(2026)京0105民初123号", Reason: "诉讼保全", Owner: "compliance"})
		if err != nil {
			t.Fatal(err)
		}
		req, err := f.App.RequestHoldRelease(ctx, f.Actor("compliance"), h.ID, "案件已结")
		if err != nil || req.Kind != custos.KindHoldRelease {
			t.Fatalf("release request: %v %+v", err, req)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("compliance"), req.ID, true, ""); !errors.Is(err, custos.ErrSelfApproval) {
			t.Fatalf("the requester approved the release: %v", err)
		}
		holds, err := f.App.Holds(ctx, f.Actor("auditor"), c.ID, true)
		if err != nil || len(holds) != 1 || holds[0].Reason != "诉讼保全" {
			t.Fatalf("hold before approval: %v %+v", err, holds)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, "同意解除"); err != nil {
			t.Fatal(err)
		}
		holds, err = f.App.Holds(ctx, f.Actor("compliance"), c.ID, false)
		if err != nil || len(holds) != 1 || holds[0].Active() || holds[0].ReleaseRequest != req.ID {
			t.Fatalf("hold after approval: %v %+v", err, holds)
		}
	})
}

// TestDestructionEndToEnd_RF2_RF3_RF4 moves the clock past the retention
// period: the scan files the due customers without destroying anything,
// a batch needs two approvers besides its requester and a witness, the
// held customer is never in it, and after execution neither the database
// file, its WAL (or a PostgreSQL dump of every table), nor a backup taken
// before yields the destroyed customer's data; the audit chain verifies
// and the signed certificate exists.
func TestDestructionEndToEnd_RF2_RF3_RF4(t *testing.T) {
	eachRetentionStore(t, func(t *testing.T, db *sqlstore.DB, pgURL string) {
		f := apptest.New(t, db)
		pdf := pdfdoc.New(os.Getenv("CUSTOS_PDF_FONT"))
		if pdf.Available() == nil {
			f.App.SetPDF(pdf)
		}
		addUser(t, f, "compliance2", custos.RoleCompliance, "HQ")
		goneIn, keptIn, liveIn := apptest.Person("待销毁客户"), apptest.Person("保全中客户"), apptest.Person("在用客户")
		gone, kept, live := f.Create(t, "am_bj01", goneIn), f.Create(t, "am_bj01", keptIn), f.Create(t, "am_bj01", liveIn)
		for _, c := range []*custos.Customer{gone, kept, live} {
			onboard(t, f, c, "inspector_bj", "mgr_bj")
		}
		before, err := db.Reader().Customer(ctx, gone.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range []*custos.Customer{gone, kept} {
			in := txnIn("T"+string(rune('1'+i)), "6222020200117766554", apptest.DayTime(-7, "10:00:00"), "88.00")
			in.CounterpartyName = "对手方乙"
			if _, _, err := f.App.RecordTransaction(ctx, f.Actor("am_bj01"), c.ID, in); err != nil {
				t.Fatal(err)
			}
		}
		// A backup holding the customer and its transactions, taken before
		// the destruction.
		bfile := filepath.Join(t.TempDir(), "before.tar.gz.age")
		if _, err := backup.Create(ctx, db, bfile, backup.Options{Passphrase: "correct horse battery staple 2026", WorkFactor: 10,
			KeysDir: f.Keys.Dir, CheckpointEvery: f.App.Config().CheckpointEvery, Clock: f.Clock}); err != nil {
			t.Fatal(err)
		}
		closeCustomer(t, f, gone, apptest.Day(0))
		closeCustomer(t, f, kept, apptest.Day(0))
		if _, err := f.App.PlaceHold(ctx, f.Actor("compliance"), app.HoldInput{CustomerID: kept.ID, CaseRef: "公安协查 2026-77", Reason: "协查"}); err != nil {
			t.Fatal(err)
		}

		// Within the period nothing is due.
		due, err := f.App.Due(ctx, f.Actor("compliance"))
		if err != nil || len(due.Due) != 0 || due.NotYet != 2 || len(due.Held) != 0 {
			t.Fatalf("due list within the period: %v %+v", err, due)
		}
		f.Clock.Advance(11 * 365 * 24 * time.Hour)
		n, err := f.App.RetentionScan(ctx)
		if err != nil || n != 1 {
			t.Fatalf("retention scan filed %d: %v", n, err)
		}
		if _, err := db.Reader().Customer(ctx, gone.ID); err != nil {
			t.Fatalf("the scan destroyed something: %v", err)
		}
		due, err = f.App.Due(ctx, f.Actor("compliance"))
		if err != nil || len(due.Due) != 1 || due.Due[0].CustomerID != gone.ID || len(due.Held) != 1 || due.Held[0].CustomerID != kept.ID {
			t.Fatalf("due list after the period: %v %+v", err, due)
		}

		b, req, err := f.App.CreateDestructionBatch(ctx, f.Actor("compliance"), "2037 年度到期档案销毁")
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Items) != 1 || b.Items[0].CustomerID != gone.ID || req.Required != 2 {
			t.Fatalf("batch: %+v request: %+v", b, req)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("compliance"), req.ID, true, ""); !errors.Is(err, custos.ErrSelfApproval) {
			t.Fatalf("the requester approved: %v", err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.ExecuteDestruction(ctx, f.Actor("compliance"), b.ID, f.Proof("auditor")); !errors.Is(err, custos.ErrBatchNotApproved) {
			t.Fatalf("executed with one approval: %v", err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, "再次"); !errors.Is(err, custos.ErrAlreadyDecided) {
			t.Fatalf("one approver counted twice: %v", err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("compliance2"), req.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.ExecuteDestruction(ctx, f.Actor("auditor"), b.ID, f.Proof("auditor")); custos.ErrorCodeOf(err) != custos.EForbidden {
			t.Fatalf("the witness executed: %v", err)
		}
		// The scan below finds what is there: the ciphertext is stored before.
		if in := foundUnderneath(t, db, pgURL, before.ProfileCT[13:45]); in == "" {
			t.Fatal("the raw scan does not find the customer's ciphertext before the destruction")
		}
		done, err := f.App.ExecuteDestruction(ctx, f.Actor("compliance"), b.ID, f.Proof("auditor"))
		if err != nil {
			t.Fatal(err)
		}
		if done.State != custos.BatchExecuted || done.Counts["customers"] != 1 || done.Counts["transactions"] != 1 || done.Counts["attachments"] != 1 {
			t.Fatalf("executed batch: %+v", done)
		}

		// The destroyed customer is gone; the held and the live ones stay.
		if _, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj").WithPurpose("legal"), gone.ID); custos.ErrorCodeOf(err) != custos.ENotFound {
			t.Fatalf("destroyed customer still readable: %v", err)
		}
		if c, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj").WithPurpose("legal"), kept.ID); err != nil || c.Name() == "" {
			t.Fatalf("held customer: %v", err)
		}
		if _, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj"), live.ID); err != nil {
			t.Fatalf("live customer after the key rotation: %v", err)
		}
		rep, err := f.App.VerifyAudit(ctx, 2)
		if err != nil || !rep.OK() {
			t.Fatalf("audit chain after destruction: %v %+v", err, rep)
		}

		// Nothing of it is left in the store's files or tables.
		secrets := map[string][]byte{"id number": []byte(goneIn.IDNumber), "phone": []byte(goneIn.Phone),
			"profile ciphertext": before.ProfileCT[13:45], "wrapped key": before.WrappedKey[5:37]}
		for what, s := range secrets {
			if in := foundUnderneath(t, db, pgURL, s); in != "" {
				t.Errorf("%s of the destroyed customer found in %s", what, in)
			}
		}

		// A backup taken before the destruction, restored now, cannot be
		// decrypted with the live keys.
		tg := backup.Target{DataDir: filepath.Join(t.TempDir(), "restored")}
		if pgURL != "" {
			tg = backup.Target{DBURL: sqltest.NewSchema(t, sqltest.PostgresURL(t)), KeysDir: filepath.Join(t.TempDir(), "keys")}
		}
		if _, err := backup.Restore(ctx, bfile, tg, backup.RestoreOptions{Passphrase: "correct horse battery staple 2026"}); err != nil {
			t.Fatal(err)
		}
		rdb, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: tg.DataDir, URL: tg.DBURL})
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		rdb.SetRecordMAC(f.Keys.Records) // the restored rows still carry valid tags (R-D3)
		old, err := rdb.Reader().Customer(ctx, gone.ID)
		if err != nil || len(old.WrappedKey) == 0 {
			t.Fatalf("the backup should still hold the wrapped key: %v", err)
		}
		if pt, err := f.Keys.Sealer.Decrypt(gone.ID, old.WrappedKey, "profile", old.ProfileCT); err == nil || bytes.Contains(pt, []byte(goneIn.Phone)) {
			t.Fatal("the destroyed customer decrypts from a backup taken before the destruction")
		}

		// The certificate: signed JSON naming approvers, witness and counts; a PDF with Chinese text.
		js, err := f.App.DestructionCertificateFile(ctx, f.Actor("auditor"), b.ID, "json")
		if err != nil {
			t.Fatal(err)
		}
		cert, err := app.VerifyDestructionCertificate(js, f.Keys.Signer.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if len(cert.Approvers) != 2 || !strings.Contains(cert.Witness.Name, "auditor") || cert.Counts["customers"] != 1 ||
			len(cert.Archives) != 1 || cert.Archives[0].ArchiveNo != gone.ArchiveNo || len(cert.KEK.Destroyed) == 0 {
			t.Fatalf("certificate: %+v", cert)
		}
		tampered := bytes.Replace(js, []byte(`"customers":1`), []byte(`"customers":2`), 1)
		if bytes.Equal(tampered, js) {
			t.Fatal("the certificate does not hold the customer count as expected")
		}
		if _, err := app.VerifyDestructionCertificate(tampered, f.Keys.Signer.PublicKey()); err == nil {
			t.Fatal("a tampered certificate verified")
		}
		if pdf.Available() == nil {
			if _, err := exec.LookPath("pdftotext"); err == nil {
				p, err := f.App.DestructionCertificateFile(ctx, f.Actor("compliance"), b.ID, "pdf")
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(t.TempDir(), "cert.pdf")
				os.WriteFile(path, p, 0o600)
				out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"客户档案销毁证明书", gone.ArchiveNo, "监销人", "auditor"} {
					if !strings.Contains(string(out), want) {
						t.Errorf("certificate PDF lacks %q", want)
					}
				}
			}
		}

		// The destroyed customer's identity key and blind indexes went with
		// it (on SQLite by exact key, without a cascade): the same person
		// may open a new archive, and is found once, as the new archive.
		again := f.Create(t, "am_bj01", goneIn)
		page, err := f.App.SearchCustomers(ctx, f.Actor("mgr_bj"), custos.CustomerFilter{IDNumber: goneIn.IDNumber})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != again.ID {
			t.Fatalf("search after re-opening: %v %+v", err, page)
		}
	})
}

// foundUnderneath says where s occurs in the store underneath the services:
// the SQLite file or its WAL, or (PostgreSQL) a text dump of every table,
// where byte strings appear in hex; "" when nowhere.
func foundUnderneath(t *testing.T, db *sqlstore.DB, pgURL string, s []byte) string {
	t.Helper()
	if pgURL != "" {
		dump := dumpPostgres(t, pgURL)
		if strings.Contains(dump, string(s)) || strings.Contains(dump, hex.EncodeToString(s)) {
			return "a dump of the tables"
		}
		return ""
	}
	for _, file := range []string{db.Path(), db.Path() + "-wal"} {
		raw, err := os.ReadFile(file)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(raw, s) {
			return filepath.Base(file)
		}
	}
	return ""
}

// dumpPostgres renders every row of every table of the test schema as text.
func dumpPostgres(t *testing.T, url string) string {
	t.Helper()
	pg, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	rows, err := pg.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, tbl := range tables {
		r, err := pg.Query(`SELECT t::text FROM "` + tbl + `" t`)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var s string
			r.Scan(&s)
			b.WriteString(s)
			b.WriteByte('\n')
		}
		r.Close()
	}
	if len(tables) < 10 {
		t.Fatalf("dumped only %d tables", len(tables))
	}
	return b.String()
}

func TestIDExpiryScan_RF4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		names := map[string]bool{}
		for _, j := range f.App.Jobs() {
			names[j.Name] = true
		}
		if !names["retention.scan"] || !names["kyc.id_expiry"] {
			t.Fatalf("jobs: %v", names)
		}
		soon := apptest.Person("证件将到期")
		soon.IDExpiry = apptest.Day(215)
		c := f.Create(t, "am_bj01", soon)
		f.Create(t, "am_bj01", apptest.Person("证件长期有效")) // expires in eight years
		closed := apptest.Person("已销户证件到期")
		closed.IDExpiry = apptest.Day(215)
		cc := f.Create(t, "am_bj01", closed)
		closeCustomer(t, f, cc, apptest.Day(0))
		if n, err := f.App.IDExpiryScan(ctx); err != nil || n != 0 {
			t.Fatalf("before expiry: %d %v", n, err)
		}
		f.Clock.Set(apptest.Start.AddDate(0, 0, 216)) // the day after the expiry
		if n, err := f.App.IDExpiryScan(ctx); err != nil || n != 1 {
			t.Fatalf("after expiry: %d flagged, want 1 (%v)", n, err)
		}
		if n, err := f.App.IDExpiryScan(ctx); err != nil || n != 0 {
			t.Fatalf("a second scan flagged again: %d %v", n, err)
		}
		evs, err := f.App.SearchAudit(ctx, f.Actor("auditor"), apptestQuery("", "kyc.id_expiry"))
		if err != nil || len(evs) != 3 || strings.Contains(evs[0].Detail, c.ID) {
			t.Fatalf("audit of the scans: %v %+v", err, evs)
		}
	})
}

// TestHoldAfterApprovalIsKept_RF2: a hold placed after a batch was
// approved still wins: the customer is skipped at execution, stays
// readable for legal use, and the certificate says it was kept.
func TestHoldAfterApprovalIsKept_RF2(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		addUser(t, f, "compliance2", custos.RoleCompliance, "HQ")
		a, b := f.Create(t, "am_bj01", apptest.Person("批后保全甲")), f.Create(t, "am_bj01", apptest.Person("批后保全乙"))
		closeCustomer(t, f, a, apptest.Day(0))
		closeCustomer(t, f, b, apptest.Day(0))
		f.Clock.Advance(11 * 365 * 24 * time.Hour) // past the AML 2024 period
		batch, req, err := f.App.CreateDestructionBatch(ctx, f.Actor("compliance"), "到期销毁")
		if err != nil || len(batch.Items) != 2 {
			t.Fatalf("batch: %v %+v", err, batch)
		}
		for _, who := range []string{"gm", "compliance2"} {
			if _, err := f.App.DecideRequest(ctx, f.Actor(who), req.ID, true, "同意"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.App.PlaceHold(ctx, f.Actor("compliance2"), app.HoldInput{ArchiveNo: b.ArchiveNo, CaseRef: "监管调查 2026-3", Reason: "调查"}); err != nil {
			t.Fatal(err)
		}
		done, err := f.App.ExecuteDestruction(ctx, f.Actor("compliance"), batch.ID, f.Proof("auditor"))
		if err != nil || done.Counts["customers"] != 1 || done.Counts["skipped"] != 1 {
			t.Fatalf("execution: %v %+v", err, done)
		}
		if _, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj").WithPurpose("legal"), b.ID); err != nil {
			t.Fatalf("customer held after approval: %v", err)
		}
		if _, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj").WithPurpose("legal"), a.ID); custos.ErrorCodeOf(err) != custos.ENotFound {
			t.Fatalf("the other customer: %v", err)
		}
		js, err := f.App.DestructionCertificateFile(ctx, f.Actor("compliance"), batch.ID, "json")
		if err != nil {
			t.Fatal(err)
		}
		cert, err := app.VerifyDestructionCertificate(js, f.Keys.Signer.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]string{}
		for _, it := range cert.Archives {
			states[it.ArchiveNo] = it.State
		}
		if states[a.ArchiveNo] != custos.ItemDestroyed || states[b.ArchiveNo] != custos.ItemSkippedHld {
			t.Fatalf("certificate items: %+v", cert.Archives)
		}
	})
}
