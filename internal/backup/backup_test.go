package backup_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
	"github.com/custos-cim/custos/internal/backup"
	"github.com/custos-cim/custos/internal/jobs"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

const passphrase = "correct horse battery staple 2026"

// opts are backup options for a fixture; a low scrypt cost keeps tests fast.
func opts(f *apptest.Fixture) backup.Options {
	return backup.Options{Passphrase: passphrase, WorkFactor: 10, KeysDir: f.Keys.Dir, CheckpointEvery: f.App.Config().CheckpointEvery, Clock: f.Clock}
}

// target returns an empty restore target of the store's dialect.
func target(t testing.TB, db *sqlstore.DB) backup.Target {
	t.Helper()
	if db.Dialect() == sqlstore.Postgres {
		return backup.Target{DBURL: sqltest.NewSchema(t, sqltest.PostgresURL(t)), KeysDir: filepath.Join(t.TempDir(), "keys")}
	}
	return backup.Target{DataDir: filepath.Join(t.TempDir(), "restored")}
}

func openTarget(t testing.TB, tg backup.Target) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{DataDir: tg.DataDir, URL: tg.DBURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// drillDB is the database a PostgreSQL backup's drill uses.
func drillDB(t testing.TB, db *sqlstore.DB) string {
	if db.Dialect() == sqlstore.Postgres {
		return sqltest.PostgresURL(t)
	}
	return ""
}

var personMu sync.Mutex

func person(name string) custos.CustomerInput {
	personMu.Lock()
	defer personMu.Unlock()
	return apptest.Person(name)
}

// TestBackupWhileWriting takes an online backup while goroutines keep
// creating customers through the services, restores it and drills it
// (R-D2): every customer whose creation returned before the backup started
// is in the restore, the restored audit chain verifies, the row counts
// match the manifest, and the restored store serves.
func TestBackupWhileWriting(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := apptest.New(t, db)
		for i := 0; i < 20; i++ {
			f.Create(t, "am_bj01", person("预存客户"))
		}
		// Transactions in two months: on PostgreSQL they live in monthly
		// partitions, which the restore must create before the rows.
		txnIDs := recordTransactions(t, f)

		var (
			mu    sync.Mutex
			acked []string
			stop  atomic.Bool
			wg    sync.WaitGroup
			fails atomic.Int64
		)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					c, err := f.App.CreateCustomer(ctx, f.Actor("am_bj01"), person("并发客户"))
					if err != nil {
						fails.Add(1)
						continue
					}
					mu.Lock()
					acked = append(acked, c.ID)
					mu.Unlock()
				}
			}()
		}
		// Let the writers run, then note what is acknowledged and back up.
		for {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= 40 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		mu.Lock()
		before := append([]string(nil), acked...)
		mu.Unlock()
		out := filepath.Join(t.TempDir(), "custos.tar.gz.age")
		start := time.Now()
		m, err := backup.Create(ctx, db, out, opts(f))
		took := time.Since(start)
		stop.Store(true)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if fails.Load() > 0 {
			t.Fatalf("%d creates failed during the backup", fails.Load())
		}
		mu.Lock()
		during := len(acked) - len(before)
		mu.Unlock()
		t.Logf("%s: backup of %d rows (audit head %d) in %s while %d more customers were created", db.Dialect(), m.Rows(), m.AuditHead, took, during)
		if m.Dialect != db.Dialect() || m.SchemaVersion == 0 || m.AuditHead == 0 || m.KeysIncluded || m.AuditPublicKey == "" {
			t.Fatalf("manifest: %+v", m)
		}
		st, err := os.Stat(out)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("backup file: %v %v", st, err)
		}
		if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*")); len(leftovers) > 0 {
			t.Fatalf("temporary files left: %v", leftovers)
		}

		tg := target(t, db)
		res, err := backup.Restore(ctx, out, tg, backup.RestoreOptions{Passphrase: passphrase})
		if err != nil {
			t.Fatal(err)
		}
		if res.KeysDir != "" {
			t.Fatalf("keys restored from a backup without keys: %s", res.KeysDir)
		}
		for _, c := range res.Tables {
			if c.Manifest != c.Restored {
				t.Errorf("table %s: manifest %d, restored %d", c.Table, c.Manifest, c.Restored)
			}
		}

		// The restored store serves with the original keys: no acknowledged
		// write is lost, the chain verifies, and it takes new writes.
		rdb := openTarget(t, tg)
		if err := rdb.CheckSchema(ctx); err != nil {
			t.Fatal(err)
		}
		ra := app.New(app.DefaultConfig(), rdb, f.Keys, f.Clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
		defer ra.Close()
		for _, id := range before {
			if _, err := rdb.Reader().Customer(ctx, id); err != nil {
				t.Fatalf("customer %s acknowledged before the backup is missing from the restore: %v", id, err)
			}
		}
		n, err := rdb.Reader().CountCustomers(ctx)
		if err != nil || n < int64(20+len(before)) {
			t.Fatalf("restored customers %d (want ≥ %d): %v", n, 20+len(before), err)
		}
		rep, err := ra.VerifyAudit(ctx, 2)
		if err != nil || !rep.OK() || rep.Events != m.AuditHead {
			t.Fatalf("restored audit chain: %+v %v (manifest head %d)", rep, err, m.AuditHead)
		}
		page, err := ra.SearchTransactions(ctx, withPurpose(f.Actor("am_bj01")), custos.TxnFilter{CustomerID: txnIDs[0]})
		if err != nil || len(page.Items) != len(txnIDs)-1 {
			t.Fatalf("restored transactions: %+v %v", page, err)
		}
		// Every restored row still carries a valid integrity tag (R-D3).
		rr, err := ra.VerifyRecords(ctx, func(p app.RecordProblem) error { return errors.New(p.Table + " " + p.Row) })
		if err != nil || rr.Bad != 0 || rr.Customers != n || rr.Transactions == 0 {
			t.Fatalf("restored records: %+v %v", rr, err)
		}
		rf := &apptest.Fixture{App: ra, DB: rdb, Keys: f.Keys, Clock: f.Clock, Orgs: f.Orgs, Users: f.Users}
		rf.Create(t, "am_bj01", person("恢复后客户"))
		if rep, err := ra.VerifyAudit(ctx, 2); err != nil || !rep.OK() {
			t.Fatalf("audit after a write on the restore: %+v %v", rep, err)
		}

		// The drill passes with the keys given separately…
		dr, err := backup.Drill(ctx, out, backup.DrillOptions{Passphrase: passphrase, KeysDir: f.Keys.Dir, DBURL: drillDB(t, db), TempDir: t.TempDir(), Sample: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !dr.OK || dr.KeysFrom != "key directory" || dr.Sample == nil || dr.Sample.Checked != 10 || dr.AuditEvents != m.AuditHead {
			t.Fatalf("drill:\n%s%+v", dr.Summary(), dr)
		}
		// …and fails without them, saying why.
		dr, err = backup.Drill(ctx, out, backup.DrillOptions{Passphrase: passphrase, DBURL: drillDB(t, db), TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if dr.OK || !strings.Contains(dr.Summary(), "[FAIL] keys") || !strings.Contains(dr.Summary(), "[ok  ] audit chain") {
			t.Fatalf("drill without keys:\n%s", dr.Summary())
		}
	})
}

// smallStore is a fixture with a few customers and its backup file.
func smallStore(t *testing.T, db *sqlstore.DB, o func(*backup.Options)) (*apptest.Fixture, string, *backup.Manifest) {
	t.Helper()
	f := apptest.New(t, db)
	for i := 0; i < 5; i++ {
		f.Create(t, "am_bj01", person("客户"))
	}
	bo := opts(f)
	if o != nil {
		o(&bo)
	}
	out := filepath.Join(t.TempDir(), "b.tar.gz.age")
	m, err := backup.Create(context.Background(), db, out, bo)
	if err != nil {
		t.Fatal(err)
	}
	return f, out, m
}

// TestIncludedKeys: with IncludeKeys the archive alone brings the store back
// (disaster recovery): the keys are restored next to the data, with private
// permissions, and the drill decrypts with them (R-D2).
func TestIncludedKeys(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f, out, m := smallStore(t, db, func(o *backup.Options) { o.IncludeKeys = true })
		if !m.KeysIncluded || len(m.Parts) < 5 {
			t.Fatalf("manifest: %+v", m)
		}
		tg := target(t, db)
		res, err := backup.Restore(ctx, out, tg, backup.RestoreOptions{Passphrase: passphrase})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{seal.KEKFile, seal.IndexFile, seal.AuditRefFile, seal.SigningKeyFile} {
			st, err := os.Stat(filepath.Join(res.KeysDir, name))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("restored key %s: %v %v", name, st, err)
			}
			want, _ := os.ReadFile(filepath.Join(f.Keys.Dir, name))
			got, _ := os.ReadFile(filepath.Join(res.KeysDir, name))
			if string(want) != string(got) {
				t.Fatalf("restored key %s differs", name)
			}
		}
		keys, err := seal.OpenKeyring(res.KeysDir, "")
		if err != nil {
			t.Fatal(err)
		}
		ra := app.New(app.DefaultConfig(), openTarget(t, tg), keys, f.Clock, nil)
		defer ra.Close()
		if r, err := ra.CheckReadable(ctx, 10); err != nil || r.Checked != 5 || len(r.Failed) != 0 {
			t.Fatalf("restored customers with restored keys: %+v %v", r, err)
		}
		dr, err := backup.Drill(ctx, out, backup.DrillOptions{Passphrase: passphrase, DBURL: drillDB(t, db), TempDir: t.TempDir()})
		if err != nil || !dr.OK || dr.KeysFrom != "backup" {
			t.Fatalf("drill: %v\n%s", err, dr.Summary())
		}
	})
}

