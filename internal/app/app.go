// Package app holds the services of Custos: every use case opens one
// transaction, asks the one permission decision point (custos.Decide),
// changes the domain, writes the store and appends the audit trail. Reads
// commit their audit event before any data is returned. Handlers, the web
// UI, the CLI and jobs call these services and nothing below them.
package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/audit"
	"github.com/custos-cim/custos/internal/jobs"
	"github.com/custos-cim/custos/internal/pdfdoc"
	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Config tunes the services. The zero value is not usable; start from DefaultConfig.
type Config struct {
	SessionIdle        time.Duration // idle timeout of web sessions (R-C9)
	SessionAbsolute    time.Duration // absolute lifetime of web sessions
	LockoutThreshold   int           // failed logins before the account locks
	LockoutDuration    time.Duration
	MFARoles           []custos.Role // roles that must use a TOTP second factor
	TokenTTL           time.Duration // default lifetime of API tokens
	CheckpointEvery    int64         // sign an audit checkpoint every N events…
	CheckpointInterval time.Duration // …or every T, whichever comes first
	AuditBatch         int           // maximum events per group commit
	RefCacheTTL        time.Duration // how long reference data (purposes, taxonomies, fields) is cached
	ExportKeep         time.Duration // how long an encrypted export file is kept for download (R-C8)
	ExportWorkFactor   int           // scrypt cost (log2 N) of export passwords; 0 is age's default
	// IDExpiryGrace is how long after its identity document expires a
	// customer may still open new business (R-A5; PBOC 2007 Art. 19).
	IDExpiryGrace   time.Duration
	ClosureBackdate int // days a relationship's end date may lie before the day it is closed (R-F1)
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{
		SessionIdle:        15 * time.Minute,
		SessionAbsolute:    12 * time.Hour,
		LockoutThreshold:   5,
		LockoutDuration:    15 * time.Minute,
		TokenTTL:           90 * 24 * time.Hour,
		CheckpointEvery:    1000,
		CheckpointInterval: 5 * time.Minute,
		AuditBatch:         512,
		RefCacheTTL:        30 * time.Second,
		ExportKeep:         24 * time.Hour,
		IDExpiryGrace:      30 * 24 * time.Hour,
		ClosureBackdate:    custos.DefaultClosureBackdate,
	}
}

// App is the set of services over one store and one keyring.
type App struct {
	cfg    Config
	db     *sqlstore.DB
	keys   *seal.Keyring
	clock  custos.Clock
	log    *slog.Logger
	audit  *audit.Committer
	limits *limiter
	health healthProbe

	notifier Notifier
	otp      OTPSender // one-time login codes of the customer portal
	pdf      *pdfdoc.Renderer

	mu  sync.Mutex
	ref *refData // reference data cache; nil when stale
}

// New builds the services. Close stops the audit committer.
func New(cfg Config, db *sqlstore.DB, keys *seal.Keyring, clock custos.Clock, log *slog.Logger) *App {
	if clock == nil {
		clock = custos.SystemClock{}
	}
	if log == nil {
		log = slog.Default()
	}
	db.SetClock(clock)
	db.SetAuditSigner(keys.Signer, cfg.CheckpointEvery)
	db.SetRecordMAC(keys.Records)
	a := &App{cfg: cfg, db: db, keys: keys, clock: clock, log: log, limits: newLimiter(10, time.Minute)}
	a.audit = audit.NewCommitter(db.AppendAuditBatch, cfg.AuditBatch)
	db.SetIntegrityAlarm(a.integrityAlarm)
	return a
}

// Close flushes the audit committer.
func (a *App) Close() { a.audit.Close() }

// DB exposes the store to the CLI's maintenance commands.
func (a *App) DB() *sqlstore.DB { return a.db }

// Keys exposes the keyring to the CLI's maintenance commands.
func (a *App) Keys() *seal.Keyring { return a.keys }

// Clock is the services' clock.
func (a *App) Clock() custos.Clock { return a.clock }

// Config returns the services' configuration.
func (a *App) Config() Config { return a.cfg }

func (a *App) now() time.Time { return a.clock.Now().UTC().Truncate(time.Microsecond) }

// ErrAuditUnavailable is what a request gets when its audit event cannot be
// written: fail closed, no data (R-C5).
var ErrAuditUnavailable = custos.Errorf(custos.EAuditUnavailable, "审计日志无法写入，请求已拒绝", "the audit trail cannot be written; request refused")

// record commits one event through the group committer and maps a failure
// to ErrAuditUnavailable.
func (a *App) record(ctx context.Context, ev custos.AuditEvent) error {
	if err := a.audit.Record(ctx, ev); err != nil {
		a.log.Error("audit write failed; refusing request", "action", ev.Action, "err", err)
		return ErrAuditUnavailable.Wrap(err)
	}
	return nil
}

// appendTx appends events inside a write transaction, mapping failures the same way.
func (a *App) appendTx(ctx context.Context, tx *sqlstore.Tx, evs ...custos.AuditEvent) error {
	if err := tx.AppendAudit(ctx, evs...); err != nil {
		a.log.Error("audit write failed; rolling back", "err", err)
		return ErrAuditUnavailable.Wrap(err)
	}
	return nil
}

// customerRef is the audit target reference of a customer: an HMAC, never the id in clear.
func (a *App) customerRef(id string) string { return a.keys.Indexer.Ref("customer", id) }

