-- The scheduler (internal/jobs): one row per periodic job with when it is
-- next due and who holds its lease, so that several servers sharing one
-- database run each due job once; and a record of every run (R-D2, R-F4).
-- Run messages are summaries and error codes, never personal data.

CREATE TABLE job_schedule (
    name         TEXT PRIMARY KEY,
    next_due     INTEGER NOT NULL,
    lease_holder TEXT NOT NULL DEFAULT '',
    lease_until  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    holder      TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT NOT NULL,
    message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_job ON job_runs(job, started_at);
CREATE INDEX job_runs_started ON job_runs(started_at);
