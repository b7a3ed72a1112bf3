package app_test

import (
	"context"
	"crypto/rand"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// BenchmarkDestruction measures the purge for docs/performance.md (R-F3,
// R-F4): CUSTOS_BENCH_DESTROY_CUSTOMERS closed customers (default 1,000)
// with CUSTOS_BENCH_DESTROY_TXNS transactions between them (default
// 100,000), all past retention, destroyed as one approved batch beside
// CUSTOS_BENCH_LIVE_CUSTOMERS live customers (default 2,000, whose data
// keys the closing key rotation rewraps). It reports the execution time,
// transactions purged per second, and the latency of reads running
// meanwhile: a store read of a live customer, and a service read, which
// also commits its audit event through the writer; and, as a baseline,
// the slowest of each kind in the two seconds before (idle-max). With
// CUSTOS_BENCH_PURGE_TXNS (default 0) the live customers also have that
// many transactions past retention between them (and one recent each),
// which the same batch purges while the customers stay (R-F1). Run with
//
//	CUSTOS_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	CUSTOS_BENCH_DESTROY_TXNS=1000000 \
//	go test -run '^$' -bench Destruction -benchtime 1x -timeout 1h ./internal/app/
//
// or, for the purge of live customers' transactions alone,
//
//	CUSTOS_BENCH_DESTROY_CUSTOMERS=0 CUSTOS_BENCH_DESTROY_TXNS=0 CUSTOS_BENCH_PURGE_TXNS=1000000 \
//	go test -run '^$' -bench Destruction -benchtime 1x -timeout 1h ./internal/app/
func BenchmarkDestruction(b *testing.B) {
	nDestroy := envInt("CUSTOS_BENCH_DESTROY_CUSTOMERS", 1000)
	nTxn := envInt("CUSTOS_BENCH_DESTROY_TXNS", 100_000)
	nLive := envInt("CUSTOS_BENCH_LIVE_CUSTOMERS", 2000)
	nPurge := envInt("CUSTOS_BENCH_PURGE_TXNS", 0)
	if os.Getenv("CUSTOS_BENCH_DESTROY_CUSTOMERS") == "0" { // the purge of live customers' transactions alone
		nDestroy, nTxn = 0, 0
	}
	for _, d := range sqltest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ctx := context.Background()
				db := sqltest.Open(b, d)
				f := apptest.New(b, db)
				addUser(b, f, "compliance2", custos.RoleCompliance, "HQ")
				now := f.Clock.Now()
				live := make([]*custos.Customer, nLive)
				for j := range live {
					live[j] = f.Create(b, "am_bj01", benchPerson(400_000+j))
				}
				verifyAll(b, f, live, now)
				// The customers to destroy: closed twelve years ago, their
				// transactions from the year before. Their ciphertexts are
				// random bytes: destruction never decrypts them.
				doomed := fillerCustomers(b, f, nDestroy)
				end := now.AddDate(-12, 0, 0)
				for start := 0; start < len(doomed); start += 500 {
					part := doomed[start:min(start+500, len(doomed))]
					if err := db.Write(ctx, func(tx *sqlstore.Tx) error {
						for _, id := range part {
							if err := tx.SetCustomerState(ctx, id, custos.StatusClosed, custos.Verified); err != nil {
								return err
							}
							if err := tx.InsertClosure(ctx, &sqlstore.ClosureRecord{CustomerID: id, RelationshipEnd: end.Format(time.DateOnly),
								ClosedBy: f.Users["compliance"].ID, ClosedAt: end}); err != nil {
								return err
							}
						}
						return nil
					}); err != nil {
						b.Fatal(err)
					}
				}
				nums, err := db.TxnCustomerNums(ctx, doomed)
				if err != nil {
					b.Fatal(err)
				}
				sealed := make([]byte, 110)
				rand.Read(sealed)
				from, span := end.AddDate(-1, 0, 0), 300*24*time.Hour
				recs := make([]sqlstore.TxnRecord, 0, 50_000)
				flush := func() {
					slices.SortFunc(recs, func(x, y sqlstore.TxnRecord) int {
						if x.CNum != y.CNum {
							return int(x.CNum - y.CNum)
						}
						return x.At.Compare(y.At)
					})
					bt := &sqlstore.TxnBatch{Source: "core", RecordedBy: f.Users["am_bj01"].ID, Via: "bench", RecordedAt: now}
					if err := db.InsertTransactions(ctx, bt, recs, nil, false, nil); err != nil {
						b.Fatal(err)
					}
					recs = recs[:0]
				}
				for j := 0; j < nTxn; j++ {
					recs = append(recs, sqlstore.TxnRecord{TxnKey: sqlstore.TxnKey{CNum: nums[doomed[j%len(doomed)]], At: from.Add(span / time.Duration(nTxn) * time.Duration(j)).Truncate(time.Microsecond),
						Source: "core", Reference: "D" + strconv.Itoa(j)}, Amount: 1000000, Currency: "CNY", Direction: "debit", Type: "transfer", Channel: "online",
						AccountIx: int64(j%997 + 1), Sealed: sealed})
					if len(recs) == cap(recs) {
						flush()
					}
				}
				if len(recs) > 0 {
					flush()
				}
				// Transactions of the live customers: nPurge from thirteen
				// years ago, past retention, and one from last year each.
				if nPurge > 0 {
					ids := make([]string, len(live))
					for j, c := range live {
						ids[j] = c.ID
					}
					lnums, err := db.TxnCustomerNums(ctx, ids)
					if err != nil {
						b.Fatal(err)
					}
					old := now.AddDate(-13, 0, 0)
					for j := 0; j < nPurge+len(ids); j++ {
						at, ref := old.Add(span/time.Duration(nPurge)*time.Duration(j)), "P"+strconv.Itoa(j)
						if j >= nPurge {
							at, ref = now.AddDate(-1, 0, 0), "K"+strconv.Itoa(j)
						}
						recs = append(recs, sqlstore.TxnRecord{TxnKey: sqlstore.TxnKey{CNum: lnums[ids[j%len(ids)]], At: at.Truncate(time.Microsecond),
							Source: "core", Reference: ref}, Amount: 1000000, Currency: "CNY", Direction: "debit", Type: "transfer", Channel: "online",
							AccountIx: int64(j%997 + 1), Sealed: sealed})
						if len(recs) == cap(recs) {
							flush()
						}
					}
					if len(recs) > 0 {
						flush()
					}
				}
				bt, req, err := f.App.CreateDestructionBatch(ctx, f.Actor("compliance"), "bench")
				if err != nil {
					b.Fatal(err)
				}
				for _, who := range []string{"gm", "compliance2"} {
					if _, err := f.App.DecideRequest(ctx, f.Actor(who), req.ID, true, "ok"); err != nil {
						b.Fatal(err)
					}
				}

				// The set-up wrote a large WAL: checkpoint it now, as the
				// background checkpointer of a running server (SQLite) or
				// PostgreSQL's own would have long before, and warm the
				// service's caches with one read, so that neither is charged
				// to the destruction. (Without it, PostgreSQL flushes the
				// set-up's gigabytes while the readers run, and a commit can
				// wait 650 ms with nothing else running.)
				if _, _, err := db.Checkpoint(ctx, "TRUNCATE"); err != nil {
					b.Fatal(err)
				}
				if d == sqlstore.Postgres {
					pgExec(b, sqltest.PostgresURL(b), "CHECKPOINT")
				}
				if _, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj"), live[0].ID); err != nil {
					b.Fatal(err)
				}

				// Readers run for two seconds before the execution, for a
				// baseline of the machine's own latency (a service read's
				// audit commit waits for a disk sync), then while the batch
				// is destroyed.
				stop := make(chan struct{})
				var wg sync.WaitGroup
				lat, base := [2][]time.Duration{}, [2][]time.Duration{}
				var slowest [2]struct{ d, at time.Duration } // the slowest read of each kind during the execution, and when it started
				var t00 time.Time
				var started atomic.Bool
				reader := func(k int, read func(c *custos.Customer) error) {
					defer wg.Done()
					for n := 0; ; n++ {
						select {
						case <-stop:
							return
						default:
						}
						t0 := time.Now()
						if err := read(live[n%len(live)]); err != nil {
							b.Error(err)
							return
						}
						d := time.Since(t0)
						if !started.Load() || t0.Before(t00) {
							base[k] = append(base[k], d)
							time.Sleep(5 * time.Millisecond)
							continue
						}
						lat[k] = append(lat[k], d)
						if d > slowest[k].d {
							slowest[k].d, slowest[k].at = d, t0.Sub(t00)
						}
						time.Sleep(5 * time.Millisecond)
					}
				}
				wg.Add(2)
				go reader(0, func(c *custos.Customer) error { _, err := db.Reader().Customer(ctx, c.ID); return err })
				go reader(1, func(c *custos.Customer) error { _, err := f.App.GetCustomer(ctx, f.Actor("mgr_bj"), c.ID); return err })
				time.Sleep(2 * time.Second)
				t00 = time.Now()
				started.Store(true)
				b.StartTimer()
				start := time.Now()
				done, err := f.App.ExecuteDestruction(ctx, f.Actor("compliance"), bt.ID, f.Proof("auditor"))
				el := time.Since(start)
				b.StopTimer()
				close(stop)
				wg.Wait()
				if err != nil {
					b.Fatal(err)
				}
				if done.Counts["customers"] != int64(nDestroy) || done.Counts["transactions"] != int64(nTxn) ||
					done.Counts["transactions_purged"] != int64(nPurge) {
					b.Fatalf("destroyed %+v", done.Counts)
				}
				if nPurge > 0 { // the recent transaction of every live customer is left
					left, err := db.Reader().TxnPurgeCandidates(ctx, now, false)
					if err != nil || len(left) != len(live) {
						b.Fatalf("live customers with transactions after the purge: %d (%v)", len(left), err)
					}
				}
				b.ReportMetric(el.Seconds(), "s/batch")
				b.ReportMetric(float64(nTxn+nPurge)/el.Seconds(), "txns/s")
				for k, name := range []string{"store-read", "service-read"} {
					slices.Sort(lat[k])
					slices.Sort(base[k])
					if len(lat[k]) == 0 {
						continue
					}
					b.ReportMetric(float64(lat[k][len(lat[k])*99/100].Microseconds())/1000, name+"-p99-ms")
					b.ReportMetric(float64(lat[k][len(lat[k])-1].Microseconds())/1000, name+"-max-ms")
					if len(base[k]) > 0 {
						b.ReportMetric(float64(base[k][len(base[k])-1].Microseconds())/1000, name+"-idle-max-ms")
					}
				}
				b.Logf("%s: %d customers with %d transactions destroyed, %d expired transactions of %d live customers purged, in %v; reads during it: %d store, %d service; slowest service read %v, started at %v",
					d, nDestroy, nTxn, nPurge, nLive, el.Round(time.Millisecond), len(lat[0]), len(lat[1]), slowest[1].d.Round(time.Millisecond), slowest[1].at.Round(time.Millisecond))
			}
		})
	}
}
