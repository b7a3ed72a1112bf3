package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestRecordTagsBulkPaths_RD3: rows written by every transaction path —
// COPY and its staging fallback on PostgreSQL, the direct multi-row
// INSERT on SQLite, the marked INSERT … RETURNING — carry valid tags, and
// the customer numbers allocated for them too; a store read with another
// record key fails every check.
func TestRecordTagsBulkPaths_RD3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := txnCustomers(t, db, 2)
		nums, err := db.TxnCustomerNums(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2001, 3, 1, 0, 0, 0, 0, time.UTC) // no store rule here depends on the date
		var recs []sqlstore.TxnRecord
		for i := 0; i < 300; i++ {
			recs = append(recs, txnRecord(nums[ids[i%2]], start.Add(time.Duration(i)*time.Hour), fmt.Sprintf("B%04d", i), int64(i+1)*100))
		}
		sortRecs(recs)
		if err := db.InsertTransactions(ctx, &sqlstore.TxnBatch{Source: "core", RecordedAt: start}, recs, nil, false, nil); err != nil {
			t.Fatal(err)
		}
		more := append([]sqlstore.TxnRecord(nil), recs...)
		for i := 300; i < 350; i++ {
			more = append(more, txnRecord(nums[ids[0]], start.Add(time.Duration(i)*time.Hour), fmt.Sprintf("B%04d", i), 5))
		}
		sortRecs(more)
		if err := db.InsertTransactions(ctx, &sqlstore.TxnBatch{Source: "core", RecordedAt: start}, more, nil, false, nil); err != nil {
			t.Fatal(err)
		}
		marked := []sqlstore.TxnRecord{txnRecord(nums[ids[1]], start.Add(-time.Hour), "M1", 7), recs[0]}
		if err := db.InsertTransactions(ctx, &sqlstore.TxnBatch{Source: "core", RecordedAt: start}, marked, nil, true, nil); err != nil {
			t.Fatal(err)
		}
		rep, err := db.VerifyRecords(ctx, func(p sqlstore.RecordProblem) error { return errors.New(p.Table + " " + p.Row) })
		if err != nil || rep.Transactions != 351 || rep.TxnCustomers != 2 || rep.Customers != 2 || rep.Bad != 0 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		all, err := db.Reader().FindTransactions(ctx, &sqlstore.TxnQuery{CNum: nums[ids[0]], Limit: 1000, Large: map[string]int64{"*": 1 << 60}})
		if err != nil || len(all) != 200 {
			t.Fatalf("read back: %d %v", len(all), err)
		}

		// Another record key: nothing verifies, and reads are refused.
		db.SetRecordMAC(sqltest.RecordMAC(t))
		rep, err = db.VerifyRecords(ctx, func(sqlstore.RecordProblem) error { return nil })
		if err != nil || rep.Bad != 355 {
			t.Fatalf("verify with another key: %+v %v", rep, err)
		}
		if _, err := db.Reader().FindTransactions(ctx, &sqlstore.TxnQuery{CNum: nums[ids[0]], Limit: 10, Large: map[string]int64{"*": 1 << 60}}); !errors.Is(err, sqlstore.ErrIntegrity) {
			t.Fatalf("read with another key: %v", err)
		}
		if _, err := db.Reader().Customer(ctx, ids[0]); !errors.Is(err, sqlstore.ErrIntegrity) {
			t.Fatalf("customer read with another key: %v", err)
		}
	})
}
