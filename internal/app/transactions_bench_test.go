package app_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// Transaction benchmarks for docs/performance.md (R-E1, R-E2). Run with
//
//	CUSTOS_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	CUSTOS_BENCH_TXN_ROWS=1000000 CUSTOS_BENCH_TXN_TOTAL=10000000 \
//	go test -run '^$' -bench 'ImportTransactions|TransactionHistory' -benchtime 1x -timeout 2h ./internal/app/
//
// (the history sub-benchmarks take -benchtime 1000x for their percentiles;
// the setup runs once either way). Without the variables the sizes are
// small enough for a quick look: 100,000 rows to import, 1,000,000 rows of
// history.

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// verifyAll makes customers effective and verified at a time, directly in
// the store: the onboarding flow is not what these benchmarks measure.
func verifyAll(b testing.TB, f *apptest.Fixture, cs []*custos.Customer, at time.Time) {
	b.Helper()
	ctx := context.Background()
	inspector := f.Users["inspector_bj"].ID
	for start := 0; start < len(cs); start += 500 {
		part := cs[start:min(start+500, len(cs))]
		err := f.DB.Write(ctx, func(tx *sqlstore.Tx) error {
			for _, c := range part {
				if err := tx.SetCustomerState(ctx, c.ID, custos.StatusEffective, custos.Verified); err != nil {
					return err
				}
				v := &sqlstore.VerificationRecord{}
				v.CustomerID, v.InspectorID, v.Method, v.Passed, v.NameMatches, v.At = c.ID, inspector, custos.VerifyPublicSecurity, true, true, at
				if err := tx.InsertVerification(ctx, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

var (
	txnTypes    = []string{"transfer", "payment", "salary", "deposit", "withdrawal", "fee", "refund"}
	txnChannels = []string{"online", "mobile", "counter", "atm", "pos", "batch"}
	txnBanks    = []string{"中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "招商银行", ""}
	txnSurnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
)

// writeTxnCSV writes n transactions of the customers in time order (a daily
// feed interleaves customers), about 1 % of them large-value after the
// verification, one in ten naming the customer by ID number.
func writeTxnCSV(b testing.TB, path string, cs []*custos.Customer, n int, from, verified, to time.Time) int64 {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(strings.Join(custos.TxnCSVHeader, ",") + "\n")
	rng := mrand.New(mrand.NewPCG(1, 2))
	step := to.Sub(from) / time.Duration(n)
	var line []byte
	for i := 0; i < n; i++ {
		ci := rng.IntN(len(cs))
		c := cs[ci]
		at := from.Add(time.Duration(i) * step)
		cust := c.ArchiveNo
		if i%10 == 0 {
			cust = c.Person.IDDocuments[0].Number
		}
		amount := strconv.Itoa(1+rng.IntN(9999)) + "." + fmt.Sprintf("%02d", rng.IntN(100))
		if at.After(verified) && i%100 == 0 {
			amount = "60000.00"
		}
		cp := rng.IntN(20)
		dir := "debit"
		if i%3 == 0 {
			dir = "credit"
		}
		line = line[:0]
		line = fmt.Appendf(line, "B%010d,%s,6222%015d,%s,%s,CNY,%s,%s,%s,%s%c%c,6217%06d%06d,%s,%s\n",
			i, cust, ci, at.In(custos.TxnZone).Format("2006-01-02 15:04:05"), amount, dir, txnTypes[i%len(txnTypes)], txnChannels[i%len(txnChannels)],
			string(txnSurnames[(ci+cp)%len(txnSurnames)]), '某', '某', ci, cp, txnBanks[cp%len(txnBanks)], "摘要"+strconv.Itoa(i%97))
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	return st.Size()
}

// memPeak samples the Go heap and the process's resident set while an
// operation runs. The resident-set peak (VmHWM) is reset first, so it is
// the peak of the operation, including SQLite's page caches, which live
// outside the Go heap.
type memPeak struct {
	stop     chan struct{}
	done     chan struct{}
	heapPeak uint64
	goPeak   uint64 // all memory the Go runtime holds from the OS, less what it released
	rssSeen  uint64
	goAtRSS  uint64
}

func startMemPeak() *memPeak {
	runtime.GC()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	m := &memPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			m.heapPeak = max(m.heapPeak, s[0].Value.Uint64())
			m.goPeak = max(m.goPeak, s[1].Value.Uint64()-s[2].Value.Uint64())
			if st, err := os.ReadFile("/proc/self/statm"); err == nil {
				f := strings.Fields(string(st))
				if len(f) > 1 {
					pages, _ := strconv.ParseUint(f[1], 10, 64)
					rss := pages * uint64(os.Getpagesize())
					if rss > m.rssSeen {
						m.rssSeen, m.goAtRSS = rss, s[1].Value.Uint64()-s[2].Value.Uint64()
					}
				}
			}
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// end returns the peaks in MiB; rss is 0 where /proc is not available.
func (m *memPeak) end() (heapMB, rssMB float64) {
	close(m.stop)
	<-m.done
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
				rssMB = float64(kb) / 1024
			}
		}
	}
	return float64(m.heapPeak) / (1 << 20), rssMB
}

// BenchmarkImportTransactions imports a CSV of CUSTOS_BENCH_TXN_ROWS
// transactions (default 100,000) of 1,000 customers through
// ImportTransactions, as `custos txn import` does: parse, resolve the
// customer, check permission and the real-name rules, encrypt, blind-index,
// write in batches with their audit events. It reports rows/s and the peak
// Go heap and resident set of the import.
func BenchmarkImportTransactions(b *testing.B) {
	rows := envInt("CUSTOS_BENCH_TXN_ROWS", 100_000)
	for _, d := range sqltest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db := sqltest.Open(b, d)
				f := apptest.New(b, db)
				now := f.Clock.Now()
				cs := make([]*custos.Customer, 1000)
				for j := range cs {
					cs[j] = f.Create(b, "am_bj01", benchPerson(200_000+j))
				}
				verified := now.Add(-48 * time.Hour)
				verifyAll(b, f, cs, verified)
				path := filepath.Join(b.TempDir(), "txns.csv")
				size := writeTxnCSV(b, path, cs, rows, time.Date(2026, 1, 1, 0, 0, 0, 0, custos.TxnZone), verified, now.Add(-time.Minute))
				in, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				mem := startMemPeak()
				b.StartTimer()
				start := time.Now()
				rep, err := f.App.ImportTransactions(context.Background(), f.Actor("am_bj01"), in, app.TxnImportOptions{Source: "core", Format: "csv", BatchSize: envInt("CUSTOS_BENCH_TXN_BATCH", 0)})
				el := time.Since(start)
				b.StopTimer()
				heapMB, rssMB := mem.end()
				if st, err := os.ReadFile("/proc/self/status"); err == nil {
					for _, l := range strings.Split(string(st), "\n") {
						if strings.HasPrefix(l, "Rss") || strings.HasPrefix(l, "VmRSS") {
							b.Log(l)
						}
					}
				}
				in.Close()
				if err != nil {
					b.Fatal(err)
				}
				if rep.Imported != rows || rep.Failed != 0 {
					b.Fatalf("report %+v (first errors %+v)", rep, rep.Errors[:min(3, len(rep.Errors))])
				}
				b.ReportMetric(float64(rows)/el.Seconds(), "rows/s")
				b.ReportMetric(heapMB, "peak-heap-MB")
				b.ReportMetric(rssMB, "peak-rss-MB")
				b.ReportMetric(float64(mem.goPeak)/(1<<20), "peak-go-MB")
				b.Logf("sampled RSS peak %d MB with Go at %d MB", mem.rssSeen>>20, mem.goAtRSS>>20)
				b.Logf("%s: %d rows (%.0f MB of CSV) in %v = %.0f rows/s; peak heap %.0f MB, peak RSS %.0f MB", d, rows, float64(size)/(1<<20), el.Round(time.Millisecond),
					float64(rows)/el.Seconds(), heapMB, rssMB)
			}
		})
	}
}

// BenchmarkTransactionHistory reads one customer's five-year history (2,000
// records) in a store of CUSTOS_BENCH_TXN_TOTAL transactions (default
// 1,000,000) of 10,000 customers, generated through the store's bulk path
// (the customer's own records sealed exactly as the service seals them,
// interleaved in time with everyone else's). Sub-benchmarks:
//
//   - store: the 2,000 rows in one query (FindTransactions), no decryption;
//   - page200: the service's first page of 200 with totals, withheld count,
//     decryption, masking, and the audit event committed before returning;
//   - all2000: the service, the whole history as two pages of 1,000.
//
// Each reports p50 and p99 latency in milliseconds.
func BenchmarkTransactionHistory(b *testing.B) {
	total := envInt("CUSTOS_BENCH_TXN_TOTAL", 1_000_000)
	const history = 2000
	for _, d := range sqltest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			var db *sqlstore.DB
			var pgURL string
			if d == sqlstore.Postgres {
				db, pgURL = sqltest.OpenPostgresURL(b)
			} else {
				db = sqltest.Open(b, d)
			}
			f := apptest.New(b, db)
			now := f.Clock.Now()
			target := f.Create(b, "am_bj01", benchPerson(300_000))
			verifyAll(b, f, []*custos.Customer{target}, now.AddDate(-6, 0, 0))
			others := fillerCustomers(b, f, 9999)
			ids := append([]string{target.ID}, others...)
			nums, err := db.TxnCustomerNums(ctx, ids)
			if err != nil {
				b.Fatal(err)
			}
			trec, err := db.Reader().Customer(ctx, target.ID)
			if err != nil {
				b.Fatal(err)
			}
			from := now.AddDate(-5, 0, 0)
			span := now.Add(-time.Hour).Sub(from)
			start := time.Now()
			rng := mrand.New(mrand.NewPCG(3, 4))
			sealed := make([]byte, 110)
			rand.Read(sealed)
			const batch = 50_000
			everyTarget := total / history
			recs := make([]sqlstore.TxnRecord, 0, batch)
			written := 0
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
				written += bt.Inserted
				recs = recs[:0]
			}
			for i := 0; i < total; i++ {
				at := from.Add(time.Duration(float64(span) * float64(i) / float64(total))).Truncate(time.Microsecond)
				ref := "H" + strconv.Itoa(i)
				if i%everyTarget == 0 && i/everyTarget < history {
					t := &custos.Transaction{Source: "core", Reference: ref, Account: "6222020200112233445", Time: at, Amount: custos.Amount(1 + rng.Int64N(99_999_999)),
						Currency: "CNY", Direction: custos.Debit, Type: "payment", Channel: "mobile", Counterparty: custos.Counterparty{Name: "商户" + strconv.Itoa(i%50), Account: "62170000" + strconv.Itoa(1000+i%50)},
						Remarks: "消费"}
					r, err := f.App.SealTxnForTest(trec, t)
					if err != nil {
						b.Fatal(err)
					}
					r.CNum = nums[target.ID]
					recs = append(recs, r)
				} else {
					c := nums[others[rng.IntN(len(others))]]
					recs = append(recs, sqlstore.TxnRecord{TxnKey: sqlstore.TxnKey{CNum: c, At: at, Source: "core", Reference: ref},
						Amount: 1 + rng.Int64N(99_999_999), Currency: "CNY", Direction: "debit", Type: txnTypes[i%len(txnTypes)], Channel: txnChannels[i%len(txnChannels)],
						AccountIx: c, CPAccountIx: rng.Int64(), CPNameIx: rng.Int64(), Sealed: sealed})
				}
				if len(recs) == batch {
					flush()
				}
			}
			flush()
			gen := time.Since(start)
			b.Logf("%s: generated %d transactions in %v (%.0f rows/s)", d, written, gen.Round(time.Second), float64(written)/gen.Seconds())
			if written != total {
				b.Fatalf("wrote %d of %d", written, total)
			}
			if pgURL != "" {
				// Years of records have long been vacuumed by autovacuum on
				// a running server (an append-only table is vacuumed after
				// every 20 % of new rows): the visibility map lets the
				// totals read the covering key alone (migration 0013).
				pgExec(b, pgURL, "VACUUM (ANALYZE) transactions")
				// And the gigabytes the build dirtied have long been written
				// out: without this the checkpointer flushes them during the
				// timed reads and the p99 measures the disk (25 ms against
				// 11 ms in one pair of runs).
				pgExec(b, pgURL, "CHECKPOINT")
			}
			cnum := nums[target.ID]
			actor := f.Actor("am_bj01")
			grant(b, f, target.ID) // the account manager reads large-value records too: all 2,000 come back
			timed(b, "store", func() int {
				rows, err := db.Reader().FindTransactions(ctx, &sqlstore.TxnQuery{CNum: cnum, From: from, To: now, Limit: history + 1, Large: map[string]int64{"*": 1}})
				if err != nil {
					b.Fatal(err)
				}
				return len(rows)
			}, history)
			timed(b, "page200", func() int {
				p, err := f.App.SearchTransactions(ctx, actor, custos.TxnFilter{CustomerID: target.ID, From: from, To: now, Limit: 200})
				if err != nil {
					b.Fatal(err)
				}
				return len(p.Items)
			}, 200)
			timed(b, "all2000", func() int {
				p, err := f.App.SearchTransactions(ctx, actor, custos.TxnFilter{CustomerID: target.ID, From: from, To: now, Limit: 1000})
				if err != nil {
					b.Fatal(err)
				}
				n := len(p.Items)
				p, err = f.App.SearchTransactions(ctx, actor, custos.TxnFilter{CustomerID: target.ID, From: from, To: now, Limit: 1000, Cursor: p.NextCursor})
				if err != nil {
					b.Fatal(err)
				}
				return n + len(p.Items)
			}, history)
		})
	}
}

