package backup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/backup"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// Benchmarks for docs/backup.md: a backup, a restore and a drill of a store
// of CUSTOS_BENCH_CUSTOMERS customers (default 20000). Run with
//
//	CUSTOS_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test go test -run '^$' -bench . -benchtime 3x ./internal/backup/
//
// The scrypt cost is age's default (18), as in production.

func benchStore(b *testing.B, d sqlstore.Dialect) (*apptest.Fixture, int) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("CUSTOS_BENCH_CUSTOMERS")); err == nil && v > 0 {
		n = v
	}
	db := sqltest.Open(b, d)
	f := apptest.New(b, db)
	actor := f.Actor("am_bj01")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				in := custos.CustomerInput{
					Type: custos.TypePerson, Name: fmt.Sprintf("测试客户%d", i), Nationality: "CN", IDType: "cn_resident_id",
					IDNumber: idcard.GenerateResidentID("110105", time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%20000), i/20000%999+1, i%2 == 0),
					IDExpiry: "2035-01-01", Phone: fmt.Sprintf("139%08d", i), Address: "北京市朝阳区建国路88号",
				}
				if _, err := f.App.CreateCustomer(context.Background(), actor, in); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return f, n
}

func BenchmarkBackup(b *testing.B) {
	for _, d := range sqltest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			f, n := benchStore(b, d)
			ctx := context.Background()
			o := backup.Options{Passphrase: passphrase, KeysDir: f.Keys.Dir}
			dir := b.TempDir()
			var file string
			var size int64
			b.Run("create", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					file = filepath.Join(dir, fmt.Sprintf("b%d-%d", i, time.Now().UnixNano()))
					if _, err := backup.Create(ctx, f.DB, file, o); err != nil {
						b.Fatal(err)
					}
				}
				st, _ := os.Stat(file)
				size = st.Size()
				b.ReportMetric(float64(size)/(1<<20), "MiB")
				b.ReportMetric(float64(n), "customers")
			})
			b.Run("restore", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := backup.Restore(ctx, file, target(b, f.DB), backup.RestoreOptions{Passphrase: passphrase}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("drill", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					rep, err := backup.Drill(ctx, file, backup.DrillOptions{Passphrase: passphrase, KeysDir: f.Keys.Dir, DBURL: drillDB(b, f.DB), TempDir: b.TempDir()})
					if err != nil || !rep.OK {
						b.Fatalf("%v\n%s", err, rep.Summary())
					}
				}
			})
		})
	}
}
