package app_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// BenchmarkExportCustomers: a manager exports the customer list of the
// unit, CUSTOS_BENCH_EXPORT_CUSTOMERS customers (default 5,000), read,
// decided, decrypted, zipped and encrypted (R-C8). Reported as customers
// per second of export.
func BenchmarkExportCustomers(b *testing.B) {
	n := 5000
	if s := os.Getenv("CUSTOS_BENCH_EXPORT_CUSTOMERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	eachDialect(b, func(b *testing.B, db *sqlstore.DB) {
		f := apptest.NewWithConfig(b, db, exportConfig())
		ctx := context.Background()
		next := make(chan int)
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if _, err := f.App.CreateCustomer(ctx, f.Actor("am_bj01"), benchPerson(i)); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		for i := 0; i < n; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		mgr := f.Actor("mgr_bj")
		b.ResetTimer()
		start, cpu0 := time.Now(), processCPU()
		for i := 0; i < b.N; i++ {
			res, err := f.App.CreateExport(ctx, mgr, custos.ExportSpec{Kind: custos.ExportCustomers, Reason: "benchmark"})
			if err != nil {
				b.Fatal(err)
			}
			if res.Export.Rows["customers.csv"] != n {
				b.Fatalf("%v rows, want %d", res.Export.Rows, n)
			}
		}
		reportRate(b, b.N*n, "customers/s", start, cpu0)
	})
}
