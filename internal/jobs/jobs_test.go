package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/jobs"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// twoStores opens two stores on one database, as two servers would.
func twoStores(t *testing.T, d sqlstore.Dialect) (*sqlstore.DB, *sqlstore.DB) {
	t.Helper()
	if d == sqlstore.Postgres {
		a, u := sqltest.OpenPostgresURL(t)
		b, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return a, b
	}
	a := sqltest.OpenSQLite(t)
	return a, sqltest.OpenSQLiteAt(t, filepath.Dir(a.Path()))
}

func eachDialect(t *testing.T, fn func(t *testing.T, d sqlstore.Dialect)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqlstore.SQLite) })
	t.Run("postgres", func(t *testing.T) {
		if sqltest.PostgresURL(t) == "" {
			t.Skipf("%s not set", sqltest.EnvPostgres)
		}
		fn(t, sqlstore.Postgres)
	})
}

// TestOncePerPeriodAcrossServers: two schedulers on one database, sharing a
// fake clock, race for the same jobs again and again; each due job runs
// exactly once per period, and not again until the clock reaches its next
// due time.
func TestOncePerPeriodAcrossServers(t *testing.T) {
	eachDialect(t, func(t *testing.T, d sqlstore.Dialect) {
		ctx := context.Background()
		dbA, dbB := twoStores(t, d)
		clock := custos.NewFakeClock(t0)
		var minutely, daily atomic.Int64
		mk := func(db *sqlstore.DB, holder string) *jobs.Scheduler {
			s := jobs.New(db, clock, jobs.Options{Holder: holder})
			s.Add(
				jobs.Job{Name: "minutely", Every: time.Minute, Run: func(ctx context.Context) (string, error) {
					minutely.Add(1)
					time.Sleep(5 * time.Millisecond) // long enough for the other server to try
					return "tick", nil
				}},
				jobs.Job{Name: "daily", Every: 24 * time.Hour, Run: func(ctx context.Context) (string, error) { daily.Add(1); return "", nil }},
			)
			return s
		}
		servers := []*jobs.Scheduler{mk(dbA, "server-a"), mk(dbB, "server-b")}
		race := func() {
			var wg sync.WaitGroup
			for i := 0; i < 3; i++ {
				for _, s := range servers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := s.RunDue(ctx); err != nil {
							t.Error(err)
						}
					}()
				}
			}
			wg.Wait()
		}
		race()
		if minutely.Load() != 1 || daily.Load() != 1 {
			t.Fatalf("first round: minutely %d, daily %d runs; want 1 and 1", minutely.Load(), daily.Load())
		}
		race()
		if minutely.Load() != 1 {
			t.Fatalf("ran again before it was due: %d", minutely.Load())
		}
		clock.Advance(59 * time.Second)
		race()
		if minutely.Load() != 1 {
			t.Fatalf("ran 59 s after: %d", minutely.Load())
		}
		for i := 0; i < 5; i++ {
			clock.Advance(time.Minute)
			race()
		}
		if minutely.Load() != 6 || daily.Load() != 1 {
			t.Fatalf("after five minutes: minutely %d, daily %d; want 6 and 1", minutely.Load(), daily.Load())
		}
		clock.Advance(24 * time.Hour)
		race()
		if minutely.Load() != 7 || daily.Load() != 2 {
			t.Fatalf("a day later: minutely %d, daily %d; want 7 and 2", minutely.Load(), daily.Load())
		}

		runs, err := dbB.JobRuns(ctx, "", 100)
		if err != nil || len(runs) != 9 {
			t.Fatalf("%d runs recorded, want 9: %v", len(runs), err)
		}
		holders := map[string]bool{}
		for _, r := range runs {
			holders[r.Holder] = true
			if r.Outcome != jobs.OK || r.Finished.Before(r.Started) || r.Started.Before(t0) {
				t.Fatalf("run record %+v", r)
			}
		}
		t.Logf("%s: runs were taken by %v", d, holders)
		sched, err := dbA.JobSchedule(ctx)
		if err != nil || len(sched) != 2 || sched[1].Job != "minutely" || !sched[1].NextDue.Equal(clock.Now().Add(time.Minute)) || sched[1].Holder != "" {
			t.Fatalf("schedule %+v %v", sched, err)
		}
	})
}

