package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/audit"
)

// chainConfig says when the store signs a checkpoint of the audit chain.
type chainConfig struct {
	mu     sync.RWMutex
	signer audit.Signer
	every  int64 // sign when the chain crosses a multiple of this many events
}

// SetAuditSigner makes the store sign a checkpoint of the chain head every
// `every` events, in the same transaction as the events.
func (db *DB) SetAuditSigner(s audit.Signer, every int64) {
	db.chain.mu.Lock()
	db.chain.signer, db.chain.every = s, every
	db.chain.mu.Unlock()
}

// chainHead is the audit chain head as a write transaction sees it. The
// transaction reads (and on PostgreSQL locks) the head row once, extends it
// in memory as events are appended, and writes it back just before commit.
type chainHead struct {
	seq   int64
	hash  []byte
	dirty bool
}

// loadHead returns the transaction's view of the chain head, reading and
// locking the row on first use.
func (tx *Tx) loadHead(ctx context.Context) (*chainHead, error) {
	if tx.head != nil {
		return tx.head, nil
	}
	lock := ""
	if tx.db.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	h := &chainHead{}
	err := tx.row(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+lock).Scan(&h.seq, &h.hash)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.exec(ctx, `INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, ?) ON CONFLICT (id) DO NOTHING`, audit.GenesisHash); err != nil {
			return nil, fmt.Errorf("audit head: %w", err)
		}
		err = tx.row(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+lock).Scan(&h.seq, &h.hash)
	}
	if err != nil {
		return nil, fmt.Errorf("audit head: %w", err)
	}
	tx.head = h
	return h, nil
}

// flushHead writes the extended chain head back; runTx calls it before commit.
func (tx *Tx) flushHead(ctx context.Context) error {
	if tx.head == nil || !tx.head.dirty {
		return nil
	}
	if _, err := tx.exec(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, tx.head.seq, tx.head.hash); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	tx.head.dirty = false
	return nil
}

