package sqlstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

func TestTxnKeyRoundTrip(t *testing.T) {
	k := sqlstore.TxnKey{CNum: 123456, At: time.Date(2026, 3, 4, 5, 6, 7, 891000, time.UTC), Source: "core.v2", Reference: "T-2026/03#1"}
	s := k.String()
	back, err := sqlstore.ParseTxnKey(s)
	if err != nil || back != k {
		t.Fatalf("round trip %q: %+v %v", s, back, err)
	}
	for _, bad := range []string{"", "!!", "AA", k.String() + "=", "AAAA"} {
		if _, err := sqlstore.ParseTxnKey(bad); !errors.Is(err, custos.ErrNotFound) {
			t.Errorf("ParseTxnKey(%q): %v", bad, err)
		}
	}
}

// txnCustomers creates n customers directly in the store (ciphertext-sized
// blobs, no keys that open anything) and returns their ids.
func txnCustomers(t testing.TB, db *sqlstore.DB, n int) []string {
	t.Helper()
	return seedCustomers(t, db, n, nil)
}

// seedCustomers creates the organisation HQ, an account manager and n
// customers of it directly in the store (ciphertext-sized blobs, a zeroed
// wrapped key: nothing opens them) and returns their ids. entries, if not
// nil, gives customer i's blind indexes and identity key.
func seedCustomers(t testing.TB, db *sqlstore.DB, n int, entries func(i int) ([]sqlstore.IndexEntry, []byte)) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	err := db.Write(ctx, func(tx *sqlstore.Tx) error {
		ids = ids[:0]
		o := &custos.Org{Code: "HQ", Name: "HQ", Kind: custos.HeadOffice}
		if err := tx.CreateOrg(ctx, o); err != nil {
			return err
		}
		u := &custos.User{Username: "u", OrgID: o.ID, Role: custos.RoleAccountManager}
		if err := tx.CreateUser(ctx, u, "x"); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			id, _ := uuid.NewV7()
			now := tx.Now()
			r := &sqlstore.CustomerRecord{ID: id.String(), ArchiveNo: fmt.Sprintf("HQ-P-2026-%08d", i+1), Type: custos.TypePerson,
				OrgID: o.ID, OwnerID: u.ID, Category: "retail", Status: custos.StatusEffective, Sensitivity: custos.Normal,
				Verification: custos.Verified, ProfileCT: make([]byte, 64), WrappedKey: make([]byte, 65), CreatedAt: now, UpdatedAt: now, Version: 1}
			var index []sqlstore.IndexEntry
			var identity []byte
			if entries != nil {
				index, identity = entries(i)
			}
			if err := tx.InsertCustomer(ctx, r, index, identity); err != nil {
				return err
			}
			ids = append(ids, r.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func txnRecord(cnum int64, at time.Time, ref string, amount int64) sqlstore.TxnRecord {
	sealed := make([]byte, 90)
	rand.Read(sealed)
	return sqlstore.TxnRecord{TxnKey: sqlstore.TxnKey{CNum: cnum, At: at, Source: "core", Reference: ref}, Amount: amount, Currency: "CNY",
		Direction: "debit", Type: "transfer", Channel: "online", AccountIx: 42 + cnum, Sealed: sealed}
}

func sortRecs(recs []sqlstore.TxnRecord) {
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].CNum != recs[j].CNum {
			return recs[i].CNum < recs[j].CNum
		}
		return recs[i].At.Before(recs[j].At)
	})
}

