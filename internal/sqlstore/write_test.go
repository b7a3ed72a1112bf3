package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestWriterBatchesIsolateFailures: many concurrent writes share
// transactions, yet a failing change rolls back alone and every other one
// commits exactly once, on both databases.
func TestWriterBatchesIsolateFailures(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		const n = 300
		var wg sync.WaitGroup
		errs := make([]error, n)
		boom := errors.New("boom")
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs[i] = db.Write(ctx, func(tx *sqlstore.Tx) error {
					if err := tx.SetSetting(ctx, fmt.Sprintf("k%03d", i), "v"); err != nil {
						return err
					}
					if i%7 == 0 {
						return boom // after writing: the write must vanish
					}
					return nil
				})
			}(i)
		}
		wg.Wait()
		for i, err := range errs {
			if (i%7 == 0) != errors.Is(err, boom) {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		for i := 0; i < n; i++ {
			_, ok, err := db.Reader().Setting(ctx, fmt.Sprintf("k%03d", i))
			if err != nil {
				t.Fatal(err)
			}
			if ok == (i%7 == 0) {
				t.Fatalf("setting k%03d present=%v", i, ok)
			}
		}
	})
}

func TestWriterPanicsReachTheCaller(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	defer func() {
		if p := recover(); p != "kaput" {
			t.Fatalf("recovered %v", p)
		}
		// The writer survives a panicking change.
		if err := db.Write(context.Background(), func(tx *sqlstore.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}()
	db.Write(context.Background(), func(tx *sqlstore.Tx) error { panic("kaput") })
}

func TestWriteAfterCloseFails(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	db.Close()
	if err := db.Write(context.Background(), func(tx *sqlstore.Tx) error { return nil }); !errors.Is(err, sqlstore.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}
