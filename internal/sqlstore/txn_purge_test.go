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

// TestPurgeTransactionsInSlices_RF1_RF3: a continuing customer's
// transactions before a cut-off are listed and deleted in slices of the
// given size, with the reversal records of the deleted ones; later
// transactions, their reversal records and the data key stay; closed
// customers are not listed; a hold in force stops the store itself.
func TestPurgeTransactionsInSlices_RF1_RF3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := txnCustomers(t, db, 3)
		nums, err := db.TxnCustomerNums(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		old, recent := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		cut := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
		var recs []sqlstore.TxnRecord
		add := func(i int, at time.Time, ref string) {
			recs = append(recs, sqlstore.TxnRecord{TxnKey: sqlstore.TxnKey{CNum: nums[ids[i]], At: at, Source: "core", Reference: ref},
				Amount: 100, Currency: "CNY", Direction: "debit", Type: "transfer", Channel: "online", AccountIx: 1, Sealed: []byte{1, 2, 3}})
		}
		for j := 0; j < 10; j++ {
			add(0, old.Add(time.Duration(j)*time.Hour), fmt.Sprintf("O%d", j))
			recs[len(recs)-1].CPAccountIx = 77 // a counterparty seen only in old transactions
		}
		add(0, recent, "N1")
		recs[len(recs)-1].CPNameIx = 88
		add(0, recent.Add(time.Hour), "N2")
		add(1, old, "C1") // closed below: destroyed as a whole, not purged
		add(2, old, "H1") // held below
		c0 := nums[ids[0]]
		links := []sqlstore.TxnLink{{Ix: 1, CNum: c0}, {Ix: 77, CNum: c0}, {Ix: 88, CNum: c0}, {Ix: 77, CNum: nums[ids[2]]}}
		if err := db.InsertTransactions(ctx, &sqlstore.TxnBatch{Source: "core", RecordedBy: 1, RecordedAt: old}, recs, links, false, nil); err != nil {
			t.Fatal(err)
		}
		write := func(fn func(tx *sqlstore.Tx) error) error { return db.Write(ctx, fn) }
		if err := write(func(tx *sqlstore.Tx) error {
			for _, k := range []sqlstore.TxnKey{recs[3].TxnKey, recs[11].TxnKey} {
				if err := tx.InsertTxnReversal(ctx, sqlstore.TxnReversal{Original: k, Reversal: "x" + k.Reference, ReversedBy: 1, ReversedAt: recent}); err != nil {
					return err
				}
			}
			if err := tx.SetCustomerState(ctx, ids[1], custos.StatusClosed, custos.Verified); err != nil {
				return err
			}
			return tx.InsertHold(ctx, &sqlstore.HoldRecord{LegalHold: custos.LegalHold{CustomerID: ids[2], Scope: custos.HoldTransactions, CaseRef: "X",
				OwnerID: 1, PlacedBy: 1, PlacedAt: old}})
		}); err != nil {
			t.Fatal(err)
		}
		cands, err := db.Reader().TxnPurgeCandidates(ctx, cut, true)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, c := range cands {
			got[c.CustomerID] = c.Expired
			if !c.Oldest.Equal(old) {
				t.Errorf("oldest of %s: %v", c.CustomerID, c.Oldest)
			}
		}
		if len(cands) != 2 || got[ids[0]] != 10 || got[ids[2]] != 1 {
			t.Fatalf("candidates %+v, want the live and the held customer", cands)
		}
		var slices []int64
		var reversals int64
		for done := false; !done; {
			var n, r int64
			if err := write(func(tx *sqlstore.Tx) error {
				var err error
				n, r, done, err = tx.PurgeTransactions(ctx, ids[0], cut, 4)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			slices, reversals = append(slices, n), reversals+r
		}
		if fmt.Sprint(slices) != "[4 4 2]" || reversals != 1 {
			t.Fatalf("slices %v, reversals %d; want [4 4 2] and 1", slices, reversals)
		}
		for cnum, want := range map[int64]string{c0: "[1 88]", nums[ids[2]]: "[77]"} {
			if got, err := db.TxnLinksOf(ctx, cnum); err != nil || fmt.Sprint(got) != want {
				t.Fatalf("links of customer %d after the purge: %v %v, want %s", cnum, got, err, want)
			}
		}
		rd := db.Reader()
		if _, err := rd.Transaction(ctx, recs[3].TxnKey); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("purged transaction: %v", err)
		}
		for _, k := range []sqlstore.TxnKey{recs[10].TxnKey, recs[11].TxnKey} {
			if _, err := rd.Transaction(ctx, k); err != nil {
				t.Fatalf("recent transaction %s: %v", k.Reference, err)
			}
		}
		revs, err := rd.TxnReversals(ctx, []int64{nums[ids[0]]}, old, recent.Add(24*time.Hour))
		if err != nil || len(revs) != 1 || revs[recs[11].TxnKey] == "" {
			t.Fatalf("reversal records left: %v %+v", err, revs)
		}
		if c, err := rd.Customer(ctx, ids[0]); err != nil || len(c.WrappedKey) == 0 {
			t.Fatalf("the customer or its data key went: %v", err)
		}
		if err := write(func(tx *sqlstore.Tx) error {
			_, _, _, err := tx.PurgeTransactions(ctx, ids[2], cut, 4)
			return err
		}); !errors.Is(err, sqlstore.ErrHeld) {
			t.Fatalf("held customer purged: %v", err)
		}
		if _, err := rd.Transaction(ctx, recs[13].TxnKey); err != nil {
			t.Fatalf("held transaction: %v", err)
		}
	})
}
