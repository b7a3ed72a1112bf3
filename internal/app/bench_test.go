package app_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/idcard"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// Benchmarks for docs/performance.md. Run with
//
//	CUSTOS_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test go test -run '^$' -bench . -benchtime 5000x ./internal/app/
//
// Each reports its throughput as a custom metric (…/s) so that runs compare
// as ratios on a noisy machine.

// processCPU is the CPU time (user and system) this process has used so
// far. Per operation it is a steadier figure than throughput on a shared
// machine, where the scheduler's luck moves throughput by a quarter from one
// run to the next; it leaves out the PostgreSQL server's own work.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRate reports ops per second of wall time under unit, and this
// process's CPU microseconds per operation, since start and cpu0.
func reportRate(b *testing.B, ops int, unit string, start time.Time, cpu0 time.Duration) {
	b.ReportMetric(float64(ops)/time.Since(start).Seconds(), unit)
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(ops), "cpu-us/op")
}

func eachDialect(b *testing.B, fn func(b *testing.B, db *sqlstore.DB)) {
	for _, d := range sqltest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) { fn(b, sqltest.Open(b, d)) })
	}
}

func benchPerson(i int) custos.CustomerInput {
	return custos.CustomerInput{
		Type: custos.TypePerson, Name: fmt.Sprintf("测试客户%d", i), Nationality: "CN", IDType: "cn_resident_id",
		IDNumber: idcard.GenerateResidentID("110105", time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%20000), i/20000%999+1, i%2 == 0),
		IDExpiry: "2035-01-01", Phone: fmt.Sprintf("139%08d", i), Address: "北京市朝阳区建国路88号", Email: fmt.Sprintf("c%d@example.com", i),
	}
}

// BenchmarkCreateCustomer: validate, encrypt under a new data key, insert
// with blind indexes and the audit event in one transaction (R-D1, R-C5).
func BenchmarkCreateCustomer(b *testing.B) {
	eachDialect(b, func(b *testing.B, db *sqlstore.DB) {
		f := apptest.New(b, db)
		actor := f.Actor("am_bj01")
		ctx := context.Background()
		ins := make([]custos.CustomerInput, b.N)
		for i := range ins {
			ins[i] = benchPerson(i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), processCPU()
		for i := 0; i < b.N; i++ {
			if _, err := f.App.CreateCustomer(ctx, actor, ins[i]); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, b.N, "customers/s", start, cpu0)
	})
}

// BenchmarkCreateCustomerParallel: the same from many concurrent clients,
// whose changes the writer commits together.
func BenchmarkCreateCustomerParallel(b *testing.B) {
	eachDialect(b, func(b *testing.B, db *sqlstore.DB) {
		f := apptest.New(b, db)
		actor := f.Actor("am_bj01")
		ctx := context.Background()
		ins := make([]custos.CustomerInput, b.N)
		for i := range ins {
			ins[i] = benchPerson(i)
		}
		var next atomic.Int64
		b.SetParallelism(16)
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), processCPU()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) - 1
				if _, err := f.App.CreateCustomer(ctx, actor, ins[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRate(b, b.N, "customers/s", start, cpu0)
	})
}

// BenchmarkReadCustomer: a read with the permission decision, decryption of
// the profile and the audit event committed (group commit) before the data
// is returned, from 64 and from 256 concurrent requests.
func BenchmarkReadCustomer(b *testing.B) {
	eachDialect(b, func(b *testing.B, db *sqlstore.DB) {
		f := apptest.New(b, db)
		actor := f.Actor("am_bj01")
		ctx := context.Background()
		const n = 2000
		ids := make([]string, n)
		for i := range ids {
			c, err := f.App.CreateCustomer(ctx, actor, benchPerson(i))
			if err != nil {
				b.Fatal(err)
			}
			ids[i] = c.ID
		}
		for _, conc := range []int{64, 256} {
			b.Run(fmt.Sprintf("concurrent=%d", conc), func(b *testing.B) {
				b.SetParallelism(max(1, conc/runtime.GOMAXPROCS(0)))
				b.ReportAllocs()
				b.ResetTimer()
				start, cpu0 := time.Now(), processCPU()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if _, err := f.App.GetCustomer(ctx, actor, ids[i%n]); err != nil {
							b.Error(err)
							return
						}
						i += 7
					}
				})
				reportRate(b, b.N, "reads/s", start, cpu0)
			})
		}
	})
}

// BenchmarkAuditVerify: recompute the hash chain and check checkpoints.
// b.N is the number of events verified.
func BenchmarkAuditVerify(b *testing.B) {
	eachDialect(b, func(b *testing.B, db *sqlstore.DB) {
		f := apptest.New(b, db)
		ctx := context.Background()
		n := max(b.N, 1000)
		batch := make([]custos.AuditEvent, 0, 5000)
		for i := 0; i < n; i++ {
			ev := custos.NewEvent(f.Actor("am_bj01"), "customer.read", custos.OutcomeOK)
			ev.TargetType, ev.TargetRef = "customer", fmt.Sprintf("%064x", i)
			batch = append(batch, ev)
			if len(batch) == cap(batch) || i == n-1 {
				if err := db.AppendAuditBatch(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		b.ResetTimer()
		start := time.Now()
		rep, err := f.App.VerifyAudit(ctx, 2)
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Broken)
		}
		b.ReportMetric(float64(rep.Events)/time.Since(start).Seconds(), "events/s")
		if os.Getenv("CUSTOS_BENCH_VERBOSE") != "" {
			b.Logf("%d events, %d checkpoints", rep.Events, rep.Checkpoints)
		}
	})
}