// TestBadBackups: a wrong passphrase, a corrupted or truncated file and a
// non-empty target fail cleanly, leave the target as it was, and fail the
// drill (R-D2).
func TestBadBackups(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		_, out, _ := smallStore(t, db, nil)
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		flipped := filepath.Join(dir, "flipped")
		bad := append([]byte(nil), data...)
		bad[len(bad)/2] ^= 0x40
		os.WriteFile(flipped, bad, 0o600)
		truncated := filepath.Join(dir, "truncated")
		os.WriteFile(truncated, data[:len(data)-100], 0o600)

		for _, tc := range []struct {
			name, file, pass string
			want             error
		}{
			{"wrong passphrase", out, "not the passphrase at all", backup.ErrWrongPassphrase},
			{"flipped byte", flipped, passphrase, backup.ErrCorrupt},
			{"truncated", truncated, passphrase, backup.ErrCorrupt},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tg := target(t, db)
				_, err := backup.Restore(ctx, tc.file, tg, backup.RestoreOptions{Passphrase: tc.pass})
				if !errors.Is(err, tc.want) {
					t.Fatalf("restore: %v, want %v", err, tc.want)
				}
				// Nothing is left behind: the target is still empty.
				if tg.DataDir != "" {
					if _, err := os.Stat(tg.DataDir); !os.IsNotExist(err) {
						t.Fatalf("restore left %s behind", tg.DataDir)
					}
				} else if empty, err := openTarget(t, tg).IsEmpty(ctx); err != nil || !empty {
					t.Fatalf("restore left tables behind: %v", err)
				}
				dr, err := backup.Drill(ctx, tc.file, backup.DrillOptions{Passphrase: tc.pass, DBURL: drillDB(t, db), TempDir: t.TempDir()})
				if err != nil || dr.OK {
					t.Fatalf("drill of a bad backup: %v\n%s", err, dr.Summary())
				}
			})
		}

		t.Run("non-empty target", func(t *testing.T) {
			var tg backup.Target
			if db.Dialect() == sqlstore.Postgres {
				tg = target(t, db)
				tdb := openTarget(t, tg)
				if _, err := tdb.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
			} else {
				tg.DataDir = t.TempDir()
				os.WriteFile(filepath.Join(tg.DataDir, "notes.txt"), []byte("keep me"), 0o600)
			}
			if _, err := backup.Restore(ctx, out, tg, backup.RestoreOptions{Passphrase: passphrase}); !errors.Is(err, backup.ErrNotEmpty) {
				t.Fatalf("restore over a non-empty target: %v", err)
			}
			if tg.DataDir != "" {
				if b, err := os.ReadFile(filepath.Join(tg.DataDir, "notes.txt")); err != nil || string(b) != "keep me" {
					t.Fatal("the target was touched")
				}
			}
		})
	})
}