// TestLeaseExpiry: a job whose server died mid-run stays with it until its
// lease expires; then another server takes it over. A lease being renewed
// is never taken over.
func TestLeaseExpiry(t *testing.T) {
	eachDialect(t, func(t *testing.T, d sqlstore.Dialect) {
		ctx := context.Background()
		dbA, dbB := twoStores(t, d)
		clock := custos.NewFakeClock(t0)
		// Server A claims the job and "dies": no finish, no renewal.
		if err := dbA.RegisterJob(ctx, "j", t0, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := dbA.ClaimJob(ctx, "j", "dead-server", t0, t0.Add(10*time.Minute)); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		var ran atomic.Int64
		s := jobs.New(dbB, clock, jobs.Options{Holder: "server-b"})
		s.Add(jobs.Job{Name: "j", Every: time.Hour, Lease: 10 * time.Minute, Run: func(ctx context.Context) (string, error) { ran.Add(1); return "", nil }})
		clock.Advance(9 * time.Minute)
		if res, _ := s.RunDue(ctx); res[0].Ran {
			t.Fatal("took over a live lease")
		}
		clock.Advance(2 * time.Minute)
		if res, _ := s.RunDue(ctx); !res[0].Ran || ran.Load() != 1 {
			t.Fatal("did not take over an expired lease")
		}
		runs, _ := dbA.JobRuns(ctx, "j", 10)
		if len(runs) != 2 || runs[1].Outcome != jobs.Running || runs[1].Holder != "dead-server" || runs[0].Holder != "server-b" {
			t.Fatalf("runs: %+v", runs)
		}
	})
}

// TestRunRecords: failures and panics are recorded as failed runs whose
// messages carry no personal data, retried after RetryAfter at the latest;
// old records are purged.
func TestRunRecords(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	ctx := context.Background()
	clock := custos.NewFakeClock(t0)
	s := jobs.New(db, clock, jobs.Options{Holder: "h"})
	fail := true
	s.Add(
		jobs.Job{Name: "leaky", Every: 24 * time.Hour, Run: func(ctx context.Context) (string, error) {
			if fail {
				return "", fmt.Errorf("customer 张三 id 11010519491231002X phone 13800138000: %w", errors.New("boom"))
			}
			return "fine", nil
		}},
		jobs.Job{Name: "coded", Every: time.Hour, Run: func(ctx context.Context) (string, error) {
			return "", custos.Errorf(custos.EConflict, "冲突", "conflict with %s", "request 7")
		}},
		jobs.Job{Name: "panics", Every: time.Hour, Run: func(ctx context.Context) (string, error) { panic("oops") }},
	)
	if _, err := s.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	runs, err := db.JobRuns(ctx, "", 10)
	if err != nil || len(runs) != 3 {
		t.Fatalf("%+v %v", runs, err)
	}
	msgs := map[string]jobs.Run{}
	for _, r := range runs {
		msgs[r.Job] = r
	}
	leaky := msgs["leaky"]
	if leaky.Outcome != jobs.Failed || strings.Contains(leaky.Message, "张三") || strings.Contains(leaky.Message, "11010519491231002X") ||
		strings.Contains(leaky.Message, "13800138000") || !strings.Contains(leaky.Message, "boom") {
		t.Fatalf("leaky message: %q", leaky.Message)
	}
	if m := msgs["coded"].Message; m != "conflict: conflict with request 7" {
		t.Fatalf("coded message: %q", m)
	}
	if r := msgs["panics"]; r.Outcome != jobs.Failed || !strings.Contains(r.Message, "panic: oops") {
		t.Fatalf("panic: %+v", r)
	}
	// A failed daily job is retried after RetryAfter, not a day later.
	fail = false
	clock.Advance(jobs.RetryAfter)
	res, _ := s.RunDue(ctx)
	for _, r := range res {
		if r.Job == "leaky" && (!r.Ran || r.Outcome != jobs.OK || r.Message != "fine") {
			t.Fatalf("retry: %+v", r)
		}
	}
	clock.Advance(100 * 24 * time.Hour)
	if n, err := db.PurgeJobRuns(ctx, clock.Now().Add(-90*24*time.Hour)); err != nil || n != 6 {
		t.Fatalf("purged %d: %v", n, err)
	}
}

// TestRunLoop: Run starts due jobs on its ticks and, when its context ends,
// waits for the run in progress to record its outcome.
func TestRunLoop(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	clock := custos.NewFakeClock(t0)
	s := jobs.New(db, clock, jobs.Options{Holder: "h", Tick: 10 * time.Millisecond})
	started := make(chan struct{})
	s.Add(jobs.Job{Name: "slow", Every: time.Hour, Run: func(ctx context.Context) (string, error) {
		close(started)
		<-ctx.Done()
		return "", ctx.Err()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-started
	cancel()
	<-done
	runs, err := db.JobRuns(context.Background(), "slow", 1)
	if err != nil || len(runs) != 1 || runs[0].Outcome != jobs.Failed || !strings.Contains(runs[0].Message, "interrupted") {
		t.Fatalf("%+v %v", runs, err)
	}
}