func grant(b testing.TB, f *apptest.Fixture, customerID string) {
	b.Helper()
	if _, err := f.App.CreateGrant(context.Background(), f.Actor("gm"), app.GrantInput{Username: "am_bj01", CustomerID: customerID,
		Actions: []custos.Action{custos.ActTxnProtected}, Purpose: "service", Reason: "benchmark", Duration: "72h"}); err != nil {
		b.Fatal(err)
	}
}

// timed runs fn b.N times as a sub-benchmark and reports its latency percentiles.
func timed(b *testing.B, name string, fn func() int, want int) {
	b.Run(name, func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if n := fn(); n != want {
				b.Fatalf("%s returned %d rows, want %d", name, n, want)
			}
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		slices.Sort(lat)
		pct := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
	})
}

// fillerCustomers inserts n customers straight into the store (their
// encrypted profiles are random bytes: nothing reads them) and returns
// their ids.
func fillerCustomers(b testing.TB, f *apptest.Fixture, n int) []string {
	b.Helper()
	ctx := context.Background()
	ids := make([]string, 0, n)
	var mu sync.Mutex
	for start := 0; start < n; start += 1000 {
		err := f.DB.Write(ctx, func(tx *sqlstore.Tx) error {
			mu.Lock()
			defer mu.Unlock()
			ids = ids[:start]
			for i := start; i < min(start+1000, n); i++ {
				id, _ := uuid.NewV7()
				in := apptest.Person("填充客户")
				in.Org, in.Owner = "BJ01", "am2_bj01"
				r, index, identity, err := f.App.SealCustomerForTest(ctx, id.String(), in)
				if err != nil {
					return err
				}
				now := tx.Now()
				r.ArchiveNo, r.OrgID, r.OwnerID = fmt.Sprintf("FILL-%08d", i), f.Orgs["BJ01"].ID, f.Users["am2_bj01"].ID
				r.Status, r.Verification, r.CreatedAt, r.UpdatedAt, r.Version = custos.StatusEffective, custos.Verified, now, now, 1
				if err := tx.InsertCustomer(ctx, r, index, identity); err != nil {
					return err
				}
				ids = append(ids, r.ID)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}