// TestCreateRefuses: no passphrase, an existing file and an interrupted
// backup leave nothing behind (R-D2, R-C8).
func TestCreateRefuses(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	f := apptest.New(t, db)
	ctx := context.Background()
	dir := t.TempDir()
	o := opts(f)
	o.Passphrase = ""
	if _, err := backup.Create(ctx, db, filepath.Join(dir, "x"), o); !errors.Is(err, backup.ErrPassphrase) {
		t.Fatalf("no passphrase: %v", err)
	}
	o.Passphrase = "short"
	if _, err := backup.Create(ctx, db, filepath.Join(dir, "x"), o); !errors.Is(err, backup.ErrPassphrase) {
		t.Fatalf("short passphrase: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "exists"), []byte("old"), 0o600)
	if _, err := backup.Create(ctx, db, filepath.Join(dir, "exists"), opts(f)); err == nil {
		t.Fatal("a backup overwrote a file")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := backup.Create(cctx, db, filepath.Join(dir, "cancelled"), opts(f)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files left behind: %v", entries)
	}
	if err := backup.CheckPassphrasePlace(filepath.Join(dir, "pass"), dir); err == nil {
		t.Fatal("a passphrase file beside the backups was accepted")
	}
}

// TestScheduledBackups runs the backup job through the scheduler on a fake
// clock, a day at a time: each run makes one backup, records its run, and
// the retention (keep 3, or 5 days) removes the older files (R-D2).
func TestScheduledBackups(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := apptest.New(t, db)
		f.Create(t, "am_bj01", person("客户"))
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a backup"), 0o600)
		// What a backup process that died two days ago left behind.
		stale := filepath.Join(dir, ".custos-backup-123")
		os.Mkdir(stale, 0o700)
		os.WriteFile(filepath.Join(stale, "custos.db"), []byte("snapshot"), 0o600)
		os.Chtimes(stale, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour))
		sched := backup.Schedule{Dir: dir, Keep: 3, KeepFor: 5 * 24 * time.Hour, Options: opts(f)}
		s := jobs.New(db, f.Clock, jobs.Options{Holder: "test"})
		s.Add(sched.Job(db, 24*time.Hour))
		names := func() []string {
			m, _ := filepath.Glob(filepath.Join(dir, "custos-*.tar.gz.age"))
			return m
		}
		for day := 1; day <= 8; day++ {
			res, err := s.RunDue(ctx)
			if err != nil || len(res) != 1 || !res[0].Ran || res[0].Outcome != jobs.OK {
				t.Fatalf("day %d: %+v %v", day, res, err)
			}
			// Not due again the same day.
			if res, _ := s.RunDue(ctx); res[0].Ran {
				t.Fatalf("day %d: ran twice", day)
			}
			want := min(day, 5)
			if got := len(names()); got != want {
				t.Fatalf("day %d: %d backups kept, want %d: %v", day, got, want, names())
			}
			f.Clock.Advance(24 * time.Hour)
		}
		if _, err := os.Stat(filepath.Join(dir, "README.txt")); err != nil {
			t.Fatal("retention removed a file that is not a backup")
		}
		if _, err := os.Stat(stale); !os.IsNotExist(err) {
			t.Fatal("the spool directory of a crashed backup was left")
		}
		runs, err := db.JobRuns(ctx, backup.JobName, 100)
		if err != nil || len(runs) != 8 {
			t.Fatalf("runs: %d %v", len(runs), err)
		}
		if r := runs[0]; r.Outcome != jobs.OK || !strings.Contains(r.Message, "old backups removed") || r.Finished.IsZero() {
			t.Fatalf("last run: %+v", r)
		}
		// The newest backup restores. It was taken while its own job held
		// the lease; the restore frees the lease and closes the run.
		all := names()
		tg := target(t, db)
		if _, err := backup.Restore(ctx, all[len(all)-1], tg, backup.RestoreOptions{Passphrase: passphrase}); err != nil {
			t.Fatal(err)
		}
		rdb := openTarget(t, tg)
		if sched, err := rdb.JobSchedule(ctx); err != nil || len(sched) != 1 || sched[0].Holder != "" {
			t.Fatalf("restored schedule: %+v %v", sched, err)
		}
		if rr, err := rdb.JobRuns(ctx, "", 100); err != nil || len(rr) != 8 || rr[0].Outcome != jobs.Failed || !strings.Contains(rr[0].Message, "interrupted") {
			t.Fatalf("restored runs: %+v %v", rr, err)
		}

		// Keep-only and days-only retention.
		d2 := t.TempDir()
		now := apptest.Start
		for i := 0; i < 6; i++ {
			name := "custos-sqlite-" + now.Add(-time.Duration(i)*24*time.Hour).Format("20060102T150405Z") + ".tar.gz.age"
			os.WriteFile(filepath.Join(d2, name), nil, 0o600)
		}
		if removed, err := backup.Prune(d2, now, 4, 0); err != nil || len(removed) != 2 {
			t.Fatalf("keep 4: %v %v", removed, err)
		}
		if removed, err := backup.Prune(d2, now, 0, 36*time.Hour); err != nil || len(removed) != 2 {
			t.Fatalf("36 hours: %v %v", removed, err)
		}
	})
}