// event starts an audit event about a customer.
func (a *App) event(actor custos.Actor, act custos.Action, customerID string, outcome custos.Outcome, reason string) custos.AuditEvent {
	ev := custos.NewEvent(actor, string(act), outcome)
	ev.Reason = reason
	if customerID != "" {
		ev.TargetType, ev.TargetRef = "customer", a.customerRef(customerID)
	}
	return ev
}

// denied records a refused decision and returns the error the caller sees.
// A customer that is hidden answers exactly like a missing one.
func (a *App) denied(ctx context.Context, actor custos.Actor, act custos.Action, customerID, reason string, answer error) error {
	if err := a.record(ctx, a.event(actor, act, customerID, custos.OutcomeDenied, reason)); err != nil {
		return err
	}
	return answer
}

// requirePurpose checks that a read states an active purpose (R-C6).
func (a *App) requirePurpose(ctx context.Context, actor custos.Actor, act custos.Action, customerID string) error {
	if !act.NeedsPurpose() {
		return nil
	}
	if actor.Purpose == "" {
		return a.denied(ctx, actor, act, customerID, "purpose_missing",
			custos.Errorf(custos.EPurposeRequired, "请说明查询目的（X-Purpose 请求头或 purpose 参数）", "state the purpose of this read (X-Purpose header or purpose parameter)"))
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return err
	}
	if p, ok := ref.purposes[actor.Purpose]; ok && p.Active {
		return nil
	}
	return a.denied(ctx, actor, act, customerID, "purpose_unknown",
		custos.Errorf(custos.EPurposeRequired, "查询目的 %q 不在允许列表中", "purpose %q is not on the list of allowed purposes", actor.Purpose))
}

// RunBackground runs the server's periodic jobs (Jobs, plus extra, such
// as scheduled backups) until ctx ends. Servers sharing one database run
// each due job once between them (see package jobs).
func (a *App) RunBackground(ctx context.Context, extra ...jobs.Job) {
	a.Scheduler(extra...).Run(ctx)
}

// Scheduler returns a scheduler of Jobs plus extra on the services' store
// and clock.
func (a *App) Scheduler(extra ...jobs.Job) *jobs.Scheduler {
	s := jobs.New(a.db, a.clock, jobs.Options{Log: a.log})
	s.Add(a.Jobs()...)
	s.Add(extra...)
	return s
}

// JobRunsKept is how long the scheduler's run records are kept.
const JobRunsKept = 90 * 24 * time.Hour

// Jobs are the periodic housekeeping jobs of a server, one line each:
// time-based audit checkpoints, the purge of expired sessions, the expiry
// of requests left pending, daily reminders for overdue paper files, and
// the purge of old run records. Their messages are counts, never personal
// data.
func (a *App) Jobs() []jobs.Job {
	return []jobs.Job{
		{Name: "audit.checkpoint", Every: time.Minute, Run: func(ctx context.Context) (string, error) { return "", a.CheckpointIfDue(ctx) }},
		{Name: "sessions.purge", Every: time.Minute, Run: count("sessions purged", a.PurgeSessions)},
		{Name: "portal.purge", Every: time.Minute, Run: count("portal sessions and codes purged", a.PurgePortal)},
		{Name: "requests.expire", Every: time.Minute, Run: count("requests expired", a.ExpireRequests)},
		{Name: "paper.remind_overdue", Every: 24 * time.Hour, Run: count("reminders sent", a.RemindOverdue)},
		{Name: "retention.scan", Every: 24 * time.Hour, Run: count("due customers filed for destruction", a.RetentionScan)},
		{Name: "kyc.id_expiry", Every: 24 * time.Hour, Run: count("customers flagged with expired ID documents", a.IDExpiryScan)},
		{Name: "exports.purge_files", Every: time.Hour, Run: count("export files purged", a.PurgeExportFiles)},
		{Name: "jobs.purge_runs", Every: 24 * time.Hour, Run: count("run records purged", func(ctx context.Context) (int64, error) {
			return a.db.PurgeJobRuns(ctx, a.clock.Now().Add(-JobRunsKept))
		})},
	}
}

// count adapts a function that reports how many things it did into a job.
func count[N int | int64](what string, fn func(context.Context) (N, error)) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		n, err := fn(ctx)
		return fmt.Sprintf("%d %s", n, what), err
	}
}

// CheckpointIfDue signs the audit head when the last checkpoint is older than
// the configured interval.
func (a *App) CheckpointIfDue(ctx context.Context) error {
	last, err := a.db.LastCheckpointAt(ctx)
	if err != nil {
		return err
	}
	if !last.IsZero() && a.clock.Now().Sub(last) < a.cfg.CheckpointInterval {
		return nil
	}
	_, _, err = a.db.CheckpointHead(ctx, a.keys.Signer)
	return err
}

// VerifyAudit checks the whole audit chain and its checkpoints (R-D3).
func (a *App) VerifyAudit(ctx context.Context, workers int) (audit.Report, error) {
	keys := map[string]ed25519.PublicKey{a.keys.Signer.KeyID(): a.keys.Signer.PublicKey()}
	return audit.Verify(ctx, a.db, audit.Options{Keys: keys, Every: a.cfg.CheckpointEvery, Workers: workers})
}

// internal wraps an unexpected error without leaking its text to clients.
func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *custos.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, sqlstore.ErrIntegrity) {
		return ErrIntegrity.Wrap(fmt.Errorf("%s: %w", op, err))
	}
	return &custos.Error{Code: custos.EInternal, Message: custos.Message{ZH: "内部错误", EN: "internal error"}, Err: fmt.Errorf("%s: %w", op, err)}
}
