package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestUpdateCustomerKeys_RD1: a key rotation stores rewrapped data keys in
// multi-row statements (more than one statement's worth here), each only
// if the wrapped key is still the one that was rewrapped: a key changed
// meanwhile is left as it is.
func TestUpdateCustomerKeys_RD1(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		const n = 230
		wrapped := func(i, version int) []byte {
			return []byte(fmt.Sprintf("wrapped-%04d-under-%d-0123456789abcdef", i, version))
		}
		ids := txnCustomers(t, db, n)
		// Their keys as a first rotation left them: version 1.
		first := make([]sqlstore.KeyRewrap, n)
		for i, id := range ids {
			first[i] = sqlstore.KeyRewrap{CustomerID: id, Old: make([]byte, 65), New: wrapped(i, 1)}
		}
		if err := db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.UpdateCustomerKeys(ctx, 1, first) }); err != nil {
			t.Fatal(err)
		}
		// Every key rewrapped, but customer 7's rewrap was made from a
		// stale copy of its wrapped key.
		rw := make([]sqlstore.KeyRewrap, n)
		for i, id := range ids {
			rw[i] = sqlstore.KeyRewrap{CustomerID: id, Old: wrapped(i, 1), New: wrapped(i, 2)}
		}
		rw[7].Old = wrapped(7, 0)
		if err := db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.UpdateCustomerKeys(ctx, 2, rw) }); err != nil {
			t.Fatal(err)
		}
		keys, err := db.Reader().CustomerKeys(ctx, "", 2*n)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != n {
			t.Fatalf("%d keys, want %d", len(keys), n)
		}
		at := map[string]int{}
		for i, id := range ids {
			at[id] = i
		}
		for _, k := range keys {
			i := at[k.CustomerID]
			want, kek := wrapped(i, 2), int64(2)
			if i == 7 {
				want, kek = wrapped(i, 1), 1
			}
			if !bytes.Equal(k.Wrapped, want) || k.KEKID != kek {
				t.Errorf("customer %d: key %q under KEK %d, want %q under %d", i, k.Wrapped, k.KEKID, want, kek)
			}
		}
		left, err := db.Reader().CountKeysNotUnder(ctx, 2)
		if err != nil || left != 1 {
			t.Errorf("keys not under version 2: %d (%v), want 1", left, err)
		}
	})
}
