// Package jobs is the one place where Custos runs periodic work: audit
// checkpoints, session purges, request expiry, overdue reminders, backups
// (R-D2), and later retention scans (R-F4) and ID-expiry checks. A job is a
// name, a period and a function; adding one is one line in the list that
// builds the scheduler.
//
// Several `custos serve` processes may share one PostgreSQL database (or,
// on one host, one SQLite file). Each due job still runs once: its row in
// job_schedule says when it is next due, and a process runs it only after
// taking the row's lease with one conditional UPDATE (due, and no lease
// that has not expired). The lease is renewed while the job runs and given
// back with the next due time when it ends; the lease of a process that
// died simply expires and another process takes the job over. A lease row
// rather than pg_try_advisory_lock, because it works the same on SQLite,
// survives connection pooling, and leaves the next due time in the database,
// where every process sees it.
//
// Every run is recorded (job, holder, start, end, outcome and a message) in
// job_runs. Messages are summaries the jobs write themselves ("3 sessions
// purged") or error codes; error texts are kept short and have digit runs
// and Chinese text masked, so that no identity number, phone number or name
// that an error might quote lands in the table.
//
// Jobs read time from the injectable custos.Clock, so tests move a fake
// clock and call RunDue instead of waiting.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/custos-cim/custos"
)

// Job is a periodic job.
type Job struct {
	// Name identifies the job across processes and in job_runs, e.g.
	// "sessions.purge". It must be unique.
	Name string
	// Every is the period: the job is next due this long after a run
	// started (after a failure, after at most RetryAfter).
	Every time.Duration
	// Lease bounds how long a run may go without renewing its lease before
	// another process may take the job over (default DefaultLease). The
	// scheduler renews it while the job runs.
	Lease time.Duration
	// Run does the work and returns a one-line summary without personal data.
	Run func(ctx context.Context) (string, error)
}

// Outcome is how a run ended.
type Outcome string

// Run outcomes. A run still "running" whose lease has expired was cut short
// by the death of its process.
const (
	Running Outcome = "running"
	OK      Outcome = "ok"
	Failed  Outcome = "failed"
)

// Run is the record of one run of a job.
type Run struct {
	ID       int64     `json:"id"`
	Job      string    `json:"job"`
	Holder   string    `json:"holder"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Outcome  Outcome   `json:"outcome"`
	Message  string    `json:"message"`
}

// Duration is how long the run took (0 while it runs).
func (r Run) Duration() time.Duration {
	if r.Finished.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Started)
}

// Schedule is a job's row in the schedule.
type Schedule struct {
	Job        string    `json:"job"`
	NextDue    time.Time `json:"next_due"`
	Holder     string    `json:"holder,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

// Store keeps the schedule and the run records; *sqlstore.DB implements it.
type Store interface {
	// RegisterJob adds a job first due at due; for a known job it only
	// brings the next due time forward to latest if it is later (a period
	// that was shortened takes effect at once).
	RegisterJob(ctx context.Context, name string, due, latest time.Time) error
	// ClaimJob takes the job's lease until leaseUntil if the job is due at
	// now and nobody holds a live lease, and records the start of a run.
	ClaimJob(ctx context.Context, name, holder string, now, leaseUntil time.Time) (runID int64, ok bool, err error)
	// ExtendJobLease renews the lease the holder has.
	ExtendJobLease(ctx context.Context, name, holder string, until time.Time) error
	// FinishJob records the end of a run, gives the lease back and sets the
	// next due time (only if the holder still has the lease).
	FinishJob(ctx context.Context, runID int64, name, holder string, finished, next time.Time, outcome Outcome, message string) error
	// JobRuns lists the latest runs, of one job or ("") of all, newest first.
	JobRuns(ctx context.Context, job string, limit int) ([]Run, error)
	// JobSchedule lists the schedule rows.
	JobSchedule(ctx context.Context) ([]Schedule, error)
	// PurgeJobRuns deletes finished run records that started before before.
	PurgeJobRuns(ctx context.Context, before time.Time) (int64, error)
}

// Defaults.
const (
	DefaultTick  = 15 * time.Second
	DefaultLease = 10 * time.Minute
	RetryAfter   = 15 * time.Minute
)

// Options tune a Scheduler.
type Options struct {
	Tick   time.Duration // how often Run looks for due jobs (real time); default DefaultTick
	Holder string        // this process's name in leases and records; default host:pid:random
	Log    *slog.Logger
}

// Scheduler runs due jobs.
type Scheduler struct {
	store  Store
	clock  custos.Clock
	tick   time.Duration
	holder string
	log    *slog.Logger

	mu         sync.Mutex
	jobs       []Job
	running    map[string]bool
	registered bool
}

// New makes a scheduler without jobs; Add them.
func New(store Store, clock custos.Clock, o Options) *Scheduler {
	if clock == nil {
		clock = custos.SystemClock{}
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		o.Holder = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Scheduler{store: store, clock: clock, tick: o.Tick, holder: o.Holder, log: o.Log, running: map[string]bool{}}
}

// Add adds jobs. A job without a name, a period or a function, or with a
// name already added, is a programming error and panics.
func (s *Scheduler) Add(jobs ...Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range jobs {
		if j.Name == "" || j.Every <= 0 || j.Run == nil {
			panic(fmt.Sprintf("jobs: job %q needs a name, a period and a function", j.Name))
		}
		for _, k := range s.jobs {
			if k.Name == j.Name {
				panic("jobs: job " + j.Name + " added twice")
			}
		}
		s.jobs = append(s.jobs, j)
		s.registered = false
	}
}

// Jobs lists the jobs, by name.
func (s *Scheduler) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Job(nil), s.jobs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Holder is this scheduler's name in leases and run records.
func (s *Scheduler) Holder() string { return s.holder }

func (s *Scheduler) register(ctx context.Context) error {
	s.mu.Lock()
	if s.registered {
		s.mu.Unlock()
		return nil
	}
	jobs := append([]Job(nil), s.jobs...)
	s.mu.Unlock()
	now := s.clock.Now()
	for _, j := range jobs {
		if err := s.store.RegisterJob(ctx, j.Name, now, now.Add(j.Every)); err != nil {
			return fmt.Errorf("register job %s: %w", j.Name, err)
		}
	}
	s.mu.Lock()
	s.registered = len(s.jobs) == len(jobs)
	s.mu.Unlock()
	return nil
}

// Run runs due jobs until ctx ends, looking every tick; each job runs in
// its own goroutine so that a long backup does not hold up the minute
// jobs. When ctx ends it waits for the runs in progress (which see ctx
// cancelled) to record their outcome.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		if err := s.register(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Error("scheduler", "err", err)
			}
		} else {
			for _, j := range s.due(ctx) {
				if !s.start(j.Name) {
					continue
				}
				wg.Add(1)
				go func(j Job) {
					defer wg.Done()
					defer s.stop(j.Name)
					s.try(ctx, j)
				}(j)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// start marks a job as running in this process; false if it already is.
func (s *Scheduler) start(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[name] {
		return false
	}
	s.running[name] = true
	return true
}

func (s *Scheduler) stop(name string) {
	s.mu.Lock()
	delete(s.running, name)
	s.mu.Unlock()
}

// Result is what RunDue did with one job.
type Result struct {
	Job     string
	Ran     bool // false: not due, or another process has it
	Outcome Outcome
	Message string
}

// RunDue runs, now and concurrently, every job that is due and not held by
// anyone, waits for them and reports what ran. Run calls the same logic on
// every tick; tests and `custos jobs run` call it directly.
func (s *Scheduler) RunDue(ctx context.Context) ([]Result, error) {
	if err := s.register(ctx); err != nil {
		return nil, err
	}
	jobs := s.Jobs()
	due := map[string]bool{}
	for _, j := range s.due(ctx) {
		due[j.Name] = true
	}
	res := make([]Result, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		res[i].Job = j.Name
		if !due[j.Name] || !s.start(j.Name) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.stop(j.Name)
			res[i] = s.try(ctx, j)
		}()
	}
	wg.Wait()
	return res, nil
}

// due returns the jobs that the schedule says are due and free, read
// without writing: only they are worth a claim, which is a write.
func (s *Scheduler) due(ctx context.Context) []Job {
	sched, err := s.store.JobSchedule(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("scheduler", "err", err)
		}
		return nil
	}
	now := s.clock.Now()
	free := map[string]bool{}
	for _, r := range sched {
		free[r.Job] = !r.NextDue.After(now) && r.LeaseUntil.Before(now)
	}
	var out []Job
	for _, j := range s.Jobs() {
		if free[j.Name] {
			out = append(out, j)
		}
	}
	return out
}

