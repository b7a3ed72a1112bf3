package app_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/jobs"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestSchedulerAcrossApps: two App instances (two servers) on one database
// run the housekeeping jobs and an extra job (as serve adds backups) once
// per period between them, on the services' fake clock, and record each
// run (R-D2, R-F4).
func TestSchedulerAcrossApps(t *testing.T) {
	for _, d := range sqltest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			var db, db2 *sqlstore.DB
			if d == sqlstore.Postgres {
				var u string
				db, u = sqltest.OpenPostgresURL(t)
				var err error
				if db2, err = sqlstore.Open(ctx, sqlstore.Config{URL: u}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db2.Close() })
			} else {
				db = sqltest.OpenSQLite(t)
				db2 = sqltest.OpenSQLiteAt(t, filepath.Dir(db.Path()))
			}
			f := apptest.New(t, db)
			a2 := app.New(app.DefaultConfig(), db2, f.Keys, f.Clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
			t.Cleanup(a2.Close)

			var extra atomic.Int64
			job := jobs.Job{Name: "extra", Every: time.Hour, Run: func(ctx context.Context) (string, error) { extra.Add(1); return "done", nil }}
			servers := []*jobs.Scheduler{f.App.Scheduler(job), a2.Scheduler(job)}
			round := func() {
				var wg sync.WaitGroup
				for _, s := range servers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := s.RunDue(ctx); err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			round()
			round()
			f.Clock.Advance(time.Minute)
			round()

			runs, err := db.JobRuns(ctx, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			per := map[string]int{}
			for _, r := range runs {
				if r.Outcome != jobs.OK {
					t.Errorf("run %+v", r)
				}
				per[r.Job]++
			}
			want := map[string]int{"audit.checkpoint": 2, "sessions.purge": 2, "requests.expire": 2, "paper.remind_overdue": 1, "jobs.purge_runs": 1, "extra": 1}
			for job, n := range want {
				if per[job] != n {
					t.Errorf("%s ran %d times, want %d (%v)", job, per[job], n, per)
				}
			}
			if extra.Load() != 1 {
				t.Fatalf("extra ran %d times", extra.Load())
			}
		})
	}
}
