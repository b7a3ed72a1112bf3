package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestRetentionPageListsExpiredTransactions_RF1: the due-list page shows a
// continuing customer whose transactions have passed retention as a
// transactions-only item.
func TestRetentionPageListsExpiredTransactions_RF1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.f.Create(t, "am_bj01", apptest.Person("页面存续客户"))
		nums, err := db.TxnCustomerNums(ctx, []string{c.ID})
		if err != nil {
			t.Fatal(err)
		}
		at := e.f.Clock.Now().AddDate(-1, 0, 0).Truncate(time.Second)
		rec := sqlstore.TxnRecord{TxnKey: sqlstore.TxnKey{CNum: nums[c.ID], At: at, Source: "core", Reference: "W1"}, Amount: 100, Currency: "CNY",
			Direction: "debit", Type: "transfer", Channel: "online", AccountIx: 1, Sealed: []byte{1, 2, 3}}
		if err := db.InsertTransactions(ctx, &sqlstore.TxnBatch{Source: "core", RecordedBy: 1, RecordedAt: at}, []sqlstore.TxnRecord{rec}, nil, false, nil); err != nil {
			t.Fatal(err)
		}
		e.login("compliance")
		e.purpose("audit")
		a := e.get("/retention")
		wantStatus(t, a, http.StatusOK)
		wantBody(t, a, `id="retention-due"`)
		if strings.Contains(a.Body, c.ArchiveNo) {
			t.Fatal("a customer with recent transactions only is listed as due")
		}
		e.f.Clock.Advance(11 * 365 * 24 * time.Hour)
		e.login("compliance") // the session of eleven years ago has expired
		e.purpose("audit")
		a = e.get("/retention")
		wantStatus(t, a, http.StatusOK)
		wantBody(t, a, c.ArchiveNo, "客户存续，仅清除此日前的到期交易", `id="batch-form"`)
	})
}