// recordTransactions makes a customer effective and verified and records
// two transactions of it a month apart; it returns the customer's id and
// the transactions' ids.
func recordTransactions(t *testing.T, f *apptest.Fixture) []string {
	t.Helper()
	ctx := context.Background()
	c := f.Create(t, "am_bj01", person("交易客户"))
	err := f.DB.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.SetCustomerState(ctx, c.ID, custos.StatusEffective, custos.Verified); err != nil {
			return err
		}
		v := &sqlstore.VerificationRecord{}
		v.CustomerID, v.InspectorID, v.Method, v.Passed, v.NameMatches, v.At = c.ID, f.Users["inspector_bj"].ID, custos.VerifyPublicSecurity, true, true, f.Clock.Now()
		return tx.InsertVerification(ctx, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{c.ID}
	for i, when := range []time.Time{f.Clock.Now().AddDate(0, -2, 0), f.Clock.Now().AddDate(0, -1, 0)} {
		in := custos.TransactionInput{Reference: fmt.Sprintf("BK-%d", i), Account: "6222020200112233", Time: when.Format(time.RFC3339),
			Amount: "1200.50", Currency: "CNY", Direction: "debit", Type: "transfer", Channel: "online"}
		tr, _, err := f.App.RecordTransaction(ctx, f.Actor("am_bj01"), c.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tr.ID)
	}
	return ids
}

func withPurpose(a custos.Actor) custos.Actor {
	a.Purpose = "service"
	return a
}
