package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestDestroyInSlices_RF3: a long history is deleted in slices of the
// given size through the (customer, time) index, a group of customers at
// once, and a customer under a legal hold can be neither shredded nor
// deleted by the store itself.
func TestDestroyInSlices_RF3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := txnCustomers(t, db, 4)
		nums, err := db.TxnCustomerNums(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		base := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)
		var recs []sqlstore.TxnRecord
		for i, n := range []int{10, 2, 3, 1} {
			for j := 0; j < n; j++ {
				recs = append(recs, sqlstore.TxnRecord{TxnKey: sqlstore.TxnKey{CNum: nums[ids[i]], At: base.Add(time.Duration(j) * time.Hour), Source: "core",
					Reference: fmt.Sprintf("R%d-%d", i, j)}, Amount: 100, Currency: "CNY", Direction: "debit", Type: "transfer", Channel: "online", AccountIx: 1, Sealed: []byte{1, 2, 3}})
			}
		}
		if err := db.InsertTransactions(ctx, &sqlstore.TxnBatch{Source: "core", RecordedBy: 1, RecordedAt: base}, recs, nil, false, nil); err != nil {
			t.Fatal(err)
		}
		var counts map[string]int64
		write := func(fn func(tx *sqlstore.Tx) error) error { return db.Write(ctx, fn) }
		if err := write(func(tx *sqlstore.Tx) error { var err error; counts, err = tx.ShredCustomer(ctx, ids[0]); return err }); err != nil {
			t.Fatal(err)
		}
		if counts["transactions"] != 10 || counts["data_keys"] != 1 {
			t.Fatalf("counts %+v", counts)
		}
		var got []int64
		for done := false; !done; {
			var n int64
			if err := write(func(tx *sqlstore.Tx) error {
				var err error
				n, done, err = tx.DeleteTransactions(ctx, ids[:1], 4)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		if fmt.Sprint(got) != "[4 4 2]" {
			t.Fatalf("slices %v, want [4 4 2]", got)
		}
		var n int64
		var done bool
		if err := write(func(tx *sqlstore.Tx) error {
			var err error
			n, done, err = tx.DeleteTransactions(ctx, ids[1:3], 4)
			return err
		}); err != nil || n != 5 || !done {
			t.Fatalf("a group: %d %v %v", n, done, err)
		}
		if err := write(func(tx *sqlstore.Tx) error { return tx.DeleteCustomer(ctx, ids[0]) }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Reader().Customer(ctx, ids[0]); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("deleted customer: %v", err)
		}

		// A hold stops the store itself.
		if err := write(func(tx *sqlstore.Tx) error {
			return tx.InsertHold(ctx, &sqlstore.HoldRecord{LegalHold: custos.LegalHold{CustomerID: ids[3], Scope: custos.HoldTransactions, CaseRef: "X", OwnerID: 1, PlacedBy: 1, PlacedAt: base}})
		}); err != nil {
			t.Fatal(err)
		}
		for _, step := range []func(tx *sqlstore.Tx) error{
			func(tx *sqlstore.Tx) error { _, err := tx.ShredCustomer(ctx, ids[3]); return err },
			func(tx *sqlstore.Tx) error { return tx.DeleteCustomer(ctx, ids[3]) },
		} {
			if err := write(step); !errors.Is(err, sqlstore.ErrHeld) {
				t.Fatalf("held customer: %v", err)
			}
		}
		if rec, err := db.Reader().Customer(ctx, ids[3]); err != nil || len(rec.WrappedKey) == 0 {
			t.Fatalf("held customer after refusals: %v", err)
		}
	})
}
