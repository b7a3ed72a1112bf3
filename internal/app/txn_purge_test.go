package app_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestPurgeExpiredTransactionsOfLiveCustomer_RF1_RF3 moves the clock 12
// years on under the AML 2024 preset (10 years from the transaction
// date): the dry run lists a customer whose relationship continues as a
// transactions item; after two approvals, a witness and execution only its
// transactions older than 10 years (and the reversal record of one) are
// gone, the recent one still reads and decrypts, the customer still reads,
// a held live customer keeps all its transactions, the audit chain
// verifies and the certificate counts the purged transactions.
func TestPurgeExpiredTransactionsOfLiveCustomer_RF1_RF3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := apptest.New(t, db)
		addUser(t, f, "compliance2", custos.RoleCompliance, "HQ")
		live, heldLive := f.Create(t, "am_bj01", apptest.Person("存续客户")), f.Create(t, "am_bj01", apptest.Person("存续保全客户"))
		lateHeld := f.Create(t, "am_bj01", apptest.Person("批后保全存续客户"))
		for _, c := range []*custos.Customer{live, heldLive, lateHeld} {
			onboard(t, f, c, "inspector_bj", "mgr_bj")
		}
		am := f.Actor("am_bj01")
		const acct = "6222020200117766001"
		record := func(c *custos.Customer, ref, when string) *custos.Transaction {
			t.Helper()
			tx, created, err := f.App.RecordTransaction(ctx, am, c.ID, txnIn(ref, acct, when, "120.00"))
			if err != nil || !created {
				t.Fatalf("record %s: %v", ref, err)
			}
			return tx
		}
		record(live, "OLD1", apptest.DayTime(-7, "10:00:00"))
		old2 := record(live, "OLD2", apptest.DayTime(-6, "11:00:00"))
		if _, err := f.App.ReverseTransaction(ctx, am, old2.ID, "录入错误"); err != nil {
			t.Fatal(err)
		}
		record(heldLive, "H1", apptest.DayTime(-7, "10:00:00"))
		record(lateHeld, "L1", apptest.DayTime(-7, "10:00:00"))
		if _, err := f.App.PlaceHold(ctx, f.Actor("compliance"), app.HoldInput{CustomerID: heldLive.ID, Scope: custos.HoldTransactions,
			CaseRef: "公安协查 2026-88", Reason: "协查"}); err != nil {
			t.Fatal(err)
		}
		due, err := f.App.Due(ctx, f.Actor("compliance"))
		if err != nil || len(due.Due) != 0 || len(due.Held) != 0 || due.TxnCustomers != 0 {
			t.Fatalf("due list within the period: %v %+v", err, due)
		}

		f.Clock.Advance(12 * 365 * 24 * time.Hour)
		recent := record(live, "NEW1", f.Clock.Now().AddDate(-1, 0, 0).In(time.FixedZone("CST", 8*3600)).Format(time.DateTime))
		due, err = f.App.Due(ctx, f.Actor("compliance"))
		if err != nil || len(due.Due) != 2 || len(due.Held) != 1 {
			t.Fatalf("due list after 12 years: %v %+v", err, due)
		}
		e := due.Due[0]
		if e.CustomerID != live.ID {
			e = due.Due[1]
		}
		if e.CustomerID != live.ID || e.TxnBefore.IsZero() || e.Transactions != 3 || due.Held[0].CustomerID != heldLive.ID ||
			due.TxnCustomers != 3 || due.TxnExpired != 5 {
			t.Fatalf("due entries: %+v held %+v (%d customers, %d transactions)", e, due.Held, due.TxnCustomers, due.TxnExpired)
		}
		if n, err := f.App.RetentionScan(ctx); err != nil || n != 2 {
			t.Fatalf("retention scan filed %d: %v", n, err)
		}
		b, req, err := f.App.CreateDestructionBatch(ctx, f.Actor("compliance"), "到期交易记录清除")
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Items) != 2 || !b.Items[0].TransactionsOnly() || !b.Items[1].TransactionsOnly() {
			t.Fatalf("batch items: %+v", b.Items)
		}
		stored, err := f.App.DestructionBatch(ctx, f.Actor("auditor"), b.ID)
		if err != nil || len(stored.Items) != 2 || !stored.Items[0].TxnBefore.Equal(e.TxnBefore) {
			t.Fatalf("stored batch: %v %+v", err, stored)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("gm"), req.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.App.ExecuteDestruction(ctx, f.Actor("compliance"), b.ID, f.Proof("auditor")); !errors.Is(err, custos.ErrBatchNotApproved) {
			t.Fatalf("executed with one approval: %v", err)
		}
		if _, err := f.App.DecideRequest(ctx, f.Actor("compliance2"), req.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		// A hold placed after the approval still wins.
		if _, err := f.App.PlaceHold(ctx, f.Actor("compliance2"), app.HoldInput{CustomerID: lateHeld.ID, CaseRef: "监管调查 2038-1", Reason: "调查"}); err != nil {
			t.Fatal(err)
		}
		done, err := f.App.ExecuteDestruction(ctx, f.Actor("compliance"), b.ID, f.Proof("auditor"))
		if err != nil {
			t.Fatal(err)
		}
		if done.State != custos.BatchExecuted || done.Counts["transactions_purged"] != 3 || done.Counts["reversals_purged"] != 1 ||
			done.Counts["purge_customers"] != 1 || done.Counts["skipped"] != 1 || done.Counts["customers"] != 0 {
			t.Fatalf("executed batch: %+v", done)
		}

		// Only the old transactions are gone; the recent one reads and
		// decrypts (the masked account is made from the decrypted one).
		masked := acct[:6] + "*********" + acct[len(acct)-4:]
		page, err := f.App.SearchTransactions(ctx, am, custos.TxnFilter{CustomerID: live.ID})
		if err != nil || len(page.Items) != 1 || page.Items[0].Reference != "NEW1" || page.Items[0].Account != masked || page.Items[0].ID != recent.ID {
			t.Fatalf("transactions of the live customer after the purge: %v %+v %q %q / %q", err, page, page.Items[0].Account, page.Items[0].ID, recent.ID)
		}
		if c, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj"), live.ID); err != nil || c.Name() != "存续客户" {
			t.Fatalf("live customer after the purge: %v", err)
		}
		for c, ref := range map[*custos.Customer]string{heldLive: "H1", lateHeld: "L1"} {
			page, err = f.App.SearchTransactions(ctx, am, custos.TxnFilter{CustomerID: c.ID})
			if err != nil || len(page.Items) != 1 || page.Items[0].Reference != ref || page.Items[0].Account != masked {
				t.Fatalf("transactions of the held customer: %v %+v", err, page)
			}
		}
		rep, err := f.App.VerifyAudit(ctx, 2)
		if err != nil || !rep.OK() {
			t.Fatalf("audit chain after the purge: %v %+v", err, rep)
		}
		evs, err := f.App.SearchAudit(ctx, f.Actor("auditor"), apptestQuery("", "transactions.purge"))
		if err != nil || len(evs) != 2 || evs[0].TargetRef == "" || evs[0].TargetRef == live.ID || evs[1].TargetRef == lateHeld.ID {
			t.Fatalf("purge audit events: %v %+v", err, evs)
		}

		// Nothing more is due for the live customer; the held one stays held.
		due, err = f.App.Due(ctx, f.Actor("compliance"))
		if err != nil || len(due.Due) != 0 || len(due.Held) != 2 {
			t.Fatalf("due list after the purge: %v %+v", err, due)
		}

		js, err := f.App.DestructionCertificateFile(ctx, f.Actor("auditor"), b.ID, "json")
		if err != nil {
			t.Fatal(err)
		}
		cert, err := app.VerifyDestructionCertificate(js, f.Keys.Signer.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]string{}
		for _, it := range cert.Archives {
			if it.TxnBefore == "" {
				t.Errorf("certificate item without its cut-off: %+v", it)
			}
			states[it.ArchiveNo] = it.State
		}
		if cert.Counts["transactions_purged"] != 3 || len(cert.Archives) != 2 || states[live.ArchiveNo] != custos.ItemPurged ||
			states[lateHeld.ArchiveNo] != custos.ItemSkippedHld || !slices.Contains(cert.Method, app.MethodPurge) || slices.Contains(cert.Method, app.MethodShred) {
			t.Fatalf("certificate: %+v", cert)
		}
	})
}