// try runs j if this process can claim it.
func (s *Scheduler) try(ctx context.Context, j Job) Result {
	r := Result{Job: j.Name}
	lease := j.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	started := s.clock.Now()
	id, ok, err := s.store.ClaimJob(ctx, j.Name, s.holder, started, started.Add(lease))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("job claim", "job", j.Name, "err", err)
		}
		return r
	}
	if !ok {
		return r
	}
	r.Ran = true
	renewed := make(chan struct{})
	jctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(renewed)
		t := time.NewTicker(max(lease/3, time.Second))
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				if err := s.store.ExtendJobLease(jctx, j.Name, s.holder, s.clock.Now().Add(lease)); err != nil && jctx.Err() == nil {
					s.log.Warn("job lease renewal", "job", j.Name, "err", err)
				}
			}
		}
	}()
	msg, err := call(jctx, j.Run)
	cancel()
	<-renewed
	finished := s.clock.Now()
	next := started.Add(j.Every)
	r.Outcome, r.Message = OK, clip(msg)
	if err != nil {
		r.Outcome, r.Message = Failed, ErrorMessage(err)
		next = started.Add(min(j.Every, RetryAfter))
		s.log.Error("job failed", "job", j.Name, "err", r.Message)
	}
	// The outcome is recorded even when the server is shutting down.
	if err := s.store.FinishJob(context.WithoutCancel(ctx), id, j.Name, s.holder, finished, next, r.Outcome, r.Message); err != nil {
		s.log.Error("job record", "job", j.Name, "err", err)
	}
	return r
}

// call runs a job, turning a panic into an error.
func call(ctx context.Context, fn func(context.Context) (string, error)) (msg string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx)
}

var (
	digitRun = regexp.MustCompile(`[0-9A-Za-z]*[0-9]{6,}[0-9A-Za-z]*`)
	hanRun   = regexp.MustCompile(`\p{Han}+`)
)

// maxMessage bounds a run message, in bytes.
const maxMessage = 300

// ErrorMessage is the text a run record keeps of an error: a custos.Error's
// code and English message, which are written to be shown to anyone; for
// other errors their text with every run of six or more digits (identity,
// phone and account numbers) and all Chinese text masked, clipped.
func ErrorMessage(err error) string {
	var ce *custos.Error
	if errors.As(err, &ce) {
		return clip(string(ce.Code) + ": " + ce.Message.EN)
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted: the server stopped during the run"
	}
	m := digitRun.ReplaceAllString(err.Error(), "[…]")
	return clip(hanRun.ReplaceAllString(m, "[…]"))
}

func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	s = s[:maxMessage]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