// AppendAudit links events into the chain and inserts them, in the caller's
// transaction: the events commit or vanish together with the change they
// describe. On PostgreSQL the chain head row is locked, so concurrent
// writers (even several servers) extend the chain one after another.
func (tx *Tx) AppendAudit(ctx context.Context, events ...custos.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	head, err := tx.loadHead(ctx)
	if err != nil {
		return err
	}
	now := tx.Now()
	newSeq, newHash := audit.Link(events, head.seq, head.hash, now)
	if err := tx.insertEvents(ctx, events); err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	head.seq, head.hash, head.dirty = newSeq, newHash, true
	tx.db.chain.mu.RLock()
	signer, every := tx.db.chain.signer, tx.db.chain.every
	tx.db.chain.mu.RUnlock()
	if signer != nil && every > 0 {
		// A checkpoint at every multiple of `every`: the verifier demands
		// them all, so deleting checkpoints is itself detected.
		for i := range events {
			if e := &events[i]; e.Seq%every == 0 {
				cp, err := audit.NewCheckpoint(signer, e.Seq, e.Hash, now, every)
				if err != nil {
					return fmt.Errorf("audit checkpoint: %w", err)
				}
				if err := tx.InsertCheckpoint(ctx, cp); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

const auditColumns = `seq, at, actor_id, actor, role, org_id, action, target_type, target_ref, purpose, outcome, reason, client_addr, request_id, via, detail, prev_hash, hash`

// insertEvents writes events with multi-row INSERTs.
func (tx *Tx) insertEvents(ctx context.Context, events []custos.AuditEvent) error {
	const perRow = 18
	const maxRows = 50
	for len(events) > 0 {
		n := min(len(events), maxRows)
		var b strings.Builder
		b.WriteString(`INSERT INTO audit_events (` + auditColumns + `) VALUES `)
		args := make([]any, 0, n*perRow)
		row := "(" + placeholders(perRow) + ")"
		for i, e := range events[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(row)
			args = append(args, e.Seq, tx.db.ts(e.At), e.ActorID, e.Actor, e.Role, e.OrgID, e.Action, e.TargetType, e.TargetRef,
				e.Purpose, string(e.Outcome), e.Reason, e.ClientAddr, e.RequestID, e.Via, e.Detail, e.PrevHash, e.Hash)
		}
		if _, err := tx.exec(ctx, b.String(), args...); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// AppendAuditBatch is the group committer's append: one transaction per batch.
func (db *DB) AppendAuditBatch(ctx context.Context, events []custos.AuditEvent) error {
	return db.Write(ctx, func(tx *Tx) error { return tx.AppendAudit(ctx, events...) })
}

// InsertCheckpoint stores a signed checkpoint.
func (tx *Tx) InsertCheckpoint(ctx context.Context, cp custos.AuditCheckpoint) error {
	_, err := tx.exec(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, key_id, every, signature) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (seq) DO NOTHING`, cp.Seq, cp.Hash, tx.db.ts(cp.At), cp.KeyID, cp.Every, cp.Signature)
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	return nil
}

// CheckpointHead signs the current head if no checkpoint covers it yet (the
// time-based checkpoint job). It returns the checkpoint, or ok=false when
// there was nothing new to sign.
func (db *DB) CheckpointHead(ctx context.Context, s audit.Signer) (cp custos.AuditCheckpoint, ok bool, err error) {
	err = db.Write(ctx, func(tx *Tx) error {
		head, err := tx.loadHead(ctx)
		if err != nil {
			return err
		}
		seq, hash := head.seq, head.hash
		var last int64
		if err := tx.row(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints`).Scan(&last); err != nil {
			return err
		}
		if seq == 0 || last >= seq {
			return nil
		}
		c, err := audit.NewCheckpoint(s, seq, hash, tx.Now(), 0)
		if err != nil {
			return err
		}
		if err := tx.InsertCheckpoint(ctx, c); err != nil {
			return err
		}
		cp, ok = c, true
		return nil
	})
	return cp, ok, err
}

// Head returns the recorded chain head.
func (db *DB) Head(ctx context.Context) (int64, []byte, error) {
	var seq int64
	var hash []byte
	err := db.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, audit.GenesisHash, nil
	}
	return seq, hash, err
}

// MaxSeq returns the highest stored event sequence number (0 when empty).
func (db *DB) MaxSeq(ctx context.Context) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_events`).Scan(&n)
	return n, err
}

// HashAt returns the stored hash of one event.
func (db *DB) HashAt(ctx context.Context, seq int64) ([]byte, error) {
	var h []byte
	err := db.r.QueryRowContext(ctx, db.bind(`SELECT hash FROM audit_events WHERE seq = ?`), seq).Scan(&h)
	return h, notFound(err)
}

// canonicalSQL renders audit.Canonical as an SQL expression of the stored
// columns, so that the verifier reads one value per event. It must produce
// exactly the bytes audit.Canonical does; the tamper tests hold it to that.
func (db *DB) canonicalSQL() string {
	texts := []string{"actor", "role", "action", "target_type", "target_ref", "purpose", "outcome", "reason", "client_addr", "request_id", "via", "detail"}
	var parts []string
	if db.dialect == Postgres {
		parts = append(parts, `'`+audit.EventDomain+`'`, `seq`, `','`, `(extract(epoch FROM at) * 1000000)::bigint`, `','`, `actor_id`, `','`, `org_id`, `','`)
		for _, c := range texts {
			parts = append(parts, `octet_length(`+c+`)`, `':'`, c, `','`)
		}
		return `convert_to(` + strings.Join(parts, " || ") + `, 'UTF8') || convert_to(octet_length(prev_hash) || ':', 'UTF8') || prev_hash || '\x2c'::bytea`
	}
	parts = append(parts, `'`+strings.ReplaceAll(audit.EventDomain, "\n", "'||char(10)||'")+`'`, `seq`, `','`, `at`, `','`, `actor_id`, `','`, `org_id`, `','`)
	for _, c := range texts {
		parts = append(parts, `length(CAST(`+c+` AS BLOB))`, `':'`, c, `','`)
	}
	parts = append(parts, `length(prev_hash)`, `':'`, `prev_hash`, `','`)
	return `CAST(` + strings.Join(parts, " || ") + ` AS BLOB)`
}

// ScanCanonical calls fn with each event's sequence number, the canonical
// encoding of its stored columns (nil when a column is NULL) and its stored
// hash, for from <= seq <= to in order; the slices are valid only during the
// call. It reads in pages so that no long read transaction holds back the
// writer or the WAL checkpoint.
func (db *DB) ScanCanonical(ctx context.Context, from, to int64, fn func(seq int64, canonical, hash []byte) error) error {
	const page = 50000
	var seq int64
	var canonical, hash sql.RawBytes
	q := db.bind(`SELECT seq, ` + db.canonicalSQL() + `, hash FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq`)
	for from <= to {
		end := min(to, from+page-1)
		rows, err := db.r.QueryContext(ctx, q, from, end)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := rows.Scan(&seq, &canonical, &hash); err != nil {
				rows.Close()
				return err
			}
			if err := fn(seq, canonical, hash); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		from = end + 1
	}
	return nil
}

// ScanAudit calls fn for each event with from <= seq <= to in order: the
// whole trail as events, e.g. for an export to an outside witness.
func (db *DB) ScanAudit(ctx context.Context, from, to int64, fn func(*custos.AuditEvent) error) error {
	const page = 10000
	for from <= to {
		end := min(to, from+page-1)
		rows, err := db.r.QueryContext(ctx, db.bind(`SELECT `+auditColumns+` FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq`), from, end)
		if err != nil {
			return err
		}
		for rows.Next() {
			var e custos.AuditEvent
			if err := scanEvent(rows, &e); err != nil {
				rows.Close()
				return err
			}
			if err := fn(&e); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		from = end + 1
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanEvent(s scanner, e *custos.AuditEvent) error {
	var outcome string
	err := s.Scan(&e.Seq, scanTime{&e.At}, &e.ActorID, &e.Actor, &e.Role, &e.OrgID, &e.Action, &e.TargetType, &e.TargetRef,
		&e.Purpose, &outcome, &e.Reason, &e.ClientAddr, &e.RequestID, &e.Via, &e.Detail, &e.PrevHash, &e.Hash)
	e.Outcome = custos.Outcome(outcome)
	return err
}

// Checkpoints returns every checkpoint in order.
func (db *DB) Checkpoints(ctx context.Context) ([]custos.AuditCheckpoint, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT seq, hash, at, key_id, every, signature FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custos.AuditCheckpoint
	for rows.Next() {
		var cp custos.AuditCheckpoint
		if err := rows.Scan(&cp.Seq, &cp.Hash, scanTime{&cp.At}, &cp.KeyID, &cp.Every, &cp.Signature); err != nil {
			return nil, err
		}
		out = append(out, cp)
	}
	return out, rows.Err()
}

// SearchAudit lists events for auditors, newest first.
func (db *DB) SearchAudit(ctx context.Context, f custos.AuditFilter) ([]custos.AuditEvent, error) {
	var where []string
	var args []any
	if f.ActorID != 0 {
		where, args = append(where, "actor_id = ?"), append(args, f.ActorID)
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.TargetRef != "" {
		where, args = append(where, "target_ref = ?"), append(args, f.TargetRef)
	}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if f.Outcome != "" {
		where, args = append(where, "outcome = ?"), append(args, string(f.Outcome))
	}
	if !f.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, db.ts(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, db.ts(f.To))
	}
	if f.AfterSeq > 0 {
		where, args = append(where, "seq < ?"), append(args, f.AfterSeq)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 100
	}
	q += fmt.Sprintf(` ORDER BY seq DESC LIMIT %d`, limit)
	rows, err := db.r.QueryContext(ctx, db.bind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custos.AuditEvent
	for rows.Next() {
		var e custos.AuditEvent
		if err := scanEvent(rows, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditCount returns the number of stored events.
func (db *DB) AuditCount(ctx context.Context) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM audit_events`).Scan(&n)
	return n, err
}

// LastCheckpointAt returns when the newest checkpoint was signed (zero if none).
func (db *DB) LastCheckpointAt(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := db.r.QueryRowContext(ctx, `SELECT at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`).Scan(scanTime{&t})
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return t, err
}
