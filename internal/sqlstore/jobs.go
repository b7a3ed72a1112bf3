package sqlstore

import (
	"context"
	"time"

	"github.com/custos-cim/custos/internal/jobs"
)

// The scheduler's schedule and run records (see package jobs). Every change
// is one conditional statement, so that two processes racing for a job's
// lease cannot both win: on PostgreSQL the second UPDATE waits for the
// first and re-checks its WHERE clause against the row the first wrote; on
// SQLite writers are serialised.

var _ jobs.Store = (*DB)(nil)

// RegisterJob implements jobs.Store.
func (db *DB) RegisterJob(ctx context.Context, name string, due, latest time.Time) error {
	return db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO job_schedule (name, next_due) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, db.ts(due)); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `UPDATE job_schedule SET next_due = ? WHERE name = ? AND next_due > ?`, db.ts(latest), name, db.ts(latest))
		return err
	})
}

// ClaimJob implements jobs.Store.
func (db *DB) ClaimJob(ctx context.Context, name, holder string, now, leaseUntil time.Time) (int64, bool, error) {
	var id int64
	var ok bool
	err := db.Write(ctx, func(tx *Tx) error {
		id, ok = 0, false
		res, err := tx.exec(ctx, `UPDATE job_schedule SET lease_holder = ?, lease_until = ? WHERE name = ? AND next_due <= ? AND lease_until < ?`,
			holder, db.ts(leaseUntil), name, db.ts(now), db.ts(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return err
		}
		if err := tx.row(ctx, `INSERT INTO job_runs (job, holder, started_at, outcome) VALUES (?, ?, ?, ?) RETURNING id`,
			name, holder, db.ts(now), string(jobs.Running)).Scan(&id); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return id, ok, err
}

// ExtendJobLease implements jobs.Store.
func (db *DB) ExtendJobLease(ctx context.Context, name, holder string, until time.Time) error {
	return db.Write(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE job_schedule SET lease_until = ? WHERE name = ? AND lease_holder = ?`, db.ts(until), name, holder)
		return err
	})
}

// FinishJob implements jobs.Store.
func (db *DB) FinishJob(ctx context.Context, runID int64, name, holder string, finished, next time.Time, outcome jobs.Outcome, message string) error {
	return db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `UPDATE job_runs SET finished_at = ?, outcome = ?, message = ? WHERE id = ?`,
			db.ts(finished), string(outcome), message, runID); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `UPDATE job_schedule SET next_due = ?, lease_holder = '', lease_until = ? WHERE name = ? AND lease_holder = ?`,
			db.ts(next), db.ts(time.Time{}), name, holder)
		return err
	})
}

// JobRuns implements jobs.Store.
func (db *DB) JobRuns(ctx context.Context, job string, limit int) ([]jobs.Run, error) {
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT id, job, holder, started_at, finished_at, outcome, message FROM job_runs`
	args := []any{}
	if job != "" {
		q += ` WHERE job = ?`
		args = append(args, job)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	rows, err := db.Reader().query(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jobs.Run
	for rows.Next() {
		var r jobs.Run
		var outcome string
		if err := rows.Scan(&r.ID, &r.Job, &r.Holder, scanTime{&r.Started}, scanTime{&r.Finished}, &outcome, &r.Message); err != nil {
			return nil, err
		}
		r.Outcome = jobs.Outcome(outcome)
		out = append(out, r)
	}
	return out, rows.Err()
}

// JobSchedule implements jobs.Store.
func (db *DB) JobSchedule(ctx context.Context) ([]jobs.Schedule, error) {
	rows, err := db.Reader().query(ctx, `SELECT name, next_due, lease_holder, lease_until FROM job_schedule ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jobs.Schedule
	for rows.Next() {
		var s jobs.Schedule
		if err := rows.Scan(&s.Job, scanTime{&s.NextDue}, &s.Holder, scanTime{&s.LeaseUntil}); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// PurgeJobRuns implements jobs.Store.
func (db *DB) PurgeJobRuns(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.Write(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `DELETE FROM job_runs WHERE started_at < ? AND outcome <> ?`, db.ts(before), string(jobs.Running))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// ResetJobLeases frees every lease and marks the runs still "running" as
// interrupted. A restore calls it: the leases and runs it copied belong to
// the servers of the backed-up store, not to any server of the restore.
func (db *DB) ResetJobLeases(ctx context.Context, at time.Time) error {
	return db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `UPDATE job_schedule SET lease_holder = '', lease_until = ?`, db.ts(time.Time{})); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `UPDATE job_runs SET outcome = ?, finished_at = ?, message = ? WHERE outcome = ?`,
			string(jobs.Failed), db.ts(at), "interrupted: still running when the backup was taken", string(jobs.Running))
		return err
	})
}
