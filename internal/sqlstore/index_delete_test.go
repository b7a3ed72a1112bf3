package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestDeleteCustomerIndex_RF3: destroying a customer removes its blind
// indexes and identity key, by exact key when the caller can recompute
// them and by customer id when it cannot; other customers' entries stay.
// On SQLite these tables have no cascade (migration 0012), so nothing else
// would remove them.
func TestDeleteCustomerIndex_RF3(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		entries := func(i int) ([]sqlstore.IndexEntry, []byte) {
			return []sqlstore.IndexEntry{
				{Kind: "id_number", Hash: []byte(fmt.Sprintf("id-%d-hash-0123456789abcdef", i))},
				{Kind: "phone", Hash: []byte(fmt.Sprintf("ph-%d-hash-0123456789abcdef", i))},
			}, []byte(fmt.Sprintf("identity-%d-0123456789abcdef", i))
		}
		ids := seedCustomers(t, db, 3, entries)
		// Customer 0 by exact key, customer 1 by id (its entries unknown).
		err := db.Write(ctx, func(tx *sqlstore.Tx) error {
			ix, identity := entries(0)
			if err := tx.DeleteCustomerIndex(ctx, ids[0], ix, identity); err != nil {
				return err
			}
			if err := tx.DeleteCustomerIndex(ctx, ids[1], nil, nil); err != nil {
				return err
			}
			for _, id := range ids[:2] {
				if err := tx.DeleteCustomer(ctx, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Write(ctx, func(tx *sqlstore.Tx) error {
			for i := range ids {
				ix, _ := entries(i)
				for _, e := range ix {
					got, err := tx.CustomersByIndex(ctx, e.Kind, e.Hash)
					if err != nil {
						return err
					}
					if want := i == 2; (len(got) == 1) != want {
						t.Errorf("customer %d, index %s: %v (kept: %v)", i, e.Kind, got, want)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The identity keys of the destroyed customers are free again: a new
		// archive for the same identity may be created; customer 2's is not.
		old, err := db.Reader().Customer(ctx, ids[2])
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			_, identity := entries(i)
			id, _ := uuid.NewV7()
			r := *old
			r.ID, r.ArchiveNo = id.String(), fmt.Sprintf("HQ-P-2026-%08d", 10+i)
			err := db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.InsertCustomer(ctx, &r, nil, identity) })
			if dup := errors.Is(err, sqlstore.ErrDuplicateIdentity); dup != (i == 2) || (err != nil && !dup) {
				t.Errorf("identity of customer %d: %v", i, err)
			}
		}
	})
}