// TestInsertTransactionsBulk exercises both write paths (COPY with its
// staging fallback on PostgreSQL, multi-row INSERTs), idempotency, the
// month partitions, the history order and paging, totals, and that rows
// commit with their audit events or not at all (R-E1, R-E2, R-C5).
func TestInsertTransactionsBulk_RE1_RE2(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := txnCustomers(t, db, 3)
		nums, err := db.TxnCustomerNums(ctx, append(ids, ids[0]))
		if err != nil || len(nums) != 3 {
			t.Fatalf("customer numbers %v %v", nums, err)
		}
		again, _ := db.TxnCustomerNums(ctx, ids)
		for _, id := range ids {
			if again[id] != nums[id] || nums[id] == 0 {
				t.Fatalf("numbers change: %v %v", nums, again)
			}
		}
		if _, err := db.TxnCustomerNums(ctx, []string{"no-such-customer"}); err == nil {
			t.Fatal("a number for a missing customer")
		}
		start := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
		var recs []sqlstore.TxnRecord
		for i := 0; i < 900; i++ {
			c := nums[ids[i%3]]
			recs = append(recs, txnRecord(c, start.Add(time.Duration(i)*3*time.Hour), fmt.Sprintf("T%05d", i), int64(i+1)*10000)) // spans January to May
		}
		sortRecs(recs)
		audited := 0
		audit := func(tx *sqlstore.Tx, b *sqlstore.TxnBatch) error {
			audited++
			return tx.AppendAudit(ctx, custos.AuditEvent{Actor: "test", Action: "transaction.record", Outcome: custos.OutcomeOK, Detail: fmt.Sprintf(`{"inserted":%d}`, b.Inserted)})
		}
		links := []sqlstore.TxnLink{{Ix: 42 + nums[ids[0]], CNum: nums[ids[0]]}, {Ix: 42 + nums[ids[0]], CNum: nums[ids[0]]}}
		b := &sqlstore.TxnBatch{Source: "core", RecordedBy: 1, Via: "test", RecordedAt: start}
		if err := db.InsertTransactions(ctx, b, recs, links, false, audit); err != nil {
			t.Fatal(err)
		}
		if b.Inserted != 900 || b.Rows != 900 || b.ID == 0 || audited != 1 {
			t.Fatalf("batch %+v audited %d", b, audited)
		}
		// The same rows again with 100 new ones: only the new ones go in.
		more := append([]sqlstore.TxnRecord(nil), recs...)
		for i := 900; i < 1000; i++ {
			more = append(more, txnRecord(nums[ids[0]], start.Add(time.Duration(i)*3*time.Hour), fmt.Sprintf("T%05d", i), 10000))
		}
		sortRecs(more)
		b2 := &sqlstore.TxnBatch{Source: "core", RecordedBy: 1, RecordedAt: start}
		if err := db.InsertTransactions(ctx, b2, more, nil, false, audit); err != nil || b2.Inserted != 100 {
			t.Fatalf("second batch %+v %v", b2, err)
		}
		// Marked: which rows were new.
		mixed := []sqlstore.TxnRecord{recs[0], txnRecord(nums[ids[1]], start.Add(-time.Hour), "NEW1", 5), recs[1]}
		if err := db.InsertTransactions(ctx, &sqlstore.TxnBatch{Source: "core", RecordedAt: start}, mixed, nil, true, nil); err != nil {
			t.Fatal(err)
		}
		if mixed[0].Inserted || !mixed[1].Inserted || mixed[2].Inserted {
			t.Fatalf("marks %v %v %v", mixed[0].Inserted, mixed[1].Inserted, mixed[2].Inserted)
		}
		// A failing audit rolls the rows back (both paths).
		for _, n := range []int{1, 300} {
			var fail []sqlstore.TxnRecord
			for i := 0; i < n; i++ {
				fail = append(fail, txnRecord(nums[ids[2]], start.Add(time.Duration(i)*time.Second), fmt.Sprintf("F%d-%d", n, i), 1))
			}
			boom := errors.New("audit down")
			err := db.InsertTransactions(ctx, &sqlstore.TxnBatch{Source: "core", RecordedAt: start}, fail, nil, false,
				func(*sqlstore.Tx, *sqlstore.TxnBatch) error { return boom })
			if !errors.Is(err, boom) {
				t.Fatalf("failing audit, %d rows: %v", n, err)
			}
		}

		rd := db.Reader()
		c0 := nums[ids[0]]
		all, err := rd.FindTransactions(ctx, &sqlstore.TxnQuery{CNum: c0, Limit: 1000, Large: map[string]int64{"*": 1 << 60}})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 400 { // 300 of the first batch, 100 of the second
			t.Fatalf("customer 0 has %d rows", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].At.After(all[i-1].At) {
				t.Fatalf("not newest first at %d", i)
			}
		}
		// Paging with the cursor gives the same rows.
		var paged []*sqlstore.TxnRecord
		q := &sqlstore.TxnQuery{CNum: c0, Limit: 37, Large: map[string]int64{"*": 1 << 60}}
		for {
			page, err := rd.FindTransactions(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, page...)
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.After = &sqlstore.TxnCursor{At: last.At, Source: last.Source, Reference: last.Reference, CNum: last.CNum}
		}
		if len(paged) != len(all) || paged[100].TxnKey != all[100].TxnKey {
			t.Fatalf("paging found %d", len(paged))
		}
		// Visible-normal hides large rows; the withheld count makes up the rest.
		vq := &sqlstore.TxnQuery{CNum: c0, Visible: sqlstore.TxnVisibleNormal, Large: map[string]int64{"CNY": 100 * 10000, "*": 1}, Limit: 1000}
		vis, _ := rd.FindTransactions(ctx, vq)
		hidden, err := rd.CountWithheldTransactions(ctx, vq)
		if err != nil || len(vis)+hidden != 400 || hidden == 0 || len(vis) == 0 {
			t.Fatalf("visible %d + withheld %d: %v", len(vis), hidden, err)
		}
		totals, err := rd.TransactionTotals(ctx, &sqlstore.TxnQuery{CNum: c0, Large: map[string]int64{"*": 1}})
		if err != nil || len(totals) != 1 || totals[0].Count != 400 {
			t.Fatalf("totals %+v %v", totals, err)
		}
		want := new(big.Int)
		for _, r := range all {
			want.Add(want, big.NewInt(r.Amount))
		}
		if totals[0].Sum.Cmp(want) != 0 {
			t.Fatalf("sum %s, want %s", totals[0].Sum, want)
		}
		// One record by its key.
		one, err := rd.Transaction(ctx, all[5].TxnKey)
		if err != nil || one.Reference != all[5].Reference || one.Amount != all[5].Amount {
			t.Fatalf("by key: %+v %v", one, err)
		}
		if _, err := rd.Transaction(ctx, sqlstore.TxnKey{CNum: c0, At: start, Source: "core", Reference: "nope"}); !errors.Is(err, custos.ErrNotFound) {
			t.Fatalf("missing by key: %v", err)
		}
		// One reversal per transaction.
		err = db.Write(ctx, func(tx *sqlstore.Tx) error {
			return tx.InsertTxnReversal(ctx, sqlstore.TxnReversal{Original: all[5].TxnKey, Reversal: "r1", ReversedBy: 1, ReversedAt: start})
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Write(ctx, func(tx *sqlstore.Tx) error {
			return tx.InsertTxnReversal(ctx, sqlstore.TxnReversal{Original: all[5].TxnKey, Reversal: "r2", ReversedBy: 1, ReversedAt: start})
		})
		if !errors.Is(err, custos.ErrAlreadyReversed) {
			t.Fatalf("second reversal: %v", err)
		}
		revs, err := rd.TxnReversals(ctx, []int64{c0}, all[5].At, all[5].At)
		if err != nil || revs[all[5].TxnKey] != "r1" {
			t.Fatalf("reversals %v %v", revs, err)
		}
		parts, err := db.TxnPartitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"transactions_y2026m01", "transactions_y2026m02", "transactions_y2026m03", "transactions_y2026m04", "transactions_y2026m05"}; db.Dialect() == sqlstore.Postgres && fmt.Sprint(parts) != fmt.Sprint(want) {
			t.Fatalf("partitions %v, want %v", parts, want)
		}
	})
}
