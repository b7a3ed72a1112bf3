package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
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
	newSeq, newHash, payloads := audit.Link(events, head.seq, head.hash, now)
	if err := tx.insertEvents(ctx, events, payloads); err != nil {
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

// eventColumns are all an event's stored columns; the others are generated
// from payload. The previous hash is the previous event's hash.
const eventColumns = `seq, payload, hash`

// insertEvents writes events with multi-row INSERTs. The payload goes in as
// text: SQLite would read a blob as its binary JSON format.
func (tx *Tx) insertEvents(ctx context.Context, events []custos.AuditEvent, payloads []string) error {
	const perRow = 3
	const maxRows = 64
	row := "(" + placeholders(perRow) + ")"
	for len(events) > 0 {
		n := min(len(events), maxRows)
		var b strings.Builder
		b.Grow(64 + n*(len(row)+2))
		b.WriteString(`INSERT INTO audit_events (` + eventColumns + `) VALUES `)
		args := make([]any, 0, n*perRow)
		for i := range events[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(row)
			e := &events[i]
			args = append(args, e.Seq, payloads[i], e.Hash)
		}
		if _, err := tx.exec(ctx, b.String(), args...); err != nil {
			return err
		}
		events, payloads = events[n:], payloads[n:]
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

// SeqRange returns the lowest and highest stored event sequence numbers
// (1 and 0 when there are none). Two subqueries, so that each is one index
// probe.
func (db *DB) SeqRange(ctx context.Context) (lo, hi int64, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT COALESCE((SELECT MIN(seq) FROM audit_events), 1), COALESCE((SELECT MAX(seq) FROM audit_events), 0)`).Scan(&lo, &hi)
	return lo, hi, err
}

// HashAt returns the stored hash of one event.
func (db *DB) HashAt(ctx context.Context, seq int64) ([]byte, error) {
	var h []byte
	err := db.Reader().row(ctx, `SELECT hash FROM audit_events WHERE seq = ?`, seq).Scan(&h)
	return h, notFound(err)
}

// ScanEvents calls fn with the stored columns of each event, for
// from <= seq <= to in order: seq, payload and hash, the slices valid only
// during the call. It reads in pages so that no long read
// transaction holds back the writer or the WAL checkpoint.
//
// It reads through the driver's own rows rather than database/sql's: for a
// verifier that does little else per event, Scan's conversions and copies
// are a good part of the cost of reading.
func (db *DB) ScanEvents(ctx context.Context, from, to int64, fn func(seq int64, payload, hash []byte) error) error {
	const page = 50000
	payload := "payload"
	if db.dialect == SQLite {
		payload = "CAST(payload AS BLOB)" // the driver hands text over as a string, blobs as bytes
	}
	q := db.bind(`SELECT seq, ` + payload + `, hash FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq`)
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("audit scan: driver connection %T cannot query", dc)
		}
		row := make([]driver.Value, 3)
		var cols, bufs [2][]byte
		for from <= to {
			end := min(to, from+page-1)
			rows, err := qc.QueryContext(ctx, q, []driver.NamedValue{{Ordinal: 1, Value: from}, {Ordinal: 2, Value: end}})
			if err != nil {
				return err
			}
			for {
				if err := rows.Next(row); err != nil {
					cerr := rows.Close()
					if !errors.Is(err, io.EOF) {
						return err
					}
					if cerr != nil {
						return cerr
					}
					break
				}
				seq, ok := row[0].(int64)
				if !ok {
					rows.Close()
					return fmt.Errorf("audit scan: seq is %T", row[0])
				}
				for i := range cols {
					switch v := row[i+1].(type) {
					case []byte:
						cols[i] = v
					case string:
						bufs[i] = append(bufs[i][:0], v...)
						cols[i] = bufs[i]
					default: // NULL, or a number where bytes belong: not what was written
						cols[i] = nil
					}
				}
				if err := fn(seq, cols[0], cols[1]); err != nil {
					rows.Close()
					return err
				}
			}
			from = end + 1
		}
		return nil
	})
}

// ScanAudit calls fn for each event with from <= seq <= to in order: the
// whole trail as events, e.g. for an export to an outside witness. The
// events are decoded from their payloads.
func (db *DB) ScanAudit(ctx context.Context, from, to int64, fn func(*custos.AuditEvent) error) error {
	const page = 10000
	q := db.bind(auditSelect + ` WHERE e.seq >= ? AND e.seq <= ? ORDER BY e.seq`)
	for from <= to {
		end := min(to, from+page-1)
		rows, err := db.r.QueryContext(ctx, q, from, end)
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

// auditSelect reads events for auditors: the stored columns of an event
// and the hash of the event before it, its PrevHash.
const auditSelect = `SELECT e.seq, e.payload, e.hash, p.hash FROM audit_events e LEFT JOIN audit_events p ON p.seq = e.seq - 1`

// scanEvent decodes an event from a row of auditSelect.
func scanEvent(s scanner, e *custos.AuditEvent) error {
	var seq int64
	var payload sql.RawBytes
	var hash, prev []byte
	if err := s.Scan(&seq, &payload, &hash, &prev); err != nil {
		return err
	}
	if err := audit.Decode(payload, e); err != nil {
		return fmt.Errorf("audit event %d: %w", seq, err)
	}
	if seq == 1 {
		prev = bytes.Clone(audit.GenesisHash)
	}
	e.PrevHash, e.Hash = prev, hash
	return nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

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

// SearchAudit lists events for auditors, newest first. The filters use the
// columns generated from the payload; the events are decoded from it.
func (db *DB) SearchAudit(ctx context.Context, f custos.AuditFilter) ([]custos.AuditEvent, error) {
	var where []string
	var args []any
	if f.ActorID != 0 {
		where, args = append(where, "e.actor_id = ?"), append(args, f.ActorID)
	}
	if f.Actor != "" {
		where, args = append(where, "e.actor = ?"), append(args, f.Actor)
	}
	if f.TargetRef != "" {
		// The second condition lets the planner use the partial index.
		where, args = append(where, "e.target_ref = ? AND e.target_ref <> ''"), append(args, f.TargetRef)
	}
	if f.Action != "" {
		where, args = append(where, "e.action = ?"), append(args, f.Action)
	}
	if f.Outcome != "" {
		where, args = append(where, "e.outcome = ?"), append(args, string(f.Outcome))
	}
	if !f.From.IsZero() {
		where, args = append(where, "e.at >= ?"), append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		where, args = append(where, "e.at < ?"), append(args, f.To.UnixMicro())
	}
	if f.AfterSeq > 0 {
		where, args = append(where, "e.seq < ?"), append(args, f.AfterSeq)
	}
	q := auditSelect
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 100
	}
	q += fmt.Sprintf(` ORDER BY e.seq DESC LIMIT %d`, limit)
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

// derivedColumns are the columns of audit_events generated from the payload
// (see the migrations), with whether they hold integers.
var derivedColumns = []struct {
	name    string
	integer bool
}{{"at", true}, {"actor_id", true}, {"actor", false}, {"action", false}, {"target_ref", false}, {"purpose", false}, {"outcome", false}}

// CheckDerived reports what is wrong ("" if nothing) with the derivation of
// audit_events' searchable columns from the payload. Generated columns
// cannot be updated, but an owner of the table can redefine them (drop the
// expression, recreate the table); then a search could find events by
// values their hashed payload does not hold, and the verifier says so.
// SQLite keeps the text of the CREATE TABLE statement, which must be the
// migration's, character for character; PostgreSQL keeps each column's
// expression, which must be the one the migration gave it.
func (db *DB) CheckDerived(ctx context.Context) (string, error) {
	if db.dialect == SQLite {
		want, err := db.migrationStatement("CREATE TABLE audit_events (")
		if err != nil {
			return "", err
		}
		var got string
		err = db.r.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'audit_events'`).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return "audit_events is not a table", nil
		}
		if err != nil {
			return "", err
		}
		if got != want {
			return "audit_events is no longer defined as its migration made it: its searchable columns may not be derived from the hashed payload", nil
		}
		return "", nil
	}
	// to_regclass resolves the name the way the store's queries do.
	rows, err := db.r.QueryContext(ctx, `SELECT c.relkind, a.attname, a.attgenerated, COALESCE(pg_get_expr(d.adbin, d.adrelid), '')
		FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
		WHERE c.oid = to_regclass('audit_events')`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	type column struct{ generated, expr string }
	got := map[string]column{}
	for rows.Next() {
		var kind, name, generated, expr string
		if err := rows.Scan(&kind, &name, &generated, &expr); err != nil {
			return "", err
		}
		if kind != "r" && kind != "p" {
			return "audit_events is not a table", nil
		}
		got[name] = column{generated, expr}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, d := range derivedColumns {
		want := `(payload ->> '` + d.name + `'::text)`
		if d.integer {
			want = `(` + want + `)::bigint`
		}
		c, ok := got[d.name]
		if !ok || c.generated != "s" || stripSpace(c.expr) != stripSpace(want) {
			return fmt.Sprintf("audit_events.%s is no longer generated from the hashed payload (%q)", d.name, c.expr), nil
		}
	}
	return "", nil
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
}

// migrationStatement returns the statement of the dialect's first migration
// that starts with prefix, as the database keeps it: up to and including
// the closing parenthesis, without the semicolon.
func (db *DB) migrationStatement(prefix string) (string, error) {
	body, err := migrationFS.ReadFile("migrations/" + string(db.dialect) + "/0001_schema.sql")
	if err != nil {
		return "", err
	}
	text := string(body)
	i := strings.Index(text, prefix)
	if i < 0 {
		return "", fmt.Errorf("migration: no statement %q", prefix)
	}
	j := strings.Index(text[i:], "\n);")
	if j < 0 {
		return "", fmt.Errorf("migration: statement %q does not end", prefix)
	}
	return text[i : i+j+2], nil
}
